"""Clinical documentation integrity: gaps in the documentation that keep a proposed code
unspecific, with the clinical indicators the chart holds, and compliant query drafts."""

from agent.cdi.gaps import find_gaps
from agent.cdi.kinds import GAP_KINDS
from agent.cdi.model import Gap, GapKind, Indicator
from agent.cdi.queries import (
    OTHER,
    UNDETERMINED,
    QueryDraft,
    compliance_problems,
    draft_query,
)

__all__ = [
    "GAP_KINDS",
    "OTHER",
    "UNDETERMINED",
    "Gap",
    "GapKind",
    "Indicator",
    "QueryDraft",
    "compliance_problems",
    "draft_query",
    "find_gaps",
]
