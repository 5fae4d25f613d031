"""De-identification of chart text before it goes to an external LLM (HIPAA Safe Harbor).

`deidentify(text)` replaces identifiers with typed placeholders ("[NAME]", "[DATE]", "[MRN]"...)
and returns a `Scrubbed` that maps offsets in the scrubbed text back to the original, so a
quote the model makes from the scrubbed chart still cites the real chart.

Detection is presidio-analyzer run without any NLP model (its NoOpNlpEngine: spaCy is imported
but no model is loaded, nothing is downloaded) with its validated pattern recognizers for
e-mail, URL, IP, phone (libphonenumber), numeric dates, SSN, Medicare MBI, credit cards and
checksummed license numbers, plus rules of our own (run beside it, results merged) for what
no offline pattern library sees: names by their context (titles, "Patient:", "signed
by", relatives, credentials, then every other occurrence of a name found), dates written with
month names, ages over 89, labelled record/account/insurance/license/device/plate numbers,
street addresses, cities before a state and ZIP codes.

Measured on tests/agent/phi_chart.py (2,150 characters, 45 identifiers of the kinds above, 33
clinical phrases that must survive), 2 cores; the 20 KB chart is that chart ten times. Recall:
identifiers whose every character was found; precision: found spans that overlap one; kept:
clinical phrases left whole.

| detector (offline)                            | 2 KB   | 20 KB    | recall | precision | kept  |
| --------------------------------------------- | ------ | -------- | ------ | --------- | ----- |
| presidio-analyzer 2.2.366, NoOpNlpEngine, all | 24 ms  | 248 ms   | 20/45  | 30/37     | 26/33 |
| its pattern recognizers (ICD codes taken for  |        |          |        |           |       |
| licenses, "pain 5/10" for a date)             |        |          |        |           |       |
| the same, score >= 0.4                        | 21 ms  | 203 ms   | 15/45  | 19/19     | 33/33 |
| scrubadub 2.0.1, default detectors            | 3 ms   | 26 ms    | 9/45   | 9/9       | 33/33 |
| + date_of_birth, postalcode, licences         | 90 ms  | 1,002 ms | 10/45  | 10/10     | 33/33 |
| philter-lite 0.6.0 as shipped                 | fails: nltk.pos_tag needs tagger data    |
| the same, POS tags from capitalisation        | 80 ms  | 3,114 ms | 35/45  | 45/48     | 32/33 |
| this module: presidio (score >= 0.4) + ours   | 22 ms  | 195 ms   | 45/45  | 45/45     | 33/33 |

The first call in a process also pays about 1 s to import presidio (and spaCy, unused).

No library finds names offline (presidio and scrubadub need a spaCy or TextBlob model for
them); nor dates with month names, ages over 89, or record numbers without a checksum. Two
more charts written after the rules (tests/agent/phi_chart.py, HELD_OUT): the first scored
23/28 recall and 25/25 precision before the rules were widened for it (28/28 after), the
second, written last and never tuned on, 20/20 and 20/20. Over the ~480 charts of the eval
and ranker suites (180 KB; their only identifiers are names like "Dr. Patel" and admit dates,
which were found) nothing clinical was replaced.

Nothing here reads settings; the caller decides whether text is scrubbed at all.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

# Placeholders say what was there, so the model still reads "seen on [DATE] by Dr. [NAME]".
# Ages over 89 become the one category Safe Harbor allows for them.
PLACEHOLDERS = {"AGE": "[AGE 90+]"}
# When detections of different kinds overlap, the merged span takes the kind of the longest
# one; equal lengths go to the earlier kind here.
PRIORITY = (
    "EMAIL",
    "URL",
    "IP",
    "DATE",
    "AGE",
    "SSN",
    "MRN",
    "ACCOUNT",
    "INSURANCE",
    "LICENSE",
    "DEVICE",
    "VEHICLE",
    "FAX",
    "PHONE",
    "ADDRESS",
    "ZIP",
    "NAME",
    "ID",
)
# Presidio's entity names, as our kinds.
PRESIDIO_KINDS = {
    "EMAIL_ADDRESS": "EMAIL",
    "URL": "URL",
    "IP_ADDRESS": "IP",
    "PHONE_NUMBER": "PHONE",
    "DATE_TIME": "DATE",
    "US_SSN": "SSN",
    "US_MBI": "INSURANCE",
    "CREDIT_CARD": "ID",
    "MEDICAL_LICENSE": "LICENSE",
    "US_NPI": "LICENSE",
}
# Presidio scores its weak guesses low ("5/10" as a month/year date scores 0.1; a three-letter
# code like "E11" as a driver's license 0.3); those are clinical text far more often.
MIN_SCORE = 0.4
MIN_PHONE_DIGITS = 7
# Presidio takes any "word.tld" for a web address, and charts are full of "stable.No" and
# "pt.is" where a space went missing; a bare domain counts only in a common lower-case form.
_LIKELY_URL = re.compile(
    r"(?i:[a-z][a-z0-9+.-]*://|www\.)"
    r"|[a-z0-9-]{2,}(?:\.[a-z0-9-]+)*\.(?:com|org|net|edu|gov|mil|info|biz|us|health)(?![a-z0-9])"
)


def placeholder(kind: str) -> str:
    return PLACEHOLDERS.get(kind, f"[{kind}]")


@dataclass(frozen=True, slots=True)
class Replacement:
    """One identifier: `start`/`end` in the original, `at` where its placeholder starts in the
    scrubbed text."""

    start: int
    end: int
    kind: str
    at: int

    @property
    def size(self) -> int:
        return len(placeholder(self.kind))


@dataclass(frozen=True)
class Scrubbed:
    """Text with identifiers replaced, and the way between its offsets and the original's.

    Offsets outside placeholders map exactly (the text between identifiers is unchanged);
    a range that touches a placeholder maps to the whole identifier it stands for. Both
    directions are monotone."""

    text: str
    original: str
    replacements: tuple[Replacement, ...]
    _ats: list[int] = field(init=False, repr=False, compare=False)
    _starts: list[int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_ats", [r.at for r in self.replacements])
        object.__setattr__(self, "_starts", [r.start for r in self.replacements])

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """The original span of scrubbed text[start:end]."""
        start, end = _clamp(start, end, len(self.text))
        return self._original_start(start), self._original_end(end)

    def to_scrubbed(self, start: int, end: int) -> tuple[int, int]:
        """The scrubbed span of original text[start:end] (whole placeholders at its edges)."""
        start, end = _clamp(start, end, len(self.original))
        return self._scrubbed_start(start), self._scrubbed_end(end)

    def _original_start(self, pos: int) -> int:
        index = bisect.bisect_right(self._ats, pos) - 1
        if index < 0:
            return pos
        found = self.replacements[index]
        if pos < found.at + found.size:
            return found.start
        return found.end + pos - (found.at + found.size)

    def _original_end(self, pos: int) -> int:
        index = bisect.bisect_left(self._ats, pos) - 1
        if index < 0:
            return pos
        found = self.replacements[index]
        if pos <= found.at + found.size:
            return found.end
        return found.end + pos - (found.at + found.size)

    def _scrubbed_start(self, pos: int) -> int:
        index = bisect.bisect_right(self._starts, pos) - 1
        if index < 0:
            return pos
        found = self.replacements[index]
        if pos < found.end:
            return found.at
        return found.at + found.size + pos - found.end

    def _scrubbed_end(self, pos: int) -> int:
        index = bisect.bisect_left(self._starts, pos) - 1
        if index < 0:
            return pos
        found = self.replacements[index]
        if pos <= found.end:
            return found.at + found.size
        return found.at + found.size + pos - found.end


def _clamp(start: int, end: int, size: int) -> tuple[int, int]:
    start = min(max(start, 0), size)
    return start, min(max(end, start), size)


def scrub(text: str, spans: Iterable[tuple[int, int, str]]) -> Scrubbed:
    """`text` with each (start, end, kind) replaced by its placeholder; overlapping spans are
    merged first (see `merge`)."""
    pieces: list[str] = []
    replacements: list[Replacement] = []
    at = length = 0
    for start, end, kind in merge(spans):
        pieces.append(text[at:start])
        length += start - at
        replacements.append(Replacement(start, end, kind, length))
        pieces.append(placeholder(kind))
        length += len(placeholder(kind))
        at = end
    pieces.append(text[at:])
    return Scrubbed("".join(pieces), text, tuple(replacements))


def _rank(kind: str) -> int:
    return PRIORITY.index(kind) if kind in PRIORITY else len(PRIORITY)


def merge(spans: Iterable[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Overlapping spans joined into one, sorted, empty ones dropped; the joined span keeps
    the kind of its longest part (ties by PRIORITY)."""
    ordered = sorted((s, e, k) for s, e, k in spans if e > s)
    merged: list[tuple[int, int, str]] = []
    best: list[tuple[int, int, str]] = []
    for start, end, kind in ordered:
        if merged and start < merged[-1][1]:
            last_start, last_end, _ = merged[-1]
            best.append((start, end, kind))
            winner = min(best, key=lambda s: (-(s[1] - s[0]), _rank(s[2])))
            merged[-1] = (last_start, max(last_end, end), winner[2])
        else:
            merged.append((start, end, kind))
            best = [(start, end, kind)]
    return merged


