"""The one interface every proposer implements (offline rules, LLM, test fakes)."""

from __future__ import annotations

from typing import Protocol

from agent.models import Candidate, Chart, Mention, Policy, ProposerOutput


class ProposerError(RuntimeError):
    """The proposer could not produce an answer (model down, timed out, unusable output)."""


class Proposer(Protocol):
    """Turns a chart, its mentions and their candidate codes into raw (unvalidated) proposals.

    Whatever it returns is checked by `agent.rules.validate_proposals` before anyone sees it.
    """

    name: str

    def propose(
        self,
        chart: Chart,
        mentions: list[Mention],
        candidates: list[Candidate],
        *,
        policy: Policy = "claims",
    ) -> ProposerOutput:
        """`policy` is the coding policy the proposals are for; a learned proposer may weigh
        candidates by it (its training labels follow one convention or the other)."""
        ...
