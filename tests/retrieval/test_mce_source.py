"""Medicare Code Editor lists: the real v37 file, bad input, and the store round trip."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from retrieval.discover import discover_sources
from retrieval.errors import SourceError
from retrieval.records import MceEdit
from retrieval.sources.mce import HEADER, parse_mce
from retrieval.store import KnowledgeStore
from retrieval.store_writer import KnowledgeStoreWriter

MCE_NAME = "mce-v37/MCE_Simple_Code_Edits_v37.txt"
HEAD = "\t".join(HEADER)


@pytest.fixture(scope="module")
def edits(shared_data: Path) -> list[MceEdit]:
    return list(parse_mce(shared_data / MCE_NAME))


def test_real_file_counts_match_its_documentation(edits: list[MceEdit]) -> None:
    counts = Counter((e.edit_type, e.code_type) for e in edits)
    # The FY2020 column of the summary table in the folder's INFO file.
    assert counts[("Female_Only", "D")] == 3135
    assert counts[("Female_Only", "P")] == 2294
    assert counts[("Male_Only", "D")] == 529
    assert counts[("Newborn_Only", "D")] == 41
    assert counts[("Maternity_Only", "D")] == 2372
    assert counts[("Principal_Manifestation", "D")] == 395
    assert counts[("Principal_Unacceptable", "D")] == 2406
    assert len(edits) == 14_153
    assert all("." not in e.code for e in edits)
    assert MceEdit("Male_Only", "D", "N400") in edits


def test_discovery_finds_the_file(shared_data: Path) -> None:
    assert discover_sources(shared_data).mce == shared_data / MCE_NAME


def write(tmp_path: Path, *rows: str, header: str = HEAD) -> Path:
    path = tmp_path / "MCE_Simple_Code_Edits_test.txt"
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def error_for(path: Path) -> SourceError:
    with pytest.raises(SourceError) as caught:
        list(parse_mce(path))
    assert caught.value.path == path
    return caught.value


GOOD = "37\t10\t5\tA\tFemale_Only\tD\tN83201\tOvarian cyst, right"


@pytest.mark.parametrize(
    ("row", "words"),
    [
        ("37\t10\t5\tA\tFemale_Only\tD\tN83201", "8 tab-separated fields"),
        ("37\t10\t5\tA\tFemale_Only\tX\tN83201\tx", "D or P"),
        ("37\t10\t5\tA\tFemale_Only\tD\tN83.201\tx", "bad ICD_Code"),
        ("37\t10\t5\tA\tFemale Only!\tD\tN83201\tx", "MCE_Edit_Type"),
    ],
)
def test_bad_rows_name_their_line(tmp_path: Path, row: str, words: str) -> None:
    error = error_for(write(tmp_path, GOOD, row))
    assert error.line == 3
    assert words in error.message


def test_wrong_header_and_empty_file(tmp_path: Path) -> None:
    error = error_for(write(tmp_path, GOOD, header="code\tdescription"))
    assert error.line == 1 and "expected header" in error.message
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    assert error_for(empty).line == 1


def test_not_utf8_and_missing_file(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    path.write_bytes(path.read_bytes() + b"37\t10\t5\tA\tFemale_Only\tD\tN83202\t\xff\n")
    assert error_for(path).line == 3
    assert "file not found" in error_for(tmp_path / "absent.txt").message


def test_icd9_rows_are_skipped_and_none_left_is_an_error(tmp_path: Path) -> None:
    icd9 = "32\t9\t5\tA\tFemale_Only\tD\t6201\tOvarian cyst"
    assert list(parse_mce(write(tmp_path, icd9, GOOD))) == [MceEdit("Female_Only", "D", "N83201")]
    assert "no ICD-10" in error_for(write(tmp_path, icd9)).message


def test_store_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "kb.sqlite"
    writer = KnowledgeStoreWriter(path)
    added = writer.add_mce_edits(
        [
            MceEdit("Female_Only", "D", "N83201"),
            MceEdit("Adult_Only", "D", "N83201"),
            MceEdit("Male_Only", "P", "0VT04ZZ"),
        ]
    )
    writer.close()
    assert added == 3
    store = KnowledgeStore(path)
    try:
        assert store.mce_edits("n83.201") == ["Adult_Only", "Female_Only"]
        assert store.mce_edits("0VT04ZZ", "D") == []
        assert store.mce_edits("0VT04ZZ", "P") == ["Male_Only"]
        assert store.mce_edits("E11.9") == []
        assert store.counts()["mce_edits"] == 3
    finally:
        store.close()
