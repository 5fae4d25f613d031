"""Settings read from the environment (prefix MEDCODER_) or a .env file; read only at the edge."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

EMBEDDING_MODEL_NAME = "all-MiniLM-L6-v2-int8"


def default_home() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "medcoder"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MEDCODER_", env_file=".env", extra="ignore")

    home: Path = Field(
        default_factory=default_home,
        description="Directory for all state: knowledge-base versions, caches, the database.",
    )
    data_dir: Path | None = Field(
        default=None,
        description="Where reference files (CMS code-set downloads, CodiEsp, models) are read "
        "from; same as --data-dir.",
    )
    embedding_model_dir: Path | None = Field(
        default=None,
        description="Folder with the all-MiniLM-L6-v2 int8 model.onnx and tokenizer.json. "
        "Default: <data_dir>/models/all-MiniLM-L6-v2-int8, else the model the current KB was "
        "built with, else <home>/models/all-MiniLM-L6-v2-int8.",
    )
    kb_years: str | None = Field(
        default=None,
        description="Fiscal years `kb build` builds, comma-separated (2026,2027); default: "
        "FY2026 and every later year whose addenda are in the data dir.",
    )
    embedder: Literal["onnx", "openai"] = Field(
        default="onnx", description="Which embedder the knowledge base uses for vectors."
    )
    openai_embedding_model: str = Field(
        default="text-embedding-3-small", description="Embedding model when embedder=openai."
    )
    openai_embedding_dimension: int = Field(
        default=1536, description="Vector size of openai_embedding_model."
    )
    openai_api_key: SecretStr | None = Field(
        default=None,
        validation_alias="OPENAI_API_KEY",
        description="Key for OpenAI (or a server that wants one); read here only, at the edge.",
    )
    llm_base_url: str | None = Field(
        default=None,
        description="OpenAI-compatible base URL (OpenAI, vLLM, Ollama, llama.cpp server). "
        "With no LLM configured the deterministic offline proposer is used.",
    )
    llm_model: str | None = Field(default=None, description="Model name sent to the LLM server.")
    llm_timeout_s: float = Field(default=60.0, description="Per-request LLM timeout in seconds.")
    tiktoken_cache_dir: Path | None = Field(
        default=None,
        description="Folder of tiktoken BPE files named by the sha1 of their URL (offline use). "
        "Default: prepared under <home> from <data_dir>/tiktoken when present.",
    )

    llm_fallback: Literal["offline", "fail"] = Field(
        default="offline",
        description="When the LLM is down, slow or answers garbage: fall back to the offline "
        "proposer (and chat answerer), or fail the run (and the chat answer).",
    )
    llm_max_retries: int = Field(default=2, description="Retries of a failed LLM request.")
    llm_context_tokens: int = Field(
        default=16000,
        ge=2000,
        description="Context window the LLM prompt is sized to; longer charts are coded in parts.",
    )
    llm_max_tool_rounds: int = Field(
        default=1,
        ge=0,
        description="Extra LLM calls per chart (part) for knowledge-base tool results or one "
        "request for valid JSON; 0 sends no tools.",
    )
    llm_price_input_per_1k: float = Field(
        default=0.0, ge=0, description="USD per 1,000 prompt tokens, for the cost estimate."
    )
    llm_price_output_per_1k: float = Field(
        default=0.0, ge=0, description="USD per 1,000 completion tokens, for the cost estimate."
    )
    llm_deidentify: bool = Field(
        default=True,
        description="Replace identifiers (names, dates, record numbers, contacts, addresses, "
        "ages over 89: the HIPAA Safe Harbor list) with placeholders in everything sent to "
        "the LLM; citations still point into the real chart. Turn off only for a model that "
        "may see PHI (one run inside the organisation).",
    )
    max_chart_bytes: int = Field(
        default=1_000_000, description="Largest chart accepted, in bytes of UTF-8 text."
    )
    drg_weights_file: Path | None = Field(
        default=None,
        description="The CMS IPPS Table 5 file (CSV or tab-separated) whose relative weights "
        "GET /charts/{id}/drg shows; without it, no weight is shown.",
    )

    database_url: str | None = Field(
        default=None,
        description="Review database (SQLAlchemy URL), e.g. postgresql+psycopg://user@host/db. "
        "Default: a SQLite file <home>/review.sqlite in WAL mode.",
    )
    sqlite_synchronous: Literal["NORMAL", "FULL"] = Field(
        default="NORMAL",
        description="SQLite durability: NORMAL keeps every acknowledged write through a killed "
        "process; FULL also through a power cut, at the cost of an fsync per commit.",
    )
    db_pool_size: int = Field(default=20, ge=1, description="PostgreSQL connections kept open.")
    coding_concurrency: int = Field(
        default=2, ge=1, description="Coding runs the API executes at once (others wait)."
    )
    coding_deadline_s: float = Field(
        default=120.0,
        gt=0,
        description="A coding run over HTTP that takes longer is stopped (503); nothing of it "
        "is kept.",
    )
    coding_runs_per_user: int = Field(
        default=2, ge=1, description="Coding runs one user may have under way at once (429)."
    )
    queue_url: str | None = Field(
        default=None,
        description="redis://host:6379/0 runs coding jobs on Celery workers (`medcoder worker`) "
        "instead of in the API process; unset: the in-process executor (no extra service).",
    )
    queue_visibility_s: float = Field(
        default=3600,
        gt=0,
        description="A job a worker took but never acknowledged (the worker died) is handed "
        "to another worker after this many seconds; keep it above the longest coding run.",
    )
    worker_concurrency: int = Field(
        default=1, ge=1, description="Coding jobs one `medcoder worker` process runs at once."
    )
    batch_max_bytes: int = Field(
        default=50_000_000, ge=1, description="Largest body POST /batches accepts (413)."
    )
    batch_max_charts: int = Field(
        default=5000, ge=1, description="Most charts one batch may hold (422)."
    )
    chroma_url: str | None = Field(
        default=None,
        description="http://host:8000 of a Chroma server holding the KB's vectors (client/"
        "server mode, shared by several machines); unset: the embedded Chroma in the KB folder.",
    )
    key_days: int | None = Field(
        default=None,
        ge=1,
        le=3650,
        description="Lifetime in days of keys issued from now on (users create, rotate-key); "
        "none: keys do not expire. A request may ask for its own lifetime.",
    )
    auth_max_failures: int = Field(
        default=10,
        ge=1,
        description="Failed authentications from one client address within auth_lockout_s "
        "after which that address is refused (429) until the window passes.",
    )
    auth_lockout_s: float = Field(
        default=300.0, gt=0, description="The window, in seconds, of auth_max_failures."
    )
    session_minutes: int = Field(
        default=480,
        ge=1,
        le=10_080,
        description="How long a browser sign-in lasts (the cookie expires then too); "
        "a coder signs in again after it.",
    )
    sign_in_max_failures: int = Field(
        default=5,
        ge=1,
        description="Wrong passwords for one user name within auth_lockout_s after which "
        "that name is refused (429) until the window passes (per address: auth_max_failures).",
    )
    secure_cookies: bool = Field(
        default=False,
        description="Mark the session cookie Secure even when this server itself sees plain "
        "HTTP (set it behind a TLS-terminating proxy); over HTTPS it is always Secure.",
    )
    api_threads: int = Field(
        default=4, ge=1, description="Threads serving blocking API work (database, coding)."
    )
    max_suite_bytes: int = Field(
        default=20_000_000, description="Largest JSONL suite accepted by POST /evals/upload."
    )
    eval_max_cases: int = Field(
        default=2000,
        ge=1,
        description="Most cases one evaluation run over HTTP may take from a coder (a larger "
        "limit, or a larger suite sent without one, is refused); a lead may run whole suites.",
    )
    eval_max_workers: int = Field(
        default=2, ge=1, description="Most worker threads one evaluation run over HTTP may ask."
    )
    eval_queue_max: int = Field(
        default=4,
        ge=1,
        description="Evaluation runs queued or running at once; one more is answered 429.",
    )
    eval_runs_per_user: int = Field(
        default=2, ge=1, description="Evaluation runs one user may have queued or running."
    )
    eval_keep_days: float = Field(
        default=30,
        ge=0,
        description="Run folders of evaluation runs over HTTP untouched this many days are "
        "removed by housekeeping (never an active run).",
    )
    idempotency_hours: float = Field(
        default=24,
        gt=0,
        description="How long a POST's Idempotency-Key replays its first answer; older stored "
        "answers are ignored and removed by housekeeping (the key then acts afresh).",
    )
    housekeeping_interval_s: float = Field(
        default=3600,
        ge=0,
        description="Seconds between the API's housekeeping passes (old evaluation runs, "
        "expired idempotency answers); 0 turns them off (run `medcoder db housekeeping`).",
    )
    preload_agent: bool = Field(
        default=True, description="Load the knowledge base and agent when the API starts."
    )
    page_size_max: int = Field(default=200, ge=1, description="Largest page a list returns.")
    restrict_to_assigned: bool = Field(
        default=False,
        description="Minimum necessary: a coder sees and works only charts assigned to them "
        "or to no one (others answer 404 as if absent); leads and auditors see every chart.",
    )
    chat_question_max_chars: int = Field(
        default=2000, ge=1, description="Longest chat question accepted, in characters (422)."
    )
    chat_messages_max: int = Field(
        default=100,
        ge=1,
        description="Messages one chat conversation holds; past that a question is refused "
        "(409) and a new conversation is started.",
    )

    @property
    def review_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'review.sqlite'}"

    @property
    def llm_mode(self) -> Literal["offline", "llm"]:
        return "llm" if self.llm_model and (self.llm_base_url or self.openai_api_key) else "offline"
