"""The 盟市 allocation table (资金分配表) 财政厅 issues money with, and the public-notice list (拟奖补名单).

Both list what the special-fund ledger owes each application — the net of its ledger entries, so that the grand
total is the ledger's to the fen — in the order officials read: 盟市 in the region's order, then enterprise, then
clause order. The allocation table carries a subtotal per 盟市 and the grand total; the public-notice list carries
only what may be published (no credit-code details, no reasons, no internal numbers).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from openpyxl import Workbook

from pipelines.excel import SUBTOTAL, TOTAL, Col, Frame, Table, write_table
from pipelines.ledger import from_fen
from pipelines.report_text import UNKNOWN_CITY, official_order, program_name
from rules.money import WAN

ALLOCATION_SHEET = "资金分配表"
NOTICE_SHEET = "拟奖补名单"
AMOUNT_HEADER = "奖补金额(元)"
ZERO = Decimal("0.00")

ALLOCATION = [
    Col("盟市", "league_city", width=9),
    Col("企业名称", "enterprise_name", width=20),
    Col("项目名称", "project_name", width=18),
    Col("奖补项目", "program_name", width=16),
    Col("政策条款", "clause", width=8),
    Col(AMOUNT_HEADER, "amount_yuan", "yuan", width=15),
    Col("奖补金额(万元)", "amount_wan", "wan", width=15),  # at 11 its ")" printed on a line of its own
    Col("申报编号", "application_id", screen=True),
    Col("统一社会信用代码", "credit_code", screen=True),
    Col("代码", "program", screen=True),
]
NOTICE = [
    Col("盟市", "league_city", width=9),
    Col("企业名称", "enterprise_name", width=24),
    Col("项目名称", "project_name", width=24),
    Col("奖补项目", "program_name", width=20),
    Col(AMOUNT_HEADER, "amount_yuan", "yuan", width=15),
]


def allocation_rows(
    allocations: Iterable[Mapping[str, Any]],
    projects: Mapping[str, str | None],
) -> list[dict[str, Any]]:
    """One row per application the ledger owes money, in official order."""
    rows = []
    for a in allocations:
        amount = from_fen(int(a["net_fen"]))
        rows.append(
            {
                "league_city": a.get("league_city") or UNKNOWN_CITY,
                "enterprise_name": a.get("enterprise_name"),
                "project_name": projects.get(a["application_id"]),
                "program": a["program"],
                "program_name": program_name(a["program"]),
                "clause": a.get("clause"),
                "amount_yuan": amount,
                "amount_wan": amount / WAN,
                "application_id": a["application_id"],
                "credit_code": a.get("credit_code"),
            }
        )
    return sorted(rows, key=official_order)


def with_subtotals(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows with a bold 小计 row after each 盟市's."""
    out: list[dict[str, Any]] = []
    for i, row in enumerate(rows):
        out.append(row)
        city = row["league_city"]
        if i + 1 == len(rows) or rows[i + 1]["league_city"] != city:
            mine = [r["amount_yuan"] for r in rows if r["league_city"] == city]
            amount = sum(mine, ZERO)
            out.append(
                {
                    "_subtotal": True,
                    "league_city": city,
                    "enterprise_name": f"{SUBTOTAL}（{len(mine)} 项）",
                    "amount_yuan": amount,
                    "amount_wan": amount / WAN,
                }
            )
    return out


def write_allocation(
    wb: Workbook, rows: Sequence[dict[str, Any]], frame: Frame, notes: Sequence[str] = ()
) -> Table:
    total = sum((r["amount_yuan"] for r in rows), ZERO)
    return write_table(
        wb,
        ALLOCATION_SHEET,
        ALLOCATION,
        with_subtotals(rows),
        frame=frame,
        totals={"league_city": TOTAL, "amount_yuan": total, "amount_wan": total / WAN},
        notes=(
            "金额为专项资金台账中各申报的应拨净额（奖补减冲销），合计与台账一致；按盟市、企业、政策条款排序。",
            *notes,
        ),
    )


def write_notice(wb: Workbook, rows: Sequence[dict[str, Any]], frame: Frame) -> Table:
    total = sum((r["amount_yuan"] for r in rows), ZERO)
    return write_table(
        wb,
        NOTICE_SHEET,
        NOTICE,
        rows,
        frame=frame,
        totals={"league_city": TOTAL, "amount_yuan": total},
        notes=("公示期内如有异议，请向自治区财政厅及相关主管部门反映。",),
    )
