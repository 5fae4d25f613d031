"""Jobs (coding runs done by an executor) and batches of charts."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.proposals import CodingRunPublic


class JobError(BaseModel):
    status: int = Field(description="The HTTP status the failure would have had.")
    detail: str


class JobPublic(BaseModel):
    id: int
    kind: Literal["coding_run"]
    chart_id: int
    batch_id: int | None
    status: Literal["queued", "running", "succeeded", "failed", "cancelled"]
    stage: str | None = Field(description="Where a running job is.")
    proposer: str | None
    kb_version: str = Field(description="The knowledge-base version the job is coded with.")
    attempts: int = Field(description="Times a worker started it (more than 1: redelivered).")
    worker: str | None
    run_id: int | None
    error: JobError | None
    requested_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    links: dict[str, str]
    run: CodingRunPublic | None = Field(
        default=None, description="The coding run with its proposals, once succeeded."
    )


class BatchCounts(BaseModel):
    queued: int = 0
    running: int = 0
    succeeded: int = 0
    failed: int = 0
    cancelled: int = 0


class BatchPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str | None
    total: int = Field(description="Charts accepted (each has a job).")
    rejected: list[dict[str, Any]] = Field(
        description="Entries that were not charts, each with where it was and what was wrong."
    )
    proposer: str | None
    created_by: str
    created_at: datetime
    counts: BatchCounts = BatchCounts()
    done: int = Field(default=0, description="Jobs finished (succeeded, failed or cancelled).")
    progress: float = Field(default=0.0, description="done / total, 0..1.")
    finished: bool = False
    links: dict[str, str] = {}


class BatchJobRow(BaseModel):
    job_id: int
    chart_id: int
    external_id: str | None
    status: str
    error: JobError | None
    run_id: int | None


class BatchJobsPage(BaseModel):
    items: list[BatchJobRow]
    total: int
    offset: int
    limit: int
