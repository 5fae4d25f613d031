"""An unspecified code beside a more specific code of the same category says less about the
same condition: E10.9 (without complications) beside E10.21, I11.9 (without heart failure)
beside I11.0, I50.9 beside I50.23. The unspecified one goes (I.A.9.b, I.B.18).

A code is "unspecified" here when its title says "unspecified" or is a "without ..." (or
"uncomplicated") residual,
and it is less specific than another code only when every word its title keeps (once the
"unspecified" and "without ..." parts are taken out) is in the other title; a condition's
own unspecified code ("Unspecified appendicitis" K37) also yields to a named kind of it in
another category of its chapter (K35.201), and a condition's "unspecified organism" code
(J18.9, A41.9) to the code of the same condition due to a named organism (J13, A41.51). Two
specific codes of one category are distinct concepts and both stay: S72.001A and S72.002A
(right and left femur) both say "unspecified part of neck", but "left" is not in the right
femur's title.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from agent.codeset import default_billable
from agent.rules.guidelines import (
    ACUTE_AND_CHRONIC,
    COMBINATION_CODE,
    UNSPECIFIED,
    UNSPECIFIED_CODES,
    cite,
)
from retrieval.records import CodeRecord
from retrieval.store import KnowledgeStore

_WORD = re.compile(r"[a-z0-9]+")
_WITHOUT = re.compile(r"\bwithout\b[^,]*")
_IGNORED = {"unspecified", "complication", "complications", "of", "the", "a", "an", "and", "nos"}
# Residual wordings: "unspecified", "without ...", and "uncomplicated" (J45.40 beside J45.41,
# F10.20 beside F10.239), which says "without complications" in one word.
_RESIDUAL = {"unspecified", "without", "uncomplicated"}


def _words(title: str) -> set[str]:
    return {w for w in _WORD.findall(title.lower()) if w not in _IGNORED}


def residual_words(title: str) -> set[str] | None:
    """The words an unspecified title keeps once "unspecified" and its "without ..." clauses
    are taken out; None when the title is neither unspecified nor a "without" residual."""
    lower = title.lower()
    if not _RESIDUAL & set(_WORD.findall(lower)):
        return None
    return _words(_WITHOUT.sub(" ", lower)) - {"uncomplicated"}


def less_specific(unspecified: CodeRecord, specific: CodeRecord) -> bool:
    """Whether `unspecified` is the unspecified (or "without") form of what `specific` says:
    in the same 3-character category, a condition's own unspecified code beside a kind of it
    in its chapter, or its "unspecified organism" code beside it due to a named organism."""
    if unspecified.system != "cm" or specific.system != "cm":
        return False
    if unspecified.code == specific.code:
        return False
    if _organism_named(unspecified, specific):
        return True
    if not _related(unspecified, specific):
        return False
    kept = residual_words(unspecified.title)
    if kept is None or not kept:
        return False
    words = _words(specific.title)
    return all(_said(word, words) for word in kept) and not words <= _words(unspecified.title)


_UNSPECIFIED_ORGANISM = ", unspecified organism"


def _organism_named(unspecified: CodeRecord, specific: CodeRecord) -> bool:
    """A condition's code whose organism is unspecified beside a code of its chapter that is
    that condition due to a named cause: J18.9 "Pneumonia, unspecified organism" beside J13
    "Pneumonia due to Streptococcus pneumoniae" or J12.82, A41.9 beside A41.51 "Sepsis due to
    Escherichia coli". The other title must begin with the condition: a kind it does not name
    keeps its code (J18.0 bronchopneumonia, J18.8 other pneumonia beside J13), and so does a
    combination code whose note asks for the pneumonia's own code (J10.08 influenza)."""
    title = unspecified.title.lower()
    if not title.endswith(_UNSPECIFIED_ORGANISM) or unspecified.code[0] != specific.code[0]:
        return False
    condition = title.removesuffix(_UNSPECIFIED_ORGANISM)
    other = specific.title.lower()
    return other.startswith(f"{condition} due to ") and "unspecified organism" not in other


