"""Tabular conventions between proposals: Excludes1, code first, use additional code."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from agent.code_refs import code_refs, covered, parse_ref
from retrieval.records import CodeRecord, Note

Notes = Mapping[str, Sequence[Note]]  # code -> own and inherited notes, nearest first

_MANIFESTATION = "in diseases classified elsewhere"
# Notes that only ask for the other code when it applies: no warning when it is absent.
_CONDITIONAL = ("if applicable", "if known")


def is_manifestation(record: CodeRecord) -> bool:
    """Manifestation codes, titled "... in diseases classified elsewhere", are never principal."""
    return _MANIFESTATION in record.title.lower()


def _lead(text: str) -> str:
    return text.split("\n")[0].strip(" ,:")


def note_applies(note: Note, record: CodeRecord) -> bool:
    """Whether a note applies to this code: the T36-T50 "code first, for adverse effects,
    the nature of the adverse effect" note does not apply to a poisoning."""
    if "for adverse effect" in _lead(note.text).lower():
        return "adverse effect" in record.title.lower()
    return True


def excludes1_with(code: str, other: str, notes: Notes) -> Note | None:
    """The Excludes1 note (own or inherited) of either code that names the other one."""
    for owner, named in ((code, other), (other, code)):
        for note in notes[owner]:
            if note.kind != "excludes1" or _under(named, note.defined_at):
                continue
            if covered(code_refs(note.text), named):
                return note
    return None


def _under(code: str, heading: str) -> bool:
    """Whether `code` lies under `heading`: a few notes name a code of their own heading
    ("D72 Excludes1: basophilia (D72.824)", "M26-M27 Excludes1: ... (M27.8)"); they send
    that condition to its code rather than forbid it beside its siblings."""
    ref = parse_ref(heading)
    return ref is not None and ref.covers(code)


def excludes1_conflicts(ranked: Sequence[str], notes: Notes) -> dict[str, str]:
    """Codes to drop, each with its reason: walking `ranked` (most trusted first), a code is
    dropped when an Excludes1 note pairs it with a code already kept."""
    kept: list[str] = []
    dropped: dict[str, str] = {}
    for code in ranked:
        for other in kept:
            note = excludes1_with(code, other, notes)
            if note is not None:
                dropped[code] = (
                    f"Excludes1 with {other} (note at {note.defined_at}: {_lead(note.text)}): "
                    "the two are never coded together; the less certain one is dropped"
                )
                break
        else:
            kept.append(code)
    return dropped


def missing_code_first(record: CodeRecord, others: Sequence[str], notes: Notes) -> list[str]:
    """A warning per code-first note whose codes are all absent from the proposals."""
    return _missing(record, others, notes, "code_first", "code first", own_only=False)


def missing_additional_code(record: CodeRecord, others: Sequence[str], notes: Notes) -> list[str]:
    """Like `missing_code_first` for the code's own "use additional code" notes; inherited
    ones (retained foreign body, insulin use) are too general to warn about every time."""
    return _missing(record, others, notes, "use_additional_code", "use additional code", True)


def _missing(
    record: CodeRecord, others: Sequence[str], notes: Notes, kind: str, label: str, own_only: bool
) -> list[str]:
    warnings: list[str] = []
    for note in notes[record.code]:
        if note.kind != kind or (own_only and note.defined_at != record.code):
            continue
        if any(word in note.text.lower() for word in _CONDITIONAL):
            continue
        refs = code_refs(note.text)
        if refs and note_applies(note, record) and not any(covered(refs, o) for o in others):
            warning = (
                f"{label} ({', '.join(r.text for r in refs)}) per the note at "
                f"{note.defined_at}: {_lead(note.text)}; none of these is among the proposals"
            )
            if warning not in warnings:
                warnings.append(warning)
    return warnings


def must_precede(records: Sequence[CodeRecord], notes: Notes) -> set[tuple[str, str]]:
    """(first, then) pairs the notes impose: the code a "code first" note names comes before
    the noting code; the noting code comes before what "use additional code" names."""
    pairs: set[tuple[str, str]] = set()
    for record in records:
        for note in notes[record.code]:
            if note.kind not in ("code_first", "use_additional_code"):
                continue
            if not note_applies(note, record):
                continue
            refs = code_refs(note.text)
            for other in records:
                if other.code == record.code or not covered(refs, other.code):
                    continue
                if note.kind == "code_first":
                    pairs.add((other.code, record.code))
                else:
                    pairs.add((record.code, other.code))
    # Notes that contradict each other leave the order to confidence.
    return {(a, b) for a, b in pairs if (b, a) not in pairs}
