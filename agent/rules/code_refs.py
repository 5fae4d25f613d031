"""Code references inside tabular notes: "(E10.-)", "(N18.1-N18.6)", "(J44.0, J44.1)".

Only references this module fully understands are returned: a reference with a qualifier
it cannot read ("T36-T50 with fifth or sixth character 5") is left out rather than read as
the whole range, because a note rule acting on an over-wide range would drop good codes.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from retrieval.records import Note

_CODE = r"[A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?"
_PIECE = re.compile(rf"(?P<low>{_CODE})(?:-(?P<high>{_CODE}))?-?(?:\s*(?i:with)\s+(?P<qual>.+))?")
_TAIL = re.compile(r"\.([0-9A-Z]+)-?")
_FIFTH = re.compile(r"(?:fifth|5th)[- ]character\s+([0-9A-Z])", re.IGNORECASE)
_GROUP = re.compile(r"\(([^()]*)\)")


@dataclass(frozen=True, slots=True)
class CodeRef:
    """Codes from `low` to `high` (dotless, compared at their own length), optionally only
    those whose characters after the category start with `tail` or whose 5th is `fifth`."""

    text: str
    low: str
    high: str
    tail: str = ""
    fifth: str = ""

    def covers(self, code: str) -> bool:
        bare = code.replace(".", "")
        if not self.low <= bare[: len(self.low)] or not bare[: len(self.high)] <= self.high:
            return False
        if self.tail and not bare[3:].startswith(self.tail):
            return False
        return not self.fifth or bare[4:5] == self.fifth


def parse_ref(piece: str) -> CodeRef | None:
    """One reference ("E10.-", "I10-I16", "E08-E13 with .42"), or None if not understood."""
    text = piece.strip()
    # "E10.-" and "F10.-F19.-" use ".-" for "any further characters"; "M05.00 to M05.8A".
    cleaned = re.sub(r"-{2,}", "-", text.replace(".-", "-"))
    cleaned = re.sub(r"\s+to\s+", "-", cleaned)
    match = _PIECE.fullmatch(cleaned)
    if match is None:
        return None
    low = match["low"].replace(".", "")
    high = (match["high"] or match["low"]).replace(".", "")
    qualifier = (match["qual"] or "").strip()
    if not qualifier:
        return CodeRef(text, low, high)
    if tail := _TAIL.fullmatch(qualifier):
        return CodeRef(text, low, high, tail=tail[1])
    if fifth := _FIFTH.fullmatch(qualifier):
        return CodeRef(text, low, high, fifth=fifth[1])
    return None


def code_refs(note_text: str) -> list[CodeRef]:
    """Every understood reference in the parenthesised groups of a note."""
    return list(_parsed_refs(note_text))


@functools.lru_cache(maxsize=20_000)
def _parsed_refs(note_text: str) -> tuple[CodeRef, ...]:
    # The same notes are read for every code under them, on every chart: parse each once.
    refs: list[CodeRef] = []
    for group in _GROUP.findall(note_text):
        for piece in re.split(r"[,;]", group):
            ref = parse_ref(piece)
            if ref is not None:
                refs.append(ref)
    return tuple(refs)


def covered(refs: list[CodeRef], code: str) -> bool:
    return any(ref.covers(code) for ref in refs)


# Notes that ask for another code beside this one.
ASKING_NOTES = frozenset({"use_additional_code", "code_first", "code_also"})


def asked_for(notes: Sequence[Note]) -> list[CodeRef]:
    """The codes a code's notes (own and inherited) ask to report beside it: "use additional
    code to identify the stage of chronic kidney disease (N18.1-N18.6)"."""
    return [ref for note in notes if note.kind in ASKING_NOTES for ref in code_refs(note.text)]
