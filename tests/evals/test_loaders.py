"""Suite loaders: the JSONL format, CodiEsp folders, names; every bad input names file:line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.suites import RULES_FILE, SuiteError, load_suite
from evals.suites.codiesp import codiesp_suite
from evals.suites.jsonl import load_jsonl_suite

GOOD = {
    "id": "c1",
    "text": "Type 2 diabetes. Hypertension.",
    "meta": {"setting": "outpatient", "age": 60, "sex": "F"},
    "gold": [
        {"code": "e119", "system": "cm", "evidence": [{"start": 0, "end": 15}]},
        {"code": "I10", "system": "cm", "evidence": [{"quote": "Hypertension"}]},
        {"code": "0dtj4zz", "system": "pcs"},
    ],
    "principal": "E11.9",
}


def write(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "suite.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_good_file_loads_with_normalised_codes(tmp_path: Path) -> None:
    path = write(tmp_path, "// a comment", "", json.dumps(GOOD))
    suite = load_jsonl_suite(path)
    case = suite.cases[0]
    assert suite.name == "suite" and suite.systems == ("cm", "pcs")
    assert [(g.code, g.system) for g in case.gold] == [
        ("E11.9", "cm"),
        ("I10", "cm"),
        ("0DTJ4ZZ", "pcs"),
    ]
    assert case.gold[0].evidence[0].quote == "Type 2 diabetes"
    assert (case.gold[1].evidence[0].start, case.gold[1].evidence[0].end) == (17, 29)
    assert case.meta.setting == "outpatient" and case.principal == "E11.9"


def variant(**changes: object) -> str:
    obj = {**GOOD, **changes}
    return json.dumps({k: v for k, v in obj.items() if v is not None})


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"id": "c2", "text": ', "bad JSON"),
        ("[1, 2]", "expected a JSON object"),
        (variant(id=None), "missing field 'id'"),
        (variant(text=None), "missing field 'text'"),
        (variant(gold=None), "missing field 'gold'"),
        (variant(text="  "), "'text' must be a non-empty string"),
        (variant(gold=[{"code": "I10", "system": "icd9"}]), "unknown code system 'icd9'"),
        (variant(gold=[{"code": "I10"}]), "expected an object with 'code' and 'system'"),
        (variant(gold=[{"code": "hello", "system": "cm"}]), "is not an ICD-10-CM code"),
        (variant(gold=[{"code": "0DT", "system": "pcs"}]), "is not an ICD-10-PCS code"),
        (variant(gold=[{"code": "I10", "system": "cm"}] * 2), "listed twice"),
        (variant(meta={"setting": "emergency"}), "meta.setting"),
        (variant(meta={"age": -1}), "meta.age"),
        (variant(principal="J18.9"), "principal 'J18.9' is not one of the gold CM codes"),
        (variant(priciple="E11.9"), "unknown field 'priciple'"),
        (
            variant(gold=[{"code": "I10", "system": "cm", "evidence": [{"start": 5, "end": 99}]}]),
            "outside the text",
        ),
        (
            variant(
                gold=[
                    {
                        "code": "I10",
                        "system": "cm",
                        "evidence": [{"start": 0, "end": 4, "quote": "Type 3"}],
                    }
                ]
            ),
            "is not text[0:4]",
        ),
        (
            variant(gold=[{"code": "I10", "system": "cm", "evidence": [{"quote": "asthma"}]}]),
            "quote 'asthma' is not in the text",
        ),
    ],
)
def test_bad_lines_are_named_by_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    path = write(tmp_path, json.dumps(GOOD), "", line)
    with pytest.raises(SuiteError) as error:
        load_jsonl_suite(path)
    assert str(error.value).startswith(f"{path}:3: ") and message in str(error.value)


def test_duplicate_ids_name_both_lines(tmp_path: Path) -> None:
    path = write(tmp_path, json.dumps(GOOD), json.dumps(GOOD))
    with pytest.raises(SuiteError, match=r"suite.jsonl:2: duplicate id 'c1' \(first on line 1\)"):
        load_jsonl_suite(path)


def test_missing_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(SuiteError, match="not found"):
        load_jsonl_suite(tmp_path / "nope.jsonl")
    with pytest.raises(SuiteError, match="no cases"):
        load_jsonl_suite(write(tmp_path, "// only a comment"))


def test_load_suite_by_name_and_path(tmp_path: Path) -> None:
    path = write(tmp_path, json.dumps(GOOD), variant(id="c2"))
    assert [c.case_id for c in load_suite(str(path), limit=1).cases] == ["c1"]
    with pytest.raises(SuiteError, match="unknown suite 'nonsense'"):
        load_suite("nonsense")
    with pytest.raises(SuiteError, match="CodiEsp split folder"):
        load_suite("codiesp-d")
    with pytest.raises(SuiteError, match="needs a knowledge base"):
        load_suite("desc2code")


def test_the_rules_suite_loads() -> None:
    suite = load_suite("rules")
    assert suite.name == "rules" and len(suite.cases) >= 80
    assert all(case.gold for case in suite.cases)
    assert sum(bool(case.must_not) for case in suite.cases) >= 60
    assert any(g.system == "pcs" for case in suite.cases for g in case.gold)
    assert RULES_FILE.is_file()


def fake_split(tmp_path: Path, name: str = "dev", docs: int = 6) -> Path:
    """A made-up split in the CodiEsp layout (no CodiEsp text)."""
    split = tmp_path / name
    (split / "text_files_en").mkdir(parents=True)
    diagnoses, procedures = [], []
    for i in range(docs):
        (split / "text_files_en" / f"doc{i}.txt").write_text(f"Chart number {i}.")
        diagnoses.append(f"doc{i}\ti10")
        diagnoses.append(f"doc{i}\te11.9")
        procedures.append(f"doc{i}\tbw03zzz")
    (split / f"{name}D.tsv").write_text("\n".join(diagnoses) + "\n")
    (split / f"{name}P.tsv").write_text("\n".join(procedures) + "\n")
    return split


def test_codiesp_suites_normalise_codes_and_sample_by_seed(tmp_path: Path) -> None:
    split = fake_split(tmp_path)
    d = load_suite("codiesp-d", data=split)
    assert d.name == "codiesp-d" and d.systems == ("cm",) and len(d.cases) == 6
    assert [(g.code, g.system) for g in d.cases[0].gold] == [
        ("I10", "cm"),
        ("E11.9", "cm"),
        ("BW03ZZZ", "pcs"),
    ]
    assert load_suite("codiesp-p", data=split).systems == ("pcs",)
    first = [c.case_id for c in codiesp_suite(split, ("cm",), limit=3, seed=1).cases]
    assert first == [c.case_id for c in codiesp_suite(split, ("cm",), limit=3, seed=1).cases]
    assert len(first) == 3 and "seed 1" in codiesp_suite(split, ("cm",), limit=3, seed=1).source


def test_codiesp_bad_files(tmp_path: Path) -> None:
    split = fake_split(tmp_path)
    (split / "devD.tsv").write_text("doc0\ti10\njust-one-column\n")
    with pytest.raises(SuiteError, match=r"devD.tsv:2: expected"):
        load_suite("codiesp-d", data=split)
    with pytest.raises(SuiteError, match="no text_files_en"):
        load_suite("codiesp-d", data=tmp_path)
