"""Look each mention up the way a coder does: Alphabetic Index, then Tabular, then search.

Index path first (main term = a word of the mention, subterms = the rest), following "see"
references; the Tabular then confirms the code and, when the index stops at a heading, the
default (unspecified) billable code beneath it is taken. Hybrid search covers phrasing the
index lacks.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Collection, Sequence

from agent.chart import sentence_index
from agent.codeset import default_billable
from agent.cues import cue_code
from agent.cues.circumstances import CIRCUMSTANCES, GUIDELINE, circumstances
from agent.index_walk import DENIED, context_words, documented_words, walk, walk_keys
from agent.lexicon import Lexicon
from agent.models import (
    Candidate,
    CandidateSource,
    Chart,
    Citation,
    Mention,
    RunStopped,
    StopCheck,
)
from agent.procedures import root_operation
from agent.rules import history_code, is_chronic
from agent.specificity import (
    Statement,
    clause,
    most_specific,
    stems,
    support,
    title_terms,
    unit_of,
)
from agent.tables import built_candidates, pcs_candidates, table_candidates
from retrieval.records import CodeRecord
from retrieval.search import Hit, HybridSearcher
from retrieval.store import KnowledgeStore
from retrieval.text import normalise

INDEX_SCORE = 1.0
STATUS_SCORE = 0.9
HISTORY_SCORE = 0.85
PHRASE_SCORE = 0.95
# Retrieval alone rarely names the code a coder would pick (measured on CodiEsp train:
# about 1 in 20 search-only proposals were right), so it ranks below the proposal cut-off.
SEARCH_TOP_SCORE = 0.55
SEARCH_DEPTH = 5


def index_candidates(
    store: KnowledgeStore,
    mention: Mention,
    index: int,
    sentence: str,
    statement: Statement,
    elsewhere: Collection[str] = (),
) -> list[Candidate]:
    """Walk the index from each word of the mention (the head noun, last, first), reading
    the subterms its diagnostic statement supports; then the most specific code of the
    category that the statement documents. `elsewhere` holds the words of the sentence's
    other diagnostic statements ("Pleuritic chest pain, shortness of breath"): another
    condition's words are not this one's subterms (chest pain "on breathing")."""
    if mention.kind == "procedure":
        return []
    context = context_words(mention.text, sentence, statement.text)
    for word in elsewhere:
        if context.get(word) == 1:
            del context[word]
    # "without foreign body, no nail damage" never walks "with foreign body" or "with damage
    # to nail", wherever in the sentence the denial is.
    read = Statement.read(sentence)
    for word in statement.denied | (read.denied - statement.words):
        context.pop(word, None)
        # ... but walks "no loss of consciousness" for "without loss of consciousness".
        context[DENIED + word] = 2
    documented = documented_words(mention.text, sentence, statement.text)
    # Nor does "influenza A with cough, no pneumonia" choose "with pneumonia" in the Tabular.
    denied = statement.denied_words | (read.denied_words - statement.documented)
    documented -= denied
    if "bilateral" in (statement.side, read.side):  # "both eyes", "OU": "bilateral"
        documented.add("bilateral")
    seen: set[str] = set()
    found: list[Candidate] = []
    words = normalise(mention.text).split()
    denied_keys = statement.denied | read.denied
    for word in reversed(words):
        keys = walk_keys(word)
        if keys and set(keys) <= denied_keys:
            continue  # "calculus of gallbladder without cholecystitis" is no cholecystitis
        path = walk(store, word, context)
        if path is None:
            continue
        record = default_billable(store, path.code, context=documented, denied=denied)
        if record is None:
            continue
        # An index line two subterms down ("femur > subcapital": S72.01-) has said which
        # subcategory; the Tabular then refines within it, never back out of it.
        within = path.code.rstrip("-").rstrip(".") if path.depth >= 2 else ""
        record, why = specific(store, record, statement, documented, within)
        if record.code in seen:
            continue
        seen.add(record.code)
        # Each subterm the chart supports is more evidence this is the right line; a main
        # term read after another one that led somewhere counts for a little less (the
        # head noun is tried first, but "fracture of the shaft of the tibia" leads with it).
        score = min(0.99, 0.82 + 0.06 * path.matched_words) - 0.03 * len(found)
        label = f"Index: {' > '.join(path.entry.path)} -> {path.code}"
        citation = Citation(source_id=path.entry.source_id, label=label)
        found.append(_candidate(record, score, "index", index, [citation], why))
    return found


def specific(
    store: KnowledgeStore,
    record: CodeRecord,
    statement: Statement,
    context: set[str],
    within: str = "",
) -> tuple[CodeRecord, str]:
    """`record`, or the more specific code of its category the statement documents (I.B.2),
    with its 7th character, kept `within` a code prefix when given; and why."""
    unit = most_specific(store, record, statement)
    if unit is None:
        return record, ""
    refined = default_billable(store, unit.code, context=context)
    if refined is None or refined.code == record.code or not refined.code.startswith(within):
        return record, ""
    return refined, f"more specific than {record.code}: the statement documents it"


def _candidate(
    record: CodeRecord,
    score: float,
    via: CandidateSource,
    index: int,
    citations: list[Citation],
    why: str = "",
) -> Candidate:
    label = f"Tabular: {record.code} {record.title}" + (f"; {why}" if why else "")
    tabular = Citation(source_id=record.source_id, label=label)
    return Candidate(
        code=record.code,
        system=record.system,
        title=record.title,
        billable=record.billable,
        score=round(score, 4),
        via=via,
        mention_index=index,
        citations=[*citations, tabular],
    )


PROCEDURE_CONTEXT_WORDS = 8


def search_query(mention: Mention, context: str) -> str:
    """What search is asked for a mention: a procedure with the words around it in its
    sentence (the approach and body part are there; the rest of a long sentence only dilutes
    the query and costs embedding time), a condition as written."""
    if mention.kind != "procedure":
        return mention.text
    words = context.split()
    at = context.lower().find(mention.text.lower())
    first = len(context[:at].split()) if at >= 0 else 0
    last = first + len(mention.text.split())
    window = words[max(0, first - PROCEDURE_CONTEXT_WORDS) : last + PROCEDURE_CONTEXT_WORDS]
    return f"{mention.text} {' '.join(window)}".strip()


def search_system(mention: Mention) -> str:
    return "pcs" if mention.kind == "procedure" else "cm"


def search_candidates(
    searcher: HybridSearcher,
    mention: Mention,
    index: int,
    hits: list[Hit],
    statement: Statement | None = None,
) -> list[Candidate]:
    """Candidates from the hybrid search `hits` for the mention's `search_query`."""
    system = search_system(mention)
    found = []
    for rank, hit in enumerate(hits):
        if hit.code is None:
            continue
        record = (
            default_billable(searcher.store, hit.code, system)
            if system == "cm"
            else (searcher.store.get(hit.code, "pcs") if len(hit.code) == 7 else None)
        )
        if record is None:
            continue
        via: CandidateSource = "phrase" if "exact" in hit.ranks else "search"
        score = (PHRASE_SCORE if via == "phrase" else SEARCH_TOP_SCORE) - 0.08 * rank
        if record.code != hit.code:
            # The phrase named a heading; its default code is a guess, not a match.
            score -= 0.15
        why = ""
        if via == "phrase" and statement is not None and system == "cm":
            record, why = specific(searcher.store, record, statement, set(statement.documented))
        citation = Citation(source_id=hit.source, label=f"Search match: {hit.title}")
        found.append(_candidate(record, score, via, index, [citation], why))
    return found


