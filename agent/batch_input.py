"""Many charts at once: JSON lines, a FHIR R4 Bundle of charts, or a directory of notes.

Each entry becomes a Chart through `agent.chart.load_chart`, so a chart in a batch obeys
the same rules as a chart sent alone. One entry that cannot be read is an entry with an
`error` (saying where it was and what was wrong), never the end of the batch; only a batch
that cannot be read at all (or is over the limit) raises BatchError.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from agent.chart import load_chart
from agent.models import Chart, ChartError, ChartMeta

# Bundle types whose entries are separate charts; a "document" Bundle is one chart.
BATCH_BUNDLE_TYPES = ("batch", "transaction", "collection", "searchset")
JSONL_SUFFIXES = (".jsonl", ".ndjson")
CHART_SUFFIXES = (".txt", ".json")  # the files a directory batch reads
EXTERNAL_ID_MAX = 200
# A JSONL line carries its chart in JSON: room for escaping, as POST /charts allows.
_LINE_OVERHEAD = 64 * 1024
_CHART_RESOURCES = ("DocumentReference", "Composition")


class BatchError(ValueError):
    """A batch that cannot be read as a whole (not JSONL nor a batch Bundle, over the
    limit): nothing of it is coded."""


@dataclass(frozen=True)
class BatchEntry:
    position: int  # 1-based order in the batch
    source: str  # where it came from: "charts.jsonl line 12", "notes/a.txt", "b.json entry 3"
    external_id: str | None
    chart: Chart | None  # None when `error` says why there is none
    source_format: str  # "text" or "fhir"
    error: str | None = None


class _ChartLine(BaseModel):
    """One JSONL line: the fields of a POST /charts body."""

    model_config = ConfigDict(extra="forbid")

    text: str | None = None
    fhir: dict[str, Any] | None = None
    external_id: str | None = Field(default=None, max_length=EXTERNAL_ID_MAX)
    meta: ChartMeta = ChartMeta()

    @model_validator(mode="after")
    def _one_source(self) -> _ChartLine:
        if (self.text is None) == (self.fhir is None):
            raise ValueError("give exactly one of text and fhir")
        return self


# ----------------------------------------------------------------------------- bytes


def read_batch_bytes(
    data: bytes, *, name: str, max_chart_bytes: int, max_charts: int | None = None
) -> Iterator[BatchEntry]:
    """The entries of JSON lines (one POST /charts body per line) or of a FHIR Bundle of type
    batch, transaction, collection or searchset (each entry one chart: a DocumentReference
    or a Bundle of type document), told apart by their content. `name` names the batch in
    sources and errors. Raises BatchError (before yielding) for a batch over `max_charts`
    or one that is neither."""
    whole = _parse_whole(data)
    if isinstance(whole, dict) and "resourceType" in whole:
        entries = _bundle_entries(whole, name)
        _check_count(len(entries), name, max_charts)
        return _read_bundle(entries, name, max_chart_bytes)
    lines = data.split(b"\n")
    if whole is _NOT_JSON and not any(_parses_as_object(line) for line in lines):
        raise BatchError(
            f"{name}: neither JSON lines (one chart object per line) nor a FHIR Bundle "
            "(it is not valid JSON)"
        )
    if isinstance(whole, list):
        raise BatchError(f"{name}: a JSON array; send JSON lines (one chart object per line)")
    _check_count(sum(1 for line in lines if line.strip()), name, max_charts)
    return _read_jsonl(lines, name, max_chart_bytes)


_NOT_JSON = object()


def _parse_whole(data: bytes) -> Any:
    """The batch as one JSON value (a Bundle, or JSONL of a single line); _NOT_JSON if it
    is not one."""
    try:
        return json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return _NOT_JSON


def _parses_as_object(line: bytes) -> bool:
    try:
        return isinstance(json.loads(line.decode("utf-8-sig")), dict)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return False


def _check_count(count: int, name: str, max_charts: int | None) -> None:
    if max_charts is not None and count > max_charts:
        raise BatchError(
            f"{name}: {count:,} charts, over the limit of {max_charts:,} charts per batch; split it"
        )


# ----------------------------------------------------------------------------- JSONL


def _read_jsonl(lines: Iterable[bytes], name: str, max_chart_bytes: int) -> Iterator[BatchEntry]:
    position = 0
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue  # blank lines separate nothing
        position += 1
        yield _jsonl_entry(line, position, f"{name} line {number}", max_chart_bytes)


def _jsonl_entry(line: bytes, position: int, source: str, max_chart_bytes: int) -> BatchEntry:
    def failed(problem: str, source_format: str = "text") -> BatchEntry:
        return BatchEntry(position, source, None, None, source_format, f"{source}: {problem}")

    # The line is refused unread when even its JSON is too large to hold a chart in limits.
    limit = 2 * max_chart_bytes + _LINE_OVERHEAD
    if len(line) > limit:
        return failed(f"line is {len(line):,} bytes, over the {limit:,}-byte limit")
    try:
        obj = json.loads(line.decode("utf-8-sig"))
    except UnicodeDecodeError as error:
        return failed(f"not UTF-8: invalid byte at byte offset {error.start}")
    except json.JSONDecodeError as error:
        return failed(f"not valid JSON: {error.msg} at column {error.colno}")
    if not isinstance(obj, dict):
        return failed(f"a JSON {type(obj).__name__}, not an object with text or fhir")
    if "resourceType" in obj:
        return failed('a bare FHIR resource: send it as {"fhir": {...}}', "fhir")
    source_format = "fhir" if "fhir" in obj else "text"
    try:
        body = _ChartLine.model_validate(obj)
    except ValidationError as error:
        return failed(_validation_problem(error), source_format)
    external_id = body.external_id
    if body.fhir is not None and external_id is None:
        try:
            external_id = fhir_external_id(body.fhir)
        except ChartError as error:
            return failed(str(error), source_format)
    data = body.text if body.text is not None else json.dumps(body.fhir)
    try:
        chart = load_chart(data, meta=body.meta, max_bytes=max_chart_bytes, source_name=source)
    except ChartError as error:
        return BatchEntry(position, source, external_id, None, source_format, str(error))
    return BatchEntry(position, source, external_id, chart, source_format)


def _validation_problem(error: ValidationError) -> str:
    """Every problem of a line, each naming its field: "meta.age: ...; unknown key 'x'"."""
    problems = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"])
        if item["type"] == "extra_forbidden":
            problems.append(f"unknown key {where!r} (keys: text or fhir, external_id, meta)")
        else:
            message = str(item["msg"]).removeprefix("Value error, ")
            problems.append(f"{where}: {message}" if where else message)
    return "; ".join(problems)


# ----------------------------------------------------------------------------- Bundle


def _bundle_entries(bundle: dict[str, Any], name: str) -> list[tuple[int, Any]]:
    """(1-based entry number, entry) of each entry that should be a chart: a searchset's
    included resources and outcomes are not matches, so not charts."""
    kind = bundle.get("resourceType")
    bundle_type = bundle.get("type")
    expected = (
        f"expected JSON lines or a FHIR Bundle of type {', '.join(BATCH_BUNDLE_TYPES)} "
        "whose entries are each one chart"
    )
    if kind != "Bundle":
        raise BatchError(
            f"{name}: a single FHIR {kind}, which is one chart, not a batch; {expected}"
        )
    if bundle_type not in BATCH_BUNDLE_TYPES:
        raise BatchError(
            f"{name}: a Bundle of type {bundle_type!r}"
            + (", which is one chart" if bundle_type == "document" else "")
            + f"; {expected}"
        )
    entries = bundle.get("entry") or []
    if not isinstance(entries, list):
        raise BatchError(f"{name}: Bundle.entry is not a list")
    return [
        (number, entry)
        for number, entry in enumerate(entries, 1)
        if not (isinstance(entry, dict) and _search_mode(entry) in ("include", "outcome"))
    ]


def _search_mode(entry: dict[str, Any]) -> Any:
    search = entry.get("search")
    return search.get("mode") if isinstance(search, dict) else None


def _read_bundle(
    entries: list[tuple[int, Any]], name: str, max_chart_bytes: int
) -> Iterator[BatchEntry]:
    for position, (number, entry) in enumerate(entries, 1):
        yield _bundle_entry(entry, position, f"{name} entry {number}", max_chart_bytes)


def _bundle_entry(entry: Any, position: int, source: str, max_chart_bytes: int) -> BatchEntry:
    def failed(problem: str, external_id: str | None = None) -> BatchEntry:
        return BatchEntry(position, source, external_id, None, "fhir", f"{source}: {problem}")

    resource = entry.get("resource") if isinstance(entry, dict) else None
    if not isinstance(resource, dict):
        return failed("no resource")
    kind = resource.get("resourceType")
    is_document = kind == "Bundle" and resource.get("type") == "document"
    if kind not in _CHART_RESOURCES and not is_document:
        what = f"a Bundle of type {resource.get('type')!r}" if kind == "Bundle" else f"a {kind}"
        return failed(
            f"{what}, not a chart: each entry is one chart, a DocumentReference or a Bundle "
            "of type document"
        )
    try:
        external_id = fhir_external_id(resource)
    except ChartError as error:
        return failed(str(error))
    try:
        chart = load_chart(json.dumps(resource), max_bytes=max_chart_bytes, source_name=source)
    except ChartError as error:
        return BatchEntry(position, source, external_id, None, "fhir", str(error))
    return BatchEntry(position, source, external_id, chart, "fhir")


def fhir_external_id(resource: dict[str, Any]) -> str | None:
    """The resource's first identifier value (a list on a DocumentReference, one on a
    Bundle), else its id; ChartError when longer than an external id may be."""
    identifiers = resource.get("identifier")
    if isinstance(identifiers, dict):
        identifiers = [identifiers]
    values = [
        i["value"]
        for i in identifiers or []
        if isinstance(i, dict) and isinstance(i.get("value"), str) and i["value"].strip()
    ]
    found = values[0] if values else resource.get("id")
    if not isinstance(found, str) or not found.strip():
        return None
    if len(found) > EXTERNAL_ID_MAX:
        raise ChartError(
            f"the identifier is {len(found)} characters; an external id holds at most "
            f"{EXTERNAL_ID_MAX}"
        )
    return found


# ----------------------------------------------------------------------------- paths


def is_batch_path(path: Path) -> bool:
    """A directory, a JSON lines file, or a .json whose top level is a Bundle of a batch
    type (a document Bundle, like any other FHIR resource, is one chart)."""
    if path.is_dir():
        return True
    if not path.is_file():
        return False
    if path.suffix.lower() in JSONL_SUFFIXES:
        return True
    if path.suffix.lower() != ".json":
        return False
    try:
        whole = _parse_whole(path.read_bytes())
    except OSError:
        return False
    return (
        isinstance(whole, dict)
        and whole.get("resourceType") == "Bundle"
        and whole.get("type") in BATCH_BUNDLE_TYPES
    )


def read_batch_path(path: Path, *, max_chart_bytes: int) -> Iterator[BatchEntry]:
    """The entries of a directory (its .txt and .json files sorted by name, each one chart
    whose external id is the file's stem), a JSON lines file (read line by line), or a
    FHIR Bundle file as `read_batch_bytes` reads it. Any other file is a batch of one."""
    if path.is_dir():
        folder = path.resolve().name or str(path)
        for position, file in enumerate(directory_charts(path), 1):
            yield _file_entry(file, position, f"{folder}/{file.name}", max_chart_bytes)
    elif path.suffix.lower() in JSONL_SUFFIXES:
        with path.open("rb") as lines:
            yield from _read_jsonl(lines, path.name, max_chart_bytes)
    elif is_batch_path(path):
        yield from read_batch_bytes(
            path.read_bytes(), name=path.name, max_chart_bytes=max_chart_bytes
        )
    else:
        yield _file_entry(path, 1, path.name, max_chart_bytes)


def count_batch_path(path: Path) -> int:
    """How many entries `read_batch_path` yields, found without reading any chart (the
    total a progress bar shows)."""
    if path.is_dir():
        return len(directory_charts(path))
    if path.suffix.lower() in JSONL_SUFFIXES:
        with path.open("rb") as lines:
            return sum(1 for line in lines if line.strip())
    if is_batch_path(path):
        return len(_bundle_entries(_parse_whole(path.read_bytes()), path.name))
    return 1


def directory_charts(path: Path) -> list[Path]:
    """The chart files a directory batch reads, in the order it reads them."""
    files = (p for p in path.iterdir() if p.suffix.lower() in CHART_SUFFIXES and p.is_file())
    return sorted(files, key=lambda p: p.name)


def _file_entry(file: Path, position: int, source: str, max_chart_bytes: int) -> BatchEntry:
    source_format = "fhir" if file.suffix.lower() == ".json" else "text"

    def failed(problem: str) -> BatchEntry:
        return BatchEntry(position, source, file.stem, None, source_format, f"{source}: {problem}")

    try:
        size = file.stat().st_size
        if size > max_chart_bytes:  # refused unread, as load_chart would refuse it
            return failed(f"chart is {size:,} bytes, over the {max_chart_bytes:,}-byte limit")
        data = file.read_bytes()
    except OSError as error:
        return failed(f"cannot be read ({error.strerror or error})")
    try:
        chart = load_chart(data, max_bytes=max_chart_bytes, source_name=source)
    except ChartError as error:
        return BatchEntry(position, source, file.stem, None, source_format, str(error))
    return BatchEntry(position, source, file.stem, chart, source_format)
