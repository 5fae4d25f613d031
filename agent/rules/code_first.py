"""Code-first and use-additional-code notes: which ones make a mandatory pair, which only
apply sometimes, and whether the codes beside a code satisfy them.

- Mandatory (a commit blocker): an etiology/manifestation pair, that is a manifestation code
  ("in diseases classified elsewhere", or a manifestation by the MCE list) or a "code first
  underlying disease/condition" note (I.A.13). A "such as" list gives examples, not the only
  choices: any other diagnosis that may stand as an underlying condition satisfies it (not
  a manifestation, a symptom R code, a Z code or an external cause). A note naming codes
  without "such as" is satisfied only by those codes.
- Conditional (a warning): "if applicable", "any", "if known", the follow-up encounter codes
  (Z08, Z09, Z39, which only apply on a follow-up visit, I.C.21.c.8), and code-first notes
  outside an etiology/manifestation pair, which order codes when both are present (I.B.7).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from agent.rules.code_refs import CodeRef, code_refs, covered
from agent.rules.guidelines import ETIOLOGY_MANIFESTATION, FOLLOW_UP, MULTIPLE_CODING, cite
from agent.rules.notes import Notes, is_manifestation, lead, note_applies
from retrieval.records import CodeRecord, Note

_CONDITIONAL = re.compile(r"\b(?:if applicable|if known|any)\b")
_EXAMPLES = re.compile(r"\bsuch as\b|\be\.g\.")
_UNDERLYING = re.compile(r"\bunderlying\b")
FOLLOW_UP_CATEGORIES = ("Z08", "Z09", "Z39")
_NOT_UNDERLYING = ("R", "Z", "V", "W", "X", "Y")

Strength = Literal["mandatory", "conditional"]


@dataclass(frozen=True)
class Beside:
    """Another diagnosis of the same code set, as the notes of a code see it."""

    code: str
    underlying: bool  # may stand as the underlying condition of a manifestation


def beside(record: CodeRecord, mce: Sequence[str] = ()) -> Beside:
    """`record` as a partner: a manifestation, a symptom (R), a Z code or an external cause
    (V-Y) is never the underlying condition a manifestation asks for."""
    underlying = (
        record.system == "cm"
        and not is_manifestation_code(record, mce)
        and not record.code.startswith(_NOT_UNDERLYING)
    )
    return Beside(record.code, underlying)


def is_manifestation_code(record: CodeRecord, mce: Sequence[str] = ()) -> bool:
    """A manifestation by its title or by the MCE list (D63.1 "Anemia in CKD")."""
    return is_manifestation(record) or "Principal_Manifestation" in mce


@dataclass(frozen=True)
class Requirement:
    """One note (or a manifestation title) asking for another code beside `code`."""

    code: str
    kind: Literal["code_first", "use_additional_code"]
    strength: Strength
    any_underlying: bool  # any underlying condition satisfies it, not only the named codes
    refs: tuple[CodeRef, ...]
    defined_at: str
    text: str  # the note's first line
    follow_up: bool = False

    @property
    def section(self) -> str:
        if self.follow_up:
            return FOLLOW_UP
        if self.strength == "mandatory" or self.kind == "use_additional_code":
            return ETIOLOGY_MANIFESTATION
        return MULTIPLE_CODING

    def satisfied_by(self, others: Sequence[Beside]) -> bool:
        refs = list(self.refs)
        return any(covered(refs, o.code) or (self.any_underlying and o.underlying) for o in others)

    def message(self) -> str:
        """What is missing, the note behind it and the guideline it applies."""
        label = "code first" if self.kind == "code_first" else "use additional code"
        named = ", ".join(r.text for r in self.refs)
        where = (
            f"the note at {self.defined_at}: {self.text}"
            if self.text
            else f"{self.code} is a manifestation code"
        )
        if self.follow_up:
            return (
                f"{label} ({named}) only on a follow-up encounter after treatment, per {where}; "
                f"not needed otherwise {cite(self.section)}"
            )
        if self.any_underlying:
            what = f"{label} the underlying condition" + (f" (such as {named})" if named else "")
            tail = "any underlying condition satisfies it, and none is among the codes"
        else:
            what = f"{label} ({named})"
            tail = "none of these is among the codes"
        if self.strength == "conditional" and self.kind == "code_first":
            tail = f"only if it applies; {tail}"
        return f"{what} per {where}; {tail} {cite(self.section)}"


def requirements(record: CodeRecord, notes: Notes, mce: Sequence[str] = ()) -> list[Requirement]:
    """What the notes of `record` ask to code beside it: its own and inherited code-first
    notes, its own use-additional-code notes (inherited ones, such as retained foreign body
    or insulin use, are too general to ask every time; "if applicable" ones are left to the
    coder), and for a manifestation code without any code-first note, its underlying
    condition."""
    found: list[Requirement] = []
    manifestation = is_manifestation_code(record, mce)
    code_first = [
        n for n in notes[record.code] if n.kind == "code_first" and note_applies(n, record)
    ]
    for note in code_first:
        found.append(_code_first(record, note, manifestation))
    for note in notes[record.code]:
        if note.kind != "use_additional_code" or note.defined_at != record.code:
            continue
        refs = tuple(code_refs(note.text))
        if refs and not _CONDITIONAL.search(" ".join(lead(note.text).lower().split())):
            found.append(
                Requirement(
                    record.code,
                    "use_additional_code",
                    "conditional",
                    False,
                    refs,
                    note.defined_at,
                    lead(note.text),
                )
            )
    if manifestation and not code_first:
        found.append(Requirement(record.code, "code_first", "mandatory", True, (), record.code, ""))
    return _distinct(found)


def _code_first(record: CodeRecord, note: Note, manifestation: bool) -> Requirement:
    text = note.text.lower()
    first = " ".join(lead(text).split())  # the instruction; the lines after it list codes
    refs = tuple(code_refs(note.text))
    follow_up = bool(refs) and all(_follow_up(r) for r in refs)
    conditional = follow_up or _CONDITIONAL.search(first) is not None
    pair = manifestation or _UNDERLYING.search(first) is not None
    strength: Strength = "mandatory" if pair and not conditional else "conditional"
    any_underlying = not refs or _EXAMPLES.search(text) is not None
    return Requirement(
        record.code,
        "code_first",
        strength,
        any_underlying and not follow_up,
        refs,
        note.defined_at,
        lead(note.text),
        follow_up,
    )


def _follow_up(ref: CodeRef) -> bool:
    return ref.low[:3] in FOLLOW_UP_CATEGORIES and ref.high[:3] in FOLLOW_UP_CATEGORIES


def _distinct(found: list[Requirement]) -> list[Requirement]:
    kept: list[Requirement] = []
    for requirement in found:
        if all(requirement.message() != k.message() for k in kept):
            kept.append(requirement)
    return kept


def unmet(
    record: CodeRecord, others: Sequence[Beside], notes: Notes, mce: Sequence[str] = ()
) -> list[Requirement]:
    """The requirements of `record` that none of `others` (the other diagnoses) satisfies."""
    return [r for r in requirements(record, notes, mce) if not r.satisfied_by(others)]
