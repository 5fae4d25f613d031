"""PCS codes built axis by axis (root operation, body part, approach, device, qualifier) from
what a procedure statement documents, against the session knowledge base. Statements
invented; each expected code is checked by its title's axes, not only by its characters."""

from __future__ import annotations

import pytest

from agent.candidates import find_candidates
from agent.chart import build_chart
from agent.lexicon import Lexicon
from agent.mentions import find_mentions
from agent.procedures import (
    build_codes,
    converted_inspection,
    documented_approach,
    root_operation,
)
from retrieval.search import HybridSearcher
from retrieval.store import KnowledgeStore


@pytest.mark.parametrize(
    ("statement", "operation"),
    [
        ("gastric biopsy", "Excision"),
        ("colonoscopy with polypectomy", "Excision"),
        ("partial colectomy", "Excision"),
        ("total colectomy", "Resection"),
        ("ovaries taken out", "Resection"),
        ("stent placed in the LAD", "Dilation"),
        ("feeding tube placed", "Insertion"),
        ("tubes tied", "Occlusion"),
        ("diagnostic colonoscopy", "Inspection"),
        ("hip arthroplasty", "Replacement"),
        ("reviewed labs", None),
    ],
)
def test_root_operation_is_the_objective(statement: str, operation: str | None) -> None:
    found = root_operation(statement)
    assert (found[0] if found else None) == operation


@pytest.mark.parametrize(
    ("statement", "approach"),
    [
        ("laparoscopic appendectomy", "Percutaneous Endoscopic"),
        ("colonoscopy with biopsy", "Via Natural or Artificial Opening Endoscopic"),
        ("removed through a scope", "Percutaneous Endoscopic"),
        ("open reduction", "Open"),
        ("lumbar puncture", "Percutaneous"),
        ("endotracheal intubation", "Via Natural or Artificial Opening"),
        ("appendectomy", None),
    ],
)
def test_approach_is_read_as_documented(statement: str, approach: str | None) -> None:
    assert documented_approach(statement) == approach


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ("appendix removed through a scope", "0DTJ4ZZ"),
        ("gallbladder removed through an open incision", "0FT40ZZ"),
        ("tonsils taken out", "0CTPXZZ"),  # through the mouth: External
        ("tubes tied laparoscopically", "0UL74ZZ"),  # plural: both tubes
        ("esophagogastroduodenoscopy with gastric biopsy", "0DB68ZX"),  # diagnostic
        ("right total knee replacement", "0SRC0JZ"),  # no cement documented
        ("left knee arthroscopy", "0SJD4ZZ"),
        ("lumbar puncture, diagnostic", "009U3ZX"),
        ("cystoscopy", "0TJB8ZZ"),
        # The body part key: an antrum biopsy is coded to the pylorus.
        ("EGD with biopsy of the gastric antrum", "0DB78ZX"),
        ("EGD: esophageal varices, 5 bands applied", "06L38CZ"),
        # Fluid taken out is a Drainage; a tube left in to drain is one with its device.
        ("R thoracentesis, percutaneous, 1.4 L removed", "0W993ZZ"),
        ("pigtail catheter inserted percutaneously into the R pleural space", "0W9930Z"),
        ("diagnostic paracentesis", "0W9G3ZX"),
    ],
)
def test_build_codes_first_code(store: KnowledgeStore, statement: str, expected: str) -> None:
    built = build_codes(store, statement)
    assert built, statement
    record, score = built[0]
    assert record.code == expected, [r.code for r, _ in built]
    assert 0 < score <= 1
    assert [s for _, s in built] == sorted((s for _, s in built), reverse=True)


def test_build_codes_keeps_the_documented_side_and_approach(store: KnowledgeStore) -> None:
    titles = [r.title for r, _ in build_codes(store, "left total hip replacement, open", limit=10)]
    assert titles  # the left hip (or its surfaces), open, never the right one
    assert all("Left Hip Joint" in t and t.endswith("Open Approach") for t in titles), titles
    assert not build_codes(store, "left total hip replacement through a needle")


def test_nothing_is_built_without_a_documented_body_part(store: KnowledgeStore) -> None:
    assert build_codes(store, "sutures removed") == []
    assert build_codes(store, "patient placed on telemetry") == []


def test_the_scope_is_not_coded_beside_the_biopsy_it_took(store: KnowledgeStore) -> None:
    sentence = "colonoscopy with sigmoid polypectomy"
    assert build_codes(store, "colonoscopy", sentence) == []
    assert build_codes(store, sentence, sentence)[0][0].code == "0DBN8ZZ"


def test_lay_procedure_becomes_a_mention_with_built_candidates(searcher: HybridSearcher) -> None:
    lexicon = Lexicon.from_store(searcher.store)
    chart = build_chart("Tonsils taken out last week. Appendix removed through a scope today.")
    mentions = find_mentions(chart, lexicon)
    procedures = [m for m in mentions if m.kind == "procedure"]
    assert {m.text for m in procedures} >= {"Tonsils taken out", "Appendix removed"}
    candidates = find_candidates(chart, mentions, searcher, lexicon)
    by_mention = {
        mentions[c.mention_index].text: c.code for c in reversed(candidates) if c.via == "table"
    }
    assert by_mention["Tonsils taken out"] == "0CTPXZZ"
    assert by_mention["Appendix removed"] == "0DTJ4ZZ"


def test_a_laparoscopy_converted_to_open_is_the_open_procedure(store: KnowledgeStore) -> None:
    statement = "laparoscopic cholecystectomy converted to open cholecystectomy"
    assert documented_approach(statement) == "Open"
    assert build_codes(store, statement)[0][0].code == "0FT40ZZ"
    # ... and a laparoscopic Inspection of the same body part beside it (B3.2d).
    inspection = converted_inspection(store, statement)
    assert inspection is not None and inspection.code == "0FJ44ZZ"
    assert converted_inspection(store, "laparoscopic cholecystectomy") is None
