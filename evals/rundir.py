"""A run directory on disk: run.json (what ran, with what), cases.jsonl (one line per finished
case, appended and synced one at a time) and metrics.json (written when the run finishes)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from pydantic import ValidationError

from evals.records import CaseRecord

RUN_FILE = "run.json"
CASES_FILE = "cases.jsonl"
METRICS_FILE = "metrics.json"


class RunError(ValueError):
    """A run directory that cannot be read as given; names the file (and line)."""


@dataclass
class Run:
    path: Path
    info: dict[str, Any]
    records: list[CaseRecord]

    @property
    def systems(self) -> tuple[str, ...]:
        return tuple(self.info.get("systems", ("cm", "pcs")))


def load_run(run_dir: Path) -> Run:
    return Run(run_dir, read_info(run_dir), read_records(run_dir))


def read_info(run_dir: Path) -> dict[str, Any]:
    path = run_dir / RUN_FILE
    if not path.is_file():
        raise RunError(f"{run_dir}: not a run directory (no {RUN_FILE})")
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise RunError(f"{path}: not valid JSON ({error})") from None
    if not isinstance(info, dict) or "suite" not in info:
        raise RunError(f"{path}: not a run description (no 'suite')")
    return info


def write_json(path: Path, payload: dict[str, Any]) -> None:
    """Written beside and renamed over, so a reader never sees half a file."""
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")
    partial.replace(path)


def read_records(run_dir: Path, repair: bool = False) -> list[CaseRecord]:
    """The finished cases. A last line cut short (the process died while writing it) is
    ignored, and with `repair` removed from the file; any other bad line is an error."""
    path = run_dir / CASES_FILE
    if not path.is_file():
        return []
    *complete, unfinished = path.read_bytes().split(b"\n")
    if unfinished and repair:  # every record is written with its newline: this one was cut
        _truncate_last_line(path, len(unfinished))
    records = []
    for number, line in enumerate(complete, start=1):
        if not line.strip():
            continue
        try:
            records.append(CaseRecord.model_validate_json(line))
        except ValidationError as error:
            problem = error.errors()[0]["msg"]
            raise RunError(f"{path}:{number}: not a case record ({problem})") from None
    return records


def _truncate_last_line(path: Path, length: int) -> None:
    with path.open("r+b") as handle:
        handle.truncate(path.stat().st_size - length)


class CaseWriter:
    """Appends records to cases.jsonl; each is on disk (fsync) before the next case starts
    counting as finished, so an interrupted run loses at most the cases in flight."""

    def __init__(self, run_dir: Path) -> None:
        self._handle = (run_dir / CASES_FILE).open("a", encoding="utf-8")

    def append(self, record: CaseRecord) -> None:
        self._handle.write(record.model_dump_json() + "\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def __enter__(self) -> CaseWriter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._handle.close()
