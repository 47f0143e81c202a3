"""The fund summary workbook for 财政厅: what the special fund has committed, by program, by 盟市 and by month,
against the annual budget, the 盟市 allocation table and the public-notice list —
`ALU_REPORTS_DIR/<as-of date>/专项资金汇总.xlsx`, with native charts in 万元.

Committed = the net of the ledger (awards less reversals); the cumulative figures tie to `award_balances`. The
budget year is the calendar year of the evaluation date, and an entry belongs to the month and year in which it
was booked (Asia/Shanghai): the ledger records no other date. 按月份 lists the months in which entries were booked:
a month without any adds nothing to the year's running total. The budget, its status and an overrun come from
`rules.fund` (flagged, never prorated). The policy publishes no budget, so the figure is shown as provisional
(年度预算（暂定，待财政厅下达）) with its source in Chinese.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from sqlalchemy import Engine

from pipelines import report_queries as q
from pipelines.allocation import allocation_rows, write_allocation, write_notice
from pipelines.charts import add_bar_chart, chart_rows
from pipelines.excel import (
    CODE_HEADER,
    TOTAL,
    Col,
    Frame,
    new_workbook,
    save,
    write_table,
)
from pipelines.ledger import from_fen
from pipelines.report_text import BUDGET_LABEL, SIGN_OFF_SEALED, UNKNOWN_CITY, city_order, program_name
from pipelines.row_cache import RowCache
from rules import fund
from rules.catalog import PROGRAMS
from rules.money import WAN
from rules.parameters import ParameterError, Parameters, ParameterValue
from schemas.sheets import LEAGUE_CITIES

FILE_NAME = "专项资金汇总.xlsx"
ORGANISATION = "财政厅"
ZERO = Decimal("0.00")
PROGRAM_SHEET, CITY_SHEET, MONTH_SHEET = "按项目", "按盟市", "按月份"
TOTAL_HEADER = "累计承诺(元)"

OVERVIEW = [
    Col("指标", "item", width=30),
    Col("金额(元)", "amount", "yuan", width=17),
    Col("金额(万元)", "amount_wan", "wan", width=12),
    Col("说明", "note", width=50),
]
BY_PROGRAM = [
    Col("申报类别", "name", width=24),
    Col("政策条款", "clause", width=8),
    Col("牵头部门", "lead", width=10),
    Col("奖励对象数", "keys", "int", width=7),
    Col("本年度承诺(元)", "year_yuan", "yuan", width=16),
    Col("本年度承诺(万元)", "year_wan", "wan", width=11),
    Col("占年度预算", "budget_share", "pct", width=9),
    Col(TOTAL_HEADER, "total_yuan", "yuan", width=16),
    Col(CODE_HEADER, "program", screen=True),
]
BY_CITY = [
    Col("盟市", "city", width=12),
    Col("企业数", "enterprises", "int", width=8),
    Col("奖励对象数", "keys", "int", width=8),
    Col("本年度承诺(元)", "year_yuan", "yuan", width=18),
    Col(TOTAL_HEADER, "total_yuan", "yuan", width=18),
    Col("累计承诺(万元)", "total_wan", "wan", width=14),
]
BY_MONTH = [
    Col("月份", "month", width=10),  # at 9 the writer sized every row for 2026-01 wrapping onto two lines
    Col("新增奖补(元)", "awards_yuan", "yuan", width=16),
    Col("冲销(元)", "reversals_yuan", "yuan", width=14),
    Col("净承诺(元)", "net_yuan", "yuan", width=16),
    Col("净承诺(万元)", "net_wan", "wan", width=11),
    Col("本年累计(元)", "year_to_date_yuan", "yuan", width=16),
    Col("预算余额(元)", "remaining_yuan", "yuan", width=16),
    Col("预算使用率", "usage", "pct", width=9),
]


@dataclass(frozen=True)
class FundReport:
    path: Path
    status: fund.FundStatus | None  # None: no budget in the rulebook for the year
    year_committed: Decimal
    total_committed: Decimal
    by_program: list[dict[str, Any]]

    @property
    def overrun(self) -> Decimal | None:
        return None if self.status is None else max(-self.status.remaining, ZERO)


def annual_budget(parameters: Parameters, as_of: date) -> ParameterValue | None:
    try:
        return fund.annual_budget(parameters, as_of)
    except ParameterError:
        return None  # not in the rulebook yet: the report says so instead of inventing a figure


def source_zh(budget: ParameterValue) -> str:
    """A parameter's source as a reader may see it: Chinese only, no file names or English notes."""
    text = re.sub(r"\s*\([ -~]*\)", "", budget.source)
    text = re.sub(r"^assumption:\s*", "暂定数：", text)
    text = re.sub(r"^policy\s*([^:：]*)[:：]\s*", r"政策条款\1：", text)
    return f"{text}（自 {budget.since.isoformat()} 起适用）"


