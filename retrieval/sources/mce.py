"""Parser for the Medicare Code Editor "simple" code edit lists (tab-separated, one row per
code and edit): MCE_Version, ICD_Version, MCE_Section, MCE_Subsection, MCE_Edit_Type,
ICD_Code_Type, ICD_Code, ICD_Desc.

Codes are written without a dot. Only ICD-10 rows (ICD_Version 10) are kept: the same layout
holds the ICD-9 lists of older fiscal years, whose codes would collide with nothing useful.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from retrieval.errors import SourceError
from retrieval.records import MceEdit
from retrieval.sources.files import tsv_lines

HEADER = (
    "MCE_Version",
    "ICD_Version",
    "MCE_Section",
    "MCE_Subsection",
    "MCE_Edit_Type",
    "ICD_Code_Type",
    "ICD_Code",
    "ICD_Desc",
)
_EDIT_TYPE = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_CODE = re.compile(r"[0-9A-Z]{3,7}")
_CODE_TYPES: dict[str, Literal["D", "P"]] = {"D": "D", "P": "P"}


def parse_mce(path: Path) -> Iterator[MceEdit]:
    """Yield one `MceEdit` per ICD-10 row; a wrong header or malformed row raises a
    `SourceError` carrying the 1-based line number."""
    rows = 0
    for number, line in tsv_lines(path, HEADER):
        edit = _row(path, line, number)
        if edit is not None:
            rows += 1
            yield edit
    if not rows:
        raise SourceError(path, "no ICD-10 code edit rows found")


def _row(path: Path, line: str, number: int) -> MceEdit | None:
    fields = [value.strip() for value in line.split("\t")]
    if len(fields) != len(HEADER):
        message = f"expected {len(HEADER)} tab-separated fields, found {len(fields)}"
        raise SourceError(path, message, line=number)
    _version, icd_version, _section, _sub, edit_type, code_type, code, _desc = fields
    if icd_version != "10":
        return None
    if not _EDIT_TYPE.fullmatch(edit_type):
        raise SourceError(path, f"bad MCE_Edit_Type {edit_type!r}", line=number)
    if code_type not in _CODE_TYPES:
        raise SourceError(path, f"ICD_Code_Type must be D or P, not {code_type!r}", line=number)
    if not _CODE.fullmatch(code):
        raise SourceError(
            path, f"bad ICD_Code {code!r} (expected 3-7 letters/digits, no dot)", line=number
        )
    return MceEdit(edit_type=edit_type, code_type=_CODE_TYPES[code_type], code=code)
