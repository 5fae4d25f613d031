"""Finding the code for a phrase through the agent (`agent.lookup.find_codes`): the phrase
read as a one-line diagnostic statement, then search, every result billable in the year."""

from __future__ import annotations

import pytest

from agent.lookup import AGENT_RANK, find_codes
from agent.pipeline import CodingAgent
from retrieval.errors import QueryError, UnknownYearError


def _codes(agent: CodingAgent, phrase: str, **options: object) -> list[str]:
    return [hit.code or "" for hit in find_codes(agent, phrase, **options)]  # type: ignore[arg-type]


def test_the_index_default_comes_first(agent: CodingAgent) -> None:
    # "Attack, heart: see Infarct, myocardium" -> I21.9, where search alone ranks titles.
    hits = find_codes(agent, "heart attack", system="cm", k=5)
    assert hits[0].code == "I21.9" and AGENT_RANK in hits[0].ranks
    assert len(hits) == 5 and all(hit.billable and hit.system == "cm" for hit in hits)
    assert len({hit.code for hit in hits}) == 5


def test_a_procedure_phrase_gets_its_pcs_code(agent: CodingAgent) -> None:
    codes = _codes(agent, "laparoscopic appendectomy", system="pcs", k=3)
    assert codes[0] == "0DTJ4ZZ" and all(len(code) == 7 for code in codes)


def test_the_year_asked_decides_the_code_set(agent: CodingAgent) -> None:
    # I42.0 Dilated cardiomyopathy became a heading in FY2027 (I42.00, I42.01, I42.09).
    before = _codes(agent, "dilated cardiomyopathy", system="cm", year=2026)
    after = _codes(agent, "dilated cardiomyopathy", system="cm", year=2027)
    assert before[0] == "I42.0" and not {"I42.00", "I42.01", "I42.09"} & set(before)
    assert after[0] in {"I42.00", "I42.01", "I42.09"} and "I42.0" not in after


def test_bad_phrases_and_years_are_refused(agent: CodingAgent) -> None:
    with pytest.raises(QueryError, match="empty"):
        find_codes(agent, "   ")
    with pytest.raises(UnknownYearError):
        find_codes(agent, "heart attack", year=2031)


def test_a_past_condition_is_its_history_code(agent: CodingAgent) -> None:
    # "h/o" makes the condition a past one: what a coder can submit is the Z code.
    for phrase, history in (("h/o breast CA", "Z85.3"), ("history of DVT", "Z86.718")):
        codes = _codes(agent, phrase, system="cm", k=5)
        assert codes[0] == history, (phrase, codes)


def test_a_phrase_typed_in_lower_case_is_also_read_with_its_acronyms(
    agent: CodingAgent,
) -> None:
    # A search box is typed in lower case; the agent reads "cad" only as "CAD".
    for typed in ("cad", "lung ca", "s/p l bka"):
        capitals = agent.lexicon.with_acronyms(typed)
        assert capitals != typed
        assert _codes(agent, typed, k=3)[0] == _codes(agent, capitals, k=3)[0], typed


def test_the_phrase_as_typed_comes_before_its_acronym_reading(agent: CodingAgent) -> None:
    # "di" is also DI (diabetes insipidus); the word reading keeps the first place.
    typed = "di george syndrome"
    assert agent.lexicon.with_acronyms(typed).startswith("DI ")
    assert _codes(agent, typed, k=3)[0] == "D82.1"
