"""Table of Neoplasms / Table of Drugs parser against the real FY2025 files and bad input."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from retrieval.errors import SourceError
from retrieval.records import TableRow
from retrieval.sources.tables import TableKind, parse_table_xml

NEOPLASM_NAME = "icd10cm-2025/icd-10-cm-neoplasm-2025.xml"
DRUG_NAME = "icd10cm-2025/icd-10-cm-drug-2025.xml"
NEOPLASM_HEADINGS = [
    "Malignant Primary",
    "Malignant Secondary",
    "Ca in situ",
    "Benign",
    "Uncertain Behavior",
    "Unspecified Behavior",
]
DRUG_HEADINGS = [
    "Poisoning Accidental (unintentional)",
    "Poisoning Intentional self-harm",
    "Poisoning Assault",
    "Poisoning Undetermined",
    "Adverse effect",
    "Underdosing",
]
SMALL_HEADING = (
    '<indexHeading><head col="1">Neoplasm</head>'
    + "".join(f'<head col="{i}">{h}</head>' for i, h in enumerate(NEOPLASM_HEADINGS, start=2))
    + "</indexHeading>\n"
)


@pytest.fixture(scope="module")
def neoplasm_rows(shared_data: Path) -> list[TableRow]:
    return list(parse_table_xml(shared_data / NEOPLASM_NAME, "neoplasm"))


@pytest.fixture(scope="module")
def drug_rows(shared_data: Path) -> list[TableRow]:
    return list(parse_table_xml(shared_data / DRUG_NAME, "drug"))


def by_path(rows: list[TableRow], *path: str) -> TableRow:
    found = [r for r in rows if r.path == path]
    assert len(found) == 1, f"{len(found)} rows at {path}"
    return found[0]


def table_error(path: Path, table: TableKind) -> SourceError:
    with pytest.raises(SourceError) as caught:
        list(parse_table_xml(path, table))
    assert caught.value.path == path
    return caught.value


def small_table(tmp_path: Path, rows: str, heading: str = SMALL_HEADING) -> Path:
    """A neoplasm-style file: line 1 root, line 2 headings, line 3 letter, rows from line 4."""
    path = tmp_path / "table.xml"
    path.write_text(
        f"<ICD10CM.index>\n{heading}<letter><title>N</title>\n{rows}</letter></ICD10CM.index>\n"
    )
    return path


# --------------------------------------------------------------------------- real neoplasm


def test_neoplasm_row_count_and_ids(neoplasm_rows: list[TableRow]) -> None:
    assert len(neoplasm_rows) == 1_939  # one mainTerm + 1,938 term elements
    assert [r.row_id for r in neoplasm_rows] == [str(i) for i in range(1, 1_940)]
    assert {r.path[0] for r in neoplasm_rows} == {"Neoplasm, neoplastic"}
    assert sum(1 for r in neoplasm_rows if r.cells) == 1_821
    assert neoplasm_rows[1].source_id == "table:neoplasm:2"


def test_neoplasm_main_row_has_all_six_columns(neoplasm_rows: list[TableRow]) -> None:
    main = neoplasm_rows[0]
    assert main.path == ("Neoplasm, neoplastic",)
    assert list(main.cells) == NEOPLASM_HEADINGS
    assert list(main.cells.values()) == ["C80.1", "C79.9", "D09.9", "D36.9", "D48.9", "D49.9"]


def test_neoplasm_incomplete_codes_are_kept(neoplasm_rows: list[TableRow]) -> None:
    abdomen = by_path(neoplasm_rows, "Neoplasm, neoplastic", "abdomen, abdominal")
    assert abdomen.cells["Malignant Secondary"] == "C79.8-"
    lung = by_path(neoplasm_rows, "Neoplasm, neoplastic", "lung")
    assert lung.cells["Malignant Primary"] == "C34.9-"
    assert lung.cells["Uncertain Behavior"] == "D38.1"


def test_neoplasm_dash_cells_are_left_out(neoplasm_rows: list[TableRow]) -> None:
    path = ("Neoplasm, neoplastic", "abdomen, abdominal", "wall", "skin", "basal cell carcinoma")
    assert by_path(neoplasm_rows, *path).cells == {"Malignant Primary": "C44.519"}
    code = re.compile(r"[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{0,4})?-?")
    assert all(code.fullmatch(c) for r in neoplasm_rows for c in r.cells.values())


def test_neoplasm_modifiers(neoplasm_rows: list[TableRow]) -> None:
    book_leaf = by_path(neoplasm_rows, "Neoplasm, neoplastic", "book-leaf")
    assert book_leaf.modifiers == ("", "(mouth)")
    assert book_leaf.cells["Benign"] == "D10.39"


# --------------------------------------------------------------------------- real drug table


def test_drug_row_count(drug_rows: list[TableRow]) -> None:
    assert len(drug_rows) == 7_428  # 5,177 mainTerm + 2,251 term elements
    assert sum(1 for r in drug_rows if len(r.path) == 1) == 5_177
    assert sum(1 for r in drug_rows if r.cells) == 7_202


def test_drug_adverse_effect_and_underdosing(drug_rows: list[TableRow]) -> None:
    acetaminophen = by_path(drug_rows, "Acetaminophen")
    assert list(acetaminophen.cells) == DRUG_HEADINGS
    assert acetaminophen.cells["Adverse effect"] == "T39.1X5"
    assert acetaminophen.cells["Underdosing"] == "T39.1X6"
    aspirin = by_path(drug_rows, "Aspirin")
    assert aspirin.modifiers == ("(aluminum) (soluble)",)
    assert aspirin.cells["Adverse effect"] == "T39.015"


def test_drug_double_dash_means_no_code(drug_rows: list[TableRow]) -> None:
    propanol = by_path(drug_rows, "1-propanol")
    assert propanol.cells == {
        "Poisoning Accidental (unintentional)": "T51.3X1",
        "Poisoning Intentional self-harm": "T51.3X2",
        "Poisoning Assault": "T51.3X3",
        "Poisoning Undetermined": "T51.3X4",
    }


def test_drug_leading_modifier_is_split_off(drug_rows: list[TableRow]) -> None:
    # <title><nemod>(mono)</nemod> semicarbazone</title> under Adrenochrome.
    row = by_path(drug_rows, "Adrenochrome", "semicarbazone")
    assert row.modifiers == ("", "(mono)")
    assert row.cells["Adverse effect"] == "T46.995"


# --------------------------------------------------------------------------- wrong files


def test_drug_file_as_neoplasm_is_refused(shared_data: Path) -> None:
    error = table_error(shared_data / DRUG_NAME, "neoplasm")
    assert "Table of Neoplasms" in error.message
    assert "table='drug'" in error.message


def test_neoplasm_file_as_drug_is_refused(shared_data: Path) -> None:
    error = table_error(shared_data / NEOPLASM_NAME, "drug")
    assert "table='neoplasm'" in error.message


def test_index_file_as_table_is_refused(shared_data: Path) -> None:
    error = table_error(shared_data / "icd10cm-2025/icd-10-cm-eindex-2025.xml", "drug")
    assert "alphabetic index" in error.message


def test_truncated_table_reports_line(shared_data: Path, tmp_path: Path) -> None:
    lines = (shared_data / DRUG_NAME).read_text(encoding="utf-8").splitlines(keepends=True)
    broken = tmp_path / "drug-truncated.xml"
    broken.write_text("".join(lines[:300]), encoding="utf-8")
    error = table_error(broken, "drug")
    assert error.line == 301
    assert str(error).startswith(f"{broken}:301: ")


def test_wrong_root_is_named(tmp_path: Path) -> None:
    other = tmp_path / "other.xml"
    other.write_text("<ICD10PCS.index><letter/></ICD10PCS.index>")
    error = table_error(other, "neoplasm")
    assert "<ICD10PCS.index>" in error.message


def test_cell_outside_headings_reports_line(tmp_path: Path) -> None:
    path = small_table(
        tmp_path,
        '<mainTerm><title>Neoplasm</title><cell col="2">C80.1</cell>\n'
        '<term level="1"><title>abdomen</title><cell col="9">C76.2</cell></term>\n'
        "</mainTerm>\n",
    )
    error = table_error(path, "neoplasm")
    assert error.line == 5
    assert "column 9" in error.message


def test_garbled_cell_reports_line(tmp_path: Path) -> None:
    path = small_table(
        tmp_path, '<mainTerm><title>Neoplasm</title>\n<cell col="2">see C80</cell></mainTerm>\n'
    )
    error = table_error(path, "neoplasm")
    assert error.line == 4
    assert "'see C80'" in error.message


def test_small_table_parses(tmp_path: Path) -> None:
    path = small_table(
        tmp_path,
        '<mainTerm><title>Neoplasm<nemod>(malignant)</nemod> NEC</title><cell col="2">C80.1'
        '</cell><cell col="3">-</cell>\n<term level="1"><title>skin</title>'
        '<cell col="5">D23.9</cell></term></mainTerm>\n',
    )
    rows = list(parse_table_xml(path, "neoplasm"))
    assert [(r.path, r.modifiers, r.cells) for r in rows] == [
        (("Neoplasm NEC",), ("(malignant)",), {"Malignant Primary": "C80.1"}),
        (("Neoplasm NEC", "skin"), ("(malignant)", ""), {"Benign": "D23.9"}),
    ]
