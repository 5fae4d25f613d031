"""Tabular notes between codes: Excludes1 pairs and the order code-first notes impose."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from agent.rules.code_refs import code_refs, covered, parse_ref
from agent.rules.guidelines import EXCLUDES1, cite
from retrieval.records import CodeRecord, Note

Notes = Mapping[str, Sequence[Note]]  # code -> own and inherited notes, nearest first

# "in diseases classified elsewhere", "in other conditions classified elsewhere" (J91.8),
# "in other infectious and parasitic diseases classified elsewhere" (G02), "due to
# conditions classified elsewhere" (D84.81); not "as the cause of diseases ..." (B95-B97).
_MANIFESTATION = re.compile(
    r"\b(?:in|due to) (?:[\w-]+ ){0,4}(?:diseases|conditions|disorders) classified elsewhere"
)


def is_manifestation(record: CodeRecord) -> bool:
    """Manifestation codes, titled "... in diseases classified elsewhere", are never principal
    and need their underlying condition coded first (I.A.13)."""
    return _MANIFESTATION.search(record.title.lower()) is not None


def lead(text: str) -> str:
    """The first line of a note, without the list that follows it."""
    return text.split("\n")[0].strip(" ,:")


def note_applies(note: Note, record: CodeRecord) -> bool:
    """Whether a note applies to this code: the T36-T50 "code first, for adverse effects,
    the nature of the adverse effect" note does not apply to a poisoning."""
    if "for adverse effect" in lead(note.text).lower():
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
    dropped when an Excludes1 note pairs it with a code already kept; unless the note itself
    says which one to code: not its NOS code, but its combination code. A code that wins
    is checked against every kept code before it stays, so no pair survives the walk."""
    kept: list[str] = []
    dropped: dict[str, str] = {}
    for code in ranked:
        beaten: list[tuple[str, str]] = []  # kept codes this one would replace, with why
        for other in kept:
            note = excludes1_with(code, other, notes)
            if note is None:
                continue
            loser, why = _loser(code, other, note, notes)
            winner = other if loser == code else code
            reason = (
                f"Excludes1 with {winner} (note at {note.defined_at}: {lead(note.text)}): "
                f"{why} {cite(EXCLUDES1)}"
            )
            if loser == code:
                dropped[code] = reason
                break
            beaten.append((other, reason))
        else:
            for other, reason in beaten:
                dropped[other] = reason
                kept.remove(other)
            kept.append(code)
    return dropped


def _loser(code: str, kept: str, note: Note, notes: Notes) -> tuple[str, str]:
    """Which of an Excludes1 pair goes (`code` is the less certain one), and why."""
    owner = code if note in notes[code] else kept
    named = kept if owner == code else code
    if _as_nos(note, named):
        # "S06 Excludes1: head injury NOS (S09.90)": the note sends vague wording there; the
        # named condition stays, however less sure.
        return named, f"{named} is the NOS code the note sends vague wording to"
    if _as_combination(note, named):
        # "N20 Excludes1: that with hydronephrosis (N13.2)": the condition with its
        # complication is one combination code.
        return owner, f"{named} is the combination code the note sends it to"
    return code, "the two are never coded together; the less certain one is dropped"


def _as_combination(note: Note, code: str) -> bool:
    """Whether the note names `code` for the condition "with" something more."""
    return any(
        re.search(r"\bwith\b", line.split("(")[0]) is not None and covered(code_refs(line), code)
        for line in note.text.split("\n")
    )


def _as_nos(note: Note, code: str) -> bool:
    """Whether the note names `code` for a condition "NOS" (not otherwise specified)."""
    return any(
        "NOS" in line.split("(")[0] and covered(code_refs(line), code)
        for line in note.text.split("\n")
    )


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
