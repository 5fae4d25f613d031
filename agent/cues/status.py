"""Chapter 21 (Z codes) and tobacco cues: long-term drugs (I.C.4.a.3, I.C.21.c.3), device
and procedure status, dialysis, oxygen, former and current tobacco use (I.C.5.b.1), BMI beside
the weight diagnosis (I.B.14), weeks of gestation (I.C.15.b), screening (I.C.21.c.5), general
and preoperative examinations, chemotherapy encounters (I.C.2.e), vaccination and drug
monitoring."""

from __future__ import annotations

import re

from agent.cues import Coder, Cue, any_of, clause_around
from agent.models import Chart


def _side(text: str) -> str:
    """The laterality character of a prosthesis code: 1 right, 2 left, 3 both, 9 unknown."""
    lowered = f" {text.lower()} "
    if re.search(r"\b(bilateral|both|b/l|bil)\b", lowered):
        return "3"
    right = re.search(r"\b(right|rt|r)\b", lowered)
    left = re.search(r"\b(left|lt|l)\b", lowered)
    if right and not left:
        return "1"
    if left and not right:
        return "2"
    return "3" if right and left else "9"


def _prosthesis(category: str) -> Coder:
    def code(match: re.Match[str], sentence: str, chart: Chart) -> str:
        return category + _side(match.group(0))

    return code


def _bmi(match: re.Match[str], sentence: str, chart: Chart) -> str | None:
    """Z68 by the adult value (the pediatric codes are percentiles, read from nothing here)."""
    if chart.meta.age is not None and chart.meta.age < 20:
        return None
    value = float(match.group("value"))
    if value < 10 or value > 120:
        return None
    if value < 20:
        return "Z68.1"
    if value < 40:
        return f"Z68.{int(value)}"
    for upper, code in ((45, "Z68.41"), (50, "Z68.42"), (60, "Z68.43"), (70, "Z68.44")):
        if value < upper:
            return code
    return "Z68.45"


_TBSA = (
    r"(?:%|percent)\s*(?:of\s+(?:the\s+)?)?"
    r"(?:TBSA|total body surface(?:\s+area)?|BSA|body surface(?:\s+area)?)"
)
_BURN_EXTENT = re.compile(r"(?P<value>\d{1,3}(?:\.\d+)?)\s*" + _TBSA, re.I)
_THIRD_DEGREE = re.compile(
    r"(?P<value>\d{1,3}(?:\.\d+)?)\s*(?:%|percent)\s*(?:TBSA\s+)?"
    r"(?:full[- ]thickness|third[- ]degree|3rd[- ]degree)",
    re.I,
)
_BURN = re.compile(r"\b(?:burn\w*|scald\w*|TBSA)\b", re.I)


