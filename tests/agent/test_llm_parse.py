"""Parsing a model's answer: tolerant of its shape, strict about its evidence."""

from __future__ import annotations

import json

import pytest

from agent.models import RawProposal, Span
from agent.proposers.llm_parse import MalformedAnswer, anchor, merge, parse_answer, to_proposals

TEXT = "HPI: Shortness of breath.\nAssessment: acute  on chronic\nsystolic heart failure."


@pytest.mark.parametrize(
    "reply",
    [
        '{"codes": [{"code": "I50.23"}]}',
        '```json\n{"codes": [{"code": "I50.23"}]}\n```',
        '<think>maybe I50.9?</think>\n{"codes": [{"code": "I50.23"}]}',
        'Sure! Here is the answer: {"codes": [{"code": "I50.23"}]} Hope it helps.',
        '[{"code": "I50.23"}]',
    ],
)
def test_answer_shapes_models_produce_are_accepted(reply: str) -> None:
    assert parse_answer(reply) == [{"code": "I50.23"}]


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        ("", "empty"),
        ("E11.22, N18.31", "not valid JSON"),
        ('{"codes": [{"code": "E11.22"}', "not valid JSON"),
        ('{"code": "E11.22"}', '"codes" list'),
        ('{"codes": "E11.22"}', '"codes" list'),
    ],
)
def test_unusable_answers_say_why(reply: str, reason: str) -> None:
    with pytest.raises(MalformedAnswer, match=reason):
        parse_answer(reply)


def test_anchor_prefers_the_hinted_then_the_nearest_occurrence() -> None:
    text = "pain here. pain there."
    assert anchor(text, "pain", 11) == (11, 15)
    assert anchor(text, "pain", 9) == (11, 15)
    assert anchor(text, "pain", None) == (0, 4)


def test_anchor_tolerates_case_and_reflowed_whitespace_only() -> None:
    start, end = anchor(TEXT, "Acute on chronic systolic heart failure", 0) or (0, 0)
    assert TEXT[start:end] == "acute  on chronic\nsystolic heart failure"
    assert anchor(TEXT, "acute diastolic heart failure", 0) is None
    assert anchor(TEXT, "   ", 0) is None


def test_entries_become_proposals_and_bad_parts_are_noted() -> None:
    entries = [
        "I50.23",
        {"code": " "},
        {
            "code": "I50.23",
            "evidence": [
                {"quote": "systolic heart failure", "start": 999, "end": 1000},
                "Shortness of breath",
                {"quote": "chest pain"},
                {"start": 1},
            ],
            "citations": ["tabular:I50.23", {"source_id": "index:cm:1"}, "tabular:I50.23", 7],
            "confidence": "1.7",
            "principal": "yes",
            "rationale": 42,
        },
    ]
    proposals, notes = to_proposals(entries, TEXT, offset=100)
    (proposal,) = proposals
    assert [(s.start - 100, s.quote) for s in proposal.evidence] == [
        (TEXT.index("systolic"), "systolic heart failure"),
        (5, "Shortness of breath"),
    ]
    assert [c.source_id for c in proposal.citations] == ["tabular:I50.23", "index:cm:1"]
    assert (proposal.confidence, proposal.principal, proposal.rationale) == (1.0, False, "")
    assert len([n for n in notes if "skipped" in n]) == 2
    assert any("chest pain" in n for n in notes)


@pytest.mark.parametrize(("value", "expected"), [(0.3, 0.3), (-1, 0.0), ("x", 0.5), (True, 0.5)])
def test_confidence_is_clamped_or_defaulted(value: object, expected: float) -> None:
    (proposal,), _ = to_proposals([{"code": "R06.02", "confidence": value}], TEXT)
    assert proposal.confidence == expected


def test_codes_pass_through_as_written() -> None:
    entries = json.loads('[{"code": "s72.001z"}, {"code": "ZZZ.999"}]')
    proposals, _ = to_proposals(entries, TEXT)
    assert [p.code for p in proposals] == ["s72.001z", "ZZZ.999"]


def test_merge_joins_chunks_by_code() -> None:
    one = Span(start=0, end=4, quote="pain")
    two = Span(start=50, end=54, quote="pain")
    merged = merge(
        [
            [RawProposal(code="R52", evidence=[one], confidence=0.4, rationale="a")],
            [
                RawProposal(code="R52", evidence=[one, two], confidence=0.8, principal=True),
                RawProposal(code="I10"),
            ],
        ]
    )
    assert [p.code for p in merged] == ["R52", "I10"]
    assert merged[0].evidence == [one, two]
    assert (merged[0].confidence, merged[0].principal, merged[0].rationale) == (0.8, True, "a")
