"""Reading the departments' review determinations: `ALU_INBOX_DIR/审核/*.xlsx`, sheet 审核结论 (docs/inputs.md §3).

Each workbook is read like a submission sheet — the same header mapping and cell reading (`pipelines.workbooks`,
`pipelines.cells`), the same pandera schema built from the sheet spec (`schemas.sheets.REVIEWS`) — and then
checked against the night: the application must have been received, the department must lead its program, the
date must not be after the evaluation date, and a 核定值 is taken only by the programs whose figure a review may
determine. Every row that fails becomes a `Rejection` (file, sheet, row, column, value, code, Chinese message).

A row in which none of the columns an official fills (审核结论, 核定值, 审核意见, 审核人, 审核日期, 审核文号) holds
anything is an application the official left for later in the generated review workbook: not received, not
rejected. Rows accepted on an earlier night (same file content and row) are not checked again: they are
already on record, and an application that has since left the inbox does not un-receive them.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from pipelines.inbox import ReviewListing, display_name, entry_sha256
from pipelines.intake import SheetCount, _typed_frame, _value_as_given, columns, file_sha256
from pipelines.workbooks import WORKBOOK, is_blank_row, read_xlsx
from rules.catalog import BY_CODE
from rules.review import FIGURES, OUTCOME_ZH, VALUE_REQUIRED, Determination
from schemas.rejection import Rejection
from schemas.sheets import REVIEW_FOLDER, REVIEW_INPUTS, REVIEWS, ROW
from schemas.validation import validate

SHEET_KEY = REVIEWS.key
HELP_SHEET = "填写说明"


def shown_name(path: Path) -> str:
    """How a determination file is named in rejections and in the table: `审核/<file name>`."""
    return f"{REVIEW_FOLDER}/{display_name(path)}"


@dataclass
class ReviewFile:
    file: str  # 审核/<name>
    sha256: str
    rows: list[dict[str, Any]]  # typed rows that passed the sheet's own checks (with ROW)
    rejections: list[Rejection]
    received: list[int]  # Excel rows received (blank rows and untouched pending rows excluded)


@dataclass
class ReviewIntake:
    """Tonight's determination files, checked: new accepted rows, every rejection, the per-file accounting."""

    new: list[tuple[str, Determination]] = field(default_factory=list)  # (fingerprint, determination)
    rejections: list[Rejection] = field(default_factory=list)
    counts: list[SheetCount] = field(default_factory=list)
    files: list[tuple[str, str]] = field(default_factory=list)  # (file, sha256)


def fingerprint(sha256: str, row: int) -> str:
    return hashlib.sha256(f"{sha256}|{SHEET_KEY}|{row}".encode()).hexdigest()


def read_review_file(path: Path, sha256: str | None = None) -> ReviewFile:
    file, sha = shown_name(path), sha256 or file_sha256(path)
    # The submission workbooks' streaming reader, with its size limits: a review file is read like any other.
    batch = read_xlsx(path, file, sheets=(REVIEWS,), skipped=(HELP_SHEET,))
    rejections = list(batch.rejections)
    raw = batch.sheets.get(REVIEWS.key)
    if raw is None:
        return ReviewFile(file, sha, [], rejections, [])
    # A pending application the official did not fill in is not a determination.
    raw.rows = [(n, cells) for n, cells in raw.rows if not is_blank_row({k: cells.get(k) for k in REVIEW_INPUTS})
                or n in raw.rejected_rows or n in raw.bad_cells]  # fmt: skip
    frame, skip, cell_rejections = _typed_frame(file, raw)
    _, schema_rejections = validate(REVIEWS, frame, frozenset(skip))
    as_given = {(n, k): v for n, cells in raw.rows for k, v in cells.items()}
    rejections += cell_rejections + [_value_as_given(r, SHEET_KEY, as_given) for r in schema_rejections]
    bad = {r.row_number for r in rejections if r.sheet == SHEET_KEY}
    rows = [
        {**record, ROW: int(record[ROW])}
        for record in frame.to_dict("records")
        if int(record[ROW]) not in bad
    ]
    return ReviewFile(file, sha, rows, rejections, [n for n, _ in raw.rows])


