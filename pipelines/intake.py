"""A submission batch, read, typed and validated; then all batches merged in file-name order.

Accounting: for every file and sheet, rows accepted + rows rejected = rows received. A row is rejected when any
of its cells fails (each failing cell is one `Rejection`, all reported at once), when it duplicates another row's
key, or when it points at something that does not exist (an unknown or rejected application or enterprise).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from pipelines.cells import CellError, clean_text, parse_cell
from pipelines.inbox import display_name
from pipelines.workbooks import WORKBOOK, RawBatch, RawSheet, read_xlsx
from schemas.rejection import Rejection
from schemas.sheets import BY_KEY, FILE, ROW, SHEET, SHEETS
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
    """One submission file after reading and per-sheet validation: what is cached per (file, content)."""

    file: str
    sha256: str
    kind: str  # "xlsx" or "csv_folder"
    # sheet key -> the typed rows that passed their own sheet's checks, in Excel row order, each a record of the
    # sheet's columns and FILE, SHEET, ROW (records, not frames: the merge reads rows, and building a frame per
    # batch and sheet only to take it apart again is most of a night that reads its batches from the cache)
    rows: dict[str, list[dict[str, Any]]]
    rejections: list[Rejection]
    received_rows: dict[str, list[int]]  # sheet key -> the Excel row numbers received (blank rows excluded)
    # (sheet key, excel row) -> application id as typed, so a rejected detail row still finds its application
    typed_app_ids: dict[tuple[str, int], str] = field(default_factory=dict)
    # excel row of the 企业 sheet -> credit code as typed, to tell "rejected enterprise" from "unknown"
    typed_credit_codes: dict[int, str] = field(default_factory=dict)
    # read from the cache exactly as stored when it was parsed and validated under the schemas in force now
    # (`pipelines.intake_store`): `accepted_rows_match_schemas` need not validate its rows again
    trusted: bool = False


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
    """The content hash of a batch: the file's bytes, or the names and bytes of a CSV folder's own files (what
    `read_csv_folder` reads: the top level, never through a link)."""
    digest = hashlib.sha256()
    if not path.is_dir():
        with path.open("rb") as f:
            return hashlib.file_digest(f, "sha256").hexdigest()
    for p in sorted(path.iterdir()):
        if p.is_file() and not p.is_symlink():
            digest.update(os.fsencode(p.name) + b"\0")
            with p.open("rb") as f:
                while chunk := f.read(1 << 20):
                    digest.update(chunk)
    return digest.hexdigest()


def read_batch(path: Path, sha256: str | None = None, name: str | None = None) -> Batch:
    """`name` is the file name as stored and shown (`pipelines.inbox.display_name`), by default the path's."""
    name = name or display_name(path)
    raw = read_xlsx(path, name) if path.is_file() else read_csv_folder(path, name)
    return type_batch(raw, sha256 or file_sha256(path), "xlsx" if path.is_file() else "csv_folder")


def unreadable(file: str, sha256: str, error: Exception) -> Batch:
    """A batch the intake itself failed on: reported, so the file is not silently skipped; not cached, so a
    fixed intake reads it again."""
    rejection = Rejection(file, WORKBOOK, None, None, None, "FILE_NOT_PROCESSED",
                          f"系统处理该文件时出错（{type(error).__name__}），文件未受理；已通知运维人员，"
                          "如急需可另存为新的 .xlsx 后重新提交")  # fmt: skip
    return Batch(file, sha256, "unknown", {}, [rejection], {})


def read_csv_folder(path: Path, name: str) -> RawBatch:
    from pipelines.csv_batches import read_csv_folder as read

    return read(path, name)


