"""FY2026 and FY2027 in the session's knowledge base, built from the real files: the counts,
the addenda's changes in the hierarchy, search by year, and the `kb` commands with --year."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from api.cli.main import app
from retrieval.build import BuildReport
from retrieval.errors import CodeNotInYearError, UnknownYearError
from retrieval.search import HybridSearcher
from retrieval.sources.addenda import parse_addenda

Invoke = Callable[..., Result]
PCS_ADDENDA = "icd10pcs-2027/icd10pcs_codes_addenda_2027.txt"


def test_fy2027_cm_has_the_billable_codes_the_addenda_state(searcher: HybridSearcher) -> None:
    store = searcher.store
    assert store.years() == [2026, 2027]
    assert store.year_counts(2026)["cm_billable"] == 74_719
    assert store.year_counts(2027)["cm_billable"] == 74_879


def test_fy2027_pcs_is_short_by_exactly_the_codes_the_fy2026_tables_lack(
    searcher: HybridSearcher, shared_data: Path, built_kb: BuildReport
) -> None:
    """The addenda start from a FY2026 code file of 79,193 codes; the tables XML here
    expands to 79,115. The 78 missing codes are not touched by the addenda but for one
    revision (XW0E33B, a New Technology group 11 = FY2026 code, absent from the tables), so
    FY2027 here is the official 79,256 less the same 78."""
    store = searcher.store
    addenda = parse_addenda(shared_data / PCS_ADDENDA)
    assert addenda.summary is not None
    tables = store.year_counts(2026)["pcs_codes"]
    lacking = addenda.summary.codes_before - tables
    assert (tables, lacking) == (79_115, 78)
    by_action = {a: [c.code for c in addenda.changes if c.action == a] for a in ("add", "delete")}
    assert all(store.get(code, "pcs") for code in by_action["delete"])
    assert not any(store.get(code, "pcs") for code in by_action["add"])
    revised = [c.code for c in addenda.changes if c.action == "revise"]
    assert [code for code in revised if store.get(code, "pcs") is None] == ["XW0E33B"]
    assert store.year_counts(2027)["pcs_codes"] == addenda.summary.codes_after - lacking
    assert store.year_counts(2027)["pcs_codes"] == 79_178
    unapplied = built_kb.fiscal_years["2027"]["unapplied"] if built_kb.fiscal_years else None
    if unapplied is not None:  # a prebuilt home's report comes from its manifest
        assert [u["code"] for u in unapplied] == ["XW0E33B"]


def test_i42_0_is_billable_in_2026_and_a_heading_in_2027(searcher: HybridSearcher) -> None:
    store = searcher.store
    before = store.get("I42.0", "cm")
    assert before is not None and before.billable and store.children("I42.0") == []
    after = store.get("I42.0", "cm", 2027)
    assert after is not None and not after.billable and after.title == "Dilated cardiomyopathy"
    children = [c.code for c in store.children("I42.0", "cm", 2027)]
    assert children == ["I42.00", "I42.01", "I42.09"]
    own_of_i42 = {(n.kind, n.text) for n in store.own_notes("I42")}
    assert own_of_i42, "I42 carries notes (includes, excludes2, code first)"
    for code in children:
        inherited = {
            (n.kind, n.text)
            for n in store.notes_with_inherited(code, "cm", 2027)
            if n.defined_at == "I42"
        }
        assert inherited == own_of_i42
        assert store.is_billable(code, "cm", 2027) and not store.is_billable(code, "cm", 2026)
    change = store.code_change("I42.0", "cm", 2027)
    assert change is not None and change.heading
    assert change.replaced_by == ("I42.00", "I42.01", "I42.09")


def test_z87_890_is_deleted_in_2027_and_split_into_gender_transition_codes(
    searcher: HybridSearcher,
) -> None:
    store = searcher.store
    assert store.is_billable("Z87.890")
    change = store.code_change("Z87.890", "cm", 2027)
    assert change is not None and change.action == "deleted"
    assert change.title == "Personal history of sex reassignment"
    assert change.replaced_by == ("Z87.8901", "Z87.8902", "Z87.8903", "Z87.8904", "Z87.8909")
    assert not store.is_billable("Z87.890", "cm", 2027)
    assert store.get("Z87.893", "cm", 2027) is not None  # added beside it, under Z87.89


def test_deleted_without_replacement_is_absent(searcher: HybridSearcher) -> None:
    store = searcher.store
    assert store.get("S23.420A", "cm", 2027) is None
    assert store.get("S23.420", "cm", 2027) is None  # the heading left empty goes too
    with pytest.raises(CodeNotInYearError, match=r"S23\.420A deleted in FY2027: no replacement"):
        searcher.lookup("S23420A", 2027)
    with pytest.raises(CodeNotInYearError, match="does not exist until FY2027"):
        searcher.lookup("I42.00", 2026)


def codes(hits: list) -> list[str | None]:
    return [hit.code for hit in hits]


def test_added_codes_are_searchable_in_2027_only(searcher: HybridSearcher) -> None:
    in_2027 = searcher.search("Brugada syndrome", k=5, system="cm", year=2027)
    assert codes(in_2027)[0] == "I49.81"
    assert "I49.81" not in codes(searcher.search("Brugada syndrome", k=20, system="cm"))
    assert "I49.81" not in codes(searcher.search("Brugada syndrome", k=20, year=2026))
    lynch = searcher.search("Lynch syndrome", k=5, year=2027)
    assert "QA1.71" in codes(lynch)
    pcs = searcher.search(
        "division of mitral valve percutaneous prosthetic leaflet", k=10, system="pcs", year=2027
    )
    assert "028G3Z1" in codes(pcs)


def test_deleted_codes_are_not_found_in_2027(searcher: HybridSearcher) -> None:
    query = "Sprain of sternoclavicular joint initial encounter"
    assert "S23.420A" in codes(searcher.search(query, k=10))
    assert "S23.420A" not in codes(searcher.search(query, k=50, year=2027))
    billable = searcher.search("dilated cardiomyopathy", k=10, billable_only=True, year=2027)
    assert "I42.0" not in codes(billable) and "I42.00" in codes(billable)
    assert "I42.0" in codes(searcher.search("dilated cardiomyopathy", k=10, billable_only=True))


def test_former_titles_stay_searchable(searcher: HybridSearcher) -> None:
    hits = searcher.search("Encounter for prophylactic rabies immune globin", k=3, year=2027)
    assert hits[0].code == "Z29.14"
    assert hits[0].title == "Encounter for prophylactic rabies immune globulin"


def test_the_base_year_searched_by_name_is_the_default(searcher: HybridSearcher) -> None:
    for query in ("heart attack", "dilated cardiomyopathy", "appendectomy laparoscopic"):
        default = [(h.code, h.score) for h in searcher.search(query, k=10)]
        assert default == [(h.code, h.score) for h in searcher.search(query, k=10, year=2026)]


def test_a_year_view_answers_for_its_year_when_none_is_asked(searcher: HybridSearcher) -> None:
    """What a chart's coding uses: code that takes a store or a searcher, and passes no
    year, gets the chart's year."""
    view = searcher.for_year(2027)
    assert (view.year, view.store.year, searcher.year) == (2027, 2027, 2026)
    assert searcher.for_year(2027) is view and view.store is searcher.store.for_year(2027)
    heading = view.store.get("I42.0", "cm")
    assert heading is not None and not heading.billable
    assert [c.code for c in view.store.children("I42.0")] == ["I42.00", "I42.01", "I42.09"]
    assert view.store.is_billable("I42.00") and not searcher.store.is_billable("I42.00")
    assert view.store.source_exists("tabular:I49.81")
    assert not searcher.store.source_exists("tabular:I49.81")
    billable = codes(view.search("dilated cardiomyopathy", k=10, billable_only=True))
    assert "I42.0" not in billable and "I42.00" in billable
    assert view.lookup("I49.81").code == "I49.81"
    assert "I42.00" in view.lexical("dilated cardiomyopathy unspecified", k=5)
    # A year asked for explicitly still wins over the view's own.
    assert codes(view.search("dilated cardiomyopathy", k=5, year=2026)) == codes(
        searcher.search("dilated cardiomyopathy", k=5)
    )
    base = view.store.get("I42.0", "cm", 2026)
    assert base is not None and base.billable
    with pytest.raises(UnknownYearError, match="FY2026, FY2027"):
        searcher.for_year(2031)


