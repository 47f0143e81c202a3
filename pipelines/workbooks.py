"""Reading a submission batch file into raw rows per sheet, with the Excel row number of each row."""

from __future__ import annotations

import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openpyxl import load_workbook

from schemas.rejection import Rejection
from schemas.sheets import BY_KEY, BY_NAME, Sheet


@dataclass
class RawSheet:
    sheet: Sheet
    # (excel row number, {column key: raw cell value}) for every non-blank data row
    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    # rows rejected whole by the reader (merged or formula cells, duplicated headers): excel row numbers
    rejected_rows: set[int] = field(default_factory=set)


@dataclass
class RawBatch:
    file: str
    sheets: dict[str, RawSheet] = field(default_factory=dict)
    rejections: list[Rejection] = field(default_factory=list)


def _norm(text: Any) -> str:
    return unicodedata.normalize("NFKC", str(text or "")).strip().replace(" ", "").lower()


def _resolve_sheet(title: str) -> Sheet | None:
    key = _norm(title)
    for sheet in BY_KEY.values():
        if key in (_norm(sheet.key), _norm(sheet.name)):
            return sheet
    return BY_NAME.get(title.strip())


def read_xlsx(path: Path) -> RawBatch:
    batch = RawBatch(file=path.name)
    try:
        workbook = load_workbook(path, data_only=False)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError) as exc:
        batch.rejections.append(
            Rejection(
                path.name,
                "workbook",
                None,
                None,
                None,
                "FILE_UNREADABLE",
                f"文件无法作为 Excel 工作簿打开（{type(exc).__name__}），请另存为 .xlsx 后重新提交",
            )
        )
        return batch
    for worksheet in workbook.worksheets:
        sheet = _resolve_sheet(worksheet.title)
        if sheet is None:
            batch.rejections.append(
                Rejection(
                    path.name,
                    "workbook",
                    None,
                    None,
                    worksheet.title,
                    "UNKNOWN_SHEET",
                    f"工作表「{worksheet.title}」不属于申报模板，已忽略；如有数据请移入对应工作表",
                )
            )
            continue
        if sheet.key in batch.sheets:
            batch.rejections.append(
                Rejection(
                    path.name,
                    sheet.key,
                    None,
                    None,
                    worksheet.title,
                    "DUPLICATE_SHEET",
                    f"工作表「{sheet.name}」重复出现，仅读取第一个",
                )
            )
            continue
        batch.sheets[sheet.key] = _read_sheet(path.name, sheet, worksheet, batch.rejections)
    return batch


def _read_sheet(file: str, sheet: Sheet, worksheet: Any, rejections: list[Rejection]) -> RawSheet:
    raw = RawSheet(sheet)
    rows = worksheet.iter_rows()
    header_cells = next(rows, None)
    if header_cells is None:
        return raw
    by_header = {}
    for column in sheet.columns:
        by_header[_norm(column.header)] = column.key
        by_header[_norm(column.key)] = column.key
    positions: dict[int, str] = {}
    seen: dict[str, int] = {}
    duplicated = False
    for cell in header_cells:
        if cell.value is None or not str(cell.value).strip():
            continue
        key = by_header.get(_norm(cell.value))
        if key is None:
            rejections.append(
                Rejection(
                    file,
                    sheet.key,
                    1,
                    str(cell.value),
                    str(cell.value),
                    "UNKNOWN_COLUMN",
                    f"「{sheet.name}」表头「{cell.value}」不是模板列，该列未读取；请使用模板表头",
                )
            )
            continue
        if key in seen:
            duplicated = True
            rejections.append(
                Rejection(
                    file,
                    sheet.key,
                    1,
                    str(cell.value),
                    str(cell.value),
                    "DUPLICATE_COLUMN",
                    f"「{sheet.name}」表头「{cell.value}」重复出现，无法判断取哪一列，请删除重复列",
                )
            )
        seen[key] = cell.column
        positions[cell.column] = key
    merged = {
        (r, c)
        for rng in worksheet.merged_cells.ranges
        for r in range(rng.min_row, rng.max_row + 1)
        for c in range(rng.min_col, rng.max_col + 1)
    }
    for cells in rows:
        values = {}
        row_number = cells[0].row if cells else 0
        for cell in cells:
            key = positions.get(cell.column)
            if key is None:
                continue
            if (cell.row, cell.column) in merged:
                raw.rejected_rows.add(row_number)
                rejections.append(
                    Rejection(
                        file,
                        sheet.key,
                        row_number,
                        _header(sheet, key),
                        _str(cell.value),
                        "MERGED_CELL",
                        "该行含合并单元格，请取消合并并在每行填写完整数值",
                    )
                )
            if cell.data_type == "f":
                raw.rejected_rows.add(row_number)
                rejections.append(
                    Rejection(
                        file,
                        sheet.key,
                        row_number,
                        _header(sheet, key),
                        _str(cell.value),
                        "FORMULA_CELL",
                        "单元格是公式，请复制后“粘贴为数值”再提交",
                    )
                )
            values[key] = cell.value
        if (
            all(v is None or (isinstance(v, str) and not v.strip()) for v in values.values())
            and row_number not in raw.rejected_rows
        ):
            continue
        if duplicated:
            raw.rejected_rows.add(row_number)
        raw.rows.append((row_number, values))
    return raw


def _header(sheet: Sheet, key: str) -> str:
    return sheet.column(key).header


def _str(value: Any) -> str | None:
    return None if value is None else str(value)
