"""De-identification: every identifier of a marked-up chart replaced, clinical text untouched,
offsets mapped back exactly, all offline."""

from __future__ import annotations

import itertools
import socket
from pathlib import Path
from typing import Any

import pytest
import tldextract
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent import deid
from agent.deid import Scrubbed, deidentify, scrub
from tests.agent.phi_chart import (
    CLINICAL,
    HELD_OUT,
    HELD_OUT_CLINICAL,
    IDENTIFIERS,
    PHI_TEXT,
    Identifier,
)

CHARTS = Path(__file__).parent / "charts"


def covered(scrubbed: Scrubbed, start: int, end: int) -> bool:
    """Whether every character of original[start:end] lies inside a replacement."""
    return all(
        any(r.start <= pos < r.end for r in scrubbed.replacements) for pos in range(start, end)
    )


def leaked(scrubbed: Scrubbed, identifiers: list[Identifier]) -> list[str]:
    return [f"{i.kind}:{i.text}" for i in identifiers if not covered(scrubbed, i.start, i.end)]


def test_every_identifier_of_the_chart_is_replaced_and_nothing_else() -> None:
    scrubbed = deidentify(PHI_TEXT)
    assert len(IDENTIFIERS) >= 40
    assert leaked(scrubbed, IDENTIFIERS) == []
    # Precision: every replacement overlaps a marked identifier.
    stray = [
        PHI_TEXT[r.start : r.end]
        for r in scrubbed.replacements
        if not any(i.start < r.end and r.start < i.end for i in IDENTIFIERS)
    ]
    assert stray == []
    for identifier in IDENTIFIERS:
        if not identifier.text.isdigit():  # "94" and "96" also stand in "HR 96"
            assert identifier.text not in scrubbed.text, identifier


def test_clinical_text_is_left_exactly_as_it_was() -> None:
    scrubbed = deidentify(PHI_TEXT)
    assert [phrase for phrase in CLINICAL if phrase not in scrubbed.text] == []


@pytest.mark.parametrize("number", [0, 1])
def test_charts_written_after_the_rules_are_scrubbed_too(number: int) -> None:
    text, identifiers = HELD_OUT[number]
    scrubbed = deidentify(text)
    assert leaked(scrubbed, identifiers) == []
    kept = [phrase for phrase in HELD_OUT_CLINICAL if phrase in text]
    assert kept and all(phrase in scrubbed.text for phrase in kept)


def test_placeholders_say_what_was_there() -> None:
    text = deidentify(PHI_TEXT).text
    assert "Patient: [NAME]    MRN: [MRN]    DOB: [DATE]" in text
    assert "Ms. [NAME] is a [AGE 90+]-year-old woman with T2DM" in text
    assert "seen on [DATE] for pneumonia" in text
    assert "Fax: [FAX]" in text and "call [PHONE] with questions" in text
    assert "Email: [EMAIL]" in text and "Telemetry device IP [IP]." in text
    assert "lives at [ADDRESS], [ZIP]" in text


@pytest.mark.parametrize(
    "date",
    [
        "03/14/2026",
        "3/14/26",
        "2026-03-14",
        "March 14, 2026",
        "Mar 14 2026",
        "14 Mar 2026",
        "14-Mar-2026",
        "14th of March",
        "March 2026",
        "Mar. 14",
    ],
)
def test_dates_in_common_formats(date: str) -> None:
    text = f"Seen in clinic on {date} for follow-up of T2DM."
    assert deidentify(text).text == "Seen in clinic on [DATE] for follow-up of T2DM."


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A 92-year-old man.", "A [AGE 90+]-year-old man."),
        ("A 101 year old woman.", "A [AGE 90+] year old woman."),
        ("Patient: age 94, sex F", "Patient: age [AGE 90+], sex F"),
        ("Aged 95, lives alone.", "Aged [AGE 90+], lives alone."),
        ("96 y/o F with CHF.", "[AGE 90+] y/o F with CHF."),
        ("An 89-year-old man.", "An 89-year-old man."),
        ("Infant, age 90 days.", "Infant, age 90 days."),
        ("HR 96, RR 22.", "HR 96, RR 22."),
    ],
)
def test_only_ages_over_89_are_identifiers(text: str, expected: str) -> None:
    assert deidentify(text).text == expected


