"""Phrase -> code associations learned from charts that coders already coded.

A phrase in a coded chart is associated with a gold code of that chart. Strength is the share
of charts containing the phrase whose gold codes include the code. A pair sharing a content
word with the code's title ("renal colic" -> N23) needs little support; a pair sharing none
must recur in most charts with the phrase, or every phrase would learn every common code.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from retrieval.lexical import tokenize
from retrieval.store import KnowledgeStore

MIN_SUPPORT = 2
MIN_STRENGTH = 0.25
_GENERIC = frozenset(
    {
        "unspecified",
        "disease",
        "disorder",
        "acute",
        "chronic",
        "left",
        "right",
        "specified",
        "site",
        "part",
        "type",
        "due",
        "condition",
        "other",
        "without",
        "initial",
        "encounter",
    }
)


@dataclass(frozen=True)
class CodedChart:
    """A chart a coder finished: the phrases found in it and the codes assigned."""

    chart_id: str
    phrases: list[str]
    codes: list[str]


def _content_words(text: str) -> set[str]:
    return {t for t in tokenize(text) if t not in _GENERIC and not t.isdigit()}


def learn(charts: Iterable[CodedChart], store: KnowledgeStore) -> list[tuple[str, str, int, float]]:
    """(phrase, code, support, strength) for associations worth keeping."""
    phrase_charts: Counter[str] = Counter()
    pair_charts: Counter[tuple[str, str, bool]] = Counter()
    title_words: dict[str, set[str]] = {}
    for chart in charts:
        phrases = {" ".join(tokenize(p)) for p in chart.phrases} - {""}
        phrase_charts.update(phrases)
        for code in set(chart.codes):
            if code not in title_words:
                record = store.get(code)
                title_words[code] = _content_words(record.title) if record else set()
            for phrase in phrases:
                shares_word = bool(_content_words(phrase) & title_words[code])
                pair_charts[(phrase, code, shares_word)] += 1
    kept = []
    for (phrase, code, shares_word), support in pair_charts.items():
        strength = support / phrase_charts[phrase]
        # Without a shared word the association must be frequent and consistent to count
        # ("adenopathy" -> R59.9), or every phrase would learn every common code.
        needed = (MIN_SUPPORT, MIN_STRENGTH) if shares_word else (4, 0.5)
        if support >= needed[0] and strength >= needed[1]:
            kept.append((phrase, code, support, round(strength, 4)))
    return sorted(kept)


class HistoryStore:
    """The learned associations in a small SQLite file under MEDCODER_HOME."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS associations (phrase TEXT, code TEXT, support INTEGER, "
            "strength REAL, source TEXT, PRIMARY KEY (phrase, code, source))"
        )

    def replace_source(self, source: str, rows: list[tuple[str, str, int, float]]) -> None:
        """Swap in the associations learned from one source, in one transaction."""
        with self._db:
            self._db.execute("DELETE FROM associations WHERE source = ?", (source,))
            self._db.executemany(
                "INSERT INTO associations VALUES (?,?,?,?,?)",
                [(*row, source) for row in rows],
            )

    def codes_for(self, phrase: str) -> list[tuple[str, float]]:
        key = " ".join(tokenize(phrase))
        rows = self._db.execute(
            "SELECT code, max(strength) FROM associations WHERE phrase = ? GROUP BY code "
            "ORDER BY 2 DESC LIMIT 3",
            (key,),
        ).fetchall()
        return [(code, float(strength)) for code, strength in rows]

    def examples(self, phrases: Iterable[str], limit: int = 12) -> list[str]:
        """Few-shot lines ("phrase -> code") for the phrases of the chart being coded."""
        lines = []
        for phrase in dict.fromkeys(phrases):
            for code, strength in self.codes_for(phrase)[:1]:
                lines.append(f"{phrase} -> {code} (chosen in {strength:.0%} of coded charts)")
            if len(lines) >= limit:
                break
        return lines

    def count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM associations").fetchone()[0])

    def close(self) -> None:
        self._db.close()