STATEMENT_SCORE = 0.9
_OTHER = re.compile(r"\bother\b", re.IGNORECASE)
STATEMENT_DEPTH = 20
STATEMENT_KEEP = 2


def statement_candidates(
    searcher: HybridSearcher, mention: Mention, index: int, statement: Statement
) -> list[Candidate]:
    """Codes whose Tabular title the diagnostic statement documents word for word ("second
    degree burn of right palm" -> T23.251-), for statements that say more than the mention:
    what a coder reads in the Tabular when the Index line is too coarse."""
    head = stems(mention.text)[-1:] if mention.text.strip() else []
    if mention.kind == "procedure" or not head or len(statement.words) < len(head) + 2:
        return []
    store = searcher.store
    found: list[tuple[int, CodeRecord]] = []
    for code in searcher.lexical(statement.text, k=STATEMENT_DEPTH):
        record = store.get(code, "cm")
        if record is None or support(store, record, statement) < 1.0:
            continue
        terms = title_terms(record.title)
        if not set(head) & terms.required:
            continue
        if _OTHER.search(record.title) and not _OTHER.search(statement.text):
            # "Other fracture of shaft" is for a kind the index names; a statement that names
            # no kind is the unspecified code's, which the index walk gives.
            continue
        found.append((len(terms.required), record))
    found.sort(key=lambda item: -item[0])
    candidates = []
    for size, record in found[:STATEMENT_KEEP]:
        unit = unit_of(store, record)
        chosen = default_billable(store, unit.code, context=set(statement.documented)) or record
        score = min(0.99, STATEMENT_SCORE + 0.01 * size)
        citation = Citation(source_id=chosen.source_id, label=f"Statement: {statement.text}")
        candidates.append(_candidate(chosen, score, "statement", index, [citation]))
    return candidates


