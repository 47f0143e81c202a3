"""Writing a submission batch workbook with the contract's Chinese headers (openpyxl)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from openpyxl import Workbook

from schemas.sheets import BY_KEY


def batch_workbook(sheets: Mapping[str, Sequence[Mapping[str, Any]]]) -> Workbook:
    """`sheets` maps a sheet key to rows keyed by column key; cells are written as an operator would type them."""
    wb = Workbook()
    wb.remove(wb.active)
    for key, rows in sheets.items():
        spec = BY_KEY[key]
        ws = wb.create_sheet(spec.name)
        ws.append([c.header for c in spec.columns])
        for row in rows:
            ws.append([_cell(row.get(c.key)) for c in spec.columns])
    return wb


def write_batch(path: Path, sheets: Mapping[str, Sequence[Mapping[str, Any]]]) -> Path:
    wb = batch_workbook(sheets)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def _cell(value: Any) -> Any:
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, tuple | list):
        return ";".join(value)
    return value
