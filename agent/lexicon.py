"""A phrase matcher built from the knowledge base, so mentions can be found without an NER model.

Phrases come from the ICD-10-CM Alphabetic Index (main terms and main term + first-level
subterm, in both orders), CM code titles and inclusion terms (conditions) and the ICD-10-PCS
Index main terms that lead to a code (procedures). A condition phrase whose codes all sit in
chapter 18 (R00-R99, symptoms and signs) is a "finding".

Matching is token based: words are lower-cased, a few fillers ("of", "the", ...) are skipped
on both sides, and a light stemmer folds simple plurals, so "fractures of the femur" matches
"Fracture, femur". A phrase never spans sentence punctuation or brackets.

The knowledge base's vocabulary of abbreviations and lay terms (retrieval/vocabulary.py) is
read too: where the text holds a variant ("CHF", "afib", "T2DM", "heart attack"), matching
also tries the text with the variant replaced by its canonical wording, so "T2DM w/ diabetic
neuropathy" matches the title phrase "type 2 diabetes mellitus with diabetic neuropathy" and
"paroxysmal afib" matches "paroxysmal atrial fibrillation". The span quoted is always the
chart's own text; `Lexicon.canonical` gives the wording to look it up with.

Building reads the whole index (~1 s); `Lexicon.save` writes the phrases to a file that
`Lexicon.load` reads back in a few tens of milliseconds, so a process opening the knowledge
base need not build it again.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from retrieval.store import KnowledgeStore
from retrieval.vocabulary import MENTION_KINDS, Vocabulary, Word, default_vocabulary, split_words

MAX_TOKENS = 8
# The saved file's layout; a file of another format is rebuilt, never read.
FILE_FORMAT = 1


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_WORD = re.compile(r"[A-Za-z0-9]+")
# A match may bridge spaces, hyphens, slashes, apostrophes and commas, never these.
_BREAK = re.compile(r"[.;:!?()\[\]{}\n]")
_PARENS = re.compile(r"\([^()]*\)|\[[^\[\]]*\]")

# Skipped in phrases and text alike: they carry no meaning for matching ("s" is the
# possessive of "Crohn's").
FILLERS = frozenset({"a", "an", "the", "of", "in", "s"})
# Residual-category and index words that never appear in a chart the way they do in a title.
_DROPPED = frozenset({"nos", "nec", "unspecified"})
_SKIPPED = FILLERS | _DROPPED

# Single words that are CM index main terms (or titles) but flood a clinical narrative with
# useless mentions. Chosen by counting one-word matches over the 250 CodiEsp dev charts and
# keeping out those that are body parts, qualifiers, lab/test words, generic nouns or Z-code
# headings ("examination", "admission", "status") rather than diagnoses. With the source
# rules below, one-word matches over those charts fell from 9,810 to about 3,400. "pain" is
# here on purpose: "chest pain", "abdominal pain" still match, "pain" alone (R52) misleads.
GENERIC_WORDS = _words(
    """
    disease disorder syndrome condition problem complication finding findings abnormal
    abnormality anomaly lesion lesions mass defect deformity change changes state
    left right bilateral unilateral other unspecified specified unknown multiple single
    acute chronic severe mild moderate primary secondary recurrent
    history family personal status post previous prior past current
    examination exam admission care test tests observation follow up use user counseling
    screening encounter contact exposure aftercare pregnancy delivery birth patient
    treatment therapy surgery operation procedure intervention study studies level levels
    positive negative normal high low elevated elevation increased decrease decreased
    reaction response effect effects failure insufficiency
    infection inflammation injury trauma tumor tumour neoplasm growth
    pain ache discomfort symptom symptoms sign signs
    cell cells tissue organ blood fluid serum urine stool skin bone muscle
    body head neck back chest abdomen arm leg hand foot face eye ear nose mouth
    heart lung liver kidney brain
    male female child adult newborn infant
    month year day week time age
    old postoperative period pathology sensitivity plus may tac cut situation focus activity
    anesthesia alteration performance nerve gas extremity pelvis sinus node hemoglobin cold
    scale episode loss pressure increase inflammatory antibody absence acid irregular
    persistent persistence closure rhythm difficulty double sleep complex band development
    short stress
    """
)
# Multi-word phrases that are routine chart vocabulary, not diagnoses or coded procedures.
BLOCKED_PHRASES = frozenset(
    {"physical examination", "blood pressure", "medical consultation", "laboratory test"}
    | {"follow up", "tumor cell", "examination blood"}
)
# Words settled by what they mean in a narrative: "occlusion of the
# artery" is a condition although PCS has the root operation Occlusion; "hyperalimentation"
# is a treatment although the CM index sends it to R63.2.
_AS_CONDITION = _words(
    "compression destruction detachment enlargement hyperthermia obliteration occlusion "
    "rupture shortening"
)
# "Metastasis" heads only "see Neoplasm" references in the index, yet names a condition.
KIND_OVERRIDES = {
    **dict.fromkeys(_AS_CONDITION | {"metastasis"}, "condition"),
    "hyperalimentation": "procedure",
}
# Words that are the context a mention sits in, not the mention: a phrase starting or ending
# with one ("history allergy", "family history") would swallow the trigger mentions.py needs.
CONTEXT_WORDS = _words(
    "history family personal status post previous prior past suspected possible probable "
    "no not without negative rule out"
)
# Main-term connectors: "with perforation appendicitis" is not something anyone writes.
_CONNECTORS = _words("with without due to from following complicating by after during and or")

# What a phrase was seen with: a CM source, a PCS index term, and the kinds of CM code.
_CM, _PCS = 1, 2
_R_CODE, _ENCOUNTER_CODE, _Z_CODE, _DISEASE_CODE = 4, 8, 16, 32
_CODES = _R_CODE | _ENCOUNTER_CODE | _Z_CODE | _DISEASE_CODE
_KIND_BITS = {"condition": _CM | _DISEASE_CODE, "finding": _CM | _R_CODE, "procedure": _PCS}


def stem(word: str) -> str:
    """Fold simple English plurals so "arteries", "abscesses" and "stenoses" meet their singular."""
    if len(word) <= 3 or not word.endswith("s") or word.endswith(("ss", "us", "is")):
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "ches", "shes", "xes")):
        return word[:-2]
    if (
        len(word) >= 8
        and word.endswith(("oses", "ases", "eses", "yses"))
        and not (word.endswith("eases"))
    ):
        return word[:-2] + "is"  # diagnoses, metastases, prostheses, analyses
    return word[:-1]


def _word_key(word: str) -> str:
    """Short all-capital words are acronyms and keep their case: "PRES" is not "pre", and the
    index's "MAY" (May-Hegglin) must not match the verb."""
    if 2 <= len(word) <= 6 and word.isupper():
        return word
    return stem(word.lower())


