"""Submission batches from the inbox: read, validated, merged in file-name order; rejections recorded."""

from collections import Counter

import dagster as dg
import pandas as pd

from assets._metadata import rows_table, table_schema
from assets.ledger_checks import schema_problems
from assets.submission_checks import (
    accepted_rows_match_schemas,
    inbox_files_present,
    rejections_to_fix,
    rows_balance,
)
from pipelines.defs.resources import Evaluation, Inbox, LedgerDatabase
from pipelines.inbox_history import run_listing
from pipelines.intake import superseded
from pipelines.intake_store import IntakeStore
from pipelines.submission_intake import read_night
from schemas.rejection import Rejection
from schemas.sheets import APPLICATIONS, FILE, ROW

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
            description="每个文件每个工作表：接受行 + 退回行 = 收到行，且每个退回行都已记入 submission_rejections 表",
        ),
        dg.AssetCheckSpec(
            "rejections_to_fix",
            asset="submission_rejections",
            description="本次收件箱中被退回、且未被之后重新提交并受理的文件取代的行，逐文件列出需重新上传的更正"
            "（工作表、行号、列、填写值、怎么改）；无待更正的退回时通过",
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
        dg.AssetCheckSpec(
            "inbox_files_present",
            asset="submissions",
            description="此前受理过的每个文件（申报批次、计量导出）仍在收件箱中，且没有日期晚于评审日而未读取的文件；"
            "否则逐个列出，并列出因此暂不评审的申报",
        ),
    ],
    pool="ledger_db",
)
def submission_batches(
    context: dg.AssetExecutionContext, inbox: Inbox, ledger_db: LedgerDatabase, evaluation: Evaluation
):
    """Every submission batch of the inbox, read once per content (table `intake_files`), merged in file-name
    order; rejections, per-sheet counts and the parsed cache recorded together, once per file content."""
    listing, engine = run_listing(
        inbox.folder, evaluation.date, ledger_db
    )  # raises before anything is written
    store = IntakeStore(engine)
    night = read_night(listing, engine, store, context.log)
    subs, batches, to_save, reused, failed = (
        night.submissions,
        night.batches,
        night.parsed,
        night.reused,
        night.failed,
    )
    gone, gone_exports, confirmed, withheld = night.gone, night.gone_exports, night.confirmed, night.withheld
    unrecorded = store.record(subs, context.run.run_id, to_save)

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
            "files_parsed": len(to_save),
            "files_reused": len(reused),
            "files_failed": dg.MetadataValue.json(failed),
            "files_refused": dg.MetadataValue.json([r.file for r in listing.rejections]),
            "files_after_evaluation_day": dg.MetadataValue.json([listing.name(p) for p in listing.later]),
            "applications_held_back": dg.MetadataValue.json([w.application_id for w in withheld]),
            "applications": len(subs.frames["applications"]),
            "dagster/column_schema": APPLICATION_COLUMNS,
            "preview": rows_table(_accepted_applications(subs.frames["applications"]), limit=10),
            "counts": rows_table(
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
            "preview": rows_table([_preview(r) for r in subs.rejections], limit=50),
        },
    )
    yield rows_balance(subs.counts, unrecorded, len(subs.files))
    yield rejections_to_fix(subs.rejections, superseded(subs, batches))
    problems = schema_problems(engine, ["submission_rejections"])
    yield dg.AssetCheckResult(
        check_name="published_columns",
        asset_key="submission_rejections",
        passed=not problems,
        metadata={"problems": dg.MetadataValue.json(problems)},
        description=None
        if not problems
        else "发布表 submission_rejections 与约定结构不一致："
        + "；".join(problems)
        + "。请运行 `python -m pipelines.migrate` 升级数据库（make run 会自动执行）；若已是最新，说明表结构被手工改动，"
        "请联系系统管理员",
    )
    yield accepted_rows_match_schemas(subs.frames, set(night.trusted))
    yield inbox_files_present(
        [*(g for g in gone if g not in confirmed), *gone_exports],
        confirmed,
        withheld,
        [listing.name(p) for p in listing.later] + [listing.reviews.name(p) for p in listing.reviews.later],
        night.unmatched,
        gone,
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
