"""Reading batches: JSON lines, FHIR Bundles of charts, directories; limits and bad entries."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from agent.batch_input import (
    BatchEntry,
    BatchError,
    count_batch_path,
    is_batch_path,
    read_batch_bytes,
    read_batch_path,
)

LIMIT = 10_000


def _docref(note: str, **extra: Any) -> dict[str, Any]:
    data = base64.b64encode(note.encode()).decode()
    content = [{"attachment": {"contentType": "text/plain", "data": data}}]
    return {"resourceType": "DocumentReference", "status": "current", "content": content} | extra


def _bundle(*resources: dict[str, Any], kind: str = "batch") -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": kind, "entry": [{"resource": r} for r in resources]}


def _jsonl(*lines: Any) -> bytes:
    return b"\n".join(x if isinstance(x, bytes) else json.dumps(x).encode() for x in lines)


def _read(data: bytes, **limits: Any) -> list[BatchEntry]:
    options = {"max_chart_bytes": LIMIT} | limits
    return list(read_batch_bytes(data, name="charts.jsonl", **options))


# ----------------------------------------------------------------------------- JSONL


def test_jsonl_good_lines_become_charts_with_their_meta_and_ids() -> None:
    entries = _read(
        _jsonl(
            {"text": "Acute appendicitis.", "external_id": "A-1", "meta": {"age": 40}},
            b"",
            {"fhir": _docref("Type 2 diabetes.", id="doc-7"), "meta": {"setting": "outpatient"}},
        )
    )
    assert [e.position for e in entries] == [1, 2]
    # The blank line is skipped but still counted in line numbers.
    assert [e.source for e in entries] == ["charts.jsonl line 1", "charts.jsonl line 3"]
    first, second = entries
    assert first.error is None and first.chart is not None
    assert first.chart.text == "Acute appendicitis." and first.chart.meta.age == 40
    assert (first.external_id, first.source_format) == ("A-1", "text")
    assert second.chart is not None and "diabetes" in second.chart.text
    assert second.chart.meta.setting == "outpatient"
    # Without an external_id, a FHIR chart is known by its resource id.
    assert (second.external_id, second.source_format) == ("doc-7", "fhir")


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        (b'{"text": "Pneumonia."', "not valid JSON"),
        (b'["Pneumonia."]', "not an object"),
        (b'{"text": "Pneumonia.", "notes": "x"}', "unknown key 'notes'"),
        (b'{"external_id": "x"}', "exactly one of text and fhir"),
        (b'{"text": "a", "fhir": {}}', "exactly one of text and fhir"),
        (b'{"text": "   "}', "empty"),
        (b'{"text": "Pneumonia.", "meta": {"age": -4}}', "meta.age"),
        (b'{"text": "Pneumonia.", "meta": {"discharge_date": "15/11/2026"}}', "YYYY-MM-DD"),
        (json.dumps({"text": "Flu.", "external_id": "x" * 201}).encode(), "external_id"),
        (json.dumps({"text": "Flu. " * 3000}).encode(), "over the 10,000-byte limit"),
        (b'{"text": "caf\xe9"}', "not UTF-8"),
        (json.dumps({"fhir": {"resourceType": "DocumentReference", "status": 3}}).encode(), "FHIR"),
        (json.dumps(_docref("Flu.")).encode(), "bare FHIR resource"),
    ],
)
def test_a_bad_line_is_a_failed_entry_naming_its_line(line: bytes, problem: str) -> None:
    good = {"text": "Acute appendicitis."}
    entries = _read(_jsonl(good, line, good))
    assert [e.error is None for e in entries] == [True, False, True]
    bad = entries[1]
    assert bad.chart is None and bad.position == 2
    assert bad.error is not None
    assert bad.error.startswith("charts.jsonl line 2: ") and problem in bad.error


def test_too_many_lines_is_refused_before_any_entry() -> None:
    data = _jsonl(*({"text": f"Chart {n}: pneumonia."} for n in range(4)))
    assert len(_read(data, max_charts=4)) == 4
    with pytest.raises(BatchError, match=r"big\.jsonl: 4 charts, over the limit of 3"):
        next(read_batch_bytes(data, name="big.jsonl", max_chart_bytes=LIMIT, max_charts=3))


def test_neither_jsonl_nor_bundle_is_a_batch_error() -> None:
    pretty_but_broken = b'{\n  "resourceType": "Bundle",\n  "type": "batch",\n  "entry": [\n'
    with pytest.raises(BatchError, match="neither JSON lines"):
        _read(pretty_but_broken)
    with pytest.raises(BatchError, match="JSON array"):
        _read(b'[{"text": "Flu."}]')


# ----------------------------------------------------------------------------- Bundle


def test_bundle_of_document_references_and_a_document_bundle() -> None:
    document = _bundle(_docref("Chronic kidney disease stage 3."), kind="document")
    document["identifier"] = {"system": "urn:x", "value": "DOC-3"}
    bundle = _bundle(
        _docref("Acute appendicitis.", identifier=[{"value": "MRN-1"}], id="r1"),
        {"resourceType": "Patient", "id": "p1"},
        document,
        _docref("   "),
        kind="collection",
    )
    entries = list(
        read_batch_bytes(json.dumps(bundle).encode(), name="b.json", max_chart_bytes=LIMIT)
    )
    assert [e.source for e in entries] == [f"b.json entry {n}" for n in (1, 2, 3, 4)]
    assert all(e.source_format == "fhir" for e in entries)
    first, patient, doc, empty = entries
    assert first.chart is not None and first.chart.text == "Acute appendicitis."
    assert first.external_id == "MRN-1"  # the identifier wins over the id
    assert patient.chart is None and patient.error is not None
    assert patient.error.startswith("b.json entry 2: a Patient, not a chart")
    assert doc.chart is not None and "kidney" in doc.chart.text and doc.external_id == "DOC-3"
    assert empty.chart is None and empty.error is not None and "b.json entry 4" in empty.error


def test_searchset_includes_are_not_charts_and_limits_count_charts() -> None:
    bundle = _bundle(_docref("Flu."), _docref("Gout."), kind="searchset")
    bundle["entry"].append({"resource": {"resourceType": "Patient"}, "search": {"mode": "include"}})
    data = json.dumps(bundle).encode()
    entries = list(read_batch_bytes(data, name="s.json", max_chart_bytes=LIMIT, max_charts=2))
    assert [e.error for e in entries] == [None, None]
    with pytest.raises(BatchError, match="over the limit of 1"):
        read_batch_bytes(data, name="s.json", max_chart_bytes=LIMIT, max_charts=1)


@pytest.mark.parametrize(
    ("resource", "problem"),
    [
        (_bundle(_docref("Flu."), kind="document"), "type 'document', which is one chart"),
        (_docref("Flu."), "a single FHIR DocumentReference"),
        (_bundle(_docref("Flu."), kind="history"), "type 'history'"),
    ],
)
def test_a_fhir_resource_that_is_not_a_batch_is_refused(resource: dict, problem: str) -> None:
    with pytest.raises(BatchError, match=problem):
        _read(json.dumps(resource).encode())


# ----------------------------------------------------------------------------- paths


def test_directory_reads_txt_and_json_sorted_each_one_chart(tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "b.txt").write_text("Essential hypertension.")
    (notes / "a.json").write_text(json.dumps(_docref("Asthma.")))
    (notes / "c.json").write_text('{"resourceType": "DocumentReference", "status": 1}')
    (notes / "d.txt").write_text("x" * (LIMIT + 1))
    (notes / "readme.md").write_text("not a chart")
    assert is_batch_path(notes) and count_batch_path(notes) == 4
    entries = list(read_batch_path(notes, max_chart_bytes=LIMIT))
    assert [e.source for e in entries] == [
        "notes/a.json",
        "notes/b.txt",
        "notes/c.json",
        "notes/d.txt",
    ]
    assert [e.external_id for e in entries] == ["a", "b", "c", "d"]
    assert [e.source_format for e in entries] == ["fhir", "text", "fhir", "text"]
    assert entries[0].chart is not None and entries[0].chart.text == "Asthma."
    assert entries[1].chart is not None and entries[1].chart.text == "Essential hypertension."
    for failed in entries[2:]:
        assert failed.chart is None and failed.error is not None
        assert failed.error.startswith(f"{failed.source}: ")
    assert entries[3].error is not None and "over the 10,000-byte limit" in entries[3].error


def test_paths_tell_batches_from_single_charts(tmp_path: Path) -> None:
    files = {
        "charts.jsonl": _jsonl({"text": "Flu."}, b"", {"text": "Gout."}),
        "batch.json": json.dumps(_bundle(_docref("Flu."), _docref("Gout."))).encode(),
        "document.json": json.dumps(_bundle(_docref("Flu."), kind="document")).encode(),
        "note.json": json.dumps(_docref("Flu.")).encode(),
        "note.txt": b"Flu.",
        "broken.json": b'{"resourceType": "Bundle", "type": "batch"',
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    batches = {name for name in files if is_batch_path(tmp_path / name)}
    assert batches == {"charts.jsonl", "batch.json"}
    assert not is_batch_path(tmp_path / "missing.jsonl")
    for name in ("charts.jsonl", "batch.json"):
        entries = list(read_batch_path(tmp_path / name, max_chart_bytes=LIMIT))
        assert len(entries) == count_batch_path(tmp_path / name) == 2
        assert [e.chart.text if e.chart else None for e in entries] == ["Flu.", "Gout."]
    assert entries[1].source == "batch.json entry 2"
    # Any other file is a batch of one, known by its stem.
    (single,) = read_batch_path(tmp_path / "note.txt", max_chart_bytes=LIMIT)
    assert (single.source, single.external_id, single.error) == ("note.txt", "note", None)
