"""FHIR and CSV export of a committed code set."""

from __future__ import annotations

import csv
import dataclasses
import io
from datetime import UTC, date, datetime
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.claim import Claim
from fhir.resources.R4B.condition import Condition

from review.export import (
    CODE_SYSTEMS,
    CSV_COLUMNS,
    ExportCode,
    ExportCodeSet,
    csv_text,
    fhir_bundle,
)

CM, PCS = CODE_SYSTEMS["cm"], CODE_SYSTEMS["pcs"]
TRICKY_TITLE = 'Hypertension, "essential", unspecified'


def _code_set(**changes: Any) -> ExportCodeSet:
    codes = (
        ExportCode(1, "E11.22", "cm", "Type 2 diabetes mellitus with diabetic CKD", True,
                   "agent", "accept"),
        ExportCode(2, "I10", "cm", TRICKY_TITLE, False, "coder", "add"),
        ExportCode(3, "0DTJ4ZZ", "pcs", "Resection of Appendix, Perc Endo Approach", False,
                   "agent", "modify"),
    )  # fmt: skip
    base = ExportCodeSet(
        chart_id=42,
        external_id="MRN-7",
        version=3,
        committed_at=datetime(2025, 10, 2, 14, 30, 5, tzinfo=UTC),
        committed_by="coder@example.org",
        kb_release="ICD-10-CM FY2026 + ICD-10-PCS FY2026",
        setting="inpatient",
        encounter_date=date(2025, 9, 30),
        codes=codes,
        fiscal_year=2025,
    )
    return dataclasses.replace(base, **changes)


def _resources(bundle: dict[str, Any]) -> tuple[Any, list[Any]]:
    """The claim and the conditions, typed Any: every FHIR element is optional in the models,
    and the tests below assert the elements are there by reading them."""
    parsed = Bundle.model_validate(bundle)  # validates the whole document against R4
    assert parsed.type == "collection"
    resources = [e.resource for e in parsed.entry or []]
    claims = [r for r in resources if isinstance(r, Claim)]
    conditions = [r for r in resources if isinstance(r, Condition)]
    assert len(claims) == 1
    assert len(claims) + len(conditions) == len(resources)
    return claims[0], conditions


def test_bundle_holds_one_claim_and_a_condition_per_diagnosis() -> None:
    claim, conditions = _resources(fhir_bundle(_code_set()))
    assert [(c.code.coding[0].system, c.code.coding[0].code) for c in conditions] == [
        (CM, "E11.22"),
        (CM, "I10"),
    ]
    assert conditions[1].code.coding[0].display == TRICKY_TITLE
    assert all(c.clinicalStatus.coding[0].code == "active" for c in conditions)
    assert all(c.verificationStatus.coding[0].code == "confirmed" for c in conditions)
    assert all(c.subject.display == claim.patient.display == "patient of chart MRN-7"
               for c in conditions)  # fmt: skip
    assert claim.identifier[0].system == "urn:medcoder:code-set"
    assert claim.identifier[0].value == "42/v3"
    assert claim.type.coding[0].code == "institutional"
    assert claim.created == datetime(2025, 10, 2, 14, 30, 5, tzinfo=UTC)


def test_claim_diagnoses_and_procedure() -> None:
    claim, _ = _resources(fhir_bundle(_code_set()))
    diagnoses = claim.diagnosis or []
    assert [d.sequence for d in diagnoses] == [1, 2]
    codings = [d.diagnosisCodeableConcept.coding[0] for d in diagnoses]
    assert [(c.system, c.code) for c in codings] == [(CM, "E11.22"), (CM, "I10")]
    assert diagnoses[0].type[0].coding[0].code == "principal"
    assert diagnoses[1].type is None
    [procedure] = claim.procedure or []
    coding = procedure.procedureCodeableConcept.coding[0]
    assert (procedure.sequence, coding.system, coding.code) == (1, PCS, "0DTJ4ZZ")
    assert procedure.date == date(2025, 9, 30)


def test_outpatient_is_a_professional_claim_and_undated_procedures_have_no_date() -> None:
    claim, _ = _resources(fhir_bundle(_code_set(setting="outpatient", encounter_date=None)))
    assert claim.type.coding[0].code == "professional"
    assert claim.procedure[0].date is None


