"""Chat about a chart: conversations, and questions answered from the chart, its proposals
and the knowledge base, whole (JSON) or streamed (Server-Sent Events). Every answer's
citations are verified before it is stored and shown. Chat only reads: nothing here decides,
commits or changes a proposal. Questions and answers quote patient data, so neither is
logged; the audit row of each message names its kind, not its text."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from sse_starlette import EventSourceResponse, ServerSentEvent

from agent.chat import ChatAnswer, ChatContext, Turn, verify
from agent.chat.answerer import Answerer, final_answer
from agent.proposers.base import ProposerError
from api.access import ChartCoder, ChartReader, ConversationAsker, ConversationReader
from api.deps import RowId, ServicesDep
from api.problems import problem_body
from api.schemas.conversations import (
    ConversationCreate,
    ConversationDetail,
    ConversationPublic,
    MessageCreate,
    MessagePublic,
)
from api.services import Services
from retrieval.errors import KnowledgeBaseError, QueryError, UnknownCodeError
from review.actors import Actor
from review.chat_context import stored_chart_context
from review.conversations import (
    AnswerRecord,
    add_message,
    chart_conversations,
    check_room,
    create_conversation,
    get_conversation,
    history,
)
from review.db import transaction
from review.errors import InvalidInput, ReviewError

router = APIRouter(tags=["conversations"])
log = logging.getLogger("medcoder.api")
EVENT_STREAM = "text/event-stream"


class _NoChunks(logging.Filter):
    """sse-starlette logs every chunk it sends at DEBUG, and a chunk is answer text quoting
    the chart: dropped whatever level the server logs at."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("chunk")


logging.getLogger("sse_starlette.sse").addFilter(_NoChunks())


@router.post("/charts/{chart_id}/conversations", status_code=201, response_model=ConversationPublic)
def post_conversation(
    chart_id: RowId,
    services: ServicesDep,
    actor: ChartCoder,
    body: ConversationCreate | None = None,
) -> ConversationPublic:
    title = (body.title or "").strip() if body else ""
    with transaction(services.sessions) as session:
        row = create_conversation(session, chart_id=chart_id, actor=actor, title=title or None)
        return ConversationPublic.model_validate(row)


@router.get("/charts/{chart_id}/conversations", response_model=list[ConversationPublic])
def list_conversations(
    chart_id: RowId, services: ServicesDep, actor: ChartReader
) -> list[ConversationPublic]:
    with transaction(services.readers) as session:
        found = chart_conversations(session, chart_id=chart_id)
        return [
            ConversationPublic.model_validate(row).model_copy(update={"message_count": n})
            for row, n in found
        ]


@router.get("/conversations/{conversation_id}", response_model=ConversationDetail)
def read_conversation(
    conversation_id: RowId, services: ServicesDep, actor: ConversationReader
) -> ConversationDetail:
    """The conversation with every question and answer, oldest first."""
    with transaction(services.readers) as session:
        found = get_conversation(session, conversation_id=conversation_id)
        return ConversationDetail.model_validate(found.row).model_copy(
            update={
                "message_count": len(found.messages),
                "messages": [MessagePublic.model_validate(m) for m in found.messages],
            }
        )


@router.post(
    "/conversations/{conversation_id}/messages",
    status_code=201,
    response_model=MessagePublic,
    responses={
        200: {
            "description": 'With `Accept: text/event-stream`: `token` events (`{"text"}`, '
            "pieces of the answer), then one `final` event with the stored message, or an "
            "`error` event with a problem+json body.",
            "content": {EVENT_STREAM: {"schema": {"type": "string"}}},
        }
    },
)
def post_message(
    conversation_id: RowId,
    body: MessageCreate,
    request: Request,
    services: ServicesDep,
    actor: ConversationAsker,
) -> Response:
    """Ask a question about the conversation's chart; earlier messages are its history, so
    a follow-up ("and its code-first note?") refers back. 422 for a question over
    MEDCODER_CHAT_QUESTION_MAX_CHARS, 409 once the conversation holds
    MEDCODER_CHAT_MESSAGES_MAX messages (start a new one)."""
    question = _checked_question(body.question, services.settings.chat_question_max_chars)
    asking = _prepare(services, actor, conversation_id, question)
    # An answer is work under way like a coding run (an LLM call, a code search): it counts
    # against the same per-user limit, refused (429) before any stream starts.
    limit = services.runs_per_user
    if EVENT_STREAM in request.headers.get("accept", ""):
        limit.check(actor.name)  # the slot itself is taken when the stream starts
        events = _events(asking, request.url.path, actor, slot=limit.slot(actor.name))
        stream = EventSourceResponse(events)
        # The edge sets Cache-Control on every answer; one header, not two.
        del stream.headers["cache-control"]
        return stream
    with limit.slot(actor.name):
        started = time.perf_counter()
        answer = asking.answerer.answer(question, asking.context, asking.history)
        message = asking.store(answer, started)
    return JSONResponse(message.model_dump(mode="json"), status_code=201)


