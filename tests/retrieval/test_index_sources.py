"""Alphabetic Index parsers against the real FY2025 files and against broken input."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

from retrieval.errors import SourceError
from retrieval.records import IndexEntry
from retrieval.sources.alphabetic_index import CSV_HEADER, parse_index_csv, parse_index_xml

CSV_NAME = "icd10cm-2025/derived_ICD10CM_2025_Index.csv"
EINDEX_NAME = "icd10cm-2025/icd-10-cm-eindex-2025.xml"
HEADER_LINE = ",".join(CSV_HEADER) + "\n"


@pytest.fixture(scope="module")
def csv_entries(shared_data: Path) -> list[IndexEntry]:
    return list(parse_index_csv(shared_data / CSV_NAME))


@pytest.fixture(scope="module")
def eindex_entries(shared_data: Path) -> list[IndexEntry]:
    return list(parse_index_xml(shared_data / EINDEX_NAME, index="eindex"))


def by_path(entries: list[IndexEntry], *path: str) -> IndexEntry:
    found = [e for e in entries if e.path == path]
    assert len(found) == 1, f"{len(found)} entries at {path}"
    return found[0]


def assert_parent_before_child(entries: list[IndexEntry]) -> None:
    """Each subterm's path extends the path of the latest entry one level up."""
    latest: dict[int, IndexEntry] = {}
    for entry in entries:
        depth = len(entry.path)
        if entry.path[-1].startswith("Note:"):
            continue  # a note opens no level
        assert len(entry.modifiers) == depth
        if depth > 1:
            parent = latest[depth - 1]
            assert entry.path[:-1] == parent.path, entry
            assert entry.modifiers[:-1] == parent.modifiers, entry
        latest[depth] = entry


def raise_for(parse: Callable[[Path], Iterable[object]], path: Path) -> SourceError:
    with pytest.raises(SourceError) as caught:
        list(parse(path))
    return caught.value


def assert_points_at(error: SourceError, path: Path, line: int | None) -> None:
    assert error.path == path
    assert error.line == line
    where = f"{path}:{line}" if line is not None else str(path)
    assert str(error).startswith(f"{where}: ")


# --------------------------------------------------------------------------- real CSV


def test_csv_yields_one_entry_per_row_with_rowid(csv_entries: list[IndexEntry]) -> None:
    assert len(csv_entries) == 81_024
    assert [e.entry_id for e in csv_entries[:3]] == ["1", "2", "3"]
    assert csv_entries[-1].entry_id == "81024"
    assert sum(1 for e in csv_entries if len(e.path) == 1) == 8_100
    assert max(len(e.path) for e in csv_entries) == 10  # Level 9 is the deepest
    assert {e.index for e in csv_entries} == {"cm"}


def test_csv_rebuilds_nesting(csv_entries: list[IndexEntry]) -> None:
    basilar = by_path(csv_entries, "Aberrant", "artery", "basilar NEC")
    assert basilar.code == "Q28.1"
    assert basilar.entry_id == "14"
    assert basilar.source_id == "index:cm:14"
    assert basilar.modifiers == ("(congenital)", "(peripheral)", "")
    assert by_path(csv_entries, "Aberrant", "artery", "cerebral").code == "Q28.3"
    assert_parent_before_child(csv_entries)


def test_csv_note_rows_open_no_level(csv_entries: list[IndexEntry]) -> None:
    # RowID 34684 is a note on heart failure stages at Level 1; the Level 2 rows after it
    # are subterms of "heart", not of the note.
    heart = ("Failure, failed", "heart")
    assert by_path(csv_entries, *heart, "systolic").code == "I50.20"
    assert by_path(csv_entries, *heart, "systolic", "acute", "and").code == "I50.23"
    assert by_path(csv_entries, *heart, "stage A").code == "Z91.89"
    note = next(e for e in csv_entries if e.entry_id == "34684")
    assert note.path[0] == "Failure, failed" and len(note.path) == 2
    assert not any(len(e.path) > 2 and e.path[1].startswith("Note:") for e in csv_entries)


def test_csv_see_and_see_also(csv_entries: list[IndexEntry]) -> None:
    abandonment = by_path(csv_entries, "Abandonment")
    assert (abandonment.see, abandonment.code) == ("Maltreatment", None)
    aberrant = by_path(csv_entries, "Aberrant")
    assert aberrant.see_also == "Malposition, congenital"
    assert aberrant.modifiers == ("(congenital)",)
    assert csv_entries[-1].path == ("Zymotic",)
    assert csv_entries[-1].see == "condition"


def test_csv_text_is_normalised(csv_entries: list[IndexEntry]) -> None:
    # The file has "chromosomes,  female" (two spaces) on RowID 112.
    entry = next(e for e in csv_entries if e.entry_id == "112")
    assert entry.path[-1] == "with more than three X chromosomes, female"
    assert entry.code == "Q97.1"
    assert not any("  " in part for e in csv_entries for part in e.path + e.modifiers)


