"""The Table of Neoplasms read as the Index sends a coder to it: the column is the behaviour
the chart states, and a "tumor" of a site with none stated is of unspecified behaviour."""

from __future__ import annotations

import pytest

from agent.models import Mention, Span
from agent.tables import table_candidates
from retrieval.store import KnowledgeStore


def _codes(store: KnowledgeStore, sentence: str, word: str) -> list[str]:
    at = sentence.index(word)
    mention = Mention(
        text=word, span=Span(start=at, end=at + len(word), quote=word), kind="condition"
    )
    return [c.code for c in table_candidates(store, mention, sentence, 0)]


@pytest.mark.parametrize(
    ("sentence", "word", "code"),
    [
        # Index: "Tumor - see Neoplasm, unspecified behavior, by site".
        ("He consulted for a painful tumor of 5 x 3 cm in the tongue.", "tumor", "D49.0"),
        ("Squamous cell carcinoma of the tongue, a tumor of 3 cm.", "tumor", "C02.9"),
        ("Benign tumor of the tongue.", "tumor", "D10.1"),
        ("Tumor of the tongue with metastases.", "metastases", "C79.89"),
    ],
)
def test_the_column_is_the_behaviour_the_sentence_states(
    store: KnowledgeStore, sentence: str, word: str, code: str
) -> None:
    assert _codes(store, sentence, word) == [code]
