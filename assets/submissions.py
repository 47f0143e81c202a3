"""Submission batches from the inbox: read, validated, merged in file-name order; rejections recorded."""

import hashlib
from collections import Counter
from datetime import UTC, datetime

import dagster as dg
import pandas as pd
from pandera.errors import SchemaErrors
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from assets._metadata import escape_markdown, markdown_list, markdown_table, table_schema
from assets.ledger_checks import schema_problems
from pipelines.defs.resources import Inbox, LedgerDatabase
from pipelines.intake import (
    SheetCount,
    Submissions,
    file_sha256,
    is_submission,
    merge,
    read_batch,
    unreadable,
)
from pipelines.intake_store import IntakeStore
from schemas.rejection import Rejection
from schemas.sheets import APPLICATIONS, BY_KEY, FILE, ROW, SHEETS
from schemas.tables import IntakeCount, SubmissionRejection
from schemas.validation import ROW_RULES, schema_for

REJECTION_COLUMNS = table_schema(
    [
        ("file", "text", "文件"),
        ("sheet", "text", "工作表"),
        ("row_number", "integer", "Excel 行号"),
        ("column", "text", "列"),
        ("value", "text", "填写值"),
        ("code", "text", "错误代码"),
        ("message", "text", "说明"),
    ]
)
APPLICATION_COLUMNS = table_schema(
    [(c.key, c.kind, c.header) for c in APPLICATIONS.columns]
    + [(FILE, "text", "来源文件"), (ROW, "integer", "Excel 行号")]
)
# How many actionable lines a check description shows; the metadata table holds every one.
DESCRIPTION_LINES = 30


