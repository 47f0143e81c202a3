"""The sheets some departments get beyond the common ones, as the issue assigns them: 税务局 the VAT refund
eligibility list, 能源局 the renewable shares, 工信厅 the recycled-aluminium database extract and the first-batch
register, 科技厅 the S&T project register, and every department a gate clause names the gate decisions.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from openpyxl import Workbook

from pipelines.excel import CODE_HEADER, TOTAL, Col, write_table
from pipelines.report_text import official_order
from rules.catalog import BY_CODE, Program
from rules.money import WAN
from schemas.sheets import CAPACITY_SOURCES, LEVELS, PROCESSES, RECOGNITION_TYPES

if TYPE_CHECKING:
    from pipelines.department_report import ReportData

ZERO = Decimal("0.00")
MICRO = Decimal(1_000_000)
Rows = list[dict[str, Any]]
Sheet = Callable[[Workbook, "ReportData", str, Rows], None]

GATES = [
    Col("盟市", "league_city", width=9),
    Col("企业名称", "enterprise_name", width=13),
    Col("项目名称", "project_name", width=13),
    Col("判定类别", "program_name", width=12),
    Col("工艺", "process", width=7),
    Col("单位产品能耗", "unit_energy", "qty", width=9),
    Col("可再生能源比例(%)", "renewable_share_pct", "qty", width=9),
    Col("环保绩效等级", "environmental_grade", width=7),
    Col("产能来源", "capacity_source", width=9),
    Col("判定结果", "decision_zh", width=7),
    Col("理由", "reasons_zh", width=26),
    Col("申报编号", "application_id", screen=True),
    Col("本部门职责", "role", screen=True),
    Col("项目编号", "project_code", screen=True),
    Col("配套深加工项目编号", "paired_project_code", screen=True),
    Col("符合规范条件", "meets_industry_norms", screen=True),
    Col("主要设备能效先进", "advanced_equipment", screen=True),
    Col("工艺装备符合指导目录", "catalog_allowed", screen=True),
    Col(CODE_HEADER, "program", screen=True),
]
VAT = [
    Col("盟市", "league_city", width=9),
    Col("企业名称", "enterprise_name", width=13),
    Col("纳税信用级别", "tax_credit_grade", width=6),
    Col("申报类别", "program_name", width=12),
    Col("所属期", "period", width=12),
    Col("综合利用产品销售额(元)", "sales_yuan", "yuan", width=14),
    Col("已缴增值税(元)", "vat_paid_yuan", "yuan", width=13),
    Col("资格", "decision_zh", width=7),
    Col("退税估算(元)", "estimate_yuan", "yuan", width=13),
    Col("理由", "reasons_zh", width=26),
    Col("所属期起", "period_start", "date", screen=True),
    Col("所属期止", "period_end", "date", screen=True),
    Col("废弃物原料占比(%)", "waste_feed_share_pct", "qty", screen=True),
    Col("近6个月重大违法", "serious_violation_6m", screen=True),
    Col("属限制或淘汰类", "restricted_or_eliminated", screen=True),
    Col("申报编号", "application_id", screen=True),
    Col("统一社会信用代码", "credit_code", screen=True),
    Col(CODE_HEADER, "program", screen=True),
]
RENEWABLE = [
    Col("盟市", "league_city", width=9),
    Col("企业名称", "enterprise_name", width=22),
    Col("月份", "month", width=9),
    Col("用电量(千瓦时)", "electricity_kwh", "qty", width=16),
    Col("可再生电力(千瓦时)", "renewable_kwh", "qty", width=16),
    Col("可再生能源消纳比例", "share", "pct", width=12),
    Col("统一社会信用代码", "credit_code", screen=True),
]
RECYCLED = [
    Col("盟市", "league_city", width=9),
    Col("企业名称", "enterprise_name", width=13),
    Col("再生铝申报", "applications", width=14),
    Col("增值税所属期起", "period_start", "date", width=10),
    Col("增值税所属期止", "period_end", "date", width=10),
    Col("计量月份数", "months", "int", width=6),
    Col("综合能耗(吨标准煤)", "tce", "qty", width=11),
    Col("用电量(千瓦时)", "electricity_kwh", "qty", width=13),
    Col("用水量(吨)", "water_t", "qty", width=9),
    Col("综合利用产品销售额(元)", "sales_yuan", "yuan", width=14),
    Col("再生原料占比(%)", "waste_feed_share_pct", "qty", width=8),
    Col("即征即退资格", "vat_decision_zh", width=7),
    Col("统一社会信用代码", "credit_code", screen=True),
]
RECYCLED_MONTHS = [
    Col("盟市", "league_city", width=9),
    Col("企业名称", "enterprise_name", width=22),
    Col("月份", "month", width=9),
    Col("综合能耗(吨标准煤)", "tce", "qty", width=12),
    Col("用电量(千瓦时)", "electricity_kwh", "qty", width=16),
    Col("用水量(吨)", "water_t", "qty", width=14),
    Col("计量完整率", "coverage", "pct", width=10),
    Col("统一社会信用代码", "credit_code", screen=True),
]
REGISTER = [
    Col("盟市", "league_city", width=9),
    Col("企业名称", "enterprise_name", width=16),
    Col("认定类型", "recognition_type", width=14),
    Col("认定级别", "level", width=8),
    Col("认定日期", "recognized_on", "date", width=10),
    Col("认定文号", "document_no", width=16),
    Col("登记结果", "decision_zh", width=7),
    Col("理由", "reasons_zh", width=30),
    Col("申报编号", "application_id", screen=True),
    Col("统一社会信用代码", "credit_code", screen=True),
    Col(CODE_HEADER, "program", screen=True),
]


def _enterprise(data: ReportData, credit_code: str) -> dict[str, Any]:
    return data.enterprises.get(credit_code, {})


def _gate_sheet(wb: Workbook, data: ReportData, department: str, rows: Rows) -> None:
    out = []
    for d in rows:
        if d["kind"] != "gate":
            continue
        m = (data.declared["gate_metrics"].get(d["application_id"]) or [{}])[0]
        out.append(
            d
            | {
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
        frame=data.frame(department, "氧化铝、电解铝项目合规判定表（政策条款一(3)、二）"),
        notes=("单位产品能耗：氧化铝为千克标准煤/吨，电解铝为铝液交流电耗千瓦时/吨。",),
    )


def _period(start: Any, end: Any) -> str | None:
    if start is None and end is None:
        return None
    return f"{'' if start is None else start} 至 {'' if end is None else end}"


def _vat_sheet(wb: Workbook, data: ReportData, department: str, rows: Rows) -> None:
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
                    "period": _period(c.get("period_start"), c.get("period_end")),
                    "sales_yuan": None if c.get("sales_wan") is None else c["sales_wan"] * WAN,
                    "vat_paid_yuan": None if c.get("vat_paid_wan") is None else c["vat_paid_wan"] * WAN,
                    "waste_feed_share_pct": c.get("waste_feed_share_pct"),
                    "serious_violation_6m": c.get("serious_violation_6m"),
                    "restricted_or_eliminated": c.get("restricted_or_eliminated"),
                    # one estimate per application, on its first claim row, so the column adds up
                    "estimate_yuan": d["estimate_yuan"] if i == 0 else None,
                }
            )
    estimate = sum((r["estimate_yuan"] for r in out if r["estimate_yuan"] is not None), ZERO)
    write_table(
        wb,
        "增值税即征即退",
        VAT,
        out,
        frame=data.frame(department, "增值税即征即退资格名单及退税估算表（政策条款一(2)、四(1)）"),
        totals={"league_city": TOTAL, "estimate_yuan": estimate},
        notes=("退税估算 = 已缴增值税 × 目录退税比例，由税务机关核定后办理，不从专项资金列支。",),
    )


def _renewable_sheet(wb: Workbook, data: ReportData, department: str, rows: Rows) -> None:
    shares = data.renewable_shares
    out = sorted(
        (
            r
            | {
                "enterprise_name": _enterprise(data, r["credit_code"]).get("name"),
                "league_city": _enterprise(data, r["credit_code"]).get("league_city"),
            }
            for r in shares or []
        ),
        key=lambda r: (*official_order(r), r["month"]),
    )
    notes = (
        ("在线监测数据尚未入库，本表暂无数据。",)
        if shares is None
        else ("消纳比例 = 可再生电力 ÷ 用电量，按企业、月份统计（政策条款二(3)）。",)
    )
    write_table(
        wb,
        "可再生能源消纳比例",
        RENEWABLE,
        out,
        frame=data.frame(department, "可再生能源消纳比例表"),
        notes=notes,
    )


def _month_figures(months: Sequence[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """(credit code, month) -> energy (tce), electricity, water and coverage from the metered months."""
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


LISTED = 5  # applications named in one cell, some 20 lines of its column; the rest are counted (明细 lists them all)


def _listed(decisions: Sequence[dict[str, Any]]) -> str:
    named = "、".join(f"{d['application_id']}（{d['program_name']}）" for d in decisions[:LISTED])
    rest = len(decisions) - LISTED
    return named if rest <= 0 else f"{named} 等 {len(decisions)} 项（其余 {rest} 项见「明细」表）"


def _recycled_sheets(wb: Workbook, data: ReportData, department: str, rows: Rows) -> None:
    recycled = [d for d in data.decisions if d["program"].startswith("RECYCLED_")]
    enterprises = sorted({d["credit_code"] for d in recycled})
    figures = _month_figures(data.meter_months or [])
    by_enterprise: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for decision in recycled:
        by_enterprise[decision["credit_code"]].append(decision)
    months_of: dict[str, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
    for (c, m), f in figures.items():
        months_of[c].append((m, f))
    out, monthly = [], []
    for code in enterprises:
        ent = _enterprise(data, code)
        mine = by_enterprise[code]
        name = next((d["enterprise_name"] for d in mine if d["enterprise_name"]), ent.get("name"))
        city = next((d["league_city"] for d in mine if d["league_city"]), ent.get("league_city"))
        base = {"enterprise_name": name, "credit_code": code, "league_city": city}
        months = sorted(months_of[code])
        for month, f in months:
            coverage = (Decimal(f["present"]) / Decimal(f["expected"])) if f["expected"] else None
            monthly.append(base | {"month": month, **f, "coverage": coverage})
        vat = [d for d in mine if d["program"] == "RECYCLED_VAT"]
        claims: list[tuple[dict[str, Any] | None, dict[str, Any]]] = [
            (d, c) for d in vat for c in data.declared["vat_claims"].get(d["application_id"], [])
        ]
        not_vat = [x for x in mine if x["program"] != "RECYCLED_VAT"]
        for d, claim in claims or [(None, {})]:
            # A VAT period's row names its own VAT application first, then the enterprise's other recycled ones
            # (not the VAT applications of its other periods: those have their own rows).
            others = mine if d is None else not_vat
            applications = _listed(([d] if d is not None else []) + others)
            start, end = claim.get("period_start"), claim.get("period_end")
            if start is None:
                inside = [f for _, f in months]
            else:
                first, last = f"{start:%Y-%m}", f"{end or data.as_of:%Y-%m}"
                inside = [f for m, f in months if first <= m <= last]
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
    missing = ("在线监测数据尚未入库，能耗与用水暂缺。",) if data.meter_months is None else ()
    write_table(
        wb,
        "再生铝基础数据库",
        RECYCLED,
        sorted(out, key=official_order),
        frame=data.frame(department, "再生铝基础数据库：资源消耗与再生原料（政策条款四(1)）"),
        notes=(
            "再生铝企业 = 有再生铝类申报的企业；能耗、用电、用水取在线监测月度汇总，按增值税所属期内的月份合计；"
            "销售额与原料占比为企业增值税申报所填。",
            *missing,
        ),
    )
    write_table(
        wb,
        "再生铝月度能耗",
        RECYCLED_MONTHS,
        sorted(monthly, key=lambda r: (*official_order(r), r["month"])),
        frame=data.frame(department, "再生铝企业月度能耗与用水表（在线监测）"),
        notes=missing,
    )


def _register_sheet(program_code: str, sheet_name: str) -> Sheet:
    def write(wb: Workbook, data: ReportData, department: str, rows: Rows) -> None:
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
            frame=data.frame(
                department, f"{program.name.removesuffix('登记')}登记表（政策条款{program.clause}）"
            ),
            notes=("登记事项不涉及资金。",),
        )

    return write


# Sheets beyond the common ones, by department; gate decisions go to every department the gate clauses name
# (rules.catalog), so they are added by program, not listed here.
EXTRA_SHEETS: dict[str, tuple[Sheet, ...]] = {
    "税务局": (_vat_sheet,),
    "能源局": (_renewable_sheet,),
    "工信厅": (_recycled_sheets, _register_sheet("FIRST_BATCH", "首批次登记")),
    "科技厅": (_register_sheet("SCI_TECH_PROJECT", "科技重大专项登记"),),
}


def extra_sheets(department: str, programs: Sequence[Program]) -> tuple[Sheet, ...]:
    gates: tuple[Sheet, ...] = (_gate_sheet,) if any(p.kind == "gate" for p in programs) else ()
    return gates + EXTRA_SHEETS.get(department, ())
