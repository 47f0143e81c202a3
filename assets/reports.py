"""Department report workbooks (outputs.md §2): one per responsible department and run, under
`ALU_REPORTS_DIR/<as-of date>/<department>.xlsx`, covering the programs the department leads or joins.

Every workbook has 汇总 (per program: applications by decision, amounts, and the ledger control total from
`award_balances`), 明细 (every application with its decision and the reasons in Chinese), 待审核 (what is missing
or must be checked) and 退回行 (input rows that could not be accepted). Some departments get more, as the issue
names them: 税务局 the VAT refund eligibility list, 能源局 the renewable shares, 工信厅 the recycled-aluminium
database extract and the first-batch register, 科技厅 the S&T project register, and every department named by a
gate clause the gate decisions.

Sources: decisions, amounts and reasons from `application_decisions`; control totals from `award_balances`;
rejected rows from `submission_rejections`; metered figures from `meter_months` and `renewable_shares`; what
enterprises declared (project names, VAT claims, recognitions, gate metrics) from the `submissions` frames.
"""

import json
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
from openpyxl import Workbook, load_workbook
from sqlalchemy import Engine, inspect, text

from assets._metadata import markdown_table, table_schema
from pipelines.defs.resources import Evaluation, LedgerDatabase, ReportsFolder
from pipelines.excel import Col, new_workbook, save, write_table
from pipelines.intake import Submissions
from pipelines.ledger import from_fen
from rules.catalog import BY_CODE, DEPARTMENTS, PROGRAMS, Program
from rules.money import WAN
from schemas.sheets import BY_KEY, CAPACITY_SOURCES, LEVELS, PROCESSES, RECOGNITION_TYPES

ZERO = Decimal("0.00")
MICRO = Decimal(1_000_000)
DECISIONS = ("awarded", "eligible", "compliant", "non_compliant", "rejected", "needs_review")
DECISION_ZH = {
    "awarded": "奖补",
    "eligible": "符合条件",
    "compliant": "合规",
    "non_compliant": "不合规",
    "rejected": "不予支持",
    "needs_review": "待人工审核",
}
KIND_ZH = {"fund": "专项资金", "vat": "增值税即征即退", "gate": "合规判定", "register": "登记统计"}
SUMMARY_SHEET = "汇总"
SUMMARY_CODE_HEADER = "申报类别"
LEDGER_HEADER = "台账净额(元)"
SIGN_OFF = "部门审核人：____________    复核人：____________    日期：____________"

