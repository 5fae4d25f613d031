"""What coders chose before: word n-gram -> code associations and code priors, learned from
charts that were already coded.

A chart's word n-grams (one to four content words, never across sentence punctuation) are
associated with every gold code of that chart. Strength is the share of the charts containing
the n-gram whose codes include the code; an association needs support in at least two charts
and a strength worth ranking. Nothing here decides a code: the ranker weighs an association
against what the index, the tables and search found, so a frequent but unrelated code that
shares charts with an n-gram ("fever" -> I10) earns little.
"""

from __future__ import annotations

import re
import sqlite3
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from retrieval.text import singular

MAX_N = 4
MIN_SUPPORT = 2
MIN_STRENGTH = 0.15

# Function words and chart filler: an n-gram of them alone says nothing about a code.
_STOPWORDS = frozenset(
    " ".join(
        ("a an and as at be been by for from in into is it its of on or the this that to was",
         "were with without he she his her him patient which who")
    ).split()
)  # fmt: skip
_WORD = re.compile(r"[A-Za-z0-9]+")
_BREAK = re.compile(r"[.;:!?()\[\]{}\n]")


@dataclass(frozen=True, slots=True)
class Gram:
    """One n-gram occurrence: its key and where it stands in the text."""

    key: str
    start: int
    end: int
    words: int


def _word_key(word: str) -> str:
    return singular(word.lower())


def grams(text: str, max_n: int = MAX_N) -> Iterator[Gram]:
    """Every n-gram of content words in `text`, with character offsets."""
    tokens: list[tuple[str, int, int, int]] = []
    segment, last = 0, 0
    for found in _WORD.finditer(text):
        if _BREAK.search(text, last, found.start()):
            segment += 1
        last = found.end()
        key = _word_key(found.group())
        if key not in _STOPWORDS:
            tokens.append((key, found.start(), found.end(), segment))
    for i, first in enumerate(tokens):
        for n in range(1, max_n + 1):
            j = i + n
            if j > len(tokens) or tokens[j - 1][3] != first[3]:
                break
            window = tokens[i:j]
            yield Gram(" ".join(t[0] for t in window), first[1], window[-1][2], n)


@dataclass(frozen=True)
class CodedChart:
    """A chart a coder finished: its text and the codes assigned."""

    chart_id: str
    text: str
    codes: list[str]


@dataclass(frozen=True, slots=True)
class Association:
    code: str
    support: int  # charts with both the n-gram and the code
    strength: float  # support / charts with the n-gram


@dataclass
class LearnedHistory:
    """Associations by n-gram key, and how many charts carried each code."""

    associations: dict[str, list[Association]]
    code_charts: Counter[str]
    charts: int
    _categories: Counter[str] | None = field(default=None, repr=False, compare=False)

    def prior(self, code: str) -> float:
        """Share of coded charts that carry `code` (0 when nothing was learned)."""
        return self.code_charts[code] / self.charts if self.charts else 0.0

    def category_charts(self, code: str) -> int:
        """How many codes of `code`'s category the coded charts carried: a code never
        coded before (S82.201A) may still be of a category coders use (tibia fractures)."""
        if self._categories is None:
            self._categories = Counter()
            for known, charts in self.code_charts.items():
                self._categories[known[:3]] += charts
        return self._categories[code[:3]]

    def matches(self, text: str) -> Iterator[tuple[Gram, Association]]:
        for gram in grams(text):
            for association in self.associations.get(gram.key, ()):
                yield gram, association

    def codes_for(self, phrase: str) -> list[tuple[str, float]]:
        found = self.associations.get(_whole_key(phrase), [])
        ranked = sorted(found, key=lambda a: -a.strength)[:3]
        return [(a.code, a.strength) for a in ranked]

    def examples(self, phrases: Iterable[str], limit: int = 12) -> list[str]:
        """Few-shot lines ("phrase -> code") for the phrases of the chart being coded."""
        lines = []
        for phrase in dict.fromkeys(phrases):
            for code, strength in self.codes_for(phrase)[:1]:
                lines.append(f"{phrase} -> {code} (chosen in {strength:.0%} of coded charts)")
            if len(lines) >= limit:
                break
        return lines


