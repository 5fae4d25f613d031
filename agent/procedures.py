"""ICD-10-PCS codes built the way a coder builds them: root operation, body part, approach,
device and qualifier, each from what the procedure statement documents.

The PCS Index names a table from the procedure's name ("Appendectomy" -> 0DT); charts and
coders also write what was done in plain words ("appendix removed through a scope", "tubes
tied", "EGD w/ gastric bx"). A coder reads the objective of the procedure as the root
operation (taken out whole: Resection; a part or a biopsy: Excision, diagnostic; put in:
Insertion; tied: Occlusion ...; PCS guidelines B3), the organ as the body part, the way in as
the approach, and adds a device or qualifier only when documented. The code titles hold the
same axes in words ("Resection of Appendix, Percutaneous Endoscopic Approach"), so a
statement is matched against the titles of its root operation, axis by axis:

    build_codes(store, "appendix removed through a scope")  # [(0DTJ4ZZ record, score), ...]
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from agent.specificity import SIDES, stems
from retrieval.records import CodeRecord
from retrieval.store import KnowledgeStore

# (what the statement says, root operation as the titles begin, words it documents itself).
# Checked in this order: the objective that is most specific wins ("colonoscopy with
# polypectomy" is an Excision, not an Inspection; "stent placed" is a Dilation).
_ROOT_OPERATIONS: tuple[tuple[re.Pattern[str], str, tuple[str, ...]], ...] = tuple(
    (re.compile(pattern), operation, implied)
    for pattern, operation, implied in (
        (r"\b(?:biops\w*|bx)\b", "Excision", ("diagnostic",)),
        (r"\b(?:polypectom\w*|excis\w*|sleeve gastrectom\w*|partial \w*ectom\w*)", "Excision", ()),
        (
            r"\b(?:replac\w*|arthroplast\w*|lens implant\w*|intraocular lens|iol)\b",
            "Replacement",
            ("synthetic", "substitute"),
        ),
        (r"\b(?:bypass\w*|cabg)\b", "Bypass", ()),
        # Donor blood unless the chart says the patient's own.
        (r"\btransfus\w*", "Transfusion", ("nonautologous",)),
        (r"\b(?:stent\w*|angioplast\w*|dilat\w*|pci|ptca)\b", "Dilation", ()),
        (r"\b(?:tied|ligat\w*|clipp\w*|occlu\w*|tubal|band(?:s|ed|ing)?)\b", "Occlusion", ()),
        # A tube left in to drain is a Drainage with its device (B6.1a), not an Insertion.
        (
            r"\b(?:chest tube|pigtail|thoracostomy tube|tube thoracostomy)",
            "Drainage",
            ("drainage", "device"),
        ),
        (r"\b(?:intubat\w*|insert\w*|put in|placed|placement)\b", "Insertion", ()),
        # Before Resection: "thoracentesis, 1.4 L removed" takes out fluid, not an organ.
        (r"\b(?:drain\w*|tap|\w+centesis|puncture)\b", "Drainage", ()),
        (r"\b(?:remov\w*|taken out|took out|\w+ectom\w*|resect\w*)", "Resection", ()),
        (r"\b(?:repair\w*|\w+orrhaph\w*)", "Repair", ()),
        (r"\b(?:ablat\w*|destr\w*|cauteri\w*)", "Destruction", ()),
        (
            r"\b(?:ct|cat scan|computed tomograph\w*|computeri[sz]ed tomograph\w*)\b",
            "Computerized Tomography (CT Scan)",
            (),
        ),
        (r"\b(?:mri|magnetic resonance)\b", "Magnetic Resonance Imaging (MRI)", ()),
        (r"\b(?:x-?rays?|radiograph\w*)\b", "Plain Radiography", ()),
        (r"\b(?:\w+oscop\w*|egd|inspect\w*|looking only|look only)\b", "Inspection", ()),
    )
)
# Lay verbs that make a procedure statement of an organ named before them ("tonsils taken
# out"); the nouns (removal, replacement, biopsy) are PCS Index terms the lexicon finds.
LAY_VERBS = re.compile(
    r"\b(?:removed|taken out|took out|put in|tied|replaced|biopsied|excised|inserted|"
    r"placed)\b",
    re.IGNORECASE,
)
# The way in, most specific first (B5.2): a scope through the skin (laparoscopy) is not one
# through a natural opening (EGD, colonoscopy); a tube through the mouth or urethra goes in
# through a natural opening.
_APPROACHES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), approach)
    for pattern, approach in (
        # A laparoscopy converted to open is coded as the open procedure (B3.2d).
        (r"\bconver\w* to (?:an? )?open\b", "Open"),
        (
            r"\b(?:laparoscop\w*|thoracoscop\w*|arthroscop\w*|mediastinoscop\w*|lap|"
            r"percutaneous endoscopic)\b",
            "Percutaneous Endoscopic",
        ),
        (
            r"\b(?:egd|\w+oscop(?:y|ies|ic)|endoscop\w*|natural or artificial opening endoscopic)",
            "Via Natural or Artificial Opening Endoscopic",
        ),
        (r"\bscope\b", "Percutaneous Endoscopic"),
        (
            r"\b(?:intubat\w*|endotracheal|breathing tube|nasogastric|ng tube|foley|"
            r"urinary catheter)",
            "Via Natural or Artificial Opening",
        ),
        (r"\b(?:open|incision)\b", "Open"),
        (
            r"\b(?:percutaneous\w*|through the skin|needle|phaco\w*|puncture|tap|\w+centesis)\b",
            "Percutaneous",
        ),
        (r"\b(?:external\w*|transoral)\b", "External"),
    )
)
# The organ a surgical or scope word names ("gastrectomy": stomach, "cystoscopy": bladder).
_ORGANS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(rf"\b{prefix}(?:ectom|oscop|otom|ostom|centes)\w*"), organ)
    for prefix, organ in (
        ("esophagogastroduoden", "upper intestinal tract"),
        ("thora", "pleural cavity"),
        ("para", "peritoneal cavity"),
        ("gastr", "stomach"),
        ("append", "appendix"),
        ("appendic", "appendix"),
        ("cholecyst", "gallbladder"),
        ("nephr", "kidney"),
        ("splen", "spleen"),
        ("hyster", "uterus"),
        ("thyroid", "thyroid gland"),
        ("parathyroid", "parathyroid gland"),
        ("adrenal", "adrenal gland"),
        ("mast", "breast"),
        ("prostat", "prostate"),
        ("tonsill", "tonsils"),
        ("adenoid", "adenoids"),
        ("oophor", "ovary"),
        ("salping", "fallopian tube"),
        ("pneumon", "lung"),
        ("cyst", "bladder"),
        ("orchi", "testis"),
        ("pancreat", "pancreas"),
        ("hepat", "liver"),
        ("esophag", "esophagus"),
        ("col", "large intestine"),
        ("bronch", "tracheobronchial tree"),
        ("laryng", "larynx"),
        ("trache", "trachea"),
        ("ureter", "ureter"),
        ("urethr", "urethra"),
    )
)
_TITLE_APPROACHES = (
    "Via Natural or Artificial Opening Endoscopic",
    "Via Natural or Artificial Opening",
    "Percutaneous Endoscopic",
    "Percutaneous",
    "Open",
    "External",
)
# Chart words -> the title words they document (stems on both sides).
_EQUIVALENT: dict[str, tuple[str, ...]] = {
    "gastric": ("stomach",),
    # The PCS body part key: the antrum is coded to the pylorus; varices are veins.
    "antrum": ("pylorus", "stomach"),
    "antral": ("pylorus", "stomach"),
    "varic": ("vein",),
    "band": ("extralumin", "devic"),
    "sigmoid": ("sigmoid", "colon"),
    "endotrach": ("trachea", "endotrach", "airway", "intralumin", "devic"),
    "breath": ("endotrach", "airway", "trachea", "intralumin", "devic"),
    "womb": ("uterus",),
    "windpip": ("trachea",),
    "tubal": ("fallopian", "tube"),
    "cataract": ("len",),
    "implant": ("synthet", "substitut"),
    "prosthesi": ("synthet", "substitut"),
    "lens": ("len",),
    "stent": ("intralumin", "devic"),
    "coat": ("elut",),
    "head": ("brain",),
    "arm": ("peripher",),
    "hand": ("peripher",),
    "red": ("blood", "cell"),
    "feed": ("feed", "devic"),
    "sleev": ("vertic",),
    "egd": ("upper", "intestin", "tract"),
    "colonoscopi": ("lower", "intestin", "tract"),
    "x1": ("one",),
    "singl": ("one",),
    "x2": ("two",),
    "doubl": ("two",),
    "x3": ("three",),
    "tripl": ("three",),
    "x4": ("four",),
    "quadrupl": ("four",),
}
# Words that name the body part only under one root operation ("tubes tied": the fallopian
# tubes; "lumbar puncture": the spinal canal).
_OPERATION_EQUIVALENT: dict[str, dict[str, tuple[str, ...]]] = {
    "Occlusion": {"tube": ("fallopian",), "tubal": ("fallopian", "tube")},
    "Drainage": {
        "lumbar": ("spinal", "canal"),
        "spinal": ("canal",),
        "pleural": ("caviti",),
        "chest": ("pleural", "caviti"),
        "periton": ("caviti",),
    },
    "Insertion": {"gastrostomi": ("feed", "devic"), "peg": ("feed", "devic", "stomach")},
}
# Title words no statement needs to say ("Right Knee Joint" is documented by "right knee").
_GENERIC = frozenset({"of", "with", "into", "and", "or", "joint", "approach", "from", "to", "in"})
# Title wording of a body part: after the root operation's "of" (or "into" for a device put
# in) up to the device, the contrast or the approach.
_TITLE = re.compile(
    r"^(?P<operation>.+?)(?: of| into) (?P<body>.+?)(?P<device> with [^,]+| using [^,]+)?"
    r"(?:, (?P<rest>.*))?$"
)


@dataclass(frozen=True)
class _Axes:
    record: CodeRecord
    body: frozenset[str]
    side: str | None
    device: frozenset[str]
    approach: str | None
    rest: frozenset[str]


def root_operation(statement: str) -> tuple[str, tuple[str, ...]] | None:
    """The root operation the statement documents, and the words it implies."""
    lowered = statement.lower()
    for pattern, operation, implied in _ROOT_OPERATIONS:
        if pattern.search(lowered):
            if operation == "Resection" and "partial" in lowered:
                return "Excision", implied
            return operation, implied
    return None


def documented_approach(statement: str) -> str | None:
    lowered = statement.lower()
    return next((a for pattern, a in _APPROACHES if pattern.search(lowered)), None)


def build_codes(
    store: KnowledgeStore, statement: str, sentence: str = "", limit: int = 3
) -> list[tuple[CodeRecord, float]]:
    """The billable PCS codes the statement documents best, with a score in (0, 1]: every
    word of the body part documented (and its side, when the statement names one), the
    documented approach (the statement's, else its sentence's), devices and qualifiers only
    when documented."""
    found = root_operation(statement)
    if found is None:
        return []
    operation, implied = found
    if operation == "Inspection" and sentence:
        # The scope that took the biopsy is not coded on its own (B3.11a).
        in_sentence = root_operation(sentence)
        if in_sentence is not None and in_sentence[0] != "Inspection":
            return []
    words = _documented(statement, implied, operation)
    side = _side(words)
    plural = set(re.findall(r"[a-z]+s\b", statement.lower()))
    approach = documented_approach(statement) or documented_approach(sentence)
    scored: list[tuple[float, CodeRecord]] = []
    for axes in _documented_titles(store, operation, words):
        score = 1.0
        if axes.side is not None and side is not None and axes.side != side:
            continue
        if axes.side is not None and side is None:
            # No side documented: "tubes", "ovaries" in the plural are both sides.
            both = axes.side == "bilateral" and any(
                p.startswith(w) for p in plural for w in axes.body
            )
            score -= 0.05 if both else 0.1
        if approach is not None and axes.approach not in (None, approach):
            continue
        if approach is None and axes.approach not in (None, _default_approach(axes.record)):
            score -= 0.05
        # A device or qualifier is coded only as documented (Z: none).
        missing = len(axes.device - words) + len(axes.rest - words)
        score += 0.02 * len(axes.device & words) + 0.02 * len(axes.rest & words) - 0.1 * missing
        # Of two fully documented body parts the longer says more ("Endotracheal Airway").
        score += 0.01 * len(axes.body)
        scored.append((score, axes.record))
    scored.sort(key=lambda item: (-item[0], item[1].code))
    # Scores stay in (0, 1] and keep their order.
    return [
        (record, max(min(score, 1.0) - 0.01 * rank, 0.05))
        for rank, (score, record) in enumerate(scored[:limit])
    ]


_CONVERTED = re.compile(r"\bconver\w* to (?:an? )?open\b", re.IGNORECASE)


def converted_inspection(store: KnowledgeStore, statement: str) -> CodeRecord | None:
    """A laparoscopy converted to open is coded as the open procedure plus a laparoscopic
    Inspection of the same body part (B3.2d): that Inspection, when the statement says so."""
    found = root_operation(statement)
    if found is None or not _CONVERTED.search(statement):
        return None
    words = _documented(statement, (), found[0])
    inspections = [
        axes
        for axes in _documented_titles(store, "Inspection", words)
        if axes.approach == "Percutaneous Endoscopic" and not axes.device and not axes.rest
    ]
    best = max(inspections, key=lambda axes: (len(axes.body), axes.record.code), default=None)
    return best.record if best else None


def _documented(statement: str, implied: tuple[str, ...], operation: str) -> frozenset[str]:
    lowered = statement.lower()
    organs = [organ for pattern, organ in _ORGANS if pattern.search(lowered)]
    words = set(stems(" ".join([statement, *implied, *organs])))
    extra = _OPERATION_EQUIVALENT.get(operation, {})
    for word in list(words):
        words.update(_EQUIVALENT.get(word, ()))
        words.update(extra.get(word, ()))
    return frozenset(words)


def _side(words: frozenset[str]) -> str | None:
    sides = {SIDES[w] for w in words if w in SIDES}
    return "bilateral" if len(sides) > 1 else next(iter(sides), None)


def _default_approach(record: CodeRecord) -> str:
    # Tonsils, adenoids and the mouth are reached through the mouth: External (Coding
    # Clinic Q4 2014); elsewhere an undocumented approach is read as Open first.
    return "External" if record.code[:2] == "0C" else "Open"


@functools.lru_cache(maxsize=64)
def _titles(store: KnowledgeStore, operation: str) -> dict[str, tuple[_Axes, ...]]:
    """The titles of a root operation by each word of their body part. Keyed by the store,
    which is one fiscal year's code set and lives as long as the app."""
    by_word: dict[str, list[_Axes]] = {}
    for record in store.pcs_titles(operation):
        axes = _axes(record)
        for word in axes.body:
            by_word.setdefault(word, []).append(axes)
    return {word: tuple(found) for word, found in by_word.items()}


