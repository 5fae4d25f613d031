"""Clinical indicators a CDI query quotes: lab values, findings, treatments, as patterns over
the chart's text (English, with the abbreviations US charts use)."""

from __future__ import annotations

import re


def _any(*alternatives: str) -> re.Pattern[str]:
    return re.compile("|".join(alternatives), re.IGNORECASE)


EF = (
    "ejection fraction",
    _any(r"\b(?:LV)?EF\b[^.\n]{0,12}?\d{1,2}\s*%", r"ejection fraction[^.\n]{0,20}?\d{1,2}\s*%"),
)
BNP = ("natriuretic peptide", _any(r"\b(?:NT-?pro)?BNP\b[^.\n]{0,12}?\d[\d,]*"))
IV_DIURETIC = (
    "IV diuretic",
    _any(r"\b(?:IV|intravenous)\s+(?:furosemide|lasix|bumetanide|bumex|torsemide)\b"),
)
EDEMA = (
    "edema or congestion",
    _any(
        r"\bpulmonary edema\b",
        r"(?:\b\d\+\s*)?\b(?:pitting |bilateral |leg )?edema\b",
        r"\borthopnea\b",
        r"\bJVD\b",
        r"\bjugular venous distension\b",
        r"\bcrackles\b",
    ),
)
EGFR = ("eGFR", _any(r"\beGFR\b[^.\n]{0,12}?\d{1,3}"))
CREATININE = ("creatinine", _any(r"\b(?:creatinine|Cr)\b[^.\n]{0,12}?\d+(?:\.\d+)?"))
BMI = ("BMI", _any(r"\bBMI\b[^.\n]{0,6}?(?:3\d|[4-9]\d)(?:\.\d+)?"))
SPO2 = (
    "oxygen saturation",
    _any(r"\b(?:SpO2|O2 sat(?:uration)?|saturation)\b[^.\n]{0,12}?\d{2}\s*%"),
)
PAO2 = ("arterial blood gas", _any(r"\b(?:PaO2|pO2|PaCO2|pCO2)\b[^.\n]{0,6}?\d{2,3}"))
OXYGEN = (
    "oxygen or ventilatory support",
    _any(
        r"\b\d+\s*L(?:/min)?\s+(?:by |via )?(?:NC|nasal cannula)\b",
        r"\bhigh[- ]flow\b",
        r"\bBiPAP\b",
        r"\bnon-?invasive ventilation\b",
        r"\bintubat\w+",
        r"\bmechanical ventilation\b",
    ),
)
RR = ("respiratory rate", _any(r"\b(?:RR|respiratory rate)\b[^.\n]{0,8}?(?:2[4-9]|[3-5]\d)\b"))
CULTURE = (
    "culture result",
    _any(
        r"\b(?:sputum|blood|BAL|bronchial)\s+cultures?\b[^.\n]{0,40}?"
        r"\b(?:grew|positive for|growing|isolated)\b[^.\n]{0,60}"
    ),
)
ALBUMIN = ("albumin", _any(r"\b(?:albumin|prealbumin)\b[^.\n]{0,12}?\d+(?:\.\d+)?"))
WEIGHT_LOSS = (
    "weight loss",
    _any(
        r"\b(?:lost|loss of)\s+\d+(?:\.\d+)?\s*(?:kg|lb|lbs|pounds|%)",
        r"\bweight loss\b[^.\n]{0,30}",
    ),
)
INTAKE = (
    "poor intake",
    _any(
        r"\bpoor (?:oral )?intake\b",
        r"\bdecreased appetite\b",
        r"\bcache(?:xia|ctic)\b",
        r"\b(?:muscle|temporal) wasting\b",
    ),
)
CONFUSION = (
    "altered mental status",
    _any(
        r"\bconfus\w+",
        r"\baltered mental status\b",
        r"\bAMS\b",
        r"\bdisoriented\b",
        r"\bobtunded\b",
        r"\blethargic\b",
    ),
)
CAUSE = (
    "possible cause",
    _any(
        r"\bammonia\b",
        r"\bsep(?:sis|tic)\b",
        r"\buremi\w*",
        r"\bhyponatremi\w*",
        r"\bhypoglycemi\w*",
        r"\bopioid\b",
        r"\bintoxication\b",
        r"\boverdose\b",
        r"\burinary tract infection\b",
        r"\bUTI\b",
    ),
)
HEMOGLOBIN = ("hemoglobin", _any(r"\b(?:hemoglobin|Hgb|Hb)\b[^.\n]{0,12}?\d{1,2}(?:\.\d)?"))
TRANSFUSION = ("transfusion", _any(r"\btransfus\w+", r"\bPRBCs?\b", r"\bpacked red\b"))
BLEEDING = (
    "blood loss",
    _any(r"\bblood loss\b", r"\bEBL\b", r"\bhemorrhag\w+", r"\bbleeding\b", r"\bmelena\b"),
)

LACTATE = ("lactate", _any(r"\blactate\b[^.\n]{0,12}?(?:[2-9]|1\d)(?:\.\d+)?"))
HYPOTENSION = (
    "hypotension or vasopressors",
    _any(
        r"\bhypotensi\w+",
        r"\bMAP\b[^.\n]{0,6}?[3-6]\d\b",
        r"\b(?:BP|blood pressure)\b[^.\n]{0,6}?(?:[4-8]\d)/\d{2,3}",
        r"\b(?:norepinephrine|levophed|vasopressin|phenylephrine|vasopressors?|pressors?)\b",
    ),
)
PLATELETS = ("platelets", _any(r"\b(?:platelets?|plt)\b[^.\n]{0,12}?\d{1,2}(?:,000)?\b"))
WOUND = (
    "wound description",
    _any(
        r"\b(?:full|partial)[- ]thickness\b",
        r"\b(?:slough|eschar|granulation|tunneling|undermining)\b",
        r"\b(?:bone|tendon|muscle) (?:exposed|visible)\b",
        r"\b\d+(?:\.\d+)?\s*(?:x|by)\s*\d+(?:\.\d+)?\s*cm\b",
        r"\bintact blister\b",
        r"\bnon-?blanchable\b",
    ),
)

TYPE_1 = (
    "type 1 diabetes",
    _any(r"\btype (?:1|I|one)\b[^.\n]{0,12}?diabet\w*", r"\bT1DM\b", r"\bIDDM\b"),
)
TYPE_2 = (
    "type 2 diabetes",
    _any(r"\btype (?:2|II|two)\b[^.\n]{0,12}?diabet\w*", r"\bT2DM\b", r"\bNIDDM\b"),
)
SYSTOLIC = (
    "systolic heart failure",
    _any(r"\bHFrEF\b", r"\bsystolic (?:\(congestive\) )?(?:heart failure|dysfunction|CHF|HF)\b"),
)
DIASTOLIC = (
    "diastolic heart failure",
    _any(
        r"\bHFpEF\b",
        r"(?<!systolic and )\bdiastolic (?:\(congestive\) )?(?:heart failure|CHF|HF)\b",
    ),
)

GLYCEMIA = (
    "glycemic control",
    _any(
        r"\b(?:HbA1c|A1c|hemoglobin A1c)\b[^.\n]{0,10}?\d{1,2}(?:\.\d)?\s*%",
        r"\b(?:glucose|blood sugar|BG)\b[^.\n]{0,10}?\d{3}\b",
    ),
)
DIABETIC_FOOT = (
    "diabetic foot findings",
    _any(r"\bdiabetic foot\b", r"\b(?:peripheral )?neuropath\w+", r"\bmonofilament\b"),
)
