"""Department report workbooks (README, "What you get"): one per responsible department and run, under
`ALU_REPORTS_DIR/<as-of date>/<department>.xlsx`, covering the programs the department leads or joins.

Every workbook has 汇总 (per program: applications by decision, amounts, and the ledger control total, with the
sign-off block), 明细 (every application with its decision and the reasons in Chinese), 待审核 (what is missing
or must be checked), 退回行 (input rows that could not be accepted) and, where the department has fund programs,
资金分配表 (what the ledger owes, by 盟市). The department-specific sheets are in `pipelines.department_extras`.

Sources: decisions, amounts and reasons from the decisions table; control totals and allocations from the ledger
(`pipelines.report_queries`); what enterprises declared (project names, VAT claims, recognitions, gate metrics)
from the submissions frames.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl import Workbook
from sqlalchemy import Engine

from pipelines import report_queries as q
from pipelines.allocation import allocation_rows, write_allocation
from pipelines.department_extras import extra_sheets
from pipelines.excel import CODE_HEADER, TOTAL, Col, Frame, new_workbook, save, write_table
from pipelines.forked import forked_map
from pipelines.ledger import from_fen
from pipelines.release import code_digest
from pipelines.report_text import (
    DECISION_FILL,
    DECISIONS,
    KIND_ZH,
    SIGN_OFF,
    UNKNOWN_CITY,
    official_order,
    reasons,
)
from pipelines.row_cache import RowCache
from rules.catalog import BY_CODE, DEPARTMENTS, PROGRAMS, Program
from rules.labels import DECISION_ZH
from schemas.sheets import BY_KEY

ZERO = Decimal("0.00")
SUMMARY_SHEET = "汇总"
LEDGER_HEADER = "台账净额(元)"

SUMMARY = [
    Col("申报类别", "name", width=20),
    Col("政策条款", "clause", width=7),
    Col("本部门职责", "role", width=6),
    Col("申报数", "applications", "int", width=6),
    *[Col(DECISION_ZH[d], d, "int", width=6) for d in DECISIONS],
    Col("奖补决定金额(元)", "decided_yuan", "yuan", width=16),
    Col("退税估算(元)", "estimate_yuan", "yuan", width=15),
    Col(LEDGER_HEADER, "ledger_yuan", "yuan", width=16),
    Col("类型", "kind", screen=True),
    Col("决定与台账差额(元)", "difference_yuan", "yuan", screen=True),
    Col(CODE_HEADER, "program", screen=True),
]
DETAIL = [
    Col("盟市", "league_city", width=9),
    Col("企业名称", "enterprise_name", width=16),
    Col("项目名称", "project_name", width=16),
    Col("申报类别", "program_name", width=14),
    Col("政策条款", "clause", width=7),
    Col("决定", "decision_zh", width=7),
    Col("奖补金额(元)", "award_yuan", "yuan", width=14),
    Col("理由", "reasons_zh", width=36),
    Col("退税估算(元)", "estimate_yuan", "yuan", screen=True),
    Col("申报编号", "application_id", screen=True),
    Col("统一社会信用代码", "credit_code", screen=True),
    Col("项目编号", "project_code", screen=True),
    Col("本部门职责", "role", screen=True),
    Col("申报日期", "submitted_on", "date", screen=True),
    Col("来源文件", "source_file", screen=True),
    Col(CODE_HEADER, "program", screen=True),
]
REVIEW = [
    Col("盟市", "league_city", width=9),
    Col("企业名称", "enterprise_name", width=16),
    Col("项目名称", "project_name", width=16),
    Col("申报类别", "program_name", width=14),
    Col("政策条款", "clause", width=7),
    Col("需补充或核实的内容", "missing_zh", width=32),
    # how long it has waited: from the first run that decided it needs_review (table review_pending)
    Col("待审核起始日", "pending_since", "date", width=11),
    Col("已待审核(天)", "pending_days", "int", width=7),
    Col("申报日期", "submitted_on", "date", width=11),
    Col("申报编号", "application_id", screen=True),
    Col("统一社会信用代码", "credit_code", screen=True),
    Col("来源文件", "source_file", screen=True),
    Col(CODE_HEADER, "program", screen=True),
]
REJECTIONS = [
    Col("文件", "file", width=20),
    Col("工作表", "sheet_zh", width=9),
    Col("行号", "row_number", "int", width=6),
    # the sheets' headers, 项目总投资(万元) whole on one line: at 12 its ")" printed alone
    Col("列", "column", width=18),
    Col("填写值", "value", width=16),
    Col("说明", "message", width=38),
    Col("错误代码", "code", screen=True),
]


@dataclass
class ReportData:
    """Everything the department workbooks show, read once per run."""

    as_of: date
    rulebook_version: str
    generated_at: datetime
    decisions: list[dict[str, Any]]
    ledger: dict[str, Decimal]  # program -> net yuan of the ledger
    rejections: list[dict[str, Any]]
    declared: dict[str, dict[str, list[dict[str, Any]]]]  # sheet key -> application id -> rows
    enterprises: dict[str, dict[str, Any]]  # credit code -> enterprise row
    projects: dict[str, str | None]  # application id -> project name
    meter_months: list[dict[str, Any]] | None  # None: the metering tables do not exist yet
    renewable_shares: list[dict[str, Any]] | None
    # Worked out once a night, before the workbooks are written: every department reads them.
    by_program: dict[str, list[dict[str, Any]]]  # program -> its decisions
    # what the ledger owes each application, of every program (`allocation_rows`): 资金分配表 shows a department's
    owed: list[dict[str, Any]]

    def frame(self, department: str, title: str, unit: str = "元") -> Frame:
        return Frame(
            f"{department}{title}", department, self.as_of, self.rulebook_version, self.generated_at, unit
        )


def _value(v: Any) -> Any:
    """Plain Python values out of pandas/numpy cells (NaN is a blank)."""
    if v is None:
        return None
    if isinstance(v, float) and v != v:
        return None
    if hasattr(v, "item") and not isinstance(v, str | bytes):
        return v.item()
    return v


def records(frame: pd.DataFrame | None, columns: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """The rows of a frame as plain dicts, of `columns` only (those the frame has) or of all. Built column by
    column: a frame's row-by-row `to_dict` cost more than everything else the reports read."""
    if frame is None or frame.empty:
        return []
    names = list(frame.columns) if columns is None else [c for c in columns if c in frame.columns]
    values = [[_value(v) for v in frame[name].tolist()] for name in names]
    return [dict(zip(names, row, strict=True)) for row in zip(*values, strict=True)]


