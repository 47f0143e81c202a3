"""Reading a submission batch workbook into raw rows per sheet, with the Excel row number of each row.

The reader decides nothing about values: it finds the sheets and the header row, maps Chinese or English headers
to column keys, and reports what makes a cell unreadable as such (merged, formula, error cells) or a sheet
unreadable (unknown or duplicated headers). Typing and validation happen in `pipelines.intake`.
"""

from __future__ import annotations

import unicodedata
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openpyxl.worksheet.cell_range import CellRange

from pipelines.xlsx_parts import SheetParser, WorkbookReader
from schemas.rejection import Rejection
from schemas.sheets import (
    MAX_SHEET_COLUMNS,
    MAX_SHEET_ROWS,
    MAX_WORKBOOK_BYTES,
    MAX_WORKBOOK_PARTS,
    SHEETS,
    Sheet,
)

WORKBOOK = "workbook"  # the `sheet` of a rejection about the whole file
HEADER_SEARCH_ROWS = 10
# The blank template's own helper sheets (samples/template.py): instructions and drop-down choices, never data.
INSTRUCTIONS_SHEET, CHOICES_SHEET = (
    "填写说明",
    "选项",
)  # operators put a title line or two above the header; look that far for it


@dataclass
class RawSheet:
    sheet: Sheet
    source: str = ""  # the worksheet title or CSV file name the rows came from
    # (excel row number, {column key: raw cell value}) for every non-blank data row
    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    # cells the reader already rejected (merged, formula, error cells): excel row -> column keys
    bad_cells: dict[int, set[str]] = field(default_factory=dict)
    # rows the reader rejected whole (a duplicated header makes every row ambiguous)
    rejected_rows: set[int] = field(default_factory=set)


@dataclass
class RawBatch:
    file: str
    sheets: dict[str, RawSheet] = field(default_factory=dict)
    rejections: list[Rejection] = field(default_factory=list)

    def refuse(self, part: str | None, code: str, message: str) -> None:
        """A rejection of the whole file, or of one worksheet or CSV file of it (`part`, shown as the value)."""
        self.rejections.append(Rejection(self.file, WORKBOOK, None, None, part, code, message))


def norm(text: Any) -> str:
    return unicodedata.normalize("NFKC", str(text or "")).strip().replace(" ", "").lower()


def resolve_sheet(title: str, sheets: Sequence[Sheet] = SHEETS) -> Sheet | None:
    """The sheet spec a worksheet title or CSV file stem names, by Chinese name or English key."""
    wanted = norm(title)
    return next((s for s in sheets if wanted in (norm(s.key), norm(s.name))), None)


@dataclass
class HeaderMap:
    positions: dict[int, str]  # column position (1-based) -> column key
    duplicated: bool


def map_header(
    file: str, sheet: Sheet, header_row: int, cells: Sequence[tuple[int, Any]], rejections: list[Rejection]
) -> HeaderMap:
    """Header cells (position, text) -> column keys; unknown, duplicated and missing required headers reported."""
    by_header: dict[str, str] = {}
    for column in sheet.columns:
        by_header[norm(column.header)] = column.key
        by_header[norm(column.key)] = column.key
    positions: dict[int, str] = {}
    seen: set[str] = set()
    duplicated = False
    for position, value in cells:
        if value is None or not str(value).strip():
            continue
        key = by_header.get(norm(value))
        if key is None:
            rejections.append(
                Rejection(file, sheet.key, header_row, str(value), str(value), "UNKNOWN_COLUMN",
                          f"「{sheet.name}」表头「{value}」不是模板列，该列未读取；请改用模板表头"
                          f"（{'、'.join(c.header for c in sheet.columns)}）")
            )  # fmt: skip
            continue
        if key in seen:
            duplicated = True
            rejections.append(
                Rejection(file, sheet.key, header_row, str(value), str(value), "DUPLICATE_COLUMN",
                          f"「{sheet.name}」表头「{sheet.column(key).header}」出现两次，无法判断取哪一列；"
                          "请删除重复列后重新提交，本表各行暂不受理")
            )  # fmt: skip
        seen.add(key)
        positions[position] = key
    for column in sheet.columns:
        if column.required and column.key not in seen:
            rejections.append(
                Rejection(file, sheet.key, header_row, column.header, None, "MISSING_COLUMN",
                          f"「{sheet.name}」缺少必填列「{column.header}」，请按模板补上该列")
            )  # fmt: skip
    return HeaderMap(positions, duplicated)