def type_batch(raw: RawBatch, sha256: str, kind: str) -> Batch:
    rows: dict[str, list[dict[str, Any]]] = {}
    rejections = list(raw.rejections)
    received: dict[str, list[int]] = {}
    typed_app_ids: dict[tuple[str, int], str] = {}
    typed_credit_codes: dict[int, str] = {}
    for sheet in SHEETS:
        sheet_raw = raw.sheets.get(sheet.key)
        if sheet_raw is None:
            continue
        for row_number, cells in sheet_raw.rows:
            app_id = clean_text(cells.get("application_id"))
            if app_id:
                typed_app_ids[(sheet.key, row_number)] = app_id
            if sheet.key == "enterprises":
                code = clean_text(cells.get("credit_code"))
                if code:
                    typed_credit_codes[row_number] = code.upper().replace(" ", "").replace("-", "")
        records, skip, cell_rejections = _typed_records(raw.file, sheet_raw)
        _, schema_rejections = validate(sheet, frame_of(sheet.key, records), frozenset(skip))
        as_given = {(n, k): v for n, cells in sheet_raw.rows for k, v in cells.items()}
        schema_rejections = [_value_as_given(r, sheet.key, as_given) for r in schema_rejections]
        rejections.extend(cell_rejections)
        rejections.extend(schema_rejections)
        bad_rows = {r.row_number for r in rejections if r.sheet == sheet.key}
        rows[sheet.key] = [r for r in records if r[ROW] not in bad_rows]
        received[sheet.key] = [n for n, _ in sheet_raw.rows]
    return Batch(raw.file, sha256, kind, rows, rejections, received, typed_app_ids, typed_credit_codes)


def _value_as_given(rejection: Rejection, sheet_key: str, as_given: dict[tuple[int, str], Any]) -> Rejection:
    """The operator's own text in the rejection, not our typed reading of it (万元 stays "1,200")."""
    spec = BY_KEY[sheet_key]
    key = next((c.key for c in spec.columns if c.header == rejection.column), None)
    raw = as_given.get((rejection.row_number or 0, key or ""))
    if raw is None or (len(spec.unique) > 1 and rejection.code == "DUPLICATE_IN_BATCH"):
        return rejection
    return dataclasses.replace(rejection, value=_text(raw))


def _text(value: Any) -> str | None:
    """A cell as the operator sees it: 911502009000000000, not 9.11502009e+17."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


def _typed_frame(file: str, raw: RawSheet) -> tuple[pd.DataFrame, set[tuple[int, str]], list[Rejection]]:
    records, skip, rejections = _typed_records(file, raw)
    return frame_of(raw.sheet.key, records), skip, rejections


def _typed_records(
    file: str, raw: RawSheet
) -> tuple[list[dict[str, Any]], set[tuple[int, str]], list[Rejection]]:
    """Every received row typed; a cell that cannot be read is None and listed in `skip`, its row kept so that
    the schema still reports the row's other failures in the same pass."""
    sheet = raw.sheet
    records = []
    rejections: list[Rejection] = []
    skip: set[tuple[int, str]] = set()
    for row_number, cells in raw.rows:
        if row_number in raw.rejected_rows:
            continue
        record: dict[str, Any] = {FILE: file, SHEET: sheet.key, ROW: row_number}
        already = raw.bad_cells.get(row_number, set())
        for column in sheet.columns:
            value = cells.get(column.key)
            if column.key in already:
                record[column.key] = None
                skip.add((row_number, column.key))
                continue
            try:
                record[column.key] = parse_cell(value, column)
            except CellError as error:
                record[column.key] = None
                skip.add((row_number, column.key))
                rejections.append(
                    Rejection(
                        file, sheet.key, row_number, column.header, _text(value), error.code, error.message
                    )
                )
        records.append(record)
    return records, skip, rejections


