"""Documentation gaps: a proposed code the documentation leaves unspecific, beside clinical
indicators in the chart that a more specific diagnosis may explain.

Each kind of gap names the codes that show it (the unspecified code a coder would otherwise
assign), the indicators looked for (lab values, findings, treatments, quoted with their
offsets) and how many are needed before a query is worth a physician's time."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from agent.cdi.kinds import GAP_KINDS
from agent.cdi.laterality import laterality_gap
from agent.cdi.model import Gap, Indicator
from agent.models import Span


def find_gaps(
    text: str, codes: Iterable[str], titles: Mapping[str, str] | None = None
) -> list[Gap]:
    """The gaps the proposed `codes` show in a chart whose text holds enough indicators;
    with the codes' `titles`, also a side left unspecified that the chart does not settle."""
    proposed = list(dict.fromkeys(codes))
    found = []
    sided = (laterality_gap(text, c, (titles or {}).get(c, "")) for c in proposed)
    # One laterality query per chart: it quotes every side in question.
    found += [gap for gap in sided if gap is not None][:1]
    for kind in GAP_KINDS:
        shown = next((c for c in proposed if kind.shown_by(c)), None)
        if shown is None or any(c.startswith(kind.unless) for c in proposed if kind.unless):
            continue
        if kind.beside and not any(c.startswith(kind.beside) for c in proposed):
            continue
        indicators = _indicators(text, kind.indicators)
        if len({i.what for i in indicators}) >= kind.minimum and indicators:
            found.append(Gap(kind, shown, tuple(indicators)))
    return found


def _indicators(text: str, patterns: Sequence[tuple[str, re.Pattern[str]]]) -> list[Indicator]:
    found: list[Indicator] = []
    for what, pattern in patterns:
        for match in pattern.finditer(text):
            quote = match.group().strip()
            start = match.start() + match.group().index(quote)
            span = Span(start=start, end=start + len(quote), quote=quote)
            found.append(Indicator(what, span))
            if sum(1 for i in found if i.what == what) >= 3:
                break
    return sorted(found, key=lambda i: i.evidence.start)
