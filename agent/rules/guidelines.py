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