def _related(unspecified: CodeRecord, specific: CodeRecord) -> bool:
    """Same category; or, for a condition's own unspecified code ("Unspecified appendicitis"
    K37, "Anemia, unspecified" D64.9), any category of the same chapter letter that names a
    kind of it (K35.201, D63.1)."""
    if unspecified.code[:3] == specific.code[:3]:
        return True
    title = unspecified.title.lower()
    whole = title.startswith("unspecified ") or title.endswith(", unspecified")
    return whole and unspecified.code[0] == specific.code[0]


def _said(word: str, words: set[str]) -> bool:
    """A word a title says itself or through a longer word that ends in it: "neuropathy"
    in "polyneuropathy", "arthritis" in "osteoarthritis"."""
    return word in words or (len(word) >= 6 and any(w.endswith(word) for w in words))


def within_acute_on_chronic(part: CodeRecord, whole: CodeRecord) -> bool:
    """Whether `whole` is the "acute on chronic" (or "acute and chronic") combination code of
    the same category that says everything `part` says: I50.33 beside I50.32 or I50.31."""
    if part.system != "cm" or whole.system != "cm" or part.code[:3] != whole.code[:3]:
        return False
    title = whole.title.lower()
    if "acute on chronic" not in title and "acute and chronic" not in title:
        return False
    return _words(part.title) < _words(whole.title)


# A code for an unspecified body region beside codes that name the region: T30 (burn of
# unspecified body region) beside a burn of a named site (T20-T25).
_REGION_UNSPECIFIED: dict[str, tuple[str, ...]] = {
    "T30": ("T20", "T21", "T22", "T23", "T24", "T25")
}


def region_named_by(record: CodeRecord, other: CodeRecord) -> bool:
    named = _REGION_UNSPECIFIED.get(record.code[:3])
    return named is not None and other.code.startswith(named) and record.system == other.system


def same_category_conflicts(records: Sequence[CodeRecord]) -> dict[str, str]:
    """Unspecified codes to drop, each with its reason naming the more specific code, and
    acute or chronic codes an "acute on chronic" combination code of theirs includes. When
    two codes are each less specific than the other neither is dropped."""
    dropped: dict[str, str] = {}
    for record in records:
        for other in records:
            if less_specific(record, other) and not less_specific(other, record):
                dropped[record.code] = same_category_reason(record, other)
                break
            if region_named_by(record, other):
                dropped[record.code] = (
                    f"{record.code} ({record.title}) is for a burn whose site is not "
                    f"documented; {other.code} ({other.title}) names the site "
                    f"{cite(UNSPECIFIED, UNSPECIFIED_CODES)}"
                )
                break
            if within_acute_on_chronic(record, other):
                dropped[record.code] = (
                    f"{record.code} ({record.title}) is part of {other.code} ({other.title}), "
                    f"the one code for the acute and the chronic condition together "
                    f"{cite(ACUTE_AND_CHRONIC, COMBINATION_CODE)}"
                )
                break
    return dropped


def same_category_reason(unspecified: CodeRecord, specific: CodeRecord) -> str:
    same = unspecified.code[:3] == specific.code[:3]
    where = f" in category {specific.code[:3]}" if same else ""
    return (
        f"{unspecified.code} ({unspecified.title}) is the unspecified form of "
        f"{specific.code} ({specific.title}){where}: code the more specific one only "
        f"{cite(UNSPECIFIED, UNSPECIFIED_CODES)}"
    )


def category_default_conflicts(
    records: Sequence[CodeRecord], store: KnowledgeStore
) -> dict[str, str]:
    """The category's own unspecified code (the one the index gives with no detail: I25.9,
    N50.9, F32.9) beside any other code of the category: the other code, even one with an
    unspecified part of its own (M54.50 beside M54.9), says more, so the category's goes."""
    dropped: dict[str, str] = {}
    for record in records:
        if record.system != "cm" or "unspecified" not in record.title.lower():
            continue
        default = default_billable(store, record.code[:3])
        if default is None or default.code != record.code:
            continue
        specific = [r for r in records if r.code != record.code and r.code[:3] == record.code[:3]]
        if specific:
            dropped[record.code] = same_category_reason(record, specific[0])
    return dropped
