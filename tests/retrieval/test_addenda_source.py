"""The CMS code-file addenda: the real FY2027 files, discovery, and malformed input."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval.discover import discover_sources
from retrieval.errors import SourceError
from retrieval.sources.addenda import AddendaChange, parse_addenda

CM_NAME = "icd10cm-2027/icd10cm_codes_addenda_2027.txt"
PCS_NAME = "icd10pcs-2027/icd10pcs_codes_addenda_2027.txt"


def test_real_cm_addenda_agree_with_their_summary(shared_data: Path) -> None:
    addenda = parse_addenda(shared_data / CM_NAME)
    assert (addenda.system, addenda.year) == ("cm", 2027)
    assert addenda.counts() == {"additions": 190, "deletions": 30, "revisions": 4}
    assert addenda.summary is not None
    assert (addenda.summary.codes_before, addenda.summary.codes_after) == (74_719, 74_879)
    by_code = {c.code: c for c in addenda.changes}
    assert by_code["I42.0"] == AddendaChange("delete", "I42.0", "Dilated cardiomyopathy", 10)
    assert by_code["I42.00"].action == "add"
    assert by_code["Z87.890"].action == "delete"
    assert by_code["QA1.71"].title == "Lynch syndrome"  # a category letter-digit-letter
    revised = by_code["Z29.14"]
    assert revised.action == "revise"
    assert revised.former_title == "Encounter for prophylactic rabies immune globin"
    assert revised.title == "Encounter for prophylactic rabies immune globulin"
    assert not any(c.title.endswith("\r") for c in addenda.changes)  # CRLF lines


def test_real_pcs_addenda_agree_with_their_summary(shared_data: Path) -> None:
    addenda = parse_addenda(shared_data / PCS_NAME)
    assert (addenda.system, addenda.year) == ("pcs", 2027)
    assert addenda.counts() == {"additions": 101, "deletions": 38, "revisions": 3}
    assert addenda.summary is not None
    assert (addenda.summary.codes_before, addenda.summary.codes_after) == (79_193, 79_256)
    assert all(len(c.code) == 7 and "." not in c.code for c in addenda.changes)


def test_discovery_finds_both_files(shared_data: Path) -> None:
    sources = discover_sources(shared_data)
    assert sources.addenda_files() == [
        ("cm", 2027, shared_data / CM_NAME),
        ("pcs", 2027, shared_data / PCS_NAME),
    ]
    assert {"cm_addenda_2027", "pcs_addenda_2027"} <= set(sources.found())
    assert "addenda" not in sources.missing()


def test_no_addenda_is_reported_missing(tmp_path: Path) -> None:
    assert "addenda" in discover_sources(tmp_path).missing()


def write(tmp_path: Path, *lines: str, name: str = "icd10cm_codes_addenda_2027.txt") -> Path:
    path = tmp_path / name
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode())
    return path


def error_for(path: Path) -> SourceError:
    with pytest.raises(SourceError) as caught:
        parse_addenda(path)
    assert caught.value.path == path
    return caught.value


ADD = "Add:         I4200   Dilated cardiomyopathy, unspecified"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("Added:       I4200   Dilated cardiomyopathy", "expected 'Add:'"),
        ("Add:         I42.00  Dilated cardiomyopathy", "not an ICD-10-CM code"),
        ("Add:         I4200", "title is missing"),
        ("Revise to:   I4200   Dilated cardiomyopathy", "has no 'Revise from:'"),
    ],
)
def test_malformed_line_names_file_line_and_problem(
    tmp_path: Path, line: str, message: str
) -> None:
    error = error_for(write(tmp_path, ADD, line))
    assert error.line == 2 and message in error.message
    assert f"{error.path}:2:" in str(error)


def test_revise_from_without_its_revise_to(tmp_path: Path) -> None:
    path = write(tmp_path, "Revise from: Z2914   Old title", ADD)
    error = error_for(path)
    assert error.line == 2 and "not followed by its 'Revise to:'" in error.message
    error = error_for(write(tmp_path, ADD, "Revise from: Z2914   Old title"))
    assert error.line == 2 and "has no 'Revise to:'" in error.message


def test_a_code_changed_twice_is_refused(tmp_path: Path) -> None:
    error = error_for(write(tmp_path, ADD, "Delete:      I4200   Dilated cardiomyopathy"))
    assert error.line == 2 and "changed twice (first at line 1)" in error.message


def test_pcs_codes_are_seven_characters(tmp_path: Path) -> None:
    path = write(tmp_path, "Add:         028F3Z  Division", name="icd10pcs_codes_addenda_2027.txt")
    assert "not an ICD-10-PCS code" in error_for(path).message


def test_summary_must_agree_with_the_lines(tmp_path: Path) -> None:
    head = ["", "Codes", "  10 codes in a_2026.txt", "  11 codes in b_2027.txt"]
    rest = ["     0 deletions", "      0 revisions"]
    assert parse_addenda(write(tmp_path, ADD, *head, "    1 additions", *rest)).summary
    error = error_for(write(tmp_path, ADD, *head, "    2 additions", *rest))
    assert "says 2 additions but the file lists 1" in error.message
    assert "lacks additions" in error_for(write(tmp_path, ADD, *head, *rest)).message
    error = error_for(write(tmp_path, ADD, *head[:3], "    1 additions", *rest))
    assert "lacks the code counts of both years" in error.message


def test_an_empty_file_is_not_an_addenda(tmp_path: Path) -> None:
    assert "not an addenda file" in error_for(write(tmp_path, "")).message
