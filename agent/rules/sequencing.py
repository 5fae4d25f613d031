"""Order the accepted codes: the principal (or first-listed) diagnosis, the other diagnoses,
then the procedures; and which diagnoses may not be principal at all."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from agent.models import Setting, System
from agent.rules.guidelines import (
    ETIOLOGY_MANIFESTATION,
    EXTERNAL_CAUSE_NOT_PRINCIPAL,
    MCE,
    MULTIPLE_CODING,
    cite,
)
from agent.rules.mce import NOT_PRINCIPAL
from agent.rules.notes import is_manifestation
from retrieval.records import CodeRecord


def principal_issue(
    record: CodeRecord, mce: Sequence[str], setting: Setting
) -> tuple[str, str] | None:
    """(guideline section, why) a diagnosis cannot be principal / first-listed, or None."""
    if is_manifestation(record):
        return ETIOLOGY_MANIFESTATION, (
            'it is a manifestation code ("in diseases classified elsewhere"): '
            f"code first the underlying condition {cite(ETIOLOGY_MANIFESTATION)}"
        )
    if record.code.startswith(("V", "W", "X", "Y")):
        return EXTERNAL_CAUSE_NOT_PRINCIPAL, (
            "external cause codes (V00-Y99) are never principal or first-listed "
            f"{cite(EXTERNAL_CAUSE_NOT_PRINCIPAL)}"
        )
    if "Principal_Manifestation" in mce:
        message = NOT_PRINCIPAL["Principal_Manifestation"]
        return ETIOLOGY_MANIFESTATION, f"{message} {cite(ETIOLOGY_MANIFESTATION, MCE)}"
    # The MCE list is an inpatient edit: many of its Z codes are fine first-listed outpatient.
    if setting == "inpatient" and "Principal_Unacceptable" in mce:
        return MCE, f"{NOT_PRINCIPAL['Principal_Unacceptable']} {cite(MCE)}"
    return None


def principal_blocker(record: CodeRecord, mce: Sequence[str], setting: Setting) -> str | None:
    """Why a diagnosis cannot be principal / first-listed, or None when it can."""
    issue = principal_issue(record, mce, setting)
    return issue[1] if issue else None


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
    # Without a request, the reason for an encounter for a service (screening, general or
    # preoperative examination, chemotherapy, drug monitoring, normal pregnancy supervision)
    # comes first (I.C.21.c, IV.K-M, I.C.2.e.2); then a definitive diagnosis before a symptom
    # (R) or another status code (Z); then confidence decides (II.A, IV.D).
    definitive = sorted(allowed, key=_first_listed_rank)
    first = asked or (definitive[0] if definitive else None)
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
        warnings[asked.code].append(
            f"sequenced after {first.code}, which the notes put first "
            f"{cite(ETIOLOGY_MANIFESTATION, MULTIPLE_CODING)}"
        )
    return first


ENCOUNTER_REASONS = ("Z00.", "Z01.8", "Z12.", "Z51.0", "Z51.1", "Z51.81", "Z08", "Z09", "Z34.")
# Sepsis with a localized infection: the systemic infection is sequenced first (I.C.1.d.4).
SYSTEMIC_INFECTIONS = ("A40.", "A41.")
# The extent of burns (T31, T32) comes after the burns by site (I.C.19.d.6).
SUPPLEMENTARY = ("R", "Z", "V", "W", "X", "Y", "T31", "T32")


def first_listed_rank(code: str) -> int:
    """Which diagnoses come first when nothing else decides: 0 the reason for an encounter
    for a service (I.C.21.c, IV.K-M) or a systemic infection (I.C.1.d.4), 1 a definitive
    diagnosis, 2 a symptom (R), status (Z), external cause (II.A, IV.D), burn extent, or
    the drug of an adverse effect or underdosing (the nature of the effect comes first,
    I.C.19.e.5.a; underdosing is never first, I.C.19.e.5.c)."""
    if code.startswith(ENCOUNTER_REASONS + SYSTEMIC_INFECTIONS):
        return 0
    return 2 if code.startswith(SUPPLEMENTARY) or is_drug_effect(code) else 1


def is_drug_effect(code: str) -> bool:
    """T36-T50 with 6th character 5 (adverse effect) or 6 (underdosing): T42.4X5A."""
    compact = code.replace(".", "")
    return compact[:1] == "T" and "36" <= compact[1:3] <= "50" and compact[5:6] in ("5", "6")


def _first_listed_rank(item: Ranked) -> int:
    return first_listed_rank(item.code)


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