def _wan(amount: Decimal | None) -> Decimal | None:
    return None if amount is None else amount / WAN


def _share(part: Decimal, whole: Decimal | None) -> Decimal | None:
    return None if not whole else part / whole


def _open_keys(rows: Sequence[q.Entry]) -> int:
    net: dict[str, int] = defaultdict(int)
    for e in rows:
        net[e.award_key] += e.amount_fen
    return sum(1 for v in net.values() if v > 0)


def _fen_sum(rows: Sequence[q.Entry]) -> Decimal:
    return from_fen(sum(e.amount_fen for e in rows))


def program_rows(book: Sequence[q.Entry], year: str, budget_yuan: Decimal | None) -> list[dict[str, Any]]:
    # An entry of a program no longer in the catalog still counts: the totals must tie to the ledger.
    codes = [p.code for p in PROGRAMS if p.kind == "fund"]
    codes += sorted({e.program for e in book} - set(codes))
    by_code = {p.code: p for p in PROGRAMS}
    rows = []
    for code in codes:
        mine = [e for e in book if e.program == code]
        year_yuan = _fen_sum([e for e in mine if e.month.startswith(year)])
        p = by_code.get(code)
        rows.append(
            {
                "program": code,
                "name": program_name(code),
                "clause": p.clause if p else "",
                "lead": p.lead_department if p else "",
                "keys": _open_keys(mine),
                "year_yuan": year_yuan,
                "year_wan": _wan(year_yuan),
                "budget_share": _share(year_yuan, budget_yuan),
                "total_yuan": _fen_sum(mine),
            }
        )
    return rows


def city_rows(book: Sequence[q.Entry], year: str) -> list[dict[str, Any]]:
    known = set(LEAGUE_CITIES)
    cities = list(LEAGUE_CITIES) + sorted({e.city or UNKNOWN_CITY for e in book} - known, key=city_order)
    rows = []
    for city in cities:
        mine = [e for e in book if (e.city or UNKNOWN_CITY) == city]
        total = _fen_sum(mine)
        rows.append(
            {
                "city": city,
                "enterprises": len({e.credit_code for e in mine if e.amount_fen > 0}),
                "keys": _open_keys(mine),
                "year_yuan": _fen_sum([e for e in mine if e.month.startswith(year)]),
                "total_yuan": total,
                "total_wan": _wan(total),
            }
        )
    return rows


def month_rows(book: Sequence[q.Entry], as_of: date, budget_yuan: Decimal | None) -> list[dict[str, Any]]:
    year = f"{as_of.year:04d}"
    months = sorted({e.month for e in book})
    rows = []
    running = ZERO
    for month in months:
        mine = [e for e in book if e.month == month]
        net = _fen_sum(mine)
        in_year = month.startswith(year)
        running = running + net if in_year else running
        rows.append(
            {
                "month": month,
                "awards_yuan": _fen_sum([e for e in mine if e.amount_fen > 0]),
                "reversals_yuan": _fen_sum([e for e in mine if e.amount_fen < 0]),
                "net_yuan": net,
                "net_wan": _wan(net),
                "year_to_date_yuan": running if in_year else None,
                "remaining_yuan": budget_yuan - running if in_year and budget_yuan is not None else None,
                "usage": _share(running, budget_yuan) if in_year else None,
            }
        )
    return rows


def overview_rows(
    year: str,
    budget: ParameterValue | None,
    status: fund.FundStatus | None,
    total: Decimal,
    committed: Decimal,
) -> list[dict[str, Any]]:
    if status is None:
        state = f"{year} 年度预算尚未设定：请财政厅下达年度预算后补录，本表暂不计算预算余额"
    elif status.overrun:
        state = f"超支 {-status.remaining:,.2f} 元：按政策不自动按比例削减，请财政厅决定追加预算或调整"
    else:
        state = (
            f"未超支，使用率 {status.committed / Decimal(status.budget.value):.2%}"
            if status.budget.value
            else "未超支"
        )
    budget_yuan = None if budget is None else Decimal(budget.value).quantize(ZERO)
    remaining = None if status is None else status.remaining.quantize(ZERO)
    rows: list[dict[str, Any]] = [
        {
            "item": f"{year} {BUDGET_LABEL}",
            "amount": budget_yuan,
            "note": source_zh(budget) if budget else state,
        },
        {"item": f"{year} 年度已承诺", "amount": committed, "note": state},
        {"item": f"{year} 年度预算余额", "amount": remaining, "note": "负数即超支"},
        {"item": "累计承诺（全部年度）", "amount": total, "note": "= 专项资金台账净额合计（奖补减冲销）"},
    ]
    return [r | {"amount_wan": _wan(r["amount"])} for r in rows]