@dg.multi_asset(
    deps=["run_settings"],  # ops (issue 13.9): nothing is read before the settings are checked
    outs={
        "submissions": dg.AssetOut(
            description="各批次申报表中通过校验的行（企业、申报及明细），按文件名顺序合并，后批更正前批。"
        ),
        "submission_rejections": dg.AssetOut(
            dagster_type=dg.Nothing,
            description="未能接受的每一行：文件、工作表、Excel 行号、列、填写值、错误代码、中文说明。"
            " Table `submission_rejections`.",
            metadata={"dagster/column_schema": REJECTION_COLUMNS},
        ),
    },
    check_specs=[
        dg.AssetCheckSpec(
            "rows_balance",
            asset="submission_rejections",
            description="每个文件每个工作表：接受行 + 退回行 = 收到行",
        ),
        dg.AssetCheckSpec(
            "rejections_to_fix",
            asset="submission_rejections",
            description="本次收件箱中被退回的行，逐文件列出需重新上传的更正（工作表、行号、列、填写值、怎么改）；"
            "无退回行时通过",
        ),
        dg.AssetCheckSpec(
            "published_columns",
            asset="submission_rejections",
            description="发布表 submission_rejections 的列都存在且类型正确（财政厅与各部门报表读取它）",
        ),
        # Blocking: an accepted row that breaks its sheet's rules would be decided and booked into the
        # append-only ledger, where only a reversal can undo it; better to stop the night's decisions.
        dg.AssetCheckSpec(
            "accepted_rows_match_schemas",
            asset="submissions",
            blocking=True,
            description="合并后接受的每张工作表（企业、申报及各明细表）都符合 schemas/validation.py 中该表的 pandera 校验",
        ),
    ],
    pool="ledger_db",
)
def submission_batches(context: dg.AssetExecutionContext, inbox: Inbox, ledger_db: LedgerDatabase):
    """Every submission batch of the inbox, read once per content (table `intake_files`), merged in file-name
    order; rejections and per-sheet counts recorded once per file content."""
    folder = inbox.folder
    entries = sorted(folder.iterdir(), key=lambda p: p.name) if folder.exists() else []
    paths = [p for p in entries if is_submission(p)]
    others = [p.name for p in entries if not is_submission(p) and p.suffix.lower() != ".csv"]
    store = IntakeStore(ledger_db.engine())
    batches, parsed, reused, failed = [], [], [], []
    for path in paths:
        sha = file_sha256(path)
        batch = store.load(path.name, sha)
        if batch is not None:
            reused.append(path.name)
        else:
            try:
                batch = read_batch(path, sha)
            except Exception as exc:  # one odd file must not stop the night for every other enterprise
                context.log.exception(f"intake of {path.name} failed")
                batch = unreadable(path.name, sha, exc)
                failed.append(path.name)
            else:
                store.save(batch, context.run.run_id)
                parsed.append(path.name)
        batches.append(batch)
    subs = merge(batches, store.enterprises_except({p.name for p in paths}))
    # A reused file's own rejections were recorded when it was parsed; only cross-file ones may be new.
    recorded_before = {r for b in batches if b.file in reused for r in b.rejections}
    fresh = [r for r in subs.rejections if r not in recorded_before]
    _record(ledger_db, fresh, subs, context.run.run_id)

    accepted = sum(c.accepted for c in subs.counts)
    rejected = sum(c.rejected for c in subs.counts)
    yield dg.Output(
        subs,
        output_name="submissions",
        metadata={
            "dagster/row_count": accepted,
            "rows_received": sum(c.received for c in subs.counts),
            "rows_accepted": accepted,
            "rows_rejected": rejected,
            "files": dg.MetadataValue.json([name for name, _ in subs.files]),
            "files_parsed": len(parsed),
            "files_reused": len(reused),
            "files_failed": dg.MetadataValue.json(failed),
            "ignored_files": dg.MetadataValue.json(others),
            "applications": len(subs.frames["applications"]),
            "dagster/column_schema": APPLICATION_COLUMNS,
            "preview": markdown_table(_accepted_applications(subs.frames["applications"]), limit=10),
            "counts": markdown_table(
                [
                    {
                        "文件": c.file,
                        "工作表": c.sheet,
                        "收到": c.received,
                        "接受": c.accepted,
                        "退回": c.rejected,
                    }
                    for c in subs.counts
                ],
                limit=60,
            ),
        },
    )
    yield dg.Output(
        None,
        output_name="submission_rejections",
        metadata={
            "dagster/row_count": len(subs.rejections),
            "rows_accepted": accepted,
            "rows_rejected": rejected,
            "by_code": dg.MetadataValue.json(dict(Counter(r.code for r in subs.rejections).most_common())),
            "preview": markdown_table([_preview(r) for r in subs.rejections], limit=50),
        },
    )
    unbalanced = [c for c in subs.counts if c.accepted + c.rejected != c.received]
    yield dg.AssetCheckResult(
        check_name="rows_balance",
        asset_key="submission_rejections",
        passed=not unbalanced,
        metadata={
            "files": len(subs.files),
            "received": sum(c.received for c in subs.counts),
            "accepted": accepted,
            "rejected": rejected,
            "unbalanced": dg.MetadataValue.json([c.__dict__ for c in unbalanced]),
        },
        description=unbalanced_description(unbalanced) if unbalanced else None,
    )
    yield rejections_to_fix(subs.rejections)
    problems = schema_problems(ledger_db.engine(), ["submission_rejections"])
    yield dg.AssetCheckResult(
        check_name="published_columns",
        asset_key="submission_rejections",
        passed=not problems,
        metadata={"problems": dg.MetadataValue.json(problems)},
        description=None
        if not problems
        else "发布表 submission_rejections 与约定结构不一致："
        + "；".join(problems)
        + "。请运行 `python -m schemas.migrate` 升级数据库（make run 会自动执行）；若已是最新，说明表结构被手工改动，"
        "请联系系统管理员",
    )
    yield accepted_rows_match_schemas(subs.frames)