def _burn_extent(match: re.Match[str], sentence: str, chart: Chart) -> str | None:
    """T31 by the extent of body surface burned: the largest percentage the chart gives (the
    total where it states one), with the tens of third-degree (full-thickness) burn where
    documented (I.C.19.d.6). "<10%" reads as under ten."""
    if not _BURN.search(chart.text):
        return None
    total = max(float(m.group("value")) for m in _BURN_EXTENT.finditer(chart.text))
    if total > 100:
        return None
    tens = min(int(total // 10), 9)
    if tens == 0:
        return "T31.0"
    third = max((float(m.group("value")) for m in _THIRD_DEGREE.finditer(chart.text)), default=0)
    return f"T31.{tens}{min(int(third // 10), tens)}"


_PREGNANT = re.compile(
    r"\b(pregnan\w*|gestation\w*|G\d+\s*P\d+|IUP|EGA|prenatal|antepartum|gravid\w*|OB)\b",
    re.IGNORECASE,
)


_DURATION = re.compile(r"(?:\bfor|\bx|\bin|\blast|\bpast|\bover|\bwithin)\s*$", re.I)
_AFTER = re.compile(
    r"^\s*(?:ago|postpartum|post-?partum|post|after|later|of (?:symptoms|pain))\b", re.I
)


def _weeks(match: re.Match[str], sentence: str, chart: Chart) -> str | None:
    """Weeks of gestation where the sentence is about the pregnancy, not a duration
    ("for 2 weeks", "3 weeks ago")."""
    if chart.meta.sex == "M" or not _PREGNANT.search(sentence):
        return None
    if _DURATION.search(sentence[: match.start()]) or _AFTER.match(sentence[match.end() :]):
        return None
    weeks = int(match.group("weeks"))
    if weeks < 8:
        return "Z3A.01"
    if weeks > 42:
        return "Z3A.49"
    return f"Z3A.{weeks:02d}"


_NOT_CURRENT = re.compile(
    any_of(
        "stopped",
        "discontinued",
        "dc'?d",
        "held",
        "holding",
        "hold",
        "off",
        "completed",
        "finished",
        "none since",
        "previously",
        "formerly",
        "prior",
        "started",
        "start",
        "starting",
        "initiated",
        "initiate",
        "begin",
        "began",
        "consider",
        "recommend",
        "recommended",
        "prescribed today",
        "new",
        "sliding scale",
        "allergy",
        "allergic",
        "intolerant",
        "intolerance",
        "instead of",
        "switched from",
        "stat",
        "once",
        "x1",
        "loading dose",
        "reversal",
        "prophylaxis",
        "prophylactic dose",
    ),
    re.IGNORECASE,
)
_SURGERY_NOW = re.compile(any_of("today", "underwent", "performed", "planned", "scheduled"), re.I)
_STATUS_POST = any_of("s/p", "status post", "h/o", "history of", "hx of", "prior", "previous",
                      "remote", "post")  # fmt: skip
# A clause that dates a procedure to before this stay.
_BEFORE_THIS_STAY = re.compile(
    _STATUS_POST + r"|\b(?:19|20)\d\d\b|\bago\b|\b(?:old|remote|previous|prior)\b", re.I
)


# A clause that says the procedure was not done (yet).
_NOT_DONE = re.compile(
    any_of("no", "not", "without", "declined", "deferred", "planned", "scheduled", "candidate",
           "consider", "considering", "recommended", "needs", "will"),
    re.I,
)  # fmt: skip


def _unless_done_this_stay(code: str | Coder, procedure: tuple[str, ...]) -> Coder:
    """A device or prosthesis put in during this stay is the stay's procedure, not a status
    (I.C.21.c.3): "s/p R TKA" in the discharge diagnoses of the admission for that TKA gives
    no Z96.651; one on the other side, or from before the stay, still does."""
    named = re.compile(any_of(*procedure), re.I)

    def coder(match: re.Match[str], sentence: str, chart: Chart) -> str | None:
        side = _side(match.group(0))
        if chart.meta.setting == "inpatient":
            for other in named.finditer(chart.text):
                clause = clause_around(chart.text, other.start(), other.end())
                section = next(
                    (s.section for s in chart.sentences if s.start <= other.start() < s.end), ""
                )
                if section == "history" or _BEFORE_THIS_STAY.search(clause):
                    continue
                if _NOT_DONE.search(clause):
                    continue
                if "9" in (side, _side(clause)) or side == _side(clause):
                    return None
        return code if isinstance(code, str) else code(match, sentence, chart)

    return coder


_SIDE_WORD = r"(?:\b(?:right|left|bilateral|rt|lt|r|l)\.?\s+)?"
_KNEE_REPLACEMENT = ("TKA", "TKR", "total knee", "knee replacement", "knee arthroplasty")
_HIP_REPLACEMENT = ("THA", "THR", "total hip", "hip replacement", "hip arthroplasty")


def _past_history_prosthesis(joint: str, category: str, names: tuple[str, ...]) -> Cue:
    return Cue(
        f"{joint} prosthesis (past history)",
        re.compile(_SIDE_WORD + any_of(*names), re.I),
        _prosthesis(category),
        "I.C.21.c.3",
        sections=("history",),
    )


_QUIT = re.compile(
    any_of("former", "ex", "quit", "quitting", "stopped", "remote", "never", "non", "nonsmoker"),
    re.I,
)
_PAST_TREATMENT = re.compile(
    any_of("completed", "finished", "prior", "previous", "previously", "last", "s/p", "history",
           "h/o", "received", "underwent", "status post", "ago"),
    re.I,
)  # fmt: skip


def _current_smoker(match: re.Match[str], sentence: str, chart: Chart) -> str | None:
    return None if _QUIT.search(clause_around(sentence, match.start(), match.end())) else "F17.210"


_ANY = r"[^.;\n]{0,40}?"

STATUS_CUES: tuple[Cue, ...] = (
    Cue(
        "insulin",
        re.compile(
            any_of(
                "insulin",
                "glargine",
                "lispro",
                "aspart",
                "detemir",
                "degludec",
                "lantus",
                "humalog",
                "novolog",
                "levemir",
                "tresiba",
                "basaglar",
                "toujeo",
                "humulin",
                "novolin",
            ),
            re.I,
        ),
        "Z79.4",
        "I.C.4.a.3",
        unless=_NOT_CURRENT,
    ),
    Cue(
        "oral hypoglycemic",
        re.compile(
            any_of(
                "metformin",
                "glipizide",
                "glyburide",
                "glimepiride",
                "sitagliptin",
                "saxagliptin",
                "linagliptin",
                "alogliptin",
                "pioglitazone",
                "empagliflozin",
                "dapagliflozin",
                "canagliflozin",
                "ertugliflozin",
                "januvia",
                "janumet",
                "jardiance",
                "farxiga",
                "invokana",
                "glucophage",
                "glucotrol",
                "actos",
                "tradjenta",
                "rybelsus",
                "oral hypoglycemics?",
                "oral antidiabetics?",
                "oral diabetic medications?",
            ),
            re.I,
        ),
        "Z79.84",
        "I.C.4.a.3",
        unless=_NOT_CURRENT,
    ),
    Cue(
        "injectable non-insulin antidiabetic",
        re.compile(
            any_of(
                "semaglutide",
                "liraglutide",
                "dulaglutide",
                "exenatide",
                "tirzepatide",
                "ozempic",
                "victoza",
                "trulicity",
                "mounjaro",
                "byetta",
                "bydureon",
                "GLP-1 agonist",
            ),
            re.I,
        ),
        "Z79.85",
        "I.C.4.a.3",
        unless=_NOT_CURRENT,
    ),
    Cue(
        "anticoagulant",
        re.compile(
            any_of(
                "warfarin",
                "coumadin",
                "apixaban",
                "eliquis",
                "rivaroxaban",
                "xarelto",
                "dabigatran",
                "pradaxa",
                "edoxaban",
                "savaysa",
                "anticoagulants?",
                "anticoagulated",
                "on anticoagulation",
            ),
            re.I,
        ),
        "Z79.01",
        "I.C.21.c.3",
        unless=_NOT_CURRENT,
    ),
    Cue(
        "antiplatelet",
        re.compile(
            any_of("clopidogrel", "plavix", "prasugrel", "effient", "ticagrelor", "brilinta"), re.I
        ),
        "Z79.02",
        "I.C.21.c.3",
        unless=_NOT_CURRENT,
    ),
    Cue(
        "aspirin",
        re.compile(any_of("aspirin", "ASA 81", "baby aspirin"), re.I),
        "Z79.82",
        "I.C.21.c.3",
        unless=_NOT_CURRENT,
    ),
    Cue(
        "aromatase inhibitor",
        re.compile(any_of("anastrozole", "letrozole", "exemestane", "arimidex", "femara"), re.I),
        "Z79.811",
        "I.C.21.c.3",
        unless=_NOT_CURRENT,
    ),
    Cue(
        "selective estrogen receptor modulator",
        re.compile(any_of("tamoxifen", "raloxifene"), re.I),
        "Z79.810",
        "I.C.21.c.3",
        unless=_NOT_CURRENT,
    ),
    Cue(
        "former smoker",
        re.compile(
            any_of(
                "former smoker",
                "ex-smoker",
                "ex smoker",
                "quit smoking",
                "stopped smoking",
                "former tobacco use",
                "remote tobacco use",
                "remote smoking history",
                "history of smoking",
                "h/o smoking",
                "quit tobacco",
                "prior smoker",
                "previous smoker",
                "former cigarette smoker",
            )
            + r"|\bquit\b"
            + _ANY
            + any_of("cigarettes?", "tobacco", "smoking"),
            re.I,
        ),
        "Z87.891",
        "I.C.21.c.4",
    ),
    Cue(
        "current smoker",
        re.compile(
            any_of(
                "current smoker",
                "active smoker",
                "daily smoker",
                "current every day smoker",
                "smokes",
                "smoking \\d+",
                "currently smokes",
                "current tobacco use",
                "cigarette smoker",
                "tobacco dependence",
                "nicotine dependence",
            )
            + r"|\b\d+(?:\.\d+)?\s*(?:ppd|packs?\s*(?:per|/|a)\s*day)\b"
            + r"|\bsmoker\b(?!\s*(?:since|until))",
            re.I,
        ),
        _current_smoker,
        "I.C.5.b.1",
    ),
    Cue(
        "coronary bypass status",
        re.compile(
            _STATUS_POST
            + _ANY
            + any_of(
                "CABG",
                "coronary artery bypass",
                "bypass grafting",
                "bypass graft",
                "aortocoronary bypass",
            )
            + r"|\bCABG\s*x\s*\d",
            re.I,
        ),
        _unless_done_this_stay("Z95.1", ("CABG", "coronary artery bypass", "bypass grafting")),
        "I.C.21.c.3",
        unless=_SURGERY_NOW,
    ),
    Cue(
        "coronary stent status",
        re.compile(
            _STATUS_POST
            + _ANY
            + any_of("PCI", "stents?", "DES", "BMS", "PTCA", "angioplasty", "stenting"),
            re.I,
        ),
        _unless_done_this_stay("Z95.5", ("PCI", "stents?", "stenting", "angioplasty", "PTCA")),
        "I.C.21.c.3",
        unless=_SURGERY_NOW,
    ),
    Cue(
        "pacemaker",
        re.compile(any_of("pacemaker", "PPM"), re.I),
        "Z95.0",
        "I.C.21.c.3",
        unless=re.compile(
            any_of(
                "implanted today",
                "placement today",
                "needs",
                "candidate",
                "evaluation for",
                "consider",
                "insertion",
            ),
            re.I,
        ),
    ),
    Cue(
        "knee prosthesis",
        re.compile(
            _STATUS_POST + _ANY + any_of(*_KNEE_REPLACEMENT),
            re.I,
        ),
        _unless_done_this_stay(_prosthesis("Z96.65"), _KNEE_REPLACEMENT),
        "I.C.21.c.3",
        unless=_SURGERY_NOW,
    ),
    Cue(
        "hip prosthesis",
        re.compile(
            _STATUS_POST + _ANY + any_of(*_HIP_REPLACEMENT),
            re.I,
        ),
        _unless_done_this_stay(_prosthesis("Z96.64"), _HIP_REPLACEMENT),
        "I.C.21.c.3",
        unless=_SURGERY_NOW,
    ),
    # A past history list names old operations without "s/p": "PMH: HTN, L TKA 2019".
    _past_history_prosthesis(
        "knee", "Z96.65", ("TKA", "TKR", "total knee arthroplasty", "total knee replacement")
    ),
    _past_history_prosthesis(
        "hip", "Z96.64", ("THA", "THR", "total hip arthroplasty", "total hip replacement")
    ),
    Cue(
        "renal dialysis",
        re.compile(
            any_of(
                "on hemodialysis",
                "on HD",
                "on dialysis",
                "on peritoneal dialysis",
                "on PD",
                "dialysis dependent",
                "dialysis-dependent",
                "HD-dependent",
                "ESRD on HD",
                "ESRD on dialysis",
                "hemodialysis MWF",
                "HD MWF",
                "HD TTS",
                "dialysis MWF",
                "dialysis TTS",
                "receives hemodialysis",
                "maintenance hemodialysis",
            ),
            re.I,
        ),
        "Z99.2",
        "I.C.21.c.3",
    ),
    Cue(
        "supplemental oxygen",
        re.compile(
            any_of(
                "home O2",
                "home oxygen",
                "supplemental oxygen at home",
                "oxygen dependent",
                "O2 dependent",
                "on \\d+ ?L(?:/min)? (?:of )?(?:O2|oxygen) at home",
                "chronic oxygen",
                "nocturnal oxygen",
            ),
            re.I,
        ),
        "Z99.81",
        "I.C.21.c.3",
    ),
    Cue(
        "body mass index",
        re.compile(r"\bBMI\b(?:\s*(?:of|is|was|:|=|-))?\s*(?P<value>\d{2,3}(?:\.\d+)?)", re.I),
        _bmi,
        "I.B.14",
    ),
    Cue("burn extent", _BURN_EXTENT, _burn_extent, "I.C.19.d.6"),
    Cue(
        "weeks of gestation",
        re.compile(r"\b(?P<weeks>\d{1,2})\s*(?:\+\s*\d\s*)?(?:w\d?d?|weeks?|wks?)\b", re.I),
        _weeks,
        "I.C.15.b.4",
    ),
    Cue(
        "screening colonoscopy",
        re.compile(
            any_of(
                "screening colonoscopy",
                "colonoscopy for screening",
                "colon cancer screening",
                "colorectal cancer screening",
                "screening for colon cancer",
            ),
            re.I,
        ),
        "Z12.11",
        "I.C.21.c.5",
    ),
    Cue(
        "screening mammogram",
        re.compile(
            any_of(
                "screening mammogram",
                "screening mammography",
                "mammogram for screening",
                "routine mammogram",
                "annual mammogram",
                "breast cancer screening",
            ),
            re.I,
        ),
        "Z12.31",
        "I.C.21.c.5",
    ),
    Cue(
        "screening prostate",
        re.compile(
            any_of(
                "PSA screening",
                "screening PSA",
                "prostate cancer screening",
                "screening for prostate cancer",
            ),
            re.I,
        ),
        "Z12.5",
        "I.C.21.c.5",
    ),
    Cue(
        "screening cervix",
        re.compile(any_of("screening pap", "pap smear", "cervical cancer screening"), re.I),
        "Z12.4",
        "I.C.21.c.5",
    ),
    Cue(
        "screening lung",
        re.compile(
            any_of(
                "lung cancer screening",
                "screening low-dose CT",
                "screening LDCT",
                "low-dose CT for lung cancer screening",
            ),
            re.I,
        ),
        "Z12.2",
        "I.C.21.c.5",
    ),
    Cue(
        "general medical examination",
        re.compile(
            any_of(
                "annual physical",
                "annual exam",
                "annual examination",
                "annual wellness",
                "wellness visit",
                "wellness exam",
                "routine physical",
                "routine exam",
                "routine examination",
                "complete physical",
                "preventive visit",
                "preventive exam",
                "health maintenance exam",
                "yearly physical",
                "well adult",
                "well visit",
                "periodic health exam",
                "physical exam visit",
            ),
            re.I,
        ),
        lambda m, s, c: "Z00.129" if c.meta.age is not None and c.meta.age < 18 else "Z00.00",
        "I.C.21.c.13",
        settings=("outpatient",),
    ),
    Cue(
        "follow-up after completed cancer treatment",
        re.compile(
            r"\b(?:follow-?up|surveillance)\b[^.;\n]{0,60}?\bafter\b[^.;\n]{0,30}?"
            r"\b(?:completed|finished|completion of)\b[^.;\n]{0,30}?\btreatment\b"
            r"[^.;\n]{0,20}?\b(?:cancer|carcinoma|malignan\w*|neoplasm|lymphoma|sarcoma|tumou?r)",
            re.I,
        ),
        "Z08",
        "I.C.21.c.8",
        settings=("outpatient",),
    ),
    Cue(
        "preoperative examination",
        re.compile(
            any_of(
                "pre-?op(?:erative)? (?:evaluation|clearance|exam|examination|assessment|visit)",
                "surgical clearance",
                "medical clearance for surgery",
                "pre-?procedur(?:e|al) (?:evaluation|clearance|exam)",
                "clearance for (?:surgery|\\w+ surgery)",
            ),
            re.I,
        ),
        lambda m, s, c: "Z01.810" if re.search(r"\bcardi", m.group(0), re.I) else "Z01.818",
        "IV.M",
        settings=("outpatient",),
    ),
    Cue(
        "chemotherapy encounter",
        re.compile(
            any_of(
                "here for",
                "presents for",
                "admitted for",
                "admission for",
                "encounter for",
                "scheduled for",
                "visit for",
                "returns for",
                "comes in for",
                "receiving",
            )
            + _ANY
            + any_of("chemotherapy", "chemo", "cycle \\d+")
            + r"|\bC\d+D\d+\b|\bcycle \d+ (?:day \d+ )?of\b",
            re.I,
        ),
        "Z51.11",
        "I.C.2.e.2",
        unless=_PAST_TREATMENT,
    ),
    Cue(
        "vaccination",
        re.compile(
            any_of(
                "vaccine",
                "vaccination",
                "immunization",
                "flu shot",
                "tdap",
                "pneumovax",
                "prevnar",
                "shingrix",
                "booster",
            )
            + _ANY
            + any_of("given", "administered", "received today", "today", "updated")
            + r"|"
            + any_of("administered", "gave", "given")
            + _ANY
            + any_of("vaccine", "vaccination", "flu shot", "tdap", "immunization"),
            re.I,
        ),
        "Z23",
        "I.C.21.c.2",
        settings=("outpatient",),
    ),
    Cue(
        "drug level monitoring",
        re.compile(
            any_of(
                "INR check",
                "INR monitoring",
                "anticoagulation clinic",
                "coumadin clinic",
                "warfarin clinic",
                "INR follow-up",
                "INR recheck",
                "therapeutic drug monitoring",
                "drug level monitoring",
            ),
            re.I,
        ),
        "Z51.81",
        "I.C.21.c.8",
        settings=("outpatient",),
    ),
)
