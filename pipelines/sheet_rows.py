"""The rows of a report table, written as the text of their XML into a write-only sheet.

openpyxl's write-only sheets build a `Cell` per value and look its style up per cell; over a ruled table of a
quarter of a million cells (every cell bordered, blanks included) that costs several times the rest of the
report. Here each column's styles are registered in the workbook once, each column's cells are looked up by
value (`Cells`), and a row is the text of the elements openpyxl would write (inline strings, numbers, Excel
serial dates), put into the sheet's XML where openpyxl's stream left a mark for it (`install`, `archive_sheet`).

Text is always a string cell, never a formula: text that a spreadsheet could read as the start of a formula gets
the column's quotePrefix style, so that it stays text even when an official edits it in Excel. Amounts are
written from their `Decimal` digits; no amount passes through a float.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple
from xml.sax.saxutils import escape
from zipfile import ZIP_DEFLATED, ZipFile

from lxml.etree import ProcessingInstruction, tostring
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.drawing.spreadsheet_drawing import SpreadsheetDrawing
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils.datetime import to_excel
from openpyxl.writer.excel import ExcelWriter

# What a spreadsheet may read as the start of a formula (OWASP "CSV injection"); tab and CR hide one.
DANGEROUS_START = ("=", "+", "-", "@", "\t", "\r")
EXCEL_MAX_TEXT = 32767  # characters per cell; longer text makes Excel refuse to open the file
NUMBER_KINDS = ("yuan", "wan", "qty", "pct")
_PRESERVE = ' xml:space="preserve">'


@lru_cache(maxsize=1 << 16)  # names, cities and labels repeat on every row
def plain_text(value: Any) -> str:
    """Text as it may stand in a cell: characters XML cannot carry removed, cut to what Excel accepts."""
    text = ILLEGAL_CHARACTERS_RE.sub("", str(value))
    if len(text) > EXCEL_MAX_TEXT:
        text = text[: EXCEL_MAX_TEXT - 1] + "…"
    return text


def is_missing(value: Any) -> bool:
    # pandas hands text columns over with NaN for blanks
    return value is None or (isinstance(value, float) and math.isnan(value))


def typed(value: Any, kind: str) -> Any:
    """The value a cell of this kind holds; text stays text (a bool reads 是/否), amounts stay Decimal."""
    if is_missing(value):
        return None
    if kind == "text":
        if isinstance(value, bool):
            return "是" if value else "否"
        return plain_text(value)
    if kind in NUMBER_KINDS:
        return value if isinstance(value, Decimal | int) else Decimal(str(value))
    if kind == "date":
        return value if isinstance(value, date | datetime) else date.fromisoformat(str(value))
    if kind == "int":
        return int(value)
    raise ValueError(f"unknown column kind {kind}")


@dataclass(frozen=True)
class ColumnStyle:
    """A column's registered style as the opening of its cells: blank, text, quoted text (quotePrefix, for text
    that looks like a formula) and number. Built once per sheet."""

    blank: str
    text: str
    quoted: str
    number: str


def register(wb: Any, style: StyleArray) -> ColumnStyle:
    quoted = StyleArray(style)
    quoted.quotePrefix = 1
    sid, qid = wb._cell_styles.add(style), wb._cell_styles.add(quoted)
    return ColumnStyle(
        f'<c s="{sid}"/>',
        f'<c s="{sid}" t="inlineStr"><is><t',
        f'<c s="{qid}" t="inlineStr"><is><t',
        f'<c s="{sid}" t="n"><v>',
    )


def _number(value: Decimal | int | float) -> str:
    return format(value, "f") if isinstance(value, Decimal) else str(value)


def _text_xml(style: ColumnStyle, text: str) -> str:
    opening = style.quoted if text.startswith(DANGEROUS_START) else style.text
    return f"{opening}{_PRESERVE if text != text.strip() else '>'}{escape(text)}</t></is></c>"


class Memo(dict[Any, Any]):
    """`memo[value]` is `make(value)`, kept for a value of a `keep` class and looked up at C speed after: names,
    cities, labels, dates and counts repeat down a column. Only those classes: an int and a bool, or
    Decimal("1.0") and Decimal("1.00"), are equal keys of a dict but are not written alike."""

    def __init__(self, make: Callable[[Any], Any], keep: tuple[type, ...], blank: Any = None) -> None:
        super().__init__({None: blank})
        self.make, self.keep = make, keep

    def __missing__(self, value: Any) -> Any:
        xml = self.make(value)
        if value.__class__ in self.keep:
            self[value] = xml
        return xml


Cells = Memo  # one column's cells: `cells[value]` is the XML of the cell holding a row's raw value


def encoder(kind: str, style: ColumnStyle, epoch: Any) -> Cells:
    """The cells of one column, as XML, from a row's raw values: `typed`, then the cell openpyxl would write
    (an inline string, a number, an Excel serial date)."""
    if kind == "text":

        def text(value: Any) -> str:
            shown = typed(value, "text")
            return style.blank if shown is None else _text_xml(style, shown)

        return Cells(text, (str,), style.blank)

    def number(value: Any) -> str:
        shown = typed(value, kind)
        if shown is None:
            return style.blank
        xml = _number(to_excel(shown, epoch) if isinstance(shown, date) else shown)
        return f"{style.number}{xml}</v></c>"

    # an int column's values are all written as int(value): 1, True and 1.0 alike
    keep = (str, date) if kind == "date" else (int,) if kind == "int" else ()
    return Cells(number, keep, style.blank)


class Row(NamedTuple):
    """One table row for `install`'s writer: its cells' XML (from `encoder`s) and a height. A tuple, as
    `ws.append` wants."""

    cells: str
    height: float | None = None


class Block(NamedTuple):
    """Consecutive rows taken whole by `ws.append`: their XML as `rows_xml` writes it, numbered from the row
    where the block is appended (a block kept from another sheet is appended at the same row number)."""

    xml: bytes  # UTF-8
    size: int  # rows


def rows_xml(rows: list[tuple[str, float | None]], first: int) -> str:
    """The XML of consecutive rows (cells' XML and height each), the first numbered `first`."""
    return "".join([_row_xml(Row(cells, height), first + i) for i, (cells, height) in enumerate(rows)])


# Where a run of `Row`s goes in the sheet's XML until `archive_sheet` puts their text there. A processing instruction
# cannot occur anywhere else in a sheet openpyxl writes: the `<` of any text is written escaped.
_MARK = tostring(ProcessingInstruction("alu-rows"))


class _Rows:
    """The text of a sheet's `Row`s, in runs of consecutive rows, each run marked in the sheet's stream."""

    def __init__(self) -> None:
        self.runs: list[list[str | bytes]] = []
        self.open = False  # the last row written was a Row: the next one joins its run


def _row_xml(row: Row, row_idx: int) -> str:
    """One <row>. Its cells are in column order without a reference: the `r` of a cell is optional in
    SpreadsheetML and every row writes all its cells, so each cell's column is its place in the row."""
    height = "" if row.height is None else f' ht="{row.height}" customHeight="1"'
    return f'<row r="{row_idx}"{height}>{row.cells}</row>'


def install(ws: Any) -> None:
    """Let `ws.append` take a `Row` or a `Block`; any other row goes through openpyxl as usual. A Row is kept as text, a
    mark in openpyxl's stream where each run of them goes, and `archive_sheet` writes them there: handing each
    row to lxml cost more than all the rest of writing a report (it parsed the row's text only to serialise the
    same text again). Call after the sheet's first row is appended (openpyxl creates the sheet's writer then)."""
    writer = ws._writer
    write_row, values_to_row = writer.write_row, ws._values_to_row
    rows = ws._alu_rows = _Rows()
    shift = 0  # the rows of the blocks appended so far beyond the one openpyxl counted for each

    def to_row(values: Any, row_idx: int) -> Any:
        return values if isinstance(values, Row | Block) else values_to_row(values, row_idx + shift)

    def write(xf: Any, row: Any, row_idx: int) -> None:
        nonlocal shift
        if isinstance(row, Row | Block):
            if not rows.open:
                xf.write(ProcessingInstruction("alu-rows"))
                rows.runs.append([])
                rows.open = True
            if isinstance(row, Block):
                if row.size < 1:
                    raise ValueError("an empty block takes no row")
                rows.runs[-1].append(row.xml)
                shift += row.size - 1
            else:
                rows.runs[-1].append(_row_xml(row, row_idx + shift))
        else:
            rows.open = False
            write_row(xf, row, row_idx + shift)

    ws._values_to_row = to_row
    writer.write_row = write


def archive_sheet(ws: Any, archive: ZipFile, name: str) -> None:
    """Put a closed write-only sheet into the workbook's archive as `name`: the file openpyxl wrote for it, with
    the text of its Rows where `install` marked them."""
    runs = ws._alu_rows.runs if hasattr(ws, "_alu_rows") else []
    pieces = Path(ws._writer.out).read_bytes().split(_MARK)
    if len(pieces) != len(runs) + 1:
        raise RuntimeError(f"{ws.title}: {len(pieces) - 1} row marks for {len(runs)} runs of rows")
    with archive.open(name, "w") as out:
        out.write(pieces[0])
        for run, piece in zip(runs, pieces[1:], strict=True):
            text: list[str] = []  # a Row's text; a Block's is bytes already
            for part in run:
                if isinstance(part, bytes):
                    out.write("".join(text).encode())
                    out.write(part)
                    text = []
                else:
                    text.append(part)
            out.write("".join(text).encode())
            out.write(piece)


class _Writer(ExcelWriter):
    """openpyxl's workbook writer; a write-only sheet goes into the archive with its rows (`archive_sheet`)."""

    def write_worksheet(self, ws: Any) -> None:
        # openpyxl 3.1.5's ExcelWriter.write_worksheet for write-only sheets, but for the copy into the archive
        ws._drawing = SpreadsheetDrawing()
        ws._drawing.charts = ws._charts
        ws._drawing.images = ws._images
        if not ws.closed:
            ws.close()
        ws._rels = ws._writer._rels
        archive_sheet(ws, self._archive, ws.path[1:])
        self.manifest.append(ws)
        ws._writer.cleanup()


def write_workbook(wb: Any, path: Path) -> None:
    """What openpyxl's Workbook.save does for a write-only workbook, with its sheets' rows put in place, deflated
    at level 1: zlib's default 6 took three times as long for files a third smaller."""
    wb.properties.modified = datetime.now(tz=UTC).replace(tzinfo=None)
    _Writer(wb, ZipFile(path, "w", ZIP_DEFLATED, allowZip64=True, compresslevel=1)).save()
