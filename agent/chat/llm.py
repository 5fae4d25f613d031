"""The LLM answerer: a chat question answered by a model in a tool-calling conversation over
the same lookups the offline answerer makes, and checked like it.

One question is one conversation: the system instructions (prompts/chat_v1.md), then one
user message holding the encounter, the chart's proposals, the earlier turns, the chart as
delimited data (sentences addressed to the software blanked, cut to the prompt budget) and
the question. Tool calls are answered and sent back; a reply that is not the JSON answer is
asked for again once. Tool rounds and that repair come out of one budget, `max_tool_rounds`,
and the last call of the budget is made without tools, so the model has to answer.

Nothing in the reply is trusted: a chart quote is moved to where the chart really has it
(only near where the model said), a quote inside a sentence addressed to the software is
refused, and `agent.chat.verify` removes whatever does not check out and says so. The kind
of the answer comes from `agent.chat.intent.classify`, as offline, so follow-ups read every
answer alike.

With a de-identifier the whole conversation runs against a scrubbed twin of the context
(`agent.chat.shown`): the model reads and quotes only scrubbed text, and its chart quotes are
taken back to the real chart before they are checked.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import openai
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.runnables import Runnable
from langchain_core.utils.function_calling import convert_to_openai_tool

from agent.chat.answerer import ChatEvent
from agent.chat.intent import Question, classify, codes_in
from agent.chat.llm_tools import ChatTools
from agent.chat.model import (
    ChartQuote,
    ChatAnswer,
    ChatCitation,
    ChatContext,
    KbSource,
    RuleSource,
    Turn,
)
from agent.chat.shown import Shown, as_is, scrubbed
from agent.chat.verify import verify
from agent.citations import verify_span
from agent.deid import Scrubbed
from agent.mentions import span_flags
from agent.models import Span
from agent.proposers.base import ProposerError
from agent.proposers.llm import MODEL_ERRORS, Meter, reply_text
from agent.proposers.llm_parse import FENCE, THINKING, MalformedAnswer
from agent.proposers.llm_prompt import count_tokens, marker_for, metadata_text, without_directed
from prompts import Prompt, load_prompt

PROMPT_NAME = "chat_v1"
# A quote is moved to where the chart really has it only within this many characters of
# the offsets the model gave: farther off, it may be another occurrence in another context
# (the negated or family-history one), so it is refused rather than guessed.
ANCHOR_WINDOW = 200
# A quarter of the prompt budget is kept for tool results, the repair turn and the answer's
# own framing; the chart gets what is left after the instructions.
RESERVE_SHARE = 4
MIN_CHART_TOKENS = 100
# What a chat template adds around each message (role tokens, separators), counted so the
# budget holds on the server too.
MESSAGE_OVERHEAD = 4
# Room for the short turns appended after tool results (last-round and repair requests).
SLACK_TOKENS = 80
MIN_RESULT_TOKENS = 24
MAX_HISTORY = 4
MAX_HISTORY_CHARS = 600
MAX_LISTED = 60
MAX_LABEL = 80
# httpx errors can surface unwrapped while a stream is read.
CALL_ERRORS = (*MODEL_ERRORS, httpx.HTTPError)

REPAIR = (
    "Your reply could not be used: {error}. Reply again with only the JSON object in the "
    'required schema {{"answer": "...", "citations": [...], "codes": [...]}}: no prose, '
    "no Markdown, no code fences."
)
LAST_ROUND = "No more tool calls are available. Reply now with the JSON object only."
WHOLE_CHART = "The whole chart is below."
CUT_CHART = (
    "The chart is long: only its first {shown} of {total} characters are below, cut to fit "
    "the prompt. search_chart reads the whole chart; use it for anything not shown below."
)
CUT_RESULT = " ...[cut to fit the prompt budget]"


class LlmAnswerer:
    """Answers chat questions with a chat model; its answers are checked, never trusted.

    Takes its collaborators as arguments (the model from
    `agent.proposers.llm.make_chat_model`); the knowledge base it reads is the one of each
    question's context.

    With `deidentifier` (`agent.deid.deidentify`) nothing identifying reaches the model: the
    chart, the metadata lines, the question, the history, the proposals and every tool
    result quoting the chart are scrubbed, and the model's chart quotes come back as quotes
    of the real chart. The answer's own text is the model's, so it may hold placeholders
    ("seen on [DATE]"); that is accepted, the citations show the real words. A de-identifier
    that fails fails the answer (ProposerError) before anything is sent."""

    name = "llm"

    def __init__(
        self,
        model: BaseChatModel,
        *,
        model_name: str,
        prompt: Prompt | None = None,
        max_tool_rounds: int = 2,
        max_prompt_tokens: int = 12000,
        price_per_1k: tuple[float, float] = (0.0, 0.0),
        deidentifier: Callable[[str], Scrubbed] | None = None,
    ) -> None:
        self.model = model
        self.model_name = model_name
        self.prompt = prompt or load_prompt(PROMPT_NAME)
        self.max_tool_rounds = max(0, max_tool_rounds)
        self.max_prompt_tokens = max_prompt_tokens
        self.price_per_1k = price_per_1k
        self.deidentifier = deidentifier

    def answer(self, question: str, context: ChatContext, history: list[Turn]) -> ChatAnswer:
        """The whole answer, verified; ProposerError when the model cannot give one."""
        run = self._run(question, context, history, streaming=False)
        while True:
            try:
                next(run)
            except StopIteration as done:
                return done.value

    def stream(
        self, question: str, context: ChatContext, history: list[Turn]
    ) -> Iterator[ChatEvent]:
        """Token events of the answer's text as the model writes it, then one final event
        with the verified answer. Tokens only ever extend what was sent, and the last token
        brings the text up to the final answer's (the note of a removed citation included)."""
        run = self._run(question, context, history, streaming=True)
        while True:
            try:
                piece = next(run)
            except StopIteration as done:
                yield ChatEvent.final(done.value)
                return
            yield ChatEvent.token(piece)

    # ------------------------------------------------------------------ the conversation

    def _run(
        self, question: str, context: ChatContext, history: list[Turn], *, streaming: bool
    ) -> Generator[str, None, ChatAnswer]:
        """The conversation; yields pieces of the answer text (streaming only), returns the
        verified answer."""
        asked = classify(question, history)
        shown = self._shown(question, asked, context, history)
        tools = ChatTools(shown.context)
        tool_tokens = sum(
            count_tokens(json.dumps(convert_to_openai_tool(tool))) for tool in tools.tools
        )
        messages = self._messages(shown, tool_tokens)
        meter = Meter(self.price_per_1k)
        echo = _Echo()
        spare = self.max_tool_rounds
        with_tools: Runnable[Any, Any] = self.model.bind_tools(tools.tools) if spare else self.model
        while True:
            final = spare == 0
            model: Runnable[Any, Any] = self.model if final else with_tools
            if streaming:
                reply = yield from self._stream_call(model, messages, meter, echo)
            else:
                reply = self._call(model, messages, meter)
            calls = reply.tool_calls or reply.invalid_tool_calls
            if calls and not final:
                results = tools.answer(reply.tool_calls, reply.invalid_tool_calls)
                messages.append(reply)
                messages += self._fit_results(messages, results, tool_tokens)
                spare -= 1
                if spare == 0:
                    messages.append(HumanMessage(content=LAST_ROUND))
                continue
            text = reply_text(reply)
            if calls and not text.strip():
                raise ProposerError("the model asked for tools after its tool rounds were used")
            try:
                parsed = parse_reply(text)
            except MalformedAnswer as exc:
                if final:
                    raise ProposerError(f"the model's answer is unusable: {exc}") from exc
                room = self._room(messages, tool_tokens) // 2
                messages += [
                    AIMessage(content=_cut(text, room)),
                    HumanMessage(content=REPAIR.format(error=exc)),
                ]
                spare -= 1
                continue
            answer = self._checked(parsed, asked, context, shown, meter)
            rest = echo.extend(answer.text)
            if rest:
                yield rest
            return answer

    def _call(
        self, model: Runnable[Any, Any], messages: list[BaseMessage], meter: Meter
    ) -> AIMessage:
        """One model call; the client's own timeout and retries have run when this fails."""
        try:
            reply = model.invoke(list(messages))
        except CALL_ERRORS as exc:
            raise _failed(exc) from exc
        if not isinstance(reply, AIMessage):
            raise ProposerError(f"the model returned {type(reply).__name__}, not a message")
        meter.add(messages, reply)
        return reply

    def _stream_call(
        self,
        model: Runnable[Any, Any],
        messages: list[BaseMessage],
        meter: Meter,
        echo: _Echo,
    ) -> Generator[str, None, AIMessage]:
        """One streamed model call. Every call streams, since only the reply shows whether
        it is the answer; a tool round's reply has no answer text, so it yields nothing."""
        field = AnswerField()
        total: AIMessageChunk | None = None
        whole: AIMessage | None = None
        try:
            for chunk in model.stream(list(messages)):
                if isinstance(chunk, AIMessageChunk):
                    total = chunk if total is None else total + chunk
                elif isinstance(chunk, AIMessage):  # a model that cannot stream answers whole
                    whole = chunk
                else:
                    raise ProposerError(f"the model streamed {type(chunk).__name__}")
                piece = echo.extend(field.feed(reply_text(chunk)))
                if piece:
                    yield piece
        except CALL_ERRORS as exc:
            raise _failed(exc) from exc
        if total is not None:
            # A plain message from the joined chunks: tool calls parsed, ready for the history.
            whole = AIMessage(
                content=total.content,
                tool_calls=total.tool_calls,
                invalid_tool_calls=total.invalid_tool_calls,
                usage_metadata=total.usage_metadata,
                id=total.id,
            )
        if whole is None:
            raise ProposerError("the model's stream ended without a reply")
        meter.add(messages, whole)
        return whole

    # ------------------------------------------------------------------ the prompt

    def _shown(
        self, question: str, asked: Question, context: ChatContext, history: list[Turn]
    ) -> Shown:
        """What the model is shown: as it is, or the scrubbed twin."""
        recent = history[-MAX_HISTORY:]
        metadata, reading = metadata_text(context.chart), _reading(asked)
        if self.deidentifier is None:
            return as_is(question.strip(), context, recent, metadata, reading)
        return scrubbed(question.strip(), context, recent, metadata, reading, self.deidentifier)

    def _messages(self, shown: Shown, tool_tokens: int) -> list[BaseMessage]:
        """System instructions and the one user message, the chart cut to the budget."""
        context = shown.context
        chart = context.chart
        values = {
            "metadata": shown.metadata,
            "proposals": _proposals_text(context),
            "history": _history_text(shown.history),
            "reading": shown.reading,
            "question": shown.question,
            # The longest note with the chart left out: what the frame costs at most.
            "part": CUT_CHART.format(shown=len(chart.text), total=len(chart.text)),
            "marker": marker_for(""),
            "chart": "",
        }
        system = SystemMessage(content=self.prompt.render("system", {}))
        frame = [system, HumanMessage(content=self.prompt.render("user", values))]
        budget = self.max_prompt_tokens
        room = budget - budget // RESERVE_SHARE - message_tokens(frame) - tool_tokens
        if room < MIN_CHART_TOKENS:
            raise ProposerError(
                f"max_prompt_tokens={budget} leaves {room} tokens for the chart after the "
                "instructions, proposals, history and question; raise it"
            )
        end = _fitting_end(context, room)
        text = without_directed(chart, 0, end)
        values["part"] = (
            WHOLE_CHART
            if end == len(chart.text)
            else CUT_CHART.format(shown=end, total=len(chart.text))
        )
        values["marker"] = marker_for(text)
        values["chart"] = text
        return [system, HumanMessage(content=self.prompt.render("user", values))]

    def _room(self, messages: Sequence[BaseMessage], tool_tokens: int) -> int:
        return self.max_prompt_tokens - message_tokens(messages) - tool_tokens - SLACK_TOKENS

    def _fit_results(
        self, messages: list[BaseMessage], results: list[ToolMessage], tool_tokens: int
    ) -> list[ToolMessage]:
        """Tool results cut to an equal share of what the budget has left."""
        share = self._room(messages, tool_tokens) // max(1, len(results)) - MESSAGE_OVERHEAD
        fitted = []
        for result in results:
            content = str(result.content)
            if count_tokens(content) > share:
                content = (
                    _cut(content, share - count_tokens(CUT_RESULT)) + CUT_RESULT
                    if share >= MIN_RESULT_TOKENS
                    else json.dumps({"error": "no room left in the prompt for this result"})
                )
            fitted.append(ToolMessage(content=content, tool_call_id=result.tool_call_id))
        return fitted

    # ------------------------------------------------------------------ the answer

    def _checked(
        self, parsed: Reply, asked: Question, context: ChatContext, shown: Shown, meter: Meter
    ) -> ChatAnswer:
        """The answer with its citations read in what the model was shown, chart quotes
        taken back to the real chart, and verified against the real context."""
        citations: list[ChatCitation] = []
        for item in parsed.citations:
            citation = in_chart(read_citation(item, shown.context), context, shown)
            # Each refused citation counts; a repeated good one is shown once.
            if citation not in citations or _is_refused(citation):
                citations.append(citation)
        codes = codes_in(" ".join(parsed.codes)) or asked.codes
        phrase = asked.subject if asked.kind in ("find_code", "find_in_chart") else None
        answer = ChatAnswer(
            kind=asked.kind,
            text=parsed.answer,
            citations=citations,
            codes=codes,
            phrase=phrase or None,
            refused=parsed.refused,
            answerer=self.name,
            model=self.model_name,
            prompt_version=self.prompt.version,
            usage=meter.usage(),
        )
        return verify(answer, context)


