"""Export one committed code set as a FHIR R4 Bundle (a Claim plus a Condition per diagnosis)
or as CSV text.

Output is a pure function of the code set: no clocks, no random ids, so re-exporting the same
version yields byte-identical files.
"""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

# R4B, not the package's top-level (R5) models: the receiving systems speak R4, and for
# Claim and Condition R4B is R4.
from fhir.resources.R4B.bundle import Bundle, BundleEntry
from fhir.resources.R4B.claim import Claim, ClaimDiagnosis, ClaimInsurance, ClaimProcedure
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.coding import Coding
from fhir.resources.R4B.condition import Condition
from fhir.resources.R4B.identifier import Identifier
from fhir.resources.R4B.reference import Reference

CODE_SYSTEMS = {
    "cm": "http://hl7.org/fhir/sid/icd-10-cm",
    "pcs": "http://www.cms.gov/Medicare/Coding/ICD10",
}
_TERMINOLOGY = "http://terminology.hl7.org/CodeSystem/"
_CLAIM_TYPES = {"inpatient": "institutional", "outpatient": "professional"}
CODE_SET_IDENTIFIER_SYSTEM = "urn:medcoder:code-set"
# Fixed namespace so entry ids depend only on the code set, never on when it was exported.
_UUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:medcoder:export")
CSV_COLUMNS = (
    "chart_id", "external_id", "code_set_version", "sequence", "system", "code", "title",
    "principal", "origin", "action", "committed_by", "committed_at", "kb_release",
    "fiscal_year",
)  # fmt: skip


@dataclass(frozen=True)
class ExportCode:
    sequence: int  # 1-based order in the final code set
    code: str  # "E11.22" (CM, with dot) or "0DTJ4ZZ" (PCS)
    system: Literal["cm", "pcs"]
    title: str
    principal: bool  # principal / first-listed diagnosis
    origin: str  # "agent" | "coder"
    action: str  # "accept" | "modify" | "add"


@dataclass(frozen=True)
class ExportCodeSet:
    chart_id: int
    external_id: str | None  # the chart's id in the hospital system, if given
    version: int
    committed_at: datetime  # timezone-aware UTC
    committed_by: str
    kb_release: str  # e.g. "ICD-10-CM FY2026 + ICD-10-PCS FY2026"
    setting: str  # "inpatient" | "outpatient"
    encounter_date: date | None
    codes: tuple[ExportCode, ...]
    # The fiscal year of the code set the codes were checked in (Coding.version in FHIR);
    # None for a set committed before years were recorded.
    fiscal_year: int | None = None


def fhir_bundle(code_set: ExportCodeSet) -> dict[str, Any]:
    """A FHIR R4 collection Bundle as a JSON-ready dict: the Claim first, then one Condition
    per ICD-10-CM code in code-set order. Raises ValueError for an inconsistent code set."""
    codes = _ordered(code_set)
    entries = [BundleEntry(fullUrl=_urn(code_set, "claim"), resource=_claim(code_set, codes))]
    entries += [
        BundleEntry(fullUrl=_urn(code_set, f"cm/{c.code}"), resource=_condition(code_set, c))
        for c in codes
        if c.system == "cm"
    ]
    bundle = Bundle(type="collection", timestamp=_utc(code_set.committed_at), entry=entries)
    return bundle.model_dump(mode="json")


def csv_text(code_set: ExportCodeSet) -> str:
    """A header row and one row per code in code-set order (RFC 4180: quoted, CRLF)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    committed_at = _utc(code_set.committed_at).isoformat().replace("+00:00", "Z")
    for c in _ordered(code_set):
        writer.writerow({key: _cell(value) for key, value in {
            "chart_id": code_set.chart_id, "external_id": code_set.external_id or "",
            "code_set_version": code_set.version, "sequence": c.sequence, "system": c.system,
            "code": c.code, "title": c.title, "principal": "true" if c.principal else "false",
            "origin": c.origin, "action": c.action, "committed_by": code_set.committed_by,
            "committed_at": committed_at, "kb_release": code_set.kb_release,
            "fiscal_year": code_set.fiscal_year or "",
        }.items()})  # fmt: skip
    return out.getvalue()


def _cell(value: object) -> object:
    """A text cell a spreadsheet would run as a formula ("=HYPERLINK(...)", "+1", "@SUM",
    or one starting with a tab or carriage return) gets a leading apostrophe: shown as text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _ordered(code_set: ExportCodeSet) -> list[ExportCode]:
    """The codes by sequence, after checking the invariants a claim relies on; a committed set
    breaking them is a bug upstream, and a silently wrong claim is worse than no export."""
    codes = sorted(code_set.codes, key=lambda c: c.sequence)
    if len({c.sequence for c in codes}) != len(codes):
        raise ValueError(f"chart {code_set.chart_id} v{code_set.version}: duplicate sequence")
    if len({(c.system, c.code) for c in codes}) != len(codes):
        raise ValueError(f"chart {code_set.chart_id} v{code_set.version}: duplicate code")
    principals = [c for c in codes if c.principal]
    if len(principals) > 1 or any(c.system != "cm" for c in principals):
        raise ValueError(
            f"chart {code_set.chart_id} v{code_set.version}: "
            "at most one principal, and it must be an ICD-10-CM diagnosis"
        )
    if code_set.setting not in _CLAIM_TYPES:
        raise ValueError(f"unknown setting {code_set.setting!r}")
    return codes