def find_candidates(
    chart: Chart,
    mentions: list[Mention],
    searcher: HybridSearcher,
    lexicon: Lexicon | None = None,
    stop: StopCheck | None = None,
) -> list[Candidate]:
    """Candidates for every mention, best first within each mention; each remembers every
    route that found it (what the learned history suggests is weighed by the ranker).
    `stop` is asked before each mention (a long chart spends most of its time here).

    With a lexicon, abbreviations and lay terms are looked up in the code set's own wording
    ("CHF" as "congestive heart failure"); the evidence stays the chart's words."""

    positions = _positions(chart, mentions)
    lookups = _lookups(chart, mentions, positions, lexicon)
    statements = statements_of(chart, mentions, lexicon, positions)
    elsewhere = _other_statement_words(chart, mentions, statements, positions)
    # Every searched mention's query in one batch: one embedding call and one vector query
    # per collection instead of one each per mention (status cues name their code and are
    # never searched); a query the chart repeats ("pain", "fever") is searched once.
    searched = [i for i, (m, _) in enumerate(lookups) if m.kind != "status"]
    queries = [(search_query(*lookups[i]), search_system(lookups[i][0])) for i in searched]
    distinct = list(dict.fromkeys(queries))
    hits_of = dict(zip(distinct, searcher.search_many(distinct, k=SEARCH_DEPTH), strict=True))
    found_by_search = {i: hits_of[query] for i, query in zip(searched, queries, strict=True)}
    # A mention looked up before in the same wording, sentence and statement finds the same
    # candidates (a note repeated in the chart): they are copied, not looked up again.
    looked_up: dict[tuple[object, ...], list[Candidate]] = {}
    candidates: list[Candidate] = []
    for index, (mention, sentence) in enumerate(lookups):
        if stop is not None and (why := stop()):
            raise RunStopped(why)
        if mention.kind == "status":
            candidates += status_candidates(chart, searcher.store, mention, index)
            continue
        key = _lookup_key(mention, mentions[index], sentence, statements[index], elsewhere[index])
        if key in looked_up:
            candidates += _copies(looked_up[key], index)
            continue
        found = _mention_candidates(
            searcher, mention, mentions[index], index, sentence, statements[index],
            elsewhere[index], found_by_search[index],
        )  # fmt: skip
        looked_up[key] = found  # untouched until this loop ends: copied only when reused
        candidates += found
    return candidates


_MENTION_FIELDS = tuple(name for name in Mention.model_fields if name != "span")


def _lookup_key(
    mention: Mention,
    written: Mention,
    sentence: str,
    statement: Statement,
    elsewhere: frozenset[str],
) -> tuple[object, ...]:
    """Everything `_mention_candidates` reads of a mention (all but where it is), its
    sentence (and so its search hits), statement and the sentence's other statements."""
    fields = tuple(getattr(mention, name) for name in _MENTION_FIELDS)
    return (*fields, written.text, mention is written, sentence, statement, elsewhere)


def _copies(found: list[Candidate], index: int) -> list[Candidate]:
    """Candidates as found for the mention at `index`: deep copies, since later steps change
    a candidate's score and citations in place."""
    return [c.model_copy(deep=True, update={"mention_index": index}) for c in found]


def _mention_candidates(
    searcher: HybridSearcher,
    mention: Mention,
    written: Mention,
    index: int,
    sentence: str,
    statement: Statement,
    elsewhere: frozenset[str],
    hits: list[Hit],
) -> list[Candidate]:
    """The candidates of one condition or procedure mention (`written` as the chart has it,
    `mention` in the code set's wording), best first."""
    merged: dict[str, Candidate] = {}
    pools = [
        index_candidates(searcher.store, mention, index, sentence, statement, elsewhere),
        table_candidates(searcher.store, mention, sentence, index),
        search_candidates(searcher, mention, index, hits, statement),
        statement_candidates(searcher, mention, index, statement),
    ]
    if mention.kind == "procedure":
        # The PCS index is read by the chart's own word first ("appendectomy"), then
        # by the expanded wording of an abbreviation ("lap appy").
        indexed = pcs_candidates(searcher.store, written, sentence, index)
        if not indexed and mention is not written:
            indexed = pcs_candidates(searcher.store, mention, sentence, index)
        pools.insert(0, indexed + built_candidates(searcher.store, statement.text, sentence, index))
        _defer_inspections(sentence, pools)
    _defer_main_term_phrases(searcher.store, mention, pools[0], pools[2])
    for pool in pools:
        for candidate in pool:
            current = merged.get(candidate.code)
            if current is None:
                candidate.routes = {candidate.via: candidate.score}
                merged[candidate.code] = candidate
                continue
            best = max(current.routes.get(candidate.via, 0.0), candidate.score)
            current.routes[candidate.via] = best
            # Found by two routes: keep the better score, add a little, keep all citations.
            current.score = round(min(1.0, max(current.score, candidate.score) + 0.05), 4)
            current.citations += [
                c
                for c in candidate.citations
                if c.source_id not in {x.source_id for x in current.citations}
            ]
    found = sorted(merged.values(), key=lambda c: -c.score)
    return found + history_candidates(searcher, mention, index, found)


