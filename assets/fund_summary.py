"""The fund summary workbook for 财政厅 (issue 7, item 3): what the special fund has committed, by program, by 盟市
and by month, against the annual budget — `ALU_REPORTS_DIR/<as-of date>/专项资金汇总.xlsx`, with native charts.

Committed = the net of `award_ledger` (awards less reversals); the cumulative figures tie to `award_balances`.
The budget year is the calendar year of the evaluation date, and an entry belongs to the month and year in which
it was booked (`recorded_at`, Asia/Shanghai): the ledger records no other date. An overrun is flagged, never
prorated (clauses.md, "The fund"). The budget is the rules parameter `fund.annual_budget`.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import dagster as dg
from openpyxl import load_workbook
from sqlalchemy import Engine, select, text

from assets._metadata import markdown_table
from assets.reports import sheet_schema
from pipelines.defs.resources import Evaluation, LedgerDatabase, ReportsFolder
from pipelines.excel import Col, add_bar_chart, new_workbook, save, write_table
from pipelines.ledger import from_fen
from pipelines.settings import SHANGHAI
from rules.catalog import BY_CODE, PROGRAMS
from rules.parameters import ParameterError, Parameters, ParameterValue
from schemas.sheets import LEAGUE_CITIES
from schemas.tables import LedgerEntry

FILE_NAME = "专项资金汇总.xlsx"
BUDGET_KEY = "fund.annual_budget"
ZERO = Decimal("0.00")
UNKNOWN_CITY = "未知盟市"
TOTAL = "合计"

OVERVIEW = [Col("指标", "item"), Col("金额(元)", "amount", "yuan"), Col("说明", "note")]
BY_PROGRAM = [
    Col("申报类别", "program"),
    Col("名称", "name"),
    Col("条款", "clause"),
    Col("牵头部门", "lead"),
    Col("奖励对象数", "keys", "int"),
    Col("本年度承诺(元)", "year_yuan", "yuan"),
    Col("占年度预算", "budget_share", "pct"),
    Col("累计承诺(元)", "total_yuan", "yuan"),
]
BY_CITY = [
    Col("盟市", "city"),
    Col("企业数", "enterprises", "int"),
    Col("奖励对象数", "keys", "int"),
    Col("本年度承诺(元)", "year_yuan", "yuan"),
    Col("累计承诺(元)", "total_yuan", "yuan"),
]
BY_MONTH = [
    Col("月份", "month"),
    Col("新增奖补(元)", "awards_yuan", "yuan"),
    Col("冲销(元)", "reversals_yuan", "yuan"),
    Col("净承诺(元)", "net_yuan", "yuan"),
    Col("本年累计(元)", "year_to_date_yuan", "yuan"),
    Col("年度预算(元)", "budget_yuan", "yuan"),
    Col("预算余额(元)", "remaining_yuan", "yuan"),
    Col("预算使用率", "usage", "pct"),
]


@dataclass(frozen=True)
class Entry:
    award_key: str
    program: str
    credit_code: str
    city: str
    amount_fen: int
    month: str  # YYYY-MM in Asia/Shanghai


@dataclass(frozen=True)
class FundReport:
    path: Path
    budget: ParameterValue | None
    year_committed: Decimal
    total_committed: Decimal

    @property
    def overrun(self) -> Decimal | None:
        if self.budget is None:
            return None
        return max(self.year_committed - Decimal(self.budget.value), ZERO)


def _shanghai_month(recorded_at: datetime) -> str:
    # SQLite hands timestamps back without their zone; the ledger writes them in UTC
    aware = recorded_at if recorded_at.tzinfo else recorded_at.replace(tzinfo=UTC)
    return f"{aware.astimezone(SHANGHAI):%Y-%m}"


def entries(engine: Engine) -> list[Entry]:
    with engine.connect() as conn:
        city_of_app: dict[str, str] = dict(
            conn.execute(text("SELECT application_id, league_city FROM application_decisions")).all()
        )
        city_of_enterprise: dict[str, str] = dict(
            conn.execute(
                text(
                    "SELECT credit_code, MIN(league_city) FROM application_decisions "
                    "WHERE league_city IS NOT NULL GROUP BY credit_code"
                )
            ).all()
        )
        rows = conn.execute(
            select(
                LedgerEntry.award_key,
                LedgerEntry.program,
                LedgerEntry.credit_code,
                LedgerEntry.application_id,
                LedgerEntry.amount_fen,
                LedgerEntry.recorded_at,
            ).order_by(LedgerEntry.entry_id)
        ).all()
    return [
        Entry(
            r.award_key,
            r.program,
            r.credit_code,
            city_of_app.get(r.application_id) or city_of_enterprise.get(r.credit_code) or UNKNOWN_CITY,
            int(r.amount_fen),
            _shanghai_month(r.recorded_at),
        )
        for r in rows
    ]


def annual_budget(as_of: date) -> ParameterValue | None:
    try:
        return Parameters.load().at(as_of)[BUDGET_KEY]
    except ParameterError:
        return None  # not in the rulebook yet: the report says so instead of inventing a figure


def _share(part: Decimal, whole: Decimal | None) -> Decimal | None:
    return None if not whole else part / whole


def _open_keys(rows: Sequence[Entry]) -> int:
    net: dict[str, int] = defaultdict(int)
    for e in rows:
        net[e.award_key] += e.amount_fen
    return sum(1 for v in net.values() if v > 0)


def write_fund_summary(
    engine: Engine, as_of: date, folder: Path, budget: ParameterValue | None
) -> tuple[FundReport, list[dict[str, Any]]]:
    book = entries(engine)
    year = f"{as_of.year:04d}"
    this_year = [e for e in book if e.month.startswith(year)]
    budget_yuan = None if budget is None else Decimal(budget.value).quantize(ZERO)

    def fen_sum(rows: Sequence[Entry]) -> Decimal:
        return from_fen(sum(e.amount_fen for e in rows))

    by_program: list[dict[str, Any]] = []
    for p in PROGRAMS:
        if p.kind != "fund":
            continue
        mine = [e for e in book if e.program == p.code]
        year_yuan = fen_sum([e for e in mine if e.month.startswith(year)])
        by_program.append(
            {
                "program": p.code,
                "name": p.name,
                "clause": p.clause,
                "lead": p.lead_department,
                "keys": _open_keys(mine),
                "year_yuan": year_yuan,
                "budget_share": _share(year_yuan, budget_yuan),
                "total_yuan": fen_sum(mine),
            }
        )
    # An entry of a program no longer in the catalog still counts: the totals must tie to the ledger.
    for code in sorted({e.program for e in book} - {r["program"] for r in by_program}):
        mine = [e for e in book if e.program == code]
        year_yuan = fen_sum([e for e in mine if e.month.startswith(year)])
        program = BY_CODE.get(code)
        by_program.append(
            {
                "program": code,
                "name": program.name if program else code,
                "keys": _open_keys(mine),
                "year_yuan": year_yuan,
                "budget_share": _share(year_yuan, budget_yuan),
                "total_yuan": fen_sum(mine),
            }
        )

    cities = list(LEAGUE_CITIES) + sorted({e.city for e in book} - set(LEAGUE_CITIES))
    by_city: list[dict[str, Any]] = []
    for city in cities:
        mine = [e for e in book if e.city == city]
        by_city.append(
            {
                "city": city,
                "enterprises": len({e.credit_code for e in mine if e.amount_fen > 0}),
                "keys": _open_keys(mine),
                "year_yuan": fen_sum([e for e in mine if e.month.startswith(year)]),
                "total_yuan": fen_sum(mine),
            }
        )

    months = sorted({e.month for e in book} | {f"{year}-{m:02d}" for m in range(1, as_of.month + 1)})
    by_month: list[dict[str, Any]] = []
    running = ZERO
    for month in months:
        mine = [e for e in book if e.month == month]
        net = fen_sum(mine)
        in_year = month.startswith(year)
        running = running + net if in_year else running
        by_month.append(
            {
                "month": month,
                "awards_yuan": fen_sum([e for e in mine if e.amount_fen > 0]),
                "reversals_yuan": fen_sum([e for e in mine if e.amount_fen < 0]),
                "net_yuan": net,
                "year_to_date_yuan": running if in_year else None,
                "budget_yuan": budget_yuan if in_year else None,
                "remaining_yuan": budget_yuan - running if in_year and budget_yuan is not None else None,
                "usage": _share(running, budget_yuan) if in_year else None,
            }
        )

    year_committed = fen_sum(this_year)
    total = fen_sum(book)
    if budget_yuan is None:
        status = f"年度预算参数 {BUDGET_KEY} 未设定：请在 rules/parameters/ 中补充 {year} 年预算"
    elif year_committed > budget_yuan:
        status = (
            f"超支 {year_committed - budget_yuan:,.2f} 元：按政策不自动按比例削减，请财政厅决定追加预算或调整"
        )
    else:
        status = f"未超支，使用率 {year_committed / budget_yuan:.2%}" if budget_yuan else "未超支"
    overview: list[dict[str, Any]] = [
        {"item": f"{year} 年度预算", "amount": budget_yuan, "note": budget.source if budget else status},
        {"item": f"{year} 年度已承诺", "amount": year_committed, "note": status},
        {
            "item": f"{year} 年度预算余额",
            "amount": None if budget_yuan is None else budget_yuan - year_committed,
            "note": "负数即超支",
        },
        {"item": "累计承诺（全部年度）", "amount": total, "note": "= award_balances 净额合计"},
    ]

    wb = new_workbook()
    write_table(
        wb,
        "概况",
        OVERVIEW,
        overview,
        title=f"自治区重点产业发展专项资金（铝产业）承诺情况（评审日 {as_of.isoformat()}）",
        notes=(
            "承诺 = 专项资金台账净额（奖补减冲销）；按入账时间（北京时间）归属月份与年度。",
            "部门审核人：____________    复核人：____________    日期：____________",
        ),
    )
    program_table = write_table(
        wb,
        "按项目",
        BY_PROGRAM,
        by_program,
        title=f"专项资金承诺：按项目（{year} 年度及累计）",
        totals={
            "program": TOTAL,
            **_sums(by_program, BY_PROGRAM),
            "budget_share": _share(year_committed, budget_yuan),
        },
    )
    add_bar_chart(wb, program_table, "name", "total_yuan", "各项目累计承诺（元）")
    city_table = write_table(
        wb,
        "按盟市",
        BY_CITY,
        by_city,
        title=f"专项资金承诺：按盟市（{year} 年度及累计）",
        totals={"city": TOTAL, **_sums(by_city, BY_CITY), "enterprises": None},
    )
    add_bar_chart(wb, city_table, "city", "total_yuan", "各盟市累计承诺（元）")
    month_table = write_table(
        wb,
        "按月份",
        BY_MONTH,
        by_month,
        title=f"专项资金承诺：按月份（对照 {year} 年度预算）",
        totals={
            "month": TOTAL,
            "awards_yuan": fen_sum([e for e in book if e.amount_fen > 0]),
            "reversals_yuan": fen_sum([e for e in book if e.amount_fen < 0]),
            "net_yuan": total,
        },
    )
    add_bar_chart(wb, month_table, "month", "net_yuan", "每月净承诺（元）")
    path = save(wb, folder / FILE_NAME)
    return FundReport(path, budget, year_committed, total), by_program


def _sums(rows: Sequence[dict[str, Any]], columns: Sequence[Col]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for col in columns:
        if col.kind == "yuan":
            out[col.key] = sum((r[col.key] for r in rows if r.get(col.key) is not None), ZERO)
        elif col.kind == "int":
            out[col.key] = sum(r[col.key] or 0 for r in rows)
    return out


def _column_totals(path: Path, sheet: str, key_header: str, value_header: str) -> dict[str, Decimal]:
    wb = load_workbook(path, read_only=True)
    try:
        rows = wb[sheet].iter_rows(values_only=True)
        header = next(row for row in rows if row and row[0] == key_header)
        at = header.index(value_header)
        out = {}
        for row in rows:
            if not row or row[0] is None:
                break
            out[str(row[0])] = Decimal(str(row[at] if row[at] is not None else 0))
        return out
    finally:
        wb.close()


def fund_mismatches(engine: Engine, path: Path) -> list[dict[str, str]]:
    """Every difference between the fund workbook's cumulative totals and `award_balances`."""
    if not path.exists():
        return [{"problem": "报表文件不存在"}]
    with engine.connect() as conn:
        ledger = {
            r.program: from_fen(int(r.net))
            for r in conn.execute(
                text("SELECT program, COALESCE(SUM(net_fen), 0) AS net FROM award_balances GROUP BY program")
            )
        }
    total = sum(ledger.values(), ZERO)
    problems = []
    programs = _column_totals(path, "按项目", "申报类别", "累计承诺(元)")
    for code in set(ledger) | {p.code for p in PROGRAMS if p.kind == "fund"}:
        if programs.get(code, ZERO) != ledger.get(code, ZERO):
            problems.append(
                {
                    "sheet": "按项目",
                    "row": code,
                    "workbook": str(programs.get(code)),
                    "ledger": str(ledger.get(code, ZERO)),
                }
            )
    for sheet, key, value in (
        ("按项目", "申报类别", "累计承诺(元)"),
        ("按盟市", "盟市", "累计承诺(元)"),
        ("按月份", "月份", "净承诺(元)"),
    ):
        shown = _column_totals(path, sheet, key, value)
        if shown.get(TOTAL) != total or sum((v for k, v in shown.items() if k != TOTAL), ZERO) != total:
            problems.append(
                {"sheet": sheet, "row": TOTAL, "workbook": str(shown.get(TOTAL)), "ledger": str(total)}
            )
    return problems


