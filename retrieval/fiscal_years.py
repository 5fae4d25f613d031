"""A fiscal year's code set: the previous year's with that year's addenda applied.

The addenda list billable codes only, so the hierarchy around them is worked out here:
- an added code hangs under its nearest existing ancestor (I42.00 under I42.0, T52.811A under
  T52.8, whose 7th characters and notes it inherits); a category with no ancestor at all
  (QA1.71 in FY2027) goes under the chapter whose range it sorts into;
- a deleted code that receives added children stays as a non-billable heading (I42.0);
- a deleted code without them is absent, and so is every heading left with no code under it
  (T52.8X1 and T52.8X once T52.8X1A..T52.8X4S are deleted): an "implied" deletion;
- a revised code takes its new title; the former one stays searchable.

Nothing here writes: `apply_addenda` returns the differences, which the store writer keeps.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from retrieval.records import CodeChange, CodeRecord, System
from retrieval.sources.addenda import Addenda, AddendaChange
from retrieval.store import KnowledgeStore
from retrieval.text import normalise

_CHAPTER_RANGE = re.compile(r"\(([A-Z][0-9A-Z]{2})-([A-Z][0-9A-Z]{2})\)\s*$")


@dataclass
class YearDelta:
    """How fiscal `year` differs from the year before it.

    `records` maps (system, code) to the code's record in `year`, or None where the code is
    absent that year; only codes that differ from the previous year are listed.
    """

    year: int
    previous: int
    records: dict[tuple[str, str], CodeRecord | None] = field(default_factory=dict)
    changes: list[CodeChange] = field(default_factory=list)
    # (phrase, code, source id) for exact lookup of added, revised and former titles.
    phrases: list[tuple[str, str, str]] = field(default_factory=list)
    # Addenda lines that could not be applied to the previous year's code set, and why.
    unapplied: list[dict[str, str]] = field(default_factory=list)


def apply_addenda(
    store: KnowledgeStore, previous: int, year: int, addenda: Iterable[Addenda]
) -> YearDelta:
    """The differences `addenda` (one file per code system, all of `year`) make to the code
    set the store holds for fiscal year `previous`."""
    delta = YearDelta(year, previous)
    for one in addenda:
        if one.year != year:
            raise ValueError(f"{one.path} is the FY{one.year} addenda, not FY{year}'s")
        _SystemUpdate(store, previous, one, delta).apply()
    return delta


def _phrase_rows(titles: Iterable[str], record: CodeRecord) -> list[tuple[str, str, str]]:
    return [(normalise(title), record.code, record.source_id) for title in titles if title]


class _SystemUpdate:
    """Applies one code system's addenda; results go into the shared `YearDelta`."""

    def __init__(
        self, store: KnowledgeStore, previous: int, addenda: Addenda, delta: YearDelta
    ) -> None:
        self.store, self.previous, self.addenda, self.delta = store, previous, addenda, delta
        self.system: System = addenda.system
        self.absent: set[str] = set()
        self.added: dict[str, CodeRecord] = {}
        self.revised: dict[str, CodeRecord] = {}

    def _before(self, code: str) -> CodeRecord | None:
        return self.store.get(code, self.system, self.previous)

    def _skip(self, change: AddendaChange, reason: str) -> None:
        self.delta.unapplied.append(
            {
                "system": self.system,
                "action": change.action,
                "code": change.code,
                "title": change.title,
                "line": str(change.line),
                "reason": reason,
            }
        )

    def apply(self) -> None:
        by_action: dict[str, list[AddendaChange]] = {"add": [], "delete": [], "revise": []}
        for change in self.addenda.changes:
            by_action[change.action].append(change)
        deleted = {c.code: c for c in by_action["delete"] if self._delete(c)}
        for change in by_action["revise"]:
            self._revise(change)
        for change in by_action["add"]:
            self._add(change)
        headings = self._keep_as_headings(deleted)
        implied = self._prune_empty_headings(deleted)
        for code, change in deleted.items():
            self._record_deletion(code, change.title, heading=code in headings)
        for code, title in implied.items():
            self._record_deletion(code, title, implied=True)

    def _delete(self, change: AddendaChange) -> bool:
        record = self._before(change.code)
        if record is None:
            self._skip(change, f"not a code in FY{self.previous}")
            return False
        if not record.billable:
            self._skip(change, f"a heading, not a billable code, in FY{self.previous}")
            return False
        self.absent.add(change.code)
        self.delta.records[(self.system, change.code)] = None
        return True

    def _revise(self, change: AddendaChange) -> None:
        record = self._before(change.code)
        if record is None:
            self._skip(change, f"not a code in FY{self.previous}")
            return
        revised = dataclasses.replace(record, title=change.title, notes=())
        self.revised[change.code] = revised
        self.delta.records[(self.system, change.code)] = revised
        former = change.former_title or record.title
        self.delta.changes.append(
            CodeChange(self.delta.year, self.system, change.code, "revised", change.title, former)
        )
        titles = {change.title, former, record.title}
        self.delta.phrases += _phrase_rows(titles, revised)

    def _add(self, change: AddendaChange) -> None:
        if self._before(change.code) is not None:
            self._skip(change, f"already a code in FY{self.previous}")
            return
        record = self._new_record(change)
        self.added[change.code] = record
        self.delta.records[(self.system, change.code)] = record
        self.delta.changes.append(
            CodeChange(self.delta.year, self.system, change.code, "added", change.title)
        )
        self.delta.phrases += _phrase_rows({change.title}, record)

    def _new_record(self, change: AddendaChange) -> CodeRecord:
        if self.system == "pcs":
            table = self._before(change.code[:3])
            return CodeRecord(
                change.code,
                "pcs",
                change.title,
                billable=True,
                kind="pcs_code",
                parent=table.code if table else None,
                chapter=change.code[0],
            )
        parent = self._nearest_ancestor(change.code)
        if parent is None:
            chapter = self._chapter_by_range(change.code)
            parent_code, chapter_code = chapter, chapter
        else:
            parent_code, chapter_code = parent.code, parent.chapter
        kind = "category" if len(change.code) == 3 else "subcategory"
        if len(change.code.replace(".", "")) == 7 and parent is not None:
            inherited = self.store.notes_with_inherited(parent.code, "cm", self.previous)
            if any(note.kind == "seven_chr_def" for note in inherited):
                kind = "extension"
        return CodeRecord(
            change.code,
            "cm",
            change.title,
            billable=True,
            kind=kind,
            parent=parent_code,
            chapter=chapter_code,
        )

    def _nearest_ancestor(self, code: str) -> CodeRecord | None:
        """The longest proper prefix of `code` that is a code the year before (a deleted
        code included: it becomes the heading of what is added under it)."""
        for end in range(len(code) - 1, 2, -1):
            prefix = code[:end].rstrip(".")
            if prefix != code and (record := self._before(prefix)) is not None:
                return record
        return None

    def _chapter_by_range(self, code: str) -> str | None:
        """The chapter whose category range (in its title) the new category sorts into."""
        category = code[:3]
        chosen = None
        for number in range(1, 30):
            chapter = self._before(str(number))
            if chapter is None or chapter.kind != "chapter":
                continue
            match = _CHAPTER_RANGE.search(chapter.title)
            start = match.group(1) if match else None
            if start and start <= category and (chosen is None or start > chosen[0]):
                chosen = (start, chapter.code)
        return chosen[1] if chosen else None

    def _keep_as_headings(self, deleted: dict[str, AddendaChange]) -> set[str]:
        """Deleted codes that received added children: present again, as headings."""
        parents = {record.parent for record in self.added.values()}
        headings = set()
        for code in deleted:
            if code in parents:
                record = self._before(code)
                assert record is not None
                heading = dataclasses.replace(
                    self.revised.get(code, record), billable=False, notes=()
                )
                self.delta.records[(self.system, code)] = heading
                self.absent.discard(code)
                headings.add(code)
        return headings

    def _prune_empty_headings(self, deleted: dict[str, AddendaChange]) -> dict[str, str]:
        """Headings whose every code is now absent, and which received none: absent too,
        up the hierarchy (code -> its title the year before)."""
        parents_of_added = {record.parent for record in self.added.values()}
        pruned: dict[str, str] = {}
        frontier = [code for code in deleted if code in self.absent]
        while frontier:
            code = frontier.pop()
            record = self._before(code)
            parent = self._before(record.parent) if record and record.parent else None
            if (
                parent is None
                or parent.billable
                or parent.kind in ("chapter", "block", "pcs_table")
                or parent.code in pruned
                or parent.code in parents_of_added
            ):
                continue
            siblings = self.store.children(parent.code, self.system, self.previous)
            if all(s.code in self.absent for s in siblings):
                self.absent.add(parent.code)
                self.delta.records[(self.system, parent.code)] = None
                pruned[parent.code] = parent.title
                frontier.append(parent.code)
        return pruned

    def _record_deletion(
        self, code: str, title: str, heading: bool = False, implied: bool = False
    ) -> None:
        self.delta.changes.append(
            CodeChange(
                self.delta.year,
                self.system,
                code,
                "deleted",
                title,
                replaced_by=self._replacements(code),
                heading=heading,
                implied=implied,
            )
        )

    def _replacements(self, code: str) -> tuple[str, ...]:
        """Codes added under `code`, else added codes of the same stem, a placeholder X
        matching any character (T52.8X1A -> T52.811A, T52.821A, T52.891A)."""
        under = sorted(c for c in self.added if c.startswith(code) and c != code)
        if under or "X" not in code[3:]:
            return tuple(under)
        stem = re.compile(
            "".join("." if ch == "X" and i > 3 else re.escape(ch) for i, ch in enumerate(code))
        )
        return tuple(sorted(c for c in self.added if stem.match(c)))