# The scope that took a biopsy or removed a polyp is part of that procedure (PCS B3.11a).
INSPECTION_FACTOR = 0.5


def _defer_inspections(sentence: str, pools: list[list[Candidate]]) -> None:
    operation = root_operation(sentence)
    if operation is None or operation[0] == "Inspection":
        return
    for pool in pools:
        for candidate in pool:
            # A built Inspection is one a converted laparoscopy asks for (B3.2d).
            inspection = candidate.code[0] == "0" and candidate.code[2] == "J"
            if candidate.system == "pcs" and inspection and candidate.via != "table":
                candidate.score = round(candidate.score * INSPECTION_FACTOR, 4)


# A phrase match of the bare main term ("influenza": J11.1) when the index walk read on to a
# subterm the chart documents ("Influenza > A": J10.1) is the code a coder reads past.
DEFERRED_PHRASE_FACTOR = 0.5


def _defer_main_term_phrases(
    store: KnowledgeStore, mention: Mention, indexed: list[Candidate], searched: list[Candidate]
) -> None:
    if mention.kind == "procedure" or not indexed:
        return
    main_codes = set()
    for word in normalise(mention.text).split():
        for entry in store.main_entries(word):
            record = default_billable(store, entry.code) if entry.code else None
            if record is not None:
                main_codes.add(record.code)
    categories = {code[:3] for code in main_codes}
    if not main_codes or all(c.code[:3] in categories for c in indexed):
        return
    for candidate in searched:
        if candidate.via == "phrase" and candidate.code[:3] in categories:
            candidate.score = round(candidate.score * DEFERRED_PHRASE_FACTOR, 4)


def status_candidates(
    chart: Chart, store: KnowledgeStore, mention: Mention, index: int
) -> list[Candidate]:
    """The code a status cue stands for, when the loaded code set has it as billable."""
    found = cue_code(chart, mention)
    if found is None:
        return []
    cue, code = found
    if code == CIRCUMSTANCES:
        return circumstance_candidates(store, mention, index)
    record = store.get(code, "cm")
    if record is None or not record.billable:
        return []
    label = f"Cue: {cue.name} (ICD-10-CM Official Guidelines {cue.guideline})"
    return [_candidate(record, STATUS_SCORE, "status", index, [], label)]


def circumstance_candidates(store: KnowledgeStore, mention: Mention, index: int) -> list[Candidate]:
    """Place, activity and status of an injury, read from the sentence that tells it."""
    found = []
    for circumstance in circumstances(store, mention.text):
        record = store.get(circumstance.code, "cm")
        if record is None or not record.billable:
            continue
        entry = circumstance.entry
        citations = []
        if entry is not None:
            path = " > ".join(entry.path)
            citations.append(Citation(source_id=entry.source_id, label=f"Index: {path}"))
        label = f"Cue: {circumstance.what} (ICD-10-CM Official Guidelines {GUIDELINE})"
        found.append(_candidate(record, STATUS_SCORE, "status", index, citations, label))
    return found


def history_candidates(
    searcher: HybridSearcher, mention: Mention, index: int, found: list[Candidate]
) -> list[Candidate]:
    """A relative's condition, or a past one that is not chronic, as its history Z code
    (I.C.21.c.4): found from the mention's best condition code through the index."""
    if mention.kind == "procedure" or mention.negated or not (mention.family or mention.historical):
        return []
    best = next((c for c in found if c.system == "cm" and c.billable), None)
    if best is None or (mention.historical and not mention.family and is_chronic(best.code)):
        return []
    condition = searcher.store.get(best.code, "cm")
    if condition is None:
        return []
    code = history_code(
        searcher, condition, mention.text, "family" if mention.family else "personal", search=False
    )
    if code is None:
        return []
    same = next((c for c in found if c.code == code.record.code), None)
    if same is not None:
        # Search found it too, weakly: the index line is the coder's reason for it.
        same.via = "status"  # what the code reports is the history itself (features.py)
        same.routes["status"] = max(same.routes.get("status", 0.0), HISTORY_SCORE)
        same.score = max(same.score, HISTORY_SCORE)
        if code.citation.source_id not in {c.source_id for c in same.citations}:
            same.citations.append(code.citation)
        return []
    return [_candidate(code.record, HISTORY_SCORE, "status", index, [code.citation])]


