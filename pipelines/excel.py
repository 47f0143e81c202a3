"""Writing workbooks officials print, sign and file as they are: a title frame, a ruled table with 序号 first,
Chinese headers, yuan formats, long text wrapped in bounded columns, a sign-off block, A4 landscape print setup,
native charts below their table — and nothing an enterprise typed can become a formula or a link.

Print: the columns marked `screen` (信用代码, source file, 代码) come after the printed ones and stay outside the
print area, so that fitting the printed columns to the width of an A4 landscape page keeps the body text at
10–11 pt; margins are 1 cm, the header row repeats on every page of a table, the footer says 第 X 页 共 N 页.
A chart sits below its table across the printed columns; one that does not fit under the table starts the next
page, and the header row then repeats only if the table itself runs over its first page (a header row alone
above a chart reads as an empty table).

Workbooks are written in openpyxl's streaming (write-only) mode: a department report over ten thousand
applications holds no cell objects in memory. Each column's cell style (border, number format, wrap, fill) is
registered once per sheet and shared by its cells, which keeps a ruled table as cheap to write as a bare one.
"""

from __future__ import annotations

import math
import os
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.pagebreak import Break
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

from pipelines.row_cache import CACHED_FROM, Kept, RowCache
from pipelines.sheet_rows import (
    Block,
    Cells,
    ColumnStyle,
    Memo,
    Row,
    encoder,
    install,
    is_missing,
    plain_text,
    register,
    rows_xml,
    write_workbook,
)

YUAN_FORMAT = "#,##0.00"
QTY_FORMAT = "#,##0.00"
INT_FORMAT = "#,##0"
PCT_FORMAT = "0.00%"
DATE_FORMAT = "yyyy-mm-dd"
FORMATS = {
    "yuan": YUAN_FORMAT,
    "wan": YUAN_FORMAT,
    "qty": QTY_FORMAT,
    "int": INT_FORMAT,
    "pct": PCT_FORMAT,
    "date": DATE_FORMAT,
}
SEQ_HEADER = "序号"
CODE_HEADER = "代码"  # the trailing column that holds program codes, for filtering; never printed
TOTAL = "合计"
SUBTOTAL = "小计"
_THIN = Side(style="thin", color="808080")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
# Restrained fills: an official sees at a glance which rows were refused or wait for a person.
FILLS = {
    "rejected": PatternFill("solid", fgColor="EDEDED"),
    "review": PatternFill("solid", fgColor="FFF2CC"),
}
# named, so that LibreOffice does not fall back to a serif face for bold cells
_BOLD = Font(name="Calibri", size=11, bold=True)
_TITLE_FONT = Font(name="Calibri", size=16, bold=True)
_WRAP_TOP = Alignment(wrap_text=True, vertical="top")
_TOP = Alignment(vertical="top")
_CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
_MAX_WIDTH = 24  # an unbounded column is fitted to its content up to this; wider text gets a bounded width
_MAX_SCREEN_WIDTH = 40  # the same for a screen-only column (after the printed ones), which never prints
_WIDTH_SAMPLE = 500  # rows looked at to fit a column: enough to see the long names, cheap at any size
_HEADER_ROW = 5  # title, two frame lines, a blank row, then the header
_CM = 1 / 2.54  # openpyxl margins are in inches
ROW_PT = 15  # the default row height, in points: the rows a chart below a table takes are counted in it
# The page header and footer lines sit 1 cm from the paper's edge, just room for one 10 pt line before the body's
# 1.5 cm margin. With more room (0.6 cm from the edge) LibreOffice laid a sheet's pages out differently when
# counting them and when printing them, and printed a blank page after some sheets (every 退回行 of the sample).
_HEADER_CM = 1.0


@dataclass(frozen=True)
class Col:
    header: str
    key: str
    kind: str = "text"  # text | yuan | wan | qty | int | pct | date
    width: int | None = None  # a bounded width: the text wraps inside it, top-aligned
    screen: bool = False  # screen only: after the printed columns, outside the print area