def _whole_key(phrase: str) -> str:
    keys = [_word_key(w) for w in _WORD.findall(phrase)]
    return " ".join(k for k in keys if k not in _STOPWORDS)


def learn(charts: Sequence[CodedChart]) -> LearnedHistory:
    """Associations and priors from coded charts (train splits and committed code sets only)."""
    gram_charts: Counter[str] = Counter()
    per_chart: list[tuple[set[str], set[str]]] = []
    for chart in charts:
        keys = {g.key for g in grams(chart.text)}
        gram_charts.update(keys)
        per_chart.append((keys, set(chart.codes)))
    # Only n-grams seen in two charts or more can reach the minimum support.
    pairs: Counter[tuple[str, str]] = Counter()
    for keys, codes in per_chart:
        shared = sorted(k for k in keys if gram_charts[k] >= MIN_SUPPORT)
        for code in sorted(codes):
            pairs.update((key, code) for key in shared)
    associations: dict[str, list[Association]] = {}
    for (key, code), support in pairs.items():
        strength = support / gram_charts[key]
        if support >= MIN_SUPPORT and strength >= MIN_STRENGTH:
            associations.setdefault(key, []).append(Association(code, support, round(strength, 4)))
    code_charts: Counter[str] = Counter()
    for _, codes in per_chart:
        code_charts.update(codes)
    return LearnedHistory(associations, code_charts, len(charts))


class HistoryStore:
    """Learned history in a small SQLite file under MEDCODER_HOME, one source at a time
    (a CodiEsp train split, committed review decisions), merged when loaded."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False)
        self._db.executescript(
            "CREATE TABLE IF NOT EXISTS associations (phrase TEXT, code TEXT, support INTEGER, "
            "strength REAL, source TEXT, PRIMARY KEY (phrase, code, source));"
            "CREATE TABLE IF NOT EXISTS code_charts (code TEXT, charts INTEGER, source TEXT, "
            "PRIMARY KEY (code, source));"
            "CREATE TABLE IF NOT EXISTS sources (source TEXT PRIMARY KEY, charts INTEGER);"
        )

    def replace_source(self, source: str, learned: LearnedHistory) -> None:
        """Swap in what was learned from one source, in one transaction."""
        rows = [
            (key, a.code, a.support, a.strength, source)
            for key, found in learned.associations.items()
            for a in found
        ]
        with self._db:
            for table in ("associations", "code_charts", "sources"):
                self._db.execute(f"DELETE FROM {table} WHERE source = ?", (source,))
            self._db.executemany("INSERT INTO associations VALUES (?,?,?,?,?)", rows)
            self._db.executemany(
                "INSERT INTO code_charts VALUES (?,?,?)",
                [(code, n, source) for code, n in learned.code_charts.items()],
            )
            self._db.execute("INSERT INTO sources VALUES (?, ?)", (source, learned.charts))

    def load(self) -> LearnedHistory:
        """Every source merged: an n-gram's strongest association per code wins."""
        best: dict[tuple[str, str], Association] = {}
        for key, code, support, strength in self._db.execute(
            "SELECT phrase, code, support, strength FROM associations ORDER BY phrase, code"
        ):
            current = best.get((key, code))
            if current is None or strength > current.strength:
                best[(key, code)] = Association(code, int(support), float(strength))
        associations: dict[str, list[Association]] = {}
        for (key, _), association in best.items():
            associations.setdefault(key, []).append(association)
        code_charts: Counter[str] = Counter()
        for code, charts in self._db.execute("SELECT code, charts FROM code_charts"):
            code_charts[code] += int(charts)
        total = self._db.execute("SELECT coalesce(sum(charts), 0) FROM sources").fetchone()[0]
        return LearnedHistory(associations, code_charts, int(total))

    def count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM associations").fetchone()[0])

    def close(self) -> None:
        self._db.close()