def _failed(exc: BaseException) -> ProposerError:
    """The error of a failed call, its reason first (the client's retries have run)."""
    if isinstance(exc, openai.APITimeoutError | httpx.TimeoutException):
        reason = "timed out"
    elif isinstance(exc, openai.APIStatusError):
        reason = f"HTTP {exc.status_code}"
    elif isinstance(exc, openai.APIConnectionError | httpx.TransportError):
        reason = "the server could not be reached"
    else:
        reason = "unexpected error"
    return ProposerError(f"the chat model call failed ({reason}): {type(exc).__name__}: {exc}")


def message_tokens(messages: Sequence[BaseMessage]) -> int:
    """Prompt tokens of `messages` as sent: contents, tool calls and each message's frame."""
    total = 0
    for message in messages:
        content = message.content
        text = content if isinstance(content, str) else json.dumps(content)
        calls = getattr(message, "tool_calls", None)
        total += count_tokens(text + (json.dumps(calls) if calls else "")) + MESSAGE_OVERHEAD
    return total


def _cut(text: str, tokens: int) -> str:
    """The longest start of `text` within `tokens` tokens."""
    if count_tokens(text) <= tokens:
        return text
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if count_tokens(text[:middle]) <= tokens:
            low = middle
        else:
            high = middle - 1
    return text[:low]