@dg.asset(
    deps=["award_ledger"],
    description="财政厅专项资金汇总工作簿：按项目、盟市、月份的承诺金额对照年度预算（fund.annual_budget），"
    "含原生 Excel 图表；累计数与 award_balances 一致。",
)
def fund_summary(
    context: dg.AssetExecutionContext,
    ledger_db: LedgerDatabase,
    reports: ReportsFolder,
    evaluation: Evaluation,
) -> dg.MaterializeResult:
    folder = reports.for_date(evaluation.date)
    report, by_program = write_fund_summary(
        ledger_db.engine(), evaluation.date, folder, annual_budget(evaluation.date)
    )
    preview = [
        {
            "项目": r["name"],
            "本年度承诺(元)": f"{r['year_yuan']:,.2f}",
            "累计承诺(元)": f"{r['total_yuan']:,.2f}",
        }
        for r in by_program
    ]
    return dg.MaterializeResult(
        metadata={
            # one row per fund program on 按项目, the sheet the budget and ledger totals are read from
            "dagster/row_count": len(by_program),
            "dagster/column_schema": sheet_schema(BY_PROGRAM, "按项目"),
            "path": dg.MetadataValue.path(str(report.path)),
            "year_committed_yuan": str(report.year_committed),
            "total_committed_yuan": str(report.total_committed),
            "annual_budget_yuan": "未设定" if report.budget is None else str(report.budget.value),
            "overrun_yuan": "" if report.overrun is None else str(report.overrun),
            "summary": markdown_table(preview),
        }
    )


@dg.asset_check(
    asset=fund_summary,
    description="专项资金汇总（按项目、按盟市、按月份）的累计合计（从文件读回）= award_balances",
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
