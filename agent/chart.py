"""Turn what a caller sends (plain text or FHIR R4 JSON) into a Chart with sections and sentences.

Offsets everywhere refer to `Chart.text`: plain text is kept exactly as decoded; FHIR note
texts are kept exactly and joined with a blank line.
"""

from __future__ import annotations

import html
import json
import re
import threading
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from itertools import pairwise
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.composition import Composition
from fhir.resources.R4B.documentreference import DocumentReference
from fhir.resources.R4B.encounter import Encounter
from fhir.resources.R4B.patient import Patient
from pydantic import ValidationError

from agent.models import (
    Chart,
    ChartError,
    ChartMeta,
    CodingYear,
    FiscalYearError,
    Section,
    Sentence,
    Span,
)

# fhir.resources' top-level models are R5, which rejects R4 documents (R4's
# DocumentReference.context is an object, R5's a list); R4B is R4 for these resources.
_FHIR_MODELS: dict[str, Any] = {m.__name__: m for m in (DocumentReference, Bundle, Composition)}
_BINARY_MAGIC = {
    b"%PDF-": "a PDF", b"PK\x03\x04": "a ZIP archive (DOCX?)", b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image", b"GIF8": "a GIF image",
}  # fmt: skip
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_NOTE_SEPARATOR = "\n\n"
Fail = Callable[[str], ChartError]