def _grouped(rows: list[dict[str, Any]], key: str) -> dict[str, list[dict[str, Any]]]:
    """The rows by their value of `key`, each group in the rows' order."""
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        out[row[key]].append(row)
    return dict(out)


def project_names(frames: Mapping[str, pd.DataFrame]) -> dict[str, str | None]:
    """application id -> the project name the enterprise declared."""
    rows = records(frames.get("applications"), ("application_id", "project_name"))
    return {r["application_id"]: r.get("project_name") for r in rows}


def load(
    engine: Engine,
    as_of: date,
    frames: Mapping[str, pd.DataFrame],
    rulebook_version: str,
    generated_at: datetime,
) -> ReportData:
    declared_columns = ("application_id", "project_code", "project_name", "submitted_on")  # what is shown
    applications = {r["application_id"]: r for r in records(frames.get("applications"), declared_columns)}
    enterprises = {r["credit_code"]: r for r in records(frames.get("enterprises"))}
    declared = {
        key: _grouped(records(frames.get(key)), "application_id")
        for key in ("vat_claims", "recognitions", "gate_metrics")
    }
    names = q.table_names(engine)
    with engine.connect() as conn:
        decisions = q.decisions(conn)
        ledger = q.ledger_by_program(conn)
        allocations = q.allocations(conn)
        rejections = q.rejections(conn)
        meter_months = q.meter_months(conn, names)
        renewable = q.renewable_shares(conn, names)
        waiting = q.pending_since(conn, names)
        # the rulebook the decisions shown were made with; the one in force when nothing is decided yet
        rulebook_version = q.rulebook_version(conn) or rulebook_version
    said = cache(reasons)  # many decisions share their reasons text word for word: each is said once tonight
    for d in decisions:
        program = BY_CODE.get(d["program"])
        kind = program.kind if program else ""
        amount = None if d["amount_fen"] is None else from_fen(int(d["amount_fen"]))
        declared_app = applications.get(d["application_id"], {})
        enterprise = enterprises.get(d["credit_code"], {})
        d["enterprise_name"] = d["enterprise_name"] or enterprise.get("name")
        d["league_city"] = d["league_city"] or enterprise.get("league_city") or UNKNOWN_CITY
        d["program_name"] = program.name if program else "已停用的申报类别"
        d["kind"] = kind
        d["project_code"] = declared_app.get("project_code")
        d["project_name"] = declared_app.get("project_name")
        d["decision_zh"] = DECISION_ZH.get(d["decision"], d["decision"])
        d["_fill"] = DECISION_FILL.get(d["decision"])
        d["award_yuan"] = amount if kind == "fund" and d["decision"] == "awarded" else None
        d["estimate_yuan"] = amount if kind == "vat" and d["decision"] == "eligible" else None
        d["reasons_zh"], d["missing_zh"] = said(d["reasons"])
        d["submitted_on"] = d["submitted_on"] or declared_app.get("submitted_on")
        started = waiting.get(d["application_id"]) if d["decision"] == "needs_review" else None
        d["pending_since"] = started
        d["pending_days"] = None if started is None else max((as_of - started).days, 0)
    decisions.sort(key=official_order)
    for r in rejections:
        sheet = BY_KEY.get(r["sheet"])
        r["sheet_zh"] = sheet.name if sheet else "整个文件"
    projects = {k: v.get("project_name") for k, v in applications.items()}  # = project_names(frames)
    return ReportData(
        as_of, rulebook_version, generated_at, decisions, ledger, rejections, declared, enterprises, projects,
        meter_months, renewable, _grouped(decisions, "program"), allocation_rows(allocations, projects),
    )  # fmt: skip


