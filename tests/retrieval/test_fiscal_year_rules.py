"""How a year's addenda reshape the code set, on a small synthetic tabular: headings, notes
inherited by added codes, implied deletions, revisions, and the base year left untouched."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval.build_years import add_fiscal_years, plan_years
from retrieval.discover import SourceFiles
from retrieval.errors import KnowledgeBaseError, UnknownYearError
from retrieval.records import CodeRecord, Note
from retrieval.store import KnowledgeStore
from retrieval.store_writer import KnowledgeStoreWriter


def cm(
    code: str, title: str, parent: str | None, billable: bool = True, **kw: object
) -> CodeRecord:
    kind = str(kw.pop("kind", "subcategory"))
    notes = tuple(Note(k, t, code) for k, t in kw.pop("notes", ()))  # type: ignore[attr-defined]
    return CodeRecord(
        code, "cm", title, billable, kind, parent, str(kw.get("chapter", "9")), (), notes
    )


BASE = [
    CodeRecord(
        "9", "cm", "Diseases of the circulatory system (I00-I99)", False, "chapter", None, "9"
    ),
    CodeRecord("17", "cm", "Congenital malformations (Q00-Q99)", False, "chapter", None, "17"),
    cm("I42", "Cardiomyopathy", "9", False, kind="category", notes=[("excludes2", "ischemic")]),
    cm("I42.0", "Dilated cardiomyopathy", "I42"),
    cm("I42.9", "Cardiomyopathy, unspecifed", "I42"),
    cm(
        "T52",
        "Toxic effect of solvents",
        "9",
        False,
        kind="category",
        notes=[("seven_chr_def", "A: initial encounter")],
    ),
    cm("T52.8", "Toxic effects of other organic solvents", "T52", False),
    cm("T52.8X", "Toxic effects of other organic solvents", "T52.8", False),
    cm("T52.8X1", "Toxic effect of other organic solvents, accidental", "T52.8X", False),
    cm(
        "T52.8X1A",
        "Toxic effect of other organic solvents, accidental, initial",
        "T52.8X1",
        kind="extension",
    ),
    cm("Q99", "Other chromosome abnormalities", "17", kind="category", chapter="17"),
    CodeRecord(
        "028",
        "pcs",
        "Medical and Surgical, Heart and Great Vessels, Division",
        False,
        "pcs_table",
        None,
        "0",
    ),
    CodeRecord(
        "028F0ZZ", "pcs", "Division of Aortic Valve, Open Approach", True, "pcs_code", "028", "0"
    ),
]
CM_ADDENDA = [
    "Delete:      I420    Dilated cardiomyopathy",
    "Add:         I4200   Dilated cardiomyopathy, unspecified",
    "Add:         I4209   Other dilated cardiomyopathy",
    "Revise from: I429    Cardiomyopathy, unspecifed",
    "Revise to:   I429    Cardiomyopathy, unspecified",
    "Delete:      T528X1A Toxic effect of other organic solvents, accidental, initial",
    "Add:         T52811A Toxic effect of alkenes, accidental, initial encounter",
    "Add:         QA171   Lynch syndrome",
]
PCS_ADDENDA = [
    "Add:         028F3Z0 Division of Aortic Valve, Percutaneous Approach, Native Leaflet",
    "Delete:      028F0ZZ Division of Aortic Valve, Open Approach",
    "Revise from: XW0E33B Introduction of DB-OTO",
    "Revise to:   XW0E33B Introduction of Lunsotogene Parvec-cwha",
]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[KnowledgeStore, dict]:
    folder = tmp_path_factory.mktemp("fy")
    cm_file = folder / "icd10cm_codes_addenda_2027.txt"
    cm_file.write_text("\r\n".join(CM_ADDENDA) + "\r\n")
    pcs_file = folder / "icd10pcs_codes_addenda_2027.txt"
    pcs_file.write_text("\n".join(PCS_ADDENDA) + "\n")
    path = folder / "kb.sqlite"
    writer = KnowledgeStoreWriter(path)
    writer.set_meta({"fiscal_years": {"base": 2026, "years": [2026]}})
    writer.add_codes(BASE)
    writer.close()
    plan = plan_years(SourceFiles(addenda=[cm_file, pcs_file]), None)
    assert plan == {2026: [], 2027: [cm_file, pcs_file]}
    report = add_fiscal_years(path, plan, lambda step: None)
    return KnowledgeStore(path), report


def test_the_base_year_is_untouched(built: tuple[KnowledgeStore, dict]) -> None:
    store, _ = built
    assert store.years() == [2026, 2027]
    for year in (None, 2026):
        record = store.get("I42.0", "cm", year)
        assert record is not None and record.billable
        assert store.get("I42.00", year=year) is None
        assert [c.code for c in store.children("I42.0", "cm", year)] == []
        assert store.get("T52.8X1A", year=year) is not None
    assert store.year_counts() == {"cm_codes": 11, "cm_billable": 4, "pcs_codes": 1}


def test_a_deleted_code_with_added_children_becomes_a_heading(
    built: tuple[KnowledgeStore, dict],
) -> None:
    store, _ = built
    heading = store.get("I42.0", "cm", 2027)
    assert heading is not None and not heading.billable
    assert [c.code for c in store.children("I42.0", "cm", 2027)] == ["I42.00", "I42.09"]
    added = store.get("I42.00", "cm", 2027)
    assert added is not None and added.billable and added.parent == "I42.0"
    notes = store.notes_with_inherited("I42.00", "cm", 2027)
    assert [(n.kind, n.defined_at) for n in notes] == [("excludes2", "I42")]
    change = store.code_change("I42.0", "cm", 2027)
    assert change is not None and change.heading and change.replaced_by == ("I42.00", "I42.09")


def test_added_seventh_character_code_inherits_under_its_nearest_ancestor(
    built: tuple[KnowledgeStore, dict],
) -> None:
    store, _ = built
    added = store.get("T52.811A", "cm", 2027)
    assert added is not None and added.parent == "T52.8" and added.kind == "extension"
    kinds = [n.kind for n in store.notes_with_inherited("T52.811A", "cm", 2027)]
    assert "seven_chr_def" in kinds


def test_headings_left_empty_disappear_and_say_why(built: tuple[KnowledgeStore, dict]) -> None:
    store, _ = built
    for code in ("T52.8X1A", "T52.8X1", "T52.8X"):
        assert store.get(code, "cm", 2027) is None
    implied = store.code_change("T52.8X1", "cm", 2027)
    assert implied is not None and implied.implied and implied.replaced_by == ("T52.811A",)
    deleted = store.code_change("T52.8X1A", "cm", 2027)
    assert deleted is not None and deleted.replaced_by == ("T52.811A",)  # X matches any
    assert store.why_absent("T52.8X1A", 2027) == deleted.describe()
    assert "until FY2027" in (store.why_absent("I42.00", 2026) or "")
    assert store.absent_codes(2027) == {"T52.8X1A", "T52.8X1", "T52.8X", "028F0ZZ"}


def test_revised_title_replaces_the_old_which_stays_findable(
    built: tuple[KnowledgeStore, dict],
) -> None:
    store, _ = built
    record = store.get("I42.9", "cm", 2027)
    assert record is not None and record.title == "Cardiomyopathy, unspecified"
    change = store.code_change("I42.9", "cm", 2027)
    assert change is not None and change.former_title == "Cardiomyopathy, unspecifed"
    assert ("I42.9", "tabular:I42.9") in store.phrase_codes("Cardiomyopathy, unspecifed", 2027)
    assert ("I42.9", "tabular:I42.9") in store.phrase_codes("Cardiomyopathy, unspecified", 2027)
    assert store.phrase_codes("Cardiomyopathy, unspecified") == []


def test_a_new_category_goes_under_the_chapter_it_sorts_into(
    built: tuple[KnowledgeStore, dict],
) -> None:
    store, _ = built
    record = store.get("QA1.71", "cm", 2027)
    assert record is not None and record.parent == "17" and record.chapter == "17"


def test_pcs_changes_and_what_could_not_be_applied(built: tuple[KnowledgeStore, dict]) -> None:
    store, report = built
    added = store.get("028F3Z0", "pcs", 2027)
    assert added is not None and added.parent == "028" and added.kind == "pcs_code"
    assert store.get("028F0ZZ", "pcs", 2027) is None
    assert [(u["code"], u["reason"]) for u in report["2027"]["unapplied"]] == [
        ("XW0E33B", "not a code in FY2026")
    ]
    assert report["2027"]["counts"] == {"cm_codes": 12, "cm_billable": 6, "pcs_codes": 1}
    assert report["2027"]["applied"]["pcs"] == {"added": 1, "deleted": 1}


def test_changes_between_years_and_unknown_years(built: tuple[KnowledgeStore, dict]) -> None:
    store, _ = built
    changes = store.changes(2026, 2027)
    assert [(c.system, c.code, c.action) for c in changes][:3] == [
        ("cm", "I42.0", "deleted"),
        ("cm", "I42.00", "added"),
        ("cm", "I42.09", "added"),
    ]
    assert len(changes) == 11
    with pytest.raises(UnknownYearError, match="FY2030 is not in this knowledge base"):
        store.get("I42.0", "cm", 2030)


def test_year_plans_need_the_base_and_each_year_between(tmp_path: Path) -> None:
    cm_file = tmp_path / "icd10cm_codes_addenda_2027.txt"
    sources = SourceFiles(addenda=[cm_file])
    assert plan_years(sources, [2026]) == {2026: []}
    with pytest.raises(KnowledgeBaseError, match="include it"):
        plan_years(sources, [2027])
    with pytest.raises(KnowledgeBaseError, match="no FY2028 addenda"):
        plan_years(sources, [2026, 2027, 2028])
    later = SourceFiles(addenda=[cm_file, tmp_path / "icd10cm_codes_addenda_2029.txt"])
    assert list(plan_years(later, None)) == [2026, 2027]  # 2029 needs a 2028
    with pytest.raises(KnowledgeBaseError, match="include FY2028 too"):
        plan_years(later, [2026, 2027, 2029])
