"""What goes into a grouper and what comes out, independent of the grouper used."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Literal, Protocol

Sex = Literal["M", "F", "U"]

# MS-DRG versions by the first discharge date they apply to: the October release of each
# fiscal year and its April update (v43 for FY2026, v44 for FY2027).
_VERSIONS: tuple[tuple[date, int], ...] = (
    (date(2022, 10, 1), 400),
    (date(2023, 4, 1), 401),
    (date(2023, 10, 1), 410),
    (date(2024, 4, 1), 411),
    (date(2024, 10, 1), 420),
    (date(2025, 4, 1), 421),
    (date(2025, 10, 1), 430),
    (date(2026, 4, 1), 431),
    (date(2026, 10, 1), 440),
)


class DrgError(ValueError):
    """A claim the grouper cannot take (what was wrong, and where)."""


def grouper_version(discharged: date) -> int:
    """The MS-DRG version in force on a discharge date (v431 for 2026-06-30)."""
    if discharged < _VERSIONS[0][0]:
        raise DrgError(
            f"discharge date {discharged.isoformat()}: no MS-DRG version before "
            f"{_VERSIONS[0][0].isoformat()} is available"
        )
    return max(version for start, version in _VERSIONS if start <= discharged)


@dataclass(frozen=True)
class Claim:
    """An inpatient claim as a grouper reads it. Codes are written with or without dots;
    `poa` holds the present-on-admission indicator (Y, N, U, W) of a diagnosis where known."""

    principal: str
    secondary: tuple[str, ...] = ()
    procedures: tuple[str, ...] = ()
    age: int | None = None
    sex: Sex = "U"
    discharge_status: int = 1  # CMS patient discharge status: 01 home / self care
    discharged: date = field(default_factory=date.today)
    poa: tuple[tuple[str, str], ...] = ()  # (code, indicator)
    # A hospital exempt from the HAC / POA payment rules (critical access, Maryland...):
    # otherwise a HAC code without its POA indicator leaves the claim ungroupable.
    hac_exempt: bool = False

    def with_codes(self, *, add: tuple[str, ...] = (), remove: tuple[str, ...] = ()) -> Claim:
        """This claim with secondary diagnoses or procedures added or removed (a PCS code
        has seven characters and no dot; everything else is a diagnosis)."""
        gone = {compact(code) for code in remove}
        secondary = [c for c in self.secondary if compact(c) not in gone]
        procedures = [c for c in self.procedures if compact(c) not in gone]
        held = {compact(c) for c in self.procedures}
        for code in add:
            procedure = compact(code) in held or is_procedure(code)
            target = procedures if procedure else secondary
            if compact(code) not in {compact(c) for c in target}:
                target.append(code)
        return replace(self, secondary=tuple(secondary), procedures=tuple(procedures))


def compact(code: str) -> str:
    """A code as the grouper writes it and compares it: no dot, upper case (N17.9 -> N179)."""
    return code.replace(".", "").strip().upper()


def is_procedure(code: str) -> bool:
    """Whether a code being added is ICD-10-PCS: seven characters and no dot (0DTJ4ZZ,
    B2111ZZ). A seven-character CM code is written with its dot (S72.001A) wherever a code
    is added by name; the claim's own lists say which is which for the codes it holds."""
    written = code.strip()
    return "." not in written and len(written) == 7 and written.isalnum()


@dataclass(frozen=True)
class CodeSeverity:
    """One code's part in the grouping: CC, MCC or none, and whether it drove the DRG."""

    code: str
    severity: str  # "MCC", "CC" or "NONE"
    drives_drg: bool  # the grouper says the code set the severity level of the DRG
    excluded: bool = False  # a CC/MCC excluded by the principal diagnosis (CC exclusion)


@dataclass(frozen=True)
class DrgResult:
    """The final MS-DRG of a claim."""

    drg: int | None
    title: str
    mdc: int | None
    severity: str  # of the secondary diagnoses: "MCC", "CC" or "NONE"
    version: int
    return_code: str  # "OK", or why the claim is ungroupable
    diagnoses: tuple[CodeSeverity, ...] = ()
    procedures: tuple[str, ...] = ()  # procedure codes that set the DRG (surgical DRGs)

    @property
    def ungroupable(self) -> bool:
        return self.return_code != "OK" or self.drg in (998, 999)


class Grouper(Protocol):
    """Groups a claim; a kept library behind it, chosen by the wiring."""

    def group(self, claim: Claim) -> DrgResult: ...