def load_chart(
    data: bytes | str,
    *,
    meta: ChartMeta | None = None,
    max_bytes: int = 1_000_000,
    source_name: str = "<input>",
) -> Chart:
    """A Chart from plain text or a FHIR R4 DocumentReference / Bundle / Composition (JSON).

    Raises ChartError naming the problem: empty, too large, not UTF-8, binary, invalid FHIR,
    or FHIR without note text."""

    def fail(problem: str) -> ChartError:
        return ChartError(f"{source_name}: {problem}")

    size = len(data) if isinstance(data, bytes) else len(data.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise fail(f"chart is {size:,} bytes, over the {max_bytes:,}-byte limit")
    text = _decode(data, fail) if isinstance(data, bytes) else data
    _check_text(text, fail)
    meta = meta or ChartMeta()
    if text.lstrip().startswith("{"):
        resource = _parse_fhir(text, fail)
        if resource is not None:
            return _chart_from_fhir(resource, meta, fail)
    return build_chart(text, meta)


def build_chart(text: str, meta: ChartMeta | None = None, chart_id: str | None = None) -> Chart:
    sections = detect_sections(text)
    sentences = split_sentences(text, sections)
    directed = [s for s in sentences if addresses_software(text[s.start : s.end])]
    # Sentences are told apart by their offsets: a membership test per sentence in the
    # directed list would be quadratic in a chart full of them.
    skipped = {(s.start, s.end, s.section) for s in directed}
    return Chart(
        text=text,
        meta=meta or ChartMeta(),
        sections=sections,
        sentences=[s for s in sentences if (s.start, s.end, s.section) not in skipped],
        directed=[Span(start=s.start, end=s.end, quote=text[s.start : s.end]) for s in directed],
        chart_id=chart_id,
    )


# Words that speak to a program, not about a patient: role markers, instructions to ignore
# or override, code lists addressed to the system, chat-template tokens.
_CODE = r"[A-TV-Z]\d[0-9A-Z](?:\.[0-9A-Z]{1,4})?"
_DIRECTED = re.compile(
    # role markers: "SYSTEM:", "[system]", "<assistant>", "Assistant, you must ..."
    r"^\s*[\[<(]?\s*(?:system|assistant|developer|user)\s*"
    r"(?:[\]>):](?!\s*(?:dr\b|doctor\b))|,\s*(?:you|please)\b)"  # not "Assistant: Dr. Lee"
    r"|^\s*#+\s*(?:instructions?|system|prompt)\b"
    # instructions to ignore or override what came before
    r"|\b(?:ignore|disregard|forget|override)\s+(?:all\s+)?(?:the\s+|your\s+|any\s+)?"
    r"(?:(?:previous|prior|above|earlier|system|all)\s+(?:instructions?|prompts?|rules?)\b"
    r"|(?:note|text|chart|documentation|instructions?|rules?)\s+above\b)"
    # the software addressed by name
    r"|\byou are (?:now )?(?:an?|the|in) (?:ai|assistant|language model|coding (?:assistant|tool)"
    r"|admin(?:istrator)? mode|developer mode)\b"
    r"|\b(?:note|message|instructions?|request)\s+(?:to|for)\s+the\s+(?:coding\s+)?"
    r"(?:ai|model|assistant|system|software|bot|llm)\b"
    r"|\b(?:dear|hey|attention)\s+[^.\n]{0,40}?\b(?:system|ai|assistant|model|bot)\b"
    r"|\b(?:ai|automated|computer[- ]assisted)\s+(?:coder|coding(?:\s+(?:system|tool))?)\s*[:,]"
    r"|\bthe correct (?:icd(?:-10)?(?:-cm)? )?codes? (?:is|are)\b"
    # code lists addressed to the system: an imperative with a code ("add code I10", "bill
    # A41.9"); a code written with its dot, so vitamin B12 is not taken for one
    r"|\b(?:add|append|include|output|assign|insert)\b[^.\n]{0,25}?\b(?:icd(?:-10)?(?:-cm)? )?"
    r"codes?\b[^.\n]{0,15}?\b" + _CODE + r"\b"
    r"|\b(?:add|append|include|output|assign|insert|bill|report|enter|use|code)\b"
    r"(?:\s+(?:only|also|the|code|codes|icd(?:-10)?(?:-cm)?)){0,3}\s+[A-TV-Z]\d[0-9A-Z]\.[0-9A-Z]"
    r"|<\|im_start\|>|\[/?INST\]"
    # hidden markup and the software told what to do: "<!-- coding engine: ... -->", "the
    # software should confirm lung cancer (C34.90)"
    r"|<!--|\bcoding (?:engine|software|system|tool|bot|ai)\b"
    r"|\b(?:the )?(?:software|engine|algorithm|coding tool|ai|model|llm|assistant)\s+"
    r"(?:should|must|shall|needs? to|is to|will)\s+(?:always\s+)?"
    r"(?:confirm|add|code|bill|report|include|assign|treat|make|say|answer|list|output)\b",
    re.IGNORECASE | re.MULTILINE,
)


def addresses_software(sentence: str) -> bool:
    """Whether a sentence is an instruction to the software rather than documentation."""
    return _DIRECTED.search(sentence) is not None


# ----------------------------------------------------------------------------- fiscal year


def fiscal_year_of(day: date) -> int:
    """The US federal fiscal year `day` falls in: FY2027 runs 2026-10-01 to 2027-09-30."""
    return day.year + 1 if day.month >= 10 else day.year


def fiscal_year_dates(year: int) -> tuple[date, date]:
    """The first and last day of fiscal `year`."""
    return date(year - 1, 10, 1), date(year, 9, 30)


def date_of_service(meta: ChartMeta) -> tuple[str, date] | None:
    """(which field, date) that decides the chart's fiscal year: an inpatient's discharge
    date (else the encounter date, else the admission date, for a patient not discharged
    yet); an outpatient's visit date, the encounter date (else the admission date, else the
    discharge date). None without any date."""
    if meta.setting == "inpatient":
        order = ("discharge_date", "encounter_date", "admission_date")
    else:
        order = ("encounter_date", "admission_date", "discharge_date")
    for name in order:
        value = getattr(meta, name)
        if value is not None:
            return name, value
    return None


def coding_year(meta: ChartMeta, years: Sequence[int]) -> CodingYear:
    """The fiscal year (one of `years`, those the knowledge base holds) whose code set codes
    a chart with this metadata. No date of service: the newest year, with a warning saying
    so. A date in a year not held raises FiscalYearError naming the years held."""
    held = sorted(years)
    found = date_of_service(meta)
    if found is None:
        return CodingYear(
            year=held[-1],
            basis="none",
            warning=f"the chart has no date of service: coded in FY{held[-1]}, the newest "
            "fiscal year the knowledge base holds (give the discharge date, or the visit "
            "date of an outpatient, to code it in the year in force)",
        )
    field, day = found
    year = fiscal_year_of(day)
    if year not in held:
        first, last = fiscal_year_dates(held[0])[0], fiscal_year_dates(held[-1])[1]
        names = ", ".join(f"FY{y}" for y in held)
        raise FiscalYearError(
            f"{field} {day} is in FY{year}, which this knowledge base does not hold: it "
            f"holds {names} (dates of service {first} to {last})",
            field=field,
            years=held,
        )
    warning = None
    if meta.setting == "inpatient" and field != "discharge_date":
        warning = (
            f"no discharge date: coded in FY{year} by the {field.replace('_', ' ')} {day}; "
            "an inpatient's fiscal year is that of the discharge date"
        )
    return CodingYear(year=year, basis=field, date_of_service=day, warning=warning)


# ----------------------------------------------------------------------------- input checks


def _decode(data: bytes, fail: Fail) -> str:
    for magic, what in _BINARY_MAGIC.items():
        if data.startswith(magic):
            raise fail(f"binary input ({what}); send the note as plain text or FHIR JSON")
    nul = data.find(b"\x00")
    if nul >= 0:
        raise fail(f"binary input (NUL byte at byte offset {nul})")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        bad = f"0x{data[err.start]:02x}"
        raise fail(f"not UTF-8: invalid byte {bad} at byte offset {err.start}") from None


_SURROGATE = re.compile("[\ud800-\udfff]")


def _check_text(text: str, fail: Fail) -> None:
    nul = text.find("\x00")
    if nul >= 0:
        raise fail(f"binary input (NUL character at offset {nul})")
    if not text.strip():
        raise fail("chart is empty (no text, or whitespace only)")
    # A lone surrogate ("\\ud800" in JSON) is no character at all and cannot be stored.
    surrogate = _SURROGATE.search(text)
    if surrogate is not None:
        raise fail(
            f"invalid character at offset {surrogate.start()}: a lone UTF-16 surrogate "
            f"(U+{ord(surrogate.group()):04X}); send the text as valid Unicode"
        )
    controls = len(_CONTROL.findall(text))
    if controls > 0.1 * len(text):
        raise fail(f"binary input ({controls} of {len(text)} characters are control characters)")


def _parse_fhir(text: str, fail: Fail) -> Any | None:
    """The validated resource, or None when the text is not FHIR at all (a note in braces)."""
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as err:
        if '"resourceType"' in text:
            raise fail(f"looks like FHIR JSON but is not valid JSON: {err}") from None
        return None
    if not isinstance(obj, dict) or "resourceType" not in obj:
        raise fail("JSON without a resourceType: expected a FHIR DocumentReference or Bundle")
    kind = obj["resourceType"]
    model = _FHIR_MODELS.get(kind) if isinstance(kind, str) else None
    if model is None:
        wanted = ", ".join(_FHIR_MODELS)
        raise fail(f"unsupported FHIR resourceType {kind!r} (expected one of {wanted})")
    try:
        return model.model_validate(obj)
    except ValidationError as err:
        first = err.errors()[0]
        where = _field_path(first["loc"])
        more = f" (and {err.error_count() - 1} more)" if err.error_count() > 1 else ""
        raise fail(f"invalid FHIR {kind} at {where}: {first['msg']}{more}") from None


def _field_path(loc: tuple[Any, ...]) -> str:
    """("content", 0, "attachment") -> "content[0].attachment"."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}" if path else str(part)
    return path or "(root)"


# ----------------------------------------------------------------------------- FHIR notes


@dataclass
class _Dates:
    """The dates a FHIR resource gives: the document's own, the period of service it
    documents (DocumentReference.context.period) and the Encounter's period."""

    document: date | None = None
    service: tuple[date | None, date | None] = (None, None)
    encounter: tuple[date | None, date | None] = (None, None)
    discharge_status: int | None = None  # Encounter.hospitalization.dischargeDisposition

    def merge(self, other: _Dates) -> None:
        self.document = self.document or other.document
        self.discharge_status = self.discharge_status or other.discharge_status
        if self.service == (None, None):
            self.service = other.service
        if self.encounter == (None, None):
            self.encounter = other.encounter


def _chart_from_fhir(resource: Any, meta: ChartMeta, fail: Fail) -> Chart:
    dates = _Dates()
    notes, patients = _collect(resource, fail, dates)
    if not notes:
        raise fail(
            f"FHIR {resource.get_resource_type()} holds no note text "
            "(no text/plain attachment data, no Composition section narrative)"
        )
    text = _NOTE_SEPARATOR.join(notes)
    _check_text(text, fail)
    filled = _fill_meta(meta, patients, dates, fail)
    return build_chart(text, filled, getattr(resource, "id", None))


def _collect(resource: Any, fail: Fail, dates: _Dates) -> tuple[list[str], list[Patient]]:
    """Note texts and Patient resources of the resource; the first dates found go into
    `dates`."""
    if isinstance(resource, Bundle):
        notes: list[str] = []
        patients: list[Patient] = []
        for i, entry in enumerate(resource.entry or []):
            if isinstance(entry.resource, Patient):
                patients.append(entry.resource)
                continue
            if isinstance(entry.resource, Encounter):
                dates.merge(_encounter_dates(entry.resource))
                continue
            if not isinstance(entry.resource, DocumentReference | Composition):
                continue
            found, contained = _collect(entry.resource, _prefixed(fail, i), dates)
            notes, patients = notes + found, patients + contained
        return notes, patients
    contained = [r for r in resource.contained or [] if isinstance(r, Patient)]
    for encounter in (r for r in resource.contained or [] if isinstance(r, Encounter)):
        dates.merge(_encounter_dates(encounter))
    if isinstance(resource, Composition):
        dates.merge(_Dates(document=_as_date(resource.date)))
        return _composition_notes(resource.section or []), contained
    context = resource.context
    dates.merge(
        _Dates(
            document=_as_date(resource.date),
            service=_period(context.period if context else None),
        )
    )
    return _attachment_notes(resource, fail), contained


# HL7 discharge-disposition codes with one CMS patient discharge status each (the US NUBC
# code, when an Encounter carries it, is read as is).
_DISPOSITIONS = {"home": 1, "hosp": 2, "snf": 3, "aadvice": 7, "exp": 20, "rehab": 62,
                 "long": 63, "psy": 65}  # fmt: skip
_NUBC = "nubc.org"


def _encounter_dates(encounter: Encounter) -> _Dates:
    """The Encounter's period and, where its discharge disposition names one, the CMS
    discharge status."""
    status = None
    hospitalization = encounter.hospitalization
    disposition = hospitalization.dischargeDisposition if hospitalization else None
    for coding in (disposition.coding or []) if disposition else []:
        code = (coding.code or "").strip()
        if _NUBC in (coding.system or "") and code.isdigit() and 1 <= int(code) <= 99:
            status = int(code)
        elif code in _DISPOSITIONS and status is None:
            status = _DISPOSITIONS[code]
    return _Dates(encounter=_period(encounter.period), discharge_status=status)


def _period(period: Any) -> tuple[date | None, date | None]:
    if period is None:
        return None, None
    return _as_date(period.start), _as_date(period.end)


def _prefixed(fail: Fail, index: int) -> Fail:
    return lambda problem: fail(f"entry[{index}]: {problem}")


def _attachment_notes(doc: DocumentReference, fail: Fail) -> list[str]:
    notes = []
    for i, content in enumerate(doc.content or []):
        attachment = content.attachment
        mime, _, params = (attachment.contentType or "text/plain").partition(";")
        if mime.strip().lower() != "text/plain" or attachment.data is None:
            continue  # PDFs, HTML and url-only attachments are not read here
        charset = re.search(r"charset\s*=\s*\"?([\w.:-]+)", params, re.IGNORECASE)
        encoding = charset.group(1) if charset else "UTF-8"
        where = f"content[{i}].attachment.data"
        try:
            note = attachment.data.decode("utf-8-sig" if encoding == "UTF-8" else encoding)
        except UnicodeDecodeError as err:
            raise fail(f"{where} is not {encoding}: bad byte at byte offset {err.start}") from None
        except LookupError:
            raise fail(f"{where} declares an unknown charset {encoding!r}") from None
        if "\x00" in note:
            raise fail(f"{where} is binary (NUL byte)")
        if note.strip():
            notes.append(note)
    return notes


def _composition_notes(sections: list[Any]) -> list[str]:
    """Section narratives as "Title:\\n text", nested sections included."""
    notes = []
    for section in sections:
        body = _narrative(section.text.div) if section.text and section.text.div else ""
        title = (section.title or "").strip()
        if body:
            notes.append(f"{title}:\n{body}" if title else body)
        notes.extend(_composition_notes(section.section or []))
    return notes


def _narrative(div: str) -> str:
    """Plain text of simple XHTML: block ends become newlines, other tags vanish."""
    text = re.sub(r"<br\s*/?>|</(p|div|li|tr|h[1-6])>", "\n", div, flags=re.IGNORECASE)
    text = html.unescape(re.sub(r"<[^>]+>", "", text))
    lines = (line.strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def _as_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else None


def _fill_meta(meta: ChartMeta, patients: list[Patient], dates: _Dates, fail: Fail) -> ChartMeta:
    """Age, sex and dates from the FHIR resources where the caller's meta leaves them unset:
    the admission and discharge dates from the Encounter's period (else the period of service
    the document covers), the encounter date from the period of service (else the Encounter's
    start, else the document's date)."""
    update: dict[str, Any] = {}
    start = dates.encounter[0] or dates.service[0]
    end = dates.encounter[1] or dates.service[1]
    found = {
        "encounter_date": dates.service[0] or dates.encounter[0] or dates.document,
        "admission_date": start,
        "discharge_date": end,
    }
    for name, value in found.items():
        if getattr(meta, name) is None and value is not None:
            update[name] = value
    if meta.discharge_status is None and dates.discharge_status is not None:
        update["discharge_status"] = dates.discharge_status
    patient = patients[0] if patients else None
    if patient is not None and meta.sex is None and patient.gender in ("female", "male"):
        update["sex"] = "F" if patient.gender == "female" else "M"
    birth = _as_date(patient.birthDate) if patient is not None else None
    if meta.age is None and birth is not None:
        on = meta.encounter_date or found["encounter_date"] or date.today()
        age = on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
        if 0 <= age <= 124:
            update["age"] = age
    try:
        return ChartMeta.model_validate({**meta.model_dump(), **update})
    except ValidationError as error:
        raise fail(f"FHIR dates: {error.errors()[0]['msg']}") from None


# ----------------------------------------------------------------------------- sections

_HEADINGS: dict[str, tuple[str, ...]] = {
    "hpi": ("hpi", "history of present illness", "history of the present illness",
            "present illness", "chief complaint", "reason for admission", "reason for visit",
            "cc", "complaints", "complaint", "subjective", "s"),
    "history": ("past medical history", "pmh", "past history", "medical history",
                "past surgical history", "surgical history", "psh", "personal history",
                "medical background", "personal background", "background", "history"),
    "family_history": ("family history", "family medical history", "fh", "fhx"),
    "social_history": ("social history", "sh", "shx", "toxic habits", "habits"),
    "medications": ("medications", "medication", "meds", "current medications",
                    "home medications", "admission medications", "discharge medications",
                    "medications on admission", "medications at discharge"),
    "allergies": ("allergies", "allergy", "drug allergies"),
    "exam": ("physical exam", "physical examination", "exam", "examination",
             "on examination", "pe", "objective", "o"),
    "ros": ("review of systems", "ros"),
    "results": ("labs", "lab", "lab results", "laboratory", "laboratory data", "laboratory results",
                "imaging", "radiology", "results", "studies", "diagnostic studies",
                "investigations", "complementary tests", "xr", "x-ray", "x-rays", "ct", "cxr",
                "mri", "ultrasound", "ecg", "ekg", "echo"),
    "hospital_course": ("hospital course", "course in hospital", "clinical course",
                        "evolution", "course"),
    "assessment": ("assessment", "assessment and plan", "assessment & plan", "a/p", "a&p",
                   "impression", "clinical impression", "a"),
    "plan": ("plan", "treatment plan", "recommendations", "disposition", "dispo", "treatment",
             "p"),
    "diagnoses": ("discharge diagnoses", "discharge diagnosis", "final diagnosis",
                  "final diagnoses", "principal diagnosis", "primary diagnosis",
                  "secondary diagnoses", "secondary diagnosis", "diagnoses", "diagnosis",
                  "admitting diagnosis", "admission diagnosis", "problem list", "problems",
                  "dx", "final dx", "discharge dx", "diagnosis/dx", "working diagnosis",
                  "postoperative diagnosis", "postoperative diagnoses", "post-op diagnosis",
                  "postop diagnosis", "postop dx", "post-op dx", "preoperative diagnosis",
                  "pre-op diagnosis", "preop diagnosis", "preop dx", "pre-op dx"),
    "procedures": ("procedures", "procedure", "procedures performed", "operations performed",
                   "operation performed", "operations", "operation", "surgical procedures",
                   "interventions"),
}  # fmt: skip
_CANONICAL = {alias: name for name, aliases in _HEADINGS.items() for alias in aliases}
_ALIASES = "|".join(
    r"[ \t]+".join(re.escape(word) for word in alias.split())
    for alias in sorted(_CANONICAL, key=len, reverse=True)
)
# A heading starts a line (after bullets or numbering) and ends with a colon, or is the line.
_HEADING = re.compile(
    rf"^[ \t]*(?:[-*#•]+[ \t]*|(?:\d+|[IVX]+)[.)][ \t]*)?(?P<h>{_ALIASES})[ \t]*(?::|$)",
    re.IGNORECASE | re.MULTILINE,
)


# Headings whose content is usually one line: in a narrative ("Family history: none.
# He presented with ...") the rest of the note is not family history.
_ONE_LINE = frozenset({"history", "family_history", "social_history", "allergies", "medications"})


def detect_sections(text: str) -> list[Section]:
    """Sections in text order; text before the first heading (or a note without any) is
    "other", and so is the text after a one-line history, allergy or medication heading."""
    # A SOAP note's "S:" / "O:" / "A:" / "P:" are headings only with their colon.
    found = [
        m for m in _HEADING.finditer(text)
        if len(m.group("h")) > 1 or text[m.end() - 1 : m.end()] == ":"
    ]  # fmt: skip
    sections: list[Section] = []
    first = found[0].start("h") if found else len(text)
    if text[:first].strip():
        sections.append(Section(name="other", heading="", start=0, end=first))
    for i, match in enumerate(found):
        start, heading = match.start("h"), match.group("h")
        name = _CANONICAL[" ".join(heading.lower().split())]
        end = found[i + 1].start("h") if i + 1 < len(found) else len(text)
        line_end = text.find("\n", match.end())
        line_end = len(text) if line_end < 0 else line_end
        if name in _ONE_LINE and text[match.end() : line_end].strip() and line_end < end:
            sections.append(Section(name=name, heading=heading, start=start, end=line_end))
            if text[line_end:end].strip():
                sections.append(Section(name="other", heading="", start=line_end, end=end))
            continue
        sections.append(Section(name=name, heading=heading, start=start, end=end))
    return sections


# ----------------------------------------------------------------------------- sentences

_ABBREVIATIONS = frozenset(
    str.split(
        "dr mr mrs ms prof st vs e.g i.e approx fig figs cf al mg mcg ml kg cm mm g dl "
        "mmol meq h hr hrs min mins sec wk wks yr yrs mo mos pt pts b.i.d t.i.d q.i.d q.d p.o "
        "i.v i.m s.c p.r.n a.m p.m lt rt max dept jr sr"
    )
)
_SENTENCE_END = re.compile(r"[.!?]+[\"')\]]*(?=\s|$)")
_LIST_ITEM = re.compile(r"[ \t]*(?:[-*•]|\d+[.)])\s")
_WRAP_WIDTH = 40  # a line at least this long that runs on in lower case is wrapped prose


def split_sentences(text: str, sections: list[Section]) -> list[Sentence]:
    """Sentences of each section's body (headings left out), with offsets into `text`."""
    if not sections:
        sections = [Section(name="other", heading="", start=0, end=len(text))]
    sentences = []
    for section in sections:
        body = _body_start(text, section)
        cuts = sorted(_cuts(text, body, section.end) | {section.end})
        start = body
        for cut in cuts:
            sentence = _trimmed(text, start, cut, section.name)
            if sentence is not None:
                sentences.append(sentence)
            start = cut
    return sentences


def _body_start(text: str, section: Section) -> int:
    start = section.start + len(section.heading)
    colon = re.compile(r"[ \t]*:").match(text, start) if section.heading else None
    return colon.end() if colon else start


_SPACE = re.compile(r"\s*")  # \s is what str.strip() strips
_BLANK = re.compile(r"[ \t]*")


def _skip(blank: re.Pattern[str], text: str, at: int, end: int) -> int:
    """Where the run of `blank` characters from `at` ends (at most `end`)."""
    found = blank.match(text, at, end)
    return found.end() if found else at


def _cuts(text: str, start: int, end: int) -> set[int]:
    cuts = set()
    for match in _SENTENCE_END.finditer(text, start, end):
        # The gap and the next character are read in place: slicing the rest of the
        # section at each full stop made a long section quadratic.
        after = _skip(_SPACE, text, match.end(), end)
        lower = after < end and text[after].islower()
        if lower and "\n" not in text[match.end() : after]:
            continue  # "approx. five", "etc. and": an unknown abbreviation, not an end
        if not _is_abbreviation(text, start, match.start(), match.group()):
            cuts.add(match.end())
    for newline in (m.start() for m in re.finditer("\n", text[start:end])):
        if _ends_line(text, start + newline, end):
            cuts.add(start + newline)
    return cuts


def _is_abbreviation(text: str, floor: int, dot: int, punct: str) -> bool:
    """Whether the "." at `dot` belongs to a word ("Dr.", "e.g.", "mg.", "1." of a list)."""
    if not punct.startswith(".") or len(punct.rstrip("\"')]")) > 1:
        return False
    line_start = max(text.rfind("\n", floor, dot) + 1 or floor, floor)
    # The last word before the dot, found by stepping back from it: splitting the line up
    # to each dot made a long line quadratic.
    end = dot
    while end > line_start and text[end - 1].isspace():
        end -= 1
    begin = end
    while begin > line_start and not text[begin - 1].isspace():
        begin -= 1
    word = text[begin:end]
    token = word.lstrip("([\"'").lower()
    if token.isdigit() and len(token) == len(word):
        blank = begin
        while blank > line_start and text[blank - 1].isspace():
            blank -= 1
        if blank == line_start:
            return True  # "1." numbering a list item: nothing before it on its line
    return token in _ABBREVIATIONS


def _ends_line(text: str, newline: int, end: int) -> bool:
    """A newline ends a sentence unless a long line of prose runs on in lower case."""
    line = text[text.rfind("\n", 0, newline) + 1 : newline].strip()
    # The first character after the blanks, read in place (not the rest of the section).
    after = _skip(_BLANK, text, newline + 1, end)
    first = text[after] if after < end else ""
    if not first or first == "\n" or not first.islower() or line.endswith((".", ":", ";")):
        return True
    return len(line) < _WRAP_WIDTH or bool(_LIST_ITEM.match(line + " "))


def _trimmed(text: str, start: int, end: int, section: str) -> Sentence | None:
    piece = text[start:end]
    stripped = piece.strip()
    if not stripped:
        return None
    lead = len(piece) - len(piece.lstrip())
    return Sentence(start=start + lead, end=start + lead + len(stripped), section=section)


class SentenceIndex:
    """Which of a chart's sentences holds an offset, found by bisection on their starts.

    `build_chart` gives sentences in text order, none overlapping, so at most one holds an
    offset and it is the last one starting at or before it. Sentences in any other order
    (a chart put together by hand) are scanned, so the answer is always the one a scan
    finds: the first sentence holding the offset."""

    def __init__(self, sentences: Sequence[Sentence]) -> None:
        self.sentences = sentences
        self._starts = [s.start for s in sentences]
        self._ordered = all(a.start <= b.start and a.end <= b.start for a, b in pairwise(sentences))

    @property
    def size(self) -> int:
        return len(self._starts)

    def position(self, offset: int) -> int | None:
        """The number of the sentence holding `offset`, None when none does."""
        if not self._ordered:
            found = (n for n, s in enumerate(self.sentences) if s.start <= offset < s.end)
            return next(found, None)
        n = bisect_right(self._starts, offset) - 1
        return n if n >= 0 and offset < self.sentences[n].end else None

    def at(self, offset: int) -> Sentence | None:
        """The sentence holding `offset`, None when none does."""
        n = self.position(offset)
        return None if n is None else self.sentences[n]


_INDEXES: OrderedDict[int, SentenceIndex] = OrderedDict()
_INDEXES_KEPT = 8  # charts coded at once by the threads of a server
_INDEXES_LOCK = threading.Lock()


def sentence_index(chart: Chart) -> SentenceIndex:
    """The chart's SentenceIndex, built once per chart: the ranker and the chat ask for the
    sentence of a span again and again. Kept by the identity of the sentence list (charts
    are never changed in place; a copy of a chart shares its list), which the cache holds
    on to, so an identity cannot be reused while it is kept."""
    sentences = chart.sentences
    with _INDEXES_LOCK:
        index = _INDEXES.get(id(sentences))
        if index is not None and index.sentences is sentences and index.size == len(sentences):
            _INDEXES.move_to_end(id(sentences))
            return index
    index = SentenceIndex(sentences)
    with _INDEXES_LOCK:
        _INDEXES[id(sentences)] = index
        while len(_INDEXES) > _INDEXES_KEPT:
            _INDEXES.popitem(last=False)
    return index
