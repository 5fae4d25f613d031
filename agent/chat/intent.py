"""What a question asks: its kind, the codes it names, its subject, and, for a follow-up
("and its code-first note?", "what about the left side?"), what it refers back to."""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent.chat.model import QuestionKind, Turn

_CM = r"[A-TV-Z]\d[0-9A-Z](?:\.[0-9A-Z]{1,4})?"
_PCS = r"[0-9][0-9A-HJ-NP-Z]{6}"
_CODES = re.compile(rf"\b(?:{_CM}|{_PCS})\b", re.IGNORECASE)

_OPEN = re.compile(
    r"\b(?:summari[sz]e|summary|hospital course|write|draft|compose|explain (?:the|this) "
    r"(?:case|admission|visit)|tell me about (?:the|this) (?:patient|case)|what happened|"
    r"discharge instructions|letter|prognosis|recommend(?:ation)?s? (?:for|on) treatment|"
    # clinical advice is not coding: never answered offline
    r"should (?:we|i|they|the patient|he|she) (?:start|stop|give|treat|continue|prescribe|"
    r"increase|decrease|add|switch)|treatment (?:plan|options?)|what dose)\b",
    re.IGNORECASE,
)
_GUIDELINE = re.compile(
    r"\bguidelines?\b|\bsection [ivx]+\.|\bofficial (?:coding )?guidance\b", re.IGNORECASE
)
# Code-set rule topics, each the note kinds it reads.
_TOPICS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("excludes1", re.compile(r"\bexcludes\s*-?\s*(?:1|one)\b", re.IGNORECASE)),
    ("excludes2", re.compile(r"\bexcludes\s*-?\s*(?:2|two)\b", re.IGNORECASE)),
    ("excludes", re.compile(r"\bexclu(?:des|sion)", re.IGNORECASE)),
    # "code first" or "code-first" (as a coder writes the note's name)
    (
        "code_first",
        re.compile(
            r"\bcode[ds]?[\s-]first\b|\bsequenced? (?:first|ahead|before)\b|\bunderlying\b"
            r"|\b(?:goes|comes) (?:first|ahead|before)\b|\bprecede",
            re.IGNORECASE,
        ),
    ),
    ("use_additional", re.compile(r"\b(?:use )?additional codes?\b", re.IGNORECASE)),
    ("code_also", re.compile(r"\bcode also\b", re.IGNORECASE)),
    ("includes", re.compile(r"\bincludes?\b|\binclusion terms?\b", re.IGNORECASE)),
    ("seventh", re.compile(r"\b(?:7th|seventh) (?:character|char|digit)\b", re.IGNORECASE)),
    (
        "together",
        re.compile(
            r"\b(?:can|may|should|could) (?:i|we|you) (?:code|report|use|bill|assign)\b"
            r"|\btogether\b|\bat the same time\b|\bwith each other\b",
            re.IGNORECASE,
        ),
    ),
    ("notes", re.compile(r"\bnotes?\b|\binstructional\b", re.IGNORECASE)),
)
_WHY = re.compile(
    r"\bwhy\b|\bwhere\b|\bsupport|\bevidence\b|\brationale\b|\breason\b|\bjustif|"
    r"\bhow did you\b|\bdropp?ed\b|\bnot (?:proposed|coded|suggested)\b|\bremoved\b|"
    r"\bwhat (?:backs|supports)\b|\bbacks? (?:it )?up\b|\bwhich line\b|\bwhat line\b|"
    r"\bshow me\b|\bgets? (?:me )?to\b|\bdocumentation (?:for|of|behind)\b",
    re.IGNORECASE,
)
_FIND_CODE = re.compile(
    r"\b(?:codes? for|what(?:'s| is| are) the (?:icd(?:-10)?(?:-cm|-pcs)? )?codes?|which codes?"
    r"|how (?:do|would|should|can) (?:i|we|you) code|(?:icd(?:-10)?(?:-cm)?|pcs) codes? for"
    r"|look ?up|code (?:a|an)\b"
    r"|which (?:icd(?:-10)?(?:-cm|-pcs)? )?codes? (?:covers?|describes?|applies|is used|fits)"
    r"|what (?:do|should|would|can) (?:i|we) (?:assign|use|report|pick)(?: for)?"
    r"|how (?:is|are|would|should|do (?:i|we)) (?=.{1,80}?\bcoded\b))",
    re.IGNORECASE,
)
_FIND_IN_CHART = re.compile(
    r"\bmention|\bdocument|\bdoes the chart\b|\bin the chart\b|\bin the note\b|"
    r"\bany (?:history|evidence|signs?|mention|record) of\b|\bis there\b|\bwas there\b|"
    r"\b(?:did|does|has|had) (?:the )?(?:patient|pt)\b|\bwhat does .{1,40} say\b|\bhistory of\b",
    re.IGNORECASE,
)
# "What code did you use for the COPD?": a question about this chart's proposals.
_WHAT_CODED = re.compile(
    r"\b(?:what|which) codes? (?:did|do|have|has) (?:you|the agent|it|medcoder) "
    r"(?:use|used|assign|assigned|give|given|propose|proposed|pick|picked)\b(?: for)?"
    r"|\b(?:what|how) did you code\b",
    re.IGNORECASE,
)
_FOLLOW_UP = re.compile(
    r"^\s*(?:and|also|what about|how about|same for|then)\b|^\s*why\s*\??\s*$|"
    r"\b(?:its|it|this code|that code|this one|that one|those|these|them|the same)\b|"
    # "where is that?", not "this chart" / "that visit"
    r"\b(?:this|that)\b(?!\s+(?:chart|note|patient|visit|admission|encounter|record|case))",
    re.IGNORECASE,
)
# A pronoun for what the last answer was about, beside a code the question names itself
# ("can I code it with I12.9?").
_PRONOUN = re.compile(r"\b(?:it|its|this one|that one|this code|that code)\b", re.IGNORECASE)
# Two codes asked about together ("can E11.9 be reported with E11.22?").
_PAIR = re.compile(
    r"^\s*(?:can|may|should|could|is it|are they|do|does)\b.*\b(?:with|together|alongside|"
    r"beside|and)\b",
    re.IGNORECASE,
)
_BILLABLE = re.compile(
    r"\bbillable\b|\bvalid (?:code|to bill|for billing)\b|\bcan (?:i|we) bill\b|\breportable\b",
    re.IGNORECASE,
)
_SIDES = re.compile(r"\b(?:left|right|bilateral|both sides)\b", re.IGNORECASE)
_SUBJECT_NOISE = re.compile(
    r"\b(?:is|are|was|were|there|any|mention(?:ed|s)?|documented|documentation|document|"
    r"does|do|did|the|this|chart|note|notes|say|says|said|about|what|in|has|have|had|patient|"
    r"pt|history|evidence|signs?|record(?:ed)?|of|for|a|an|on|tell|me|show|where|please|"
    r"anywhere|anything|something|written|up|report(?:ed|s)?|found|find|he|she|his|her|him|"
    r"they|their|patient's|relatives?|family|any|study|there)\b",
    re.IGNORECASE,
)


