"""Clinical abbreviations, acronyms and lay terms, mapped to the wording of the code sets.

Charts say "afib", "T2DM w/ neuropathy", "s/p CABG"; patients say "heart attack" and "water
pill". The Alphabetic Index and the Tabular say "atrial fibrillation", "type 2 diabetes mellitus
with ... neuropathy", "bypass coronary artery", "myocardial infarction", "diuretic". This module
holds that mapping (`vocabulary/abbreviations.tsv`, written for medcoder; the file's header
describes its columns) and finds its variants in free text:

    vocabulary = default_vocabulary()
    vocabulary.expansions("CHF")            # ("congestive heart failure",)
    vocabulary.rewrite("T2DM w/ neuropathy")  # "type 2 diabetes mellitus with neuropathy"
    vocabulary.rewrite("pe of the thigh")   # None: a lower-case "pe" is not an acronym

Case is part of an acronym: a word written in capitals in the file matches only in capitals
("PE", "PEs"), unless the entry's flag `i` says the lower-case form is safe ("copd"). Other
words match in any of the usual casings ("afib", "Afib", "AFIB"), plurals folded. Filler words
("of", "the", "a", ...) are skipped on both sides, as in the lexicon. "w/" reads "with" and
"w/o" "without" everywhere. Context triggers (h/o, s/p, r/o) are not concepts and are left to
agent/mentions.py.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Literal, cast

Kind = Literal["condition", "finding", "procedure", "drug", "word"]
KINDS: tuple[Kind, ...] = ("condition", "finding", "procedure", "drug", "word")
# Kinds a chart mention can be (drugs and word parts only ever rewrite longer text).
MENTION_KINDS = frozenset({"condition", "finding", "procedure"})

# Skipped on both sides when matching, as agent/lexicon.py skips them ("s" is a possessive).
FILLERS = frozenset({"a", "an", "the", "of", "in", "s"})

# A word: "w/", "w/o" and "w/out" are words of their own ("with", "without"); otherwise a run
# of letters and digits.
_WORD = re.compile(r"(?<![A-Za-z0-9])[wW]/(?:[oO](?:ut)?(?![A-Za-z0-9]))?|[A-Za-z0-9]+")
_WITH = {"w/": "with", "w/o": "without", "w/out": "without"}
_NUMBER = "#"


@dataclass(frozen=True, slots=True)
class Word:
    """A word of a text with its offsets; `text` is as written except "w/" -> "with"."""

    text: str
    start: int
    end: int


def split_words(text: str) -> list[Word]:
    words = []
    for found in _WORD.finditer(text):
        raw = found.group()
        words.append(Word(_WITH.get(raw.lower(), raw), found.start(), found.end()))
    return words


def fold(word: str) -> str:
    """Lower case with a simple plural folded: the key words are compared on."""
    lowered = word.lower()
    if len(lowered) > 3 and lowered.endswith("s") and not lowered.endswith(("ss", "us", "is")):
        return lowered[:-1]
    return lowered


def _is_acronym(word: str) -> bool:
    return any(c.isalpha() for c in word) and not any(c.islower() for c in word)


def _usual_casing(word: str) -> bool:
    """Whether a word is written "afib", "Afib" or "AFIB", not "aFib" or "METs" (metabolic
    equivalents, not "mets")."""
    return word.islower() or word.isupper() or word.istitle() or not word.isalpha()


@dataclass(frozen=True, slots=True)
class _Pattern:
    """One word of a variant and how a word of the text must look to match it."""

    word: str
    folded: str
    acronym: bool  # capitals: only this word, or it with a plural "s"
    any_case: bool  # mixed case in the file ("HFrEF", "hypoK"): any casing
    filler: bool

    def matches(self, word: str, last: bool) -> bool:
        if self.acronym:
            return word == self.word or (last and word == self.word + "s")
        plural = last and word[-1] in "sS" and word[:-1].lower() == self.folded  # "UTIs"
        if fold(word) != self.folded and not plural:
            return False
        return self.any_case or _usual_casing(word)


@dataclass(frozen=True, slots=True)
class Entry:
    """One variant and the terms it stands for, best reading first."""

    variant: str
    canonicals: tuple[str, ...]
    kind: Kind
    search_only: bool = False
    any_case: bool = False
    not_before: frozenset[str] = frozenset()
    not_after: frozenset[str] = frozenset()

    @property
    def canonical(self) -> str:
        return self.canonicals[0]


@dataclass(frozen=True, slots=True)
class _Compiled:
    entry: Entry
    patterns: tuple[_Pattern, ...]
    separators: tuple[str, ...]
    acronym: bool  # some word is an acronym: a heading label when it ends in ":"


def _compile(entry: Entry) -> _Compiled:
    words = split_words(entry.variant)
    patterns = tuple(
        _Pattern(
            word=w.text,
            folded=fold(w.text),
            acronym=_is_acronym(w.text) and not entry.any_case,
            any_case=entry.any_case or not (w.text.islower() or _is_acronym(w.text)),
            filler=w.text.lower() in FILLERS and not _is_acronym(w.text),
        )
        for w in words
    )
    gaps = (entry.variant[a.end : b.start] for a, b in itertools.pairwise(words))
    separators = tuple("".join(c for c in gap if c in "&/") for gap in gaps)
    return _Compiled(entry, patterns, separators, any(p.acronym for p in patterns))


@dataclass(frozen=True, slots=True)
class Occurrence:
    """A variant found in a text: character offsets and the word index range [first, last)."""

    start: int
    end: int
    first: int
    last: int
    entry: Entry


class Vocabulary:
    """Variants -> canonical terms, with a matcher that respects acronym case."""

    def __init__(self, entries: Iterable[Entry]) -> None:
        self.entries: tuple[Entry, ...] = tuple(entries)
        by_first: dict[str, list[_Compiled]] = {}
        for entry in self.entries:
            compiled = _compile(entry)
            if not compiled.patterns or all(p.filler for p in compiled.patterns):
                raise ValueError(f"vocabulary variant {entry.variant!r} has no word of its own")
            by_first.setdefault(compiled.patterns[0].folded, []).append(compiled)
        for candidates in by_first.values():  # longest variant first
            candidates.sort(key=lambda c: -len(c.patterns))
        self._by_first = by_first

    def __len__(self) -> int:
        return len(self.entries)

    def pairs(self) -> list[tuple[str, str]]:
        """Every (variant, canonical term) pair, in file order."""
        return [(e.variant, c) for e in self.entries for c in e.canonicals]

    def for_mentions(self) -> Vocabulary:
        """The entries safe to read in a chart: no search-only entries, no drugs."""
        return Vocabulary(e for e in self.entries if not e.search_only and e.kind != "drug")

    @functools.cached_property
    def acronyms(self) -> frozenset[str]:
        """The words that match only in capitals ("CAD", "PE", "TKA"), as written."""
        return frozenset(
            w.text
            for e in self.entries
            if not e.any_case
            for w in split_words(e.variant)
            if _is_acronym(w.text)
        )

    def with_acronyms(self, text: str) -> str:
        """`text` typed without any capitals, with its acronym words in capitals ("cad" ->
        "CAD", "s/p l tka" -> "s/p L TKA"): a search box is typed in lower case. Text with a
        capital anywhere is returned as typed (its writer used case). A word that is also an
        acronym ("cradle cap") is capitalised too: the caller reads both versions."""
        if any(c.isupper() for c in text):
            return text
        acronyms = self.acronyms
        parts, at = [], 0
        for word in split_words(text):
            if word.text.upper() in acronyms and word.text not in FILLERS:  # "a", not "A"
                parts += [text[at : word.start], word.text.upper()]
                at = word.end
        return "".join(parts) + text[at:]

    def expansions(self, term: str) -> tuple[str, ...]:
        """The canonical terms `term` stands for when it is, as a whole, one variant."""
        words = split_words(term)
        found = self.find(term, words)
        if len(found) == 1 and found[0].first == 0 and found[0].last == len(words):
            return found[0].entry.canonicals
        return ()

    def find(self, text: str, words: Sequence[Word] | None = None) -> list[Occurrence]:
        """Variants in `text`, longest first at each word, left to right, not overlapping.
        `words` is `split_words(text)` when the caller already has it."""
        if words is None:
            words = split_words(text)
        found: list[Occurrence] = []
        i = 0
        while i < len(words):
            best = None
            for compiled in self._candidates(words[i].text):
                last = self._match(compiled, text, words, i)
                if last is not None and (best is None or last > best[0]):
                    best = (last, compiled)
            if best is None:
                i += 1
                continue
            last, compiled = best
            found.append(Occurrence(words[i].start, words[last - 1].end, i, last, compiled.entry))
            i = last
        return found

    def rewrite(self, text: str, reading: int = 0) -> str | None:
        """`text` with each variant replaced by its canonical term (the `reading`-th one, or
        the last when it has fewer) and "w/" by "with"; None when nothing was replaced."""
        words = split_words(text)
        replacements: list[tuple[int, int, str]] = []
        covered: set[int] = set()
        for found in self.find(text, words):
            canonicals = found.entry.canonicals
            replacements.append(
                (found.start, found.end, canonicals[min(reading, len(canonicals) - 1)])
            )
            covered.update(range(found.first, found.last))
        for index, word in enumerate(words):
            if index not in covered and word.text != text[word.start : word.end]:
                replacements.append((word.start, word.end, word.text))  # "w/" -> "with"
        if not replacements:
            return None
        pieces, at = [], 0
        for start, end, replacement in sorted(replacements):
            pieces += [text[at:start], replacement]
            at = end
        pieces.append(text[at:])
        return " ".join("".join(pieces).split())

    def rewrites(self, text: str, limit: int = 3) -> list[str]:
        """The distinct readings of `text` with its variants expanded (best first), at most
        `limit`; [] when it holds no variant."""
        found = self.find(text)
        readings = max((len(o.entry.canonicals) for o in found), default=1)
        out: list[str] = []
        for reading in range(min(readings, limit)):
            rewritten = self.rewrite(text, reading)
            if rewritten is not None and rewritten != text and rewritten not in out:
                out.append(rewritten)
        return out

    def _candidates(self, word: str) -> list[_Compiled]:
        found = self._by_first.get(fold(word), [])
        if word.endswith("s") and len(word) <= 4:  # "PEs", "UTIs": folding keeps short words
            found = found + self._by_first.get(word[:-1].lower(), [])
        return found

    @staticmethod
    def _match(compiled: _Compiled, text: str, words: Sequence[Word], first: int) -> int | None:
        """The word index just past a match of `compiled` starting at `first`, or None."""
        patterns = compiled.patterns
        i, j = first, 0
        previous_j = -1  # the pattern index the previous text word matched
        while j < len(patterns):
            if i >= len(words):
                return None
            word = words[i].text
            if patterns[j].matches(word, last=j == len(patterns) - 1):
                if previous_j == j - 1 and j > 0:
                    needed = compiled.separators[j - 1]
                    gap = text[words[i - 1].end : words[i].start]
                    if needed and needed not in gap:
                        return None
                previous_j = j
                i, j = i + 1, j + 1
            elif i > first and word.lower() in FILLERS:
                i += 1
            elif j > 0 and patterns[j].filler:
                j += 1
            else:
                return None
        entry = compiled.entry
        after = words[i].text if i < len(words) else None
        before = words[first - 1].text if first > 0 else None
        if after is not None and _listed(after, entry.not_before):
            return None
        if before is not None and _listed(before, entry.not_after):
            return None
        if compiled.acronym and _is_heading(text, words[first].start, words[i - 1].end):
            return None
        return i


def _listed(word: str, words: frozenset[str]) -> bool:
    return bool(words) and (fold(word) in words or (_NUMBER in words and word[0].isdigit()))


def _is_heading(text: str, start: int, end: int) -> bool:
    """ "PE: lungs clear" at the start of a line is the physical-exam heading."""
    if not text[end:].lstrip(" \t").startswith(":"):
        return False
    line_start = text.rfind("\n", 0, start) + 1
    return not text[line_start:start].strip()


def parse(lines: Iterable[str]) -> list[Entry]:
    """Entries from the TSV format of `vocabulary/abbreviations.tsv`."""
    entries = []
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.rstrip("\n").split("\t")
        if len(fields) < 3:
            raise ValueError(f"vocabulary line {number}: expected 3 or 4 tab-separated fields")
        variant, canonical, kind = (f.strip() for f in fields[:3])
        flags = fields[3].split() if len(fields) > 3 else []
        if kind not in KINDS:
            raise ValueError(f"vocabulary line {number}: unknown kind {kind!r}")
        options: dict[str, frozenset[str]] = {}
        for flag in flags:
            if "=" in flag:
                name, _, value = flag.partition("=")
                options[name] = frozenset(fold(w) if w != _NUMBER else w for w in value.split(","))
            elif flag not in ("i", "search"):
                raise ValueError(f"vocabulary line {number}: unknown flag {flag!r}")
        unknown = set(options) - {"notbefore", "notafter"}
        if unknown:
            raise ValueError(f"vocabulary line {number}: unknown flag {sorted(unknown)}")
        canonicals = tuple(c.strip() for c in canonical.split("|") if c.strip())
        if not variant or not canonicals:
            raise ValueError(f"vocabulary line {number}: empty variant or canonical term")
        entries.append(
            Entry(
                variant=variant,
                canonicals=canonicals,
                kind=cast(Kind, kind),
                search_only="search" in flags,
                any_case="i" in flags,
                not_before=options.get("notbefore", frozenset()),
                not_after=options.get("notafter", frozenset()),
            )
        )
    return entries


@functools.cache
def default_vocabulary() -> Vocabulary:
    """The vocabulary shipped with medcoder (read once per process)."""
    data = resources.files("retrieval").joinpath("vocabulary", "abbreviations.tsv")
    return Vocabulary(parse(data.read_text(encoding="utf-8").splitlines()))