@functools.lru_cache(maxsize=1 << 17)  # building the lexicon keys ~550k words, ~50k distinct
def _phrase_word(word: str) -> str:
    return "" if word.lower() in _SKIPPED else _word_key(word)


def phrase_key(text: str) -> str:
    """The lookup key of a phrase: word keys without fillers, space-joined."""
    return " ".join(key for key in map(_phrase_word, _WORD.findall(text)) if key)


@dataclass(frozen=True, slots=True)
class Token:
    key: str
    lower: str  # the key an acronym-looking word falls back to: "FEVER" in a heading is fever
    start: int
    end: int
    segment: int  # tokens in different segments are separated by breaking punctuation


def text_tokens(text: str) -> list[Token]:
    """Matchable tokens of `text` with their character offsets ("w/" reads "with")."""
    return _tokens(text, split_words(text))[0]


def _tokens(text: str, words: list[Word]) -> tuple[list[Token], list[int]]:
    """Tokens of `words`, and for each word the index of its token (-1 for a filler)."""
    tokens: list[Token] = []
    token_of: list[int] = []
    segment, last_end = 0, 0
    for found in words:
        word = found.text
        if _BREAK.search(text, last_end, found.start):
            segment += 1
        last_end = found.end
        if word.lower() in FILLERS:
            token_of.append(-1)
            continue
        key = _word_key(word)
        lower = key if key.islower() else stem(word.lower())
        token_of.append(len(tokens))
        tokens.append(Token(key, lower, found.start, found.end, segment))
    return tokens, token_of