@dataclass(frozen=True)
class Frame:
    """The lines above every table: what it is, who made it, in what unit, as of when, under which rulebook."""

    title: str
    organisation: str
    as_of: date
    rulebook_version: str
    generated_at: datetime
    unit: str = "元"

    def lines(self) -> tuple[str, str]:
        return (
            f"编制单位：{self.organisation}    单位：{self.unit}    数据截至：{self.as_of.isoformat()}",
            f"规则版本：{self.rulebook_version}    生成时间：{self.generated_at:%Y-%m-%d %H:%M}（北京时间）",
        )


@dataclass(frozen=True)
class Table:
    """Where a written table sits, so charts and checks can point at its cells."""

    sheet: str
    header_row: int
    first_row: int
    last_row: int  # the last data row (== header_row when there are no rows)
    columns: tuple[Col, ...]
    next_row: int  # the first row below everything written (notes, sign-off): where a chart starts
    chart_rows: int = 0  # the rows left below `next_row` for a chart

    @property
    def printed_columns(self) -> int:
        return sum(1 for c in self.columns if not c.screen)

    def column_index(self, key: str) -> int:
        return next(i for i, c in enumerate(self.columns, start=1) if c.key == key)


ROW_CACHE = "alu_row_cache"  # the attribute of a workbook whose large tables' rows may be reused


def new_workbook(row_cache: RowCache | None = None) -> Workbook:
    """A write-only workbook; with `row_cache`, its large tables reuse rows written before (pipelines/row_cache.py)."""
    wb = Workbook(write_only=True)
    setattr(wb, ROW_CACHE, row_cache)
    return wb


def _style(ws: Any, kind: str, *, wrap: bool, fill: PatternFill | None = None, bold: bool = False) -> Any:
    """The style array of one kind of table cell, registered in the workbook once."""
    probe = WriteOnlyCell(ws)
    probe.border = _BORDER
    probe.alignment = _WRAP_TOP if wrap else _TOP
    if kind in FORMATS:
        probe.number_format = FORMATS[kind]
    if fill is not None:
        probe.fill = fill
    if bold:
        probe.font = _BOLD
    return probe._style


_WIDE = re.compile("[\u2e81-\U0010ffff]")


@lru_cache(maxsize=1 << 16)  # names repeat on every row
def display_width(text: str) -> int:
    # CJK characters (from U+2E81 on) take two columns in Excel's default fonts
    return len(text) + len(_WIDE.findall(text))


def _shown(value: Any, kind: str) -> str:
    if is_missing(value):
        return ""
    if kind in ("yuan", "wan", "qty") and isinstance(value, Decimal | int):
        return f"{value:,.2f}"
    if kind == "int" and isinstance(value, Decimal | int):
        return f"{value:,}"
    if kind == "pct":
        return f"{value * 100:.2f}%" if isinstance(value, Decimal | int) else "100.00%"
    if kind == "date":
        return "2026-01-01"
    return str(value)


# A figure never wraps: one too wide for its column prints as ###.
_FIGURES = ("yuan", "wan", "qty", "int", "pct")


def _widths(
    columns: Sequence[Col], rows: Sequence[dict[str, Any]], totals: dict[str, Any] | None = None
) -> list[int]:
    widths = []
    for col in columns:
        if col.kind in _FIGURES:
            # the widest figure of every row and of the 合计, not of a sample: the longest is the largest in size
            figures = [v for r in (*rows, totals or {}) if isinstance(v := r.get(col.key), Decimal | int)]
            ends = (min(figures), max(figures)) if figures else ()
            fit = max((display_width(_shown(v, col.kind)) + 2 for v in ends), default=0)
        else:
            fit = 0
        if col.width is not None:
            widths.append(max(col.width, fit))
            continue
        # headers wrap, so a column need only be as wide as the header's longest half
        header = max(8, math.ceil(display_width(col.header) / 2) + 2)
        if col.screen:
            # Off the page, so it costs the print nothing to fit its values whole, measured as the row heights
            # measure them (`_text_units`): at 24, 按类别's code DEEP_PROCESSING_INTEREST made its row two lines
            # tall on paper with the second line empty.
            widest = max([header] + [math.ceil(_text_units(str(_shown(r.get(col.key), col.kind)))) + 2
                                     for r in rows[:_WIDTH_SAMPLE]])  # fmt: skip
            widths.append(max(min(widest, _MAX_SCREEN_WIDTH), fit))
            continue
        widest = max(
            [header] + [display_width(_shown(r.get(col.key), col.kind)) + 2 for r in rows[:_WIDTH_SAMPLE]]
        )
        widths.append(max(min(widest, _MAX_WIDTH), fit))
    return widths