def find_header_row(rows: Sequence[Sequence[Any]], sheet: Sheet) -> int:
    """Index (0-based) of the first row, among the first few, that holds at least two known headers."""
    known = {norm(c.header) for c in sheet.columns} | {norm(c.key) for c in sheet.columns}
    for index, values in enumerate(rows[:HEADER_SEARCH_ROWS]):
        if sum(1 for v in values if v is not None and norm(v) in known) >= 2:
            return index
    return 0


def is_blank_row(values: dict[str, Any]) -> bool:
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in values.values())


def reject_duplicated_header_rows(file: str, raw: RawSheet, rejections: list[Rejection]) -> None:
    for row_number, _ in raw.rows:
        raw.rejected_rows.add(row_number)
        rejections.append(
            Rejection(file, raw.sheet.key, row_number, None, None, "DUPLICATE_COLUMN",
                      f"「{raw.sheet.name}」表头有重复列，本行无法确定取值；请删除重复列后重新提交")
        )  # fmt: skip


class _TooLarge(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _too_large(file: str, what: str) -> Rejection:
    return Rejection(file, WORKBOOK, None, None, None, "FILE_TOO_LARGE",
                     f"文件超出系统受理上限：{what}；文件未受理。请删除多余的行、列和内容（只保留模板工作表的数据），"
                     "或拆成几个批次后重新提交")  # fmt: skip


def _declared_size(path: Path) -> str | None:
    """What is wrong with the zip's own declared sizes, before anything is decompressed (a zip bomb says so)."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError):
        return None  # not a zip: openpyxl reports it as unreadable
    total = sum(i.file_size for i in infos)
    if len(infos) > MAX_WORKBOOK_PARTS or total > MAX_WORKBOOK_BYTES:
        return (f"解压后 {total:,} 字节、{len(infos)} 个部件（上限 {MAX_WORKBOOK_BYTES:,} 字节、"
                f"{MAX_WORKBOOK_PARTS} 个部件）")  # fmt: skip
    return None


# An OLE compound file (not a zip) is what Excel writes for a workbook with an opening password, and for the old
# .xls format: each needs its own instruction, since saving it again as the sender did would change nothing.
OLE_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
ENCRYPTED_STREAM = "EncryptionInfo".encode("utf-16-le")  # a directory entry's name, in the first sectors


def _unreadable_message(path: Path, exc: Exception) -> str:
    try:
        with path.open("rb") as f:
            head = f.read(1 << 16)
    except OSError:
        head = b""
    if head.startswith(OLE_MAGIC) and ENCRYPTED_STREAM in head:
        return ("文件设有打开密码（已加密），系统无法读取；请在 Excel 中取消密码（文件 → 信息 → 保护工作簿 → "
                "用密码进行加密，清空密码并确定）后保存为 .xlsx 重新提交")  # fmt: skip
    if head.startswith(OLE_MAGIC):
        return ("这是旧版 Excel（.xls）文件，只是扩展名为 .xlsx；请在 Excel 中打开，“另存为” Excel 工作簿（*.xlsx）"
                "后重新提交")  # fmt: skip
    return (f"文件无法作为 Excel 工作簿打开（{type(exc).__name__}），可能已损坏或不是 .xlsx 格式；"
            "请用 Excel 另存为 .xlsx 后重新提交")  # fmt: skip


def read_xlsx(
    path: Path,
    name: str | None = None,
    sheets: Sequence[Sheet] = SHEETS,
    skipped: tuple[str, ...] = (INSTRUCTIONS_SHEET, CHOICES_SHEET),
) -> RawBatch:
    """Stream the workbook (openpyxl read-only): memory stays bounded by the limits of `schemas.sheets`.
    `sheets` are the sheets the workbook may hold (a submission batch's, or the reviews sheet); worksheets named
    in `skipped` (the template's instructions) are not read."""
    file = name or path.name
    batch = RawBatch(file=file)
    declared = _declared_size(path)
    if declared is not None:
        batch.rejections.append(_too_large(file, declared))
        return batch
    try:
        reader = WorkbookReader(path, read_only=True, data_only=False)
        reader.read()
        workbook = reader.wb
    except Exception as exc:  # whatever makes a file unreadable is the operator's to fix, never a crash
        batch.refuse(None, "FILE_UNREADABLE", _unreadable_message(path, exc))
        return batch
    try:
        _read_sheets(file, workbook, batch, sheets, skipped)
    except _TooLarge as exc:
        return RawBatch(file=file, rejections=[_too_large(file, exc.message)])
    finally:
        workbook.close()
    if not batch.sheets and not batch.rejections:
        batch.refuse(None, "NO_SHEETS",
                     f"文件中没有模板工作表（{'、'.join(s.name for s in sheets)}），请使用{_template(sheets)}填写")  # fmt: skip
    return batch


def _template(sheets: Sequence[Sheet]) -> str:
    return "申报模板" if tuple(sheets) == tuple(SHEETS) else "系统生成的审核工作簿"


def _read_sheets(
    file: str, workbook: Any, batch: RawBatch, sheets: Sequence[Sheet], skipped: tuple[str, ...]
) -> None:
    for worksheet in workbook.worksheets:
        sheet = resolve_sheet(worksheet.title, sheets)
        if worksheet.title in skipped:
            continue
        if sheet is None:
            if _stream(workbook, worksheet).rows:
                batch.refuse(worksheet.title, "UNKNOWN_SHEET",
                             f"工作表「{worksheet.title}」不属于{_template(sheets)}，未读取；如有数据请移入模板对应工作表"
                             f"（{'、'.join(s.name for s in sheets)}）")  # fmt: skip
            continue
        if sheet.key in batch.sheets:
            batch.refuse(worksheet.title, "DUPLICATE_SHEET",
                         f"工作表「{worksheet.title}」与「{batch.sheets[sheet.key].source}」是同一张表，"
                         "未读取；请合并为一个工作表后重新提交")  # fmt: skip
            continue
        batch.sheets[sheet.key] = _read_sheet(file, sheet, _stream(workbook, worksheet), batch.rejections)


@dataclass
class _Cell:
    row: int
    column: int
    value: Any
    data_type: str


@dataclass
class _Streamed:
    title: str
    rows: list[list[_Cell]]  # only rows with a non-empty cell, each with only its non-empty cells
    merged: list[CellRange]


def _stream(workbook: Any, worksheet: Any) -> _Streamed:
    """The sheet's non-empty cells, parsed by openpyxl's own streaming sheet parser (the one its read-only
    worksheets use) without their padding to the sheet's extent: a lone cell at XFD1048576 costs one cell, and
    it is refused because it lies beyond the limits, not after a billion empty cells were made."""
    rows: list[list[_Cell]] = []
    with worksheet._get_source() as source:
        parser = SheetParser(source, worksheet._shared_strings, data_only=False, epoch=workbook.epoch,
                                 date_formats=workbook._date_formats,
                                 timedelta_formats=workbook._timedelta_formats)  # fmt: skip
        for index, cells in parser.parse():
            present = [_Cell(index, c["column"], c["value"], c["data_type"]) for c in cells
                       if c["value"] is not None]  # fmt: skip
            if not present:
                continue
            if index > MAX_SHEET_ROWS:
                raise _TooLarge(
                    f"工作表「{worksheet.title}」第 {index:,} 行有内容（上限 {MAX_SHEET_ROWS:,} 行）"
                )
            far = max(c.column for c in present)
            if far > MAX_SHEET_COLUMNS:
                raise _TooLarge(
                    f"工作表「{worksheet.title}」第 {index:,} 行第 {far:,} 列有内容（上限 {MAX_SHEET_COLUMNS} 列）"
                )
            rows.append(present)
        merges = parser.merged_cells.mergeCell if parser.merged_cells is not None else []
    return _Streamed(worksheet.title, rows, [CellRange(m.ref) for m in merges])


def _merged_index(ranges: list[CellRange], header_row: int, last_row: int) -> dict[int, list[CellRange]]:
    """Column -> merged ranges over data rows, clipped to the rows that hold anything at all."""
    by_column: dict[int, list[CellRange]] = {}
    for rng in ranges:
        if rng.max_row <= header_row or rng.min_row > last_row:
            continue
        for column in range(rng.min_col, min(rng.max_col, MAX_SHEET_COLUMNS) + 1):
            by_column.setdefault(column, []).append(rng)
    return by_column


def _read_sheet(file: str, sheet: Sheet, streamed: _Streamed, rejections: list[Rejection]) -> RawSheet:
    raw = RawSheet(sheet, source=streamed.title)
    all_rows = streamed.rows
    if not all_rows:
        return raw
    header_index = find_header_row([[c.value for c in row] for row in all_rows], sheet)
    header_cells = all_rows[header_index]
    header_row = header_cells[0].row
    header = map_header(file, sheet, header_row, [(c.column, c.value) for c in header_cells], rejections)
    if not header.positions:
        _reject_headerless(file, sheet, raw, all_rows[header_index + 1 :], rejections)
        return raw
    data = {row[0].row: row for row in all_rows[header_index + 1 :]}
    last_row = max(data, default=header_row)
    merged = _merged_index(streamed.merged, header_row, last_row)
    merged_rows = {r for rngs in merged.values() for rng in rngs
                   for r in range(max(rng.min_row, header_row + 1), min(rng.max_row, last_row) + 1)}  # fmt: skip
    headers = {c.key: c.header for c in sheet.columns}
    keys = {c.header: c.key for c in reversed(sheet.columns)}  # the first column of a header, as before
    for row_number in sorted(set(data) | merged_rows):
        cells = {c.column: c for c in data.get(row_number, [])}
        values: dict[str, Any] = {}
        problems: list[Rejection] = []
        for position, key in header.positions.items():
            cell = cells.get(position)
            value = None if cell is None else cell.value
            values[key] = value
            inside = next((r for r in merged.get(position, ()) if r.min_row <= row_number <= r.max_row), None)
            unreadable = _unreadable(headers[key], cell, value, inside)
            if unreadable is not None:
                problems.append(
                    Rejection(file, sheet.key, row_number, headers[key], _str(value), *unreadable)
                )
        if is_blank_row(values) and not problems:
            continue
        raw.rows.append((row_number, values))
        for problem in problems:
            raw.bad_cells.setdefault(row_number, set()).add(keys[problem.column or ""])
        rejections.extend(problems)
    if header.duplicated:
        reject_duplicated_header_rows(file, raw, rejections)
    return raw


def _unreadable(
    header: str, cell: _Cell | None, value: Any, inside: CellRange | None
) -> tuple[str, str] | None:
    """(code, message) when a cell cannot be read as typed: inside a merged range, a formula, an error value."""
    if inside is not None:
        return "MERGED_CELL", f"{header}处于合并单元格 {inside.coord} 中；请取消合并，并在每一行填写完整的值"
    if cell is not None and cell.data_type == "f":
        return (
            "FORMULA_CELL",
            f"{header}是公式「{_str(value)}」，系统不计算公式；请复制该列后“选择性粘贴—数值”再提交",
        )
    if cell is not None and cell.data_type == "e":
        return "CELL_ERROR", f"{header}显示错误值「{_str(value)}」，请改为正确的数值后重新提交"
    return None


def _reject_headerless(
    file: str, sheet: Sheet, raw: RawSheet, rows: list[list[_Cell]], rejections: list[Rejection]
) -> None:
    """No template header at all: every non-blank row is received and sent back, none is dropped silently."""
    for cells in rows:
        if all(c.value is None or not str(c.value).strip() for c in cells):
            continue
        row_number = cells[0].row
        raw.rows.append((row_number, {}))
        raw.rejected_rows.add(row_number)
        rejections.append(
            Rejection(file, sheet.key, row_number, None, None, "HEADER_NOT_FOUND",
                      f"「{sheet.name}」前 {HEADER_SEARCH_ROWS} 行中找不到模板表头，本行无法读取；"
                      "请把模板表头放在第一行后重新提交")
        )  # fmt: skip


def _str(value: Any) -> str | None:
    return None if value is None else str(value)
