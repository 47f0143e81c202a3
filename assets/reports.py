"""The department report workbooks (README, "What you get"): one per responsible department and run, under
`ALU_REPORTS_DIR/<as-of date>/<department>.xlsx`, and the check that each ties to the ledger, read back from the
written files. What the workbooks hold and how they are shaped is `pipelines.department_report`.
"""

from datetime import datetime

import dagster as dg

from assets._metadata import rows_table, table_schema
from pipelines.defs.resources import Evaluation, LedgerDatabase, ReportsFolder, Rulebook
from pipelines.department_report import SUMMARY, SUMMARY_SHEET, load, write_all
from pipelines.excel import Col
from pipelines.intake import Submissions
from pipelines.report_readback import department_mismatches
from pipelines.settings import SHANGHAI

# Excel column kinds as the column schema shows them.
COLUMN_TYPES = {
    "int": "integer",
    "yuan": "decimal(元)",
    "wan": "decimal(万元)",
    "qty": "decimal",
    "pct": "percent",
    "date": "date",
}


def sheet_schema(columns: list[Col], sheet: str) -> dg.TableSchema:
    """The columns of one report sheet, as Dagster's column schema."""
    return table_schema([(c.header, COLUMN_TYPES.get(c.kind, "text"), f"{sheet}：{c.key}") for c in columns])


@dg.asset(
    deps=["award_ledger", "submission_rejections", "meter_readings", "review_workbooks"],
    description="各责任部门的报表工作簿（汇总、明细、待审核、退回行、资金分配表及部门专表），"
    "写入 ALU_REPORTS_DIR/<评审日>/<部门>.xlsx；汇总的台账净额取自 award_balances。",
)
def department_reports(
    context: dg.AssetExecutionContext,
    submissions: Submissions,
    ledger_db: LedgerDatabase,
    reports: ReportsFolder,
    evaluation: Evaluation,
    rulebook: Rulebook,
) -> dg.MaterializeResult:
    data = load(
        ledger_db.engine(),
        evaluation.date,
        submissions.frames,
        rulebook.parameters.version,
        datetime.now(SHANGHAI),
    )
    folder = reports.for_date(evaluation.date)
    rows_kept = reports.kept_rows()  # last night's table rows, where nothing in them changed
    written = write_all(data, folder, row_cache=rows_kept)
    rows_kept.prune()
    preview = [
        {
            "部门": r.department,
            "项目数": r.programs,
            "申报数": r.applications,
            "待审核": r.needs_review,
            "奖补决定(元)": f"{r.awarded_yuan:,.2f}",
            "台账净额(元)": f"{r.ledger_yuan:,.2f}",
            "退税估算(元)": f"{r.estimate_yuan:,.2f}",
        }
        for r in written
    ]
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(written),
            "dagster/column_schema": sheet_schema(SUMMARY, SUMMARY_SHEET),
            "folder": dg.MetadataValue.path(str(folder)),
            **{f"file/{r.department}": dg.MetadataValue.path(str(r.path)) for r in written},
            "summary": rows_table(preview),
        }
    )


@dg.asset_check(
    asset=department_reports,
    description="每份部门报表“汇总”表的台账净额（逐项目及合计）与“资金分配表”的合计及各盟市小计（从文件读回）"
    "= award_balances",
)
def department_reports_tie_to_ledger(
    ledger_db: LedgerDatabase, reports: ReportsFolder, evaluation: Evaluation
) -> dg.AssetCheckResult:
    folder = reports.for_date(evaluation.date)
    problems = department_mismatches(ledger_db.engine(), folder)
    return dg.AssetCheckResult(
        passed=not problems,
        metadata={
            "folder": dg.MetadataValue.path(str(folder)),
            "mismatches": dg.MetadataValue.json(problems),
        },
        description=None
        if not problems
        else "部门报表与台账不一致：报表生成后台账又有变动，或报表被改动；请重新运行 nightly_awards 生成报表后再签发",
    )