@dataclass(frozen=True, slots=True)
class _Slot:
    """Where a token of the rewritten text comes from: original tokens [first, last), and
    whether it opens / closes the canonical wording that replaced them."""

    first: int
    last: int
    opens: bool
    closes: bool
    rewritten: bool = False


def _variants(text: str) -> list[str]:
    """The text as written and without its parenthesised nonessential modifiers."""
    bare = _PARENS.sub(" ", text)
    return [text, bare] if bare != text else [text]


@functools.lru_cache(maxsize=1 << 14)  # a main term repeats on each of its subterm rows
def _comma_readings(term: str) -> tuple[str, ...]:
    """ "Infarct, infarction" names two variants; "Drip, postnasal" names one inverted term."""
    pieces = [p.strip() for p in term.split(",") if p.strip()]
    head = phrase_key(pieces[0]) if pieces else ""
    if len(pieces) < 2 or all(phrase_key(p)[:4] == head[:4] for p in pieces[1:]):
        return tuple(pieces)
    return (" ".join(pieces), " ".join([*pieces[1:], pieces[0]]))


class Lexicon:
    """Phrase keys (see `phrase_key`) mapped to the kind of concept they name, and the
    vocabulary of abbreviations and lay terms whose variants stand for phrases."""

    def __init__(
        self,
        flags: dict[str, int],
        max_tokens: int = MAX_TOKENS,
        vocabulary: Vocabulary | None = None,
    ) -> None:
        self._flags = flags
        self.max_tokens = max_tokens
        self._vocabulary = vocabulary.for_mentions() if vocabulary is not None else None
        self._rules = _rules_fingerprint(self._vocabulary)
        # Canonical wording as tokens, per variant (only multi-word rewrites need lookups).
        self._canonical_keys: dict[str, tuple[str, ...]] = {}
        if self._vocabulary is not None:
            for entry in self._vocabulary.entries:
                self._canonical_keys[entry.variant] = tuple(phrase_key(entry.canonical).split())

    def __len__(self) -> int:
        return len(self._flags)

    def __contains__(self, phrase: str) -> bool:
        return self.kind(phrase) is not None

    def kind(self, phrase: str) -> str | None:
        """The kind a phrase would be matched as, or None if the lexicon does not hold it
        (a vocabulary variant counts as its canonical wording: kind("CHF") is a condition)."""
        flags = self._flags.get(phrase_key(phrase))
        if flags is None and self._vocabulary is not None:
            whole = self._vocabulary.expansions(phrase)
            if whole:
                flags = self._flags.get(phrase_key(whole[0]))
        return None if flags is None else _kind(flags)

    def with_acronyms(self, text: str) -> str:
        """`text` with its acronyms in capitals when it was typed without any
        (`Vocabulary.with_acronyms`); as typed without a vocabulary."""
        return text if self._vocabulary is None else self._vocabulary.with_acronyms(text)

    def canonical(self, text: str) -> str | None:
        """The code-set wording of `text` (a matched span, or any text) with its
        abbreviations and lay terms expanded and "w/" read "with": canonical("CHF") ->
        "congestive heart failure", canonical("T2DM w/ neuropathy") -> "type 2 diabetes
        mellitus with neuropathy"; None when `text` holds nothing to expand."""
        if self._vocabulary is None:
            return None
        return self._vocabulary.rewrite(text)

    @classmethod
    def from_phrases(
        cls, phrases: Iterable[tuple[str, str]], vocabulary: Vocabulary | None = None
    ) -> Lexicon:
        """A lexicon from (phrase, kind) pairs; kind is condition, finding or procedure."""
        flags: dict[str, int] = {}
        for text, kind in phrases:
            _add(flags, text, _KIND_BITS[kind])
        if vocabulary is not None:
            _add_canonicals(flags, vocabulary)
        return cls(flags, vocabulary=vocabulary)

    @classmethod
    def from_store(cls, store: KnowledgeStore, vocabulary: Vocabulary | None = None) -> Lexicon:
        """Read the index and tabular phrases straight from the store's SQLite file, with
        the knowledge base's vocabulary (`default_vocabulary()` unless one is given; pass
        `Vocabulary([])` for none)."""
        vocabulary = default_vocabulary() if vocabulary is None else vocabulary
        flags: dict[str, int] = {}
        db = sqlite3.connect(f"file:{store.path}?mode=ro&immutable=1", uri=True)
        try:
            for text, code in _cm_index_phrases(db):
                _add(flags, text, _code_bits(code))
            for text, code in _cm_code_phrases(db):
                _add(flags, text, _code_bits(code))
            for text in _pcs_index_phrases(db):
                _add(flags, text, _PCS)
        finally:
            db.close()
        for word, kind in KIND_OVERRIDES.items():
            flags[word] = _KIND_BITS[kind]
        _add_canonicals(flags, vocabulary)
        kept = {k: f for k, f in flags.items() if (f & (_CODES | _PCS)) != _ENCOUNTER_CODE}
        return cls(kept, vocabulary=vocabulary)

    def save(self, path: Path) -> Path:
        """Write the phrases to `path` atomically (a temporary file in the same folder, then
        one rename): a reader sees the old file or the new one, never half of either.

        JSON, one header line then the phrases: the fastest to load of the safe formats
        measured (pickle and marshal load ~25 % faster but a damaged or planted file could
        run code or crash the process; a text table loads slower)."""
        body = json.dumps(self._flags, separators=(",", ":"), ensure_ascii=False).encode()
        header = {
            "format": FILE_FORMAT,
            "rules": self._rules,
            "max_tokens": self.max_tokens,
            "phrases": len(self._flags),
            "sha256": hashlib.sha256(body).hexdigest(),
        }
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(json.dumps(header).encode() + b"\n" + body)
            os.chmod(temporary, 0o644)  # mkstemp's 0600 would hide it from other users
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return path

    @classmethod
    def load(cls, path: Path, vocabulary: Vocabulary | None = None) -> Lexicon:
        """The lexicon `save` wrote to `path`, with `vocabulary` (`default_vocabulary()`
        unless one is given, as in `from_store`). Raises LexiconFileError when the file is
        of another format, was built by other rules or with another vocabulary, or is
        damaged; OSError when it cannot be read."""
        vocabulary = default_vocabulary() if vocabulary is None else vocabulary
        raw = path.read_bytes()
        head, _, body = raw.partition(b"\n")
        try:
            header = json.loads(head)
            if not isinstance(header, dict) or header.get("format") != FILE_FORMAT:
                raise LexiconFileError(f"{path}: not a lexicon file of format {FILE_FORMAT}")
            if header.get("rules") != _rules_fingerprint(vocabulary.for_mentions()):
                raise LexiconFileError(f"{path}: built by other lexicon rules or vocabulary")
            if header.get("sha256") != hashlib.sha256(body).hexdigest():
                raise LexiconFileError(f"{path}: damaged (checksum differs)")
            flags = json.loads(body)
        except (ValueError, UnicodeDecodeError) as error:  # JSON errors are ValueErrors
            raise LexiconFileError(f"{path}: not a lexicon file ({error})") from None
        max_tokens = header.get("max_tokens")
        if not isinstance(flags, dict) or len(flags) != header.get("phrases"):
            raise LexiconFileError(f"{path}: damaged (phrase count differs)")
        if not isinstance(max_tokens, int):
            raise LexiconFileError(f"{path}: damaged (no phrase length)")
        return cls(flags, max_tokens=max_tokens, vocabulary=vocabulary)

    def match(self, text: str) -> list[tuple[int, int, str]]:
        """Longest non-overlapping phrase matches as (start, end, kind), in text order."""
        words = split_words(text)
        tokens, token_of = _tokens(text, words)
        # (first token, last token, start, end, kind): token ranges of the text as written.
        found = [
            (i, j, tokens[i].start, tokens[j - 1].end, kind)
            for i, j, kind in self._candidates(tokens)
        ]
        if self._vocabulary is not None:
            found += self._rewritten_matches(text, words, tokens, token_of)
        # Longest first, then leftmost: "acute myocardial infarction" beats "acute" + "infarction".
        # The sort is stable: a match of the text as written wins a tie with a rewritten one.
        found.sort(key=lambda m: (m[0] - m[1], m[0]))
        taken = [False] * len(tokens)
        chosen: list[tuple[int, int, str]] = []
        for first, last, start, end, kind in found:
            if any(taken[first:last]):
                continue
            taken[first:last] = [True] * (last - first)
            chosen.append((start, end, kind))
        return sorted(chosen)

    def _rewritten_matches(
        self, text: str, words: list[Word], tokens: list[Token], token_of: list[int]
    ) -> list[tuple[int, int, int, int, str]]:
        """Matches in the text with each vocabulary variant replaced by its canonical wording,
        mapped back to the variant's own tokens and characters. A match must take the whole
        canonical wording of a variant, never a part of it."""
        assert self._vocabulary is not None
        occurrences = self._vocabulary.find(text, words)
        if not occurrences:
            return []
        rewritten: list[Token] = []
        slots: list[_Slot] = []
        at = 0  # next original token to copy
        for occurrence in occurrences:
            own = [t for t in token_of[occurrence.first : occurrence.last] if t >= 0]
            keys = self._canonical_keys[occurrence.entry.variant]
            if not own or not keys:
                continue
            first, last = own[0], own[-1] + 1
            for t in range(at, first):
                rewritten.append(tokens[t])
                slots.append(_Slot(t, t + 1, True, True))
            segment = tokens[last - 1].segment
            for n, key in enumerate(keys):
                lower = key if key.islower() else stem(key.lower())
                rewritten.append(Token(key, lower, occurrence.start, occurrence.end, segment))
                slots.append(_Slot(first, last, n == 0, n == len(keys) - 1, rewritten=True))
            at = last
        for t in range(at, len(tokens)):
            rewritten.append(tokens[t])
            slots.append(_Slot(t, t + 1, True, True))
        found = []
        for i, j, kind in self._candidates(rewritten):
            if not (slots[i].opens and slots[j - 1].closes):
                continue
            if not any(slot.rewritten for slot in slots[i:j]):
                continue  # no variant inside: already matched as written
            found.append(
                (slots[i].first, slots[j - 1].last, rewritten[i].start, rewritten[j - 1].end, kind)
            )
        return found

    def _candidates(self, tokens: list[Token]) -> Iterator[tuple[int, int, str]]:
        """The longest phrase starting at each token, as token index ranges."""
        for i, token in enumerate(tokens):
            limit = i + 1
            while (
                limit < len(tokens)
                and limit - i < self.max_tokens
                and tokens[limit].segment == token.segment
            ):
                limit += 1
            for j in range(limit, i, -1):
                flags = self._lookup(tokens[i:j])
                if flags is not None:
                    yield i, j, _kind(flags)
                    break

    def _lookup(self, tokens: list[Token]) -> int | None:
        flags = self._flags.get(" ".join(t.key for t in tokens))
        if flags is None and any(t.key != t.lower for t in tokens):
            flags = self._flags.get(" ".join(t.lower for t in tokens))
        return flags