# ---- our own recognizers -------------------------------------------------------------------

# A name word: capitalised, with O'Brien, McDonald, Smith-Jones; an initial with its dot.
_WORD = r"(?:[A-Z](?:'[A-Z])?[a-zA-Z]*[a-z](?:-[A-Z][a-z]+)?|[A-Z]\.)"
_NAME = rf"{_WORD}(?:[ \t]+{_WORD}){{0,3}}"
# Capitalised words that start or end a run of "name words" without being names.
_STOPWORD_TEXT = """
    dr mr mrs ms miss mx prof md do rn np pa the a an and or of in on at to for with from by
    is was has had he she they his her their patient pt male female man woman boy girl type
    stage chronic acute history hx assessment plan unknown none no not yes today yesterday
    tomorrow denies reports presents presented states complains admitted discharged seen
    hospital clinic center centre medical health emergency department unit call follow please
    note age sex setting monday tuesday wednesday thursday friday saturday sunday january
    february march april may june july august september october november december jan feb mar
    apr jun jul aug sep sept oct nov dec mother father son daughter wife husband sister
    brother family also both who which this that there then than service team staff
    cardiology neurology nephrology pulmonology oncology surgery pharmacy radiology physical
    occupational therapy speech social work nutrition dietitian ophthalmology gastroenterology
    psychiatry endocrinology urology orthopedics dermatology hospitalist infectious disease
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())
_LABEL_COLON = (
    r"patient(?:'s)?(?:[ \t]+(?:full[ \t]+)?name)?|pt(?:[ \t]+name)?|name|attending"
    r"(?:[ \t]+physician)?|pcp|primary[ \t]+care(?:[ \t]+(?:physician|provider))?|physician"
    r"|provider|surgeon|nurse|resident|fellow|referring(?:[ \t]+(?:physician|provider))?"
    r"|guarantor|emergency[ \t]+contact|contact|next[ \t]+of[ \t]+kin|guardian|caregiver"
    r"|interpreter|scribe|cc"
)
_LABEL_BY = (
    r"(?:dictated|signed|cosigned|co-signed|authenticated|transcribed|seen|referred|examined"
    r"|evaluated|verified|reviewed|performed|attested|witnessed)[ \t]+by"
    r"|discussed[ \t]+with|spoke[ \t]+with"
)
_RELATIVE = (
    r"son|daughter|wife|husband|spouse|partner|mother|father|brother|sister|sibling|aunt"
    r"|uncle|niece|nephew|cousin|grandson|granddaughter|grandmother|grandfather|friend"
    r"|neighbou?r|caregiver|guardian|fianc[eé]e?"
)
_CREDENTIAL = (
    r"MD|M\.D\.|DO|D\.O\.|RN|NP|PA-C|PA|PhD|DDS|DMD|DPM|APRN|CRNA|FNP|FNP-BC|LPN|MSW|LCSW"
    r"|PharmD|CNM|OD"
)

_MONTH = (
    r"(?=[A-Z])(?i:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_DAY = r"(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?"
# A number followed by a unit is a dose or a count, not a day of the month.
_NOT_UNIT = (
    r"(?![ \t]*(?:mg|mcg|g|kg|ml|mL|L|units?|tabs?|tablets?|caps?|doses?|times|x|%|hours?"
    r"|hrs?|days?|weeks?|wks?|months?|mo)\b)"
)
_YEAR = r"(?:1[89]\d\d|2\d\d\d)"
_DATE_WORDS = (
    r"on|since|from|until|till|through|thru|dated|date|by|before|after|as[ \t]+of|dob|dos"
    r"|born|d/c|discharged?|admit(?:ted)?|admission|seen|visit|last|of"
)

_STREET_SUFFIX = (
    r"Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Place|Pl|Way"
    r"|Terrace|Ter|Circle|Cir|Parkway|Pkwy|Highway|Hwy|Square|Sq|Trail|Trl|Pike|Alley|Loop"
    r"|Plaza|Row|Crescent|Close"
)
_STATE_CODES = (
    r"AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH"
    r"|NJ|NM|NY|NC|ND|OH|OK|OR|PA|PR|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY"
)
_STATE_NAMES = (
    r"Alabama|Alaska|Arizona|Arkansas|California|Colorado|Connecticut|Delaware|Florida"
    r"|Georgia|Hawaii|Idaho|Illinois|Indiana|Iowa|Kansas|Kentucky|Louisiana|Maine|Maryland"
    r"|Massachusetts|Michigan|Minnesota|Mississippi|Missouri|Montana|Nebraska|Nevada"
    r"|New[ \t]+Hampshire|New[ \t]+Jersey|New[ \t]+Mexico|New[ \t]+York|North[ \t]+Carolina"
    r"|North[ \t]+Dakota|Ohio|Oklahoma|Oregon|Pennsylvania|Rhode[ \t]+Island"
    r"|South[ \t]+Carolina|South[ \t]+Dakota|Tennessee|Texas|Utah|Vermont|Virginia"
    r"|Washington|West[ \t]+Virginia|Wisconsin|Wyoming"
)
_PLACE = r"[A-Z][a-z]+(?:[ \t]+[A-Z][a-z]+){0,2}"
# Between a context and its identifier: spaces, or one line break of wrapped text.
_GAP = r"[ \t]*\n?[ \t]*"
_SEP = r"(?:[ \t]+|[ \t]*\n[ \t]*)"
_ZIP = r"\d{5}(?:-\d{4})?"

# A labelled number: the value must hold a digit (so "Insurance: Medicare" stays).
_VALUE = (
    r"(?=[A-Za-z0-9-]*\d)(?!\d+-(?i:day|week|month|year|hour|minute|min|dose|point|lead)s?\b)"
    r"[A-Za-z0-9][A-Za-z0-9-]{2,}[A-Za-z0-9]"
)
_NUMBER_WORD = r"(?:number|num|no\.?|\#|id|identifier|s/n)"
# Labels that name an identifier by themselves ("MRN 123", "policy BCX448").
_ID_LABELS = {
    "MRN": r"mrn|med(?:ical)?[ \t]+rec(?:ord)?|hospital[ \t]+number|unit[ \t]+number",
    "SSN": r"ssn|ss\#|social[ \t]+security",
    "ACCOUNT": r"account|acct|fin|csn",
    "INSURANCE": (
        r"subscriber|policy|insurance|beneficiary|health[ \t]+plan(?:[ \t]+beneficiary)?"
        r"|medicare(?:[ \t]+member)?|medicaid(?:[ \t]+member)?|hicn|mbi"
    ),
    "LICENSE": r"driver'?s[ \t]+licen[cs]e|licen[cs]e|dea|npi|passport",
    "DEVICE": r"(?:pacemaker[ \t]+|device[ \t]+|implant[ \t]+)?serial|udi",
    "VEHICLE": r"(?:vehicle|license|licence)[ \t]+plate|vin",
    "FAX": r"fax",
}
# Everyday words that name one only with "number", "no.", "#", "ID" or a colon after them
# ("visit 2026-03-14", "Encounter no. E2602", not "PCP visit\nT2DM").
_WEAK_ID_LABELS = {
    "MRN": r"record|chart",
    "ACCOUNT": r"billing|encounter|visit|claim|case",
    "INSURANCE": r"member|group",
    "LICENSE": r"certificate",
    "DEVICE": r"device|implant|lot",
    "VEHICLE": r"plate",
    "ID": r"id|identifier",
}


@dataclass(frozen=True)
class Rule:
    """A pattern whose named groups (kinds) are identifiers; with no named group the whole
    match is one of `kind`. `trim` keeps the name words next to the context ("left"/"right")."""

    kind: str
    pattern: re.Pattern[str]
    trim: str = ""


def _rule(kind: str, pattern: str, trim: str = "") -> Rule:
    return Rule(kind, re.compile(pattern), trim)


def _id_rule(kind: str, labels: str, weak: bool = False) -> Rule:
    """A labelled number on the label's line; a weak label needs its number word or colon."""
    number = rf"[ \t]*{_NUMBER_WORD}"
    label = (
        rf"\b(?:{labels})(?:{number}[ \t]*:?|[ \t]*:)" if weak else rf"\b(?:{labels})(?:{number})?"
    )
    return _rule(kind, rf"(?i:{label})[ \t]*(?:[:#=]|is)?[ \t]*#?[ \t]*(?P<{kind}>{_VALUE})")