def _text_row(ws: Any, text: str, style: Any, span: int) -> tuple[list[Any], str | None]:
    """One line of text merged across the printed columns (a template of the range, for its row)."""
    cell = WriteOnlyCell(ws, value=None)
    cell._value, cell.data_type = plain_text(text), "s"
    cell._style = style
    return [cell], (f"A{{row}}:{get_column_letter(span)}{{row}}" if span > 1 else None)


def _print_setup(ws: Any, printed: int, header_row: int, title: str) -> None:
    ws.freeze_panes = f"A{header_row + 1}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = Worksheet.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0  # as many pages down as needed
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    ws.page_margins = PageMargins(
        left=_CM, right=_CM, top=1.5 * _CM, bottom=1.5 * _CM, header=_HEADER_CM * _CM, footer=_HEADER_CM * _CM
    )
    ws.print_options.horizontalCentered = True
    ws.oddFooter.center.text = "第 &P 页 共 &N 页"
    ws.oddFooter.center.size = 10
    ws.oddHeader.center.text = plain_text(title).replace("&", "&&")
    ws.oddHeader.center.size = 10


@lru_cache(maxsize=1 << 16)  # names repeat on every row
def _lines_needed(text: str, width: float) -> int:
    """How many lines a text wraps to in a column. A CJK character (3 bytes in UTF-8, counted at C speed) is
    about 1.8 column units wide at 11 pt (2 in Excel's Chinese fonts, 1.6 in LibreOffice's fallback), a digit or
    Latin letter up to 1.15 (LibreOffice's fallback for Calibri is wider than Calibri)."""
    return max(1, math.ceil(_text_units(text) / max(width - 1, 1)))


def _text_units(text: str) -> float:
    """The width of a text on one line, in column units, as `_lines_needed` counts it."""
    chars = len(text)
    cjk = (len(text.encode()) - chars) / 2
    return 1.15 * (chars - cjk) + 1.8 * cjk


def _line_counts(width: float) -> Memo:
    """The lines each value of a wrapped column takes, looked up by value down the column."""
    return Memo(lambda value: _lines_needed(str(value), width), (str,))


_PAGE_PT = 510  # the printable height of an A4 landscape page within our margins, in points


_LINE_PT = 13.5  # the height of one line of 11 pt text, CJK fonts included
# The tallest row Excel keeps (its limit is 409 points; a taller `ht` is beyond what it can show), some 30 lines:
# a longer text is whole in its cell, and the printed row shows what fits.
MAX_ROW_PT = 409.0


def _wrapped_height(lines: int, line_pt: float = _LINE_PT, padding: float = 3) -> float:
    return min(line_pt * lines + padding, MAX_ROW_PT)


