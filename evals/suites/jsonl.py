"""Suites written by hand as JSON Lines: one case per line.

    {"id": "t2dm-ckd", "text": "...", "meta": {"setting": "inpatient", "age": 60, "sex": "F"},
     "gold": [{"code": "E11.22", "system": "cm", "evidence": [{"quote": "diabetic CKD"}]},
              {"code": "N18.30", "system": "cm", "evidence": [{"start": 10, "end": 30}]}],
     "principal": "E11.22", "rule": "combination code"}

"meta", "principal" (a gold CM code), "evidence" and "rule" (what the case tests) are
optional. Blank lines and lines starting with // are skipped. Every problem is a SuiteError
naming the file and line.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from agent.models import ChartMeta, System
from evals.suite import ALL_SYSTEMS, Case, GoldCode, GoldSpan, Suite, SuiteError
from retrieval.text import with_dot

_CM = re.compile(r"^[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$")
_PCS = re.compile(r"^[0-9A-HJ-NP-Z]{7}$")
_KEYS = {"id", "text", "meta", "gold", "principal", "rule", "must_not"}


def load_jsonl_suite(path: Path, name: str | None = None) -> Suite:
    if not path.is_file():
        raise SuiteError(f"{path}: suite file not found")
    cases: list[Case] = []
    seen: dict[str, int] = {}
    lines = path.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("//"):
            continue
        where = f"{path}:{number}"
        case = _case(_json_object(line, where), where)
        if case.case_id in seen:
            first = seen[case.case_id]
            raise SuiteError(f"{where}: duplicate id {case.case_id!r} (first on line {first})")
        seen[case.case_id] = number
        cases.append(case)
    if not cases:
        raise SuiteError(f"{path}: no cases (expected one JSON object per line)")
    return Suite(name=name or path.stem, source=str(path), cases=cases, systems=ALL_SYSTEMS)


def _json_object(line: str, where: str) -> dict[str, Any]:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as error:
        raise SuiteError(f"{where}: bad JSON: {error.msg} (column {error.colno})") from None
    if not isinstance(obj, dict):
        raise SuiteError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    unknown = sorted(set(obj) - _KEYS)
    if unknown:
        raise SuiteError(f"{where}: unknown field {unknown[0]!r} (known: {sorted(_KEYS)})")
    return obj


def _case(obj: dict[str, Any], where: str) -> Case:
    for key in ("id", "text", "gold"):
        if key not in obj:
            raise SuiteError(f"{where}: missing field {key!r}")
    case_id, text = obj["id"], obj["text"]
    if not isinstance(case_id, str) or not case_id.strip():
        raise SuiteError(f"{where}: 'id' must be a non-empty string")
    if not isinstance(text, str) or not text.strip():
        raise SuiteError(f"{where}: 'text' must be a non-empty string")
    if not isinstance(obj["gold"], list):
        raise SuiteError(f"{where}: 'gold' must be a list of {{code, system}} objects")
    gold = [_gold(item, text, f"{where}: gold[{i}]") for i, item in enumerate(obj["gold"])]
    codes = [g.code for g in gold]
    duplicates = sorted({c for c in codes if codes.count(c) > 1})
    if duplicates:
        raise SuiteError(f"{where}: gold code {duplicates[0]} listed twice")
    return Case(
        case_id=case_id,
        text=text,
        meta=_meta(obj.get("meta", {}), where),
        gold=gold,
        principal=_principal(obj.get("principal"), gold, where),
        must_not=_must_not(obj.get("must_not", []), codes, where),
    )


def _must_not(raw: Any, gold: list[str], where: str) -> list[str]:
    """Codes an expert would never assign here (a trap of the chart), none of them gold."""
    if not isinstance(raw, list) or not all(isinstance(c, str) for c in raw):
        raise SuiteError(f"{where}: 'must_not' must be a list of code strings")
    codes = []
    for raw_code in raw:
        code = normalise_code(raw_code, "pcs" if raw_code[:1].isdigit() else "cm")
        if code in gold:
            raise SuiteError(f"{where}: must_not code {code} is also a gold code")
        codes.append(code)
    return codes


def _meta(raw: Any, where: str) -> ChartMeta:
    if not isinstance(raw, dict):
        raise SuiteError(f"{where}: 'meta' must be an object")
    try:
        return ChartMeta.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        raise SuiteError(f"{where}: meta.{field}: {first['msg']}") from None


def _gold(item: Any, text: str, where: str) -> GoldCode:
    if not isinstance(item, dict) or "code" not in item or "system" not in item:
        raise SuiteError(f"{where}: expected an object with 'code' and 'system'")
    system = item["system"]
    if system not in ALL_SYSTEMS:
        raise SuiteError(f"{where}: unknown code system {system!r} (expected 'cm' or 'pcs')")
    code = normalise_code(str(item["code"]), system)
    pattern = _CM if system == "cm" else _PCS
    if not pattern.match(code):
        raise SuiteError(f"{where}: {item['code']!r} is not an ICD-10-{system.upper()} code")
    spans = item.get("evidence", [])
    if not isinstance(spans, list):
        raise SuiteError(f"{where}: 'evidence' must be a list of {{start, end}} objects")
    evidence = [_span(span, text, f"{where}.evidence[{i}]") for i, span in enumerate(spans)]
    return GoldCode(code=code, system=system, evidence=evidence)


def _span(raw: Any, text: str, where: str) -> GoldSpan:
    """{start, end}, {start, end, quote} or just {quote} (its first occurrence)."""
    if not isinstance(raw, dict):
        raise SuiteError(f"{where}: expected an object with 'start' and 'end' or 'quote'")
    start, end, quote = raw.get("start"), raw.get("end"), raw.get("quote")
    if start is None and end is None and isinstance(quote, str) and quote:
        start = text.find(quote)
        if start < 0:
            raise SuiteError(f"{where}: quote {quote!r} is not in the text")
        end = start + len(quote)
    if not isinstance(start, int) or not isinstance(end, int):
        raise SuiteError(f"{where}: expected integer 'start' and 'end'")
    if not 0 <= start < end <= len(text):
        raise SuiteError(f"{where}: span {start}-{end} is outside the text (0-{len(text)})")
    if quote is not None and quote != text[start:end]:
        actual = text[start:end]
        raise SuiteError(f"{where}: quote {quote!r} is not text[{start}:{end}] ({actual!r})")
    return GoldSpan(start=start, end=end, quote=text[start:end])


def _principal(raw: Any, gold: list[GoldCode], where: str) -> str | None:
    if raw is None:
        return None
    code = normalise_code(str(raw), "cm")
    if code not in {g.code for g in gold if g.system == "cm"}:
        raise SuiteError(f"{where}: principal {raw!r} is not one of the gold CM codes")
    return code


def normalise_code(code: str, system: System) -> str:
    return with_dot(code) if system == "cm" else code.strip().upper()