RULES: tuple[Rule, ...] = (
    # Names by their context.
    _rule(
        "NAME", rf"\b(?:Dr|Mr|Mrs|Ms|Miss|Mx|Prof|Sr|Sra|Srta)\.?{_SEP}(?P<NAME>{_NAME})", "left"
    ),
    _rule(
        "NAME",
        rf"(?i:\b(?:{_LABEL_COLON})[ \t]*:){_GAP}"
        rf"(?P<NAME>{_NAME}(?:,[ \t]*{_WORD}(?:[ \t]+{_WORD})?)?)",
        "left",
    ),
    _rule("NAME", rf"(?i:\b(?:{_LABEL_BY})[ \t]*:?){_SEP}(?P<NAME>{_NAME})", "left"),
    # "Patient: ROE, JANE" as in registration headers.
    _rule(
        "NAME",
        rf"(?i:\b(?:{_LABEL_COLON})[ \t]*:)[ \t]*(?P<NAME>[A-Z][A-Z'-]+,[ \t]*[A-Z][A-Za-z'-]+)",
    ),
    # Relatives: "her son, Michael Roe"; one word needs the possessive ("her sister Ann").
    _rule(
        "NAME",
        rf"(?i:\b(?:{_RELATIVE})(?:[ \t]+of(?:[ \t]+the[ \t]+late)?)?)[ \t]*,?{_SEP}"
        rf"(?P<NAME>{_WORD}(?:[ \t]+{_WORD}){{1,3}})",
        "left",
    ),
    _rule(
        "NAME",
        rf"(?i:\b(?:his|her|their|patient's|pt's)[ \t]+(?:{_RELATIVE}))[ \t]*,?{_SEP}"
        rf"(?P<NAME>{_WORD})",
        "left",
    ),
    _rule(
        "NAME", rf"(?P<NAME>{_WORD}(?:[ \t]+{_WORD}){{1,3}}),?{_SEP}(?:{_CREDENTIAL})\b", "right"
    ),
    # Dates written with words (presidio finds the numeric ones).
    _rule("DATE", rf"\b{_MONTH}[ \t]+{_DAY}\b{_NOT_UNIT}(?:,?[ \t]+{_YEAR}\b)?"),
    _rule("DATE", rf"\b{_DAY}(?:[ \t]+of)?[ \t-]+{_MONTH}(?:(?:,?[ \t]+|-){_YEAR}\b)?"),
    _rule("DATE", rf"\b{_MONTH},?[ \t]+{_YEAR}\b"),
    _rule(
        "DATE",
        rf"(?i:\b(?:{_DATE_WORDS})[ \t]*:?{_SEP})(?P<DATE>(?:0?[1-9]|1[0-2])[/-]"
        r"(?:0?[1-9]|[12]\d|3[01])(?:[/-](?:\d{4}|\d{2}))?|(?:0?[1-9]|1[0-2])/\d{4})\b(?![/\d])",
    ),
    # Ages over 89.
    _rule(
        "AGE",
        r"\b(?P<AGE>9\d|1[0-2]\d)(?=[ \t-]*(?:years?|yrs?|yr)[ \t-]*(?:old|of[ \t]+age)\b"
        r"|[ \t]*(?:y/?o|y\.o\.|yo)\b)",
    ),
    _rule(
        "AGE",
        r"(?i:\b(?:age|aged)[ \t]*:?[ \t]*)(?P<AGE>9\d|1[0-2]\d)\b"
        r"(?![ \t]*(?i:days?|d|weeks?|wks?|months?|mos?)\b)",
    ),
    # Labelled numbers.
    *(_id_rule(kind, labels) for kind, labels in _ID_LABELS.items()),
    *(_id_rule(kind, labels, weak=True) for kind, labels in _WEAK_ID_LABELS.items()),
    # Long bare numbers and lettered record numbers ("ACC-7730214") identify someone far more
    # often than they measure something; doses and lab values are shorter or have decimals.
    _rule("ID", r"(?<![\w.,/-])\d{7,}(?![\w.,/])"),
    _rule("ID", r"\b[A-Z]{1,4}-?\d{5,}(?:-\d+)*\b"),
    # Places smaller than a state.
    _rule(
        "ADDRESS",
        rf"\b\d{{1,6}}[ \t]+(?:[NSEW]\.?[ \t]+)?(?:[A-Z][a-zA-Z]*|\d+(?:st|nd|rd|th))"
        rf"(?:[ \t]+[A-Z][a-zA-Z]*){{0,3}}[ \t]+(?:{_STREET_SUFFIX})\.?\b"
        r"(?:,?[ \t]*(?i:apt|apartment|unit|suite|ste|fl|floor|rm|room|#)\.?[ \t]*"
        r"#?[A-Za-z0-9-]+)?",
    ),
    _rule("ADDRESS", r"\b(?i:p\.?[ \t]?o\.?[ \t]*box)[ \t]+\d+"),
    _rule("ADDRESS", rf"(?P<ADDRESS>{_PLACE}),{_GAP}(?:{_STATE_CODES})\.?{_SEP}{_ZIP}\b"),
    _rule("ADDRESS", rf"(?P<ADDRESS>{_PLACE}),{_GAP}(?:{_STATE_NAMES})\b"),
    _rule(
        "ADDRESS",
        rf"(?i:\b(?:lives|living|resides|residing|moved)[ \t]+(?:in|to)){_SEP}"
        rf"(?P<ADDRESS>{_PLACE})",
        "left",
    ),
    _rule(
        "ZIP",
        rf"(?:\b(?:{_STATE_CODES}|{_STREET_SUFFIX})\.?|(?i:\bzip(?:[ \t]*code)?[ \t]*:?))"
        rf"(?=[ \t,\n])[ \t,]*\n?[ \t]*(?P<ZIP>{_ZIP})\b",
    ),
)


