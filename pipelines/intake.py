"""A submission batch, read, typed and validated; then all batches merged in file-name order.

Accounting: for every file and sheet, rows accepted + rows rejected = rows received. A row is rejected when any
of its cells fails (each failing cell is one `Rejection`), when it duplicates another row's key, or when it
points at something that does not exist (an unknown application, an unknown enterprise).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from pipelines.cells import CellError, clean_text, parse_cell
from pipelines.workbooks import RawBatch, RawSheet, read_xlsx
from schemas.rejection import Rejection
from schemas.sheets import FILE, ROW, SHEET, SHEETS, Sheet
from schemas.validation import empty_frame, validate


@dataclass(frozen=True)
class SheetCount:
    file: str
    sheet: str
    received: int
    accepted: int
    rejected: int


@dataclass
class Batch:
    """One submission file after reading and per-sheet validation."""

    file: str
    sha256: str
    frames: dict[str, pd.DataFrame]
    rejections: list[Rejection]
    received: dict[str, int]
    # (sheet key, excel row) -> application id as typed, so a rejected detail row still finds its application
    typed_app_ids: dict[tuple[str, int], str] = field(default_factory=dict)


@dataclass
class Submissions:
    """The effective submissions after all batches: accepted rows by sheet, and every rejection."""

    frames: dict[str, pd.DataFrame]
    rejections: list[Rejection]
    counts: list[SheetCount]
    # application_id -> problems found in its detail: (code, Chinese message)
    problems: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    files: list[tuple[str, str]] = field(default_factory=list)  # (file name, sha256)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    paths = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for p in paths:
        digest.update(p.name.encode())
        digest.update(p.read_bytes())
    return digest.hexdigest()


def is_submission(path: Path) -> bool:
    return (
        path.is_file() and path.suffix.lower() == ".xlsx" and not path.name.startswith("~$")
    ) or path.is_dir()


def read_batch(path: Path) -> Batch:
    raw = read_xlsx(path) if path.is_file() else read_csv_folder(path)
    frames: dict[str, pd.DataFrame] = {}
    rejections = list(raw.rejections)
    received: dict[str, int] = {}
    typed_app_ids: dict[tuple[str, int], str] = {}
    for sheet in SHEETS:
        sheet_raw = raw.sheets.get(sheet.key)
        if sheet_raw is None:
            continue
        for row_number, cells in sheet_raw.rows:
            app_id = clean_text(cells.get("application_id"))
            if app_id:
                typed_app_ids[(sheet.key, row_number)] = app_id
        frame, cell_rejections = _typed_frame(raw.file, sheet_raw, rejections)
        rejections.extend(cell_rejections)
        accepted, schema_rejections = validate(sheet, frame)
        rejections.extend(schema_rejections)
        frames[sheet.key] = accepted
        received[sheet.key] = len(sheet_raw.rows)
    return Batch(raw.file, file_sha256(path), frames, rejections, received, typed_app_ids)


def read_csv_folder(path: Path) -> RawBatch:
    from pipelines.csv_batches import read_csv_folder as read

    return read(path)


def _typed_frame(
    file: str, raw: RawSheet, reader_rejections: list[Rejection]
) -> tuple[pd.DataFrame, list[Rejection]]:
    sheet = raw.sheet
    records = []
    rejections: list[Rejection] = []
    already = {r.row_number for r in reader_rejections if r.sheet == sheet.key}
    for row_number, cells in raw.rows:
        if row_number in raw.rejected_rows:
            if row_number not in already:
                rejections.append(
                    Rejection(
                        file,
                        sheet.key,
                        row_number,
                        None,
                        None,
                        "DUPLICATE_COLUMN",
                        f"「{sheet.name}」表头重复，本行无法读取；请删除重复列后重新提交",
                    )
                )
            continue
        record: dict[str, object] = {FILE: file, SHEET: sheet.key, ROW: row_number}
        ok = True
        for column in sheet.columns:
            value = cells.get(column.key)
            try:
                record[column.key] = parse_cell(value, column)
            except CellError as error:
                ok = False
                rejections.append(
                    Rejection(
                        file,
                        sheet.key,
                        row_number,
                        column.header,
                        None if value is None else str(value),
                        error.code,
                        error.message,
                    )
                )
        if ok:
            records.append(record)
    if not records:
        return empty_frame(sheet), rejections
    frame = pd.DataFrame.from_records(records, columns=[*[c.key for c in sheet.columns], FILE, SHEET, ROW])
    frame = frame.astype({c.key: object for c in sheet.columns})
    frame[ROW] = frame[ROW].astype(int)
    frame = frame.astype({FILE: str, SHEET: str})
    for column in sheet.columns:  # pandas turns None into NaN in object columns built from records; keep None
        frame[column.key] = frame[column.key].astype(object).where(frame[column.key].notna(), None)
    return frame, rejections


def merge(batches: Iterable[Batch], known_enterprises: Iterable[str] = ()) -> Submissions:
    """Apply batches in file-name order; a later batch repeating an application id replaces it whole."""
    ordered = sorted(batches, key=lambda b: b.file)
    rejections: list[Rejection] = []
    counts: list[SheetCount] = []
    enterprises: dict[str, pd.Series] = {}
    applications: dict[str, pd.Series] = {}
    details: dict[str, dict[str, list[pd.Series]]] = {s.key: {} for s in SHEETS if s.detail}
    problems: dict[str, list[tuple[str, str]]] = {}
    known = set(known_enterprises)
    for batch in ordered:
        batch_rejections = list(batch.rejections)
        ent = batch.frames.get("enterprises")
        if ent is not None:
            for _, row in ent.iterrows():
                enterprises[row["credit_code"]] = row
        apps = batch.frames.get("applications")
        batch_app_ids = set(apps["application_id"]) if apps is not None else set()
        if apps is not None:
            for _, row in apps.iterrows():
                if row["credit_code"] not in enterprises and row["credit_code"] not in known:
                    batch_rejections.append(
                        Rejection(
                            batch.file,
                            "applications",
                            int(row[ROW]),
                            "统一社会信用代码",
                            row["credit_code"],
                            "ENTERPRISE_UNKNOWN",
                            f"企业 {row['credit_code']} 不在本批次或此前批次的「企业」表中，请先补充企业信息",
                        )
                    )
                    continue
                app_id = row["application_id"]
                applications[app_id] = row
                problems.pop(app_id, None)
                for per_sheet in details.values():
                    per_sheet.pop(app_id, None)  # a correction replaces the detail rows too
        for sheet_key, per_sheet in details.items():
            frame = batch.frames.get(sheet_key)
            if frame is None:
                continue
            for _, row in frame.iterrows():
                app_id = row["application_id"]
                if app_id not in batch_app_ids:
                    batch_rejections.append(
                        Rejection(
                            batch.file,
                            sheet_key,
                            int(row[ROW]),
                            "申报编号",
                            app_id,
                            "DETAIL_UNKNOWN_APPLICATION",
                            f"申报编号 {app_id} 不在本批次的「申报」表中；明细须与申报在同一批次提交",
                        )
                    )
                    continue
                if app_id in applications and applications[app_id][FILE] == batch.file:
                    per_sheet.setdefault(app_id, []).append(row)
        # Detail rows of this batch that were rejected leave their application incomplete.
        for r in batch_rejections:
            if r.sheet in details and r.row_number:
                app_id = _detail_app_id(batch, r)
                if app_id and app_id in applications:
                    problems.setdefault(app_id, []).append(
                        (
                            "DETAIL_REJECTED",
                            f"「{_sheet_name(r.sheet)}」第 {r.row_number} 行明细被退回（{r.message}），申报不完整，请更正后重新提交",
                        )
                    )
        rejections.extend(batch_rejections)
        counts.extend(_counts(batch, batch_rejections))
    frames = {
        "enterprises": _frame("enterprises", list(enterprises.values())),
        "applications": _frame("applications", list(applications.values())),
    }
    for sheet_key, per_sheet in details.items():
        frames[sheet_key] = _frame(sheet_key, [row for rows in per_sheet.values() for row in rows])
    return Submissions(frames, rejections, counts, problems, [(b.file, b.sha256) for b in ordered])


def _sheet_name(key: str) -> str:
    return next(s.name for s in SHEETS if s.key == key)


def _detail_app_id(batch: Batch, rejection: Rejection) -> str | None:
    if rejection.row_number is None:
        return None
    return batch.typed_app_ids.get((rejection.sheet, rejection.row_number))


def _frame(sheet_key: str, rows: list[pd.Series]) -> pd.DataFrame:
    sheet: Sheet = next(s for s in SHEETS if s.key == sheet_key)
    if not rows:
        return empty_frame(sheet)
    return pd.DataFrame(rows).reset_index(drop=True)


def _counts(batch: Batch, rejections: list[Rejection]) -> list[SheetCount]:
    out = []
    for sheet_key, received in batch.received.items():
        rejected = len(
            {r.row_number for r in rejections if r.sheet == sheet_key and r.row_number not in (None, 1)}
        )
        out.append(SheetCount(batch.file, sheet_key, received, received - rejected, rejected))
    return out
