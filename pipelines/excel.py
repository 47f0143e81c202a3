"""Writing workbooks officials can use as they are: Chinese headers, yuan formats, frozen header, filters,
fitted widths, print setup, native charts — and nothing an enterprise typed can become a formula or a link.

Workbooks are written in openpyxl's streaming (write-only) mode: a department report over ten thousand
applications holds no cell objects in memory, and everything about a sheet except its rows (widths, frozen pane,
filter, print setup) is decided before the first row is written.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

YUAN_FORMAT = "#,##0.00"
QTY_FORMAT = "#,##0.00"
INT_FORMAT = "#,##0"
PCT_FORMAT = "0.00%"
DATE_FORMAT = "yyyy-mm-dd"
FORMATS = {"yuan": YUAN_FORMAT, "qty": QTY_FORMAT, "int": INT_FORMAT, "pct": PCT_FORMAT, "date": DATE_FORMAT}
# What a spreadsheet may read as the start of a formula (OWASP "CSV injection"); tab and CR hide one.
DANGEROUS_START = ("=", "+", "-", "@", "\t", "\r")
EXCEL_MAX_TEXT = 32767  # characters per cell; longer text makes Excel refuse to open the file
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_HEADER_FONT = Font(bold=True)
_HEADER_ALIGN = Alignment(horizontal="center", vertical="center", wrap_text=True)
_TITLE_FONT = Font(bold=True, size=13)
_TOTAL_FONT = Font(bold=True)
_MAX_WIDTH = 60
_WIDTH_SAMPLE = 500  # rows looked at to fit a column: enough to see the long names, cheap at any size


@dataclass(frozen=True)
class Col:
    header: str
    key: str
    kind: str = "text"  # text | yuan | qty | int | pct | date


@dataclass(frozen=True)
class Table:
    """Where a written table sits, so charts and checks can point at its cells."""

    sheet: str
    header_row: int
    first_row: int
    last_row: int  # the last data row (== header_row when there are no rows)
    columns: tuple[Col, ...]

    def column_index(self, key: str) -> int:
        return next(i for i, c in enumerate(self.columns, start=1) if c.key == key)


def new_workbook() -> Workbook:
    return Workbook(write_only=True)


def plain_text(value: Any) -> str:
    """Text as it may stand in a cell: characters XML cannot carry removed, cut to what Excel accepts."""
    text = ILLEGAL_CHARACTERS_RE.sub("", str(value))
    if len(text) > EXCEL_MAX_TEXT:
        text = text[: EXCEL_MAX_TEXT - 1] + "…"
    return text


def _is_missing(value: Any) -> bool:
    # pandas hands text columns over with NaN for blanks
    return value is None or (isinstance(value, float) and math.isnan(value))


def cell_value(ws: Any, value: Any, kind: str) -> Any:
    """One cell for a write-only sheet. Text is always a string cell: openpyxl would turn a str starting with
    "=" into a formula, so such text gets an explicit string cell, marked quotePrefix so that it stays text
    even when an official edits it in Excel."""
    if _is_missing(value):
        return None
    if kind == "text":
        if isinstance(value, bool):
            return "是" if value else "否"
        text = plain_text(value)
        if not text.startswith(DANGEROUS_START):
            return text  # openpyxl binds any other str as a string cell ('s')
        cell = WriteOnlyCell(ws, value=text)
        cell.data_type = "s"
        cell.quotePrefix = True
        return cell
    number: Decimal | int | date
    if kind in ("yuan", "qty", "pct"):
        # Decimal goes to openpyxl as it is; we never convert an amount to float.
        number = value if isinstance(value, Decimal | int) else Decimal(str(value))
    elif kind == "date":
        number = value if isinstance(value, date | datetime) else date.fromisoformat(str(value))
    elif kind == "int":
        number = int(value)
    else:
        raise ValueError(f"unknown column kind {kind}")
    cell = WriteOnlyCell(ws, value=number)
    cell.number_format = FORMATS[kind]
    return cell


def _display_width(text: str) -> int:
    # CJK characters take two columns in Excel's default fonts
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _shown(value: Any, kind: str) -> str:
    if _is_missing(value):
        return ""
    if kind in ("yuan", "qty") and isinstance(value, Decimal | int):
        return f"{value:,.2f}"
    if kind == "pct":
        return "100.00%"
    if kind == "date":
        return "2026-01-01"
    return str(value)


def _widths(columns: Sequence[Col], rows: Sequence[dict[str, Any]]) -> list[int]:
    widths = []
    for col in columns:
        widest = max(
            [_display_width(col.header)]
            + [_display_width(_shown(row.get(col.key), col.kind)) for row in rows[:_WIDTH_SAMPLE]]
        )
        widths.append(min(max(widest + 2, 8), _MAX_WIDTH))
    return widths


def write_table(
    wb: Workbook,
    name: str,
    columns: Sequence[Col],
    rows: Sequence[dict[str, Any]],
    *,
    title: str | None = None,
    totals: dict[str, Any] | None = None,
    notes: Sequence[str] = (),
) -> Table:
    """A sheet holding one table: an optional title line, a styled header row (frozen, filtered, repeated on
    every printed page) and the rows; then an optional bold totals row and notes, both outside the filter so
    that sorting never moves them."""
    ws = wb.create_sheet(name)
    header_row = 3 if title else 1
    for i, width in enumerate(_widths(columns, rows), start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = f"A{header_row + 1}"
    last_row = header_row + len(rows)
    ws.auto_filter.ref = f"A{header_row}:{get_column_letter(len(columns))}{max(last_row, header_row + 1)}"
    ws.print_title_rows = f"{header_row}:{header_row}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = Worksheet.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0  # as many pages down as needed
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    ws.oddFooter.center.text = "第 &P 页，共 &N 页"
    ws.oddHeader.center.text = plain_text(title or name).replace("&", "&&")

    if title:
        title_cell = WriteOnlyCell(ws, value=plain_text(title))
        title_cell.data_type = "s"
        title_cell.font = _TITLE_FONT
        ws.append([title_cell])
        ws.append([])
    header = []
    for col in columns:
        cell = WriteOnlyCell(ws, value=col.header)
        cell.data_type = "s"
        cell.font = _HEADER_FONT
        cell.fill = _HEADER_FILL
        cell.alignment = _HEADER_ALIGN
        header.append(cell)
    ws.append(header)
    for row in rows:
        ws.append([cell_value(ws, row.get(col.key), col.kind) for col in columns])
    if totals is not None:
        total_cells = []
        for col in columns:
            cell = cell_value(ws, totals.get(col.key), col.kind)
            if isinstance(cell, str):
                cell = WriteOnlyCell(ws, value=cell)
            if cell is not None:
                cell.font = _TOTAL_FONT
            total_cells.append(cell)
        ws.append(total_cells)
    if not rows:
        notes = ("（本表无记录）", *notes)
    if notes:
        ws.append([])
        for note in notes:
            ws.append([cell_value(ws, note, "text")])
    return Table(name, header_row, header_row + 1, last_row, tuple(columns))


def add_bar_chart(
    wb: Workbook,
    table: Table,
    category_key: str,
    value_key: str,
    title: str,
    y_title: str = "元",
) -> None:
    """A native Excel column chart of one value column of a written table, beside the table."""
    if table.last_row < table.first_row:
        return  # nothing to chart
    ws = wb[table.sheet]
    chart = BarChart()
    chart.type = "col"
    chart.title = title
    chart.y_axis.title = y_title
    chart.y_axis.numFmt = YUAN_FORMAT
    chart.legend = None
    chart.height = 9
    chart.width = 18
    value_col = table.column_index(value_key)
    category_col = table.column_index(category_key)
    chart.add_data(
        Reference(ws, min_col=value_col, min_row=table.header_row, max_row=table.last_row),
        titles_from_data=True,
    )
    chart.set_categories(Reference(ws, min_col=category_col, min_row=table.first_row, max_row=table.last_row))
    ws.add_chart(chart, f"{get_column_letter(len(table.columns) + 2)}{table.header_row}")


def save(wb: Workbook, path: Path) -> Path:
    """Write atomically: a reader never sees half a workbook."""
    tmp = path.with_name(f".{path.stem}.tmp.xlsx")
    wb.save(tmp)
    tmp.replace(path)
    return path