def role(program: Program, department: str) -> str:
    return "牵头" if program.lead_department == department else "配合"


def summary_rows(data: ReportData, programs: Sequence[Program], department: str) -> list[dict[str, Any]]:
    rows = []
    for p in programs:
        decided = data.by_program.get(p.code, [])
        counts = {k: sum(1 for d in decided if d["decision"] == k) for k in DECISIONS}
        awarded = sum((d["award_yuan"] for d in decided if d["award_yuan"] is not None), ZERO)
        estimate = sum((d["estimate_yuan"] for d in decided if d["estimate_yuan"] is not None), ZERO)
        ledger = data.ledger.get(p.code, ZERO)
        rows.append(
            {
                "program": p.code,
                "name": p.name,
                "clause": p.clause,
                "kind": KIND_ZH.get(p.kind, p.kind),
                "role": role(p, department),
                "applications": len(decided),
                **counts,
                "decided_yuan": awarded if p.kind == "fund" else None,
                "estimate_yuan": estimate if p.kind == "vat" else None,
                "difference_yuan": awarded - ledger if p.kind == "fund" else None,
                "ledger_yuan": ledger,
            }
        )
    return rows


def totals(rows: Sequence[dict[str, Any]], columns: Sequence[Col], label_key: str) -> dict[str, Any]:
    out: dict[str, Any] = {label_key: TOTAL}
    for col in columns:
        if col.kind in ("int", "yuan"):
            values = [r[col.key] for r in rows if r.get(col.key) is not None]
            out[col.key] = sum(values, ZERO if col.kind == "yuan" else 0)
    return out