@dataclass
class Question:
    kind: QuestionKind
    text: str
    codes: list[str]
    subject: str = ""
    topic: str | None = None
    follow_up: bool = False
    fallback: bool = False  # "open" only because nothing else matched


def codes_in(text: str) -> list[str]:
    found: list[str] = []
    for match in _CODES.finditer(text):
        code = match.group(0).upper()
        if re.fullmatch(_PCS, code) and not re.search(r"[A-Z]", code):
            continue  # a 7-digit number (a record number), not a PCS code
        if code not in found:
            found.append(code)
    return found


def _topic(text: str) -> str | None:
    return next((name for name, pattern in _TOPICS if pattern.search(text)), None)


def _subject(text: str, trigger: re.Pattern[str] | None = None) -> str:
    if trigger is not None and (hit := trigger.search(text)):
        text = text[hit.end() :] or text[: hit.start()]
    text = _CODES.sub(" ", text)
    text = _SUBJECT_NOISE.sub(" ", text)
    return re.sub(r"[\s?.!,;:]+", " ", text).strip()


def classify(question: str, history: list[Turn]) -> Question:
    """The question as one of the kinds; a follow-up borrows what it refers back to from the
    last answer (its codes, its phrase, its kind)."""
    text = question.strip()
    codes = codes_in(text)
    last = history[-1].answer if history else None
    follow_up = bool(last) and not codes and bool(_FOLLOW_UP.search(text))
    if follow_up and last is not None:
        codes = list(last.codes[:2])
    elif last is not None and codes and last.codes and _PRONOUN.search(text):
        codes = [c for c in last.codes[:1] if c not in codes] + codes
        follow_up = True
    topic = _topic(text)
    if len(codes) >= 2 and _PAIR.search(text) and topic in (None, "together", "notes"):
        topic = "together"
    if codes and _BILLABLE.search(text):
        topic = "billable"

    if _OPEN.search(text):
        return Question("open", text, codes)
    if _GUIDELINE.search(text):
        return Question("guideline", text, codes, subject=_subject(text, _GUIDELINE))
    if _WHY.search(text) and codes and topic in (None, "notes"):
        return Question("why", text, codes, follow_up=follow_up)
    if topic and topic != "notes" and (codes or topic in ("seventh",)):
        return Question("code_rules", text, codes, topic=topic, follow_up=follow_up)
    if topic == "notes" and codes:
        return Question("code_rules", text, codes, topic="notes", follow_up=follow_up)
    if follow_up and last is not None and _WHY.search(text):
        # "why did you propose it?" after a search of the chart: the proposals about it
        return Question("why", text, codes, subject=last.phrase or "", follow_up=True)
    if (found := _WHAT_CODED.search(text)) and not codes:
        subject = _subject(text[found.end() :]) or _subject(text)
        return Question("why", text, [], subject=subject)
    if _FIND_CODE.search(text):
        return Question("find_code", text, [], subject=_phrase(text))
    if follow_up and last is not None:
        return _follow(text, codes, last_kind=last.kind, last_phrase=last.phrase, topic=topic)
    if _FIND_IN_CHART.search(text):
        return Question("find_in_chart", text, codes, subject=_subject(text))
    if codes:  # a bare code: why it is (or is not) in this chart's proposals
        return Question("why", text, codes)
    # Nothing recognised: the answerer tries the guideline sections and the chart before
    # refusing.
    return Question("open", text, codes, subject=_subject(text), fallback=True)