class LexiconFileError(ValueError):
    """A saved lexicon that must be rebuilt rather than read: stale or damaged."""


# The rules that turn the knowledge base into phrases are this module's code: a file saved by
# other code (an upgrade that changed a word list) is stale even though the KB is the same.
_SOURCE_HASH = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()


def _rules_fingerprint(vocabulary: Vocabulary | None) -> str:
    """This module's code and the vocabulary's canonical phrases (what `_add_canonicals`
    adds) and rewrites (what `Lexicon.__init__` keys), as one hash."""
    digest = hashlib.sha256(_SOURCE_HASH.encode())
    if vocabulary is not None:
        entries = sorted(
            (e.variant, e.kind, str(e.search_only), *e.canonicals) for e in vocabulary.entries
        )
        for fields in entries:
            digest.update("\t".join(fields).encode() + b"\n")
    return digest.hexdigest()


def _kind(flags: int) -> str:
    """Disease codes make a condition; R codes alone a finding; a PCS term with at most
    Z codes ("Colostomy, status", "Chemotherapy (session)") a procedure."""
    if flags & _DISEASE_CODE:
        return "condition"
    if flags & _R_CODE:
        return "finding"
    return "procedure" if flags & _PCS else "condition"


def _code_bits(code: str | None) -> int:
    if not code:
        return _CM
    if code.startswith("R"):
        return _CM | _R_CODE
    if code.startswith("Z"):
        # Z00-Z13 are encounters for examination and screening, never read off a mention.
        return _CM | (_ENCOUNTER_CODE if code[1:3] <= "13" else _Z_CODE)
    return _CM | _DISEASE_CODE


