"""The most specific code the diagnostic statement documents (Guidelines I.B.2, I.A.9).

A coder reads the whole diagnostic statement ("torus fracture of left distal radius, initial
encounter", "perforated sigmoid diverticulitis with abscess"), finds the condition in the
Index, and then takes, within the code's category, the code whose Tabular title the statement
supports best: every word the title adds ("gangrene", "left", "acute on chronic systolic")
must be documented, nothing it excludes ("without perforation") may be documented, and the
side must be the documented one. Words are compared by their stems ("perforated" names
"perforation"), with the few equivalences between chart and Tabular wording that coders know
("distal" is "lower end", "sigmoid" is "large intestine").

`Statement` is what a mention's clause documents; `most_specific` refines a code found by the
Index or search; `support` says how fully a code's title is documented (for search hits).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import Stemmer

from retrieval.lexical import tokenize
from retrieval.records import CodeRecord
from retrieval.store import KnowledgeStore
from retrieval.text import normalise

_STEMMER = Stemmer.Stemmer("english")
# Stems the stemmer leaves apart although coders read them as one word.
_SAME_STEM = {"calculus": "calcul", "ischemia": "ischem", "bleed": "hemorrhag", "flare": "exacerb"}
# Words of a title that name nothing a chart must document.
_GENERIC = frozenset(
    {"other", "specifi", "unspecifi", "nos", "site", "part", "region", "elsewher", "classifi",
     "mellitus", "diseas", "disord", "condit", "type", "of", "and", "or", "with", "in", "the",
     "a", "an", "due", "to", "by", "as", "for", "on", "without", "not", "unknown", "present"}
)  # fmt: skip
# Stems that name a side, and the side they name.
SIDES = {"right": "right", "left": "left", "bilater": "bilateral"}
# Chart wording -> the Tabular's wording (stems). Anatomy the titles name by region.
_EQUIVALENT: dict[str, tuple[str, ...]] = {
    "distal": ("lower", "end"),
    "proxim": ("upper", "end"),
    "sigmoid": ("larg", "intestin"),
    "colon": ("larg", "intestin"),
    "cecum": ("larg", "intestin"),
    "rectosigmoid": ("larg", "intestin"),
    "bowel": ("intestin",),
    "thigh": ("lower", "limb"),
    "leg": ("lower", "limb"),
    "calf": ("lower", "limb"),
    "shin": ("lower", "limb"),
    "knee": ("lower", "limb"),
    "arm": ("upper", "limb"),
    "forearm": ("upper", "limb"),
    "elbow": ("upper", "limb"),
    "kidney": ("renal",),
    "renal": ("kidney",),
    "cardiac": ("heart",),
    "heart": ("cardiac",),
    "pulmonari": ("lung",),
    "lung": ("pulmonari",),
    "gastric": ("stomach",),
    "stomach": ("gastric",),
}
# Capitalised names of departments and services ("General Surgery Department") say nothing
# about the condition.
_NAMES = re.compile(
    r"\b(?:[A-Z][a-z]+\s+)+(?:Department|Service|Unit|Hospital|Clinic|Center|Centre|Ward)\b"
)
_DENIAL = re.compile(r"\b(?:without|no|not|negative for|free of)\b(?P<denied>[^,;]*)")
_STOP_DENIAL = re.compile(r"\b(?:with|but|and then)\b")
_PARENTHESES = re.compile(r"\([^)]*\)")
# "without X" in a title reaches to the next qualifier: "Laceration without foreign body of
# left index finger without damage to nail" excludes a foreign body and nail damage only.
_WITHOUT = re.compile(r"\bwithout\b(?P<part>.*?)(?=,|\bwith\b|\bwithout\b|\bof\b|\bin\b|$)")


# A number names the stage, type or class before it: "type 2 ... stage 3" documents stage 3,
# not stage 2.
_NUMBERED = frozenset({"stage", "type", "class", "grade", "level", "degre", "phase", "zone"})
_NUMBER = re.compile(r"^(?:\d+[a-z]?|i{1,3}|iv|v|[a-e])$")
_ROMAN = {"i": "1", "ii": "2", "iii": "3", "iv": "4", "v": "5"}


def stems(text: str) -> list[str]:
    """The stems of a text's words, as title matching compares them; a number joins the
    word it qualifies ("stage 3a" -> "stage3a")."""
    words = normalise(text).split()
    # The stemmer reads "esophagitis" as "esophageal" and "hepatitis" as "hepatic"; an
    # inflammation is not its organ, so an "-itis" keeps its own stem ("esophagiti").
    found = [
        word[:-1] if word.endswith("itis") else _SAME_STEM.get(stem, stem)
        for word, stem in zip(words, _STEMMER.stemWords(words), strict=True)
    ]
    joined: list[str] = []
    for stem in found:
        if joined and joined[-1] in _NUMBERED and _NUMBER.match(stem):
            joined[-1] += _ROMAN.get(stem, stem)
        else:
            joined.append(stem)
    return joined


@dataclass(frozen=True)
class Statement:
    """What one diagnostic statement documents: its stems (with their Tabular equivalents),
    the stems it denies ("without perforation") and the side it names."""

    text: str
    words: frozenset[str]
    denied: frozenset[str]
    side: str | None
    # The same in Tabular-title words (unstemmed), as `agent.codeset` compares titles.
    documented: frozenset[str] = frozenset()
    denied_words: frozenset[str] = frozenset()

    @classmethod
    def read(cls, text: str) -> Statement:
        lowered = _NAMES.sub(" ", text).lower()
        denied: set[str] = set()
        denied_words: set[str] = set()
        for found in _DENIAL.finditer(lowered):
            part = _STOP_DENIAL.split(found.group("denied"), maxsplit=1)[0]
            denied.update(stems(part))
            denied_words.update(tokenize(part))
        words = set(stems(_DENIAL.sub(" ", lowered))) - denied
        for word in list(words):
            words.update(_EQUIVALENT.get(word, ()))
        sides = {SIDES[w] for w in words if w in SIDES}
        side = "bilateral" if "bilateral" in sides or len(sides) > 1 else next(iter(sides), None)
        if "both" in words and side is None:
            side = "bilateral"
        documented = frozenset(tokenize(_DENIAL.sub(" ", lowered))) - denied_words
        return cls(
            text,
            frozenset(words),
            frozenset(denied - words),
            side,
            documented,
            frozenset(denied_words - documented),
        )


@dataclass(frozen=True)
class TitleTerms:
    """What a code's title asks the chart to document."""

    required: frozenset[str]
    excluded: frozenset[str]
    side: str | None  # right, left, bilateral; None when the title names no side
    unspecified: bool


