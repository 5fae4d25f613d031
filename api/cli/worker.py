"""`medcoder worker`: a Celery worker coding jobs from the queue (MEDCODER_QUEUE_URL)."""

from __future__ import annotations

from typing import Annotated

import typer


def worker_command(
    name: Annotated[
        str | None, typer.Option(help="Worker name in logs and job rows (default host:pid).")
    ] = None,
    concurrency: Annotated[
        int | None,
        typer.Option(
            min=1, help="Jobs this process runs at once (default MEDCODER_WORKER_CONCURRENCY)."
        ),
    ] = None,
) -> None:
    """Code charts from the job queue: loads the knowledge base once, then takes jobs queued
    for this KB version until stopped (Ctrl-C finishes the job under way first). Needs
    MEDCODER_QUEUE_URL (redis://...) and the review database the API uses
    (MEDCODER_DATABASE_URL)."""
    import logging

    from api.cli.common import console, fail, load_settings, user_errors
    from review.db import upgrade
    from wiring.jobs import kb_version, queue_name
    from workers.celery_app import run_worker

    settings = load_settings()
    if concurrency is not None:
        settings = settings.model_copy(update={"worker_concurrency": concurrency})
    if not settings.queue_url:
        fail("set MEDCODER_QUEUE_URL (e.g. redis://127.0.0.1:6379/0) to run a worker", 2)
    if settings.database_url is None:
        console.print(
            "[yellow]warning:[/] no MEDCODER_DATABASE_URL: this worker stores runs in the local "
            "SQLite file, which only an API on this machine can see",
            highlight=False,
        )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    with user_errors():
        upgrade(settings.review_database_url)
        version = kb_version(settings)
        console.print(
            f"medcoder worker: KB {version}, queue {queue_name(version)}, "
            f"{settings.worker_concurrency} at a time; loading the knowledge base ...",
            highlight=False,
        )
        run_worker(settings, name=name)