@pytest.mark.parametrize(
    "text",
    [
        "metformin 500 mg twice daily; HbA1c 7.2%; E11.22, N18.31, I10; T2DM; BP 142/88, HR 88.",
        "CKD stage 3a, eGFR 52. Pain 5/10. Symptoms began 2 weeks ago; follow up in 3 months.",
        "Mother had breast cancer. Father: Type 2 diabetes. Patient denies chest pain.",
        "Crohn's disease, Parkinson's disease, Down syndrome, Hodgkin lymphoma.",
        "Seen by Cardiology. Plan: 30-day event monitor. PCP visit\nT2DM x 12 yrs.",
        "carbidopa/levodopa 25/100 mg TID; 0DTJ4ZZ; troponin <0.01; platelets 250000.",
    ],
)
def test_clinical_sentences_pass_unchanged(text: str) -> None:
    scrubbed = deidentify(text)
    assert scrubbed.text == text and scrubbed.replacements == ()


def test_the_test_charts_of_the_agent_pass_unchanged() -> None:
    for path in sorted(CHARTS.glob("*.txt")):
        text = path.read_text()
        assert deidentify(text).text == text, path.name


def test_a_name_run_does_not_hide_the_next_title() -> None:
    text = "Consulted Dr. Alan Whitaker  Dr. Priya Natarajan and Mrs. Helen Ortiz NP."
    assert deidentify(text).text == "Consulted Dr. [NAME]  Dr. [NAME] and Mrs. [NAME] NP."


def test_deterministic() -> None:
    assert deidentify(PHI_TEXT) == deidentify(PHI_TEXT)