def _add(flags: dict[str, int], text: str, bits: int) -> None:
    for variant in _variants(text):
        key = phrase_key(variant)
        if _usable(key):
            flags[key] = flags.get(key, 0) | bits


def _add_canonicals(flags: dict[str, int], vocabulary: Vocabulary) -> None:
    """The canonical wording of every mention-kind variant is a phrase, even where the index
    and titles word it otherwise ("coronary artery bypass graft")."""
    for entry in vocabulary.entries:
        if entry.kind in MENTION_KINDS and not entry.search_only:
            key = phrase_key(entry.canonical)
            if key not in flags and _usable(key):
                flags[key] = _KIND_BITS[entry.kind]


def _usable(key: str) -> bool:
    words = key.split()
    if not words or len(words) > MAX_TOKENS or key in BLOCKED_PHRASES:
        return False
    if words[0] in CONTEXT_WORDS or words[-1] in CONTEXT_WORDS:
        return False
    if len(words) == 1:
        word = words[0]
        return len(word) > 2 and not word.isdigit() and word not in GENERIC_WORDS
    # Generic words together still name things ("chest pain", "heart failure").
    return not all(w.isdigit() for w in words)


def _cm_index_phrases(db: sqlite3.Connection) -> Iterator[tuple[str, str | None]]:
    """Main terms, and main term + first-level subterm in both orders, with their codes.

    An entry counts only if it leads somewhere: "Renal - see condition" and "Presence (of)"
    (a heading over Z-code subterms) name no concept of their own, while a code-less main
    term over many disease codes ("Infarct, infarction", "Cyst") does."""
    concepts = _disease_headings(db)
    rows = db.execute(
        "SELECT path, path_key, code, coalesce(see, see_also, '') FROM index_entries "
        "WHERE idx = 'cm' AND path_key NOT LIKE '%|%|%'"
    )
    for path_json, key, code, see in rows:
        if (not code and see == "condition") or not (code or see or key in concepts):
            continue
        path = json.loads(path_json)
        mains = _comma_readings(path[0])
        if len(path) == 1:
            yield from ((main, code) for main in mains)
            continue
        sub = path[1]
        for main in mains:
            yield f"{main} {sub}", code
            if phrase_key(sub).split(" ")[0] not in _CONNECTORS:
                yield f"{sub} {main}", code