SUMMARY = [
    Col(SUMMARY_CODE_HEADER, "program"),
    Col("名称", "name"),
    Col("条款", "clause"),
    Col("类型", "kind"),
    Col("本部门职责", "role"),
    Col("申报数", "applications", "int"),
    *[Col(DECISION_ZH[d], d, "int") for d in DECISIONS],
    Col("奖补决定金额(元)", "decided_yuan", "yuan"),
    Col("退税估算(元)", "estimate_yuan", "yuan"),
    Col("决定与台账差额(元)", "difference_yuan", "yuan"),
    Col(LEDGER_HEADER, "ledger_yuan", "yuan"),
]
DETAIL = [
    Col("申报编号", "application_id"),
    Col("企业名称", "enterprise_name"),
    Col("统一社会信用代码", "credit_code"),
    Col("所属盟市", "league_city"),
    Col("类别代码", "program"),
    Col("申报类别", "program_name"),
    Col("本部门职责", "role"),
    Col("项目编号", "project_code"),
    Col("项目名称", "project_name"),
    Col("条款", "clause"),
    Col("决定", "decision_zh"),
    Col("奖补金额(元)", "award_yuan", "yuan"),
    Col("退税估算(元)", "estimate_yuan", "yuan"),
    Col("理由", "reasons_zh"),
    Col("申报日期", "submitted_on", "date"),
    Col("来源文件", "source_file"),
]
REVIEW = [
    Col("申报编号", "application_id"),
    Col("企业名称", "enterprise_name"),
    Col("统一社会信用代码", "credit_code"),
    Col("所属盟市", "league_city"),
    Col("申报类别", "program_name"),
    Col("项目名称", "project_name"),
    Col("需补充或核实的内容", "missing_zh"),
    # issue 15: how long it has waited, from the first run that decided it needs_review (table review_pending)
    Col("待审核起始日", "pending_since", "date"),
    Col("已待审核(天)", "pending_days", "int"),
    Col("条款", "clause"),
    Col("申报日期", "submitted_on", "date"),
    Col("来源文件", "source_file"),
]
REJECTIONS = [
    Col("文件", "file"),
    Col("工作表", "sheet_zh"),
    Col("行号", "row_number", "int"),
    Col("列", "column"),
    Col("填写值", "value"),
    Col("错误代码", "code"),
    Col("说明", "message"),
]
GATES = [
    Col("申报编号", "application_id"),
    Col("企业名称", "enterprise_name"),
    Col("所属盟市", "league_city"),
    Col("判定类别", "program_name"),
    Col("本部门职责", "role"),
    Col("项目编号", "project_code"),
    Col("项目名称", "project_name"),
    Col("工艺", "process"),
    Col("单位产品能耗", "unit_energy", "qty"),
    Col("可再生能源比例(%)", "renewable_share_pct", "qty"),
    Col("环保绩效等级", "environmental_grade"),
    Col("产能来源", "capacity_source"),
    Col("配套深加工项目编号", "paired_project_code"),
    Col("符合规范条件", "meets_industry_norms"),
    Col("主要设备能效先进", "advanced_equipment"),
    Col("工艺装备符合指导目录", "catalog_allowed"),
    Col("判定结果", "decision_zh"),
    Col("理由", "reasons_zh"),
]
VAT = [
    Col("申报编号", "application_id"),
    Col("企业名称", "enterprise_name"),
    Col("统一社会信用代码", "credit_code"),
    Col("所属盟市", "league_city"),
    Col("纳税信用级别", "tax_credit_grade"),
    Col("申报类别", "program_name"),
    Col("所属期起", "period_start", "date"),
    Col("所属期止", "period_end", "date"),
    Col("综合利用产品销售额(元)", "sales_yuan", "yuan"),
    Col("已缴增值税(元)", "vat_paid_yuan", "yuan"),
    Col("废弃物原料占比(%)", "waste_feed_share_pct", "qty"),
    Col("近6个月重大违法", "serious_violation_6m"),
    Col("属限制或淘汰类", "restricted_or_eliminated"),
    Col("资格", "decision_zh"),
    Col("退税估算(元)", "estimate_yuan", "yuan"),
    Col("理由", "reasons_zh"),
]
RENEWABLE = [
    Col("企业名称", "enterprise_name"),
    Col("统一社会信用代码", "credit_code"),
    Col("所属盟市", "league_city"),
    Col("月份", "month"),
    Col("用电量(千瓦时)", "electricity_kwh", "qty"),
    Col("可再生电力(千瓦时)", "renewable_kwh", "qty"),
    Col("可再生能源消纳比例", "share", "pct"),
]
RECYCLED = [
    Col("企业名称", "enterprise_name"),
    Col("统一社会信用代码", "credit_code"),
    Col("所属盟市", "league_city"),
    Col("再生铝申报", "applications"),
    Col("增值税所属期起", "period_start", "date"),
    Col("增值税所属期止", "period_end", "date"),
    Col("计量月份数", "months", "int"),
    Col("综合能耗(吨标准煤)", "tce", "qty"),
    Col("用电量(千瓦时)", "electricity_kwh", "qty"),
    Col("用水量(吨)", "water_t", "qty"),
    Col("综合利用产品销售额(元)", "sales_yuan", "yuan"),
    Col("废弃物(再生)原料占比(%)", "waste_feed_share_pct", "qty"),
    Col("即征即退资格", "vat_decision_zh"),
]
RECYCLED_MONTHS = [
    Col("企业名称", "enterprise_name"),
    Col("统一社会信用代码", "credit_code"),
    Col("所属盟市", "league_city"),
    Col("月份", "month"),
    Col("综合能耗(吨标准煤)", "tce", "qty"),
    Col("用电量(千瓦时)", "electricity_kwh", "qty"),
    Col("用水量(吨)", "water_t", "qty"),
    Col("计量完整率", "coverage", "pct"),
]
REGISTER = [
    Col("申报编号", "application_id"),
    Col("企业名称", "enterprise_name"),
    Col("统一社会信用代码", "credit_code"),
    Col("所属盟市", "league_city"),
    Col("认定类型", "recognition_type"),
    Col("认定级别", "level"),
    Col("认定日期", "recognized_on", "date"),
    Col("认定文号", "document_no"),
    Col("登记结果", "decision_zh"),
    Col("理由", "reasons_zh"),
]

