"""Reading a submission batch workbook into raw rows per sheet, with the Excel row number of each row.

The reader decides nothing about values: it finds the sheets and the header row, maps Chinese or English headers
to column keys, and reports what makes a cell unreadable as such (merged, formula, error cells) or a sheet
unreadable (unknown or duplicated headers). Typing and validation happen in `pipelines.intake`.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openpyxl import load_workbook

from schemas.rejection import Rejection
from schemas.sheets import SHEETS, Sheet

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


def norm(text: Any) -> str:
    return unicodedata.normalize("NFKC", str(text or "")).strip().replace(" ", "").lower()


def resolve_sheet(title: str) -> Sheet | None:
    """The sheet spec a worksheet title or CSV file stem names, by Chinese name or English key."""
    wanted = norm(title)
    return next((s for s in SHEETS if wanted in (norm(s.key), norm(s.name))), None)


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


def read_xlsx(path: Path) -> RawBatch:
    batch = RawBatch(file=path.name)
    try:
        workbook = load_workbook(path, data_only=False)
    except Exception as exc:  # whatever makes a file unreadable is the operator's to fix, never a crash
        batch.rejections.append(
            Rejection(path.name, WORKBOOK, None, None, None, "FILE_UNREADABLE",
                      f"文件无法作为 Excel 工作簿打开（{type(exc).__name__}），可能已损坏或不是 .xlsx 格式；"
                      "请用 Excel 另存为 .xlsx 后重新提交")
        )  # fmt: skip
        return batch
    for worksheet in workbook.worksheets:
        sheet = resolve_sheet(worksheet.title)
        if worksheet.title in (INSTRUCTIONS_SHEET, CHOICES_SHEET):
            continue
        if sheet is None:
            if worksheet.max_row > 1 or worksheet.cell(1, 1).value is not None:
                batch.rejections.append(
                    Rejection(path.name, WORKBOOK, None, None, worksheet.title, "UNKNOWN_SHEET",
                              f"工作表「{worksheet.title}」不属于申报模板，未读取；如有申报数据请移入模板对应工作表"
                              f"（{'、'.join(s.name for s in SHEETS)}）")
                )  # fmt: skip
            continue
        if sheet.key in batch.sheets:
            batch.rejections.append(
                Rejection(path.name, WORKBOOK, None, None, worksheet.title, "DUPLICATE_SHEET",
                          f"工作表「{worksheet.title}」与「{batch.sheets[sheet.key].source}」是同一张表，"
                          "未读取；请合并为一个工作表后重新提交")
            )  # fmt: skip
            continue
        batch.sheets[sheet.key] = _read_sheet(path.name, sheet, worksheet, batch.rejections)
    if not batch.sheets and not batch.rejections:
        batch.rejections.append(
            Rejection(path.name, WORKBOOK, None, None, None, "NO_SHEETS",
                      f"文件中没有模板工作表（{'、'.join(s.name for s in SHEETS)}），请使用申报模板填写")
        )  # fmt: skip
    return batch


def _read_sheet(file: str, sheet: Sheet, worksheet: Any, rejections: list[Rejection]) -> RawSheet:
    raw = RawSheet(sheet, source=worksheet.title)
    all_rows = list(worksheet.iter_rows())
    if not all_rows:
        return raw
    header_index = find_header_row([[c.value for c in row] for row in all_rows], sheet)
    header_cells = all_rows[header_index]
    header_row = header_cells[0].row
    header = map_header(file, sheet, header_row, [(c.column, c.value) for c in header_cells], rejections)
    if not header.positions:
        _reject_headerless(file, sheet, raw, all_rows[header_index + 1 :], rejections)
        return raw
    merged: dict[tuple[int, int], str] = {}
    for rng in worksheet.merged_cells.ranges:
        for r in range(max(rng.min_row, header_row + 1), rng.max_row + 1):
            for c in range(rng.min_col, rng.max_col + 1):
                merged[(r, c)] = rng.coord
    for cells in all_rows[header_index + 1 :]:
        row_number = cells[0].row
        values: dict[str, Any] = {}
        problems: list[Rejection] = []
        for cell in cells:
            key = header.positions.get(cell.column)
            if key is None:
                continue
            value = cell.value
            values[key] = value
            column = sheet.column(key)
            if (row_number, cell.column) in merged:
                problems.append(
                    Rejection(file, sheet.key, row_number, column.header, _str(value), "MERGED_CELL",
                              f"{column.header}处于合并单元格 {merged[(row_number, cell.column)]} 中；"
                              "请取消合并，并在每一行填写完整的值")
                )  # fmt: skip
            elif cell.data_type == "f":
                problems.append(
                    Rejection(file, sheet.key, row_number, column.header, _str(value), "FORMULA_CELL",
                              f"{column.header}是公式「{_str(value)}」，系统不计算公式；"
                              "请复制该列后“选择性粘贴—数值”再提交")
                )  # fmt: skip
            elif cell.data_type == "e":
                problems.append(
                    Rejection(file, sheet.key, row_number, column.header, _str(value), "CELL_ERROR",
                              f"{column.header}显示错误值「{_str(value)}」，请改为正确的数值后重新提交")
                )  # fmt: skip
        if is_blank_row(values) and not problems:
            continue
        raw.rows.append((row_number, values))
        for problem in problems:
            column_key = next(c.key for c in sheet.columns if c.header == problem.column)
            raw.bad_cells.setdefault(row_number, set()).add(column_key)
        rejections.extend(problems)
    if header.duplicated:
        reject_duplicated_header_rows(file, raw, rejections)
    return raw


def _reject_headerless(
    file: str, sheet: Sheet, raw: RawSheet, rows: list[Any], rejections: list[Rejection]
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