def write_table(
    wb: Workbook,
    name: str,
    columns: Sequence[Col],
    rows: Sequence[dict[str, Any]],
    *,
    frame: Frame,
    numbered: bool = True,
    totals: dict[str, Any] | None = None,
    notes: Sequence[str] = (),
    sign_off: Sequence[str] = (),
    chart_rows: int = 0,
) -> Table:
    """A sheet holding one table under its title frame: a styled header row (frozen, filtered, repeated on every
    printed page of the table), 序号 first, ruled rows; subtotal rows (`row["_subtotal"]`) and the totals row are bold and
    unnumbered, and sit inside the table; notes and the sign-off block follow outside the filter, so that
    sorting never moves them. A row's `_fill` ("rejected" | "review") shades it. `chart_rows` leaves that many
    rows for a chart below, inside the print area (charts.chart_rows)."""
    columns = ([Col(SEQ_HEADER, "_seq", "int", width=5)] if numbered else []) + list(columns)
    printed = [c for c in columns if not c.screen]
    if columns[: len(printed)] != printed:
        raise ValueError(f"{name}: screen-only columns must come after the printed ones")
    ws = wb.create_sheet(name)
    cache: RowCache | None = getattr(wb, ROW_CACHE, None)
    kept_key, kept = None, None
    if cache is not None and len(rows) >= CACHED_FROM:
        # everything the rows and the widths are made from (pipelines/row_cache.py): same digest, same bytes
        read = [c.key for c in columns] + ["_subtotal", "_fill"]
        kept_key = cache.key(
            (name, [(c.header, c.key, c.kind, c.width, c.screen) for c in columns], totals, wb.epoch),
            [tuple(map(row.get, read)) for row in rows],
        )
        kept = None if kept_key is None else cache.get(kept_key)
    widths = kept.widths if kept is not None else _widths(columns, rows, totals)
    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    span = len(printed)
    printed_width = sum(widths[:span])
    header_row = _HEADER_ROW
    _print_setup(ws, span, header_row, frame.title)

    title_style = WriteOnlyCell(ws)
    title_style.font, title_style.alignment = _TITLE_FONT, _CENTER
    line_style = WriteOnlyCell(ws)
    line_style.alignment = Alignment(horizontal="left", vertical="center")
    merged: list[str] = []
    heights: list[float] = []  # of every row written, in points: where a chart would start on the page
    row_no = 0

    def put(cells: list[Any] | Row, merge: str | None = None, height: float | None = None) -> None:
        nonlocal row_no
        row_no += 1
        if merge:
            merged.append(merge.format(row=row_no))
        if height is not None and not isinstance(cells, Row):  # a Row carries its own height
            ws.row_dimensions[row_no].height = height
        heights.append(height or 15)
        ws.append(cells)

    put(*_text_row(ws, frame.title, title_style._style, span), height=30)
    for line in frame.lines():
        put(*_text_row(ws, line, line_style._style, span))
    put([])

    header_style = WriteOnlyCell(ws)
    header_style.font, header_style.fill, header_style.alignment, header_style.border = (
        _BOLD,
        _HEADER_FILL,
        _CENTER,
        _BORDER,
    )
    header = []
    for col in columns:
        cell = WriteOnlyCell(ws, value=None)
        cell._value, cell.data_type = col.header, "s"
        cell._style = header_style._style
        header.append(cell)
    header_lines = max(_lines_needed(c.header, w) for c, w in zip(columns, widths, strict=True))
    put(header, height=_wrapped_height(header_lines, padding=4) if header_lines > 1 else None)

    install(ws)
    wraps = [c.width is not None or c.kind == "text" for c in columns]
    registered: dict[tuple[str, bool, str, bool], ColumnStyle] = {}  # a sheet's columns share a few styles

    def column_styles(fill: str = "", bold: bool = False) -> list[ColumnStyle]:
        out = []
        for c, w in zip(columns, wraps, strict=True):
            key = (c.kind, w, fill, bold)
            if key not in registered:
                registered[key] = register(wb, _style(ws, c.kind, wrap=w, fill=FILLS.get(fill), bold=bold))
            out.append(registered[key])
        return out

    keys = [c.key for c in columns]
    lead = 1 if numbered else 0  # the 序号 cell comes from the row's number, not from the row

    def encoders(styles: Sequence[ColumnStyle]) -> tuple[Cells | None, list[tuple[Cells, str]]]:
        encoders = [encoder(c.kind, style, wb.epoch) for c, style in zip(columns, styles, strict=True)]
        return (encoders[0] if numbered else None), list(zip(encoders, keys, strict=True))[lead:]

    def cells(
        row: dict[str, Any], encoders: tuple[Cells | None, list[tuple[Cells, str]]], seq: Any = None
    ) -> str:
        number, rest = encoders
        get = row.get
        body = "".join([cells[get(k)] for cells, k in rest])
        return body if number is None else number[seq] + body

    styles_used = {"": column_styles(), "bold": column_styles(bold=True)} | {
        k: column_styles(fill=k) for k in FILLS
    }
    plain_cells, bold_cells = encoders(styles_used[""]), encoders(styles_used["bold"])
    filled_cells = {k: encoders(styles_used[k]) for k in FILLS}
    # LibreOffice and Excel do not grow a row for its wrapped text when reading a file: the writer sizes it
    # (every text column wraps, a fitted one too: its text may be longer than the widest it is fitted to)
    wrapped = [(_line_counts(w), c.key) for c, w in zip(columns, widths, strict=True) if c.kind == "text"]

    def body() -> list[tuple[str, float | None]]:
        out = []
        seq = 0
        for row in rows:
            if row.get("_subtotal"):
                styles, number = bold_cells, None
            else:
                seq += 1
                styles, number = filled_cells.get(row.get("_fill") or "", plain_cells), seq
            lines = max([memo[v] for memo, k in wrapped if (v := row.get(k))] or [1])
            out.append((cells(row, styles, number), _wrapped_height(lines) if lines > 1 else None))
        return out

    if cache is None or kept_key is None:
        for xml, height in body():
            put(Row(xml, height), height=height)
    else:
        # the rows' XML holds the styles' ids and the rows' numbers: kept rows are used where those are the same
        context = repr((styles_used, row_no))
        if kept is None or kept.context != context:
            computed = body()
            block = rows_xml(computed, row_no + 1).encode()
            kept = Kept(context, widths, block, [h for _, h in computed])
            cache.put(kept_key, kept)
        ws.append(Block(kept.xml, len(kept.heights)))
        row_no += len(kept.heights)
        heights.extend(h or 15 for h in kept.heights)
    last_row = row_no
    if totals is not None:
        put(Row(cells(totals, bold_cells)))
    filter_end = max(last_row, header_row + 1)
    ws.auto_filter.ref = f"A{header_row}:{get_column_letter(len(columns))}{filter_end}"

    note_style = WriteOnlyCell(ws)
    note_style.alignment = Alignment(wrap_text=True, vertical="top")
    if not rows:
        notes = ("（本表无记录）", *notes)
    if notes:
        put([])
        for note in notes:
            put(
                *_text_row(ws, note, note_style._style, span),
                height=_wrapped_height(_lines_needed(note, printed_width), 16, 0),
            )
    if sign_off:
        put([])
        put(*_text_row(ws, "    ".join(sign_off), line_style._style, span), height=24)
    above_chart = sum(heights)
    if not chart_rows or above_chart > _PAGE_PT:
        ws.print_title_rows = f"{header_row}:{header_row}"
    if chart_rows:
        if above_chart + ROW_PT * (1 + chart_rows) > _PAGE_PT:
            # A chart never splits across pages: it starts the next one, a blank row down (a chart starting
            # right at the break would leave its top edge at the foot of the table's page).
            ws.row_breaks.append(Break(id=row_no))
        put([])
        for _ in range(chart_rows):
            put([], height=ROW_PT)  # its height, in every application
    next_row = row_no + 1 - chart_rows if chart_rows else row_no + 2
    for ref in merged:
        ws.merged_cells.add(ref)
    ws.print_area = f"A1:{get_column_letter(span)}{row_no}"
    return Table(name, header_row, header_row + 1, last_row, tuple(columns), next_row, chart_rows)


def save(wb: Workbook, path: Path) -> Path:
    """Write atomically: a reader never sees half a workbook. The temporary file is this writer's own (two runs
    writing the same report at once would otherwise write into one file and rename it from under each other),
    and a write that fails (a full disk) removes it and leaves the report as it was."""
    if not wb.write_only:
        raise ValueError("report workbooks are written in write-only mode (new_workbook)")
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.{threading.get_ident()}.tmp.xlsx")
    try:
        write_workbook(wb, tmp)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