def check(
    files: Iterable[ReviewFile],
    programs: Mapping[str, str],
    as_of: date,
    recorded: Iterable[str] = (),
) -> ReviewIntake:
    """Each accepted row against the night: `programs` maps every accepted application to its program;
    `recorded` holds the fingerprints of rows already on record (accepted before, not checked again)."""
    known = set(recorded)
    out = ReviewIntake()
    for f in sorted(files, key=lambda f: f.file):
        out.files.append((f.file, f.sha256))
        rejections = list(f.rejections)
        accepted: set[int] = set()
        for row in f.rows:
            n = int(row[ROW])
            print_ = fingerprint(f.sha256, n)
            if print_ in known:
                accepted.add(n)
                continue
            problems = _problems(f.file, row, programs, as_of)
            if problems:
                rejections += problems
                continue
            accepted.add(n)
            out.new.append((print_, _determination(f.file, row)))
        out.rejections += rejections
        rejected = {r.row_number for r in rejections if r.sheet == SHEET_KEY} & set(f.received)
        out.counts.append(SheetCount(f.file, SHEET_KEY, len(f.received), len(accepted), len(rejected)))
    return out


# The 审核结论 columns a determination holds as they are.
_AS_TYPED = ("application_id", "outcome", "determined_value", "opinion", "department", "reviewer", "reviewed_on",
             "document_no")  # fmt: skip


def _determination(file: str, row: Mapping[str, Any], sequence: int = 0) -> Determination:
    return Determination(
        **columns(row, *_AS_TYPED),
        source_file=file,
        source_row=int(row[ROW]),
        sequence=sequence,
    )


def _problems(file: str, row: Mapping[str, Any], programs: Mapping[str, str], as_of: date) -> list[Rejection]:
    n = int(row[ROW])
    app_id = row["application_id"]

    def reject(key: str, code: str, message: str) -> Rejection:
        value = row[key]
        shown = value.isoformat() if hasattr(value, "isoformat") else None if value is None else str(value)
        return Rejection(file, SHEET_KEY, n, REVIEWS.column(key).header, shown, code, message)

    program_code = programs.get(app_id)
    if program_code is None:
        return [reject("application_id", "REVIEW_UNKNOWN_APPLICATION",
                       f"申报编号 {app_id} 不在已受理的申报中，无法审核；请核对申报编号")]  # fmt: skip
    program = BY_CODE[program_code]
    found = []
    if row["department"] != program.lead_department:
        found.append(reject("department", "REVIEW_NOT_LEAD_DEPARTMENT",
                            f"{program.name}（{program.code}）由{program.lead_department}牵头审核，"
                            f"{row['department']}的审核结论不能采用；请由{program.lead_department}报送"))  # fmt: skip
    if row["reviewed_on"] > as_of:
        found.append(reject("reviewed_on", "REVIEW_AFTER_EVALUATION_DATE",
                            f"审核日期 {row['reviewed_on'].isoformat()} 晚于评审日期 {as_of.isoformat()}，"
                            "请核对审核日期（审核完成后再报送）"))  # fmt: skip
    figure = FIGURES.get(program.code)
    if row["determined_value"] is not None and figure is None:
        found.append(reject("determined_value", "DETERMINED_VALUE_NOT_APPLICABLE",
                            f"{program.name}的审核不核定数值，核定值应为空；"
                            "只有节能、节水（节约量）和设备更新、知识产权转化（投资额，万元）填写核定值"))  # fmt: skip
    if row["outcome"] == "approve" and row["determined_value"] is None and program.code in VALUE_REQUIRED:
        found.append(reject("determined_value", "DETERMINED_VALUE_REQUIRED",
                            f"{program.name}审核{OUTCOME_ZH['approve']}须填写核定的年节约量"
                            f"（{figure.unit_zh if figure else ''}）：计量数据未能核实节约量，规则需要审核核定的数值"))  # fmt: skip
    return found


def read_inbox(
    listing: ReviewListing, programs: Mapping[str, str], as_of: date, recorded: Iterable[str] = ()
) -> ReviewIntake:
    """Tonight's determination files (`pipelines.inbox.list_reviews`) read and checked, and every entry of
    `审核/` the listing refused as its rejection (the nightly asset records the result; what-if does not)."""
    files, refused = [], [dataclasses.replace(r, value=r.file) for r in listing.rejections]
    for path in listing.files:
        try:
            sha = file_sha256(path)
        except OSError as exc:  # no permission, or removed meanwhile: that file's problem only
            refused.append(Rejection(listing.name(path), WORKBOOK, None, None, None, "FILE_UNREADABLE",
                                     f"文件无法读取（{type(exc).__name__}），未受理；"
                                     "请检查文件权限后重新放入「审核」文件夹"))  # fmt: skip
            continue
        files.append(read_review_file(path, sha))
    out = check(files, programs, as_of, recorded)
    out.rejections += refused
    out.files += [(r.file, entry_sha256(r)) for r in refused]
    return out


def unrecorded(intake: ReviewIntake, start: int) -> list[Determination]:
    """Tonight's new determinations numbered after every recorded one (what-if: not on record yet)."""
    return [
        Determination(**{**d.__dict__, "sequence": start + i}) for i, (_, d) in enumerate(intake.new, start=1)
    ]
