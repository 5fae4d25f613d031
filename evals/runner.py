"""Run a coding agent over a suite into a run directory, one case at a time, resumably.

The runner is handed its collaborators (the agent, an optional progress callback); it reads
no settings and draws nothing on screen, so the CLI and an HTTP background task share it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from agent.chart import build_chart
from agent.models import Chart, CodingResult, Policy
from evals.records import CaseRecord, CodeLookup, case_record
from evals.rundir import (
    METRICS_FILE,
    RUN_FILE,
    CaseWriter,
    RunError,
    read_info,
    read_records,
    write_json,
)
from evals.scoring import score_run
from evals.suite import Case, Suite

Progress = Callable[[int, int], None]  # (cases finished, cases in the suite)


class _HasStore(Protocol):
    @property
    def store(self) -> CodeLookup: ...


class Agent(Protocol):
    """What the runner needs of agent.pipeline.CodingAgent."""

    @property
    def searcher(self) -> _HasStore: ...

    @property
    def kb_release(self) -> str: ...

    def code(
        self, chart: Chart, policy: Policy = "claims", *, year: int | None = None
    ) -> CodingResult: ...


@dataclass
class RunSummary:
    run_dir: Path
    suite: str
    status: str  # finished | interrupted
    total: int  # cases in the suite
    done: int  # cases with a record, this run and earlier ones
    resumed: int  # of those, finished by an earlier run of the same directory
    metrics: dict[str, Any]


def run_suite(
    suite: Suite,
    agent: Agent,
    out_dir: Path,
    workers: int = 1,
    progress: Progress | None = None,
    info: Mapping[str, Any] | None = None,
    policy: Policy | None = None,
) -> RunSummary:
    """Code every case not yet recorded in `out_dir` and score the run.

    `info` goes into run.json as is (proposer, model, settings that matter). An exception
    from the agent stops the run (status "interrupted" in run.json) and is raised again;
    the finished cases stay on disk and a later call with the same `out_dir` continues.
    `policy` overrides the suite's own (claims, or mentions for CodiEsp)."""
    chosen: Policy = policy or suite.policy
    out_dir.mkdir(parents=True, exist_ok=True)
    earlier = _earlier_records(out_dir, suite)
    wanted = {case.case_id for case in suite.cases}
    finished = {record.id for record in earlier if record.id in wanted}
    pending = [case for case in suite.cases if case.case_id not in finished]
    run_info = _start_info(out_dir, suite, agent, workers, info, resumed=len(finished))
    if read_info_policy(out_dir) not in (None, chosen):
        raise RunError(f"{out_dir}: holds a run under another coding policy than {chosen!r}")
    run_info["policy"] = chosen
    write_json(out_dir / RUN_FILE, run_info)
    done = len(finished)
    if progress:
        progress(done, len(suite.cases))
    try:
        with CaseWriter(out_dir) as writer:
            for record in _coded(pending, agent, workers, chosen, suite.year):
                writer.append(record)
                done += 1
                if progress:
                    progress(done, len(suite.cases))
    except BaseException as error:  # KeyboardInterrupt too: the run.json must say so
        run_info |= {"status": "interrupted", "error": f"{type(error).__name__}: {error}"}
        write_json(out_dir / RUN_FILE, _finish(run_info, out_dir))
        raise
    records = [r for r in read_records(out_dir) if r.id in wanted]
    metrics = score_run(records, suite.systems)
    write_json(out_dir / METRICS_FILE, metrics)
    write_json(out_dir / RUN_FILE, _finish(run_info | {"status": "finished"}, out_dir))
    resumed = len(finished)
    return RunSummary(out_dir, suite.name, "finished", len(suite.cases), done, resumed, metrics)


def _earlier_records(out_dir: Path, suite: Suite) -> list[CaseRecord]:
    if not (out_dir / RUN_FILE).exists():
        return []
    before = read_info(out_dir)
    if before["suite"] != suite.name:
        raise RunError(f"{out_dir}: holds a run of suite {before['suite']!r}, not {suite.name!r}")
    return read_records(out_dir, repair=True)


def read_info_policy(out_dir: Path) -> str | None:
    """The policy an earlier run in `out_dir` used (None when there is none)."""
    if not (out_dir / RUN_FILE).exists():
        return None
    policy = read_info(out_dir).get("policy")
    return str(policy) if policy else None


def code_case(
    case: Case, agent: Agent, policy: Policy = "claims", year: int | None = None
) -> CaseRecord:
    """One case coded in fiscal `year` (None: the year of its date of service) and checked
    against that year's code set."""
    chart = build_chart(case.text, case.meta, chart_id=case.case_id)
    started = time.perf_counter()
    result = agent.code(chart, policy, year=year)
    latency = (time.perf_counter() - started) * 1000
    return case_record(case, result, latency, agent.searcher.store.for_year(result.fiscal_year))


def _coded(
    cases: list[Case], agent: Agent, workers: int, policy: Policy, year: int | None = None
) -> Iterator[CaseRecord]:
    """Records as cases finish. With several workers, the first failure cancels the cases
    not started; those already running are still yielded before the failure is raised."""
    if workers <= 1:
        for case in cases:
            yield code_case(case, agent, policy, year)
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        running: set[Future[CaseRecord]] = set()
        queue = iter(cases)
        failure: BaseException | None = None
        while True:
            while failure is None and len(running) < workers * 2:
                following = next(queue, None)
                if following is None:
                    break
                running.add(pool.submit(code_case, following, agent, policy, year))
            if not running:
                break
            finished, running = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                error = future.exception()
                if error is None:
                    yield future.result()
                elif failure is None:
                    failure = error
        if failure is not None:
            raise failure


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _start_info(
    out_dir: Path,
    suite: Suite,
    agent: Agent,
    workers: int,
    info: Mapping[str, Any] | None,
    resumed: int,
) -> dict[str, Any]:
    before = read_info(out_dir) if (out_dir / RUN_FILE).exists() else {}
    return {
        "suite": suite.name,
        "source": suite.source,
        "systems": list(suite.systems),
        "cases": len(suite.cases),
        "kb_release": agent.kb_release,
        # The code set the suite is scored in ("by date": each case's date of service).
        "fiscal_year": suite.year if suite.year is not None else "by date",
        "proposer": getattr(getattr(agent, "proposer", None), "name", None),
        "model": None,
        "prompt_version": None,
        "workers": workers,
        **dict(info or {}),
        "started": before.get("started", _now()),
        "resumed": resumed,
        "status": "running",
        "error": None,
    }


def _finish(run_info: dict[str, Any], out_dir: Path) -> dict[str, Any]:
    """Stamp the end time, and the model and prompt version the finished cases report."""
    records = read_records(out_dir)
    model = next((r.model for r in records if r.model), run_info.get("model"))
    prompt = next((r.prompt_version for r in records if r.prompt_version), None)
    return run_info | {
        "finished": _now(),
        "model": model,
        "prompt_version": prompt or run_info.get("prompt_version"),
        "done": len(records),
    }
