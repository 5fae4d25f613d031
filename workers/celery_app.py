"""The Celery worker: coding jobs from Redis, with its services built once per process.

`medcoder worker` consumes the queue of the KB version this machine holds, so a job queued
for another version waits for a worker that has it instead of being coded differently."""

from __future__ import annotations

import logging
import os
import socket
import threading
from typing import TYPE_CHECKING, Any

from wiring.agents import Agents
from wiring.jobs import CODE_CHART_TASK, kb_version, make_celery, make_job_runner, queue_name
from wiring.settings import Settings

if TYPE_CHECKING:
    from celery import Celery

    from review.job_runner import JobRunner

log = logging.getLogger("medcoder.worker")

# A job whose run could not even be recorded (the database was unreachable) is tried again
# this many times, this many seconds apart, before its message is given up.
STORE_RETRIES = 12
STORE_RETRY_S = 5


class WorkerServices:
    """What the tasks of one worker process share: the database sessions, the agents and
    the job runner, built on first use and kept for the life of the process."""

    def __init__(self, settings: Settings, name: str) -> None:
        self.settings = settings
        self.name = name
        self.agents = Agents(settings)
        self._runner: JobRunner | None = None
        self._lock = threading.Lock()

    def runner(self) -> JobRunner:
        with self._lock:
            if self._runner is None:
                from review.db import make_engine, read_sessions, sessions

                engine = make_engine(
                    self.settings.review_database_url,
                    sqlite_synchronous=self.settings.sqlite_synchronous,
                    pool_size=max(2, self.settings.worker_concurrency + 1),
                )
                self._runner = make_job_runner(
                    self.settings,
                    sessions(engine),
                    read_sessions(engine),
                    self.agents.get,
                    worker=self.name,
                )
            return self._runner

    def warm(self) -> None:
        """Load the KB and the configured agent before taking the first job."""
        self.runner()
        self.agents.get(None)


def create_worker_app(settings: Settings, services: WorkerServices) -> Celery:
    app = make_celery(settings)

    @app.task(name=CODE_CHART_TASK, bind=True)  # type: ignore[untyped-decorator]
    def code_chart(task: Any, job_id: int) -> str:
        try:
            return services.runner().run(job_id)
        except Exception as error:  # the database, not the job: try again shortly
            log.warning("job %s could not be run (%s); retrying", job_id, type(error).__name__)
            raise task.retry(countdown=STORE_RETRY_S, max_retries=STORE_RETRIES) from None

    return app


def run_worker(settings: Settings, *, name: str | None = None) -> None:
    """Start a worker in this process (blocks until it is stopped)."""
    worker_name = name or f"medcoder@{socket.gethostname()}:{os.getpid()}"
    services = WorkerServices(settings, worker_name)
    version = kb_version(settings)
    services.warm()
    app = create_worker_app(settings, services)
    concurrency = settings.worker_concurrency
    log.info("worker %s codes with KB %s from queue %s", worker_name, version, queue_name(version))
    app.worker_main(
        [
            "worker",
            "--queues",
            queue_name(version),
            # One process per worker that holds the KB once: the job runs in it (solo), or
            # on threads of it sharing the one agent.
            "--pool",
            "solo" if concurrency == 1 else "threads",
            "--concurrency",
            str(concurrency),
            "--hostname",
            worker_name,
            "--without-gossip",
            "--without-mingle",
            "--loglevel",
            "INFO",
        ]
    )