def _phrase(text: str) -> str:
    hit = _FIND_CODE.search(text)
    phrase = text[hit.end() :] if hit else text
    phrase = re.sub(r"\s+(?:be\s+)?coded\s*\??\s*$", "", phrase, flags=re.IGNORECASE)
    phrase = re.sub(r"^[\s:,]+|[\s?.!]+$", "", phrase)
    return re.sub(r"^(?:for|of|to)\s+", "", phrase, flags=re.IGNORECASE).strip()


def _follow(
    text: str, codes: list[str], *, last_kind: str, last_phrase: str | None, topic: str | None
) -> Question:
    if last_kind == "find_code" and last_phrase:
        side = _SIDES.search(text)
        if side:  # "what about the left side?": the same search, that side
            phrase = _SIDES.sub(side.group(0).lower(), last_phrase)
            if phrase == last_phrase and side.group(0).lower() not in last_phrase.lower():
                phrase = f"{side.group(0).lower()} {last_phrase}"
            return Question("find_code", text, [], subject=phrase, follow_up=True)
        extra = _subject(text)
        return Question(
            "find_code", text, [], subject=f"{last_phrase} {extra}".strip(), follow_up=True
        )
    if codes:
        if topic:
            return Question("code_rules", text, codes, topic=topic, follow_up=True)
        return Question("why", text, codes, follow_up=True)
    return Question("find_in_chart", text, [], subject=_subject(text), follow_up=True)