def columns(row: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    """An accepted row's typed values of these columns, by key: the model fields that are a column as it is."""
    return {key: row[key] for key in keys}


def frame_of(sheet_key: str, records: list[dict[str, Any]]) -> pd.DataFrame:
    """A sheet frame from typed records: object columns that keep None (pandas would turn it into NaN)."""
    sheet = BY_KEY[sheet_key]
    if not records:
        return empty_frame(sheet)
    keys = [c.key for c in sheet.columns]
    frame = pd.DataFrame({k: pd.Series([r.get(k) for r in records], dtype=object) for k in keys})
    frame[FILE] = pd.Series([str(r[FILE]) for r in records], dtype=str)
    frame[SHEET] = pd.Series([str(r[SHEET]) for r in records], dtype=str)
    frame[ROW] = pd.Series([int(r[ROW]) for r in records], dtype=int)
    return frame


def merge(batches: Iterable[Batch], earlier_enterprises: Iterable[dict[str, Any]] = ()) -> Submissions:
    """Apply batches in file-name order; a later batch repeating an application id replaces it whole.

    `earlier_enterprises` are 企业 rows accepted from files no longer in the inbox: an application may name an
    enterprise of an earlier batch even when that batch is not read again.
    """
    ordered = sorted(batches, key=lambda b: b.file)
    rejections: list[Rejection] = []
    counts: list[SheetCount] = []
    enterprises: dict[str, dict[str, Any]] = {e["credit_code"]: e for e in earlier_enterprises}
    applications: dict[str, dict[str, Any]] = {}
    details: dict[str, dict[str, list[dict[str, Any]]]] = {s.key: {} for s in SHEETS if s.detail}
    problems: dict[str, list[tuple[str, str]]] = {}
    for batch in ordered:
        found: list[Rejection] = []
        accepted_rows: dict[str, set[int]] = {key: set() for key in batch.received_rows}
        for row in batch.rows.get("enterprises", ()):
            enterprises[row["credit_code"]] = row
            accepted_rows["enterprises"].add(row[ROW])
        rejected_codes = {
            code: n for n, code in batch.typed_credit_codes.items() if code not in enterprises
        }  # typed in this batch's 企业 sheet but rejected there
        batch_apps: dict[str, dict[str, Any]] = {}
        for row in batch.rows.get("applications", ()):
            code = row["credit_code"]
            if code not in enterprises:
                found.append(_enterprise_problem(batch.file, row, rejected_codes.get(code)))
                continue
            batch_apps[row["application_id"]] = row
            accepted_rows["applications"].add(row[ROW])
        typed_apps: dict[str, list[int]] = {}
        for (sheet_key, n), app_id in batch.typed_app_ids.items():
            if sheet_key == "applications":
                typed_apps.setdefault(app_id, []).append(n)
        for (sheet_key, n), app_id in sorted(batch.typed_app_ids.items()):
            if sheet_key in details and app_id not in batch_apps:
                found.append(_detail_problem(batch.file, sheet_key, n, app_id, typed_apps.get(app_id)))
        for app_id, row in batch_apps.items():
            applications[app_id] = row
            problems.pop(app_id, None)
            for per_sheet in details.values():
                per_sheet.pop(app_id, None)  # a correction replaces the detail rows too
        for sheet_key, per_sheet in details.items():
            for row in batch.rows.get(sheet_key, ()):
                if row["application_id"] in batch_apps:
                    per_sheet.setdefault(row["application_id"], []).append(row)
                    accepted_rows[sheet_key].add(row[ROW])
        batch_rejections = [*batch.rejections, *found]
        # Detail rows of this batch that were rejected leave their (accepted) application incomplete.
        for r in batch_rejections:
            owner = batch.typed_app_ids.get((r.sheet, r.row_number or 0))
            if r.sheet in details and owner in batch_apps:
                message = (
                    f"「{BY_KEY[r.sheet].name}」第 {r.row_number} 行明细被退回（{r.code}：{r.message}），"
                    "申报不完整，暂不评审；请更正该行后连同申报一并重新提交"
                )
                if ("DETAIL_REJECTED", message) not in problems.setdefault(owner, []):
                    problems[owner].append(("DETAIL_REJECTED", message))
        rejections.extend(batch_rejections)
        counts.extend(_counts(batch, batch_rejections, accepted_rows))
    frames = {
        "enterprises": frame_of("enterprises", list(enterprises.values())),
        "applications": frame_of("applications", list(applications.values())),
    }
    for sheet_key, per_sheet in details.items():
        frames[sheet_key] = frame_of(sheet_key, [row for rows in per_sheet.values() for row in rows])
    return Submissions(frames, rejections, counts, problems, [(b.file, b.sha256) for b in ordered])


def _enterprise_problem(file: str, row: dict[str, Any], rejected_at: int | None) -> Rejection:
    code = row["credit_code"]
    if rejected_at is not None:
        return Rejection(file, "applications", row[ROW], "统一社会信用代码", code, "ENTERPRISE_REJECTED",
                         f"企业 {code} 在本批次「企业」表第 {rejected_at} 行被退回，本申报一并退回；"
                         "请先更正企业信息，再连同申报重新提交")  # fmt: skip
    return Rejection(file, "applications", row[ROW], "统一社会信用代码", code, "ENTERPRISE_UNKNOWN",
                     f"企业 {code} 不在本批次或此前批次的「企业」表中；请在「企业」表补充该企业后重新提交")  # fmt: skip


def _detail_problem(
    file: str, sheet_key: str, row: int, app_id: str, typed_at: list[int] | None
) -> Rejection:
    name = BY_KEY[sheet_key].name
    if typed_at:
        lines = "、".join(str(n) for n in sorted(typed_at))
        return Rejection(file, sheet_key, row, "申报编号", app_id, "APPLICATION_REJECTED",
                         f"所属申报 {app_id}（「申报」表第 {lines} 行）被退回，本行「{name}」明细一并退回；"
                         "请更正申报后连同明细重新提交")  # fmt: skip
    return Rejection(file, sheet_key, row, "申报编号", app_id, "DETAIL_UNKNOWN_APPLICATION",
                     f"申报编号 {app_id} 不在本批次的「申报」表中；明细须与其申报在同一批次提交，"
                     "请核对编号或补充申报行")  # fmt: skip


def _counts(batch: Batch, rejections: list[Rejection], accepted: dict[str, set[int]]) -> list[SheetCount]:
    out = []
    for sheet_key, rows in batch.received_rows.items():
        received = set(rows)
        rejected = {r.row_number for r in rejections if r.sheet == sheet_key} & received
        out.append(
            # counted apart, so that a row both accepted and rejected, or neither, unbalances the check
            SheetCount(batch.file, sheet_key, len(rows), len(accepted[sheet_key] & received), len(rejected))
        )
    return out


def superseded(subs: Submissions, batches: Iterable[Batch]) -> set[Rejection]:
    """The rejections a later accepted resend has made moot: the operator has nothing left to fix there.

    A row that names an application (or, on the 企业 sheet, an enterprise) is moot when that application or
    enterprise is now taken from a batch whose file name sorts after the rejected one. A whole-file rejection
    (`FILE_UNSUPPORTED`, `FILE_UNREADABLE` …) is moot when a file of the same name but another suffix was accepted
    (`…包头市.xls` sent again as `…包头市.xlsx`).
    """
    by_file = {b.file: b for b in batches}
    apps = subs.frames["applications"]
    app_source = dict(zip(apps["application_id"], apps[FILE], strict=True))
    enterprises = subs.frames["enterprises"]
    enterprise_source = dict(zip(enterprises["credit_code"], enterprises[FILE], strict=True))
    accepted = {c.file for c in subs.counts if c.accepted}
    out: set[Rejection] = set()
    for r in subs.rejections:
        batch = by_file.get(r.file)
        if r.row_number is None or batch is None:
            stem = Path(r.file).stem
            if any(f != r.file and Path(f).stem == stem for f in accepted):
                out.add(r)
            continue
        app_id = batch.typed_app_ids.get((r.sheet, r.row_number))
        code = batch.typed_credit_codes.get(r.row_number) if r.sheet == "enterprises" else None
        if (app_id is not None and str(app_source.get(app_id, "")) > r.file) or (
            code is not None and str(enterprise_source.get(code, "")) > r.file
        ):
            out.add(r)
    return out