@functools.lru_cache(maxsize=65536)
def title_terms(title: str) -> TitleTerms:
    lowered = _PARENTHESES.sub(" ", title.lower())
    excluded: set[str] = set()
    for found in _WITHOUT.finditer(lowered):
        excluded.update(stems(found.group("part")))
    kept = stems(_WITHOUT.sub(" ", lowered))
    words = set(kept)
    side = next((SIDES[w] for w in kept if w in SIDES), None)
    required = words - _GENERIC - set(SIDES)
    unspecified = "unspecifi" in words
    return TitleTerms(frozenset(required), frozenset(excluded - _GENERIC), side, unspecified)


def unit_of(store: KnowledgeStore, record: CodeRecord) -> CodeRecord:
    """A code with a 7th character stands for its 6-character parent: the encounter is
    chosen after the code (the parent's title lacks the 7th character's words)."""
    bare = record.code.replace(".", "")
    if len(bare) == 7 and record.parent:
        parent = store.get(record.parent, record.system)
        if parent is not None and record.title.startswith(parent.title + ","):
            return parent
    return record


@functools.lru_cache(maxsize=4096)
def _category_units(store: KnowledgeStore, category: str) -> tuple[CodeRecord, ...]:
    """Every billable code of a CM category, 7th-character codes as their parents."""
    units: dict[str, CodeRecord] = {}
    for record in store.codes_with_prefix(category, limit=20000):
        if record.system == "cm" and record.billable:
            unit = unit_of(store, record)
            units.setdefault(unit.code, unit)
    return tuple(units.values())


def _side_fits(terms: TitleTerms, side: str | None) -> bool:
    if terms.side is None:
        return True
    return terms.side == side


