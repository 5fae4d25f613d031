"""The ICD-10-CM Official Guidelines sections the rules implement, cited in their messages.

A rule that drops a code or warns about one names the section it applies, so a coder can
read the guideline behind the message (ids as in the FY2026 guidelines).
"""

from __future__ import annotations

REPORTING = "I.A.3"  # only codes (not categories) are reported, to the full characters
PLACEHOLDER = "I.A.4"
SEVENTH_CHARACTER = "I.A.5"
UNSPECIFIED = "I.A.9.b"
EXCLUDES1 = "I.A.12.a"
ETIOLOGY_MANIFESTATION = "I.A.13"  # "code first", "use additional code", "in diseases ..."
CODE_ALSO = "I.A.17"
DOCUMENTATION = "I.A.19"  # a code rests on the provider's documentation
MULTIPLE_CODING = "I.B.7"
ACUTE_AND_CHRONIC = "I.B.8"
COMBINATION_CODE = "I.B.9"  # code first / use additional code beyond etiology-manifestation
UNSPECIFIED_CODES = "I.B.18"
EXTERNAL_CAUSE_NOT_PRINCIPAL = "I.C.20.a.6"
FOLLOW_UP = "I.C.21.c.8"
PRINCIPAL = "II"  # selection of principal diagnosis (inpatient)
FIRST_LISTED = "IV.A"  # selection of first-listed condition (outpatient)
MCE = "MCE v37"  # not a guideline: the CMS Medicare Code Editor lists


def cite(*sections: str) -> str:
    """ "(ICD-10-CM Official Guidelines I.A.12.a)", or the MCE for its edits."""
    guidelines = [s for s in sections if s != MCE]
    parts = [f"ICD-10-CM Official Guidelines {', '.join(guidelines)}"] if guidelines else []
    if MCE in sections:
        parts.append("Medicare Code Editor v37")
    return f"({'; '.join(parts)})"


def rule_id(*sections: str) -> str:
    """The machine-readable rule id of a problem: the sections joined by "+"."""
    return "+".join(sections)


# What each section says, in this project's words (the CM guideline text is not in every
# knowledge base): for chat answers and for a coder reading a rule's citation.
SECTION_TOPICS: dict[str, str] = {
    "I.A.3": "Report codes, not categories: a code is used only at its full number of "
    "characters (a category with subdivisions is not reported).",
    "I.A.4": "The placeholder character X fills empty positions so a 7th character can be "
    "added (T36.0X1A).",
    SEVENTH_CHARACTER: "Some categories need a 7th character; it is required on every code "
    "of the category, with placeholder X where the code is shorter than six characters.",
    UNSPECIFIED: "Unspecified codes are for when the documentation does not give a more "
    "specific condition; use a specific code when the record supports it.",
    EXCLUDES1: "Excludes1 means never coded together: the two conditions cannot occur "
    "together, except when they are unrelated.",
    "I.A.12.b": "Excludes2 means not included here: both codes may be reported when the "
    "patient has both conditions.",
    ETIOLOGY_MANIFESTATION: "Etiology/manifestation: the underlying condition is sequenced "
    "first (code first) and the manifestation after it (use additional code); 'in diseases "
    "classified elsewhere' codes are never principal.",
    "I.A.15": "'With' or 'in' in the Index or Tabular links two conditions: code them as "
    "related even when the provider does not state the link, unless the record says they "
    "are unrelated.",
    CODE_ALSO: "A 'code also' note means two codes may be needed; the order depends on the "
    "circumstances of the encounter.",
    DOCUMENTATION: "Codes come from the documentation of the patient's provider; a BMI, "
    "pressure ulcer stage or similar detail may come from other clinicians.",
    "I.B.4": "Signs and symptoms are coded when no definitive diagnosis is established.",
    "I.B.5": "Signs and symptoms that are routinely part of a disease are not coded "
    "separately when the disease is coded.",
    MULTIPLE_CODING: "More than one code may be needed to describe one condition fully "
    "(etiology and manifestation, use additional code notes).",
    ACUTE_AND_CHRONIC: "A condition documented as both acute (subacute) and chronic, each "
    "with its own code, gets both codes, the acute one first.",
    COMBINATION_CODE: "A combination code that classifies two diagnoses, or a diagnosis "
    "with its complication, is used instead of the separate codes.",
    "I.B.10": "Sequela (late effects): the residual condition is coded first, then the "
    "sequela code.",
    UNSPECIFIED_CODES: "Unspecified codes and signs and symptoms are acceptable when the "
    "documentation supports nothing more specific.",
    "I.C.4.a": "Diabetes: use as many codes from its category as needed for all its "
    "complications; the type defaults to type 2 when not documented.",
    "I.C.4.a.3": "Diabetes on insulin: add Z79.4 for long-term insulin use (not when only "
    "used temporarily).",
    "I.C.9.a": "Hypertension with heart disease or chronic kidney disease is presumed "
    "related and coded with the combination codes (I11, I12, I13).",
    "I.C.19.a": "Injury 7th characters: A initial encounter while receiving active "
    "treatment, D subsequent encounter after active treatment (healing or recovery), S "
    "sequela. For a closed fracture: A initial encounter, D subsequent encounter with "
    "routine healing, G delayed healing, K nonunion, P malunion, S sequela (open fractures "
    "have their own letters for each).",
    "I.C.20.a": "External cause codes go with the injury or condition they explain and are "
    "never principal.",
    FOLLOW_UP: "Follow-up codes (Z08, Z09, Z39) are for surveillance after a condition has "
    "been fully treated and no longer exists.",
    "I.C.21.c.4": "History codes: a personal history of a condition that no longer exists "
    "and is no longer treated (a cancer excised or eradicated with no further treatment: "
    "Z85.-) or a family history (Z80-Z84) is coded with a history Z code, not the condition.",
    PRINCIPAL: "Inpatient principal diagnosis: the condition found after study to be chiefly "
    "responsible for the admission.",
    "II.H": "Inpatient uncertain diagnosis: a diagnosis documented at discharge as probable, "
    "suspected, likely, questionable, possible or still to be ruled out is coded as if it "
    "existed.",
    FIRST_LISTED: "Outpatient first-listed diagnosis: the condition chiefly responsible for "
    "the visit.",
    "IV.H": "Outpatient uncertain diagnosis: probable, suspected, questionable or rule-out "
    "diagnoses are not coded; code the signs, symptoms or findings to the highest certainty.",
    "III": "Inpatient secondary diagnoses: conditions that affect care (evaluation, "
    "treatment, tests, longer stay, more nursing) are reported.",
}