def _trimmed(text: str, start: int, end: int, side: str) -> tuple[int, int] | None:
    """The run of name words at the context's side of text[start:end], stop words cut off."""
    words = [m for m in re.finditer(r"\S+", text[start:end])]
    keep: list[re.Match[str]] = []
    for word in words if side == "left" else reversed(words):
        if word.group().strip(".,").lower() in STOPWORDS:
            break
        keep.append(word)
    if not keep:
        return None
    first, last = (keep[0], keep[-1]) if side == "left" else (keep[-1], keep[0])
    return start + first.start(), start + last.end()


def own_spans(text: str) -> list[tuple[int, int, str]]:
    """Identifiers our rules find, and every other occurrence of a name found."""
    found: list[tuple[int, int, str]] = []
    for rule in RULES:
        at = 0
        while (match := rule.pattern.search(text, at)) is not None:
            # A run of name words may swallow the next context ("Dr. Alan Whitaker  Dr.
            # Kim"): the search goes on from where the kept words end, not the match.
            at = match.end() if match.end() > match.start() else match.end() + 1
            groups = [(k, match.span(k)) for k, v in match.groupdict().items() if v]
            for kind, (start, end) in groups or [(rule.kind, match.span())]:
                span = _trimmed(text, start, end, rule.trim) if rule.trim else (start, end)
                if span is not None:
                    found.append((*span, kind))
                if rule.trim:
                    at = min(at, span[1] if span is not None else match.start() + 1)
            at = max(at, match.start() + 1)
    return found + _name_echoes(text, found)


