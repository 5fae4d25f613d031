"""The FY2026 tabular from simple-icd-10-cm: titles, billable flags, notes, 7th characters."""

from __future__ import annotations

import pytest

from retrieval.records import CodeRecord
from retrieval.sources.tabular import parse_tabular


@pytest.fixture(scope="module")
def tabular() -> dict[str, CodeRecord]:
    return {record.code: record for record in parse_tabular()}


def test_counts_match_the_fy2026_code_list(tabular: dict[str, CodeRecord]) -> None:
    billable = [r for r in tabular.values() if r.billable]
    # The April 2026 FY2026 code list has 74,719 billable codes; 22 chapters.
    assert len(billable) == 74_719
    assert {"B20", "F99", "R99", "Z66"} <= {r.code for r in billable}
    assert sum(r.kind == "chapter" for r in tabular.values()) == 22
    assert all(r.system == "cm" for r in billable)


def test_category_is_not_billable_and_leaf_is(tabular: dict[str, CodeRecord]) -> None:
    assert not tabular["E11"].billable
    assert not tabular["E11.2"].billable
    assert tabular["E11.22"].billable
    assert tabular["E11.22"].parent == "E11.2"
    assert tabular["E11.22"].chapter == "4"


def test_use_additional_code_note_on_e11_22(tabular: dict[str, CodeRecord]) -> None:
    notes = [n for n in tabular["E11.22"].notes if n.kind == "use_additional_code"]
    assert notes and "N18.1-N18.6" in notes[0].text
    assert notes[0].defined_at == "E11.22"


def test_category_notes_carry_excludes1_and_includes(tabular: dict[str, CodeRecord]) -> None:
    kinds = {(n.kind, n.text) for n in tabular["E11"].notes}
    assert ("excludes1", "type 1 diabetes mellitus (E10.-)") in kinds
    assert any(kind == "includes" for kind, _ in kinds)


def test_seventh_character_codes_are_expanded_with_placeholder(
    tabular: dict[str, CodeRecord],
) -> None:
    fracture = tabular["S72.001A"]
    assert fracture.billable and fracture.kind == "extension"
    assert fracture.title.endswith("initial encounter for closed fracture")
    assert not tabular["S72.001"].billable
    # Placeholder X pads short codes to six characters before the 7th.
    assert tabular["T36.0X1A"].billable
    assert "T36.01A" not in tabular
    definitions = [n for n in tabular["S72"].notes if n.kind == "seven_chr_def"]
    assert any(n.text.startswith("A: initial encounter for closed fracture") for n in definitions)


def test_inclusion_terms(tabular: dict[str, CodeRecord]) -> None:
    assert "Myocardial infarction (acute) NOS" in tabular["I21.9"].inclusion_terms
