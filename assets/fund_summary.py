"""The fund summary workbook for 财政厅 (`ALU_REPORTS_DIR/<as-of date>/专项资金汇总.xlsx`) and the check that its
totals tie to the ledger, read back from the written file. What it holds is `pipelines.fund_report`; the budget,
its status and an overrun are `rules.fund`'s.
"""

from datetime import datetime

import dagster as dg

from assets._metadata import rows_table
from assets.reports import sheet_schema
from pipelines.defs.resources import Evaluation, LedgerDatabase, ReportsFolder, Rulebook
from pipelines.department_report import project_names
from pipelines.fund_report import BY_PROGRAM, FILE_NAME, PROGRAM_SHEET, write_fund_summary
from pipelines.intake import Submissions
from pipelines.report_readback import fund_mismatches
from pipelines.settings import SHANGHAI


@dg.asset(
    deps=["award_ledger"],
    description="财政厅专项资金汇总工作簿：按项目、盟市、月份的承诺金额对照年度预算（暂定），资金分配表与拟奖补名单，"
    "含原生 Excel 图表（万元）；累计数与 award_balances 一致。",
)
def fund_summary(
    context: dg.AssetExecutionContext,
    submissions: Submissions,
    ledger_db: LedgerDatabase,
    reports: ReportsFolder,
    evaluation: Evaluation,
    rulebook: Rulebook,
) -> dg.MaterializeResult:
    folder = reports.for_date(evaluation.date)
    projects = project_names(submissions.frames)
    report = write_fund_summary(
        ledger_db.engine(),
        evaluation.date,
        folder,
        rulebook.parameters,
        projects,
        datetime.now(SHANGHAI),
        reports.kept_rows(),  # pruned by department_reports
    )
    preview = [
        {
            "项目": r["name"],
            "本年度承诺(元)": f"{r['year_yuan']:,.2f}",
            "累计承诺(元)": f"{r['total_yuan']:,.2f}",
        }
        for r in report.by_program
    ]
    return dg.MaterializeResult(
        metadata={
            # one row per fund program on 按项目, the sheet the budget and ledger totals are read from
            "dagster/row_count": len(report.by_program),
            "dagster/column_schema": sheet_schema(BY_PROGRAM, PROGRAM_SHEET),
            "path": dg.MetadataValue.path(str(report.path)),
            "year_committed_yuan": str(report.year_committed),
            "total_committed_yuan": str(report.total_committed),
            "annual_budget_yuan": "未设定" if report.status is None else str(report.status.budget.value),
            "overrun_yuan": "" if report.overrun is None else str(report.overrun),
            "summary": rows_table(preview),
        }
    )


@dg.asset_check(
    asset=fund_summary,
    description="专项资金汇总（按项目、按盟市、按月份、资金分配表、拟奖补名单）的合计（从文件读回）= award_balances",
)
def fund_summary_ties_to_ledger(
    ledger_db: LedgerDatabase, reports: ReportsFolder, evaluation: Evaluation
) -> dg.AssetCheckResult:
    path = reports.for_date(evaluation.date) / FILE_NAME
    problems = fund_mismatches(ledger_db.engine(), path)
    return dg.AssetCheckResult(
        passed=not problems,
        metadata={"path": dg.MetadataValue.path(str(path)), "mismatches": dg.MetadataValue.json(problems)},
        description=None
        if not problems
        else "专项资金汇总与台账不一致：报表生成后台账又有变动，或报表被改动；请重新运行 nightly_awards 后再签发",
    )