def _fitting_end(context: ChatContext, tokens: int) -> int:
    """Where the chart is cut to fit `tokens`: its end when it fits, else the last sentence
    or line end before the cut (offsets from the start stay valid)."""
    chart = context.chart
    end = len(_cut(chart.text, tokens))
    if end == len(chart.text):
        return end
    sentence = max((s.end for s in chart.sentences if s.end <= end), default=0)
    line = chart.text.rfind("\n", 0, end) + 1
    return max(sentence, line) or end


def _proposals_text(context: ChatContext) -> str:
    lines = []
    for proposal in context.proposals[:MAX_LISTED]:
        status = proposal.status
        if proposal.final_code:
            status += f" to {proposal.final_code}"
        if proposal.principal:
            status += ", principal"
        lines.append(f"- {proposal.code} [{proposal.system}] {proposal.title}: {status}")
    lines += [f"- {d.code}: dropped ({d.reason})" for d in context.dropped[:MAX_LISTED]]
    return "\n".join(lines) or "(none)"


def _history_text(history: list[Turn]) -> str:
    # json.dumps quotes earlier answers (which quote the chart) so they read as values.
    lines = [
        json.dumps(
            {
                "question": turn.question[:MAX_HISTORY_CHARS],
                "answer": turn.answer.text[:MAX_HISTORY_CHARS],
                "codes": turn.answer.codes,
            },
            ensure_ascii=False,
        )
        for turn in history[-MAX_HISTORY:]
    ]
    return "\n".join(lines) or "(none: this is the first question)"


