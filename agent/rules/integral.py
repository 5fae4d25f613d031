"""Signs and symptoms that are part of a definitive diagnosis coded beside them are not coded
(Official Guidelines I.B.4, I.B.5, I.C.18.a-b): dyspnea beside pneumonia or heart failure,
abdominal pain beside appendicitis, fever beside an infection, numbness beside diabetic
polyneuropathy, an abnormal glucose beside diabetes.

Which diseases routinely explain a symptom is coding knowledge, kept here as the body systems
(ICD-10-CM category prefixes) each group of chapter-18 codes belongs to. A symptom with no
related definitive diagnosis on the chart stays: it is then the most specific thing known.
"""

from __future__ import annotations

from collections.abc import Sequence

from agent.rules.guidelines import cite
from retrieval.records import CodeRecord

INTEGRAL_SIGNS = ("I.B.4", "I.B.5", "I.C.18.b")
_INFECTIONS = ("A", "B", "J0", "J1", "J2", "J3", "J4", "J8", "K35", "K57", "K61", "K63.0",
               "K65", "K80", "K81", "K85", "L0", "M00", "M86", "N10", "N11", "N30", "N34",
               "N39.0", "N70", "N71", "N73", "G00", "G03", "G04", "G06", "I33", "I40", "T81.4",
               "U07")  # fmt: skip
# Symptom prefixes -> diagnosis prefixes that routinely include them.
_EXPLAINED_BY: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("R00", "R01", "R03"), ("I",)),
    (("R04", "R05", "R06", "R07", "R09"), ("J", "I2", "I3", "I4", "I5", "C34", "C45", "U07")),
    (("R10", "R11", "R12", "R13", "R14", "R15", "R16", "R17", "R18", "R19"),
     ("K", "C15", "C16", "C17", "C18", "C19", "C20", "C22", "C23", "C24", "C25", "A0",
      "N10", "N13", "N20", "N23", "O")),
    (("R20", "R21", "R22", "R23"), ("L", "G", "B0", "E08.4", "E09.4", "E10.4", "E11.4",
                                     "E13.4", "T78", "I83", "I87")),
    (("R25", "R26", "R27", "R29"), ("G", "I6", "M", "S06")),
    (("R30", "R31", "R32", "R33", "R34", "R35", "R36", "R39"), ("N", "C61", "C64", "C67")),
    # Somnolence, stupor and coma are no part of a mental disorder (F); they are the nature
    # of an adverse effect coded beside its T code (I.C.19.e.5.a).
    (("R40",), ("G", "I6", "S06", "E16.2", "K72")),
    (("R41", "R42", "R44", "R45", "R46", "R47", "R48", "R49"),
     ("F", "G", "I6", "S06", "H81", "E16.2")),
    (("R50",), _INFECTIONS),
    (("R51",), ("G43", "G44", "S06", "I6", "G0")),
    (("R55",), ("I4", "I95", "I35")),
    (("R56",), ("G40", "G41")),
    (("R59",), ("C77", "C81", "C82", "C83", "C84", "C85", "C88", "C91", "C92", "B27", "B20")),
    (("R60",), ("I50", "I11.0", "I13", "N04", "N18", "K70", "K74", "I87", "I80", "I82")),
    (("R73",), ("E08", "E09", "E10", "E11", "E13", "O24")),
    (("R74", "R77", "R78", "R79"), ("K7", "E", "D")),
    (("R80", "R81", "R82"), ("N0", "N1", "N2", "N39.0", "E08.2", "E10.2", "E11.2", "E13.2")),
    (("R91",), ("C34", "J")),
    (("R93", "R94"), ("I", "J", "K", "N", "G", "C")),
)  # fmt: skip


# The neurological deficits of an acute stroke are coded beside it, even when they resolve
# before discharge (Coding Clinic): speech and swallowing disorders, facial weakness, neglect,
# cognitive deficits; the NIHSS score is a "use additional code" of I63 itself.
_STROKES = ("I60", "I61", "I62", "I63")
_STROKE_DEFICITS = ("R13", "R29.7", "R29.810", "R41.4", "R41.84", "R47", "R48")


# Symptoms the Tabular files outside chapter 18: renal colic (N23) is the pain of a
# urinary calculus.
_SYMPTOMS_ELSEWHERE = {"N23": ("N13.2", "N13.6", "N20", "N21", "N22")}


def explained_by(symptom: str, diagnosis: str) -> bool:
    """Whether `diagnosis` routinely includes the sign or symptom `symptom`."""
    elsewhere = _SYMPTOMS_ELSEWHERE.get(symptom[:3])
    if elsewhere is not None:
        return diagnosis.startswith(elsewhere)
    if not symptom.startswith("R") or diagnosis.startswith(("R", "Z", "V", "W", "X", "Y")):
        return False
    if diagnosis.startswith(_STROKES) and symptom.startswith(_STROKE_DEFICITS):
        return False
    return any(
        symptom.startswith(signs) and diagnosis.startswith(diseases)
        for signs, diseases in _EXPLAINED_BY
    )


def integral_symptoms(records: Sequence[CodeRecord]) -> dict[str, str]:
    """Symptom codes to drop, each with the definitive diagnosis that includes it."""
    dropped: dict[str, str] = {}
    for symptom in records:
        cause = next((r for r in records if explained_by(symptom.code, r.code)), None)
        if cause is not None:
            dropped[symptom.code] = (
                f"{symptom.code} ({symptom.title}) is a sign or symptom routinely part of "
                f"{cause.code} ({cause.title}), which is coded: not coded separately "
                f"{cite(*INTEGRAL_SIGNS)}"
            )
    return dropped
