"""Code references read from tabular note texts."""

from __future__ import annotations

import pytest

from agent.rules.code_refs import code_refs, parse_ref


@pytest.mark.parametrize(
    ("piece", "inside", "outside"),
    [
        ("E10.-", ["E10.22", "E10.9"], ["E11.22", "E1"]),
        ("O24.4-", ["O24.410", "O24.43"], ["O24.31", "O24.5"]),
        ("N18.1-N18.6", ["N18.1", "N18.30", "N18.6"], ["N18.9", "N17.0", "N19"]),
        ("I10-I16", ["I10", "I13.10", "I16.0"], ["I20.9", "I09.9"]),
        ("P70.2", ["P70.2"], ["P70.1", "P70.3"]),
        ("F10.-F19.-", ["F10.20", "F19.99"], ["F20.9"]),
        ("E08-E13 with .42", ["E11.42", "E08.42"], ["E11.22", "E14.42"]),
        ("B27.0-B27.9 with fifth character 1", ["B27.01", "B27.91"], ["B27.09", "B28.01"]),
    ],
)
def test_references_cover_their_codes(piece: str, inside: list[str], outside: list[str]) -> None:
    ref = parse_ref(piece)
    assert ref is not None
    assert [c for c in inside if not ref.covers(c)] == []
    assert [c for c in outside if ref.covers(c)] == []


@pytest.mark.parametrize(
    "piece",
    ["T36-T50 with fifth or sixth character 5", "I69. with final characters -23", "G6PD", ""],
)
def test_unreadable_references_are_left_out(piece: str) -> None:
    assert parse_ref(piece) is None


def test_lists_inside_parentheses() -> None:
    refs = code_refs("chronic obstructive (J44.0, J44.1); also (J00-J06; J20-J22) (mellitus)")
    assert [r.text for r in refs] == ["J44.0", "J44.1", "J00-J06", "J20-J22"]
