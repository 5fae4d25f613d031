"""A chart through the whole agent: mentions, candidates, proposer, validation."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from agent.candidates import History, find_candidates
from agent.lexicon import Lexicon
from agent.mentions import find_mentions
from agent.models import Candidate, Chart, CodingResult, Dropped, Mention, ProposerOutput
from agent.proposers.base import Proposer, ProposerError
from agent.validate import validate_proposals
from retrieval.search import HybridSearcher

log = logging.getLogger(__name__)


@dataclass
class CodingAgent:
    """Everything one coding run needs, handed in by the edge (api/wiring)."""

    searcher: HybridSearcher
    lexicon: Lexicon
    proposer: Proposer
    fallback: Proposer | None = None
    history: History | None = None

    @property
    def kb_release(self) -> str:
        return str(self.searcher.store.meta().get("release", "unknown"))

    def code(self, chart: Chart) -> CodingResult:
        timings: dict[str, float] = {}
        started = clock = time.perf_counter()

        def lap(name: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            timings[name] = round((now - clock) * 1000, 1)
            clock = now

        mentions = find_mentions(chart, self.lexicon)
        lap("mentions")
        candidates = find_candidates(chart, mentions, self.searcher, self.history)
        lap("candidates")
        output, proposer_name, dropped = self._propose(chart, mentions, candidates)
        lap("propose")
        proposals, invalid = validate_proposals(
            output.proposals,
            chart=chart,
            store=self.searcher.store,
            proposer=proposer_name,
            kb_release=self.kb_release,
            model=output.model,
            prompt_version=output.prompt_version,
        )
        lap("validate")
        timings["total"] = round((time.perf_counter() - started) * 1000, 1)
        return CodingResult(
            proposals=proposals,
            dropped=[*dropped, *invalid],
            kb_release=self.kb_release,
            proposer=proposer_name,
            timings_ms=timings,
            usage=output.usage,
        )

    def _propose(
        self, chart: Chart, mentions: list[Mention], candidates: list[Candidate]
    ) -> tuple[ProposerOutput, str, list[Dropped]]:
        try:
            return self.proposer.propose(chart, mentions, candidates), self.proposer.name, []
        except ProposerError as error:
            if self.fallback is None:
                raise
            # The failure is recorded for the coder; the chart text never goes to the log.
            log.warning(
                "proposer %s failed (%s); using %s",
                self.proposer.name,
                type(error).__name__,
                self.fallback.name,
            )
            note = Dropped(
                code="*",
                reason=f"{self.proposer.name} proposer failed: {error}; "
                f"fell back to {self.fallback.name}",
                proposer=self.proposer.name,
            )
            output: ProposerOutput = self.fallback.propose(chart, mentions, candidates)
            return output, self.fallback.name, [note]