def _reading(asked: Question) -> str:
    parts = [f"kind {asked.kind}"]
    if asked.codes:
        borrowed = " (carried over from the previous answer)" if asked.follow_up else ""
        parts.append(f"codes {', '.join(asked.codes)}{borrowed}")
    if asked.subject:
        parts.append(f"subject {json.dumps(asked.subject, ensure_ascii=False)}")
    if asked.topic:
        parts.append(f"topic {asked.topic}")
    return "; ".join(parts)


# ---------------------------------------------------------------------- reading the reply


@dataclass
class Reply:
    """The model's JSON answer, shaped but not yet checked."""

    answer: str
    citations: list[Any]
    codes: list[str]
    refused: bool = False


_DECODER = json.JSONDecoder(strict=False)  # models put raw newlines inside strings


def _object(text: str) -> Any:
    """The JSON of `text`, else the first JSON object inside it (models wrap JSON in prose
    despite being told)."""
    try:
        return _DECODER.decode(text)
    except json.JSONDecodeError as first:
        for found in re.finditer(r"\{", text):
            try:
                return _DECODER.raw_decode(text, found.start())[0]
            except json.JSONDecodeError:
                continue
        raise MalformedAnswer(f"not valid JSON ({first.msg} at char {first.pos})") from first


def parse_reply(text: str) -> Reply:
    """The answer of a reply; MalformedAnswer when it has none."""
    cleaned = THINKING.sub("", text).strip()
    fenced = FENCE.search(cleaned)
    if fenced:
        cleaned = fenced.group(1).strip()
    if not cleaned:
        raise MalformedAnswer("the reply is empty")
    data = _object(cleaned)
    if not isinstance(data, dict):
        raise MalformedAnswer("the JSON is not an object")
    answer = data.get("answer")
    if not isinstance(answer, str) or not answer.strip():
        raise MalformedAnswer('the JSON has no "answer" text')
    citations = data.get("citations") or []
    codes = data.get("codes") or []
    return Reply(
        answer=answer,
        citations=citations if isinstance(citations, list) else [citations],
        codes=[c for c in (codes if isinstance(codes, list) else [codes]) if isinstance(c, str)],
        refused=data.get("refused") is True,
    )