def _disease_headings(db: sqlite3.Connection, least: int = 10) -> set[str]:
    """Main terms (path keys) with at least `least` disease-coded (not R, not Z) entries."""
    rows = db.execute(
        "SELECT substr(path_key, 1, instr(path_key, '|') - 1) AS main FROM index_entries "
        "WHERE idx = 'cm' AND path_key LIKE '%|%' AND code IS NOT NULL "
        "AND substr(code, 1, 1) NOT IN ('R', 'Z') GROUP BY main HAVING count(*) >= ?",
        (least,),
    )
    return {main for (main,) in rows}


def _cm_code_phrases(db: sqlite3.Connection) -> Iterator[tuple[str, str]]:
    """Titles and inclusion terms of categories and codes; residual "other" titles skipped."""
    rows = db.execute(
        "SELECT code, title, inclusion_terms FROM codes "
        "WHERE system = 'cm' AND kind IN ('category', 'subcategory')"
    )
    for code, title, inclusion_json in rows:
        if code[0] in "VWXY":  # external causes describe how, not what
            continue
        inclusions = json.loads(inclusion_json)
        if code[0] in "ST":  # one-word injury inclusions are sites ("Axis" under S12.1)
            inclusions = [term for term in inclusions if " " in term.strip()]
        for text in [title, *inclusions]:
            if not re.search(r"\b(other|specified)\b", text, re.IGNORECASE):
                yield text, code


def _pcs_index_phrases(db: sqlite3.Connection) -> Iterator[str]:
    """PCS main terms that lead to a code or a root operation (not body-part/device aliases)."""
    rows = db.execute(
        "SELECT path, path_key FROM index_entries WHERE idx = 'pcs' "
        "AND (code IS NOT NULL OR see IS NOT NULL)"
    )
    seen: set[str] = set()
    for path_json, key in rows:
        main_key = key.split("|", 1)[0]
        if main_key not in seen:
            seen.add(main_key)
            yield from _comma_readings(json.loads(path_json)[0])
