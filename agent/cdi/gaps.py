"""Documentation gaps: a proposed code the documentation leaves unspecific, beside clinical
indicators in the chart that a more specific diagnosis may explain.

Each kind of gap names the codes that show it (the unspecified code a coder would otherwise
assign), the indicators looked for (lab values, findings, treatments, quoted with their
offsets) and how many are needed before a query is worth a physician's time."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from agent.models import Span


@dataclass(frozen=True)
class GapKind:
    name: str
    codes: tuple[str, ...]  # a proposal starting with one of these shows the gap
    topic: str  # what the query asks about, in clinical words
    question: str  # neutral: no leading, no payment
    options: tuple[str, ...]  # clinically reasonable answers; "other" and "undetermined" added
    indicators: tuple[tuple[str, re.Pattern[str]], ...]  # (what it is, pattern)
    minimum: int = 1  # indicators needed before asking
    unless: tuple[str, ...] = ()  # a proposal starting with one of these closes the gap
    beside: tuple[str, ...] = ()  # the gap needs a proposal starting with one of these too
    code_pattern: re.Pattern[str] | None = None  # instead of `codes`, for a code's shape

    def shown_by(self, code: str) -> bool:
        if self.code_pattern is not None:
            return self.code_pattern.fullmatch(code) is not None
        return code.startswith(self.codes)


def _p(*alternatives: str) -> re.Pattern[str]:
    return re.compile("|".join(alternatives), re.IGNORECASE)


_EF = (
    "ejection fraction",
    _p(r"\b(?:LV)?EF\b[^.\n]{0,12}?\d{1,2}\s*%", r"ejection fraction[^.\n]{0,20}?\d{1,2}\s*%"),
)
_BNP = ("natriuretic peptide", _p(r"\b(?:NT-?pro)?BNP\b[^.\n]{0,12}?\d[\d,]*"))
_IV_DIURETIC = (
    "IV diuretic",
    _p(r"\b(?:IV|intravenous)\s+(?:furosemide|lasix|bumetanide|bumex|torsemide)\b"),
)
_EDEMA = (
    "edema or congestion",
    _p(
        r"\bpulmonary edema\b",
        r"(?:\b\d\+\s*)?\b(?:pitting |bilateral |leg )?edema\b",
        r"\borthopnea\b",
        r"\bJVD\b",
        r"\bjugular venous distension\b",
        r"\bcrackles\b",
    ),
)
_EGFR = ("eGFR", _p(r"\beGFR\b[^.\n]{0,12}?\d{1,3}"))
_CREATININE = ("creatinine", _p(r"\b(?:creatinine|Cr)\b[^.\n]{0,12}?\d+(?:\.\d+)?"))
_BMI = ("BMI", _p(r"\bBMI\b[^.\n]{0,6}?(?:3\d|[4-9]\d)(?:\.\d+)?"))
_SPO2 = (
    "oxygen saturation",
    _p(r"\b(?:SpO2|O2 sat(?:uration)?|saturation)\b[^.\n]{0,12}?\d{2}\s*%"),
)
_PAO2 = ("arterial blood gas", _p(r"\b(?:PaO2|pO2|PaCO2|pCO2)\b[^.\n]{0,6}?\d{2,3}"))
_OXYGEN = (
    "oxygen or ventilatory support",
    _p(
        r"\b\d+\s*L(?:/min)?\s+(?:by |via )?(?:NC|nasal cannula)\b",
        r"\bhigh[- ]flow\b",
        r"\bBiPAP\b",
        r"\bnon-?invasive ventilation\b",
        r"\bintubat\w+",
        r"\bmechanical ventilation\b",
    ),
)
_RR = ("respiratory rate", _p(r"\b(?:RR|respiratory rate)\b[^.\n]{0,8}?(?:2[4-9]|[3-5]\d)\b"))
_CULTURE = (
    "culture result",
    _p(
        r"\b(?:sputum|blood|BAL|bronchial)\s+cultures?\b[^.\n]{0,40}?"
        r"\b(?:grew|positive for|growing|isolated)\b[^.\n]{0,60}"
    ),
)
_ALBUMIN = ("albumin", _p(r"\b(?:albumin|prealbumin)\b[^.\n]{0,12}?\d+(?:\.\d+)?"))
_WEIGHT_LOSS = (
    "weight loss",
    _p(
        r"\b(?:lost|loss of)\s+\d+(?:\.\d+)?\s*(?:kg|lb|lbs|pounds|%)",
        r"\bweight loss\b[^.\n]{0,30}",
    ),
)
_INTAKE = (
    "poor intake",
    _p(
        r"\bpoor (?:oral )?intake\b",
        r"\bdecreased appetite\b",
        r"\bcache(?:xia|ctic)\b",
        r"\b(?:muscle|temporal) wasting\b",
    ),
)
_CONFUSION = (
    "altered mental status",
    _p(
        r"\bconfus\w+",
        r"\baltered mental status\b",
        r"\bAMS\b",
        r"\bdisoriented\b",
        r"\bobtunded\b",
        r"\blethargic\b",
    ),
)
_CAUSE = (
    "possible cause",
    _p(
        r"\bammonia\b",
        r"\bsep(?:sis|tic)\b",
        r"\buremi\w*",
        r"\bhyponatremi\w*",
        r"\bhypoglycemi\w*",
        r"\bopioid\b",
        r"\bintoxication\b",
        r"\boverdose\b",
        r"\burinary tract infection\b",
        r"\bUTI\b",
    ),
)
_HEMOGLOBIN = ("hemoglobin", _p(r"\b(?:hemoglobin|Hgb|Hb)\b[^.\n]{0,12}?\d{1,2}(?:\.\d)?"))
_TRANSFUSION = ("transfusion", _p(r"\btransfus\w+", r"\bPRBCs?\b", r"\bpacked red\b"))
_BLEEDING = (
    "blood loss",
    _p(r"\bblood loss\b", r"\bEBL\b", r"\bhemorrhag\w+", r"\bbleeding\b", r"\bmelena\b"),
)

_LACTATE = ("lactate", _p(r"\blactate\b[^.\n]{0,12}?(?:[2-9]|1\d)(?:\.\d+)?"))
_HYPOTENSION = (
    "hypotension or vasopressors",
    _p(
        r"\bhypotensi\w+",
        r"\bMAP\b[^.\n]{0,6}?[3-6]\d\b",
        r"\b(?:BP|blood pressure)\b[^.\n]{0,6}?(?:[4-8]\d)/\d{2,3}",
        r"\b(?:norepinephrine|levophed|vasopressin|phenylephrine|vasopressors?|pressors?)\b",
    ),
)
_PLATELETS = ("platelets", _p(r"\b(?:platelets?|plt)\b[^.\n]{0,12}?\d{1,2}(?:,000)?\b"))
_WOUND = (
    "wound description",
    _p(
        r"\b(?:full|partial)[- ]thickness\b",
        r"\b(?:slough|eschar|granulation|tunneling|undermining)\b",
        r"\b(?:bone|tendon|muscle) (?:exposed|visible)\b",
        r"\b\d+(?:\.\d+)?\s*(?:x|by)\s*\d+(?:\.\d+)?\s*cm\b",
        r"\bintact blister\b",
        r"\bnon-?blanchable\b",
    ),
)

_TYPE_1 = (
    "type 1 diabetes",
    _p(r"\btype (?:1|I|one)\b[^.\n]{0,12}?diabet\w*", r"\bT1DM\b", r"\bIDDM\b"),
)
_TYPE_2 = (
    "type 2 diabetes",
    _p(r"\btype (?:2|II|two)\b[^.\n]{0,12}?diabet\w*", r"\bT2DM\b", r"\bNIDDM\b"),
)
_SYSTOLIC = (
    "systolic heart failure",
    _p(r"\bHFrEF\b", r"\bsystolic (?:\(congestive\) )?(?:heart failure|dysfunction|CHF|HF)\b"),
)
_DIASTOLIC = (
    "diastolic heart failure",
    _p(
        r"\bHFpEF\b",
        r"(?<!systolic and )\bdiastolic (?:\(congestive\) )?(?:heart failure|CHF|HF)\b",
    ),
)

_GLYCEMIA = (
    "glycemic control",
    _p(
        r"\b(?:HbA1c|A1c|hemoglobin A1c)\b[^.\n]{0,10}?\d{1,2}(?:\.\d)?\s*%",
        r"\b(?:glucose|blood sugar|BG)\b[^.\n]{0,10}?\d{3}\b",
    ),
)
_DIABETIC_FOOT = (
    "diabetic foot findings",
    _p(r"\bdiabetic foot\b", r"\b(?:peripheral )?neuropath\w+", r"\bmonofilament\b"),
)

GAP_KINDS: tuple[GapKind, ...] = (
    GapKind(
        "heart_failure_type",
        ("I50.9",),
        "heart failure",
        "Based on the clinical indicators, can the type and acuity of the heart failure be "
        "further specified?",
        (
            "Acute systolic (HFrEF)",
            "Chronic systolic (HFrEF)",
            "Acute on chronic systolic",
            "Acute diastolic (HFpEF)",
            "Chronic diastolic (HFpEF)",
            "Acute on chronic diastolic",
            "Combined systolic and diastolic, with acuity",
        ),
        (_EF, _BNP, _IV_DIURETIC, _EDEMA),
    ),
    GapKind(
        "ckd_stage",
        ("N18.9",),
        "chronic kidney disease",
        "Based on the clinical indicators, can the stage of the chronic kidney disease be "
        "documented?",
        (
            "Stage 1",
            "Stage 2",
            "Stage 3a",
            "Stage 3b",
            "Stage 4",
            "Stage 5",
            "End-stage renal disease",
        ),
        (_EGFR, _CREATININE),
    ),
    GapKind(
        "obesity_class",
        ("E66.9",),
        "obesity",
        "The body mass index is documented; can the class or severity of the obesity be "
        "documented?",
        ("Obesity, class 1", "Obesity, class 2", "Obesity, class 3 / severe (morbid) obesity"),
        (_BMI,),
    ),
    GapKind(
        "respiratory_failure_type",
        ("J96.9", "J96.00", "J96.20", "J96.10"),
        "respiratory failure",
        "Based on the clinical indicators, can the acuity and type of the respiratory failure "
        "be further specified?",
        (
            "Acute hypoxic respiratory failure",
            "Acute hypercapnic respiratory failure",
            "Acute hypoxic and hypercapnic respiratory failure",
            "Chronic respiratory failure",
            "Acute on chronic respiratory failure",
        ),
        (_SPO2, _PAO2, _OXYGEN, _RR),
    ),
    GapKind(
        "pneumonia_organism",
        ("J18.",),
        "pneumonia",
        "A culture result is documented; can the organism responsible for the pneumonia be "
        "documented?",
        (
            "Pneumonia due to the organism cultured",
            "Culture reflects colonization; organism not responsible",
        ),
        (_CULTURE,),
    ),
    GapKind(
        "malnutrition_severity",
        ("E46", "E63.9"),
        "malnutrition",
        "Based on the clinical indicators, can the severity of the malnutrition be documented?",
        (
            "Mild protein-calorie malnutrition",
            "Moderate protein-calorie malnutrition",
            "Severe protein-calorie malnutrition",
        ),
        (_ALBUMIN, _WEIGHT_LOSS, _INTAKE),
    ),
    GapKind(
        "encephalopathy_type",
        ("G93.40", "R41.82", "R41.0"),
        "altered mental status",
        "Based on the clinical indicators, can the condition causing the altered mental "
        "status be further specified?",
        (
            "Metabolic encephalopathy",
            "Toxic encephalopathy",
            "Septic encephalopathy",
            "Delirium due to a known physiological condition",
            "Dementia with behavioral disturbance",
        ),
        (_CONFUSION, _CAUSE),
        minimum=2,
    ),
    GapKind(
        "sepsis_organ_dysfunction",
        ("A40.", "A41."),
        "sepsis",
        "Based on the clinical indicators, is there acute organ dysfunction associated with "
        "the sepsis?",
        (
            "Sepsis with acute organ dysfunction (severe sepsis); please name the organ "
            "dysfunction",
            "Septic shock",
            "Sepsis without acute organ dysfunction",
            "The indicators are due to another condition; please specify",
        ),
        (_LACTATE, _HYPOTENSION, _PLATELETS, _CREATININE, _CONFUSION),
        unless=("R65.2",),
    ),
    GapKind(
        "pressure_injury_stage",
        (),
        "pressure injury",
        "Based on the wound assessment, can the stage and site of the pressure injury be "
        "documented?",
        (
            "Stage 1",
            "Stage 2",
            "Stage 3",
            "Stage 4",
            "Unstageable",
            "Deep tissue pressure injury",
            "Not a pressure injury; please specify the wound type",
        ),
        (_WOUND,),
        code_pattern=re.compile(r"L89\.(?:\d\d9|9\d)"),
    ),
    GapKind(
        "diabetes_type_conflict",
        ("E10.", "E11."),
        "diabetes",
        "The record describes the diabetes as both type 1 and type 2; can the type be clarified?",
        (
            "Type 1 diabetes mellitus",
            "Type 2 diabetes mellitus",
            "Type 2 diabetes mellitus, on insulin",
            "Secondary diabetes; please specify the cause",
        ),
        (_TYPE_1, _TYPE_2),
        minimum=2,
    ),
    GapKind(
        "heart_failure_type_conflict",
        ("I50.2", "I50.3"),
        "heart failure",
        "The record describes the heart failure both as systolic and as diastolic; can the "
        "type be clarified?",
        (
            "Systolic (HFrEF)",
            "Diastolic (HFpEF)",
            "Combined systolic and diastolic",
            "Heart failure with mildly reduced or recovered ejection fraction",
        ),
        (_SYSTOLIC, _DIASTOLIC),
        minimum=2,
    ),
    GapKind(
        "diabetes_link",
        ("E08.9", "E09.9", "E10.9", "E11.9", "E13.9"),
        "diabetes and the skin infection",
        "Diabetes and a skin and soft tissue infection are both documented; can their "
        "relationship be clarified?",
        (
            "The infection is a complication of the diabetes",
            "The infection is not related to the diabetes",
        ),
        (_GLYCEMIA, _DIABETIC_FOOT),
        # Cellulitis and abscess are not among the conditions the index presumes linked to
        # diabetes ("Diabetes, with"): only the provider can link them (I.A.15).
        beside=("L03.", "L02.", "L08."),
    ),
    GapKind(
        "anemia_type",
        ("D64.9",),
        "anemia",
        "Based on the clinical indicators, can the type or cause of the anemia be documented?",
        (
            "Acute blood loss anemia",
            "Anemia of chronic disease",
            "Iron deficiency anemia",
            "Dilutional anemia",
        ),
        (_HEMOGLOBIN, _TRANSFUSION, _BLEEDING),
        minimum=2,
    ),
)


@dataclass(frozen=True)
class Indicator:
    what: str
    evidence: Span  # the chart's words, exactly


@dataclass(frozen=True)
class Gap:
    kind: GapKind
    code: str  # the unspecific proposal
    indicators: tuple[Indicator, ...]


LATERALITY = GapKind(
    "laterality",
    (),
    "laterality",
    "The documentation does not state, or states differently, which side is affected; can "
    "the laterality be documented?",
    ("Right", "Left", "Bilateral"),
    (),
)
# Body parts a code title leaves "unspecified" when the side is not documented.
_SIDED_PARTS = frozenset(
    {
        "knee",
        "hip",
        "ankle",
        "foot",
        "hand",
        "wrist",
        "elbow",
        "shoulder",
        "arm",
        "leg",
        "thigh",
        "eye",
        "ear",
        "tibia",
        "femur",
        "fibula",
        "humerus",
        "radius",
        "ulna",
        "patella",
        "clavicle",
        "scapula",
        "kidney",
        "lung",
        "breast",
        "ovary",
        "testis",
        "toe",
        "finger",
        "thumb",
        "heel",
        "forearm",
        "lower",
        "upper",
    }
)
_UNSPECIFIED_PART = re.compile(r"\bunspecified ([a-z]+)\b", re.IGNORECASE)


def find_gaps(
    text: str, codes: Iterable[str], titles: Mapping[str, str] | None = None
) -> list[Gap]:
    """The gaps the proposed `codes` show in a chart whose text holds enough indicators;
    with the codes' `titles`, also a side left unspecified that the chart does not settle."""
    proposed = list(dict.fromkeys(codes))
    found = []
    sided = (_laterality_gap(text, c, (titles or {}).get(c, "")) for c in proposed)
    # One laterality query per chart: it quotes every side in question.
    found += [gap for gap in sided if gap is not None][:1]
    for kind in GAP_KINDS:
        shown = next((c for c in proposed if kind.shown_by(c)), None)
        if shown is None or any(c.startswith(kind.unless) for c in proposed if kind.unless):
            continue
        if kind.beside and not any(c.startswith(kind.beside) for c in proposed):
            continue
        indicators = _indicators(text, kind.indicators)
        if len({i.what for i in indicators}) >= kind.minimum and indicators:
            found.append(Gap(kind, shown, tuple(indicators)))
    return found