def test_csv_keeps_rows_whose_term_is_only_a_modifier(csv_entries: list[IndexEntry]) -> None:
    entry = next(e for e in csv_entries if e.entry_id == "28602")
    assert entry.path == ("Disorder", "persistent", "")
    assert entry.modifiers[-1] == "(somatoform)"
    assert entry.code == "F45.41"
    assert sum(1 for e in csv_entries if e.path[-1] == "") == 5


def test_csv_reads_non_ascii_terms(csv_entries: list[IndexEntry]) -> None:
    assert by_path(csv_entries, "Österreicher-Turner syndrome").code == "Q87.2"


# --------------------------------------------------------------------------- real eindex XML


def test_eindex_counts_and_ids(eindex_entries: list[IndexEntry]) -> None:
    assert len(eindex_entries) == 8_064  # 314 mainTerm + 7,750 term elements
    assert sum(1 for e in eindex_entries if len(e.path) == 1) == 314
    assert [e.entry_id for e in eindex_entries] == [str(i) for i in range(1, 8_065)]
    assert max(len(e.path) for e in eindex_entries) == 9
    assert eindex_entries[0].source_id == "index:eindex:1"
    assert_parent_before_child(eindex_entries)


def test_eindex_title_keeps_words_after_the_modifier(eindex_entries: list[IndexEntry]) -> None:
    first = eindex_entries[0]
    assert first.path == ("Abandonment NEC",)
    assert first.modifiers == (
        "(causing exposure to weather conditions) (with intent to injure or kill)",
    )
    assert first.code == "X58"
    airport = by_path(eindex_entries, "Accident", "transport", "airport passenger vehicle")
    assert airport.modifiers[-1] == "(battery-powered)"


def test_eindex_nested_codes_and_references(eindex_entries: list[IndexEntry]) -> None:
    powered = by_path(eindex_entries, "Accident", "boat, boating", "striking swimmer", "powered")
    assert powered.code == "V94.11"
    assert powered.modifiers == ("(to)", "", "", "")
    aircraft = by_path(eindex_entries, "Accident", "aircraft")
    assert (aircraft.code, aircraft.see_also) == (None, "Accident, transport, aircraft")
    cataclysm = by_path(eindex_entries, "Accident", "aircraft", "due to, caused by cataclysm")
    assert cataclysm.see == "Forces of nature, by type"


def test_eindex_category_references_become_see(eindex_entries: list[IndexEntry]) -> None:
    lightning = by_path(eindex_entries, "Lightning")
    assert (lightning.code, lightning.see) == (None, "subcategory T75.0")
    strangulation = by_path(eindex_entries, "Strangulation")
    assert (strangulation.code, strangulation.see) == (None, "category T71")


def test_eindex_double_spaces_are_collapsed(eindex_entries: list[IndexEntry]) -> None:
    # Line 12421 of the file reads <title>in  war operations</title>.
    entry = by_path(eindex_entries, "Asphyxia, asphyxiation", "in war operations")
    assert entry.see == "War operations, restriction of airway"


# --------------------------------------------------------------------------- bad XML


def test_truncated_xml_reports_the_end_line(shared_data: Path, tmp_path: Path) -> None:
    lines = (shared_data / EINDEX_NAME).read_text(encoding="utf-8").splitlines(keepends=True)
    broken = tmp_path / "eindex-truncated.xml"
    broken.write_text("".join(lines[:500]) + lines[500][:12], encoding="utf-8")
    error = raise_for(parse_index_xml, broken)
    assert_points_at(error, broken, 501)
    assert "not well-formed XML" in error.message


def test_corrupt_xml_reports_the_line(tmp_path: Path) -> None:
    broken = tmp_path / "corrupt.xml"
    broken.write_text(
        "<ICD10CM.index>\n<letter><title>A</title>\n<mainTerm>\n"
        "<title>Abuse</titel>\n</mainTerm></letter></ICD10CM.index>\n"
    )
    assert_points_at(raise_for(parse_index_xml, broken), broken, 4)


def test_empty_file_is_a_source_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty.xml"
    empty.write_text("")
    assert raise_for(parse_index_xml, empty).path == empty


def test_wrong_root_is_named(tmp_path: Path) -> None:
    tabular = tmp_path / "tabular.xml"
    tabular.write_text('<?xml version="1.0"?>\n<ICD10CM.tabular><version>2025</version>\n')
    error = raise_for(parse_index_xml, tabular)
    assert_points_at(error, tabular, 2)
    assert "<ICD10CM.tabular>" in error.message
    assert "<ICD10CM.index>" in error.message


def test_table_file_is_refused_as_index(shared_data: Path) -> None:
    neoplasm = shared_data / "icd10cm-2025/icd-10-cm-neoplasm-2025.xml"
    error = raise_for(parse_index_xml, neoplasm)
    assert error.path == neoplasm
    assert "table file" in error.message


