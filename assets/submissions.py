"""Submission batches from the inbox: read, validated, merged in file-name order; rejections recorded."""

import hashlib
from datetime import UTC, datetime

import dagster as dg
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from assets._metadata import markdown_table, table_schema
from pipelines.defs.resources import Inbox, LedgerDatabase
from pipelines.intake import Submissions, is_submission, merge, read_batch
from schemas.rejection import Rejection
from schemas.tables import IntakeCount, SubmissionRejection

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


@dg.multi_asset(
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
        )
    ],
    pool="ledger_db",
)
def submission_batches(context: dg.AssetExecutionContext, inbox: Inbox, ledger_db: LedgerDatabase):
    folder = inbox.folder
    paths = (
        sorted((p for p in folder.iterdir() if is_submission(p)), key=lambda p: p.name)
        if folder.exists()
        else []
    )
    others = (
        sorted(p.name for p in folder.iterdir() if not is_submission(p) and p.suffix.lower() != ".csv")
        if folder.exists()
        else []
    )
    batches = [read_batch(p) for p in paths]
    subs = merge(batches)
    shas = dict(subs.files)
    _record(ledger_db, subs, shas, context.run.run_id)

    counts = [c.__dict__ for c in subs.counts]
    accepted = sum(c.accepted for c in subs.counts)
    rejected = sum(c.rejected for c in subs.counts)
    yield dg.Output(
        subs,
        output_name="submissions",
        metadata={
            "dagster/row_count": accepted,
            "files": dg.MetadataValue.json([name for name, _ in subs.files]),
            "ignored_files": dg.MetadataValue.json(others),
            "applications": len(subs.frames["applications"]),
            "counts": markdown_table(counts, limit=60),
        },
    )
    yield dg.Output(
        None,
        output_name="submission_rejections",
        metadata={
            "dagster/row_count": len(subs.rejections),
            "rows_rejected": rejected,
            "preview": markdown_table([_preview(r) for r in subs.rejections]),
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
    )


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


def _record(ledger_db: LedgerDatabase, subs: Submissions, shas: dict[str, str], run_id: str) -> None:
    """Rejections and counts, once per file content: re-reading the same file adds nothing."""
    engine = ledger_db.engine()
    now = datetime.now(UTC)
    rows = [
        r.as_dict()
        | {
            "file_sha256": shas.get(r.file, ""),
            "fingerprint": _fingerprint(r, shas.get(r.file, "")),
            "run_id": run_id,
            "recorded_at": now,
        }
        for r in subs.rejections
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
