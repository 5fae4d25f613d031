"""Conversations about a chart: questions and the answers given, stored as they were shown.
A message is audited (who asked, which kind of answer, refused or not) without its text: the
question and the answer quote the chart, so they stay in the message row. Nothing here
touches a proposal, a decision or a code set: chat only reads the chart."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from agent.chat import ChatAnswer, Turn
from review.actors import Actor
from review.audit import now, record_event
from review.charts import get_chart
from review.errors import Conflict, NotFound
from review.tables import ChatMessageRow, ConversationRow


@dataclass(frozen=True)
class Conversation:
    row: ConversationRow
    messages: list[ChatMessageRow]


@dataclass(frozen=True)
class AnswerRecord:
    """What produced an answer, stored beside it."""

    kb_release: str
    fiscal_year: int | None
    latency_ms: int


def create_conversation(
    session: Session, *, chart_id: int, actor: Actor, title: str | None = None
) -> ConversationRow:
    get_chart(session, chart_id=chart_id)
    row = ConversationRow(chart_id=chart_id, title=title, created_by=actor.name, created_at=now())
    session.add(row)
    session.flush()
    # The title is the user's own words about a patient's chart: not in the audit row.
    record_event(
        session,
        actor=actor,
        action="chat.create",
        chart_id=chart_id,
        after={"conversation_id": row.id},
    )
    return row


def get_conversation(session: Session, *, conversation_id: int) -> Conversation:
    """The conversation with its messages, oldest first."""
    row = session.get(ConversationRow, conversation_id)
    if row is None:
        raise NotFound(f"conversation {conversation_id} does not exist")
    messages = session.scalars(
        select(ChatMessageRow)
        .where(ChatMessageRow.conversation_id == conversation_id)
        .order_by(ChatMessageRow.id)
    )
    return Conversation(row, list(messages))


def chart_conversations(session: Session, *, chart_id: int) -> list[tuple[ConversationRow, int]]:
    """The chart's conversations, oldest first, each with how many messages it holds."""
    get_chart(session, chart_id=chart_id)
    counts = (
        select(ChatMessageRow.conversation_id, func.count().label("n"))
        .group_by(ChatMessageRow.conversation_id)
        .subquery()
    )
    found = session.execute(
        select(ConversationRow, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.conversation_id == ConversationRow.id)
        .where(ConversationRow.chart_id == chart_id)
        .order_by(ConversationRow.id)
    )
    return [(row, int(n)) for row, n in found]


def message_count(session: Session, *, conversation_id: int) -> int:
    query = select(func.count()).where(ChatMessageRow.conversation_id == conversation_id)
    return int(session.scalar(query) or 0)


def check_room(count: int, *, conversation_id: int, max_messages: int) -> None:
    """Conflict once the conversation holds `max_messages`: a long history makes every
    answer slower and an LLM's context longer, so a new topic gets a new conversation."""
    if count >= max_messages:
        raise Conflict(
            f"conversation {conversation_id} is full ({max_messages} messages): start a new "
            "conversation about this chart",
            max_messages=max_messages,
        )


def add_message(
    session: Session,
    *,
    conversation_id: int,
    question: str,
    answer: ChatAnswer,
    record: AnswerRecord,
    actor: Actor,
    max_messages: int,
) -> ChatMessageRow:
    """Store one question and its answer; Conflict when the conversation is full."""
    # Locked (PostgreSQL) so two answers finishing at once cannot both take the last place;
    # SQLite's writers already go one at a time.
    conversation = session.get(ConversationRow, conversation_id, with_for_update=True)
    if conversation is None:
        raise NotFound(f"conversation {conversation_id} does not exist")
    count = message_count(session, conversation_id=conversation_id)
    check_room(count, conversation_id=conversation_id, max_messages=max_messages)
    row = ChatMessageRow(
        conversation_id=conversation_id,
        question=question,
        answer=answer.model_dump(mode="json"),
        kind=answer.kind,
        refused=answer.refused,
        answerer=answer.answerer,
        model=answer.model,
        prompt_version=answer.prompt_version,
        kb_release=record.kb_release,
        fiscal_year=record.fiscal_year,
        usage=answer.usage.model_dump(),
        latency_ms=record.latency_ms,
        asked_by=actor.name,
        asked_at=now(),
    )
    session.add(row)
    session.flush()
    record_event(
        session,
        actor=actor,
        action="chat.message",
        chart_id=conversation.chart_id,
        after={
            "conversation_id": conversation_id,
            "message_id": row.id,
            "kind": answer.kind,
            "refused": answer.refused,
        },
        versions={
            "model": answer.model,
            "prompt_version": answer.prompt_version,
            "kb_release": record.kb_release,
            "fiscal_year": record.fiscal_year,
        },
    )
    return row


def history(messages: list[ChatMessageRow]) -> list[Turn]:
    """The earlier questions and answers, oldest first, that a follow-up refers back to."""
    return [Turn(question=m.question, answer=ChatAnswer.model_validate(m.answer)) for m in messages]
