"""`medcoder code DIR | FILE.jsonl | BUNDLE.json --out FILE`: code many charts, resumably.

One JSON line per chart goes to --out, flushed as soon as the chart is done, so a run that
is stopped (Ctrl-C, a kill) loses at most the chart it was coding: run the same command
again and the charts already coded are skipped, the failed ones tried again.

The top level stays light (see api.cli.common): the agent, Rich's progress bar and the
batch reader are imported when a batch runs."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

import typer

from api.cli.common import console, errors, fail, user_errors

if TYPE_CHECKING:
    from agent.batch_input import BatchEntry
    from agent.pipeline import CodingAgent
    from wiring.settings import Settings

INTERRUPTED_EXIT = 130  # the shell's code for a command stopped by Ctrl-C


@dataclass
class Tally:
    coded: int = 0
    failed: int = 0
    skipped: int = 0  # coded by an earlier run into the same --out
    started: float = 0.0

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def rate(self) -> float:
        elapsed = self.elapsed()
        return (self.coded + self.failed) / elapsed if elapsed > 0 else 0.0

    def summary(self) -> str:
        return (
            f"coded {self.coded}, failed {self.failed}, skipped {self.skipped} already done, "
            f"{self.elapsed():.1f} s, {self.rate():.2f} charts/s"
        )


def run_batch(
    source: Path, out: Path, *, settings: Settings, proposer: str | None, setting: str | None
) -> None:
    """Code every chart of `source` into `out` (JSON lines), skipping those `out` already
    holds as coded. `setting`, when given, is every chart's care setting. Exits 1 when a
    chart failed, 130 when interrupted."""
    from agent.batch_input import BatchError, count_batch_path, read_batch_path
    from wiring.adapters import make_agent

    try:
        total = count_batch_path(source)
    except (BatchError, OSError) as error:
        fail(str(error))
    if total == 0:
        fail(f"{source}: no charts in it (a directory batch reads its .txt and .json files)")
    done = resume(out)
    tally = Tally()
    with user_errors():
        agent = make_agent(settings, proposer)
        tally.started = time.perf_counter()
        try:
            with out.open("a", encoding="utf-8") as sink, _progress_bar() as progress:
                task = progress.add_task("coding", total=total, rate="")
                for entry in read_batch_path(source, max_chart_bytes=settings.max_chart_bytes):
                    if entry.source in done:
                        tally.skipped += 1  # the bar counts this run's charts only
                        progress.update(task, total=total - tally.skipped)
                        continue
                    line = code_entry(agent, entry, setting)
                    write_line(sink, line)
                    if line["status"] == "coded":
                        tally.coded += 1
                    else:
                        tally.failed += 1
                        progress.console.print(
                            f"[red]failed:[/] {line['error']}", highlight=False, soft_wrap=True
                        )
                    progress.update(task, advance=1, rate=f"{tally.rate():.2f} charts/s")
        except BatchError as error:
            fail(f"{error} ({tally.summary()})")
        except KeyboardInterrupt:
            _interrupted(tally, out)
    console.print(f"{tally.summary()}; results in {out}", highlight=False, soft_wrap=True)
    if tally.failed:
        fail(
            f"{tally.failed} of {tally.coded + tally.failed} charts failed: see the lines with "
            f'"status": "failed" in {out} (run the same command again to retry them)'
        )


def _progress_bar() -> Any:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=errors,
    )


def _interrupted(tally: Tally, out: Path) -> NoReturn:
    errors.print(
        f"interrupted: {tally.summary()}; results so far are in {out}. Run the same command "
        "again to resume: charts already coded are skipped.",
        highlight=False,
        soft_wrap=True,
    )
    raise typer.Exit(INTERRUPTED_EXIT)


def code_entry(agent: CodingAgent, entry: BatchEntry, setting: str | None) -> dict[str, Any]:
    """The output line of one entry: its result, or why it has none (a chart that could
    not be read, a year the KB does not hold, a proposer that failed, ...)."""
    from agent.models import ChartError
    from agent.proposers.base import ProposerError

    line: dict[str, Any] = {"source": entry.source, "external_id": entry.external_id}
    chart = entry.chart
    if chart is None:
        return line | {"status": "failed", "error": entry.error, "result": None}
    if setting is not None:
        chart = chart.model_copy(
            update={"meta": chart.meta.model_copy(update={"setting": setting})}
        )
    try:
        result = agent.code(chart)
    except ChartError as error:  # a date of service in a year the KB does not hold
        problem = str(error)
    except ProposerError as error:
        problem = f"the {agent.proposer.name} proposer failed: {error}"
    except Exception as error:  # one chart's bug must not stop the batch; the KB's does
        from retrieval.errors import KnowledgeBaseError

        if isinstance(error, KnowledgeBaseError):
            raise
        problem = f"coding failed unexpectedly ({type(error).__name__}: {error})"
    else:
        return line | {"status": "coded", "error": None, "result": result.model_dump(mode="json")}
    return line | {"status": "failed", "error": f"{entry.source}: {problem}", "result": None}


def write_line(sink: TextIO, line: dict[str, Any]) -> None:
    # One write per line, flushed: a kill leaves at most the last line partial.
    sink.write(json.dumps(line, ensure_ascii=False) + "\n")
    sink.flush()


def resume(out: Path) -> set[str]:
    """The sources `out` holds as coded. The file is rewritten without its failed lines
    (they are tried again) and without a partial last line left by a killed run. A file
    that is not batch results is refused rather than rewritten."""
    if out.is_dir():
        fail(f"--out {out}: a directory; give a file name such as results.jsonl", 2)
    if not out.exists():
        return set()
    raw = out.read_bytes()
    complete, _, partial = raw.rpartition(b"\n")
    kept: list[bytes] = []
    coded: set[str] = set()
    written = 0
    for number, line in enumerate(complete.split(b"\n") if complete else [], 1):
        if not line.strip():
            continue
        written += 1
        status, source = _result_line(line)
        if source is None:
            fail(
                f"--out {out} line {number} is not a batch result line; give a new file or "
                "the results file of this batch",
                2,
            )
        if status == "coded":
            kept.append(line)
            coded.add(source)
    if len(kept) != written or partial:
        _replace(out, kept)
    return coded


def _result_line(line: bytes) -> tuple[str | None, str | None]:
    """(status, source) of an output line; (None, None) when it is not one."""
    try:
        obj = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None, None
    if not isinstance(obj, dict) or not isinstance(obj.get("source"), str):
        return None, None
    return obj.get("status"), obj["source"]


def _replace(out: Path, lines: list[bytes]) -> None:
    # Written beside and renamed over: a kill while rewriting leaves the old file whole.
    temporary = out.with_name(out.name + ".partial")
    temporary.write_bytes(b"".join(line + b"\n" for line in lines))
    os.replace(temporary, out)
