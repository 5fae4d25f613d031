"""The loaded code set, as review needs it: is a code billable, and what a commit of a code
set would be refused for or warned about (the rules live in `agent.rules`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from agent.models import Setting, System
from agent.rules import Problem, code_problem, code_set_name, commit_problems, resolve_code
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

    def commit_problems(self, codes: Sequence[FinalCode], setting: Setting) -> list[Problem]:
        """Every problem of this code set as it stands, each a blocker or a warning."""
        return commit_problems(codes, setting=setting, store=self.store, kb_release=self.kb_release)
