"""The loaded code set, as review needs it: is a code billable, and what blocks a commit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from agent.code_checks import code_problem, code_set_name, resolve_code
from agent.conventions import excludes1_with, missing_code_first
from agent.models import Setting, System
from agent.validate import principal_blocker
from retrieval.store import KnowledgeStore
from review.errors import InvalidInput


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

    def billable(self, raw: str, *, field: str) -> tuple[str, System, str]:
        """(code, system, title) of a valid, billable code, else InvalidInput naming `field`."""
        code, system = resolve_code(raw, self.store)
        problem = code_problem(code, system, self.store, code_set_name(system, self.kb_release))
        record = self.store.get(code, system)
        if problem is not None or record is None:
            raise InvalidInput(problem or f"{raw} is not a code", field=field)
        return code, system, record.title

    def blocking_edits(self, codes: Sequence[FinalCode], setting: Setting) -> list[str]:
        """Why this code set cannot be committed as it stands (empty when it can)."""
        problems = [p for c in codes if (p := self._invalid(c))]
        diagnoses = [c for c in codes if c.system == "cm" and not self._invalid(c)]
        notes = {c.code: self.store.notes_with_inherited(c.code) for c in diagnoses}
        names = [c.code for c in diagnoses]
        for i, first in enumerate(names):
            for other in names[i + 1 :]:
                if (note := excludes1_with(first, other, notes)) is not None:
                    problems.append(
                        f"Excludes1 conflict: {first} and {other} are never coded together "
                        f"(note at {note.defined_at}); reject or modify one of them"
                    )
        for final in diagnoses:
            record = self.store.get(final.code, "cm")
            assert record is not None
            for missing in missing_code_first(record, [n for n in names if n != final.code], notes):
                problems.append(f"{final.code}: {missing}")
        problems.extend(self._principal_problems(diagnoses, setting))
        return problems

    def _invalid(self, final: FinalCode) -> str | None:
        label = code_set_name(final.system, self.kb_release)
        return code_problem(final.code, final.system, self.store, label)

    def _principal_problems(self, diagnoses: Sequence[FinalCode], setting: Setting) -> list[str]:
        principal = [c for c in diagnoses if c.principal]
        if not principal:
            return [
                "principal diagnosis missing: mark one accepted diagnosis as principal "
                "(first-listed for outpatients)"
            ]
        record = self.store.get(principal[0].code, "cm")
        assert record is not None
        blocker = principal_blocker(record, self.store.mce_edits(record.code), setting)
        return [f"{record.code} cannot be principal: {blocker}"] if blocker else []
