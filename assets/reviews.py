"""Review determinations in, review workbooks out (docs/inputs.md §3, issue 15).

`review_determinations` reads `ALU_INBOX_DIR/审核/`, records every accepted row (append-only) and every rejected
one (in `submission_rejections`), and hands the decisions the determination in force for each application.
`review_workbooks` records since when each application has been pending and writes, for every department that
leads a program, the workbook its officials fill in and drop back into `审核/`.
"""

import json
from collections import Counter
from typing import Any

import dagster as dg
from sqlalchemy import text

from assets._metadata import rows_table
from pipelines import review_store, reviews
from pipelines.defs.resources import Evaluation, Inbox, LedgerDatabase, ReportsFolder
from pipelines.inbox_history import run_listing
from pipelines.intake import Submissions
from pipelines.review_workbook import PendingRow, figures_text, write
from rules.catalog import BY_CODE, PROGRAMS
from rules.review import OUTCOME_ZH, Determination, in_force
from schemas.sheets import REVIEW_FOLDER

LEADS = tuple(dict.fromkeys(p.lead_department for p in PROGRAMS))  # departments that can determine


@dg.asset(
    description="各牵头部门报送的审核结论（收件箱「审核」文件夹，工作表「审核结论」）：逐行校验，接受的行只追加记入"
    " review_determination_entries（视图 review_determinations 标明现行有效的一条），退回行记入 submission_rejections。",
    check_specs=[
        dg.AssetCheckSpec(
            "review_rows_balance",
            asset="review_determinations",
            description="每个审核结论文件：接受行 + 退回行 = 收到行",
        )
    ],
    pool="ledger_db",
)
def review_determinations(
    context: dg.AssetExecutionContext,
    submissions: Submissions,
    inbox: Inbox,
    ledger_db: LedgerDatabase,
    evaluation: Evaluation,
):
    listing, engine = run_listing(inbox.folder, evaluation.date, ledger_db)  # 审核/ by the inbox's rules
    apps = submissions.frames["applications"]
    programs = dict(zip(apps["application_id"], apps["program"], strict=True))
    intake = reviews.read_inbox(
        listing.reviews, programs, evaluation.date, review_store.recorded_fingerprints(engine)
    )
    review_store.record(engine, intake, context.run.run_id)
    current = in_force(review_store.on_record(engine))
    yield dg.Output(
        current,
        metadata={
            "dagster/row_count": len(current),
            "files": dg.MetadataValue.json([listing.reviews.name(p) for p in listing.reviews.files]),
            "files_refused": dg.MetadataValue.json([r.file for r in listing.reviews.rejections]),
            "files_after_evaluation_day": dg.MetadataValue.json(
                [listing.reviews.name(p) for p in listing.reviews.later]
            ),
            "new_determinations": len(intake.new),
            "rows_rejected": len(intake.rejections),
            "by_code": dg.MetadataValue.json(dict(Counter(r.code for r in intake.rejections))),
            "in_force": rows_table([_shown(d) for d in current.values()], limit=50),
            "rejected": rows_table(
                [
                    {
                        "文件": r.file,
                        "行": r.row_number or "—",
                        "列": r.column or "—",
                        "填写值": r.value or "—",
                        "代码": r.code,
                        "说明": r.message,
                    }
                    for r in intake.rejections
                ],
                limit=50,
            ),
        },
    )
    unbalanced = [c for c in intake.counts if c.accepted + c.rejected != c.received]
    yield dg.AssetCheckResult(
        check_name="review_rows_balance",
        passed=not unbalanced,
        metadata={"counts": dg.MetadataValue.json([c.__dict__ for c in intake.counts])},
        description=None
        if not unbalanced
        else "审核结论文件的行数不平衡（有行既未接受也未退回）："
        + "；".join(f"{c.file} 收到 {c.received}，接受 {c.accepted}，退回 {c.rejected}" for c in unbalanced)
        + "。请把文件和本检查结果转交系统管理员",
    )


