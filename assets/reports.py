"""Department report workbooks: one per responsible department, covering the programs it is responsible for."""

import json
from collections import defaultdict
from decimal import Decimal
from typing import Any

import dagster as dg
from sqlalchemy import text

from assets._metadata import markdown_table
from pipelines.defs.resources import Evaluation, LedgerDatabase, ReportsFolder
from pipelines.excel import Col, new_workbook, save, write_table
from pipelines.ledger import from_fen
from rules.catalog import DEPARTMENTS, PROGRAMS

DECISION_ZH = {
    "awarded": "奖补",
    "eligible": "符合条件",
    "compliant": "合规",
    "non_compliant": "不合规",
    "rejected": "不予支持",
    "needs_review": "待人工审核",
}

SUMMARY = [
    Col("申报类别", "program"),
    Col("名称", "name"),
    Col("条款", "clause"),
    Col("本部门职责", "role"),
    Col("申报数", "applications", "int"),
    Col("奖补", "awarded", "int"),
    Col("不予支持", "rejected", "int"),
    Col("待审核", "needs_review", "int"),
    Col("其他决定", "other", "int"),
    Col("决定金额(元)", "decided_yuan", "yuan"),
    Col("台账净额(元)", "ledger_yuan", "yuan"),
]
DETAIL = [
    Col("申报编号", "application_id"),
    Col("企业名称", "enterprise_name"),
    Col("统一社会信用代码", "credit_code"),
    Col("所属盟市", "league_city"),
    Col("申报类别", "program"),
    Col("条款", "clause"),
    Col("决定", "decision_zh"),
    Col("金额(元)", "amount_yuan", "yuan"),
    Col("理由", "reasons_zh"),
    Col("来源文件", "source_file"),
]
REJECTIONS = [
    Col("文件", "file"),
    Col("工作表", "sheet"),
    Col("行号", "row_number", "int"),
    Col("列", "column"),
    Col("填写值", "value"),
    Col("错误代码", "code"),
    Col("说明", "message"),
]


def _reasons_zh(reasons_json: str, decision: str) -> str:
    reasons = json.loads(reasons_json)
    wanted = [r for r in reasons if r.get("passed") is not True] or reasons
    return "；".join(r["message"] for r in wanted)


@dg.asset(
    deps=["award_ledger", "submission_rejections"],
    description="各责任部门的报表工作簿（汇总、明细、待审核、退回行），金额与台账核对一致。",
    check_specs=[
        dg.AssetCheckSpec(
            "totals_tie_to_ledger",
            asset="department_reports",
            description="每份报表各项目台账净额 = award_balances",
        )
    ],
)
def department_reports(
    context: dg.AssetExecutionContext,
    ledger_db: LedgerDatabase,
    reports: ReportsFolder,
    evaluation: Evaluation,
):
    engine = ledger_db.engine()
    with engine.connect() as conn:
        decisions = [
            dict(r._mapping)
            for r in conn.execute(
                text(
                    "SELECT application_id, program, credit_code, enterprise_name, league_city, clause, decision, "
                    "amount_fen, reasons, source_file FROM application_decisions ORDER BY program, application_id"
                )
            )
        ]
        ledger_by_program = {
            r.program: int(r.net)
            for r in conn.execute(
                text("SELECT program, COALESCE(SUM(amount_fen), 0) AS net FROM award_ledger GROUP BY program")
            )
        }
        rejections = [
            dict(r._mapping)
            for r in conn.execute(
                text(
                    'SELECT file, sheet, row_number, "column", value, code, message FROM submission_rejections '
                    "ORDER BY file, sheet, row_number"
                )
            )
        ]
    for d in decisions:
        d["amount_yuan"] = None if d["amount_fen"] is None else from_fen(int(d["amount_fen"]))
        d["decision_zh"] = DECISION_ZH.get(d["decision"], d["decision"])
        d["reasons_zh"] = _reasons_zh(d["reasons"], d["decision"])
    by_program: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for d in decisions:
        by_program[d["program"]].append(d)

    folder = reports.for_date(evaluation.date)
    paths, summary_rows, mismatches = [], [], []
    for dept in DEPARTMENTS:
        programs = [p for p in PROGRAMS if dept in p.departments]
        summary = []
        for p in programs:
            rows = by_program.get(p.code, [])
            counts: dict[str, int] = defaultdict(int)
            for r in rows:
                counts[r["decision"]] += 1
            decided = sum(
                (r["amount_yuan"] for r in rows if r["decision"] == "awarded" and r["amount_yuan"]),
                Decimal("0.00"),
            )
            ledger = from_fen(ledger_by_program.get(p.code, 0))
            summary.append(
                {
                    "program": p.code,
                    "name": p.name,
                    "clause": p.clause,
                    "role": "牵头" if p.lead_department == dept else "配合",
                    "applications": len(rows),
                    "awarded": counts["awarded"],
                    "rejected": counts["rejected"],
                    "needs_review": counts["needs_review"],
                    "other": len(rows) - counts["awarded"] - counts["rejected"] - counts["needs_review"],
                    "decided_yuan": decided,
                    "ledger_yuan": ledger,
                }
            )
            if p.kind == "fund" and decided != ledger:
                mismatches.append(
                    {"department": dept, "program": p.code, "decided": str(decided), "ledger": str(ledger)}
                )
        codes = {p.code for p in programs}
        detail = [d for d in decisions if d["program"] in codes]
        wb = new_workbook()
        write_table(
            wb.create_sheet("汇总"),
            SUMMARY,
            summary,
            title=f"{dept} 铝产业政策奖补评审汇总（评审日 {evaluation.date}）",
        )
        write_table(wb.create_sheet("明细"), DETAIL, detail)
        write_table(wb.create_sheet("待审核"), DETAIL, [d for d in detail if d["decision"] == "needs_review"])
        write_table(wb.create_sheet("退回行"), REJECTIONS, rejections)
        paths.append(str(save(wb, folder / f"{dept}.xlsx")))
        summary_rows.append(
            {
                "部门": dept,
                "项目数": len(programs),
                "申报数": len(detail),
                "奖补金额": sum((s["decided_yuan"] for s in summary), Decimal("0.00")),
            }
        )

    yield dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(paths),
            "folder": dg.MetadataValue.path(str(folder)),
            "files": dg.MetadataValue.json(paths),
            "summary": markdown_table(summary_rows),
        }
    )
    yield dg.AssetCheckResult(
        check_name="totals_tie_to_ledger",
        passed=not mismatches,
        metadata={"mismatches": dg.MetadataValue.json(mismatches)},
    )