# Excel column kinds as the column schema shows them.
COLUMN_TYPES = {"int": "integer", "yuan": "decimal(元)", "qty": "decimal", "pct": "percent", "date": "date"}


def sheet_schema(columns: Sequence[Col], sheet: str) -> dg.TableSchema:
    """The columns of one report sheet, as Dagster's column schema."""
    return table_schema([(c.header, COLUMN_TYPES.get(c.kind, "text"), f"{sheet}：{c.key}") for c in columns])


SUMMARY_SCHEMA = sheet_schema(SUMMARY, SUMMARY_SHEET)


@dataclass
class ReportData:
    """Everything the department workbooks show, read once per run."""

    as_of: date
    decisions: list[dict[str, Any]]
    ledger_fen: dict[str, int]  # program -> net fen in award_balances
    rejections: list[dict[str, Any]]
    declared: dict[str, dict[str, list[dict[str, Any]]]]  # sheet key -> application id -> rows
    enterprises: dict[str, dict[str, Any]]  # credit code -> enterprise row
    meter_months: list[dict[str, Any]] | None  # None: the metering tables do not exist yet
    renewable_shares: list[dict[str, Any]] | None


def _value(v: Any) -> Any:
    """Plain Python values out of pandas/numpy cells (NaN is a blank)."""
    if v is None:
        return None
    if isinstance(v, float) and v != v:
        return None
    if hasattr(v, "item") and not isinstance(v, str | bytes):
        return v.item()
    return v


def _records(frame: pd.DataFrame | None) -> list[dict[str, Any]]:
    if frame is None or frame.empty:
        return []
    return [{k: _value(v) for k, v in r.items()} for r in frame.to_dict("records")]


