"""Who answers a chat question: one small protocol, so the service picks an answerer once
(offline, or an LLM when one is configured) and every edge asks it the same way, whole or
streamed.

A stream is token events (pieces of the answer's text, in order) and then exactly one final
event carrying the whole answer; only the final answer counts (the service verifies its
citations again and stores it), the tokens are there to show progress."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal, Protocol

from agent.chat.model import ChatAnswer, ChatContext, Turn
from agent.chat.offline import answer_offline
from agent.proposers.base import ProposerError

log = logging.getLogger(__name__)
# Said in the answer, so the coder knows no model read the chart for it.
FELL_BACK = "\n\n[The language model could not answer this question; this is the offline answer.]"


@dataclass(frozen=True)
class ChatEvent:
    """One event of a streamed answer: `token` with a piece of text, or `final` with the
    answer."""

    kind: Literal["token", "final"]
    text: str = ""
    answer: ChatAnswer | None = None

    @classmethod
    def token(cls, text: str) -> ChatEvent:
        return cls("token", text=text)

    @classmethod
    def final(cls, answer: ChatAnswer) -> ChatEvent:
        return cls("final", answer=answer)


class Answerer(Protocol):
    name: str

    def answer(self, question: str, context: ChatContext, history: list[Turn]) -> ChatAnswer:
        """The whole answer to `question` about the chart in `context`."""
        ...

    def stream(
        self, question: str, context: ChatContext, history: list[Turn]
    ) -> Iterator[ChatEvent]:
        """Token events, then one final event with the answer."""
        ...


class NoFinalAnswer(RuntimeError):
    """A stream ended without its final event."""


def final_answer(events: Iterable[ChatEvent]) -> ChatAnswer:
    """The answer a stream ends with (its tokens are dropped)."""
    found = None
    for event in events:
        if event.kind == "final":
            found = event.answer
    if found is None:
        raise NoFinalAnswer("the answer stream ended without a final answer")
    return found


def text_pieces(text: str, pieces: int = 8) -> list[str]:
    """`text` in at most `pieces` runs of whole lines (joined, they are `text` again)."""
    lines = text.splitlines(keepends=True)
    if not lines:
        return []
    per = -(-len(lines) // pieces)  # ceiling division: never more than `pieces` runs
    return ["".join(lines[i : i + per]) for i in range(0, len(lines), per)]


class OfflineAnswerer:
    """`answer_offline` behind the protocol. It has the whole answer at once, so its stream
    is that answer's text in a few pieces, then the answer."""

    name = "offline"

    def answer(self, question: str, context: ChatContext, history: list[Turn]) -> ChatAnswer:
        return answer_offline(question, context, history)

    def stream(
        self, question: str, context: ChatContext, history: list[Turn]
    ) -> Iterator[ChatEvent]:
        answer = self.answer(question, context, history)
        for piece in text_pieces(answer.text):
            yield ChatEvent.token(piece)
        yield ChatEvent.final(answer)


class FallbackAnswerer:
    """`primary` (the LLM), and `fallback` (offline) when it fails with ProposerError: the
    answer then says so. A stream falls back only while nothing of it was sent; once tokens
    went out, a failure ends it as it would without a fallback (what was shown cannot be
    taken back)."""

    def __init__(self, primary: Answerer, fallback: Answerer) -> None:
        self.primary = primary
        self.fallback = fallback
        self.name = primary.name

    def answer(self, question: str, context: ChatContext, history: list[Turn]) -> ChatAnswer:
        try:
            return self.primary.answer(question, context, history)
        except ProposerError as error:
            self._failed(error)
        return _noted(self.fallback.answer(question, context, history))

    def stream(
        self, question: str, context: ChatContext, history: list[Turn]
    ) -> Iterator[ChatEvent]:
        sent = False
        try:
            for event in self.primary.stream(question, context, history):
                sent = True
                yield event
            return
        except ProposerError as error:
            if sent:
                raise
            self._failed(error)
        for event in self.fallback.stream(question, context, history):
            if event.kind == "final" and event.answer is not None:
                # The note as a last token too: the tokens always add up to the final text.
                noted = _noted(event.answer)
                yield ChatEvent.token(noted.text[len(event.answer.text) :])
                yield ChatEvent.final(noted)
            else:
                yield event

    def _failed(self, error: ProposerError) -> None:
        # The type only: the message may quote the model's reply or the server's error.
        log.warning(
            "chat answerer %s failed (%s); answering with %s",
            self.primary.name,
            type(error).__name__,
            self.fallback.name,
        )


def _noted(answer: ChatAnswer) -> ChatAnswer:
    return answer.model_copy(update={"text": answer.text + FELL_BACK})