def _refused(quote: str = "") -> ChartQuote:
    """A citation that failed here, in a form that never checks out (an empty span), so
    `verify` removes, counts and reports it with the others."""
    return ChartQuote(start=0, end=0, quote=quote)


def _is_refused(citation: ChatCitation) -> bool:
    return isinstance(citation, ChartQuote) and citation.start == citation.end


def _offset(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def anchor_quote(context: ChatContext, quote: str, start: Any, end: Any) -> ChartQuote | None:
    """The quote where the chart really has it, near the offsets given; None when it is not
    there, too far from them, or inside a sentence addressed to the software."""
    quote = quote.strip()
    if not quote:
        return None
    text = context.chart.text
    hint = _offset(start)
    stop = _offset(end)
    given = Span(
        start=hint or 0,
        end=stop if hint is not None and stop is not None and stop >= hint else (hint or 0),
        quote=quote,
    )
    found = verify_span(text, given)
    if found is None:
        return None
    # Without offsets there is nothing to be near; the quote alone must then be in the chart.
    if hint is not None and abs(found.start - hint) > ANCHOR_WINDOW:
        return None
    if any(s.start < found.end and found.start < s.end for s in context.chart.directed):
        return None
    flags = span_flags(context.chart, found.start, found.end)
    return ChartQuote(
        start=found.start, end=found.end, quote=text[found.start : found.end], flags=sorted(flags)
    )


def in_chart(citation: ChatCitation, context: ChatContext, shown: Shown) -> ChatCitation:
    """A chart quote anchored in what the model was shown, as a quote of the real chart
    (a quote touching a placeholder takes the whole identifier it stands for); refused when
    it lands in a sentence of the real chart addressed to the software."""
    if not isinstance(citation, ChartQuote) or _is_refused(citation):
        return citation
    chart = context.chart
    start, end = shown.to_chart(citation.start, citation.end)
    if start >= end or any(s.start < end and start < s.end for s in chart.directed):
        return _refused(citation.quote)
    flags = span_flags(chart, start, end)
    return ChartQuote(start=start, end=end, quote=chart.text[start:end], flags=sorted(flags))


def _label(item: dict[str, Any]) -> str:
    label = item.get("label")
    return label.strip()[:MAX_LABEL] if isinstance(label, str) else ""


def read_citation(item: Any, context: ChatContext) -> ChatCitation:
    """One citation of the reply, anchored in the chart or taken as given for `verify`; an
    unreadable one comes back refused."""
    if isinstance(item, str):  # a bare id: a KB source, or a guideline section the rules know
        item = {"source_id": item} if ":" in item else {"section_id": item}
    if not isinstance(item, dict):
        return _refused()
    kind = item.get("kind")
    quote, source, section = item.get("quote"), item.get("source_id"), item.get("section_id")
    if kind == "chart" or (kind is None and quote is not None):
        if not isinstance(quote, str):
            return _refused()
        anchored = anchor_quote(context, quote, item.get("start"), item.get("end"))
        return anchored if anchored is not None else _refused(quote)
    if kind == "kb" or (kind is None and source is not None):
        if isinstance(source, str) and source.strip():
            return KbSource(source_id=source.strip(), label=_label(item))
        return _refused()
    is_rule = kind == "rule" or (kind is None and section is not None)
    if is_rule and isinstance(section, str) and section.strip():
        return RuleSource(section_id=section.strip(), label=_label(item))
    return _refused()


# ---------------------------------------------------------------------- streaming


class _Echo:
    """What the caller has been sent of the answer text. A piece is sent only when it
    extends that text, so a repeated or diverging reply (a repair round) never sends the
    same words twice; the final event is the answer either way."""

    def __init__(self) -> None:
        self.sent = ""

    def extend(self, text: str) -> str:
        if len(text) <= len(self.sent) or not text.startswith(self.sent):
            return ""
        piece, self.sent = text[len(self.sent) :], text
        return piece


_ANSWER_KEY = re.compile(r'"answer"\s*:\s*"')
# A backslash escape is at most \uXXXX\uXXXX long (a surrogate pair).
_LONGEST_ESCAPE = 12


class AnswerField:
    """The text of the "answer" key decoded from a JSON reply still arriving in pieces."""

    def __init__(self) -> None:
        self.raw = ""

    def feed(self, piece: str) -> str:
        """The answer text decoded so far ("" until its key has arrived)."""
        self.raw += piece
        # A reasoning model thinks aloud first; only what follows its thinking is the answer.
        thought = self.raw.rfind("</think>")
        if thought < 0 and "<think>" in self.raw:
            return ""
        key = _ANSWER_KEY.search(self.raw, max(thought, 0))
        if key is None:
            return ""
        body = self.raw[key.end() :]
        return _decoded_prefix(body[: _string_end(body)])


def _string_end(body: str) -> int:
    """Where the JSON string starting at `body` closes (its length while it is open)."""
    escaped = False
    for position, char in enumerate(body):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            return position
    return len(body)


def _decoded_prefix(raw: str) -> str:
    """The decoded text of a JSON string body that may end inside an escape."""
    for cut in range(min(len(raw), _LONGEST_ESCAPE) + 1):
        try:
            text = _DECODER.decode(f'"{raw[: len(raw) - cut]}"')
        except json.JSONDecodeError:
            continue
        # Half a surrogate pair waits for its other half.
        return text[:-1] if text and "\ud800" <= text[-1] <= "\udbff" else text
    return ""