def _score(terms: TitleTerms, statement: Statement) -> int:
    """Documented words the title names, the documented side counting as one."""
    covered = len(terms.required & statement.words)
    return covered + (1 if statement.side and terms.side == statement.side else 0)


def most_specific(
    store: KnowledgeStore, record: CodeRecord, statement: Statement
) -> CodeRecord | None:
    """The code of `record`'s category that the statement documents best, as the unit to
    take a 7th character under (a heading for 7th-character codes); None when nothing in the
    category is better documented than `record` itself."""
    if record.system != "cm":
        return None
    base = unit_of(store, record)
    base_terms = title_terms(base.title)
    best: tuple[tuple[int, int, int], CodeRecord] | None = None
    for unit in _category_units(store, record.code[:3]):
        if unit.code == base.code:
            continue
        terms = title_terms(unit.title)
        added = terms.required - base_terms.required
        if not added <= statement.words or terms.excluded & statement.words:
            continue
        if not (base_terms.required & statement.words) <= terms.required:
            continue  # a refinement keeps every documented word the code found names
        if not _side_fits(terms, statement.side):
            continue
        if statement.side is None and terms.side is not None:
            continue  # a side is never assumed
        # Ties: fewer undocumented words (less assumed), then the code's order.
        assumed = len(terms.required - statement.words)
        key = (_score(terms, statement), -assumed, -int(terms.unspecified))
        if best is None or key > best[0]:
            best = (key, unit)
    if best is None:
        return None
    # Only a code that names more of what is documented replaces the one found: an "other
    # specified" code is no better documented by a statement that adds nothing.
    return best[1] if best[0][0] > _score(base_terms, statement) else None


def support(store: KnowledgeStore, record: CodeRecord, statement: Statement) -> float:
    """Share of the title's required words the statement documents (0 when the title
    excludes something documented or names the other side); a 7th character's encounter
    words are not asked for."""
    terms = title_terms(unit_of(store, record).title)
    if terms.excluded & statement.words or not _side_fits(terms, statement.side):
        return 0.0
    if not terms.required:
        return 0.0
    return len(terms.required & statement.words) / len(terms.required)


# Where a diagnostic statement ends: a list break, a new clause, a dash between items.
_HARD_BREAK = re.compile(r"[;:\n]|\.(?!\d)|\s[-\u2013\u2014]\s|\s\d+[.)]\s")
_COMMA_PART_WORDS = 6
# A statement reaches only this far from its mention: a long narrative clause holds other
# concepts whose words must not specify this one.
_WORDS_BEFORE = 5
_WORDS_AFTER = 10


def clause(text: str, start: int, end: int, others: tuple[int, ...] = ()) -> tuple[int, int]:
    """The stretch of `text` (a sentence) that states the mention at [start, end): back to
    the last break or comma before it, on to the next break; comma parts after it belong to
    it while they are short and name no other mention ("..., initial encounter", "CKD,
    stage 3a"), so "HTN, HLD, T2DM" stays three statements. `others` are the starts of the
    sentence's other mentions."""
    before = [m.end() for m in _HARD_BREAK.finditer(text, 0, start)]
    comma = text.rfind(",", 0, start)
    left = max([0, comma + 1, *before])
    hard = _HARD_BREAK.search(text, end)
    limit = hard.start() if hard else len(text)
    right = limit
    cursor = end
    first = True
    while cursor < limit:
        comma = text.find(",", cursor, limit)
        part_end = comma if comma != -1 else limit
        part = text[cursor:part_end]
        named = any(cursor <= o < part_end for o in others)
        if not first and (named or len(part.split()) > _COMMA_PART_WORDS):
            right = cursor - 1
            break
        first = False
        right = part_end
        if comma == -1:
            break
        cursor = comma + 1
    words_before = list(re.finditer(r"\S+", text[left:start]))
    if len(words_before) > _WORDS_BEFORE:
        left += words_before[-_WORDS_BEFORE].start()
    words_after = list(re.finditer(r"\S+", text[end:right]))
    if len(words_after) > _WORDS_AFTER:
        right = end + words_after[_WORDS_AFTER - 1].end()
    while left < right and text[left].isspace():
        left += 1
    return left, max(right, end)
