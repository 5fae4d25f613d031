"""Cues: the chart's own words for codes a coder does not look up in the Alphabetic Index.

A coder does not look "metformin" up in the index: the medication list says the patient takes
an oral hypoglycemic long term (Z79.84); "fell off a ladder" is the external cause W11.XXXA
beside the fracture it explains. Each cue is a pattern of the chart's words (coding knowledge,
written here) and the code it stands for; a cue whose code the loaded code set does not have,
or not as billable, proposes nothing. `status` holds the Chapter 21 (Z) and tobacco cues,
`external` the Chapter 20 external causes.

Cues are mentions of their own kind ("status"): they carry only negation (and a relative's:
"mother on warfarin"), never history or uncertainty, because "former smoker" or "h/o CABG" is
itself the fact the code reports.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from agent.models import Chart, Mention, Sentence

# How a cue reads its code: from the match, the sentence it is in, and the chart.
Coder = Callable[[re.Match[str], str, Chart], str | None]


@dataclass(frozen=True)
class Cue:
    name: str
    pattern: re.Pattern[str]
    code: str | Coder  # the code, or how to read it from the match, the sentence, the chart
    guideline: str  # the Official Guidelines section a coder would cite
    # A clause with one of these words is not a current, long-term fact ("stopped warfarin").
    unless: re.Pattern[str] | None = None
    settings: tuple[str, ...] = ("inpatient", "outpatient")
    # Chart sections the cue is read in (empty: all): a bare "sulfa" is an allergy only on
    # the allergy list.
    sections: tuple[str, ...] = ()


def any_of(*alternatives: str) -> str:
    return r"\b(?:" + "|".join(alternatives) + r")\b"


def all_cues() -> tuple[Cue, ...]:
    # Imported here: the tables import Cue from this module.
    from agent.cues.allergies import ALLERGY_CUES
    from agent.cues.circumstances import CIRCUMSTANCES_CUE
    from agent.cues.external import EXTERNAL_CAUSE_CUES
    from agent.cues.status import STATUS_CUES

    return (*STATUS_CUES, *ALLERGY_CUES, *EXTERNAL_CAUSE_CUES, CIRCUMSTANCES_CUE)


@dataclass(frozen=True)
class CueMatch:
    cue: Cue
    code: str
    start: int  # in the chart
    end: int


def clause_around(text: str, start: int, end: int) -> str:
    """The clause around a match: list items and sentences are separated by , ; and periods."""
    left = max(text.rfind(mark, 0, start) for mark in ",;.\n") + 1
    rights = [i for i in (text.find(mark, end) for mark in ",;.\n") if i >= 0]
    return text[left : min(rights) if rights else len(text)]


def find_cues(chart: Chart, sentence: Sentence) -> list[CueMatch]:
    """Every cue in one sentence, with the code it stands for (at most one match per cue)."""
    text = chart.text[sentence.start : sentence.end]
    found = []
    for cue in all_cues():
        if chart.meta.setting not in cue.settings:
            continue
        if cue.sections and sentence.section not in cue.sections:
            continue
        for match in cue.pattern.finditer(text):
            clause = clause_around(text, match.start(), match.end())
            if cue.unless is not None and cue.unless.search(clause):
                continue
            code = cue.code if isinstance(cue.code, str) else cue.code(match, text, chart)
            if code is None:
                continue
            start, end = sentence.start + match.start(), sentence.start + match.end()
            found.append(CueMatch(cue, code, start, end))
            break
    return found


def cue_mentions(chart: Chart, flags_of: Callable[[int, int], set[str]]) -> list[Mention]:
    """The cues of the chart as "status" mentions; `flags_of(start, end)` gives the context
    flags of a span (only negation and a relative's count for a cue)."""
    mentions = []
    for sentence in chart.sentences:
        for found in find_cues(chart, sentence):
            flags = flags_of(found.start, found.end)
            mentions.append(
                Mention(
                    text=chart.text[found.start : found.end],
                    span=chart.quote(found.start, found.end),
                    kind="status",
                    section=sentence.section,
                    negated="negated" in flags,
                    family="family" in flags,
                )
            )
    return mentions


def cue_code(chart: Chart, mention: Mention) -> tuple[Cue, str] | None:
    """The cue a status mention came from and its code (read again from the chart)."""
    for sentence in chart.sentences:
        if sentence.start <= mention.span.start < sentence.end:
            for found in find_cues(chart, sentence):
                if found.start == mention.span.start and found.end == mention.span.end:
                    return found.cue, found.code
    return None
