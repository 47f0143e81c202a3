"""Reading a submission batch sent as a folder of CSV files, one per sheet (`enterprises.csv`, `申报.csv` ...).

Operators export these from Excel or WPS: UTF-8, UTF-8 with BOM (Excel's "CSV UTF-8"), GB18030 (Excel's plain
"CSV" on a Chinese Windows) or UTF-16 ("Unicode text", tab-separated). Row numbers are the ones Excel shows when
the file is opened in it: the header is row 1, the n-th record row n + 1.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from pipelines.inbox import display_name
from pipelines.workbooks import (
    RawBatch,
    RawSheet,
    find_header_row,
    is_blank_row,
    map_header,
    reject_duplicated_header_rows,
    resolve_sheet,
)
from schemas.rejection import Rejection
from schemas.sheets import MAX_WORKBOOK_BYTES, SHEETS, Sheet


def decode(data: bytes) -> str | None:
    """The text of a CSV in whichever of the encodings operators use; None when it is none of them."""
    if data.startswith(b"\xef\xbb\xbf"):
        encodings: tuple[str, ...] = ("utf-8-sig",)
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encodings = ("utf-16",)
    else:
        encodings = ("utf-8", "gb18030")
    for encoding in encodings:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def read_csv_folder(folder: Path, name: str | None = None) -> RawBatch:
    """The folder's own CSV files; a link inside it is never followed (the inbox is a boundary) and a file over
    the workbook size limit is refused before it is read."""
    file = name or folder.name
    batch = RawBatch(file=file)
    for path in sorted(folder.iterdir(), key=lambda p: p.name):
        if path.name.startswith((".", "~$")):
            continue
        if path.is_symlink():
            batch.refuse(display_name(path), "FILE_OUTSIDE_INBOX",
                         f"「{display_name(path)}」是链接（快捷方式），系统不跟随读取；请把文件本身放入批次文件夹后重新提交")  # fmt: skip
            continue
        if path.is_file() and path.stat().st_size > MAX_WORKBOOK_BYTES:
            batch.refuse(display_name(path), "FILE_TOO_LARGE",
                         f"「{display_name(path)}」超过 {MAX_WORKBOOK_BYTES:,} 字节，未受理；请拆成几个批次后重新提交")  # fmt: skip
            continue
        sheet = resolve_sheet(path.stem) if path.is_file() and path.suffix.lower() == ".csv" else None
        if sheet is None:
            batch.refuse(display_name(path), "UNKNOWN_SHEET",
                         f"「{display_name(path)}」不是申报表 CSV，未读取；文件名应为工作表名或其英文键"
                         f"（如 {'、'.join(f'{s.key}.csv' for s in SHEETS[:3])} 或 企业.csv）")  # fmt: skip
            continue
        if sheet.key in batch.sheets:
            batch.refuse(display_name(path), "DUPLICATE_SHEET",
                         f"「{display_name(path)}」与「{batch.sheets[sheet.key].source}」是同一张表，未读取；"
                         "请合并为一个文件后重新提交")  # fmt: skip
            continue
        text = decode(path.read_bytes())
        if text is None:
            batch.rejections.append(
                Rejection(file, sheet.key, None, None, display_name(path), "CSV_ENCODING",
                          f"「{display_name(path)}」的编码无法识别，请另存为“CSV UTF-8（逗号分隔）”后重新提交")
            )  # fmt: skip
            continue
        batch.sheets[sheet.key] = _read_text(file, sheet, display_name(path), text, batch.rejections)
    if not batch.sheets and not batch.rejections:
        batch.refuse(None, "NO_SHEETS",
                     "文件夹中没有申报表 CSV（enterprises.csv、applications.csv ……），请按模板提交")  # fmt: skip
    return batch


def _unclosed_quote_line(text: str) -> int | None:
    """The first line holding an odd number of double quotes."""
    for number, line in enumerate(text.split("\n"), start=1):
        if line.count('"') % 2:
            return number
    return None


def _read_text(file: str, sheet: Sheet, source: str, text: str, rejections: list[Rejection]) -> RawSheet:
    raw = RawSheet(sheet, source=source)
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        records = list(reader)
    except csv.Error:
        # A quote opened and never closed runs the rest of the file into one field (past the csv module's
        # limit): no later row has a trustworthy end, so the sheet is refused whole, the line named.
        line = _unclosed_quote_line(text)
        where = (
            f'第 {line} 行有一个英文双引号（"）没有闭合'
            if line
            else f"第 {reader.line_num} 行附近格式有误（或有单元格超过 128 KB）"
        )
        rejections.append(
            Rejection(file, sheet.key, None, None, source, "CSV_MALFORMED",
                      f"「{source}」无法按 CSV 读取：{where}，其后的单元格都无法分开；本表未受理。"
                      "请检查后重新导出（单元格里的双引号要成对，或写成两个双引号 \"\"）")
        )  # fmt: skip
        return raw
    if not records:
        return raw
    header_index = find_header_row(records, sheet)
    header = map_header(
        file, sheet, header_index + 1, list(enumerate(records[header_index], start=1)), rejections
    )
    for index, record in enumerate(records[header_index + 1 :], start=header_index + 2):
        values = {key: record[pos - 1] for pos, key in header.positions.items() if pos - 1 < len(record)}
        if not header.positions:
            values = {str(i): v for i, v in enumerate(record)}
        if is_blank_row(values):
            continue
        raw.rows.append((index, values if header.positions else {}))
        if not header.positions:
            raw.rejected_rows.add(index)
            rejections.append(
                Rejection(file, sheet.key, index, None, None, "HEADER_NOT_FOUND",
                          f"「{source}」找不到模板表头，本行无法读取；请把模板表头放在第一行后重新提交")
            )  # fmt: skip
    if header.duplicated:
        reject_duplicated_header_rows(file, raw, rejections)
    return raw
