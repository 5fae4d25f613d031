"""Medicare Code Editor edits: sex and age conflicts, and codes that cannot be principal.

The lists are the MCE v37 (FY2020) ones: codes added since then carry no edit, so a missing
edit proves nothing. Edits need the chart's sex or age; when that is unknown none applies.
They are CMS edits, not Official Guidelines: their messages cite the MCE.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agent.models import ChartMeta, System
from agent.rules.guidelines import MCE, cite
from retrieval.store import KnowledgeStore

NOT_PRINCIPAL = {
    "Principal_Manifestation": "MCE lists it as a manifestation code, not allowed as principal",
    "Principal_Unacceptable": "MCE lists it as unacceptable as principal diagnosis",
}
_INFO = {
    "Noncovered_Always": "MCE: Medicare never covers this procedure",
    "Limited_Coverage": "MCE: Medicare covers this procedure only in limited cases",
}
_SEX_NAMES = {"F": "female", "M": "male"}


@dataclass
class MceFindings:
    """What the MCE lists say about one proposed code."""

    edits: list[str] = field(default_factory=list)
    drop: str | None = None
    warnings: list[str] = field(default_factory=list)


def mce_conflicts(code: str, system: System, meta: ChartMeta, store: KnowledgeStore) -> MceFindings:
    """Sex and maternity/newborn conflicts drop the code; pediatric/adult ones warn."""
    edits = store.mce_edits(code, "D" if system == "cm" else "P")
    found = MceFindings(edits=edits)
    problems = [p for p in (_sex_conflict(edits, meta), _age_conflict(edits, meta)) if p]
    if problems:
        found.drop = f"{code}: {'; '.join(problems)} {cite(MCE)}"
    found.warnings = [w for w in (_age_warning(edits, meta),) if w]
    found.warnings += [message for edit, message in _INFO.items() if edit in edits]
    if "Noncovered_Over60" in edits and meta.age is not None and meta.age > 60:
        found.warnings.append("MCE: Medicare does not cover this procedure over age 60")
    found.warnings = [f"{w} {cite(MCE)}" for w in found.warnings]
    return found


def _sex_conflict(edits: list[str], meta: ChartMeta) -> str | None:
    for edit, sex in (("Female_Only", "F"), ("Male_Only", "M")):
        if edit in edits and meta.sex is not None and meta.sex != sex:
            return (
                f"sex conflict: a code for {_SEX_NAMES[sex]} patients only, "
                f"but the patient is {_SEX_NAMES[meta.sex]}"
            )
    if "Maternity_Only" in edits and meta.sex == "M":
        return "sex conflict: a maternity code, but the patient is male"
    return None


def _age_conflict(edits: list[str], meta: ChartMeta) -> str | None:
    age = meta.age
    if age is None:
        return None
    if "Newborn_Only" in edits and age > 0:
        return f"age conflict: a newborn (perinatal) code, but the patient is {age} years old"
    if "Maternity_Only" in edits and not 12 <= age <= 55:
        return f"age conflict: a maternity code (ages 12-55), but the patient is {age}"
    return None


def _age_warning(edits: list[str], meta: ChartMeta) -> str | None:
    age = meta.age
    if age is None:
        return None
    if "Pediatric_Only" in edits and age > 17:
        return f"MCE age edit: a pediatric code (ages 0-17), but the patient is {age}"
    if "Adult_Only" in edits and age < 15:
        return f"MCE age edit: an adult code (ages 15-124), but the patient is {age}"
    return None
