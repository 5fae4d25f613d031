"""Housekeeping: what the service keeps only for a while is removed once it is due (old
evaluation run folders, expired idempotency answers), periodically from the API and once
from `medcoder db housekeeping`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

import anyio.to_thread

from api.services import Services
from review.audit import now
from review.db import transaction
from review.idempotency import expire_responses

log = logging.getLogger("medcoder.housekeeping")


def run_housekeeping(services: Services) -> dict[str, int]:
    """One pass; how many of each thing it removed."""
    settings = services.settings
    runs = services.eval_jobs.remove_older_than(settings.eval_keep_days)
    with transaction(services.sessions) as session:
        answers = expire_responses(
            session, older_than=now() - timedelta(hours=settings.idempotency_hours)
        )
    return {"eval_runs_removed": runs, "idempotent_responses_expired": answers}


def periodic(services: Services, every_s: float) -> asyncio.Task[None]:
    """A task running a pass now and then every `every_s` seconds until cancelled; a failed
    pass is logged and the next one tried, so a database hiccup does not end the task."""

    async def loop() -> None:
        while True:
            try:
                # Blocking work (database, file removal) off the event loop.
                counts = await anyio.to_thread.run_sync(run_housekeeping, services)
                if any(counts.values()):
                    log.info("housekeeping: %s", counts)
            except Exception as error:
                log.warning("housekeeping failed: %s", type(error).__name__)
            await asyncio.sleep(every_s)

    return asyncio.create_task(loop(), name="medcoder-housekeeping")


async def stop(task: asyncio.Task[None]) -> None:
    """Cancel the task and wait until it has stopped (a pass in a thread finishes first)."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
