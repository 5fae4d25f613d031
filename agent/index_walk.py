"""Walk the Alphabetic Index from a main term down the subterms the chart's words name.

A coder finds the main term (the condition), then reads down the indented subterms and takes
each one the diagnostic statement supports ("acute", "with perforation", "right"), stopping
where nothing more is documented; the deepest line that carries a code wins.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from agent.specificity import stems
from retrieval.lexical import tokenize
from retrieval.records import IndexEntry
from retrieval.store import KnowledgeStore
from retrieval.text import spelling_variants

# Subterms that only connect ("with", "in", "due to"): looked through, never required.
CONNECTORS = frozenset(
    {"with", "in", "due to", "without", "by", "of", "and", "following", "involving"}
)
MAX_DEPTH = 6
# What makes a condition one that follows another: "residual", "prior stroke", "late effect".
_AFTER_WORDS = frozenset(
    {"prior", "previous", "old", "histori", "residu", "sequela", "late", "after", "follow",
     "remot", "sinc"}
)  # fmt: skip
# Subterm words a chart never needs to say: "lateral malleolus only", "distal end", "NEC".
OPTIONAL_WORDS = frozenset({"onli", "nec", "nos", "end", "part"})  # walk keys (stems)
Context = dict[str, int]  # word -> weight


@dataclass(frozen=True)
class IndexPath:
    """Where the walk ended: the entry with the code, the entries walked, words matched."""

    entry: IndexEntry
    code: str
    matched_words: int
    depth: int


def walk_keys(text: str) -> list[str]:
    """The words of an index line or a chart as the walk compares them: stopwords dropped,
    stemmed ("gangrenous" reads "with gangrene"), a number joined to its "stage" or "type"."""
    return stems(" ".join(tokenize(text)))


def _words(level: str) -> set[str]:
    return set(walk_keys(level.replace(",", " ")))


_OR = re.compile(r"\s+or\s+", re.IGNORECASE)
_NEGATIVE = re.compile(r"^\s*(?:no|without)\s+(?=\S)", re.IGNORECASE)
# Prefix of a word the chart denies ("without loss of consciousness"), in the walk's context.
DENIED = "-"
# Prefix of a type letter written after a word ("influenza A", "hepatitis C", "vitamin D"):
# a lone letter is a stopword to the walk, and "A 45-year-old" must not read as type A.
LETTER = "="
_LETTER_LEVEL = re.compile(r"[A-E]")
# Chart words the index spells another way ("Stone: see also Calculus"), as walk keys.
# A gallstone is a calculus of the gallbladder, where cholecystitis always is.
_SAME_WORD: dict[str, tuple[str, ...]] = {
    "stone": ("calcul",),
    "calculi": ("calcul",),
    "gallston": ("calcul", "gallbladd"),
    "cholecystiti": ("gallbladd",),
    # A stroke is the cerebrovascular disease the sequelae lines name ("Hemiplegia >
    # following > cerebrovascular disease > stroke NOS").
    "stroke": ("cerebrovascular", "diseas"),
}
# Walk keys of an adenopathy and of the lymph node regions a chart names it by.
_ADENOPATHY = frozenset({"adenopathi", "adenopath", "lymphadenopathi"})
_NODE_REGIONS = frozenset(
    {"cervic", "laterocerv", "axillari", "inguin", "retroperiton", "mediastin", "hilar",
     "hiliar", "supraclavicular", "submandibular", "paraaort", "iliac", "mesenter", "celiac",
     "pelvic", "abdomin", "thorac", "locoregion", "region", "peripancreat", "submaxillari",
     "occipit", "preauricular", "poplit", "epitrochlear", "femor", "tracheobronchi",
     "paratrach", "subcarin", "retrocav", "perigastr", "periport", "hepat", "splenic"}
)  # fmt: skip
_TYPE_LETTER = re.compile(r"\b[A-Za-z]{3,}\s+([A-E])\b(?![:)/-])")


@functools.lru_cache(maxsize=65_536)
def _requirements(level: str) -> tuple[tuple[frozenset[str], tuple[frozenset[str], ...]], ...]:
    """For each spelling of a subterm: the words it needs, and its "or" groups, each of which
    needs one of its words. "atrial or auricular" needs atrial or auricular, not both;
    "ectopic or molar pregnancy" needs pregnancy and ectopic or molar. The words either side
    of an "or" are the alternatives; a group with a stopword side ("with or following") asks
    for nothing."""
    found: list[tuple[frozenset[str], tuple[frozenset[str], ...]]] = []
    if _LETTER_LEVEL.fullmatch(level.strip()):
        # "Influenza > A", "Hepatitis > C": a letter the chart writes after a word.
        return ((frozenset({LETTER + level.strip().lower()}), ()),)
    for variant in _spellings(level):
        negative = _NEGATIVE.match(variant)
        if negative:
            # "no loss of consciousness", "without status epilepticus": the chart must deny
            # those words (the walk's context holds a denied word as DENIED + word).
            denied = frozenset(DENIED + key for key in walk_keys(variant[negative.end() :]))
            found.append((denied - {DENIED + w for w in OPTIONAL_WORDS}, ()))
            continue
        words = [w for w in variant.replace(",", " ").split() if w]
        groups: list[frozenset[str]] = []
        taken: set[int] = set()
        for at, word in enumerate(words):
            if word.lower() != "or" or at == 0 or at == len(words) - 1:
                continue
            sides = [walk_keys(words[at - 1]), walk_keys(words[at + 1])]
            taken |= {at - 1, at, at + 1}
            if all(sides):
                groups.append(frozenset(key for side in sides for key in side) - OPTIONAL_WORDS)
        rest = " ".join(w for at, w in enumerate(words) if at not in taken)
        needed = frozenset(walk_keys(rest)) - OPTIONAL_WORDS
        found.append((needed, tuple(group for group in groups if group)))
    return tuple(found)


def _spellings(level: str) -> list[str]:
    """The index's spellings of a subterm, and the parts of "calculus, stones in" that name
    one thing in other words."""
    variants = spelling_variants(level)
    parts = [p for p in level.split(",") if p.strip()]
    if len(variants) > 1 or len(parts) < 2:
        return variants
    meanings = {frozenset(_SAME_WORD.get(k, (k,))[0] for k in walk_keys(p)) for p in parts}
    return parts if len(meanings) == 1 else variants


def _supported(level: str, context: Context) -> int:
    """How many words the subterm needs from the chart, 0 if any of them is missing.

    "femur, femoral" is two spellings of one subterm: either one fully present counts."""
    best = 0
    for needed, groups in _requirements(level):
        if not (needed or groups) or not needed <= context.keys():
            continue
        score = sum(context[word] for word in needed)
        for group in groups:
            present = [context[word] for word in group if word in context]
            if not present:
                break
            score += max(present)
        else:
            best = max(best, score)
    return best


_PARENTHESISED = re.compile(r"\([^)]*\)")


def _connector_words(entry: IndexEntry, context: Context) -> int:
    """A coded connector line with no subterms of its own names what it connects in its
    modifier column: "acute > and (on) chronic (congestive)" is filed as the line "and"
    with the modifier "(on) chronic (congestive)"; the words outside parentheses are needed."""
    if not entry.code or not entry.modifiers:
        return 0
    words = _PARENTHESISED.sub(" ", entry.modifiers[-1]).strip()
    return _supported(words, context) if words else 0


def _children(store: KnowledgeStore, entry: IndexEntry) -> tuple[IndexEntry, ...]:
    return _children_at(store, tuple(entry.path), entry.index)


@functools.lru_cache(maxsize=16_384)
def _children_at(
    store: KnowledgeStore, path: tuple[str, ...], index: str
) -> tuple[IndexEntry, ...]:
    """Kept per store, as the store keeps its index (it never changes under an open store):
    every mention of a common main term ("pain", "fracture") walks the same lines, and
    each lookup filters all the lines of its main term."""
    return tuple(e for e in store.index_lookup(list(path), index) if len(e.path) == len(path) + 1)


def _best_child(
    store: KnowledgeStore, entry: IndexEntry, context: Context, lookahead: bool = True
) -> tuple[IndexEntry, int] | None:
    """The supported child to descend into, and the words it matched.

    Children are compared with what their own best child adds, so "femur > neck" beats a
    bare "neck" when the chart says "neck of the right femur"."""
    best: tuple[IndexEntry, int, int] | None = None
    for child in _children(store, entry):
        level = child.path[-1]
        if level.lower() == "following" and not _AFTER_WORDS & context.keys():
            continue  # "Hemiplegia > following > stroke" is a sequela: the chart must say so
        if level.lower() in CONNECTORS:
            found = _best_child(store, child, context, lookahead)
            score = found[1] if found else _connector_words(child, context)
            child = found[0] if found else child
        else:
            score = _supported(level, context)
        if not score:
            continue
        ahead = 0
        if lookahead:
            deeper = _best_child(store, child, context, lookahead=False)
            ahead = deeper[1] if deeper else 0
        # At a tie, a line with its own code beats a "see" reference: "subcapital" (S72.01-)
        # over "neck: see Fracture, femur, upper end, neck" for a subcapital neck fracture.
        if best is None or (score + ahead, bool(child.code)) > (
            best[1] + best[2],
            bool(best[0].code),
        ):
            best = (child, score, ahead)
    return (best[0], best[1]) if best else None


# A main-term variant with one of these qualifiers ("Fracture, pathological") applies only
# when the chart documents it; otherwise the plain variant ("Fracture, traumatic") is meant.
DOCUMENTED_QUALIFIERS = frozenset(
    walk_keys("pathological pathologic nontraumatic osteoporotic stress fatigue insufficiency "
              "nonunion malunion neoplastic")
)  # fmt: skip


def _see_target(store: KnowledgeStore, entry: IndexEntry, hops: int = 0) -> IndexEntry | None:
    """Where a "see" reference points. A reference inside a qualified main term names the
    term without its qualifier ("Fracture, traumatic" > malleolus: see Fracture, ankle), and
    means the same qualified term ("Fracture, traumatic" > ankle), not whichever variant
    ("Fracture, pathological" > ankle) the bare name finds first."""
    # A line with no code of its own sends the coder on by its "see also" as by a "see"
    # ("Calculus > biliary: see also Calculus, gallbladder", "Stone: see also Calculus").
    reference = entry.see or (entry.see_also if entry.code is None else None)
    if not reference:
        return None
    main = entry.path[0]
    if "," in main:
        head, _, rest = reference.partition(",")
        if head.strip().lower() == main.split(",")[0].strip().lower() and rest.strip():
            own = _follow(store, entry, [part for part in rest.split(",") if part.strip()])
            if own is not None and own.code is None and own.see and hops < 3:
                # "hip: see Fracture, femur, neck", itself "see Fracture, femur, upper end, neck"
                return _see_target(store, own, hops + 1) or own
            if own is not None:
                return own
    return store.resolve_see(reference, entry.index)


def _follow(store: KnowledgeStore, entry: IndexEntry, parts: list[str]) -> IndexEntry | None:
    """Down from the entry's main term, each part naming a subterm by its words ("tarsal"
    names "tarsal bone")."""
    current: IndexEntry | None = None
    path: tuple[str, ...] = entry.path[:1]
    for part in parts:
        wanted = set(walk_keys(part))
        children = [e for e in store.index_lookup(list(path), entry.index)
                    if len(e.path) == len(path) + 1]  # fmt: skip
        current = next((c for c in children if wanted and wanted <= _words(c.path[-1])), None)
        if current is None:
            return None
        path = current.path
    return current


def _code_of(store: KnowledgeStore, entry: IndexEntry) -> tuple[str | None, IndexEntry]:
    if entry.code:
        return entry.code, entry
    target = _see_target(store, entry)
    if target is not None and target.code:
        return target.code, target
    return None, entry


def _applies(entry: IndexEntry, context: Context) -> bool:
    qualifier = set(walk_keys(entry.path[0].partition(",")[2]))
    needed = qualifier & DOCUMENTED_QUALIFIERS
    return not needed or bool(needed & context.keys())


def walk(
    store: KnowledgeStore, main_term: str, context: Context, index: str = "cm"
) -> IndexPath | None:
    """The deepest coded entry under `main_term` that the context words support; a term
    filed under several main terms ("Fracture, traumatic", "Fracture, pathological") is
    walked under each, and the walk the chart supports best wins."""
    walks = [
        w
        for e in store.main_entries(main_term, index)
        if _applies(e, context) and (w := _walk_from(store, e, context))
    ]
    return max(walks, key=lambda w: (w.matched_words, w.depth), default=None)


def _walk_from(store: KnowledgeStore, start: IndexEntry, context: Context) -> IndexPath | None:
    current, matched = start, 0
    code, coded_at = _code_of(store, current)
    result = IndexPath(coded_at, code, 0, 0) if code else None
    for depth in range(1, MAX_DEPTH + 1):
        step = _best_child(store, current, context)
        target = _see_target(store, current) if step is None and not current.code else None
        if target is not None and _applies(target, context):
            # "Fracture, chronic: see Fracture, pathological" leads where the qualifier of
            # the target must be documented too.
            # The reference's own subterms are read on ("calcaneus" -> "tarsal, calcaneus",
            # then "displaced" as documented).
            current = target
            step = _best_child(store, current, context)
            if current.code:
                code, coded_at = current.code, current
                result = IndexPath(coded_at, code, matched, depth)
        if step is None:
            break
        current, matched = step[0], matched + step[1]
        code, coded_at = _code_of(store, current)
        if code:
            result = IndexPath(coded_at, code, matched, depth)
    return result


_COUNT = (
    r"(?:\d+(?:\.\d+)?|an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve"
    r"|several|few|couple of|many)"
)
_UNIT = (
    r"(?:min(?:ute)?s?|h(?:ou)?rs?|hours?|days?|nights?|w(?:ee)?ks?|weeks?|mo(?:nth)?s?"
    r"|y(?:ea)?rs?|years?)"
)
# How long or how long ago ("fever for three days", "x2 weeks", "3 days ago", "a 45-year-old"):
# never a subterm of the condition ("Fever, three-day" is sandfly fever).
_DURATION = re.compile(
    rf"\b(?:(?:for|x|over|since|within|during|in)\s*(?:the\s+)?(?:past\s+|last\s+|previous\s+)?"
    rf"{_COUNT}\s*[- ]?{_UNIT}\b|{_COUNT}\s*[- ]?{_UNIT}\s*[- ]?(?:ago|old|history)\b)",
    re.IGNORECASE,
)


def without_durations(text: str) -> str:
    return _DURATION.sub(" ", text)


def context_words(mention: str, sentence: str = "", statement: str = "") -> Context:
    """Words the chart documents around a mention; the words of its diagnostic statement
    and its own words weigh double, so "stage 3" in the mention beats "stage" plus a stray
    "2" elsewhere in the sentence."""
    weights = dict.fromkeys(walk_keys(without_durations(sentence)), 1)
    weights.update(dict.fromkeys(walk_keys(without_durations(statement)), 2))
    weights.update(dict.fromkeys(walk_keys(mention), 2))
    for text in (sentence, statement, mention):
        weights.update(dict.fromkeys((LETTER + m.lower() for m in _TYPE_LETTER.findall(text)), 2))
    for key, same in _SAME_WORD.items():
        for word in same if key in weights else ():
            weights.setdefault(word, weights[key])
    sides = [side for side in ("right", "left") if side in weights]
    if len(sides) == 1 and not {"bilater", "both"} & weights.keys():
        # One side documented is the index's "unilateral" (Osteoarthritis > knee > unilateral).
        weights.setdefault("unilater", weights[sides[0]])
    regions = weights.keys() & _NODE_REGIONS
    if regions and weights.keys() & _ADENOPATHY and "general" not in weights:
        # A named lymph node region makes an adenopathy localized, as the index's own
        # sites do (Adenopathy > inguinal, mediastinal: R59.0): "retroperitoneal
        # adenopathies", "cervical lymphadenopathy" walk to Lymphadenopathy > localized.
        weights.setdefault("local", max(weights[k] for k in regions))
    if {"cerebr", "infarct"} <= weights.keys():  # a cerebral infarction is one too
        weights.setdefault("cerebrovascular", weights["infarct"])
        weights.setdefault("diseas", weights["infarct"])
    return weights


def documented_words(*texts: str) -> set[str]:
    """The chart's words as Tabular titles are compared with them (`default_billable`)."""
    return {word for text in texts for word in tokenize(without_durations(text))}
