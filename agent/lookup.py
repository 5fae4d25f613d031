"""Find the code for a phrase the way the agent codes a chart ("broken hip, first visit",
"h/o breast CA", "lap appy").

Hybrid search ranks texts that resemble the phrase; a coder instead reads the phrase as a
diagnostic statement: the Alphabetic Index and its default codes, the PCS tables, status and
history cues, abbreviations, all weighed by the learned ranker. So the phrase is coded as a
one-line chart under the claims policy; its proposals and the codes the agent weighed below
its cut-off come first, by confidence, then search hits fill the list. Every result is a
billable code of the year asked. A phrase typed without capitals ("cad", "s/p l tka") is
read again with its acronyms in capitals; those codes follow the agent's codes for the
phrase as typed and come before search hits.
"""

from __future__ import annotations

from agent.chart import build_chart
from agent.models import ChartMeta, Setting, System
from agent.pipeline import CodingAgent
from agent.rules import HistoryKind, history_code
from retrieval.search import Hit, HybridSearcher, check_query

_HISTORY_KINDS: dict[str, HistoryKind] = {"historical": "personal", "family": "family"}
# Where a lookup result came from, in `Hit.ranks` (the searcher's own lists are named there).
AGENT_RANK = "agent"


def find_codes(
    agent: CodingAgent,
    phrase: str,
    *,
    system: System | None = None,
    k: int = 10,
    year: int | None = None,
    # Inpatient: the setting in which both code sets apply (PCS is inpatient only).
    setting: Setting = "inpatient",
) -> list[Hit]:
    """The k likeliest billable codes of `system` (None: either) for `phrase` in fiscal
    `year` (None: the searcher's own, as `search` takes it), best first: the agent's codes
    (`score` is its confidence), then search hits (`score` is the fused search score)."""
    phrase = check_query(phrase)
    coded_year = agent.searcher.store.year if year is None else year
    searcher = agent.searcher.for_year(coded_year)
    # A search box is typed in lower case: "cad" is read as written, then as "CAD". The
    # agent's codes for the phrase as written come first ("di george syndrome" is D82.1, not
    # DI, diabetes insipidus), then those of the acronym reading, then search hits; when the
    # phrase as written gives the agent nothing, the acronym reading leads ("cad" is I25.10,
    # and "hit by a car" reads HIT).
    readings = dict.fromkeys([phrase, agent.lexicon.with_acronyms(phrase)])
    weighed = [
        item
        for reading in readings
        for item in sorted(
            _weighed(agent, searcher, reading, setting=setting, year=coded_year),
            key=lambda item: -item[0],
        )
    ]
    hits: dict[str, Hit] = {}
    for rank, (confidence, code, code_system, source) in enumerate(weighed):
        record = searcher.store.get(code, code_system, coded_year)
        if code in hits or record is None or not record.billable:
            continue
        if system and code_system != system:
            continue
        hits[code] = Hit(
            code=code,
            title=record.title,
            score=confidence,
            source=source or record.source_id,
            system=code_system,
            billable=True,
            matched=phrase,
            ranks={AGENT_RANK: rank},
        )
    if len(hits) < k:
        for hit in searcher.search(phrase, k=k, system=system, billable_only=True, year=coded_year):
            if hit.code and hit.code not in hits:
                hits[hit.code] = hit
    return list(hits.values())[:k]


def _weighed(
    agent: CodingAgent, searcher: HybridSearcher, phrase: str, *, setting: Setting, year: int
) -> list[tuple[float, str, System, str]]:
    """(confidence, code, system, cited source) of what the agent proposed and weighed for
    `phrase` coded as a one-line chart."""
    result = agent.code(build_chart(phrase, ChartMeta(setting=setting)), year=year)
    weighed = [
        (p.confidence, p.code, p.system, p.citations[0].source_id if p.citations else "")
        for p in result.proposals
    ]
    for considered in result.considered:
        code, source = considered.code, ""
        if considered.assertion in _HISTORY_KINDS and considered.system == "cm":
            # Below the cut-off the claims policy has not turned a past or a relative's
            # condition into its history code yet ("h/o breast CA" is Z85.3, not C50.919).
            record = searcher.store.get(considered.code, "cm")
            kind = _HISTORY_KINDS[considered.assertion]
            found = history_code(searcher, record, phrase, kind) if record else None
            if found is not None:
                code, source = found.record.code, found.citation.source_id
        weighed.append((considered.confidence, code, considered.system, source))
    return weighed