def test_bundle_is_deterministic_with_distinct_uuid_urls() -> None:
    first, second = fhir_bundle(_code_set()), fhir_bundle(_code_set())
    assert first == second
    urls = [e["fullUrl"] for e in first["entry"]]
    assert len(set(urls)) == 3
    assert all(u.startswith("urn:uuid:") for u in urls)
    other_version = fhir_bundle(_code_set(version=4))
    assert not set(urls) & {e["fullUrl"] for e in other_version["entry"]}


def test_csv_round_trips_including_commas_and_quotes() -> None:
    rows = list(csv.DictReader(io.StringIO(csv_text(_code_set()))))
    assert [r["code"] for r in rows] == ["E11.22", "I10", "0DTJ4ZZ"]
    assert tuple(rows[0]) == CSV_COLUMNS
    assert rows[1]["title"] == TRICKY_TITLE
    assert rows[0] | {"title": ""} == {
        "chart_id": "42", "external_id": "MRN-7", "code_set_version": "3", "sequence": "1",
        "system": "cm", "code": "E11.22", "title": "", "principal": "true",
        "origin": "agent", "action": "accept", "committed_by": "coder@example.org",
        "committed_at": "2025-10-02T14:30:05Z",
        "kb_release": "ICD-10-CM FY2026 + ICD-10-PCS FY2026", "fiscal_year": "2025",
    }  # fmt: skip
    assert [r["principal"] for r in rows] == ["true", "false", "false"]
    unknown = list(csv.DictReader(io.StringIO(csv_text(_code_set(fiscal_year=None)))))
    assert unknown[0]["fiscal_year"] == ""


def test_every_coding_names_the_code_set_version_its_fiscal_year() -> None:
    claim, conditions = _resources(fhir_bundle(_code_set(fiscal_year=2027)))
    codings = [d.diagnosisCodeableConcept.coding[0] for d in claim.diagnosis]
    codings += [p.procedureCodeableConcept.coding[0] for p in claim.procedure]
    codings += [c.code.coding[0] for c in conditions]
    assert {c.version for c in codings} == {"2027"}
    claim, _ = _resources(fhir_bundle(_code_set(fiscal_year=None)))
    assert claim.diagnosis[0].diagnosisCodeableConcept.coding[0].version is None


def test_empty_code_set() -> None:
    empty = _code_set(codes=(), external_id=None)
    claim, conditions = _resources(fhir_bundle(empty))
    assert conditions == []
    assert claim.diagnosis is None and claim.procedure is None
    assert claim.patient.display == "patient of chart 42"
    assert list(csv.reader(io.StringIO(csv_text(empty)))) == [list(CSV_COLUMNS)]


def test_codes_are_exported_in_sequence_order() -> None:
    shuffled = _code_set().codes[::-1]
    assert fhir_bundle(_code_set(codes=shuffled)) == fhir_bundle(_code_set())
    assert csv_text(_code_set(codes=shuffled)) == csv_text(_code_set())


_EXTRA = ExportCode(4, "I10", "cm", "x", False, "coder", "add")
_BROKEN = {
    "duplicate-code": {"codes": (*_code_set().codes, _EXTRA)},
    "duplicate-sequence": {
        "codes": (*_code_set().codes, dataclasses.replace(_EXTRA, sequence=3, code="I12.9"))
    },
    "principal-procedure": {
        "codes": (ExportCode(1, "0DTJ4ZZ", "pcs", "x", True, "agent", "accept"),)
    },
    "two-principals": {
        "codes": tuple(dataclasses.replace(c, principal=True) for c in _code_set().codes)
    },
    "naive-time": {"committed_at": datetime(2025, 10, 2, 14, 30)},
    "unknown-setting": {"setting": "emergency"},
}


@pytest.mark.parametrize("change", list(_BROKEN.values()), ids=list(_BROKEN))
def test_inconsistent_code_sets_are_refused(change: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        fhir_bundle(_code_set(**change))


@pytest.mark.parametrize(
    "given", ['=HYPERLINK("http://x")', "+1+2", "-3", "@SUM(A1)", "\tx", "\rx"]
)
def test_a_cell_a_spreadsheet_would_run_as_a_formula_is_exported_as_text(given: str) -> None:
    rows = list(csv.DictReader(io.StringIO(csv_text(_code_set(external_id=given)))))
    assert {r["external_id"] for r in rows} == {"'" + given}
    assert rows[0]["code"] == "E11.22" and rows[0]["chart_id"] == "42"  # the rest untouched
