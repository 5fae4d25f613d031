"""The kinds of documentation gap: the codes that show each, the indicators that make a query
worth a physician's time, and the query's neutral question and options."""

from __future__ import annotations

import re

from agent.cdi.indicators import (
    ALBUMIN,
    BLEEDING,
    BMI,
    BNP,
    CAUSE,
    CONFUSION,
    CREATININE,
    CULTURE,
    DIABETIC_FOOT,
    DIASTOLIC,
    EDEMA,
    EF,
    EGFR,
    GLYCEMIA,
    HEMOGLOBIN,
    HYPOTENSION,
    INTAKE,
    IV_DIURETIC,
    LACTATE,
    OXYGEN,
    PAO2,
    PLATELETS,
    RR,
    SPO2,
    SYSTOLIC,
    TRANSFUSION,
    TYPE_1,
    TYPE_2,
    WEIGHT_LOSS,
    WOUND,
)
from agent.cdi.model import GapKind

GAP_KINDS: tuple[GapKind, ...] = (
    GapKind(
        "heart_failure_type",
        ("I50.9",),
        "heart failure",
        "Based on the clinical indicators, can the type and acuity of the heart failure be "
        "further specified?",
        (
            "Acute systolic (HFrEF)",
            "Chronic systolic (HFrEF)",
            "Acute on chronic systolic",
            "Acute diastolic (HFpEF)",
            "Chronic diastolic (HFpEF)",
            "Acute on chronic diastolic",
            "Combined systolic and diastolic, with acuity",
        ),
        (EF, BNP, IV_DIURETIC, EDEMA),
    ),
    GapKind(
        "ckd_stage",
        ("N18.9",),
        "chronic kidney disease",
        "Based on the clinical indicators, can the stage of the chronic kidney disease be "
        "documented?",
        (
            "Stage 1",
            "Stage 2",
            "Stage 3a",
            "Stage 3b",
            "Stage 4",
            "Stage 5",
            "End-stage renal disease",
        ),
        (EGFR, CREATININE),
    ),
    GapKind(
        "obesity_class",
        ("E66.9",),
        "obesity",
        "The body mass index is documented; can the class or severity of the obesity be "
        "documented?",
        ("Obesity, class 1", "Obesity, class 2", "Obesity, class 3 / severe (morbid) obesity"),
        (BMI,),
    ),
    GapKind(
        "respiratory_failure_type",
        ("J96.9", "J96.00", "J96.20", "J96.10"),
        "respiratory failure",
        "Based on the clinical indicators, can the acuity and type of the respiratory failure "
        "be further specified?",
        (
            "Acute hypoxic respiratory failure",
            "Acute hypercapnic respiratory failure",
            "Acute hypoxic and hypercapnic respiratory failure",
            "Chronic respiratory failure",
            "Acute on chronic respiratory failure",
        ),
        (SPO2, PAO2, OXYGEN, RR),
    ),
    GapKind(
        "pneumonia_organism",
        ("J18.",),
        "pneumonia",
        "A culture result is documented; can the organism responsible for the pneumonia be "
        "documented?",
        (
            "Pneumonia due to the organism cultured",
            "Culture reflects colonization; organism not responsible",
        ),
        (CULTURE,),
    ),
    GapKind(
        "malnutrition_severity",
        ("E46", "E63.9"),
        "malnutrition",
        "Based on the clinical indicators, can the severity of the malnutrition be documented?",
        (
            "Mild protein-calorie malnutrition",
            "Moderate protein-calorie malnutrition",
            "Severe protein-calorie malnutrition",
        ),
        (ALBUMIN, WEIGHT_LOSS, INTAKE),
    ),
    GapKind(
        "encephalopathy_type",
        ("G93.40", "R41.82", "R41.0"),
        "altered mental status",
        "Based on the clinical indicators, can the condition causing the altered mental "
        "status be further specified?",
        (
            "Metabolic encephalopathy",
            "Toxic encephalopathy",
            "Septic encephalopathy",
            "Delirium due to a known physiological condition",
            "Dementia with behavioral disturbance",
        ),
        (CONFUSION, CAUSE),
        minimum=2,
    ),
    GapKind(
        "sepsis_organ_dysfunction",
        ("A40.", "A41."),
        "sepsis",
        "Based on the clinical indicators, is there acute organ dysfunction associated with "
        "the sepsis?",
        (
            "Sepsis with acute organ dysfunction (severe sepsis); please name the organ "
            "dysfunction",
            "Septic shock",
            "Sepsis without acute organ dysfunction",
            "The indicators are due to another condition; please specify",
        ),
        (LACTATE, HYPOTENSION, PLATELETS, CREATININE, CONFUSION),
        unless=("R65.2",),
    ),
    GapKind(
        "pressure_injury_stage",
        (),
        "pressure injury",
        "Based on the wound assessment, can the stage and site of the pressure injury be "
        "documented?",
        (
            "Stage 1",
            "Stage 2",
            "Stage 3",
            "Stage 4",
            "Unstageable",
            "Deep tissue pressure injury",
            "Not a pressure injury; please specify the wound type",
        ),
        (WOUND,),
        code_pattern=re.compile(r"L89\.(?:\d\d9|9\d)"),
    ),
    GapKind(
        "diabetes_type_conflict",
        ("E10.", "E11."),
        "diabetes",
        "The record describes the diabetes as both type 1 and type 2; can the type be clarified?",
        (
            "Type 1 diabetes mellitus",
            "Type 2 diabetes mellitus",
            "Type 2 diabetes mellitus, on insulin",
            "Secondary diabetes; please specify the cause",
        ),
        (TYPE_1, TYPE_2),
        minimum=2,
    ),
    GapKind(
        "heart_failure_type_conflict",
        ("I50.2", "I50.3"),
        "heart failure",
        "The record describes the heart failure both as systolic and as diastolic; can the "
        "type be clarified?",
        (
            "Systolic (HFrEF)",
            "Diastolic (HFpEF)",
            "Combined systolic and diastolic",
            "Heart failure with mildly reduced or recovered ejection fraction",
        ),
        (SYSTOLIC, DIASTOLIC),
        minimum=2,
    ),
    GapKind(
        "diabetes_link",
        ("E08.9", "E09.9", "E10.9", "E11.9", "E13.9"),
        "diabetes and the skin infection",
        "Diabetes and a skin and soft tissue infection are both documented; can their "
        "relationship be clarified?",
        (
            "The infection is a complication of the diabetes",
            "The infection is not related to the diabetes",
        ),
        (GLYCEMIA, DIABETIC_FOOT),
        # Cellulitis and abscess are not among the conditions the index presumes linked to
        # diabetes ("Diabetes, with"): only the provider can link them (I.A.15).
        beside=("L03.", "L02.", "L08."),
    ),
    GapKind(
        "anemia_type",
        ("D64.9",),
        "anemia",
        "Based on the clinical indicators, can the type or cause of the anemia be documented?",
        (
            "Acute blood loss anemia",
            "Anemia of chronic disease",
            "Iron deficiency anemia",
            "Dilutional anemia",
        ),
        (HEMOGLOBIN, TRANSFUSION, BLEEDING),
        minimum=2,
    ),
)
