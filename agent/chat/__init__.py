"""Chat about a chart: questions answered from the chart, its proposals and the knowledge
base, every citation checked by the service before it is shown.

- `answer_offline(question, context, history)` the deterministic answerer (no model)
- `verify(answer, context)` drops citations that do not check out and says so
- `tools` the lookups both answerers use (search the chart, read a proposal, a code, ...)
"""

from agent.chat.model import (
    ChartQuote,
    ChatAnswer,
    ChatCitation,
    ChatContext,
    DroppedView,
    KbSource,
    ProposalView,
    QuestionKind,
    RuleSource,
    Turn,
)
from agent.chat.offline import answer_offline
from agent.chat.verify import verify

__all__ = [
    "ChartQuote",
    "ChatAnswer",
    "ChatCitation",
    "ChatContext",
    "DroppedView",
    "KbSource",
    "ProposalView",
    "QuestionKind",
    "RuleSource",
    "Turn",
    "answer_offline",
    "verify",
]