def _checked_question(question: str, max_chars: int) -> str:
    text = question.strip()
    if not text:
        raise InvalidInput("the question is empty", field="body.question")
    if len(text) > max_chars:
        raise InvalidInput(
            f"the question is {len(text):,} characters; at most {max_chars:,} are taken: "
            "ask something shorter",
            field="body.question",
            max_chars=max_chars,
        )
    return text


@dataclass
class _Asking:
    """One question with everything its answer needs, read before answering (answering may
    take a while and holds no transaction)."""

    services: Services
    actor: Actor
    conversation_id: int
    question: str
    context: ChatContext
    history: list[Turn]
    answerer: Answerer
    kb_release: str

    def store(self, answer: ChatAnswer, started: float) -> MessagePublic:
        # The answerer's citations are checked again whoever it is: an LLM is never trusted.
        checked = verify(answer, self.context)
        record = AnswerRecord(
            kb_release=self.kb_release,
            fiscal_year=self.context.chart.fiscal_year,
            latency_ms=round((time.perf_counter() - started) * 1000),
        )
        settings = self.services.settings
        with transaction(self.services.sessions) as session:
            row = add_message(
                session,
                conversation_id=self.conversation_id,
                question=self.question,
                answer=checked,
                record=record,
                actor=self.actor,
                max_messages=settings.chat_messages_max,
            )
            return MessagePublic.model_validate(row)


def _prepare(services: Services, actor: Actor, conversation_id: int, question: str) -> _Asking:
    agent = services.agent("offline")  # the chat reads the KB as the offline agent does
    with transaction(services.readers) as session:
        found = get_conversation(session, conversation_id=conversation_id)
        # Checked before answering too, so a full conversation costs no answer.
        check_room(
            len(found.messages),
            conversation_id=conversation_id,
            max_messages=services.settings.chat_messages_max,
        )
        context = stored_chart_context(session, chart_id=found.row.chart_id, agent=agent)
        turns = history(found.messages)
    return _Asking(
        services=services,
        actor=actor,
        conversation_id=conversation_id,
        question=question,
        context=context,
        history=turns,
        answerer=services.chat_answerer(),
        kb_release=agent.kb_release,
    )


def _events(
    asking: _Asking, instance: str, actor: Actor, slot: AbstractContextManager[None]
) -> Iterator[ServerSentEvent]:
    """Token events as the answerer yields them, then the stored message; an answer that
    fails once the stream has begun ends it with an error event instead. The user's slot is
    held while the stream runs and given back however it ends (a client that hangs up
    included); a stream never started holds none."""
    try:
        with slot:
            yield from _answer_events(asking, instance, actor)
    except ReviewError as error:  # the limit reached between the check and the start
        body = problem_body(instance, error.status, error.title, error.detail, **error.extra)
        yield ServerSentEvent(json.dumps(body), event="error")


def _answer_events(asking: _Asking, instance: str, actor: Actor) -> Iterator[ServerSentEvent]:
    started = time.perf_counter()
    try:
        finals = []
        for event in asking.answerer.stream(asking.question, asking.context, asking.history):
            if event.kind == "token":
                yield ServerSentEvent(json.dumps({"text": event.text}), event="token")
            else:
                finals.append(event)
        message = asking.store(final_answer(finals), started)
    except Exception as error:
        status, title, detail, extra = _stream_problem(error)
        if status >= 500:
            # The message may quote the chart or the question: type and request id only.
            log.error("chat stream failed: %s, request %s", type(error).__name__, actor.request_id)
        body = problem_body(instance, status, title, detail, **extra)
        yield ServerSentEvent(json.dumps(body), event="error")
        return
    yield ServerSentEvent(message.model_dump_json(), event="final")


def _stream_problem(error: Exception) -> tuple[int, str, str, dict[str, Any]]:
    """What the app's error handlers would answer, for an error after the stream began."""
    if isinstance(error, ReviewError):
        return error.status, error.title, error.detail, dict(error.extra)
    if isinstance(error, KnowledgeBaseError):
        return 503, "Knowledge base unavailable", str(error), {}
    if isinstance(error, QueryError | UnknownCodeError):
        return 422, "Invalid query", str(error), {}
    if isinstance(error, ProposerError):
        return 502, "Answerer failed", str(error), {}
    detail = "an unexpected error; see the server log for this request id"
    return 500, "Internal error", detail, {}