def unbalanced_description(unbalanced: list[SheetCount]) -> str:
    lines = [
        f"「{c.file}」的「{_sheet_name(c.sheet)}」表：收到 {c.received} 行，接受 {c.accepted} + 退回 {c.rejected}"
        f" = {c.accepted + c.rejected} 行，与收到行数不符"
        for c in unbalanced
    ]
    return (
        "；".join(lines)
        + "。这些工作表的计数未入库。请重新运行 nightly_awards；仍不平衡时不要删除或改动文件，把文件和本检查结果转交"
        "系统管理员核查（有行既未接受也未退回，或被重复计数），该文件的申报在查明前不应签发"
    )


def _sheet_name(key: str) -> str:
    sheet = BY_KEY.get(key)
    if sheet is not None:
        return sheet.name
    return {"workbook": "整个文件", "metering": "计量数据"}.get(key, key)


def fix_line(r: Rejection) -> str:
    """One rejection as what the operator must do: which file to upload again and which cell to correct."""
    where = "整个文件：" if r.sheet == "workbook" else f"「{_sheet_name(r.sheet)}」表"
    if r.row_number is not None:
        where += f"第 {r.row_number} 行"
    if r.column:
        where += f"「{r.column}」"
    given = f"（填写值 {r.value}）" if r.value not in (None, "") else ""
    return f"重新上传 {r.file}：{where}{r.message}{given}"


def rejections_to_fix(rejections: list[Rejection]) -> dg.AssetCheckResult:
    """Warn, per file, with one actionable Chinese line per rejection; green when nothing was rejected."""
    by_file = Counter(r.file for r in rejections)
    lines = [fix_line(r) for r in rejections]
    shown = lines[:DESCRIPTION_LINES]
    rest = len(lines) - len(shown)
    description = None
    if rejections:
        files = "、".join(f"{file}（{n} 条）" for file, n in by_file.items())
        description = (
            f"{len(rejections)} 条退回，涉及 {escape_markdown(files)}。请企业按下列说明更正后重新上传：\n\n"
            + markdown_list(shown)  # what enterprises typed is shown as typed, one line per rejection
            + (f"\n\n…另有 {rest} 条，见元数据 to_fix 表或各部门报表「退回行」表" if rest else "")
        )
    return dg.AssetCheckResult(
        check_name="rejections_to_fix",
        asset_key="submission_rejections",
        passed=not rejections,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "rejections": len(rejections),
            "by_file": dg.MetadataValue.json(dict(by_file)),
            "to_fix": markdown_table(
                [
                    {
                        "文件": r.file,
                        "工作表": _sheet_name(r.sheet),
                        "行": r.row_number if r.row_number is not None else "—",
                        "列": r.column or "—",
                        "填写值": r.value if r.value not in (None, "") else "—",
                        "代码": r.code,
                        "怎么改": r.message,
                    }
                    for r in rejections
                ],
                limit=200,
            ),
        },
        description=description,
    )


