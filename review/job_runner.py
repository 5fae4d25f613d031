"""Doing a coding job: the same steps whichever executor runs it (a thread in the API process
or a Celery worker on another machine). The runner gets its collaborators as arguments."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from agent.chart import build_chart
from agent.models import Chart, ChartError, RunStopped, StopCheck
from agent.pipeline import CodingAgent
from agent.proposers.base import ProposerError
from retrieval.errors import KnowledgeBaseError
from review.charts import chart_meta, get_chart
from review.db import transaction
from review.errors import Conflict, ReviewError
from review.jobs import FINISHED, fail_job, finish_job, job_status, start_job
from review.tables import JobRow

log = logging.getLogger("medcoder.jobs")

# How often a running job looks whether it was cancelled (one indexed read each time).
CANCEL_POLL_S = 0.5


def describe_failure(error: Exception) -> tuple[int, str]:
    """An HTTP status and a message for the coder; an unexpected error is named by type
    only, since its message may quote the chart."""
    if isinstance(error, RunStopped):
        return 503, f"the coding run was stopped: {error}; nothing of it was saved"
    if isinstance(error, ProposerError):
        return 502, f"the proposer failed: {error}"
    if isinstance(error, KnowledgeBaseError):
        return 503, f"knowledge base unavailable: {error}"
    if isinstance(error, ChartError):
        return 422, str(error)
    if isinstance(error, ReviewError):
        return error.status, error.detail
    return 500, f"unexpected {type(error).__name__} while coding; see the worker's log"


@dataclass
class JobRunner:
    sessions: sessionmaker[Session]
    readers: sessionmaker[Session]
    agent_for: Callable[[str | None], CodingAgent]
    kb_version: str  # the KB this process codes with
    worker: str  # who runs it, for the job row and the log
    deadline_s: float

    def run(self, job_id: int) -> str:
        """Do the job; returns what became of it (succeeded, failed, cancelled, or
        'skipped' when it was already finished: a duplicate delivery)."""
        with transaction(self.sessions) as session:
            job = session.get(JobRow, job_id)
            if job is None:
                log.warning("job %s does not exist; message dropped", job_id)
                return "skipped"
            if job.status in FINISHED:
                log.info("job %s is already %s; duplicate delivery skipped", job_id, job.status)
                return "skipped"
            if job.kb_version != self.kb_version:
                detail = (
                    f"{self.worker} codes with knowledge base {self.kb_version}, but the job "
                    f"was queued for {job.kb_version}; start workers on that version"
                )
                fail_job(session, job_id=job_id, status=503, detail=detail)
                log.error("job %s refused: %s", job_id, detail)
                return "failed"
            if not start_job(session, job_id=job_id, worker=self.worker):
                return "skipped"
            proposer = job.proposer
            try:
                chart = self._chart(session, job.chart_id)
            except ReviewError as error:
                return self._failed(job_id, error)
        started = time.monotonic()
        try:
            agent = self.agent_for(proposer)
            result = agent.code(chart, stop=self._stop_check(job_id, started))
        except Exception as error:  # every failure is recorded on the job, none lost
            return self._failed(job_id, error)
        try:
            with transaction(self.sessions) as session:
                run, stored = finish_job(session, job_id=job_id, result=result)
        except ReviewError as error:  # e.g. a coder decided on proposals meanwhile
            return self._failed(job_id, error)
        if not stored:
            with transaction(self.readers) as session:
                final = job_status(session, job_id=job_id) or "skipped"
            log.info("job %s was %s before it could be stored; nothing stored", job_id, final)
            return final
        log.info("job %s succeeded (run %s) in %.0f ms", job_id, run and run.id, _ms(started))
        return "succeeded"

    def _chart(self, session: Session, chart_id: int) -> Chart:
        row = get_chart(session, chart_id=chart_id)
        if row.status == "committed":
            raise Conflict(f"chart {chart_id} is committed; a lead must reopen it first")
        return build_chart(row.text, chart_meta(row), chart_id=str(chart_id))

    def _stop_check(self, job_id: int, started: float) -> StopCheck:
        deadline = started + self.deadline_s
        last_poll = started

        def check() -> str | None:
            nonlocal last_poll
            moment = time.monotonic()
            if moment > deadline:
                return f"it ran over {self.deadline_s:g} s (MEDCODER_CODING_DEADLINE_S)"
            if moment - last_poll >= CANCEL_POLL_S:
                last_poll = moment
                with transaction(self.readers) as session:
                    if job_status(session, job_id=job_id) == "cancelled":
                        return "the job was cancelled"
            return None

        return check

    def _failed(self, job_id: int, error: Exception) -> str:
        status, detail = describe_failure(error)
        with transaction(self.sessions) as session:
            recorded = fail_job(session, job_id=job_id, status=status, detail=detail)
            final = "failed" if recorded else (job_status(session, job_id=job_id) or "failed")
        # The type and status only: an exception's message may quote the chart.
        log.warning("job %s %s: %s (%s)", job_id, final, type(error).__name__, status)
        return final


def _ms(started: float) -> float:
    return (time.monotonic() - started) * 1000
