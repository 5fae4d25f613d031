"""The addenda suite: every code a later fiscal year's CM addenda add is searchable and
validates for a chart dated in that year, and is refused for a chart dated the day before the
year began; every code they delete the other way round.

Each check is a case (a chart whose text is the code's title, dated in one year or the
other) coded by `AddendaChecker`, which proposes the code when hybrid search over the chart's
year finds it and the validation gate passes it, so the usual runner, scores, reports and
comparisons apply: recall is the share of codes found and valid in their year,
`must_not_proposed` the share wrongly valid in the other.
"""

from __future__ import annotations

from datetime import date

from agent.chart import coding_year
from agent.models import (
    Chart,
    ChartMeta,
    Citation,
    CodingResult,
    Dropped,
    Policy,
    RawProposal,
    Span,
)
from agent.rules import validate_proposals
from evals.suite import Case, GoldCode, Suite, SuiteError
from retrieval.search import HybridSearcher
from retrieval.store import KnowledgeStore

SEARCH_K = 10  # "searchable": among the first ten billable hits for its title
NAME = "addenda"


def _dated(day: date) -> ChartMeta:
    return ChartMeta(setting="outpatient", encounter_date=day)


def addenda_suite(store: KnowledgeStore, limit: int | None = None) -> Suite:
    """Two cases per CM code each later year held adds or deletes: one dated 15 November of
    that fiscal year, one 15 September just before it (FY2027: 2026-11-15 and 2026-09-15)."""
    later = [y for y in store.years() if y != store.base_year]
    if not later:
        raise SuiteError(f"{NAME}: this knowledge base holds one fiscal year; no addenda")
    cases: list[Case] = []
    for year in later:
        inside, before = date(year - 1, 11, 15), date(year - 1, 9, 15)
        for change in store.changes(year - 1, year):
            if change.system != "cm" or change.action not in ("added", "deleted"):
                continue
            if change.implied:  # a heading emptied by deletions: never a billable code
                continue
            valid, invalid = (inside, before) if change.action == "added" else (before, inside)
            for day in (valid, invalid):
                gold = [GoldCode(code=change.code, system="cm")] if day == valid else []
                cases.append(
                    Case(
                        case_id=f"{change.action}:{change.code}:{day.isoformat()}",
                        text=change.title,
                        meta=_dated(day),
                        gold=gold,
                        must_not=[] if day == valid else [change.code],
                    )
                )
    cases = cases if limit is None else cases[:limit]
    return Suite(
        name=NAME,
        source=f"the CM addenda of FY{', FY'.join(map(str, later))} as the knowledge base "
        f"applied them: {len(cases)} checks",
        cases=cases,
        systems=("cm",),
        year=None,  # each case in the year of its date
    )


class AddendaChecker:
    """Stands in for the coding agent on the addenda suite: proposes the case's code when it
    is searchable and validates in the year of the chart's date."""

    name = "addenda-check"

    def __init__(self, searcher: HybridSearcher) -> None:
        self.searcher = searcher
        self.proposer = self  # the runner records `agent.proposer.name`

    @property
    def kb_release(self) -> str:
        return str(self.searcher.store.meta().get("release", "unknown"))

    def code(
        self, chart: Chart, policy: Policy = "claims", *, year: int | None = None
    ) -> CodingResult:
        store = self.searcher.store
        chosen = year if year is not None else coding_year(chart.meta, store.years()).year
        searcher = self.searcher.for_year(chosen)
        code = (chart.chart_id or "::").split(":")[1]
        raw = RawProposal(
            code=code,
            evidence=[Span(start=0, end=len(chart.text), quote=chart.text)],
            citations=[Citation(source_id=f"tabular:{code}")],
            confidence=1.0,
        )
        # Validation runs whether or not search finds the code: a code of another year must
        # be refused by the gate itself, not only be missing from the search.
        proposals, dropped = validate_proposals(
            [raw],
            chart=chart.model_copy(update={"fiscal_year": chosen}),
            store=searcher.store,
            proposer=self.name,
            kb_release=self.kb_release,
            policy=policy,
        )
        hits = searcher.search(chart.text, k=SEARCH_K, system="cm", billable_only=True)
        if proposals and code not in [h.code for h in hits]:
            reason = f"not among the first {SEARCH_K} billable FY{chosen} hits for its title"
            proposals, dropped = [], [Dropped(code=code, reason=reason, proposer=self.name)]
        for proposal in proposals:
            proposal.fiscal_year = chosen
        return CodingResult(
            proposals=proposals,
            dropped=dropped,
            kb_release=self.kb_release,
            proposer=self.name,
            fiscal_year=chosen,
        )
