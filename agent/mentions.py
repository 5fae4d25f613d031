"""Mentions of conditions and procedures, with the context that decides whether they are coded.

Context follows the NegEx / ConText idea: trigger phrases before a mention ("no", "history
of") or after it ("was ruled out") set a flag when nothing ends their scope in between (a
terminator such as "but", or more than a few words). Pseudo-triggers ("no change", "gram
negative", "prior to") are masked first so they trigger nothing.

This module only flags. Uncertain diagnoses are coded as if established for inpatients at
discharge (Official Guidelines II.H, III.C) but not for outpatients (IV.H): the proposer
applies that rule, and decides whether a "history of" chronic disease is still current.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Literal, cast

from agent.chart import sentence_index
from agent.cues import cue_mentions
from agent.lexicon import Lexicon
from agent.models import Chart, Mention, MentionKind, Sentence
from agent.procedures import LAY_VERBS

Flag = Literal["negated", "uncertain", "historical", "family"]
Direction = Literal["pre", "post", "both"]

PRE_WINDOW = 8  # words between a trigger and a mention it governs, as in NegEx
POST_WINDOW = 5

_RELATIVE = (
    r"(?:mother|father|sister|brother|siblings?|son|daughter|grandmother|grandfather|"
    r"aunt|uncle|cousin|parents?|relatives?|first[- ]degree relatives?)"
)


@dataclass(frozen=True, slots=True)
class _Rule:
    flag: Flag
    direction: Direction
    pattern: re.Pattern[str]
    window: int | None = None  # words of reach; None: PRE_WINDOW / POST_WINDOW


def _rule(flag: Flag, direction: Direction, *phrases: str, window: int | None = None) -> _Rule:
    """One rule matching any of `phrases` (regex fragments) as whole words."""
    alternatives = "|".join(sorted(phrases, key=len, reverse=True))
    pattern = re.compile(rf"(?<![\w/-])(?:{alternatives})(?![\w/])", re.IGNORECASE)
    return _Rule(flag, direction, pattern, window)


_RULES = (
    _rule(
        "negated", "pre", "no", "not", "denies", "denied", "deny", "denying", "without",
        "negative for", "free of", "absence of", "never", "nor", "neither", "lack of",
        "rules out", "ruling out",
        # What a patient is screened for is looked for, not found (I.C.21.c.5).
        r"screen(?:ing|ed)? for",
    ),
    _rule(
        "negated", "post", r"(?:was|were|has been|have been|is|are) (?:ruled out|excluded)",
        r"(?:is|was|were|are) absent", "negative", "excluded",
        r"not (?:seen|found|observed|detected|present|identified|confirmed|visualized)",
    ),
    _rule("negated", "both", "ruled out", "unlikely"),
    # "prostate cancer screening": the word right after the condition.
    _rule("negated", "post", r"screening", window=1),
    _rule(
        "uncertain", "pre", "possible", "possibly", "probable", "probably", "suspected",
        "suspect", "suspicion of", r"suspicious (?:for|of)", "likely", "questionable",
        "question of", r"rule[- ]out", "r/o", r"(?:cannot|can't|could not) (?:exclude|rule out)",
        "differential diagnosis", r"(?:compatible|consistent) with", "suggestive of",
        "suggesting", "suggests", "presumed", "presumptive", "presumably",
        r"may (?:be|have|represent)", "might", "could be", "working diagnosis",
        # A procedure to come is not one performed: "interval laparoscopic cholecystectomy".
        "planned", r"scheduled (?:for )?", r"(?:will|to) undergo", "interval", "candidate for",
    ),
    _rule(
        "uncertain", "post", r"(?:is|was|were|are) (?:suspected|possible|likely|probable)",
        "suspected", r"(?:cannot|can't|could not) be (?:excluded|ruled out)",
        r"not (?:been )?(?:excluded|ruled out)",
    ),
    # "pneumonia?" / "?pneumonia": a question mark is not a word, so no word boundaries.
    _Rule("uncertain", "both", re.compile(r"\?"), window=1),
    _rule(
        "historical", "pre", "history of", r"h/o", r"hx(?: of)?", "previous", "prior", "past",
        "status post", r"s/p", "old",
        # "follow-up after completed treatment for colon cancer": a cancer no longer there.
        r"(?:after|following) (?:completed |completion of )?treatment (?:for|of)",
    ),
    _rule("historical", "post", r"\d+ (?:years?|months?) ago", r"(?:years|months) ago",
          "in the past"),
    _rule("historical", "both", "previously", r"in (?:his|her|their) (?:youth|childhood)"),
    _rule("family", "pre", r"family (?:medical )?history(?: of)?", r"fam(?:ily)? hx(?: of)?",
          "fhx"),
    # A relative reaches only the next few words: "Her mother had breast cancer and the
    # patient has diabetes" gives the mother the cancer, not the diabetes.
    _rule("family", "pre", r"(?:maternal|paternal)", _RELATIVE, window=4),
    _rule("family", "post", rf"in (?:his|her|the|a|their|both)? ?{_RELATIVE}"),
)  # fmt: skip

# Matched first and masked: they contain trigger words but trigger nothing.
_PSEUDO = re.compile(
    r"\b(?:no (?:increase|change|changes|further|significant change)|not only|not necessarily"
    r"|without (?:difficulty|incident|complications? (?:during|of) the)"
    r"|gram[- ]negative|history of (?:the )?present illness|prior to|not certain"
    r"|\w+[- ](?:years?|months?|weeks?|days?)[- ]old"
    # "a three-week history of malaise" is the current illness, not a past one
    r"|\w+[- ](?:hours?|days?|weeks?|months?|years?)(?:'s?)? history of"
    r"|long(?:-?standing)? history of"
    r"|(?:(?:no|without)(?: known)?(?: (?:personal|family|medical)(?: or family)?)? )?"
    r"(?:history|background)s? of (?:interest|note|relevance)"
    r"|(?:in|for|over|during) the (?:past|last|previous) (?:\d+|few|several|two|three) \w+"
    rf"|{_RELATIVE} (?:reports?|reported|states?|stated|says|said|notes?|noted|refers|referred)"
    rf"|(?:accompanied|brought(?: in)?) by (?:his|her|their|the) {_RELATIVE})\b",
    re.I,
)
# Where a trigger's scope ends: a contrast, a relative clause, a new clause of findings.
_TERMINATOR = re.compile(
    r"\b(?:but|however|although|though|except|apart from|aside from|yet|whereas|while"
    r"|which|who|whose|nevertheless|nonetheless|showed|shows|revealed|reveals|demonstrated"
    r"|presented|presents|developed|complain(?:s|ed|ing)?|the patient)\b|[;:]|,\s*with\b",
    re.I,
)
_CURRENT = re.compile(r"\b(?:current|currently|ongoing|active|still)\b", re.I)
_WORD = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class _Trigger:
    flag: Flag
    direction: Direction
    start: int
    end: int
    window: int | None
    # "dementia without behavioral disturbance, GERD": a "without" right after a condition
    # qualifies that condition and stops at the comma; the next list item is not denied.
    qualifies: bool = False


def find_mentions(chart: Chart, lexicon: Lexicon) -> list[Mention]:
    """Lexicon matches in every sentence, flagged by the context around them, then the
    status cues (medications, devices, tobacco, BMI, encounter reasons)."""
    mentions: list[Mention] = []
    for sentence in chart.sentences:
        mentions.extend(_sentence_mentions(chart, sentence, lexicon))
    mentions += cue_mentions(chart, lambda start, end: set(span_flags(chart, start, end)))
    return mentions


def _sentence_mentions(chart: Chart, sentence: Sentence, lexicon: Lexicon) -> list[Mention]:
    text = chart.text[sentence.start : sentence.end]
    spans = lexicon.match(text)
    spans += _lay_procedures(text, spans)
    if not spans:
        return []
    triggers = _triggers(text, [(s, e) for s, e, _ in spans])
    mentions = []
    for start, end, kind in spans:
        flags = {t.flag for t in triggers if _governs(text, t, start, end)}
        flags |= _section_flags(sentence.section, text)
        span = chart.quote(sentence.start + start, sentence.start + end)
        mentions.append(
            Mention(
                text=span.quote,
                span=span,
                kind=cast(MentionKind, kind),
                section=sentence.section,
                negated="negated" in flags,
                uncertain="uncertain" in flags,
                historical="historical" in flags,
                family="family" in flags,
            )
        )
    return mentions


def _lay_procedures(text: str, spans: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """What was done, in plain words ("tonsils taken out", "tubes tied"), from the start of
    its clause to the verb (agent/procedures.py builds the code), where the lexicon found no
    procedure in the sentence (`spans`: the lexicon's matches)."""
    if any(kind == "procedure" for _, _, kind in spans):
        return []
    found = []
    for verb in LAY_VERBS.finditer(text):
        start = max(text.rfind(",", 0, verb.start()), text.rfind(";", 0, verb.start())) + 1
        while start < verb.start() and text[start].isspace():
            start += 1
        if _WORD.search(text[start : verb.start()]):
            found.append((start, verb.end(), "procedure"))
    return found


def _triggers(text: str, mention_spans: list[tuple[int, int]]) -> list[_Trigger]:
    """Triggers in the sentence, longest first when they overlap ("was ruled out" over
    "ruled out"); those in a pseudo-trigger or inside a mention ("Rh negative") dropped."""
    found = []
    for rule, start, end in _rule_matches(text):
        if any(s <= start and end <= e for s, e in mention_spans):
            continue
        qualifies = text[start:end].lower() == "without" and any(
            e <= start and not text[e:start].strip() for _, e in mention_spans
        )
        found.append(_Trigger(rule.flag, rule.direction, start, end, rule.window, qualifies))
    kept: list[_Trigger] = []
    for trigger in sorted(found, key=lambda t: t.start - t.end):
        if not any(_overlaps((trigger.start, trigger.end), (k.start, k.end)) for k in kept):
            kept.append(trigger)
    return kept


@functools.lru_cache(maxsize=4096)
def _rule_matches(text: str) -> tuple[tuple[_Rule, int, int], ...]:
    """Every rule's matches in a sentence outside its pseudo-triggers. Kept per sentence:
    a chart's learned n-grams ask for the flags of one sentence dozens of times."""
    pseudo = [m.span() for m in _PSEUDO.finditer(text)]
    return tuple(
        (rule, m.start(), m.end())
        for rule in _RULES
        for m in rule.pattern.finditer(text)
        if not any(_overlaps(m.span(), p) for p in pseudo)
    )


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def _governs(text: str, trigger: _Trigger, start: int, end: int) -> bool:
    """Whether the trigger's scope reaches the mention at [start, end)."""
    if trigger.end <= start and trigger.direction in ("pre", "both"):
        gap, window = text[trigger.end : start], PRE_WINDOW
    elif trigger.start >= end and trigger.direction in ("post", "both"):
        gap, window = text[end : trigger.start], POST_WINDOW
    else:
        return False
    window = window if trigger.window is None else trigger.window
    if trigger.qualifies and "," in gap:
        return False
    return len(_WORD.findall(gap)) <= window and not _TERMINATOR.search(gap)


def _section_flags(section: str, text: str) -> set[Flag]:
    """Everything in a family history section is the family's; a past history section's
    mentions are historical unless the sentence says they are current."""
    if section == "family_history":
        return {"family"}
    if section == "history" and not _CURRENT.search(text):
        return {"historical"}
    return set()


def span_flags(chart: Chart, start: int, end: int) -> set[Flag]:
    """The context flags of any stretch of the chart (a learned n-gram that no lexicon
    mention covers), read as if it were a mention of its sentence."""
    sentence = sentence_index(chart).at(start)
    if sentence is None:
        return set()
    text = chart.text[sentence.start : sentence.end]
    local = (start - sentence.start, min(end, sentence.end) - sentence.start)
    flags = {t.flag for t in _triggers(text, [local]) if _governs(text, t, *local)}
    return flags | _section_flags(sentence.section, text)