def _positions(chart: Chart, mentions: Sequence[Mention]) -> list[int | None]:
    """The number of each mention's sentence (None outside every sentence), by bisection."""
    index = sentence_index(chart)
    return [index.position(m.span.start) for m in mentions]


def _lookups(
    chart: Chart,
    mentions: Sequence[Mention],
    positions: Sequence[int | None],
    lexicon: Lexicon | None,
) -> list[tuple[Mention, str]]:
    """Each mention and its sentence as looked up: abbreviations in the code set's wording.
    A sentence is rewritten once for all its mentions, a wording once for all its repeats."""
    texts: dict[int | None, str] = {}
    rewritten: dict[str, str] = {}
    wordings: dict[str, str | None] = {}
    found = []
    for written, position in zip(mentions, positions, strict=True):
        if position not in texts:
            sentence = chart.sentences[position] if position is not None else None
            texts[position] = chart.text[sentence.start : sentence.end] if sentence else ""
        text = texts[position]
        if lexicon is None or written.kind == "status":
            found.append((written, text))
            continue
        if written.text not in wordings:
            wordings[written.text] = lexicon.canonical(written.text)
        if text not in rewritten:
            rewritten[text] = lexicon.canonical(text) or text
        wording = wordings[written.text]
        mention = written.model_copy(update={"text": wording}) if wording else written
        found.append((mention, rewritten[text]))
    return found


def statements_of(
    chart: Chart,
    mentions: Sequence[Mention],
    lexicon: Lexicon | None,
    positions: Sequence[int | None] | None = None,
) -> list[Statement]:
    """Each mention's diagnostic statement (its clause), in the code set's wording;
    `positions`: each mention's sentence number, when the caller has them."""
    if positions is None:
        positions = _positions(chart, mentions)
    # The mentions inside each sentence, found by bisection on their starts once per
    # sentence: not a pass over all the chart's mentions for every mention.
    order = sorted(
        (m.span.start, i) for i, m in enumerate(mentions) if m.kind != "status"
    )  # fmt: skip
    starts = [start for start, _ in order]
    members: dict[int, list[Mention]] = {}

    def inside(position: int) -> list[Mention]:
        if position not in members:
            sentence = chart.sentences[position]
            lo, hi = bisect_left(starts, sentence.start), bisect_left(starts, sentence.end)
            members[position] = [mentions[i] for i in sorted(i for _, i in order[lo:hi])]
        return members[position]

    statements = []
    for mention, position in zip(mentions, positions, strict=True):
        if position is None:
            statements.append(Statement.read(mention.text))
            continue
        sentence = chart.sentences[position]
        text = chart.text[sentence.start : sentence.end]
        others = tuple(
            m.span.start - sentence.start
            for m in inside(position)
            if m.span.start != mention.span.start
        )
        start = mention.span.start - sentence.start
        end = min(mention.span.end, sentence.end) - sentence.start
        left, right = clause(text, start, end, others)
        written = text[left:right]
        canonical = lexicon.canonical(written) if lexicon is not None else None
        statements.append(Statement.read(canonical or written))
    return statements


def _other_statement_words(
    chart: Chart,
    mentions: Sequence[Mention],
    statements: Sequence[Statement],
    positions: Sequence[int | None] | None = None,
) -> list[frozenset[str]]:
    """For each mention, the walk words of the other diagnostic statements of its sentence
    that its own statement does not use."""
    if positions is None:
        positions = _positions(chart, mentions)
    keys = [frozenset(walk_keys(s.text)) for s in statements]
    # The others' words less one's own are all the sentence's statements' words less one's
    # own (a status cue has no statement here): one union per sentence, not per pair.
    words: dict[int | None, frozenset[str]] = {}
    for mention, position, own in zip(mentions, positions, keys, strict=True):
        if mention.kind != "status":
            words[position] = words.get(position, frozenset()) | own
    return [
        words.get(position, frozenset()) - own
        for position, own in zip(positions, keys, strict=True)
    ]
