"""The LLM proposer: one conversation per chart (per chunk of a long chart) with KB tools.

Round behaviour: the first call carries the prompt, the candidates and the tools. Tool calls in
the reply are run and sent back in a further call; a reply that is not valid JSON is answered
with one request for valid JSON. Both kinds of extra call come out of the same budget,
`max_tool_rounds`, so a chunk costs at most 1 + max_tool_rounds calls (2 by default). The last
call of the budget is made without tools, so the model has to answer.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import openai
from langchain_core.exceptions import LangChainException
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.runnables import Runnable
from langchain_openai import ChatOpenAI
from pydantic import SecretStr

from agent.deid import Scrubbed
from agent.models import (
    Candidate,
    Chart,
    Mention,
    Policy,
    ProposerOutput,
    RawProposal,
    Span,
    Usage,
)
from agent.proposers.base import ProposerError
from agent.proposers.llm_parse import MalformedAnswer, merge, parse_answer, to_proposals
from agent.proposers.llm_prompt import (
    ChartView,
    Chunk,
    Shown,
    build_messages,
    candidates_text,
    chunk_chart,
    count_tokens,
    in_chunk,
)
from agent.proposers.llm_tools import KbTools
from prompts import Prompt, load_prompt
from retrieval.search import HybridSearcher

PROMPT_NAME = "propose_v1"
# Room kept for the answer and for tool results of the second call.
RESERVE_SHARE = 4
MIN_CHART_TOKENS = 200
# Servers without auth (vLLM, Ollama, llama.cpp) still need some key for the OpenAI client.
NO_KEY = "not-needed"
MODEL_ERRORS = (openai.OpenAIError, LangChainException, OSError)

REPAIR = (
    "Your reply could not be used: {error}. Reply again with only the JSON object in the "
    'required schema {{"codes": [...]}}: no prose, no Markdown, no code fences.'
)
LAST_ROUND = "No more tool calls are available. Reply now with the JSON object only."


def make_chat_model(
    base_url: str | None, model: str, api_key: str | None, timeout_s: float, max_retries: int
) -> ChatOpenAI:
    """A deterministic (temperature 0) chat model for OpenAI or an OpenAI-compatible server;
    the caller hands in the key (settings read it at the edge), a local server gets a
    placeholder."""
    key = api_key or (NO_KEY if base_url else None)
    return ChatOpenAI(
        model=model,
        base_url=base_url,
        api_key=SecretStr(key) if key else None,
        timeout=timeout_s,
        max_retries=max_retries,
        temperature=0,
        # Compatible servers implement chat completions only, never the Responses API.
        use_responses_api=False,
    )


def reply_text(reply: AIMessage) -> str:
    if isinstance(reply.content, str):
        return reply.content
    return "".join(
        block if isinstance(block, str) else str(block.get("text", ""))
        for block in reply.content
        if isinstance(block, str) or block.get("type") == "text"
    )


class Meter:
    """Usage across a chart's calls: the server's counts when it reports them, else tiktoken."""

    def __init__(self, price_per_1k: tuple[float, float]) -> None:
        self.price = price_per_1k
        self.calls = self.prompt_tokens = self.completion_tokens = 0

    def add(self, sent: Sequence[BaseMessage], reply: AIMessage) -> None:
        self.calls += 1
        reported = reply.usage_metadata
        if reported and reported.get("input_tokens"):
            self.prompt_tokens += reported["input_tokens"]
            self.completion_tokens += reported.get("output_tokens", 0)
            return
        self.prompt_tokens += sum(count_tokens(_flat(message)) for message in sent)
        self.completion_tokens += count_tokens(_flat(reply))

    def usage(self) -> Usage:
        cost = (self.prompt_tokens * self.price[0] + self.completion_tokens * self.price[1]) / 1000
        return Usage(
            model_calls=self.calls,
            prompt_tokens=self.prompt_tokens,
            completion_tokens=self.completion_tokens,
            estimated_cost_usd=round(cost, 6),
        )


def in_chart(proposals: list[RawProposal], chart_text: str, shown: Shown) -> list[RawProposal]:
    """Evidence spans found in what the model was shown, moved to the chart's offsets with
    the chart's own words as their quotes (a quote around "[DATE]" cites the real date)."""
    moved = []
    for proposal in proposals:
        spans: list[Span] = []
        for span in proposal.evidence:
            start, end = shown.to_chart(span.start, span.end)
            placed = Span(start=start, end=end, quote=chart_text[start:end])
            if placed not in spans:
                spans.append(placed)
        moved.append(proposal.model_copy(update={"evidence": spans}))
    return moved