def _name_echoes(text: str, found: Sequence[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """A name found once ("Dr. Alan Whitaker") is a name wherever else it stands ("Whitaker
    will call"), even where no context gives it away."""
    words = {
        word
        for start, end, kind in found
        if kind == "NAME"
        for word in re.findall(r"[A-Za-z][A-Za-z'-]*[A-Za-z]", text[start:end])
        if word.lower() not in STOPWORDS
    }
    if not words:
        return []
    pattern = re.compile(r"\b(?:" + "|".join(map(re.escape, sorted(words))) + r")\b")
    return [(m.start(), m.end(), "NAME") for m in pattern.finditer(text)]


# ---- presidio --------------------------------------------------------------------------------


@functools.cache
def _analyzer() -> Any:
    """Presidio's analyzer with pattern recognizers only; built once, on first use, because
    importing it imports spaCy (about 1.5 s)."""
    import tldextract
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine.no_op_nlp_engine import NoOpNlpEngine
    from presidio_analyzer.predefined_recognizers import (
        CreditCardRecognizer,
        DateRecognizer,
        EmailRecognizer,
        IpRecognizer,
        MedicalLicenseRecognizer,
        PhoneRecognizer,
        UrlRecognizer,
        UsMbiRecognizer,
        UsNpiRecognizer,
        UsSsnRecognizer,
    )

    # The stock e-mail check asks tldextract, which fetches the public suffix list over the
    # network on first use; its bundled snapshot answers the same question offline.
    offline_domains = tldextract.TLDExtract(cache_dir=None, suffix_list_urls=())

    class OfflineEmailRecognizer(EmailRecognizer):  # type: ignore[misc]
        def validate_result(self, pattern_text: str) -> bool:
            return bool(offline_domains(pattern_text).fqdn)

    engine = NoOpNlpEngine(models=[{"lang_code": "en", "model_name": "none"}])
    registry = RecognizerRegistry(supported_languages=["en"])
    for recognizer in (
        OfflineEmailRecognizer(),
        UrlRecognizer(),
        IpRecognizer(),
        PhoneRecognizer(),
        DateRecognizer(),
        UsSsnRecognizer(),
        UsMbiRecognizer(),
        CreditCardRecognizer(),
        MedicalLicenseRecognizer(),
        UsNpiRecognizer(),
    ):
        registry.add_recognizer(recognizer)
    return AnalyzerEngine(registry=registry, nlp_engine=engine, supported_languages=["en"])


def library_spans(text: str) -> list[tuple[int, int, str]]:
    """Identifiers presidio's pattern recognizers find, as our kinds."""
    found = []
    for result in _analyzer().analyze(text, language="en", score_threshold=MIN_SCORE):
        kind = PRESIDIO_KINDS.get(result.entity_type)
        if kind is None:
            continue
        start, end = result.start, result.end
        if kind == "URL":  # its pattern takes the sentence's closing punctuation along
            while end > start and text[end - 1] in ".,;:)]'\"":
                end -= 1
            if not _LIKELY_URL.match(text[start:end]):
                continue
        # libphonenumber's lenient matching takes "BP 168/94" for a short number; a phone
        # number has seven digits at least.
        if kind == "PHONE" and sum(c.isdigit() for c in text[start:end]) < MIN_PHONE_DIGITS:
            continue
        found.append((start, end, kind))
    return found


def find_identifiers(text: str) -> list[tuple[int, int, str]]:
    """Every identifier in `text` as (start, end, kind), merged, in order."""
    return merge([*library_spans(text), *own_spans(text)])


def deidentify(text: str) -> Scrubbed:
    """`text` with its identifiers replaced by typed placeholders. Deterministic."""
    return scrub(text, find_identifiers(text))
