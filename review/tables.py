"""The review database: charts, coding runs, proposals with their decisions, committed code
sets, users and the append-only audit trail (migrations in review/migrations)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    """Timestamps in UTC; SQLite drops the zone on storage, so it is put back on load."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


# SQLite only auto-increments an INTEGER PRIMARY KEY, not a BIGINT one.
BigId = BigInteger().with_variant(Integer, "sqlite")
Json = JSON()


class Base(DeclarativeBase):
    pass


class UserRow(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    # sha256 of the key: keys are 256-bit random, so a fast hash is enough to make a leaked
    # table useless, and it lets every request look its key up by index.
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    key_prefix: Mapped[str] = mapped_column(String(12))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    key_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # None: never
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # argon2id (review.passwords); None: this user cannot sign in to the browser workspace.
    password_hash: Mapped[str | None] = mapped_column(String(255))


class WebSessionRow(Base):
    """A signed-in browser: the cookie's token is 256-bit random, so its sha256 is stored
    (like API keys); the CSRF token travels in the page and must come back with each write."""

    __tablename__ = "web_sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ChartRow(Base):
    __tablename__ = "charts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    external_id: Mapped[str | None] = mapped_column(String(200), index=True)
    text: Mapped[str] = mapped_column(Text)
    source_format: Mapped[str] = mapped_column(String(10))  # text | fhir
    setting: Mapped[str] = mapped_column(String(20))
    age: Mapped[int | None] = mapped_column(Integer)
    sex: Mapped[str | None] = mapped_column(String(1))
    encounter_date: Mapped[date | None] = mapped_column(Date)  # the visit date
    admission_date: Mapped[date | None] = mapped_column(Date)
    discharge_date: Mapped[date | None] = mapped_column(Date)
    discharge_status: Mapped[int | None] = mapped_column(Integer)  # CMS code, 1 home
    status: Mapped[str] = mapped_column(String(20), index=True)  # new|coded|in_review|committed
    version: Mapped[int] = mapped_column(Integer, default=1)  # the chart's ETag
    committed_version: Mapped[int] = mapped_column(Integer, default=0)
    # Who works the chart (None: anyone); with MEDCODER_RESTRICT_TO_ASSIGNED a coder sees
    # only charts assigned to them or to no one.
    assigned_to: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class CodingRunRow(Base):
    __tablename__ = "coding_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chart_id: Mapped[int] = mapped_column(ForeignKey("charts.id"), index=True)
    proposer: Mapped[str] = mapped_column(String(40))
    model: Mapped[str | None] = mapped_column(String(200))
    prompt_version: Mapped[str | None] = mapped_column(String(40))
    kb_release: Mapped[str] = mapped_column(String(200))
    # The fiscal year whose code set the run used (NULL: before years were recorded, FY2026).
    fiscal_year: Mapped[int | None] = mapped_column(Integer)
    warnings: Mapped[list[str] | None] = mapped_column(Json)  # about the run (no date, ...)
    usage: Mapped[dict[str, Any]] = mapped_column(Json)
    timings_ms: Mapped[dict[str, Any]] = mapped_column(Json)
    dropped: Mapped[list[dict[str, Any]]] = mapped_column(Json)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ProposalRow(Base):
    """A code the agent proposed or a coder added, with the decision on it (changeable
    until commit; every change is in the audit trail)."""

    __tablename__ = "proposals"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chart_id: Mapped[int] = mapped_column(ForeignKey("charts.id"), index=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("coding_runs.id"))
    origin: Mapped[str] = mapped_column(String(10))  # agent | coder
    active: Mapped[bool] = mapped_column(Boolean, default=True)  # false once a rerun replaced it
    code: Mapped[str] = mapped_column(String(10))
    system: Mapped[str] = mapped_column(String(3))
    title: Mapped[str] = mapped_column(Text)
    sequence: Mapped[int] = mapped_column(Integer)
    principal: Mapped[bool] = mapped_column(Boolean, default=False)
    confidence: Mapped[float | None] = mapped_column(Float)
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(Json)
    citations: Mapped[list[dict[str, Any]]] = mapped_column(Json)
    rationale: Mapped[str] = mapped_column(Text, default="")
    warnings: Mapped[list[str]] = mapped_column(Json)
    fiscal_year: Mapped[int | None] = mapped_column(Integer)  # the code set it is checked in
    # pending | accepted | rejected | modified | added
    status: Mapped[str] = mapped_column(String(10))
    final_code: Mapped[str | None] = mapped_column(String(10))
    final_title: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(String(40))
    note: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    version: Mapped[int] = mapped_column(Integer, default=1)


class CodeSetRow(Base):
    """A committed final code set: written once, never updated; reopening makes a new one."""

    __tablename__ = "code_sets"
    __table_args__ = (UniqueConstraint("chart_id", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chart_id: Mapped[int] = mapped_column(ForeignKey("charts.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    codes: Mapped[list[dict[str, Any]]] = mapped_column(Json)
    kb_release: Mapped[str] = mapped_column(String(200))
    fiscal_year: Mapped[int | None] = mapped_column(Integer)  # the code set committed in
    committed_by: Mapped[str] = mapped_column(String(100))
    committed_at: Mapped[datetime] = mapped_column(UtcDateTime())


class QueryRow(Base):
    """A physician query about a documentation gap: open until answered or cancelled. The
    answer joins the chart as an addendum, so the next coding run reads it."""

    __tablename__ = "queries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chart_id: Mapped[int] = mapped_column(ForeignKey("charts.id"), index=True)
    proposal_id: Mapped[int | None] = mapped_column(Integer)  # the unspecific proposal
    kind: Mapped[str] = mapped_column(String(40))
    code: Mapped[str | None] = mapped_column(String(10))
    topic: Mapped[str] = mapped_column(Text)
    question: Mapped[str] = mapped_column(Text)
    options: Mapped[list[str]] = mapped_column(Json)
    indicators: Mapped[list[dict[str, Any]]] = mapped_column(Json)  # what, quote, start, end
    status: Mapped[str] = mapped_column(String(10))  # open | answered | cancelled
    answer: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)  # why it was cancelled
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    closed_by: Mapped[str | None] = mapped_column(String(100))
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class AuditRow(Base):
    """One action, appended in the same transaction as the change it records. Database
    triggers (see the migration) refuse UPDATE and DELETE on this table."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    actor: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(40))
    chart_id: Mapped[int | None] = mapped_column(Integer, index=True)
    proposal_id: Mapped[int | None] = mapped_column(Integer)
    before: Mapped[dict[str, Any] | None] = mapped_column(Json)
    after: Mapped[dict[str, Any] | None] = mapped_column(Json)
    reason: Mapped[str | None] = mapped_column(Text)
    request_id: Mapped[str | None] = mapped_column(String(100))
    model: Mapped[str | None] = mapped_column(String(200))
    prompt_version: Mapped[str | None] = mapped_column(String(40))
    kb_release: Mapped[str | None] = mapped_column(String(200))
    fiscal_year: Mapped[int | None] = mapped_column(Integer)
    # The hash chain (review/audit_chain.py): the row before's hash, and this row's.
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    row_hash: Mapped[str | None] = mapped_column(String(64))


class IdempotentResponseRow(Base):
    """The response to a POST sent with an Idempotency-Key, stored in the same transaction as
    its effect so a retry replays it instead of acting twice."""

    __tablename__ = "idempotent_responses"
    user_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    body: Mapped[Any] = mapped_column(Json)
    headers: Mapped[dict[str, str]] = mapped_column(Json)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ChartReadRow(Base):
    """Who read a chart's content, when, through which endpoint: one row per request that
    answered with it, appended after the answer is built. Database triggers (see migration
    0007) refuse UPDATE and DELETE. No foreign keys, like audit_events: a log outlives
    what it names."""

    __tablename__ = "chart_reads"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    user_id: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20))
    chart_id: Mapped[int] = mapped_column(Integer, index=True)
    endpoint: Mapped[str] = mapped_column(String(200))  # "GET /charts/{chart_id}/export"
    request_id: Mapped[str | None] = mapped_column(String(100))


class ConversationRow(Base):
    """A chat about one chart: questions and the answers given, kept as they were shown."""

    __tablename__ = "conversations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chart_id: Mapped[int] = mapped_column(ForeignKey("charts.id"), index=True)
    title: Mapped[str | None] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ChatMessageRow(Base):
    """One question and its answer (the ChatAnswer as shown, citations verified), with what
    produced it: the answerer, model, prompt and KB versions, the code set's fiscal year."""

    __tablename__ = "chat_messages"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[dict[str, Any]] = mapped_column(Json)
    kind: Mapped[str] = mapped_column(String(20))  # why | find_in_chart | ... | open
    refused: Mapped[bool] = mapped_column(Boolean, default=False)
    answerer: Mapped[str] = mapped_column(String(40))
    model: Mapped[str | None] = mapped_column(String(200))
    prompt_version: Mapped[str | None] = mapped_column(String(40))
    kb_release: Mapped[str] = mapped_column(String(200))
    fiscal_year: Mapped[int | None] = mapped_column(Integer)
    usage: Mapped[dict[str, Any]] = mapped_column(Json)
    latency_ms: Mapped[int] = mapped_column(Integer)
    asked_by: Mapped[str] = mapped_column(String(100))
    asked_at: Mapped[datetime] = mapped_column(UtcDateTime())


class BatchRow(Base):
    """Charts sent together to be coded (POST /batches); each has its own job."""

    __tablename__ = "batches"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    total: Mapped[int] = mapped_column(Integer)
    rejected: Mapped[list[dict[str, Any]]] = mapped_column(Json)  # entries refused, and why
    proposer: Mapped[str | None] = mapped_column(String(20))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class JobRow(Base):
    """A coding run to be done by an executor (in the API process or a queue worker).

    The job row is the source of truth, not the queue: a message delivered twice (its
    worker died before acknowledging) finds the job finished and stores nothing again,
    because the run is recorded in the same transaction that marks the job succeeded."""

    __tablename__ = "jobs"
    __table_args__ = (UniqueConstraint("requester_id", "idempotency_key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # coding_run
    chart_id: Mapped[int] = mapped_column(ForeignKey("charts.id"), index=True)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("batches.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), index=True)  # see review.jobs.STATUSES
    stage: Mapped[str | None] = mapped_column(String(40))  # where a running job is
    proposer: Mapped[str | None] = mapped_column(String(20))  # None: the configured one
    kb_version: Mapped[str] = mapped_column(String(200))  # the KB it must be coded with
    run_id: Mapped[int | None] = mapped_column(ForeignKey("coding_runs.id"))
    error_status: Mapped[int | None] = mapped_column(Integer)  # an HTTP status for the error
    error: Mapped[str | None] = mapped_column(Text)  # what went wrong; never chart text
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    worker: Mapped[str | None] = mapped_column(String(200))
    requester_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    requested_by: Mapped[str] = mapped_column(String(100))
    requester_role: Mapped[str] = mapped_column(String(20))
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    request_fingerprint: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(100))  # the request that queued it
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
