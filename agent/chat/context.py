"""A chat context for a chart in the fiscal year it was coded in: the review service builds
one from a stored chart (review/chat_context.py), the CLI from a coding result."""

from __future__ import annotations

from collections.abc import Sequence

from agent.chat.model import ChatContext, DroppedView, ProposalView
from agent.lookup import find_codes
from agent.models import Chart, CodingResult
from agent.pipeline import CodingAgent
from retrieval.search import Hit


def chat_context(
    agent: CodingAgent,
    chart: Chart,
    *,
    year: int | None,
    proposals: Sequence[ProposalView] = (),
    dropped: Sequence[DroppedView] = (),
) -> ChatContext:
    """The context over `agent`'s knowledge base in fiscal `year` (None: the year of the
    chart's date of service), so the chat reads the code set the proposals were checked in."""
    chosen = year if year is not None else agent.year_for(chart).year
    searcher = agent.searcher.for_year(chosen)

    def codes_for(phrase: str) -> list[Hit]:
        return find_codes(agent, phrase, year=chosen)

    return ChatContext(
        lexicon=agent.lexicon,
        chart=chart.model_copy(update={"fiscal_year": chosen}),
        store=searcher.store,
        searcher=searcher,
        find_codes=codes_for,
        proposals=list(proposals),
        dropped=list(dropped),
    )


def result_context(agent: CodingAgent, chart: Chart, result: CodingResult) -> ChatContext:
    """The context of a chart just coded (nothing decided yet: every proposal pending)."""
    proposals = [
        ProposalView(
            code=p.code,
            system=p.system,
            title=p.title,
            # The agent lists the principal / first-listed diagnosis first.
            principal=n == 0 and p.system == "cm",
            confidence=p.confidence,
            rationale=p.rationale,
            evidence=list(p.evidence),
            citations=list(p.citations),
            warnings=list(p.warnings),
        )
        for n, p in enumerate(result.proposals)
    ]
    dropped = [DroppedView(code=d.code, reason=d.reason) for d in result.dropped]
    return chat_context(agent, chart, year=result.fiscal_year, proposals=proposals, dropped=dropped)