def _indicators(text: str, patterns: Sequence[tuple[str, re.Pattern[str]]]) -> list[Indicator]:
    found: list[Indicator] = []
    for what, pattern in patterns:
        for match in pattern.finditer(text):
            quote = match.group().strip()
            start = match.start() + match.group().index(quote)
            span = Span(start=start, end=start + len(quote), quote=quote)
            found.append(Indicator(what, span))
            if sum(1 for i in found if i.what == what) >= 3:
                break
    return sorted(found, key=lambda i: i.evidence.start)


def _laterality_gap(text: str, code: str, title: str) -> Gap | None:
    """A title's "unspecified knee" is a gap when the chart names no side for the knee (its
    mentions are the indicators) or names two (the conflicting sides are); one side stated is
    a coding fix, not a query."""
    part = next(
        (m.group(1).lower() for m in _UNSPECIFIED_PART.finditer(title)
         if m.group(1).lower() in _SIDED_PARTS),
        None,
    )  # fmt: skip
    if part is None:
        return None
    sided = re.compile(
        rf"\b(right|left|bilateral|R|L)\b[^.\n]{{0,25}}?\b{part}s?\b"
        rf"|\b{part}s?\b[^.\n]{{0,10}}?\b(right|left)\b",
        re.IGNORECASE,
    )
    sides = [(m, (m.group(1) or m.group(2)).lower()[:1]) for m in sided.finditer(text)]
    if len({side for _, side in sides}) == 1:
        return None
    if sides:
        spans = [(m.start(), m.group()) for m, _ in sides]
        what = "side documented"
    else:
        plain = re.compile(rf"\b{part}s?\b", re.IGNORECASE)
        spans = [(m.start(), m.group()) for m in plain.finditer(text)]
        what = "no side documented"
    if not spans:
        return None
    indicators = tuple(
        Indicator(what, Span(start=start, end=start + len(quote), quote=quote))
        for start, quote in spans[:3]
    )
    return Gap(LATERALITY, code, indicators)
