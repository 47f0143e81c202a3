"""Submission batches from the inbox: read, validated, merged in file-name order; rejections recorded."""

import hashlib
from collections import Counter
from datetime import UTC, datetime

import dagster as dg
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from assets._metadata import markdown_table, table_schema
from pipelines.defs.resources import Inbox, LedgerDatabase
from pipelines.intake import Submissions, file_sha256, is_submission, merge, read_batch, unreadable
from pipelines.intake_store import IntakeStore
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