def _claim(code_set: ExportCodeSet, codes: list[ExportCode]) -> Claim:
    diagnoses = [c for c in codes if c.system == "cm"]
    procedures = [c for c in codes if c.system == "pcs"]
    label = _label(code_set)
    return Claim(
        identifier=[
            Identifier(
                system=CODE_SET_IDENTIFIER_SYSTEM,
                value=f"{code_set.chart_id}/v{code_set.version}",
            )
        ],
        status="active",
        type=_concept(_TERMINOLOGY + "claim-type", _CLAIM_TYPES[code_set.setting]),
        use="claim",
        # R4 requires patient, provider and insurance; medcoder knows none of them, so each is
        # a display-only Reference the receiving system resolves from the chart id.
        patient=_patient(code_set),
        created=_utc(code_set.committed_at),
        enterer=Reference(display=code_set.committed_by),
        provider=Reference(display=f"provider of {label}"),
        priority=_concept(_TERMINOLOGY + "processpriority", "normal"),
        insurance=[
            ClaimInsurance(
                sequence=1, focal=True, coverage=Reference(display=f"coverage of {label}")
            )
        ],
        # Claim.diagnosis and Claim.procedure are numbered separately (item.diagnosisSequence
        # and item.procedureSequence point into each), so each list is renumbered 1..n in
        # code-set order; the code-set sequence itself is kept in the CSV.
        diagnosis=[_diagnosis(i, c, code_set) for i, c in enumerate(diagnoses, 1)],
        procedure=[_procedure(i, c, code_set) for i, c in enumerate(procedures, 1)],
    )


def _diagnosis(sequence: int, code: ExportCode, code_set: ExportCodeSet) -> ClaimDiagnosis:
    # ex-diagnosistype has "principal" but no "secondary"; its other codes (admitting,
    # discharge, ...) say something we do not know, so the other diagnoses carry no type.
    kind = [_concept(_TERMINOLOGY + "ex-diagnosistype", "principal")] if code.principal else None
    return ClaimDiagnosis(
        sequence=sequence, diagnosisCodeableConcept=_code(code, code_set), type=kind
    )


def _procedure(sequence: int, code: ExportCode, code_set: ExportCodeSet) -> ClaimProcedure:
    # FHIR dateTime allows a bare date, and fhir.resources keeps one as a date at run time;
    # only its static annotation (datetime) is narrower.
    return ClaimProcedure(
        sequence=sequence,
        procedureCodeableConcept=_code(code, code_set),
        date=code_set.encounter_date,  # type: ignore[arg-type]
    )


def _condition(code_set: ExportCodeSet, code: ExportCode) -> Condition:
    return Condition(
        clinicalStatus=_concept(_TERMINOLOGY + "condition-clinical", "active"),
        verificationStatus=_concept(_TERMINOLOGY + "condition-ver-status", "confirmed"),
        category=[_concept(_TERMINOLOGY + "condition-category", "encounter-diagnosis")],
        code=_code(code, code_set),
        subject=_patient(code_set),
        recordedDate=_utc(code_set.committed_at),
    )


def _label(code_set: ExportCodeSet) -> str:
    return f"chart {code_set.external_id or code_set.chart_id}"


def _patient(code_set: ExportCodeSet) -> Reference:
    return Reference(display=f"patient of {_label(code_set)}")


def _code(code: ExportCode, code_set: ExportCodeSet) -> CodeableConcept:
    # Coding.version: the code system's version, the fiscal year ("2027" for FY2027).
    version = str(code_set.fiscal_year) if code_set.fiscal_year is not None else None
    return _concept(CODE_SYSTEMS[code.system], code.code, code.title, version)


def _concept(
    system: str, code: str, display: str | None = None, version: str | None = None
) -> CodeableConcept:
    coding = Coding(system=system, version=version, code=code, display=display)
    return CodeableConcept(coding=[coding])


def _urn(code_set: ExportCodeSet, what: str) -> str:
    name = f"{code_set.chart_id}/v{code_set.version}/{what}"
    return f"urn:uuid:{uuid.uuid5(_UUID_NAMESPACE, name)}"


def _utc(moment: datetime) -> datetime:
    # FHIR dateTime needs a zone (fhir.resources rejects naive values); normalise to UTC.
    if moment.tzinfo is None:
        raise ValueError("committed_at must be timezone-aware")
    return moment.astimezone(UTC)
