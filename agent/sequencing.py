"""Order the accepted codes: the principal (or first-listed) diagnosis, the other diagnoses,
then the procedures."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from agent.models import System


@dataclass(frozen=True)
class Ranked:
    """What sequencing needs to know of one accepted code."""

    code: str
    system: System
    confidence: float
    asked_principal: bool
    blocker: str | None  # why it cannot be principal, None when it can
    order: int  # position in the proposer's list, the last tie-breaker


def _key(item: Ranked) -> tuple[float, int]:
    return (-item.confidence, item.order)


def sequence(
    items: Sequence[Ranked], precede: set[tuple[str, str]], role: str = "principal"
) -> tuple[list[str], dict[str, list[str]]]:
    """The codes in sequence order and the warnings sequencing raised, by code.

    `precede` holds (first, then) pairs from code-first / use-additional-code notes; `role`
    names sequence 1 in warnings ("principal" inpatient, "first-listed" outpatient)."""
    warnings: dict[str, list[str]] = defaultdict(list)
    diagnoses = sorted((i for i in items if i.system == "cm"), key=_key)
    procedures = sorted((i for i in items if i.system == "pcs"), key=_key)
    first = choose_principal(diagnoses, precede, role, warnings)
    rest = [i for i in diagnoses if i is not first]
    ordered = ([first] if first else []) + _respecting(rest, precede) + procedures
    return [i.code for i in ordered], dict(warnings)


def choose_principal(
    diagnoses: list[Ranked],
    precede: set[tuple[str, str]],
    role: str,
    warnings: dict[str, list[str]],
) -> Ranked | None:
    """The code asked for as principal if it may be, else the most confident one that may;
    then its etiology, if a code-first note puts one of the proposals before it."""
    if not diagnoses:
        return None
    for item in diagnoses:
        if item.asked_principal and item.blocker:
            warnings[item.code].append(f"proposed as {role} diagnosis, but {item.blocker}")
    allowed = [i for i in diagnoses if i.blocker is None]
    asked = next((i for i in allowed if i.asked_principal), None)
    first = asked or (allowed[0] if allowed else None)
    if first is None:
        forced = diagnoses[0]
        warnings[forced.code].append(
            f"sequenced first only because no proposed diagnosis may be {role}: {forced.blocker}"
        )
        return forced
    seen = {first.code}
    while before := next(
        (i for i in allowed if (i.code, first.code) in precede and i.code not in seen), None
    ):
        seen.add(before.code)
        first = before
    if asked is not None and first is not asked:
        warnings[asked.code].append(f"sequenced after {first.code}, which the notes put first")
    return first


def _respecting(items: list[Ranked], precede: set[tuple[str, str]]) -> list[Ranked]:
    """`items` (sorted by confidence) reordered so that every (first, then) pair holds; the
    most confident code whose predecessors are placed goes next."""
    remaining = list(items)
    ordered: list[Ranked] = []
    while remaining:
        codes = {i.code for i in remaining}
        ready = next(
            (i for i in remaining if not any((c, i.code) in precede for c in codes)),
            remaining[0],  # a cycle: fall back to confidence
        )
        ordered.append(ready)
        remaining.remove(ready)
    return ordered