def test_no_network_is_asked(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The e-mail check's public-suffix lookup would fetch a list over the network on first
    use; it must answer from the bundled snapshot."""
    # tldextract's shared extractor, with an empty cache as on a new machine, would fetch.
    monkeypatch.setattr(
        tldextract.tldextract, "TLD_EXTRACTOR", tldextract.TLDExtract(cache_dir=str(tmp_path))
    )
    tried: list[object] = []

    def connect(self: socket.socket, address: object) -> None:
        tried.append(address)
        raise OSError("no network here")

    def resolve(host: object, *args: object, **kwargs: object) -> list[Any]:
        tried.append(host)
        raise socket.gaierror("no names here")

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    deid._analyzer.cache_clear()
    assert "[EMAIL]" in deidentify("Write to jane.roe@example.com today.").text
    assert tried == []


# ---- offsets -------------------------------------------------------------------------------


def test_a_quote_around_a_placeholder_maps_to_the_real_words() -> None:
    scrubbed = deidentify(PHI_TEXT)
    quote = "seen on [DATE] for pneumonia"
    at = scrubbed.text.index(quote)
    start, end = scrubbed.to_original(at, at + len(quote))
    assert PHI_TEXT[start:end] == "seen on March 10, 2026 for pneumonia"
    inside = scrubbed.text.index("[DATE] for pneumonia") + 2  # a range inside the placeholder
    start, end = scrubbed.to_original(inside, inside + 2)
    assert PHI_TEXT[start:end] == "March 10, 2026"


def test_text_outside_placeholders_maps_exactly() -> None:
    scrubbed = deidentify(PHI_TEXT)
    for phrase in CLINICAL:
        at = scrubbed.text.index(phrase)
        start, end = scrubbed.to_original(at, at + len(phrase))
        assert PHI_TEXT[start:end] == phrase
        assert scrubbed.to_scrubbed(start, end) == (at, at + len(phrase))


def test_offsets_are_clamped_to_the_text() -> None:
    scrubbed = deidentify("Dr. Alan Whitaker")
    assert scrubbed.text == "Dr. [NAME]"
    assert scrubbed.to_original(-5, 99) == (0, len("Dr. Alan Whitaker"))
    assert scrubbed.to_original(10, 3) == (17, 17)  # an inverted range is empty


PLAIN = st.text(alphabet="abcdefghij klm\n.,", max_size=25)
TEXTS = st.text(alphabet=st.characters(codec="utf-8"), max_size=60)


@st.composite
def spans_of(draw: st.DrawFn, text: str) -> list[tuple[int, int, str]]:
    bounds = st.integers(min_value=0, max_value=len(text))
    pairs = draw(st.lists(st.tuples(bounds, bounds), max_size=6))
    kinds = st.sampled_from(["NAME", "DATE", "AGE", "MRN", "X"])
    return [(min(a, b), max(a, b), draw(kinds)) for a, b in pairs]


@given(data=st.data(), text=TEXTS)
def test_mapping_properties_for_any_replacements(data: st.DataObject, text: str) -> None:
    scrubbed = scrub(text, data.draw(spans_of(text)))
    reps = scrubbed.replacements
    # Replacements are disjoint and in order; the text between them is unchanged.
    assert all(a.end <= b.start for a, b in itertools.pairwise(reps))
    size = len(scrubbed.text)
    positions = st.integers(min_value=0, max_value=size)
    a, b = sorted((data.draw(positions), data.draw(positions)))
    start, end = scrubbed.to_original(a, b)
    assert 0 <= start <= end <= len(text)
    touched = [r for r in reps if r.at < b and a < r.at + r.size]
    if not touched:
        assert text[start:end] == scrubbed.text[a:b]
    for replaced in touched:  # a placeholder in the quote brings its whole identifier
        assert start <= replaced.start and replaced.end <= end
    # Round trips cover what they started from, and the mapping is monotone.
    low, high = scrubbed.to_scrubbed(start, end)
    assert low <= a and b <= high
    c = data.draw(st.integers(min_value=b, max_value=size))
    assert scrubbed.to_original(b, c)[0] >= start and scrubbed.to_original(a, c)[1] >= end


POOL = [
    ("Dr. ", "Alan Whitaker", "NAME"),
    ("Patient: ", "Jane Roe", "NAME"),
    ("seen on ", "March 10, 2026", "DATE"),
    ("DOB ", "04/12/1931", "DATE"),
    ("admitted ", "2026-03-14", "DATE"),
    ("MRN: ", "00482913", "MRN"),
    ("call ", "(217) 555-0143", "PHONE"),
    ("mail ", "j.roe@example.com", "EMAIL"),
    ("a ", "94", "AGE"),
    ("SSN ", "123-45-6789", "SSN"),
]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pieces=st.lists(st.tuples(PLAIN, st.sampled_from(POOL)), min_size=1, max_size=5),
    tail=PLAIN,
)
def test_inserted_identifiers_map_back_to_themselves(
    pieces: list[tuple[str, tuple[str, str, str]]], tail: str
) -> None:
    text, inserted = "", []
    for plain, (context, value, _kind) in pieces:
        text += f"{plain} {context}"
        inserted.append((len(text), len(text) + len(value), value))
        text += value + ("-year-old " if value == "94" else " ")
    text += tail
    scrubbed = deidentify(text)
    for start, end, value in inserted:
        assert covered(scrubbed, start, end), (value, text)
        assert value not in scrubbed.text or value == "94"
    # Each placeholder maps back onto the original identifier it replaced (or a span that
    # covers it); every stretch between placeholders maps back to the same text.
    for replaced in scrubbed.replacements:
        start, end = scrubbed.to_original(replaced.at, replaced.at + replaced.size)
        assert (start, end) == (replaced.start, replaced.end)
        assert any(s <= start < e or start <= s < end for s, e, _ in inserted), (
            text,
            text[start:end],
        )
    edges = [0, *(x for r in scrubbed.replacements for x in (r.at, r.at + r.size))]
    edges.append(len(scrubbed.text))
    for a, b in zip(edges[::2], edges[1::2], strict=True):
        start, end = scrubbed.to_original(a, b)
        assert text[start:end] == scrubbed.text[a:b]
