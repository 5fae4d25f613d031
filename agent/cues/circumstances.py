"""Where an injury happened, what the patient was doing and in which status (Y92 place of
occurrence, Y93 activity, Y99 external cause status; I.C.20.b, c, k).

The sentence that tells how the injury happened ("slipped on the kitchen floor at home while
walking to the refrigerator") is read against the External Cause Index main terms "Place of
occurrence" and "Activity", as a coder looks them up: the index line whose last subterm the
sentence names in full, its parent subterms counting for what the sentence says of them and
against what it does not ("residence > kitchen" over "residence > mobile home > kitchen"). The
status is what the sentence says: at work, military, volunteer; otherwise, when the sentence
names what the patient was doing, the patient's own leisure or daily life (Y99.8). A place
alone does not tell the status (a home can be a home health aide's workplace), so it gives no
Y99 code (I.C.20.k: no status code where the status is not stated). Nothing is read
where the chart is silent: Y92.9, Y93.9 and Y99.9 are never proposed. `agent.rules.companions`
keeps these codes beside an injury at its initial encounter only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent.cues import Cue
from agent.cues.external import EXTERNAL_CAUSE_CUES
from retrieval.lexical import tokenize
from retrieval.records import IndexEntry
from retrieval.store import KnowledgeStore

GUIDELINE = "I.C.20.b"
# The code a circumstances cue stands for: resolved against the index by `circumstances`.
CIRCUMSTANCES = "external-cause-index:circumstances"

_EVENT = (
    r"\b(?:fell|falls?|fallen|falling|slipped|tripped|stumbled|struck|bitten|tackled|"
    r"collided|collision|crash(?:ed)?|MVC|MVA|rear-ended|twisted|injured|lacerated|burned|"
    r"burnt|scalded|landed|kicked|punched|assaulted|crushed|jammed|caught|spilled|pulled)\b"
)
# A sentence that names an external cause ("hot coffee", "lifting boxes") tells the story too.
_STORY = "|".join([_EVENT, *(cue.pattern.pattern for cue in EXTERNAL_CAUSE_CUES)])
CIRCUMSTANCES_CUE = Cue(
    "circumstances of the injury",
    # The whole line that tells the story; tried at line starts only (a leading [^\n]* would
    # try every position of the sentence against every story pattern).
    re.compile(r"^(?=[^\n]*?(?:" + _STORY + r"))[^\n]+", re.IGNORECASE | re.MULTILINE),
    CIRCUMSTANCES,
    GUIDELINE,
)

# How the chart came to be written, not where the injury happened ("brought to the ED by
# ambulance", "driving home").
_NOT_THE_PLACE = re.compile(
    r"\b(?:presented|presents|brought|came|arrived|transported|taken|sent|admitted|transferred|"
    r"seen|evaluated)\b[^,;.]*|\b(?:driving|walking|going|heading|returning|on (?:his|her|the) "
    r"way) home\b|\b(?:hospital|ambulance|ED|ER|emergency department|clinic|office)\b"
    # A vehicle in a chart's injury sentence is what struck or carried the patient; the
    # place of a traffic accident is the road.
    r"|\b(?:car|vehicle|truck|bus|van|SUV|sedan|motorcycle|pickup)\b",
    re.IGNORECASE,
)
_ACTIVITY_PHRASE = re.compile(
    r"\b(?:while|during|playing|practicing|doing|(?:was|were) (?=\w+ing\b))\b([^,;.]*)"
    r"|([\w-]+)\s+(?:player|game|practice|match|tournament|class|lesson)\b",
    re.IGNORECASE,
)
# What the patient was doing, when the index has no line for it ("while cooking dinner").
_DOING = re.compile(r"\b\w{3,}ing\b", re.IGNORECASE)
_WORK = re.compile(
    r"\b(?:at work|on the job|while working|work(?:place|site)|employer|employed|(?:his|her|their)"
    r" job|occupational|co-?workers?|for pay|workers'? comp(?:ensation)?)\b",
    re.IGNORECASE,
)
_MILITARY = re.compile(r"\b(?:military|deployed|active[- ]duty|combat)\b", re.IGNORECASE)
_VOLUNTEER = re.compile(r"\bvolunteer(?:ing|ed)?\b", re.IGNORECASE)

# The chart's everyday words for the index's subterms.
_SAME_AS = {
    "home": ("residence",),
    "house": ("house", "residence"),
    "backyard": ("yard",),
    "frontyard": ("yard",),
    "interstate": ("interstate", "highway"),
    "freeway": ("freeway", "highway"),
    "jogging": ("running",),
    "jogged": ("running",),
    "jog": ("running",),
    "ran": ("running",),
    "biking": ("bike", "riding"),
    "cycling": ("bike", "riding"),
    "bicycling": ("bike", "riding"),
    "dog": ("animal",),
}
_CONNECTING = frozenset({"and", "or", "of", "the", "a", "an", "as", "in", "on", "at", "to"})
_HOME_OF_OTHERS = re.compile(r"\b(?:nursing|mobile|group|children's|foster|funeral) home\b", re.I)


@dataclass(frozen=True)
class Circumstance:
    code: str
    what: str  # "place of occurrence", "activity", "external cause status"
    entry: IndexEntry | None  # the index line it was read from (None for the status rules)


def _words(text: str) -> set[str]:
    words: set[str] = set()
    for word in tokenize(text):
        words.update(_SAME_AS.get(word, (word,)))
    if _HOME_OF_OTHERS.search(text):
        words.add("home")  # "nursing home" names the institution, not the residence
    return words


def _level_words(level: str) -> list[set[str]]:
    # "house, single family" and "yard, private": either part names the subterm.
    return [
        {w for w in tokenize(part) if w not in _CONNECTING}
        for part in level.split(",")
        if part.strip()
    ]


def best_entry(entries: list[IndexEntry], words: set[str]) -> IndexEntry | None:
    """The coded index line whose last subterm `words` name in full, its parent subterms
    scored by what `words` say of them (+1 a word) and do not (-0.5 a word); the deeper
    line wins a tie, and a line whose parents the words contradict more than the last
    subterm supports it ("sports area > athletic > court > basketball" for "playing
    basketball") is no place at all."""
    best: tuple[float, int, IndexEntry] | None = None  # a line scored 0 or less says nothing
    for entry in entries:
        levels = entry.path[1:]
        if not entry.code or not levels or "NEC" in levels[-1]:
            continue
        leaf = [part for part in _level_words(levels[-1]) if part]
        if not any(part <= words for part in leaf):
            continue
        score = float(max(len(part) for part in leaf if part <= words))
        for level in levels[:-1]:
            parts = [part for part in _level_words(level) if part]
            if not parts:
                continue
            said = max(parts, key=lambda part: len(part & words))
            score += len(said & words) - 0.5 * len(said - words)
        key = (score, len(levels))
        if score > 0 and (best is None or key > (best[0], best[1])):
            best = (score, len(levels), entry)
    return best[2] if best else None


# Parts of a home the index does not list under a residence: the place is then the
# residence's "specified NEC" line ("fell down the stairs at her house": Y92.018), not its
# unspecified one (Y92.019).
_UNLISTED_PART_OF_HOME = re.compile(
    r"\b(?:stairs|stair(?:case|way|well)|steps|living room|family room|hall(?:way)?|basement|"
    r"attic|porch|deck|patio|balcony|laundry room|den|closet|foyer|entryway|doorway)\b",
    re.IGNORECASE,
)


def _named_part(
    entries: list[IndexEntry], place: IndexEntry | None, sentence: str
) -> IndexEntry | None:
    """The residence's "specified NEC" line when the sentence names a part of it the index
    has no line for; else `place` as found."""
    if place is None or place.path[1:2] != ("residence",) or len(place.path) != 3:
        return place
    if not _UNLISTED_PART_OF_HOME.search(sentence):
        return place
    specified = (*place.path, "specified NEC")
    return next((e for e in entries if e.path == specified and e.code), place)


def circumstances(store: KnowledgeStore, sentence: str) -> list[Circumstance]:
    """The place, activity and status codes the sentence of an injury documents."""
    found: list[Circumstance] = []
    place_words = _words(_NOT_THE_PLACE.sub(" ", sentence))
    entries = store.subtree("Place of occurrence", "eindex")
    place = _named_part(entries, best_entry(entries, place_words), sentence)
    if place is not None and place.code:
        found.append(Circumstance(place.code, "place of occurrence", place))
    phrases = " ".join(m.group(1) or m.group(2) or "" for m in _ACTIVITY_PHRASE.finditer(sentence))
    activity = best_entry(store.subtree("Activity", "eindex"), _words(phrases)) if phrases else None
    if activity is not None and activity.code:
        found.append(Circumstance(activity.code, "activity", activity))
    doing = bool(found and found[-1].what == "activity") or bool(_DOING.search(phrases))
    status = _status(sentence, doing)
    if status is not None:
        found.append(Circumstance(status, "external cause status", None))
    return found


def _status(sentence: str, activity_stated: bool) -> str | None:
    if _WORK.search(sentence):
        return "Y99.0"  # civilian activity done for income or pay
    if _MILITARY.search(sentence):
        return "Y99.1"
    if _VOLUNTEER.search(sentence):
        return "Y99.2"
    # Leisure, hobby, daily life at home: "other external cause status".
    return "Y99.8" if activity_stated else None