def _by_application(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        out[row["application_id"]].append(row)
    return out


def _reasons(reasons_json: str) -> tuple[str, str]:
    """(reasons shown in 明细, what is missing for 待审核): the messages of failed and noted conditions; an
    application whose conditions all passed shows them all, so an official sees why it succeeded."""
    reasons = json.loads(reasons_json or "[]")
    open_ = [r["message"] for r in reasons if r.get("passed") is not True]
    return "；".join(open_ or [r["message"] for r in reasons]), "；".join(open_)


def _table_names(engine: Engine) -> set[str]:
    inspector = inspect(engine)
    return set(inspector.get_table_names()) | set(inspector.get_view_names())


def load(engine: Engine, as_of: date, frames: Mapping[str, pd.DataFrame]) -> ReportData:
    applications = {r["application_id"]: r for r in _records(frames.get("applications"))}
    enterprises = {r["credit_code"]: r for r in _records(frames.get("enterprises"))}
    declared = {
        key: _by_application(_records(frames.get(key)))
        for key in ("vat_claims", "recognitions", "gate_metrics")
    }
    names = _table_names(engine)
    with engine.connect() as conn:
        decisions = [
            dict(r._mapping)
            for r in conn.execute(
                text(
                    "SELECT application_id, program, credit_code, enterprise_name, league_city, clause, decision, "
                    "amount_fen, reasons, source_file, submitted_on FROM application_decisions "
                    "ORDER BY program, application_id"
                )
            )
        ]
        ledger_fen = {
            r.program: int(r.net)
            for r in conn.execute(
                text("SELECT program, COALESCE(SUM(net_fen), 0) AS net FROM award_balances GROUP BY program")
            )
        }
        rejections = [
            dict(r._mapping)
            for r in conn.execute(
                text(
                    'SELECT file, sheet, row_number, "column", value, code, message FROM submission_rejections '
                    "ORDER BY file, sheet, row_number, rejection_id"
                )
            )
        ]
        meter_months = (
            [
                dict(r._mapping)
                for r in conn.execute(
                    text(
                        "SELECT credit_code, medium, month, consumption_e6, tce, readings_present, readings_expected "
                        "FROM meter_months ORDER BY credit_code, month"
                    )
                )
            ]
            if "meter_months" in names
            else None
        )
        renewable = (
            [
                dict(r._mapping)
                for r in conn.execute(
                    text(
                        "SELECT credit_code, month, electricity_kwh, renewable_kwh, share FROM renewable_shares "
                        "ORDER BY credit_code, month"
                    )
                )
            ]
            if "renewable_shares" in names
            else None
        )
    for d in decisions:
        program = BY_CODE.get(d["program"])
        kind = program.kind if program else ""
        amount = None if d["amount_fen"] is None else from_fen(int(d["amount_fen"]))
        declared_app = applications.get(d["application_id"], {})
        enterprise = enterprises.get(d["credit_code"], {})
        d["enterprise_name"] = d["enterprise_name"] or enterprise.get("name")
        d["league_city"] = d["league_city"] or enterprise.get("league_city")
        d["program_name"] = program.name if program else d["program"]
        d["kind"] = kind
        d["project_code"] = declared_app.get("project_code")
        d["project_name"] = declared_app.get("project_name")
        d["decision_zh"] = DECISION_ZH.get(d["decision"], d["decision"])
        d["award_yuan"] = amount if kind == "fund" and d["decision"] == "awarded" else None
        d["estimate_yuan"] = amount if kind == "vat" and d["decision"] == "eligible" else None
        d["reasons_zh"], d["missing_zh"] = _reasons(d["reasons"])
        d["submitted_on"] = d["submitted_on"] or declared_app.get("submitted_on")
    _add_pending_since(engine, names, as_of, decisions)
    for r in rejections:
        sheet = BY_KEY.get(r["sheet"])
        r["sheet_zh"] = sheet.name if sheet else r["sheet"]
    return ReportData(
        as_of, decisions, ledger_fen, rejections, declared, enterprises, meter_months, renewable
    )


def _add_pending_since(engine: Engine, names: set[str], as_of: date, decisions: list[dict[str, Any]]) -> None:
    """issue 15: since when each needs_review application has waited (review_pending), and for how many days."""
    since: dict[str, date] = {}
    if "review_pending" in names:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT application_id, since FROM review_pending")).all()
        since = {a: date.fromisoformat(s) for a, s in rows}
    for d in decisions:
        started = since.get(d["application_id"]) if d["decision"] == "needs_review" else None
        d["pending_since"] = started
        d["pending_days"] = None if started is None else max((as_of - started).days, 0)


def _role(program: Program, department: str) -> str:
    return "牵头" if program.lead_department == department else "配合"


def summary_rows(data: ReportData, programs: Sequence[Program], department: str) -> list[dict[str, Any]]:
    by_program: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for d in data.decisions:
        by_program[d["program"]].append(d)
    rows = []
    for p in programs:
        decided = by_program.get(p.code, [])
        counts = {k: sum(1 for d in decided if d["decision"] == k) for k in DECISIONS}
        awarded = sum((d["award_yuan"] for d in decided if d["award_yuan"] is not None), ZERO)
        estimate = sum((d["estimate_yuan"] for d in decided if d["estimate_yuan"] is not None), ZERO)
        ledger = from_fen(data.ledger_fen.get(p.code, 0))
        rows.append(
            {
                "program": p.code,
                "name": p.name,
                "clause": p.clause,
                "kind": KIND_ZH.get(p.kind, p.kind),
                "role": _role(p, department),
                "applications": len(decided),
                **counts,
                "decided_yuan": awarded if p.kind == "fund" else None,
                "estimate_yuan": estimate if p.kind == "vat" else None,
                "difference_yuan": awarded - ledger if p.kind == "fund" else None,
                "ledger_yuan": ledger,
            }
        )
    return rows


def _totals(rows: Sequence[dict[str, Any]], columns: Sequence[Col], label_key: str) -> dict[str, Any]:
    totals: dict[str, Any] = {label_key: "合计"}
    for col in columns:
        if col.kind in ("int", "yuan"):
            values = [r[col.key] for r in rows if r.get(col.key) is not None]
            totals[col.key] = sum(values, ZERO if col.kind == "yuan" else 0)
    return totals


def _enterprise(data: ReportData, credit_code: str) -> dict[str, Any]:
    return data.enterprises.get(credit_code, {})


def _gate_sheet(wb: Workbook, data: ReportData, department: str, rows: list[dict[str, Any]]) -> None:
    out = []
    for d in rows:
        if d["kind"] != "gate":
            continue
        metrics = data.declared["gate_metrics"].get(d["application_id"]) or [{}]
        m = metrics[0]
        out.append(
            d
            | {
                "role": _role(BY_CODE[d["program"]], department),
                "process": PROCESSES.get(m.get("process") or "", m.get("process")),
                "unit_energy": m.get("unit_energy"),
                "renewable_share_pct": m.get("renewable_share_pct"),
                "environmental_grade": m.get("environmental_grade"),
                "capacity_source": CAPACITY_SOURCES.get(
                    m.get("capacity_source") or "", m.get("capacity_source")
                ),
                "paired_project_code": m.get("paired_project_code"),
                "meets_industry_norms": m.get("meets_industry_norms"),
                "advanced_equipment": m.get("advanced_equipment"),
                "catalog_allowed": m.get("catalog_allowed"),
            }
        )
    write_table(
        wb,
        "项目合规判定",
        GATES,
        out,
        title=f"{department} 氧化铝、电解铝项目合规判定（条款一(3)、二）",
        notes=("单位产品能耗：氧化铝为千克标准煤/吨，电解铝为铝液交流电耗千瓦时/吨。",),
    )


def _vat_sheet(wb: Workbook, data: ReportData, department: str, rows: list[dict[str, Any]]) -> None:
    out = []
    for d in rows:
        if d["kind"] != "vat":
            continue
        ent = _enterprise(data, d["credit_code"])
        claims = data.declared["vat_claims"].get(d["application_id"]) or [{}]
        for i, c in enumerate(claims):
            out.append(
                d
                | {
                    "tax_credit_grade": ent.get("tax_credit_grade"),
                    "period_start": c.get("period_start"),
                    "period_end": c.get("period_end"),
                    "sales_yuan": None if c.get("sales_wan") is None else c["sales_wan"] * WAN,
                    "vat_paid_yuan": None if c.get("vat_paid_wan") is None else c["vat_paid_wan"] * WAN,
                    "waste_feed_share_pct": c.get("waste_feed_share_pct"),
                    "serious_violation_6m": c.get("serious_violation_6m"),
                    "restricted_or_eliminated": c.get("restricted_or_eliminated"),
                    # one estimate per application, on its first claim row, so the column adds up
                    "estimate_yuan": d["estimate_yuan"] if i == 0 else None,
                }
            )
    write_table(
        wb,
        "增值税即征即退",
        VAT,
        out,
        title=f"{department} 增值税即征即退资格名单及退税估算（条款一(2)、四(1)）",
        totals=_totals(out, [VAT[-2]], "application_id"),
        notes=("退税估算 = 已缴增值税 × 目录退税比例，由税务机关核定后办理，不从专项资金列支。",),
    )


def _renewable_sheet(wb: Workbook, data: ReportData, department: str, rows: list[dict[str, Any]]) -> None:
    shares = data.renewable_shares
    out = [
        r
        | {"enterprise_name": _enterprise(data, r["credit_code"]).get("name")}
        | {"league_city": _enterprise(data, r["credit_code"]).get("league_city")}
        for r in shares or []
    ]
    notes = (
        ("计量数据尚未入库（renewable_shares 不存在），本表暂无数据。",)
        if shares is None
        else ("消纳比例 = 可再生电力 ÷ 用电量，按企业、月份统计（条款二(3)）。",)
    )
    write_table(
        wb, "可再生能源消纳比例", RENEWABLE, out, title=f"{department} 可再生能源消纳比例", notes=notes
    )


def _month_figures(months: Sequence[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """(credit code, month) -> energy (tce), electricity, water and coverage from meter_months."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for m in months:
        row = out.setdefault(
            (m["credit_code"], m["month"]),
            {"tce": ZERO, "electricity_kwh": ZERO, "water_t": ZERO, "present": 0, "expected": 0},
        )
        # renewable electricity is a part of electricity: counting its energy again would double it
        if m["tce"] is not None and m["medium"] != "renewable_electricity":
            row["tce"] += Decimal(str(m["tce"]))
        # consumption_e6 is the exact figure (integer micro-units); NUMERIC columns come back as floats on SQLite
        consumption = Decimal(int(m["consumption_e6"])) / MICRO
        if m["medium"] == "electricity":
            row["electricity_kwh"] += consumption
        if m["medium"] == "water":
            row["water_t"] += consumption
        row["present"] += int(m["readings_present"] or 0)
        row["expected"] += int(m["readings_expected"] or 0)
    return out


def _recycled_sheets(wb: Workbook, data: ReportData, department: str, rows: list[dict[str, Any]]) -> None:
    recycled = [d for d in data.decisions if d["program"].startswith("RECYCLED_")]
    enterprises = sorted({d["credit_code"] for d in recycled})
    figures = _month_figures(data.meter_months or [])
    out, monthly = [], []
    for code in enterprises:
        ent = _enterprise(data, code)
        mine = [d for d in recycled if d["credit_code"] == code]
        name = next((d["enterprise_name"] for d in mine if d["enterprise_name"]), ent.get("name"))
        city = next((d["league_city"] for d in mine if d["league_city"]), ent.get("league_city"))
        base = {"enterprise_name": name, "credit_code": code, "league_city": city}
        months = sorted((m, f) for (c, m), f in figures.items() if c == code)
        for month, f in months:
            coverage = (Decimal(f["present"]) / Decimal(f["expected"])) if f["expected"] else None
            monthly.append(base | {"month": month, **f, "coverage": coverage})
        vat = [d for d in mine if d["program"] == "RECYCLED_VAT"]
        claims: list[tuple[dict[str, Any] | None, dict[str, Any]]] = [
            (d, c) for d in vat for c in data.declared["vat_claims"].get(d["application_id"], [])
        ]
        applications = "、".join(f"{d['application_id']}（{d['program_name']}）" for d in mine)
        for d, claim in claims or [(None, {})]:
            start, end = claim.get("period_start"), claim.get("period_end")
            inside = [
                f
                for m, f in months
                if start is None or (f"{start:%Y-%m}" <= m <= f"{end or data.as_of:%Y-%m}")
            ]
            out.append(
                base
                | {
                    "applications": applications,
                    "period_start": start,
                    "period_end": end,
                    "months": None if data.meter_months is None else len(inside),
                    "tce": sum((f["tce"] for f in inside), ZERO) if inside else None,
                    "electricity_kwh": sum((f["electricity_kwh"] for f in inside), ZERO) if inside else None,
                    "water_t": sum((f["water_t"] for f in inside), ZERO) if inside else None,
                    "sales_yuan": None if claim.get("sales_wan") is None else claim["sales_wan"] * WAN,
                    "waste_feed_share_pct": claim.get("waste_feed_share_pct"),
                    "vat_decision_zh": d["decision_zh"] if d else None,
                }
            )
    missing = (
        ("计量数据尚未入库（meter_months 不存在），能耗与用水暂缺。",) if data.meter_months is None else ()
    )
    write_table(
        wb,
        "再生铝基础数据库",
        RECYCLED,
        out,
        title=f"{department} 再生铝基础数据库（条款四(1)）：资源消耗与再生原料",
        notes=(
            "再生铝企业 = 有再生铝类申报（RECYCLED_*）的企业；能耗、用电、用水取在线监测月度汇总，按增值税所属期"
            "内的月份合计；销售额与原料占比为企业增值税申报所填。",
            *missing,
        ),
    )
    write_table(
        wb,
        "再生铝月度能耗",
        RECYCLED_MONTHS,
        monthly,
        title=f"{department} 再生铝企业月度能耗与用水（在线监测）",
        notes=missing,
    )


def _register_sheet(program_code: str, sheet_name: str) -> Callable[..., None]:
    def write(wb: Workbook, data: ReportData, department: str, rows: list[dict[str, Any]]) -> None:
        program = BY_CODE[program_code]
        out = []
        for d in data.decisions:
            if d["program"] != program_code:
                continue
            for r in data.declared["recognitions"].get(d["application_id"]) or [{}]:
                out.append(
                    d
                    | {
                        "recognition_type": RECOGNITION_TYPES.get(
                            r.get("recognition_type") or "", r.get("recognition_type")
                        ),
                        "level": LEVELS.get(r.get("level") or "", r.get("level")),
                        "recognized_on": r.get("recognized_on"),
                        "document_no": r.get("document_no"),
                    }
                )
        write_table(
            wb,
            sheet_name,
            REGISTER,
            out,
            title=f"{department} {program.name}（条款{program.clause}）",
            notes=("登记事项不涉及资金。",),
        )

    return write


# Sheets beyond the four every department gets, as the issue assigns them; gate decisions go to every
# department the gate clauses name (rules.catalog), so they are added by program, not listed here.
EXTRA_SHEETS: dict[str, tuple[Callable[..., None], ...]] = {
    "税务局": (_vat_sheet,),
    "能源局": (_renewable_sheet,),
    "工信厅": (_recycled_sheets, _register_sheet("FIRST_BATCH", "首批次登记")),
    "科技厅": (_register_sheet("SCI_TECH_PROJECT", "科技重大专项登记"),),
}


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


def write_department(data: ReportData, department: str, folder: Path) -> DepartmentReport:
    programs = [p for p in PROGRAMS if department in p.departments]
    codes = {p.code for p in programs}
    summary = summary_rows(data, programs, department)
    detail = [
        d | {"role": _role(BY_CODE[d["program"]], department)}
        for d in data.decisions
        if d["program"] in codes
    ]
    review = [d for d in detail if d["decision"] == "needs_review"]
    totals = _totals(summary, SUMMARY, "program")

    wb = new_workbook()
    write_table(
        wb,
        SUMMARY_SHEET,
        SUMMARY,
        summary,
        title=f"{department} 铝产业政策奖补评审汇总（评审日 {data.as_of.isoformat()}）",
        totals=totals,
        notes=(
            "台账净额取自专项资金台账 award_balances；奖补决定金额为本次评审“奖补”决定之和，两者应一致（差额为 0）。",
            "退税估算由税务机关核定，不计入专项资金；合规判定与登记统计不涉及资金。",
            SIGN_OFF,
        ),
    )
    write_table(wb, "明细", DETAIL, detail, title=f"{department} 申报明细（评审日 {data.as_of.isoformat()}）")
    write_table(
        wb,
        "待审核",
        REVIEW,
        review,
        title=f"{department} 待人工审核的申报：请按“需补充或核实的内容”补齐材料或核实后重新提交；"
        "牵头部门的审核结论填在同目录的审核工作簿中",
    )
    write_table(
        wb,
        "退回行",
        REJECTIONS,
        data.rejections,
        title="未能接受的申报表行：请按“说明”更正后重新提交（全部批次，各部门相同）",
    )
    if any(p.kind == "gate" for p in programs):
        _gate_sheet(wb, data, department, detail)
    for extra in EXTRA_SHEETS.get(department, ()):
        extra(wb, data, department, detail)
    path = save(wb, folder / f"{department}.xlsx")
    return DepartmentReport(
        department,
        path,
        len(programs),
        len(detail),
        totals["decided_yuan"],
        totals["ledger_yuan"],
        totals["estimate_yuan"],
        len(review),
    )


def write_all(data: ReportData, folder: Path) -> list[DepartmentReport]:
    return [write_department(data, department, folder) for department in DEPARTMENTS]


def control_totals(path: Path) -> dict[str, Decimal]:
    """The ledger column of a written workbook's 汇总 sheet, by program code (and 合计), read back from the file."""
    wb = load_workbook(path, read_only=True)
    try:
        rows = wb[SUMMARY_SHEET].iter_rows(values_only=True)
        header: tuple[Any, ...] = ()
        for row in rows:
            if row and row[0] == SUMMARY_CODE_HEADER:
                header = row
                break
        code_at, ledger_at = 0, header.index(LEDGER_HEADER)
        out = {}
        for row in rows:
            if not row or row[code_at] is None:
                break  # the notes below the table start after a blank row
            out[str(row[code_at])] = Decimal(str(row[ledger_at]))
        return out
    finally:
        wb.close()


def ledger_by_program(engine: Engine) -> dict[str, Decimal]:
    with engine.connect() as conn:
        return {
            r.program: from_fen(int(r.net))
            for r in conn.execute(
                text("SELECT program, COALESCE(SUM(net_fen), 0) AS net FROM award_balances GROUP BY program")
            )
        }


def department_mismatches(engine: Engine, folder: Path) -> list[dict[str, str]]:
    """Every difference between a department workbook's control totals and `award_balances`."""
    ledger = ledger_by_program(engine)
    problems = []
    for department in DEPARTMENTS:
        path = folder / f"{department}.xlsx"
        if not path.exists():
            problems.append({"department": department, "problem": "报表文件不存在"})
            continue
        shown = control_totals(path)
        codes = [p.code for p in PROGRAMS if department in p.departments]
        expected = {code: ledger.get(code, ZERO) for code in codes}
        expected["合计"] = sum(expected.values(), ZERO)
        for code, amount in expected.items():
            if shown.get(code) != amount:
                problems.append(
                    {
                        "department": department,
                        "program": code,
                        "workbook": str(shown.get(code)),
                        "award_balances": str(amount),
                    }
                )
    return problems


@dg.asset(
    deps=["award_ledger", "submission_rejections", "meter_readings", "review_workbooks"],
    description="各责任部门的报表工作簿（汇总、明细、待审核、退回行及部门专表），"
    "写入 ALU_REPORTS_DIR/<评审日>/<部门>.xlsx；汇总的台账净额取自 award_balances。",
)
def department_reports(
    context: dg.AssetExecutionContext,
    submissions: Submissions,
    ledger_db: LedgerDatabase,
    reports: ReportsFolder,
    evaluation: Evaluation,
) -> dg.MaterializeResult:
    data = load(ledger_db.engine(), evaluation.date, submissions.frames)
    folder = reports.for_date(evaluation.date)
    written = write_all(data, folder)
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
            "dagster/column_schema": SUMMARY_SCHEMA,
            "folder": dg.MetadataValue.path(str(folder)),
            **{f"file/{r.department}": dg.MetadataValue.path(str(r.path)) for r in written},
            "summary": markdown_table(preview),
        }
    )


@dg.asset_check(
    asset=department_reports,
    description="每份部门报表“汇总”表的台账净额（逐项目及合计，从文件读回）= award_balances",
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
