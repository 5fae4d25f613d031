"""What keeps coding cost linear in a chart's size (issue 12) gives the answers of the scans
it replaced: the sentence of an offset by bisection, sentence splitting without slicing the
rest of a section at each full stop, per-sentence grouping of mentions, and candidates reused
for a mention looked up before in the same context. The speed itself is measured by
bench/chart_size.py, not here."""

from __future__ import annotations

import random
import re

from agent.candidates import (
    SEARCH_DEPTH,
    _lookups,
    _mention_candidates,
    _other_statement_words,
    _positions,
    find_candidates,
    search_query,
    search_system,
    statements_of,
)
from agent.chart import (
    _ABBREVIATIONS,
    _LIST_ITEM,
    _SENTENCE_END,
    _WRAP_WIDTH,
    SentenceIndex,
    _body_start,
    _trimmed,
    build_chart,
    detect_sections,
    sentence_index,
    split_sentences,
)
from agent.index_walk import walk_keys
from agent.lexicon import Lexicon
from agent.mentions import find_mentions
from agent.models import Chart, Mention, MentionKind, Section, Sentence, Span
from agent.specificity import Statement, clause
from retrieval.search import HybridSearcher

_WORDS = (
    "Dr.", "e.g.", "1.", "2)", "mg.", "approx.", "etc.", "A.", "b.", "12.", "fever", "Pain",
    "the", "patient", "was", "seen", "and", "chest pain", "diabetes", ".", "!", "?", "...",
    "\n", "\n\n", "\n  ", " ", "\t", "-", "(1.", '"', "'", ")", "\x1c", "\u00a0", "\u2028",
    "HPI:", "Assessment:", "Past medical history:", "no", "x", "Plan", "a long line of prose",
    "that runs on", "in lower case and wraps", "\n- item", "\n3) item", "ok.\n", "ok.\nnext",
)  # fmt: skip


def _random_text(rng: random.Random) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(rng.randint(1, 80)))


def _scan(sentences: list[Sentence], offset: int) -> int | None:
    return next((n for n, s in enumerate(sentences) if s.start <= offset < s.end), None)


def test_bisection_finds_the_sentence_a_scan_finds() -> None:
    rng = random.Random(12)
    for _ in range(200):
        chart = build_chart(_random_text(rng) or "x")
        index = SentenceIndex(chart.sentences)
        for offset in [rng.randint(-2, len(chart.text) + 2) for _ in range(50)]:
            assert index.position(offset) == _scan(chart.sentences, offset)
            expected = _scan(chart.sentences, offset)
            assert index.at(offset) == (None if expected is None else chart.sentences[expected])


def test_sentences_out_of_order_or_overlapping_are_scanned() -> None:
    rng = random.Random(4)
    for _ in range(200):
        sentences = []
        for _ in range(rng.randint(0, 8)):
            start = rng.randint(0, 60)
            sentences.append(Sentence(start=start, end=start + rng.randint(0, 15), section="x"))
        index = SentenceIndex(sentences)
        for offset in range(-1, 80):
            assert index.position(offset) == _scan(sentences, offset)


def test_a_chart_keeps_its_index_and_a_copy_shares_it() -> None:
    chart = build_chart("Fever. Cough.\nChest pain.")
    index = sentence_index(chart)
    assert sentence_index(chart) is index
    assert sentence_index(chart.model_copy(update={"fiscal_year": 2026})) is index
    other = build_chart("Fever. Cough.\nChest pain.")
    assert sentence_index(other) is not index
    assert sentence_index(other).position(8) == index.position(8) == 1


# The sentence splitter as it was before issue 12 (slicing the rest of the section at each
# full stop and newline): the reference the linear one must agree with.
def _old_cuts(text: str, start: int, end: int) -> set[int]:
    cuts = set()
    for match in _SENTENCE_END.finditer(text, start, end):
        following = text[match.end() : end]
        gap = following[: len(following) - len(following.lstrip())]
        if following.lstrip()[:1].islower() and "\n" not in gap:
            continue
        if not _old_is_abbreviation(text, start, match.start(), match.group()):
            cuts.add(match.end())
    for newline in (m.start() for m in re.finditer("\n", text[start:end])):
        if _old_ends_line(text, start + newline, end):
            cuts.add(start + newline)
    return cuts


def _old_is_abbreviation(text: str, floor: int, dot: int, punct: str) -> bool:
    if not punct.startswith(".") or len(punct.rstrip("\"')]")) > 1:
        return False
    line_start = text.rfind("\n", floor, dot) + 1 or floor
    word = text[max(line_start, floor) : dot].split()[-1:] or [""]
    token = word[0].lstrip("([\"'").lower()
    if token.isdigit() and not text[max(line_start, floor) : dot].strip()[: -len(token)]:
        return True
    return token in _ABBREVIATIONS


def _old_ends_line(text: str, newline: int, end: int) -> bool:
    line = text[text.rfind("\n", 0, newline) + 1 : newline].strip()
    rest = text[newline + 1 : end].lstrip(" \t")
    if not rest or rest[0] == "\n" or not rest[0].islower() or line.endswith((".", ":", ";")):
        return True
    return len(line) < _WRAP_WIDTH or bool(_LIST_ITEM.match(line + " "))


