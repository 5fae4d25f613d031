"""A side the code's title leaves unspecified that the chart does not settle."""

from __future__ import annotations

import re

from agent.cdi.model import Gap, GapKind, Indicator
from agent.models import Span

LATERALITY = GapKind(
    "laterality",
    (),
    "laterality",
    "The documentation does not state, or states differently, which side is affected; can "
    "the laterality be documented?",
    ("Right", "Left", "Bilateral"),
    (),
)
# Body parts a code title leaves "unspecified" when the side is not documented.
_SIDED_PARTS = frozenset(
    {
        "knee",
        "hip",
        "ankle",
        "foot",
        "hand",
        "wrist",
        "elbow",
        "shoulder",
        "arm",
        "leg",
        "thigh",
        "eye",
        "ear",
        "tibia",
        "femur",
        "fibula",
        "humerus",
        "radius",
        "ulna",
        "patella",
        "clavicle",
        "scapula",
        "kidney",
        "lung",
        "breast",
        "ovary",
        "testis",
        "toe",
        "finger",
        "thumb",
        "heel",
        "forearm",
        "lower",
        "upper",
    }
)
_UNSPECIFIED_PART = re.compile(r"\bunspecified ([a-z]+)\b", re.IGNORECASE)


def laterality_gap(text: str, code: str, title: str) -> Gap | None:
    """A title's "unspecified knee" is a gap when the chart names no side for the knee (its
    mentions are the indicators) or names two (the conflicting sides are); one side stated is
    a coding fix, not a query."""
    part = next(
        (m.group(1).lower() for m in _UNSPECIFIED_PART.finditer(title)
         if m.group(1).lower() in _SIDED_PARTS),
        None,
    )  # fmt: skip
    if part is None:
        return None
    sided = re.compile(
        rf"\b(right|left|bilateral|R|L)\b[^.\n]{{0,25}}?\b{part}s?\b"
        rf"|\b{part}s?\b[^.\n]{{0,10}}?\b(right|left)\b",
        re.IGNORECASE,
    )
    sides = [(m, (m.group(1) or m.group(2)).lower()[:1]) for m in sided.finditer(text)]
    if len({side for _, side in sides}) == 1:
        return None
    if sides:
        spans = [(m.start(), m.group()) for m, _ in sides]
        what = "side documented"
    else:
        plain = re.compile(rf"\b{part}s?\b", re.IGNORECASE)
        spans = [(m.start(), m.group()) for m in plain.finditer(text)]
        what = "no side documented"
    if not spans:
        return None
    indicators = tuple(
        Indicator(what, Span(start=start, end=start + len(quote), quote=quote))
        for start, quote in spans[:3]
    )
    return Gap(LATERALITY, code, indicators)
