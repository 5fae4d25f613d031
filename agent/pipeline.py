"""A chart through the whole agent: mentions, candidates, proposer, policy, validation."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from agent.candidates import find_candidates
from agent.chart import coding_year
from agent.lexicon import Lexicon
from agent.mentions import find_mentions
from agent.models import (
    Candidate,
    Chart,
    CodingResult,
    CodingYear,
    Considered,
    Dropped,
    Mention,
    Policy,
    ProposerOutput,
    RunStopped,
    StopCheck,
)
from agent.proposers.base import Proposer, ProposerError
from agent.rules import apply_policy, combine, companions, resolve_code, validate_proposals
from retrieval.search import HybridSearcher

log = logging.getLogger(__name__)


@dataclass
class CodingAgent:
    """Everything one coding run needs, handed in by the edge (api/wiring)."""

    searcher: HybridSearcher
    lexicon: Lexicon
    proposer: Proposer
    fallback: Proposer | None = None

    @property
    def kb_release(self) -> str:
        return str(self.searcher.store.meta().get("release", "unknown"))

    def year_for(self, chart: Chart, year: int | None = None) -> CodingYear:
        """The fiscal year `chart` is coded in: `year` when the caller chose one, else the
        year of its date of service among those the KB holds (FiscalYearError when it holds
        none such; no date: the newest, with a warning)."""
        store = self.searcher.store
        if year is not None:
            return CodingYear(year=store.check_year(year), basis="asked")
        return coding_year(chart.meta, store.years())

    def code(
        self,
        chart: Chart,
        policy: Policy = "claims",
        *,
        year: int | None = None,
        stop: StopCheck | None = None,
    ) -> CodingResult:
        """Proposals for `chart` under `policy` (claims: the Official Guidelines; mentions:
        every concept mentioned, each with its assertion), in the code set of fiscal `year`
        (None: the year of the chart's date of service, see `year_for`). Every lookup,
        search and rule of the run reads that year's code set. `stop` is asked between
        steps; when it gives a reason, the run ends with RunStopped."""
        chosen = self.year_for(chart, year)
        chart = chart.model_copy(update={"fiscal_year": chosen.year})
        result = self._code(chart, policy, self.searcher.for_year(chosen.year), stop)
        for proposal in result.proposals:
            proposal.fiscal_year = chosen.year
        result.fiscal_year, result.coding_year = chosen.year, chosen
        result.warnings += [chosen.warning] if chosen.warning else []
        result.warnings += [
            f"text at offsets {d.start}-{d.end} addresses the software (an instruction, a role "
            "marker or a code list), not the patient: it was not read for codes"
            for d in chart.directed
        ]
        return result

    def _code(
        self, chart: Chart, policy: Policy, searcher: HybridSearcher, stop: StopCheck | None
    ) -> CodingResult:
        timings: dict[str, float] = {}
        started = clock = time.perf_counter()

        def lap(name: str, check: bool = True) -> None:
            nonlocal clock
            now = time.perf_counter()
            timings[name] = round((now - clock) * 1000, 1)
            clock = now
            if check and stop is not None and (why := stop()):
                raise RunStopped(why)

        mentions = find_mentions(chart, self.lexicon)
        lap("mentions")
        candidates = find_candidates(chart, mentions, searcher, self.lexicon, stop)
        lap("candidates")
        output, proposer_name, dropped = self._propose(chart, mentions, candidates, policy)
        lap("propose")
        coded, not_coded = apply_policy(
            output.proposals,
            policy=policy,
            setting=chart.meta.setting,
            proposer=proposer_name,
            searcher=searcher,
            considered=output.considered,
            sentences=chart.sentences,
        )
        if policy == "claims":
            coded, combined = combine(coded, store=searcher.store, proposer=proposer_name)
            coded, alone = companions(
                coded, proposer=proposer_name, chart=chart, store=searcher.store
            )
            not_coded += combined + alone
        proposals, invalid = validate_proposals(
            coded,
            chart=chart,
            store=searcher.store,
            proposer=proposer_name,
            kb_release=self.kb_release,
            model=output.model,
            prompt_version=output.prompt_version,
            policy=policy,
        )
        lap("validate", check=False)
        considered = self._considered(output, {p.code for p in proposals}, searcher)
        timings["total"] = round((time.perf_counter() - started) * 1000, 1)
        return CodingResult(
            proposals=proposals,
            dropped=[*dropped, *not_coded, *invalid],
            considered=considered,
            kb_release=self.kb_release,
            proposer=proposer_name,
            timings_ms=timings,
            usage=output.usage,
        )

    def _considered(
        self, output: ProposerOutput, proposed: set[str], searcher: HybridSearcher
    ) -> list[Considered]:
        """The proposer's below-cut-off codes that are valid and billable and not proposed."""
        found: list[Considered] = []
        for raw in output.considered:
            code, system = resolve_code(raw.code, searcher.store)
            record = searcher.store.get(code, system)
            if code in proposed or record is None or not record.billable:
                continue
            found.append(
                Considered(
                    code=code,
                    system=system,
                    title=record.title,
                    confidence=raw.confidence,
                    evidence=raw.evidence,
                    assertion=raw.assertion,
                )
            )
        return found

    def _propose(
        self, chart: Chart, mentions: list[Mention], candidates: list[Candidate], policy: Policy
    ) -> tuple[ProposerOutput, str, list[Dropped]]:
        try:
            output = self.proposer.propose(chart, mentions, candidates, policy=policy)
            return output, self.proposer.name, []
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
            fallback: ProposerOutput = self.fallback.propose(
                chart, mentions, candidates, policy=policy
            )
            return fallback, self.fallback.name, [note]
