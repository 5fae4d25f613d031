"""ICD-10-CM tabular list from the simple-icd-10-cm package (FY2026, April 2026 update).

Each record carries only the notes defined on that node; inherited notes are resolved by the
store by walking the parent chain, so 51k seventh-character codes do not each copy the notes of
their category, block and chapter.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from types import ModuleType

from retrieval.records import CodeRecord, Note

# Package metadata: the tabular XML the package ships is the April 1, 2026 update of FY2026.
CM_RELEASE = "ICD-10-CM FY2026 (2026-04)"
CM_FISCAL_YEAR = 2026


@functools.cache
def _cm() -> ModuleType:
    """simple_icd_10_cm, imported on first use: its import parses the whole code set
    (~2 s), which every process that merely imports the store would otherwise pay."""
    import simple_icd_10_cm

    return simple_icd_10_cm


def _kind(code: str) -> str:
    if _cm().is_chapter(code):
        return "chapter"
    # A block holding a single category shares its name (B10, C7A): it is the category.
    if _cm().is_category(code):
        return "category"
    if _cm().is_block(code):
        return "block"
    if _cm().is_extended_subcategory(code):
        return "extension"
    return "subcategory"


def _split_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def own_notes(code: str) -> tuple[Note, ...]:
    """The instructional notes written on `code` itself, in tabular order."""
    notes: list[Note] = []
    for kind, items in (
        ("includes", _cm().get_includes(code)),
        ("excludes1", _cm().get_excludes1(code)),
        ("excludes2", _cm().get_excludes2(code)),
    ):
        notes.extend(Note(kind, item, code) for item in items)
    # These three come back as one string whose first line introduces the list that follows.
    for kind, text in (
        ("code_first", _cm().get_code_first(code)),
        ("use_additional_code", _cm().get_use_additional_code(code)),
        ("code_also", _cm().get_code_also(code)),
        ("note", _cm().get_notes(code)),
    ):
        if text and text.strip():
            notes.append(Note(kind, "\n".join(_split_lines(text)), code))
    seven_note = _cm().get_seven_chr_note(code)
    if seven_note:
        notes.append(Note("seven_chr_note", seven_note.strip(), code))
    for char, meaning in (_cm().get_seven_chr_def(code) or {}).items():
        notes.append(Note("seven_chr_def", f"{char}: {' '.join(meaning.split())}", code))
    return tuple(notes)


def _chapter_of(code: str) -> str | None:
    if _cm().is_chapter(code):
        return code
    ancestors = _cm().get_ancestors(code)
    return ancestors[-1] if ancestors else None


def parse_tabular() -> Iterator[CodeRecord]:
    """Every chapter, block, category and code of the FY2026 tabular, in tabular order."""
    seen: set[str] = set()
    for code in _cm().get_all_codes(with_dots=True):
        if code in seen:
            continue
        seen.add(code)
        parent = next((a for a in _cm().get_ancestors(code) if a != code), None)
        kind = _kind(code)
        yield CodeRecord(
            code=code,
            system="cm",
            title=_cm().get_description(code),
            # B20, F99, P84, R99, Z66: billable categories the package also calls blocks.
            billable=_cm().is_leaf(code) and kind in ("category", "subcategory", "extension"),
            kind=kind,
            parent=parent,
            chapter=_chapter_of(code),
            inclusion_terms=tuple(_cm().get_inclusion_term(code)),
            notes=own_notes(code),
        )
