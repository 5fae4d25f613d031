"""Who runs coding jobs, chosen by one setting: threads in this process (the default; no other
service) or Celery workers on Redis (MEDCODER_QUEUE_URL), possibly on other machines."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Protocol

from retrieval.layout import KBLayout
from wiring.settings import Settings

if TYPE_CHECKING:
    from celery import Celery
    from sqlalchemy.orm import Session, sessionmaker

    from agent.pipeline import CodingAgent
    from review.job_runner import JobRunner

log = logging.getLogger("medcoder.jobs")

CODE_CHART_TASK = "medcoder.code_chart"


class JobExecutor(Protocol):
    name: str

    def submit(self, job_id: int, *, kb_version: str) -> None: ...

    def close(self) -> None: ...


class InProcessExecutor:
    """Jobs on a few threads of this process: coding is CPU-bound or waits on an LLM, and
    the API's request threads stay free for decisions and reads meanwhile."""

    name = "in-process"

    def __init__(self, run: Callable[[int], str], threads: int) -> None:
        self._run = run
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="medcoder-job")

    def submit(self, job_id: int, *, kb_version: str) -> None:
        self._pool.submit(self._run_logged, job_id)

    def _run_logged(self, job_id: int) -> None:
        try:
            self._run(job_id)
        except Exception as error:  # the runner records failures; this is a bug in it
            log.error("job %s: the runner itself failed: %s", job_id, type(error).__name__)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


class CeleryExecutor:
    """Jobs as messages on Redis for `medcoder worker` processes. Each KB version has its
    own queue, so a job is only ever taken by a worker that codes with the same KB."""

    name = "celery"

    def __init__(self, app: Celery) -> None:
        self._app = app

    def submit(self, job_id: int, *, kb_version: str) -> None:
        self._app.send_task(CODE_CHART_TASK, args=[job_id], queue=queue_name(kb_version))

    def close(self) -> None:
        self._app.close()


def queue_name(kb_version: str) -> str:
    return f"medcoder.coding.{kb_version}"


def kb_version(settings: Settings) -> str:
    """The id of the KB this process codes with: its version folder's name. Nodes that
    copy one build (not rebuild it) share the id; see the README's deployment section."""
    return KBLayout(settings.home).current().name


def make_celery(settings: Settings) -> Celery:
    from celery import Celery

    if not settings.queue_url:
        raise ValueError("MEDCODER_QUEUE_URL is not set (redis://host:6379/0)")
    app = Celery("medcoder", broker=settings.queue_url)
    app.conf.update(
        # Acknowledge a message only when its job is done, and hand it to another worker
        # when the one running it dies: the job row makes a second delivery harmless.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_transport_options={
            "visibility_timeout": settings.queue_visibility_s,
            # Look for abandoned messages every few seconds (a cheap sorted-set read), not
            # kombu's default of about every 100 s.
            "unacked_restore_interval": max(1, min(10, int(settings.queue_visibility_s / 4))),
            "unacked_restore_throttle": 1,
        },
        broker_connection_retry_on_startup=True,
        task_ignore_result=True,  # results live in the review database, not in Redis
        task_serializer="json",
        accept_content=["json"],
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
    )
    return app


def make_job_runner(
    settings: Settings,
    sessions: sessionmaker[Session],
    readers: sessionmaker[Session],
    agent_for: Callable[[str | None], CodingAgent],
    worker: str | None = None,
) -> JobRunner:
    from review.job_runner import JobRunner

    return JobRunner(
        sessions=sessions,
        readers=readers,
        agent_for=agent_for,
        kb_version=kb_version(settings),
        worker=worker or f"{socket.gethostname()}:{os.getpid()}",
        deadline_s=settings.coding_deadline_s,
    )


def make_executor(settings: Settings, runner: Callable[[], JobRunner]) -> JobExecutor:
    """The executor the settings select; `runner` is asked on first use (it needs the KB)."""
    if settings.queue_url:
        return CeleryExecutor(make_celery(settings))
    return InProcessExecutor(lambda job_id: runner().run(job_id), settings.coding_concurrency)