def _documented_titles(store: KnowledgeStore, operation: str, words: frozenset[str]) -> list[_Axes]:
    """The titles whose every body part word is documented (a scan of those sharing one)."""
    by_word = _titles(store, operation)
    seen: dict[str, _Axes] = {}
    for word in words:
        for axes in by_word.get(word, ()):
            if axes.record.code not in seen and axes.body <= words:
                seen[axes.record.code] = axes
    return sorted(seen.values(), key=lambda axes: axes.record.code)


def _axes(record: CodeRecord) -> _Axes:
    title = record.title
    approach = next((a for a in _TITLE_APPROACHES if f"{a} Approach" in title or a in title), None)
    match = _TITLE.match(title.replace(f", {approach} Approach", "") if approach else title)
    if match is None:
        return _Axes(record, frozenset(), None, frozenset(), approach, frozenset())
    body = set(stems(match["body"])) - _GENERIC
    side = _side(frozenset(body))
    rest_text = match["rest"] or ""
    if approach:
        rest_text = rest_text.replace(approach, "")
    return _Axes(
        record,
        frozenset(body - set(SIDES)),
        side,
        frozenset(stems(match["device"] or "")) - _GENERIC - {"use"},
        approach,
        frozenset(stems(rest_text)) - _GENERIC,
    )