def _shown(d: Determination) -> dict[str, Any]:
    return {
        "申报编号": d.application_id,
        "审核结论": OUTCOME_ZH[d.outcome],
        "核定值": d.determined_value if d.determined_value is not None else "—",
        "审核单位": d.department,
        "审核人": d.reviewer,
        "审核日期": d.reviewed_on.isoformat(),
        "审核文号": d.document_no,
        "来源": f"{d.source_file} 第 {d.source_row} 行",
    }


@dg.asset(
    deps=["application_decisions"],
    description="各牵头部门的审核工作簿：本部门待人工审核的申报及待填写的审核结论列（下拉选项），写入 "
    "ALU_REPORTS_DIR/<评审日>/审核/<评审日>-<部门>-审核结论.xlsx；填好后放入收件箱「审核」文件夹。同时记录每个申报自哪天起待审核。",
    pool="ledger_db",
)
def review_workbooks(
    context: dg.AssetExecutionContext,
    submissions: Submissions,
    ledger_db: LedgerDatabase,
    reports: ReportsFolder,
    evaluation: Evaluation,
) -> dg.MaterializeResult:
    engine = ledger_db.engine()
    apps = submissions.frames["applications"]
    decided = set(apps["application_id"])
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT application_id, decision, rulebook_version FROM application_decisions")
        ).all()
        # only the pending ones are listed: their reasons are the only ones read
        waiting = conn.execute(
            text(
                "SELECT application_id, program, enterprise_name, reasons FROM application_decisions "
                "WHERE decision = 'needs_review' ORDER BY application_id"
            )
        ).all()
    tonight = [r for r in rows if r.application_id in decided]
    version = max((r.rulebook_version for r in tonight), default="—")
    review_store.track_pending(
        engine, [(r.application_id, r.decision) for r in tonight], evaluation.date, context.run.run_id
    )
    since = review_store.pending_since(engine)
    # column by column: a row-by-row to_dict of every application cost more than the rest of this asset
    declared = dict(
        zip(
            apps["application_id"],
            zip(apps["project_code"].tolist(), apps["project_name"].tolist(), strict=True),
            strict=True,
        )
    )
    claimed = _claimed(submissions)
    by_department: dict[str, list[PendingRow]] = {d: [] for d in LEADS}
    for r in waiting:
        program = BY_CODE.get(r.program)
        if program is None:
            continue
        reasons = json.loads(r.reasons or "[]")
        project_code, project_name = declared.get(r.application_id, (None, None))
        by_department[program.lead_department].append(
            PendingRow(
                application_id=r.application_id,
                program=program.code,
                enterprise_name=r.enterprise_name,
                project_code=project_code,
                project_name=project_name,
                program_name=f"{program.name}（{program.code}）",
                pending_reason="；".join(x["message"] for x in reasons if x.get("passed") is not True),
                rule_figures=figures_text(program.code, claimed.get(r.application_id), reasons),
                pending_since=since.get(r.application_id),
            )
        )
    folder = reports.for_date(evaluation.date) / REVIEW_FOLDER  # beside the reports, as in the inbox
    folder.mkdir(exist_ok=True)
    written = {d: write(folder, d, evaluation.date, version, pending) for d, pending in by_department.items()}
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": sum(len(p) for p in by_department.values()),
            "folder": dg.MetadataValue.path(str(folder)),
            **{f"file/{d}": dg.MetadataValue.path(str(p)) for d, p in written.items()},
            "pending": rows_table([{"部门": d, "待审核": len(p)} for d, p in by_department.items()]),
        }
    )


def _claimed(submissions: Submissions) -> dict[str, Any]:
    """The figure each application claimed, in the unit a determination is typed in (tce/t, 万元)."""
    out: dict[str, Any] = {}
    claims = submissions.frames["savings_claims"]
    for app_id, saving in zip(claims["application_id"], claims["claimed_saving"].tolist(), strict=True):
        out.setdefault(app_id, saving)
    apps = submissions.frames["applications"]
    for app_id, program, equipment, completed in zip(
        apps["application_id"],
        apps["program"],
        apps["equipment_investment_wan"].tolist(),
        apps["completed_investment_wan"].tolist(),
        strict=True,
    ):
        if program == "EQUIPMENT_UPGRADE":
            out[app_id] = equipment
        elif program == "IP_COMMERCIALIZATION":
            out[app_id] = completed
    return out