def _sums(rows: Sequence[dict[str, Any]], columns: Sequence[Col]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for col in columns:
        if col.kind in ("yuan", "wan"):
            out[col.key] = sum((r[col.key] for r in rows if r.get(col.key) is not None), ZERO)
        elif col.kind == "int":
            out[col.key] = sum(r[col.key] or 0 for r in rows)
    return out


def _sheet_with_chart(
    wb: Workbook, name: str, columns: Sequence[Col], rows: Sequence[dict[str, Any]], frame: Frame,
    totals: dict[str, Any], chart: tuple[str, str, str], horizontal: bool = False, notes: Sequence[str] = (),
) -> None:  # fmt: skip
    room = chart_rows(len(rows), horizontal)
    table = write_table(wb, name, columns, rows, frame=frame, totals=totals, notes=notes, chart_rows=room)
    add_bar_chart(wb, table, chart[0], [chart[1]], chart[2], horizontal=horizontal)


def write_fund_summary(
    engine: Engine, as_of: date, folder: Path, parameters: Parameters, projects: dict[str, str | None],
    generated_at: datetime, row_cache: RowCache | None = None,
) -> FundReport:  # fmt: skip
    book = q.entries(engine)
    with engine.connect() as conn:
        allocations = q.allocations(conn)
        version = q.rulebook_version(conn) or parameters.version
    year = f"{as_of.year:04d}"
    budget = annual_budget(parameters, as_of)
    year_committed = _fen_sum([e for e in book if e.month.startswith(year)])
    total = _fen_sum(book)
    status = None if budget is None else fund.status(parameters, as_of, year_committed)
    budget_yuan = None if budget is None else Decimal(budget.value).quantize(ZERO)

    def frame(title: str, unit: str = "元") -> Frame:
        return Frame(title, ORGANISATION, as_of, version, generated_at, unit)

    wb = new_workbook(row_cache)
    overview = overview_rows(year, budget, status, total, year_committed)
    table = write_table(
        wb,
        "概况",
        OVERVIEW,
        overview,
        frame=frame("自治区重点产业发展专项资金（铝产业）承诺情况"),
        notes=("承诺 = 专项资金台账净额（奖补减冲销）；按入账时间（北京时间）归属月份与年度。",),
        sign_off=SIGN_OFF_SEALED,
        chart_rows=chart_rows(2) if budget is not None else 0,  # the budget against what is committed
    )
    add_bar_chart(
        wb,
        table,
        "item",
        ["amount_wan"],
        f"{year} 年度已承诺与年度预算（暂定）（万元）",
        last_row=table.first_row + 1,
    )
    by_program = program_rows(book, year, budget_yuan)
    _sheet_with_chart(
        wb, PROGRAM_SHEET, BY_PROGRAM, by_program, frame(f"专项资金承诺情况：按项目（{year} 年度及累计）"),
        {"name": TOTAL, **_sums(by_program, BY_PROGRAM), "budget_share": _share(year_committed, budget_yuan)},
        ("name", "year_wan", f"{year} 年度各项目承诺（万元）"), horizontal=True,
    )  # fmt: skip
    by_city = city_rows(book, year)
    _sheet_with_chart(
        wb, CITY_SHEET, BY_CITY, by_city, frame(f"专项资金承诺情况：按盟市（{year} 年度及累计）"),
        {"city": TOTAL, **_sums(by_city, BY_CITY), "enterprises": None},
        ("city", "total_wan", "各盟市累计承诺（万元）"), horizontal=True,
    )  # fmt: skip
    by_month = month_rows(book, as_of, budget_yuan)
    month_totals = {
        "month": TOTAL,
        **{k: _sums(by_month, BY_MONTH)[k] for k in ("awards_yuan", "reversals_yuan", "net_yuan", "net_wan")},
    }
    _sheet_with_chart(
        wb, MONTH_SHEET, BY_MONTH, by_month, frame(f"专项资金承诺情况：按月份（对照 {year} 年度预算）"),
        month_totals, ("month", "net_wan", "每月净承诺（万元）"),
        notes=("只列出有入账（奖补或冲销）的月份；未列出的月份没有承诺变动。",),
    )  # fmt: skip
    owed = allocation_rows(allocations, projects)
    write_allocation(wb, owed, frame("专项资金分配表（按盟市）"))
    write_notice(wb, owed, frame("铝产业政策专项资金拟奖补名单（公示）"))
    path = save(wb, folder / FILE_NAME)
    return FundReport(path, status, year_committed, total, by_program)
