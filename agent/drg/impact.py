"""What one code does to the DRG: the claim grouped with and without it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from agent.drg.claims import Claim, DrgResult, Grouper, compact, is_procedure


@dataclass(frozen=True)
class Impact:
    """The DRG of the claim without the code and with it, and the code's own severity."""

    code: str
    without: DrgResult
    with_code: DrgResult
    severity: str  # the code's CC/MCC level as a secondary diagnosis ("NONE" for procedures)
    excluded: bool  # a CC/MCC the principal diagnosis excludes
    sets_drg: bool | None = None  # for a procedure: whether the grouper used it for the DRG

    @property
    def changes_drg(self) -> bool:
        return self.without.drg != self.with_code.drg

    def message(self) -> str:
        """ "adding N17.9 moves DRG 282 -> 281 (N17.9 is a CC here)"."""
        own = f"{self.code} is a{'n' if self.severity == 'MCC' else ''} {self.severity}"
        if self.sets_drg is not None:
            own = f"{self.code} {'sets' if self.sets_drg else 'does not set'} the DRG"
        elif self.severity == "NONE":
            own = f"{self.code} is no CC or MCC"
        elif self.excluded:
            own += ", but excluded with this principal diagnosis"
        else:
            own += " here"
        if not self.changes_drg:
            return f"adding {self.code} leaves DRG {self.with_code.drg} ({own})"
        return f"adding {self.code} moves DRG {self.without.drg} -> {self.with_code.drg} ({own})"


def impacts(grouper: Grouper, claim: Claim, codes: Sequence[str]) -> list[Impact]:
    """For each code (a secondary diagnosis or a procedure), the claim grouped without it
    and with it: what accepting or rejecting that one proposal does, the rest unchanged."""
    found = []
    grouped: dict[Claim, DrgResult] = {}  # a code the claim holds is "with" the claim itself

    def group(asked: Claim) -> DrgResult:
        if asked not in grouped:
            grouped[asked] = grouper.group(asked)
        return grouped[asked]

    for code in codes:
        without = group(claim.with_codes(remove=(code,)))
        with_code = group(claim.with_codes(add=(code,)))
        own = next(
            (d for d in with_code.diagnoses if compact(d.code) == compact(code)),
            None,
        )
        found.append(
            Impact(
                code=code,
                without=without,
                with_code=with_code,
                severity=own.severity if own else "NONE",
                excluded=own.excluded if own else False,
                sets_drg=(
                    compact(code) in {compact(c) for c in with_code.procedures}
                    if is_procedure(code)
                    else None
                ),
            )
        )
    return found
