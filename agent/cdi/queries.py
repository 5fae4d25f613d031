"""Physician query drafts for documentation gaps, written as compliant query practice asks
(AHIMA/ACDIS): the chart's clinical indicators quoted, a neutral question, options that
include "other" and "clinically undetermined", and nothing about payment or the DRG."""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent.cdi.model import Gap, Indicator

OTHER = "Other (please specify)"
UNDETERMINED = "Clinically undetermined"
# Words a query may never hold: the DRG effect is shown to the coder, never to the physician.
_PAYMENT = re.compile(
    r"\b(?:DRGs?|MS-DRG|MCCs?|CCs?|reimburs\w*|payments?|paid|pay|revenue|dollars?|financial|"
    r"case mix|severity of illness|risk of mortality|SOI|ROM|audit\w*)\b|\$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class QueryDraft:
    """A query a CDI specialist edits and sends; `code` is the unspecific proposal."""

    kind: str
    code: str
    topic: str
    indicators: tuple[Indicator, ...]
    question: str
    options: tuple[str, ...]

    def text(self) -> str:
        """The query as the physician reads it."""
        lines = [f"Clinical indicators in the record ({self.topic}):"]
        lines += [f'- {i.what}: "{i.evidence.quote}"' for i in self.indicators]
        lines += ["", self.question, ""]
        lines += [f"[ ] {option}" for option in self.options]
        return "\n".join(lines)


def draft_query(gap: Gap) -> QueryDraft:
    options = tuple(o for o in gap.kind.options if o not in (OTHER, UNDETERMINED))
    return QueryDraft(
        kind=gap.kind.name,
        code=gap.code,
        topic=gap.kind.topic,
        indicators=gap.indicators,
        question=gap.kind.question,
        options=(*options, OTHER, UNDETERMINED),
    )


def compliance_problems(draft: QueryDraft, chart_text: str) -> list[str]:
    """What makes a draft non-compliant, each said plainly (none: it may be sent)."""
    problems = []
    if not draft.indicators:
        problems.append("no clinical indicator from the record")
    for indicator in draft.indicators:
        span = indicator.evidence
        if chart_text[span.start : span.end] != span.quote:
            problems.append(f"indicator {span.quote!r} is not the chart's text at {span.start}")
    for required in (OTHER, UNDETERMINED):
        if required not in draft.options:
            problems.append(f"the options lack {required!r}")
    if len(draft.options) < 3:
        problems.append("a query offers at least two clinical options besides the two above")
    for where, text in (("question", draft.question), *(("option", o) for o in draft.options)):
        found = _PAYMENT.search(text)
        if found:
            problems.append(f"the {where} mentions payment or grouping ({found.group()!r})")
    return problems
