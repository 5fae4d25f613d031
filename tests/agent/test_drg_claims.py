"""Hand-built inpatient claims whose MS-DRG and CC/MCC levels are those of the CMS
definitions manual (v43, FY2026), grouped through medcoder's grouper interface."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from agent.drg import Claim, MsdrgGrouper

CASES_FILE = Path(__file__).parents[2] / "evals" / "cases" / "drg_claims.jsonl"
CASES = [json.loads(line) for line in CASES_FILE.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def grouper() -> Iterator[MsdrgGrouper]:
    found = MsdrgGrouper()
    yield found
    found.close()


def test_there_are_at_least_thirty_claims_of_many_drg_families() -> None:
    assert len(CASES) >= 30
    assert len({case["drg"] for case in CASES}) >= 25


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_the_claim_groups_to_its_drg(grouper: MsdrgGrouper, case: dict[str, Any]) -> None:
    claim = Claim(
        principal=case["pdx"],
        secondary=tuple(case["sdx"]),
        procedures=tuple(case["pcs"]),
        age=case["age"],
        sex=case["sex"],
        discharged=date(2026, 6, 30),
        poa=tuple((code, "Y") for code in case["sdx"]),
    )
    result = grouper.group(claim)
    assert (result.drg, result.return_code, result.version) == (case["drg"], "OK", 431)
    levels = {found.code: found.severity for found in result.diagnoses}
    assert {code: levels.get(code) for code in case["severity"]} == case["severity"]