def accepted_rows_match_schemas(frames: dict[str, pd.DataFrame]) -> dg.AssetCheckResult:
    """Every accepted frame validated again, whole, against its sheet's pandera schema."""
    failures: dict[tuple[object, ...], dict[str, object]] = {}
    checked: dict[str, int] = {}
    for sheet in SHEETS:
        frame = frames.get(sheet.key)
        if frame is None:
            failures[(sheet.key,)] = {
                "工作表": sheet.name,
                "文件": "—",
                "行": "—",
                "列": "—",
                "校验": "SHEET_MISSING",
            }
            continue
        checked[sheet.name] = len(frame)
        if frame.empty:
            continue
        rules = {r.code: r.column for r in ROW_RULES.get(sheet.key, ())}
        headers = {c.key: c.header for c in sheet.columns}
        try:
            schema_for(sheet).validate(frame, lazy=True)
        except SchemaErrors as errors:
            for case in errors.failure_cases.itertuples(index=False):
                check = str(case.check)
                # a row rule fails on every column of its row; the operator looks at the rule's own column
                column = rules.get(check, case.column if isinstance(case.column, str) else None)
                row = frame.loc[case.index] if case.index in frame.index else None
                failure: dict[str, object] = {
                    "工作表": sheet.name,
                    "文件": str(row[FILE]) if row is not None else "—",
                    "行": int(row[ROW]) if row is not None else "—",
                    "列": headers.get(column or "", column or "—"),
                    "校验": check,
                }
                failures[tuple(failure.values())] = failure
    found = list(failures.values())
    files = sorted({str(f["文件"]) for f in found if f["文件"] != "—"})
    description = None
    if found:
        places = "；".join(f"「{f['工作表']}」表第 {f['行']} 行（{f['文件']}）{f['列']} 未通过 {f['校验']}"
                          for f in found[:10])  # fmt: skip
        description = (
            f"{len(found)} 处已接受的数据不符合工作表校验规则：{places}。这通常是解析缓存来自旧版规则或被改动；"
            "本次评审已停止（不会记账）。请系统管理员删除 intake_files 中这些文件的缓存行"
            f"（{'、'.join(files) or '见元数据'}），再重新运行 nightly_awards，文件会按现行规则重新校验"
        )
    return dg.AssetCheckResult(
        check_name="accepted_rows_match_schemas",
        asset_key="submissions",
        passed=not found,
        metadata={
            "rows_checked": dg.MetadataValue.json(checked),
            "failures": len(found),
            "preview": markdown_table(found, limit=50),
        },
        description=description,
    )


def _accepted_applications(frame: pd.DataFrame) -> list[dict[str, object]]:
    return [
        {
            "申报编号": r["application_id"],
            "统一社会信用代码": r["credit_code"],
            "申报类别": r["program"],
            "项目名称": r["project_name"] or "—",
            "申报日期": r["submitted_on"],
            "来源文件": r[FILE],
            "行": r[ROW],
        }
        for r in frame.head(10).to_dict("records")
    ]


def _preview(r: Rejection) -> dict[str, object]:
    return {
        "文件": r.file,
        "工作表": r.sheet,
        "行": r.row_number,
        "列": r.column,
        "值": r.value,
        "代码": r.code,
        "说明": r.message,
    }


def _fingerprint(r: Rejection, sha: str) -> str:
    text = "|".join(str(x) for x in (sha, r.sheet, r.row_number, r.column, r.code, r.value))
    return hashlib.sha256(text.encode()).hexdigest()


def _record(ledger_db: LedgerDatabase, rejections: list[Rejection], subs: Submissions, run_id: str) -> None:
    """Rejections and counts, once per file content: re-reading the same file adds nothing."""
    engine = ledger_db.engine()
    shas = dict(subs.files)
    now = datetime.now(UTC)
    rows = [
        r.as_dict()
        | {
            "file_sha256": shas.get(r.file, ""),
            "fingerprint": _fingerprint(r, shas.get(r.file, "")),
            "run_id": run_id,
            "recorded_at": now,
        }
        for r in rejections
    ]
    counts = [
        {
            "file": c.file,
            "file_sha256": shas.get(c.file, ""),
            "sheet": c.sheet,
            "received": c.received,
            "accepted": c.accepted,
            "rejected": c.rejected,
            "run_id": run_id,
            "recorded_at": now,
        }
        for c in subs.counts
        if c.accepted + c.rejected == c.received  # the table refuses others; rows_balance reports them
    ]
    dialect_insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
    with engine.begin() as conn:
        for start in range(0, len(rows), 500):
            conn.execute(
                dialect_insert(SubmissionRejection).on_conflict_do_nothing(index_elements=["fingerprint"]),
                rows[start : start + 500],
            )
        for start in range(0, len(counts), 500):
            conn.execute(
                dialect_insert(IntakeCount).on_conflict_do_nothing(index_elements=["file_sha256", "sheet"]),
                counts[start : start + 500],
            )
