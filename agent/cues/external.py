"""Chapter 20 external causes from the way a chart tells how the injury happened (I.C.20).

Each cue names the cause at the initial encounter (7th character A); `agent.rules.companions`
keeps an external cause only beside the injury it explains and gives it the injury's 7th
character. The most specific mechanism wins within one clause ("slipped on ice" over "fell").
Place, activity and status codes (Y92, Y93, Y99) are not read yet.
"""

from __future__ import annotations

import re

from agent.cues import Cue, any_of

_FELL = r"\b(?:fell|falls?|fallen|falling|slipped|slipping|tripped|tripping|stumbled|stepped)\b"
_CRASH = ("MVC", "MVA", "collision", "crash", "motor vehicle (?:collision|accident)",
          "rear-ended", "t-boned", "(?:struck|hit) (?:on the \\w+ side )?by (?:another|a|an "
          "oncoming) (?:car|vehicle|truck|SUV)")  # fmt: skip
_NEAR = r"[^.;\n]{0,30}?"
_FALL = "I.C.20.a"
_BITTEN = "bitten by (?:a |her |his |the )?(?:[\\w']+ ){0,2}"
# Another person run into in play: a fall after it is W03, the collision alone W51.
_COLLIDED = (
    r"\b(?:collided with|collision with|ran into|run into|bumped into)\s+"
    r"(?:another|an? (?:opposing|other)|the other|an?|the)\s+"
    r"(?:player|person|child|kid|student|teammate|opponent|defender|goalie)s?\b"
)
_WENT_DOWN = any_of("fell", "falling", "fall", "knocked down", "went down")


def _after_fall(*what: str) -> re.Pattern[str]:
    return re.compile(_FELL + _NEAR + any_of(*what), re.IGNORECASE)


# fmt: off
EXTERNAL_CAUSE_CUES: tuple[Cue, ...] = (
    Cue("fall from ladder", _after_fall("ladder", "step ?ladder"), "W11.XXXA", _FALL),
    Cue("fall on stairs", _after_fall("stairs", "steps", "staircase", "stairway"),
        "W10.9XXA", _FALL),
    Cue("fall on ice", _after_fall("ice", "icy", "snow"), "W00.0XXA", _FALL),
    Cue("fall from curb", _after_fall("curb", "kerb"), "W10.1XXA", _FALL),
    Cue("fall from bed", _after_fall("(?:out of|off|from) (?:the |her |his )?bed"),
        "W06.XXXA", _FALL),
    Cue("fall from chair", _after_fall("(?:out of|off|from) (?:a |the |her |his )?chair"),
        "W07.XXXA", _FALL),
    Cue("fall from roof", _after_fall("(?:off|from) (?:a |the )?roof"), "W13.9XXA", _FALL),
    Cue("slip or trip on same level",
        re.compile(any_of("slipped", "tripped", "stumbled") + r"(?!" + _NEAR
                   + any_of("ice", "icy", "snow", "stairs", "steps", "ladder", "curb") + ")",
                   re.IGNORECASE),
        "W01.0XXA", _FALL),
    Cue("fall on same level",
        re.compile(any_of("ground-level fall", "ground level fall", "mechanical fall",
                          "fall from standing", "fell from standing", "fell at ground level",
                          "fall on level ground"), re.IGNORECASE),
        "W18.30XA", _FALL),
    Cue("fall after a collision with another person",
        re.compile("(?:" + _COLLIDED + "|" + any_of("tackled") + ")" + _NEAR + _WENT_DOWN,
                   re.IGNORECASE),
        "W03.XXXA", _FALL, unless=re.compile(r"\b(?:no|not|without|denies)\s+(?:a\s+)?fall",
                                             re.IGNORECASE)),
    Cue("struck by another person in play",
        re.compile("(?:" + _COLLIDED + "|" + any_of("tackled") + ")(?!" + _NEAR + _WENT_DOWN
                   + ")", re.IGNORECASE),
        "W51.XXXA", _FALL),
    Cue("dog bite", re.compile(any_of("dog bite", _BITTEN + "dog", "dog bit"),
                                    re.IGNORECASE),
        "W54.0XXA", _FALL),
    Cue("cat bite", re.compile(any_of("cat bite", _BITTEN + "cat", "cat bit"),
                                    re.IGNORECASE),
        "W55.01XA", _FALL),
    Cue("car driver in collision",
        re.compile(any_of("driver") + _NEAR + any_of(*_CRASH) + "|" + any_of(*_CRASH) + _NEAR
                   + any_of("driver", "driving"), re.IGNORECASE),
        "V43.52XA", _FALL),
    Cue("car passenger in collision",
        re.compile(any_of("passenger") + _NEAR + any_of(*_CRASH) + "|" + any_of(*_CRASH)
                   + _NEAR + any_of("passenger"), re.IGNORECASE),
        "V43.62XA", _FALL),
    Cue("hot drink", re.compile(any_of("hot (?:coffee|tea|cocoa|chocolate)", "spilled (?:hot )?"
                                       "(?:coffee|tea)"), re.IGNORECASE),
        "X10.0XXA", _FALL),
    Cue("hot tap water", re.compile(any_of("hot tap water", "running hot water",
                                           "scalded by (?:hot )?(?:tap|bath|shower) water"),
                                    re.IGNORECASE),
        "X11.1XXA", _FALL),
    Cue("overexertion lifting",
        re.compile(any_of("lifting", "lifted", "heavy lifting", "while moving (?:a )?(?:couch|"
                          "furniture|boxes)") + _NEAR + any_of("heavy", "box", "boxes",
                          "furniture", "couch", "patient", "weights?"), re.IGNORECASE),
        "X50.0XXA", _FALL),
    Cue("kitchen knife", re.compile(any_of("(?:kitchen )?knife") + _NEAR
                                    + any_of("cut", "laceration", "slipped", "cutting"),
                                    re.IGNORECASE),
        "W26.0XXA", _FALL),
)
# fmt: on
