"""Is a proposed code a valid, billable code of the loaded code set, and if not, why not."""

from __future__ import annotations

import re

from agent.models import System
from agent.rules.guidelines import PLACEHOLDER, REPORTING, SEVENTH_CHARACTER, cite
from retrieval.records import CodeRecord
from retrieval.sources.tabular import CM_RELEASE
from retrieval.store import KnowledgeStore
from retrieval.text import with_dot

PCS_CODE = re.compile(r"[0-9A-HJ-NP-Z]{7}")
_CM_KINDS = ("category", "subcategory", "extension")
_SHOWN = 6  # child codes named in a "needs more characters" reason


def resolve_code(raw: str, store: KnowledgeStore) -> tuple[str, System]:
    """The canonical code and its system: CM upper case with the dot after the category,
    PCS upper case without one.

    A dot or a leading letter means CM, a leading digit PCS; seven PCS characters starting
    with a letter (BW03ZZZ, imaging) are PCS only when the store knows them as PCS and not
    as CM, since both systems use letters first."""
    text = raw.strip().upper()
    bare = re.sub(r"[\s.]", "", text)
    if not bare or bare[0].isdigit():
        return bare, "pcs"
    dotted = with_dot(bare)
    if (
        "." not in text
        and PCS_CODE.fullmatch(bare)
        and store.get(bare, "pcs") is not None
        and store.get(dotted, "cm") is None
    ):
        return bare, "pcs"
    return dotted, "cm"


def code_set_name(system: System, kb_release: str, year: int | None = None) -> str:
    """ "ICD-10-CM FY2027" for fiscal `year`; without one, as named by the KB release string,
    else by the tabular package."""
    label = "ICD-10-CM" if system == "cm" else "ICD-10-PCS"
    if year is not None:
        return f"{label} FY{year}"
    found = re.search(rf"{label} FY\d{{4}}", kb_release)
    if found:
        return found[0]
    if system == "cm":
        return CM_RELEASE.split(" (")[0]
    return f"the loaded {label} code set"


def code_problem(code: str, system: System, store: KnowledgeStore, code_set: str) -> str | None:
    """Why `code` cannot be proposed (unknown, or a heading), or None when it is billable;
    the reason cites the guideline: only complete codes are reported (I.A.3), with the
    placeholder X (I.A.4) and the 7th character (I.A.5) where the category needs them."""
    record = store.get(code, system) if code else None
    if record is None or (system == "cm" and record.kind not in _CM_KINDS):
        other_year = store.why_absent(code, store.year, system) if code else None
        if other_year is not None:  # a code of another fiscal year the KB holds
            return f"{code} is not a code in {code_set}: {other_year} {cite(REPORTING)}"
        return unknown_code_reason(code, system, store, code_set)
    if not record.billable:
        reason = heading_reason(record, store)
        change = store.code_change(code, system, store.year)
        return f"{reason}; {change.describe()}" if change is not None else reason
    return None


def unknown_code_reason(code: str, system: System, store: KnowledgeStore, code_set: str) -> str:
    if not code:
        return "an empty code is not a code"
    reason = f"{code} is not a code in {code_set}"
    if system == "pcs":
        if len(code) != 7:
            return f"{reason}: ICD-10-PCS codes have exactly 7 characters"
        return reason
    if store.get(code[:3], "cm") is None:
        return f"{reason}: there is no category {code[:3]} {cite(REPORTING)}"
    hint = seventh_character_problem(code, store)
    if hint is not None:
        section = PLACEHOLDER if "placeholder X" in hint else SEVENTH_CHARACTER
        return f"{reason}: {hint} {cite(section)}"
    # Both systems share the codes table; a PCS code is no hint for a CM one.
    nearest = [c for c in store.nearest_codes(code, 10) if "." in c or len(c) == 3][:5]
    hint = f": nearest valid codes: {', '.join(nearest)}" if nearest else ""
    return f"{reason}{hint} {cite(REPORTING)}"


def seventh_characters(code: str, store: KnowledgeStore) -> tuple[str, list[str]] | None:
    """(where they are defined, ["A: initial encounter ...", ...]) for the 7th characters
    that apply to `code`, from the nearest code of its lineage that defines them."""
    defs = [n for n in store.notes_with_inherited(code) if n.kind == "seven_chr_def"]
    if not defs:
        return None
    # A subcategory (E11.32 for the eye) may redefine the 7th characters of its category.
    nearest = defs[0].defined_at
    return nearest, [n.text for n in defs if n.defined_at == nearest]


def seventh_character_problem(code: str, store: KnowledgeStore) -> str | None:
    """Explain an unknown CM code that is wrong in its 7th character: one its category does
    not define (S72.001Z), or one written without the placeholder X (T36.01A)."""
    bare = code.replace(".", "")
    parent = with_dot(bare[:6])
    if len(bare) == 7 and store.get(parent, "cm") is not None:
        found = seventh_characters(parent, store)
        if found is not None:
            where, defs = found
            letters = ", ".join(d.split(":")[0].strip() for d in defs)
            return (
                f"7th character {bare[6]} is not defined for {parent}; "
                f"{where} defines the 7th characters {letters}"
            )
    for candidate in _placeholder_fixes(bare):
        record = store.get(candidate, "cm")
        if record is not None and record.billable:
            return (
                "the 7th character must be in the 7th position: codes shorter than 6 "
                f"characters take the placeholder X, as in {candidate}"
            )
    return None


def _placeholder_fixes(bare: str) -> list[str]:
    """`bare` with the missing characters before its last one filled by X at each place."""
    base, last = bare[:-1], bare[-1:]
    missing = 6 - len(base)
    if len(bare) > 7 or len(base) < 3 or missing <= 0 or not last.isalpha():
        return []
    return [
        with_dot(base[:at] + "X" * missing + base[at:] + last) for at in range(3, len(base) + 1)
    ]


def heading_reason(record: CodeRecord, store: KnowledgeStore) -> str:
    """Why a heading is not billable, naming the characters it still needs."""
    children = [c.code for c in store.children(record.code, record.system)]
    shown = ", ".join(children[:_SHOWN]) + (", ..." if len(children) > _SHOWN else "")
    head = f"{record.code} ({record.title}) is a heading, not a billable code"
    if record.system == "pcs":
        return f"{head}: ICD-10-PCS codes have 7 characters (e.g. {shown})"
    found = seventh_characters(record.code, store)
    if found is None:
        return f"{head}: it needs more characters (e.g. {shown}) {cite(REPORTING)}"
    where, defs = found
    if len(record.code.replace(".", "")) == 6:
        return (
            f"{head}: it needs a 7th character ({where} defines {'; '.join(defs)}) "
            f"{cite(SEVENTH_CHARACTER)}"
        )
    letters = ", ".join(d.split(":")[0].strip() for d in defs)
    return (
        f"{head}: it needs more characters (e.g. {shown}) "
        f"and then a 7th character ({where} defines {letters}) "
        f"{cite(REPORTING, SEVENTH_CHARACTER)}"
    )
