"""ICD-10-CM chapters by category range, for scores per chapter (no KB needed to read a run)."""

from __future__ import annotations

# (first category, last category, short name); ranges as printed in the FY2026 tabular.
CHAPTERS: tuple[tuple[str, str, str], ...] = (
    ("A00", "B99", "1 Infectious"),
    ("C00", "D49", "2 Neoplasms"),
    ("D50", "D89", "3 Blood, immune"),
    ("E00", "E89", "4 Endocrine, metabolic"),
    ("F01", "F99", "5 Mental"),
    ("G00", "G99", "6 Nervous system"),
    ("H00", "H59", "7 Eye"),
    ("H60", "H95", "8 Ear"),
    ("I00", "I99", "9 Circulatory"),
    ("J00", "J99", "10 Respiratory"),
    ("K00", "K95", "11 Digestive"),
    ("L00", "L99", "12 Skin"),
    ("M00", "M99", "13 Musculoskeletal"),
    ("N00", "N99", "14 Genitourinary"),
    ("O00", "O9A", "15 Pregnancy"),
    ("P00", "P96", "16 Perinatal"),
    ("Q00", "Q99", "17 Congenital"),
    ("R00", "R99", "18 Symptoms, signs"),
    ("S00", "T88", "19 Injury, poisoning"),
    ("U00", "U85", "22 Special purposes"),
    ("V00", "Y99", "20 External causes"),
    ("Z00", "Z99", "21 Health status, services"),
)


def chapter_of(code: str) -> str:
    """The chapter a CM code belongs to, or "other" (PCS codes, malformed codes)."""
    category = code.replace(".", "").upper()[:3]
    for first, last, name in CHAPTERS:
        if first <= category <= last:
            return name
    return "other"


def chapter_order(name: str) -> int:
    names = [chapter for _, _, chapter in CHAPTERS]
    return names.index(name) if name in names else len(names)
