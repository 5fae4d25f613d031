"""The loaded code set, as review needs it: is a code billable, and what a commit of a code
set would be refused for or warned about (the rules live in `agent.rules`). A codebook
answers for one fiscal year: `for_year` gives the one of a chart's year."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from agent.models import Setting, System
from agent.rules import Problem, code_problem, code_set_name, commit_problems, resolve_code
from retrieval.store import KnowledgeStore
from review.errors import InvalidInput

MAX_REPLACEMENTS = 12


@dataclass(frozen=True)
class FinalCode:
    """One code of the set a commit would create."""

    proposal_id: int
    code: str
    system: System
    title: str
    principal: bool
    origin: str
    action: str  # accept | modify | add


class CodeBook:
    def __init__(self, store: KnowledgeStore, kb_release: str) -> None:
        self.store = store
        self.kb_release = kb_release

    @property
    def year(self) -> int:
        """The fiscal year this codebook answers for."""
        return self.store.year

    @property
    def years(self) -> list[int]:
        return self.store.years()

    @property
    def base_year(self) -> int:
        return self.store.base_year

    def for_year(self, year: int | None) -> CodeBook:
        """The codebook of fiscal `year` (None: this one)."""
        if year is None or year == self.store.bound_year:
            return self
        return CodeBook(self.store.for_year(year), self.kb_release)

    def billable(self, raw: str, *, field: str) -> tuple[str, System, str]:
        """(code, system, title) of a code valid and billable in this year's code set, else
        InvalidInput naming `field`, with the codes of this year that replace it."""
        code, system = resolve_code(raw, self.store)
        label = code_set_name(system, self.kb_release, self.year)
        problem = code_problem(code, system, self.store, label)
        record = self.store.get(code, system)
        if problem is not None or record is None:
            raise InvalidInput(
                problem or f"{raw} is not a code",
                field=field,
                fiscal_year=self.year,
                replacements=self.replacements(code, system),
            )
        return code, system, record.title

    def replacements(self, code: str, system: System) -> list[str]:
        """Billable codes of this year in place of `code`: those the addenda name for a
        deleted code (I42.0 -> I42.00, I42.01, I42.09), the billable codes under a heading,
        and for a code that only a later year has, its nearest ancestor billable now
        (I42.00 in FY2026 -> I42.0)."""
        change = self.store.code_change(code, system, self.year)
        if change is not None and change.replaced_by:
            return [c for c in change.replaced_by if self.store.is_billable(c, system)]
        record = self.store.get(code, system)
        if record is not None:
            return self._billable_under(code, system)
        for year in self.store.years_of(code, system):
            for ancestor in self.store.lineage(code, system, year)[1:]:
                if self.store.is_billable(ancestor.code, system):
                    return [ancestor.code]
        return []

    def _billable_under(self, code: str, system: System) -> list[str]:
        found: list[str] = []
        frontier = [code]
        while frontier and len(found) < MAX_REPLACEMENTS:
            for child in self.store.children(frontier.pop(0), system):
                if child.billable:
                    found.append(child.code)
                else:
                    frontier.append(child.code)
        return sorted(found)[:MAX_REPLACEMENTS]

    def commit_problems(self, codes: Sequence[FinalCode], setting: Setting) -> list[Problem]:
        """Every problem of this code set as it stands, each a blocker or a warning."""
        return commit_problems(codes, setting=setting, store=self.store, kb_release=self.kb_release)