def test_kb_code_names_the_replacements_of_a_deleted_code(run: Invoke) -> None:
    result = run("kb", "code", "I42.0", "--year", "2027")
    assert result.exit_code == 0, result.output
    assert "not billable" in result.stdout
    assert "deleted in FY2027" in result.stdout and "I42.00, I42.01, I42.09" in result.stdout
    data = json.loads(run("kb", "code", "I42.0", "--year", "2027", "--json").stdout)
    assert data["fiscal_year"] == 2027 and data["billable"] is False
    assert data["change"]["replaced_by"] == ["I42.00", "I42.01", "I42.09"]


def test_kb_code_of_a_code_from_a_later_year(run: Invoke) -> None:
    result = run("kb", "code", "I42.00", "--year", "2026")
    assert result.exit_code == 1
    assert "I42.00 is not a code in FY2026" in result.stderr
    assert "does not exist until FY2027" in result.stderr
    data = json.loads(run("kb", "code", "I4200", "--year", "2027", "--json").stdout)
    assert data["parent"] == "I42.0" and data["change"]["action"] == "added"
    assert any(n["defined_at"] == "I42" and n["kind"] == "code_first" for n in data["notes"])
    assert run("kb", "code", "I42.0", "--year", "2031").exit_code == 1


def test_kb_diff_lists_the_changes(run: Invoke) -> None:
    result = run("kb", "diff", "2026", "2027", "--json")
    assert result.exit_code == 0, result.output
    diff = json.loads(result.stdout)
    assert diff["counts"]["cm"] == {
        "added": 190,
        "deleted": 30,
        "revised": 4,
        "implied_deletions": 6,
    }
    assert diff["counts"]["pcs"] == {"added": 101, "deleted": 38, "revised": 2}
    by_code = {c["code"]: c for c in diff["changes"]}
    assert by_code["D69.1"]["replaced_by"] == ["D69.11", "D69.19"]
    assert by_code["T52.8X1A"]["replaced_by"] == ["T52.811A", "T52.821A", "T52.891A"]
    table = run("kb", "diff", "2026", "2027", "--system", "cm")
    assert table.exit_code == 0 and "Z87.890" in table.stdout and "X2KB317" not in table.stdout
    assert run("kb", "diff", "2027", "2026").exit_code == 2