def _flat(message: BaseMessage) -> str:
    text = message.content if isinstance(message.content, str) else json.dumps(message.content)
    calls = getattr(message, "tool_calls", None)
    return text + (json.dumps(calls) if calls else "")


class LlmProposer:
    """Proposes codes with a chat model; its output is parsed, never trusted."""

    name = "llm"

    def __init__(
        self,
        chat_model: BaseChatModel,
        searcher: HybridSearcher,
        *,
        model_name: str,
        context_tokens: int = 16000,
        max_tool_rounds: int = 1,
        price_per_1k: tuple[float, float] = (0.0, 0.0),
        examples: list[str] | None = None,
        examples_for: Callable[[list[str]], list[str]] | None = None,
        deidentifier: Callable[[str], Scrubbed] | None = None,
    ) -> None:
        self.model_name = model_name
        self.context_tokens = context_tokens
        self.max_tool_rounds = max(0, max_tool_rounds)
        self.price_per_1k = price_per_1k
        self.examples = list(examples or [])
        # Few-shot lines from coded history, chosen for the phrases of each chart.
        self.examples_for = examples_for
        # With it, every prompt carries the chart with identifiers replaced (agent.deid).
        self.deidentifier = deidentifier
        self.prompt: Prompt = load_prompt(PROMPT_NAME)
        self._searcher = searcher
        # Bound to the model once; each chart's calls are answered by tools over its year.
        self._tools = KbTools(searcher)
        self._plain: Runnable[Any, Any] = chat_model
        self._with_tools: Runnable[Any, Any] = (
            chat_model.bind_tools(self._tools.tools) if self.max_tool_rounds else chat_model
        )

    def propose(
        self,
        chart: Chart,
        mentions: list[Mention],
        candidates: list[Candidate],
        *,
        policy: Policy = "claims",
    ) -> ProposerOutput:
        # The model reports every concept with its assertion; which of them a claim carries
        # is the policy's decision after every proposer alike, so `policy` changes nothing here.
        meter = Meter(self.price_per_1k)
        notes: list[str] = []
        groups: list[list[RawProposal]] = []
        examples = self.examples
        if self.examples_for is not None:
            examples = examples + self.examples_for([m.text for m in mentions])
        tools = KbTools(self._searcher.for_year(chart.fiscal_year))
        if chart.text.strip():
            view = self._view(chart)
            metadata = view.metadata()
            examples = [view.free_text(line) for line in examples]
            shown_mentions = [view.mention(mention) for mention in mentions]
            for chunk, block in self._plan(chart, shown_mentions, candidates, notes):
                shown = view.chunk(chunk)
                messages = build_messages(
                    self.prompt, chart, chunk, block, examples, shown=shown, metadata=metadata
                )
                entries = self._converse(messages, meter, notes, tools)
                proposals, more = to_proposals(entries, shown.anchor)
                notes += more
                groups.append(in_chart(proposals, chart.text, shown))
        else:
            notes.append("the chart is empty: nothing sent to the model")
        return ProposerOutput(
            proposals=merge(groups),
            usage=meter.usage(),
            model=self.model_name,
            prompt_version=self.prompt.version,
            notes=notes,
        )

    def _view(self, chart: Chart) -> ChartView:
        try:
            return ChartView(chart, self.deidentifier)
        except Exception as exc:  # whatever it raised, nothing may leave unscrubbed
            raise ProposerError(
                f"de-identification failed ({type(exc).__name__}); nothing was sent to the model"
            ) from exc

    def _available(self, chart: Chart) -> int:
        """Tokens left for chart text and candidates once instructions and reserve are in."""
        frame = build_messages(
            self.prompt,
            Chart(text="", meta=chart.meta, fiscal_year=chart.fiscal_year),
            Chunk(0, 0),
            "",
            self.examples,
        )
        used = sum(count_tokens(_flat(message)) for message in frame)
        available = self.context_tokens - self.context_tokens // RESERVE_SHARE - used
        if available < MIN_CHART_TOKENS:
            raise ProposerError(
                f"context_tokens={self.context_tokens} leaves {available} tokens for the chart "
                f"after the instructions and examples ({used} tokens); raise it"
            )
        return available

    def _plan(
        self,
        chart: Chart,
        mentions: list[Mention],
        candidates: list[Candidate],
        notes: list[str],
    ) -> list[tuple[Chunk, str]]:
        """Chunks of the chart, each with the candidate block that fits beside it."""
        available = self._available(chart)
        whole = candidates_text(mentions, candidates)
        if count_tokens(chart.text) + count_tokens(whole) <= available:
            return [(Chunk(0, len(chart.text)), whole)]
        # Half for the chart, half for its candidates: simple, and no chunk is starved.
        chunks = chunk_chart(chart, available // 2)
        if len(chunks) > 1:
            notes.append(f"the chart was coded in {len(chunks)} parts to fit the context")
        planned = []
        for chunk in chunks:
            room = available - count_tokens(chart.text[chunk.start : chunk.end])
            local = in_chunk(chunk, mentions, candidates)
            planned.append((chunk, self._fit(mentions, local, room, chunk, notes)))
        return planned

    @staticmethod
    def _fit(
        mentions: list[Mention],
        candidates: list[Candidate],
        room: int,
        chunk: Chunk,
        notes: list[str],
    ) -> str:
        """The candidate block cut to `room` tokens, lowest-scoring candidates dropped first."""
        kept = sorted(candidates, key=lambda c: -c.score)
        block = candidates_text(mentions, kept)
        while kept and count_tokens(block) > room:
            kept = kept[: len(kept) * 4 // 5]
            block = candidates_text(mentions, kept)
        if len(kept) < len(candidates):
            notes.append(
                f"part {chunk.number}: {len(candidates) - len(kept)} low-scoring candidates "
                "left out to fit the context"
            )
        return block

    def _converse(
        self, messages: list[BaseMessage], meter: Meter, notes: list[str], tools: KbTools
    ) -> list:
        """The answer entries of one conversation, within 1 + max_tool_rounds calls; `tools`
        answers the model's tool calls (over the chart's fiscal year)."""
        spare = self.max_tool_rounds
        while True:
            final = spare == 0
            reply = self._call(self._plain if final else self._with_tools, messages, meter)
            asked = reply.tool_calls or reply.invalid_tool_calls
            if asked and not final:
                answers = tools.answer(reply.tool_calls, reply.invalid_tool_calls)
                messages += [reply, *answers]
                spare -= 1
                if spare == 0:
                    messages.append(HumanMessage(content=LAST_ROUND))
                continue
            text = reply_text(reply)
            if asked and not text.strip():
                raise ProposerError("the model asked for tools after its tool rounds were used")
            try:
                return parse_answer(text)
            except MalformedAnswer as exc:
                if final:
                    raise ProposerError(f"the model's answer is unusable: {exc}") from exc
                notes.append(f"the model's answer was unusable ({exc}); asked again for JSON")
                messages += [AIMessage(content=text), HumanMessage(REPAIR.format(error=exc))]
                spare -= 1

    def _call(
        self, model: Runnable[Any, Any], messages: list[BaseMessage], meter: Meter
    ) -> AIMessage:
        """One model call; the client's own timeout and retries have run when this fails."""
        try:
            reply = model.invoke(list(messages))
        except MODEL_ERRORS as exc:
            raise ProposerError(f"the model call failed: {type(exc).__name__}: {exc}") from exc
        if not isinstance(reply, AIMessage):
            raise ProposerError(f"the model returned {type(reply).__name__}, not a message")
        meter.add(messages, reply)
        return reply
