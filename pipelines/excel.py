"""Writing workbooks officials can use as they are: Chinese headers, yuan formats, frozen header, filters,
fitted widths, print setup — and nothing an enterprise typed can become a formula or a link."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

YUAN_FORMAT = "#,##0.00"
DATE_FORMAT = "yyyy-mm-dd"
_DANGEROUS_START = ("=", "+", "-", "@", "\t", "\r")
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")


@dataclass(frozen=True)
class Col:
    header: str
    key: str
    kind: str = "text"  # text | yuan | date | int | decimal


def _write_cell(cell: Cell, value: Any, kind: str) -> None:
    if value is None:
        cell.value = None
        return
    if kind == "yuan":
        # openpyxl writes Decimal as a number without a float conversion of ours; the file stores its text.
        cell.value = value if isinstance(value, Decimal) else Decimal(str(value))
        cell.number_format = YUAN_FORMAT
    elif kind == "date":
        cell.value = value if isinstance(value, date | datetime) else date.fromisoformat(str(value))
        cell.number_format = DATE_FORMAT
    elif kind in ("int", "decimal"):
        cell.value = value
    else:
        text = str(value)
        cell.value = text
        # A string cell is never evaluated; quotePrefix keeps it text even when an official edits the cell.
        cell.data_type = "s"
        if text.startswith(_DANGEROUS_START):
            cell.quotePrefix = True


def write_table(
    ws: Worksheet,
    columns: Sequence[Col],
    rows: Sequence[dict[str, Any]],
    title: str | None = None,
) -> None:
    start = 1
    if title:
        _write_cell(ws.cell(row=1, column=1), title, "text")
        ws.cell(row=1, column=1).font = Font(bold=True, size=13)
        start = 3
    for i, col in enumerate(columns, start=1):
        cell = ws.cell(row=start, column=i, value=col.header)
        cell.font = Font(bold=True)
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for r, row in enumerate(rows, start=start + 1):
        for i, col in enumerate(columns, start=1):
            _write_cell(ws.cell(row=r, column=i), row.get(col.key), col.kind)
    last_row = start + max(len(rows), 1)
    ws.freeze_panes = ws.cell(row=start + 1, column=1)
    ws.auto_filter.ref = f"A{start}:{get_column_letter(len(columns))}{last_row}"
    ws.print_title_rows = f"{start}:{start}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    _fit_widths(ws, columns, rows)


def _display_width(text: str) -> int:
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _fit_widths(ws: Worksheet, columns: Sequence[Col], rows: Sequence[dict[str, Any]]) -> None:
    for i, col in enumerate(columns, start=1):
        widest = _display_width(col.header)
        for row in rows[:2000]:
            value = row.get(col.key)
            shown = f"{value:,.2f}" if col.kind == "yuan" and isinstance(value, Decimal) else str(value or "")
            widest = max(widest, _display_width(shown))
        ws.column_dimensions[get_column_letter(i)].width = min(max(widest + 2, 8), 80)


def new_workbook() -> Workbook:
    wb = Workbook()
    wb.remove(wb.active)
    return wb


def save(wb: Workbook, path: Path) -> Path:
    """Write atomically: a reader never sees half a workbook."""
    tmp = path.with_suffix(".tmp.xlsx")
    wb.save(tmp)
    tmp.replace(path)
    return path