def test_kb_info_lists_years_and_each_sources_own_year(run: Invoke) -> None:
    info = json.loads(run("kb", "info", "--json").stdout)
    assert info["years"] == [2026, 2027]
    assert info["fiscal_years"]["2027"]["counts"]["cm_billable"] == 74_879
    sources = info["sources"]
    assert sources["cm_tabular"]["year"] == 2026 and sources["pcs_tables"]["year"] == 2026
    assert sources["cm_index_csv"]["year"] == 2025 and sources["pcs_index"]["year"] == 2025
    assert sources["mce"]["year"] == 2020
    assert len(sources["cm_addenda_2027"]["sha256"]) == 64
    warnings = "\n".join(info["warnings"])
    assert "cm_index_csv is FY2025, older than the ICD-10-CM FY2026, FY2027" in warnings
    assert "mce is FY2020" in warnings and "pcs_tables" not in warnings
    text = run("kb", "info").stdout
    assert "FY2027" in text and "warning" in text


def test_kb_search_by_year(run: Invoke) -> None:
    result = run("kb", "search", "Brugada syndrome", "--year", "2027", "-k", "3", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["hits"][0]["code"] == "I49.81"


def test_kb_build_refuses_years_it_cannot_build(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEDCODER_HOME", str(tmp_path))
    runner = CliRunner()
    data = ["kb", "build", "--data-dir", str(shared_data)]
    result = runner.invoke(app, [*data, "--years", "2026,x"])
    assert result.exit_code == 2 and "give fiscal years separated by commas" in result.stderr
    result = runner.invoke(app, [*data, "--years", "2027"])
    assert result.exit_code == 1 and "FY2026 is the base code set" in result.stderr
    monkeypatch.setenv("MEDCODER_KB_YEARS", "2026,2028")
    result = runner.invoke(app, data)
    assert result.exit_code == 1 and "no FY2028 addenda in the data dir" in result.stderr
    assert not (tmp_path / "kb" / "current").exists()


def test_records_kept_in_memory_answer_for_the_year_asked(searcher: HybridSearcher) -> None:
    """Records are cached by year: whichever year asks first, each year gets its own."""
    view = searcher.store.for_year(2027)
    first = view.get("I42.0", "cm")
    assert first is not None and not first.billable
    base = searcher.store.get("I42.0", "cm")
    assert base is not None and base.billable
    assert view.get("I42.0") == first and searcher.store.get("I42.0", year=2027) == first
    assert view.get("I42.00") is not None and searcher.store.get("I42.00") is None
    assert searcher.store.for_year(2026).get("I42.0") == base
