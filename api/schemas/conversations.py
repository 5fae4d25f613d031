"""Chat bodies: a conversation about a chart and its messages (question and answer)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from agent.chat import ChatAnswer


def _storable(value: str | None) -> str | None:
    # PostgreSQL text cannot hold a NUL: refused here as the caller's mistake (422 naming the
    # field), not failed at the driver (500). Pydantic already refuses unpaired surrogates.
    if value is not None and "\x00" in value:
        raise ValueError("contains a NUL character")
    return value


class ConversationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(default=None, max_length=200)

    _title = field_validator("title")(_storable)


class ConversationPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    chart_id: int
    title: str | None
    created_by: str
    created_at: datetime
    message_count: int = 0


class MessageCreate(BaseModel):
    """A question about the chart; its longest length is the server's
    MEDCODER_CHAT_QUESTION_MAX_CHARS (2000 by default)."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1)

    _question = field_validator("question")(_storable)


class MessagePublic(BaseModel):
    """A question and the answer given: its kind, text, and citations that were each
    verified against the chart and the knowledge base before it was stored."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    conversation_id: int
    question: str
    answer: ChatAnswer
    kind: str
    refused: bool
    answerer: str
    model: str | None
    prompt_version: str | None
    kb_release: str
    fiscal_year: int | None
    usage: dict[str, Any]
    latency_ms: int
    asked_by: str
    asked_at: datetime


class ConversationDetail(ConversationPublic):
    messages: list[MessagePublic] = []