def review_sheet(wb: Workbook, data: ReportData, department: str, detail: Sequence[dict[str, Any]]) -> int:
    """待审核: every application of the department waiting for a person, with what to supply or check."""
    review = [d for d in detail if d["decision"] == "needs_review"]
    write_table(
        wb,
        "待审核",
        REVIEW,
        review,
        frame=data.frame(department, "待人工审核的申报"),
        notes=(
            "请按“需补充或核实的内容”补齐材料或核实后重新提交；牵头部门的审核结论填在同目录“审核”文件夹的审核工作簿中。",
        ),
    )
    return len(review)


@dataclass(frozen=True)
class DepartmentReport:
    department: str
    path: Path
    programs: int
    applications: int
    awarded_yuan: Decimal
    ledger_yuan: Decimal
    estimate_yuan: Decimal
    needs_review: int


def write_department(
    data: ReportData, department: str, folder: Path, row_cache: RowCache | None = None
) -> DepartmentReport:
    programs = [p for p in PROGRAMS if department in p.departments]
    codes = {p.code for p in programs}
    summary = summary_rows(data, programs, department)
    roles = {p.code: role(p, department) for p in programs}
    detail = [d | {"role": roles[d["program"]]} for d in data.decisions if d["program"] in codes]
    summed = totals(summary, SUMMARY, "name")

    wb = new_workbook(row_cache)
    write_table(
        wb,
        SUMMARY_SHEET,
        SUMMARY,
        summary,
        frame=data.frame(department, "铝产业政策奖补评审汇总表"),
        totals=summed,
        notes=(
            "台账净额取自专项资金台账；奖补决定金额为本次评审“奖补”决定之和，两者应一致。",
            "退税估算由税务机关核定，不计入专项资金；合规判定与登记统计不涉及资金。",
        ),
        sign_off=SIGN_OFF,
    )
    write_table(wb, "明细", DETAIL, detail, frame=data.frame(department, "申报评审明细表"))
    needs_review = review_sheet(wb, data, department, detail)
    write_table(
        wb,
        "退回行",
        REJECTIONS,
        data.rejections,
        frame=data.frame(department, "未能接受的申报表行"),
        notes=("请按“说明”更正后重新提交；本表列出全部批次，各部门相同。",),
    )
    fund = {p.code for p in programs if p.kind == "fund"}
    if fund:
        rows = [r for r in data.owed if r["program"] in fund]  # still in official order
        write_allocation(wb, rows, data.frame(department, "专项资金分配表（按盟市）"))
    for extra in extra_sheets(department, programs):
        extra(wb, data, department, detail)
    path = save(wb, folder / f"{department}.xlsx")
    return DepartmentReport(
        department,
        path,
        len(programs),
        len(detail),
        summed["decided_yuan"],
        summed["ledger_yuan"],
        summed["estimate_yuan"],
        needs_review,
    )


def write_all(
    data: ReportData, folder: Path, workers: int | None = None, row_cache: RowCache | None = None
) -> list[DepartmentReport]:
    """Every department's workbook. The workbooks are independent and the writing is pure Python (one core
    each), so they are written by up to `workers` forked processes (default: the cores this process may use),
    the largest first (`pipelines.forked`): on two cores a 12,000-application night writes them in a little over
    half the time. Without fork (or with one core) they are written here, one after another. With `row_cache`,
    a large table whose rows are those of a night before writes them as kept (`pipelines.row_cache`)."""
    size = Counter(d["program"] for d in data.decisions)
    rows = {dep: sum(size[p.code] for p in PROGRAMS if dep in p.departments) for dep in DEPARTMENTS}
    order = sorted(DEPARTMENTS, key=lambda dep: -rows[dep])
    # the children inherit the loaded data and imports; they only write files and return a summary
    if row_cache is not None:
        code_digest()  # which the kept rows are looked up under: taken once here, not in every child
    written = forked_map(
        lambda department: write_department(data, department, folder, row_cache), order, workers
    )
    by_department = dict(zip(order, written, strict=True))
    return [by_department[department] for department in DEPARTMENTS]
