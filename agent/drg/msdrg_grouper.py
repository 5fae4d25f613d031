"""The `msdrg` package (CMS MS-DRG v40-v44 with the MCE, offline) behind `Grouper`."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, cast

from agent.drg.claims import (
    Claim,
    CodeSeverity,
    DrgError,
    DrgResult,
    compact,
    grouper_version,
)

if TYPE_CHECKING:
    from msdrg import ClaimInput

_SEX = {"M": 0, "F": 1, "U": 2}


class MsdrgGrouper:
    """One native grouper context, shared by the threads that group (calls are serialised:
    a grouping takes well under a millisecond)."""

    def __init__(self) -> None:
        from msdrg import MsdrgGrouper as Native

        self._native = Native()
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._native.close()

    def group(self, claim: Claim) -> DrgResult:
        version = grouper_version(claim.discharged)
        poa = {compact(code): flag for code, flag in claim.poa}
        request: dict[str, Any] = {
            "version": version,
            "sex": _SEX[claim.sex],
            "discharge_status": claim.discharge_status,
            "hospital_status": "EXEMPT" if claim.hac_exempt else "NOT_EXEMPT",
            "pdx": _diagnosis(claim.principal, poa),
            "sdx": [_diagnosis(code, poa) for code in claim.secondary],
            "procedures": [{"code": compact(code)} for code in claim.procedures],
        }
        if claim.age is not None:
            request["age"] = claim.age
        with self._lock:
            found: dict[str, Any] = dict(self._native.group(cast("ClaimInput", request)))
        _refuse_invalid(claim, found, version)
        diagnoses = tuple(
            CodeSeverity(
                code=_dotted(output["code"]),
                severity=str(output.get("severity") or "NONE"),
                drives_drg=output.get("drg_impact") in ("BOTH", "FINAL"),
                excluded="EXCLUDED" in (output.get("flags") or ()),
            )
            for output in found.get("sdx_output") or ()
        )
        return DrgResult(
            drg=found.get("final_drg"),
            title=str(found.get("final_drg_description") or ""),
            mdc=found.get("final_mdc"),
            severity=str(found.get("final_severity") or "NONE"),
            version=version,
            return_code=str(found.get("return_code") or ""),
            diagnoses=diagnoses,
            # msdrg's is_or is true for every valid procedure (a chest X-ray too), so what
            # is kept is whether the procedure set the DRG, which it reports reliably.
            procedures=tuple(
                output["code"]
                for output in found.get("proc_output") or ()
                if output.get("drg_impact") in ("BOTH", "FINAL")
            ),
        )


def _diagnosis(code: str, poa: dict[str, str]) -> dict[str, str]:
    written = compact(code)
    found = {"code": written}
    if written in poa:
        found["poa"] = poa[written]
    return found


def _refuse_invalid(claim: Claim, found: dict[str, Any], version: int) -> None:
    """A code the grouper's code set does not hold is the caller's error, said by name."""
    bad = []
    principal = found.get("pdx_output") or {}
    if "VALID" not in (principal.get("flags") or ()):
        bad.append(f"principal {claim.principal}")
    # The grouper lists the secondary diagnoses in its own order: read the codes back.
    bad += [
        f"secondary {_dotted(output['code'])}"
        for output in found.get("sdx_output") or ()
        if "VALID" not in (output.get("flags") or ())
    ]
    if bad:
        raise DrgError(
            f"not a valid ICD-10-CM code in MS-DRG v{version} (discharge "
            f"{claim.discharged.isoformat()}): {', '.join(bad)}"
        )


def _dotted(code: str) -> str:
    """A CM code written as coders read it (N179 -> N17.9)."""
    return code if len(code) <= 3 else f"{code[:3]}.{code[3:]}"