def test_cells_without_headings_are_refused(tmp_path: Path) -> None:
    table_like = tmp_path / "cells.xml"
    table_like.write_text(
        "<ICD10CM.index><letter><title>A</title>\n"
        "<mainTerm><title>Abuse</title><code>X58</code></mainTerm>\n"
        '<mainTerm><title>Acid</title><cell col="2">T54.2X1</cell></mainTerm>\n'
        "</letter></ICD10CM.index>"
    )
    error = raise_for(parse_index_xml, table_like)
    assert_points_at(error, table_like, 3)
    assert "table file" in error.message


def test_level_attribute_must_match_nesting(tmp_path: Path) -> None:
    skipped = tmp_path / "levels.xml"
    skipped.write_text(
        "<ICD10CM.index><letter><title>A</title>\n<mainTerm><title>Abuse</title>\n"
        '<term level="2"><title>child</title><code>T74.12</code></term>\n'
        "</mainTerm></letter></ICD10CM.index>"
    )
    error = raise_for(parse_index_xml, skipped)
    assert_points_at(error, skipped, 3)
    assert 'level="2"' in error.message


def test_missing_file_is_a_source_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.xml"
    assert_points_at(raise_for(parse_index_xml, missing), missing, None)


# --------------------------------------------------------------------------- bad CSV


def test_csv_with_wrong_header_names_file_and_expected_header(tmp_path: Path) -> None:
    wrong = tmp_path / "codes.csv"
    wrong.write_text("Code,Description\nA00,Cholera\n")
    error = raise_for(parse_index_csv, wrong)
    assert_points_at(error, wrong, 1)
    assert ",".join(CSV_HEADER) in error.message
    assert "Code,Description" in error.message


def test_index_xml_passed_as_csv_fails_on_header(shared_data: Path) -> None:
    eindex = shared_data / EINDEX_NAME
    assert_points_at(raise_for(parse_index_csv, eindex), eindex, 1)


def test_csv_level_jump_reports_line(shared_data: Path, tmp_path: Path) -> None:
    with (shared_data / CSV_NAME).open(encoding="utf-8") as real:
        head = [next(real) for _ in range(20)]  # header + RowIDs 1..19, last at Level 2
    broken = tmp_path / "jump.csv"
    broken.write_text("".join(head) + "20,A,4,too deep,,,,Q28.1\n", encoding="utf-8")
    error = raise_for(parse_index_csv, broken)
    assert_points_at(error, broken, 21)
    assert "Level 4" in error.message


def test_csv_first_row_must_be_a_main_term(tmp_path: Path) -> None:
    broken = tmp_path / "orphan.csv"
    broken.write_text(HEADER_LINE + "1,A,1,artery,,,,Q27.8\n")
    assert_points_at(raise_for(parse_index_csv, broken), broken, 2)


def test_csv_non_numeric_level_reports_line(tmp_path: Path) -> None:
    broken = tmp_path / "level.csv"
    broken.write_text(HEADER_LINE + "1,A,0,Aberrant,,,,\n2,A,one,artery,,,,Q27.8\n")
    error = raise_for(parse_index_csv, broken)
    assert_points_at(error, broken, 3)
    assert "'one'" in error.message


def test_csv_truncated_row_reports_line(tmp_path: Path) -> None:
    broken = tmp_path / "short.csv"
    broken.write_text(HEADER_LINE + "1,A,0,Aberrant,,,,\n2,A,1,arte")
    error = raise_for(parse_index_csv, broken)
    assert_points_at(error, broken, 3)
    assert "found 4" in error.message


def test_csv_unterminated_quote_reports_line(tmp_path: Path) -> None:
    broken = tmp_path / "quote.csv"
    broken.write_text(HEADER_LINE + '1,A,0,"Aberrant,,,,\n')
    assert_points_at(raise_for(parse_index_csv, broken), broken, 2)


def test_csv_duplicate_row_id_is_refused(tmp_path: Path) -> None:
    broken = tmp_path / "dup.csv"
    broken.write_text(HEADER_LINE + "1,A,0,Aberrant,,,,\n1,A,1,artery,,,,Q27.8\n")
    assert_points_at(raise_for(parse_index_csv, broken), broken, 3)


def test_csv_bad_code_is_refused(tmp_path: Path) -> None:
    broken = tmp_path / "code.csv"
    broken.write_text(HEADER_LINE + "1,A,0,Aberrant,,,,(congenital)\n")
    assert_points_at(raise_for(parse_index_csv, broken), broken, 2)


def test_csv_not_utf8_reports_line(tmp_path: Path) -> None:
    broken = tmp_path / "latin1.csv"
    broken.write_bytes(
        HEADER_LINE.encode() + "1,A,0,Aarskog,,,,Q87.19\n2,O,0,Ö,,,,\n".encode("latin-1")
    )
    assert_points_at(raise_for(parse_index_csv, broken), broken, 3)


def test_csv_with_header_only_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "header.csv"
    empty.write_text(HEADER_LINE)
    assert raise_for(parse_index_csv, empty).path == empty
