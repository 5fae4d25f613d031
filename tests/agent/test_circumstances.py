"""Place of occurrence, activity and status of an injury, read against the real External
Cause Index, and reported once at the initial encounter."""

from __future__ import annotations

import pytest

from agent.cues.circumstances import circumstances
from agent.models import RawProposal
from agent.rules import companions
from retrieval.store import KnowledgeStore


def _codes(store: KnowledgeStore, sentence: str) -> dict[str, str]:
    return {c.what: c.code for c in circumstances(store, sentence)}


@pytest.mark.parametrize(
    ("sentence", "place", "activity", "status"),
    [
        # "home" is the residence; the kitchen under it, not under a mobile home.
        ("She slipped on water in the kitchen at home while cooking dinner.", "Y92.000",
         None, "Y99.8"),
        ("Tripped over a hose in the backyard of his house while gardening.", "Y92.017",
         "Y93.H2", "Y99.8"),
        # A place alone does not say whether the patient was at work: no status code.
        ("Rear-ended at a stop light on the freeway.", "Y92.411", None, None),
        ("Fell from scaffolding at work on a construction site.", None, None, "Y99.0"),
        # A part of the house the index does not list is its "specified NEC" place.
        ("Fell down the stairs at her single-family home.", "Y92.018", None, None),
        ("Tripped on a rug in the living room of his single-family house.", "Y92.018",
         None, None),
        ("Fell in the bathroom of her single-family house.", "Y92.012", None, None),
        ("Fell in the bedroom of her nursing home overnight.", "Y92.122", None, None),
        ("Bitten by a dog while in the backyard of his house.", "Y92.017", None, None),
        ("Injured his knee while playing basketball.", None, "Y93.67", "Y99.8"),
        ("Was jogging in the park when she tripped on a root.", "Y92.830", "Y93.02", "Y99.8"),
    ],
)  # fmt: skip
def test_the_injury_sentence_names_place_activity_and_status(
    store: KnowledgeStore,
    sentence: str,
    place: str | None,
    activity: str | None,
    status: str | None,
) -> None:
    found = _codes(store, sentence)
    assert found.get("place of occurrence") == place
    assert found.get("activity") == activity
    assert found.get("external cause status") == status


def test_how_the_patient_arrived_is_not_where_the_injury_happened(store: KnowledgeStore) -> None:
    # Neither the ambulance, the emergency department nor "driving home" is the place.
    assert _codes(store, "Brought in by ambulance to the ED after he fell from standing.") == {}
    assert "place of occurrence" not in _codes(store, "Struck by a car while driving home.")


def test_place_activity_and_status_only_at_the_initial_encounter() -> None:
    later = [RawProposal(code="S52.521D"), RawProposal(code="Y92.009"), RawProposal(code="Y99.8")]
    kept, dropped = companions(later, proposer="t")
    assert [p.code for p in kept] == ["S52.521D"]
    assert all("I.C.20.b" in d.reason for d in dropped)
    first = [
        RawProposal(code="S52.521A"),
        RawProposal(code="Y92.009", confidence=0.4),
        RawProposal(code="Y92.830", confidence=0.7),
    ]
    kept, _ = companions(first, proposer="t")
    assert [p.code for p in kept] == ["S52.521A", "Y92.830"]  # one place, the likelier