def _old_split(text: str, sections: list[Section]) -> list[Sentence]:
    sections = sections or [Section(name="other", heading="", start=0, end=len(text))]
    sentences = []
    for section in sections:
        body = _body_start(text, section)
        start = body
        for cut in sorted(_old_cuts(text, body, section.end) | {section.end}):
            sentence = _trimmed(text, start, cut, section.name)
            if sentence is not None:
                sentences.append(sentence)
            start = cut
    return sentences


def test_sentences_are_split_as_before() -> None:
    rng = random.Random(2026)
    for _ in range(500):
        text = _random_text(rng)
        sections = detect_sections(text)
        assert split_sentences(text, sections) == _old_split(text, sections), repr(text)


# Mention grouping as it was before issue 12: every mention against every other one.
def _old_statements(chart: Chart, mentions: list[Mention]) -> list[Statement]:
    statements = []
    for mention in mentions:
        sentence = next((s for s in chart.sentences if s.start <= mention.span.start < s.end), None)
        if sentence is None:
            statements.append(Statement.read(mention.text))
            continue
        text = chart.text[sentence.start : sentence.end]
        others = tuple(
            m.span.start - sentence.start
            for m in mentions
            if sentence.start <= m.span.start < sentence.end
            and m.span.start != mention.span.start
            and m.kind != "status"
        )
        start = mention.span.start - sentence.start
        end = min(mention.span.end, sentence.end) - sentence.start
        left, right = clause(text, start, end, others)
        statements.append(Statement.read(text[left:right]))
    return statements


def _old_other_words(
    chart: Chart, mentions: list[Mention], statements: list[Statement]
) -> list[frozenset[str]]:
    sentence_of = [
        next((n for n, s in enumerate(chart.sentences) if s.start <= m.span.start < s.end), -1)
        for m in mentions
    ]
    keys = [frozenset(walk_keys(s.text)) for s in statements]
    found = []
    for i, own in enumerate(keys):
        others = [
            keys[j]
            for j in range(len(mentions))
            if j != i and sentence_of[j] == sentence_of[i] and mentions[j].kind != "status"
        ]
        found.append(frozenset().union(*others) - own)
    return found


def test_statements_and_other_statement_words_are_as_before() -> None:
    rng = random.Random(7)
    text = (
        "Pleuritic chest pain, shortness of breath and fever without cough. "
        "Closed fracture of left femur; type 2 diabetes with neuropathy.\n"
        "No pneumonia, acute kidney injury on chronic kidney disease stage 3. Smoker."
    )
    words = [(m.start(), m.end()) for m in re.finditer(r"\w+(?: \w+)?", text)]
    kinds: list[MentionKind] = ["condition", "procedure", "status"]
    for _ in range(100):
        chart = build_chart(text)
        if rng.random() < 0.3:  # sentences out of order: the scans' answers still hold
            chart = Chart(text=text, sentences=rng.sample(chart.sentences, len(chart.sentences)))
        mentions = [
            Mention(text=text[a:b], span=Span(start=a, end=b, quote=text[a:b]), kind=kind)
            for a, b in rng.sample(words, rng.randint(0, 12))
            for kind in [rng.choice(kinds)]
        ]
        statements = statements_of(chart, mentions, None)
        assert statements == _old_statements(chart, mentions)
        assert _other_statement_words(chart, mentions, statements) == _old_other_words(
            chart, mentions, statements
        )


def test_a_repeated_mention_gets_the_candidates_it_would_be_looked_up_to(
    searcher: HybridSearcher,
) -> None:
    lexicon = Lexicon.from_store(searcher.store)
    sentence = "Acute appendicitis with perforation and fever."
    text = f"{sentence}\nLaparoscopic appendectomy.\n{sentence}\nHistory:\n{sentence}\n{sentence}"
    chart = build_chart(text)
    mentions = find_mentions(chart, lexicon)
    found = find_candidates(chart, mentions, searcher, lexicon)
    # Each mention looked up on its own, without the chart's memo.
    positions = _positions(chart, mentions)
    lookups = _lookups(chart, mentions, positions, lexicon)
    statements = statements_of(chart, mentions, lexicon, positions)
    elsewhere = _other_statement_words(chart, mentions, statements, positions)
    repeated = 0
    for index, (mention, context) in enumerate(lookups):
        if mention.kind == "status":
            continue
        query = (search_query(mention, context), search_system(mention))
        hits = searcher.search_many([query], k=SEARCH_DEPTH)[0]
        alone = _mention_candidates(
            searcher, mention, mentions[index], index, context, statements[index],
            elsewhere[index], hits,
        )  # fmt: skip
        mine = [c for c in found if c.mention_index == index]
        assert mine == alone, mention.text
        repeated += sum(m.text == mention.text for m in mentions[:index])
    assert repeated >= 3  # the sentence's mentions were found again, in and out of history
    # A reused candidate is a copy: changing it changes nothing of the first mention's.
    same = [i for i, m in enumerate(mentions) if m.text == mentions[0].text]
    first = [c for c in found if c.mention_index == same[0]]
    again = [c for c in found if c.mention_index == same[1]]
    assert first and [c.code for c in again] == [c.code for c in first]
    again[0].score, again[0].citations[0].label = -1.0, "changed"
    assert first[0].score != -1.0 and first[0].citations[0].label != "changed"
