"""MS-DRG relative weights from the CMS IPPS Table 5 file the user supplies (never made up:
without the file, no weight is shown).

Table 5 is published as a spreadsheet; saved as CSV or tab-separated text it has a header
row naming the "MS-DRG" column and the "Weights" column (titles vary a little by year)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from agent.drg.claims import DrgError


def load_weights(path: Path) -> dict[int, float]:
    """MS-DRG -> relative weight; DrgError (saying what is wrong and where) for a file that
    is not a Table 5 in CSV or tab-separated form."""
    try:
        text = path.read_text(encoding="utf-8-sig", errors="replace")
    except OSError as error:
        raise DrgError(f"{path}: cannot read the Table 5 file ({error.strerror})") from None
    dialect = "excel-tab" if text.count("\t") > text.count(",") else "excel"
    rows = list(csv.reader(io.StringIO(text), dialect=dialect))
    for number, row in enumerate(rows):
        names = [cell.strip().lower() for cell in row]
        drg_column = next((i for i, n in enumerate(names) if n in ("ms-drg", "msdrg", "drg")), None)
        weight_column = next((i for i, n in enumerate(names) if n.startswith("weight")), None)
        if drg_column is not None and weight_column is not None:
            return _read(rows[number + 1 :], drg_column, weight_column, path, number + 2)
    raise DrgError(f"{path}: no header row with an 'MS-DRG' and a 'Weights' column")


def _read(
    rows: list[list[str]], drg_column: int, weight_column: int, path: Path, first_line: int
) -> dict[int, float]:
    weights: dict[int, float] = {}
    for line, row in enumerate(rows, start=first_line):
        if len(row) <= max(drg_column, weight_column) or not row[drg_column].strip():
            continue
        drg, weight = row[drg_column].strip(), row[weight_column].strip()
        try:
            weights[int(drg)] = float(weight)
        except ValueError:
            raise DrgError(
                f"{path}, line {line}: MS-DRG {drg!r} with weight {weight!r} is not a number"
            ) from None
    if not weights:
        raise DrgError(f"{path}: the Table 5 header is there, but no MS-DRG rows follow")
    return weights
