"""The what-if workbook: 现行 vs 调整后, per application, per program, per 盟市, and the effect on the budget."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.excel import Col, Frame, new_workbook, save, write_table
from pipelines.settings import SHANGHAI
from rules.catalog import BY_CODE
from rules.labels import DECISION_ZH
from rules.whatif import Row, Total, totals

if TYPE_CHECKING:  # pipelines.whatif imports this module to write its comparison
    from pipelines.whatif import Comparison

# Drawn widths: fitted to their text the eleven columns printed at 8 pt, and a program's code in brackets broke
# across lines (its "）" alone on the last). The code is a screen column, for filtering.
ROWS = [
    Col("申报编号", "application_id", width=12),
    Col("企业名称", "enterprise_name", width=21),
    Col("所属盟市", "league_city", width=9),
    Col("申报类别", "program_name", width=16),
    Col("现行决定", "base_decision", width=9),
    Col("现行金额(元)", "base_amount", "yuan", width=13),
    Col("调整后决定", "whatif_decision", width=9),
    Col("调整后金额(元)", "whatif_amount", "yuan", width=13),
    Col("差额(元)", "difference", "yuan", width=12),
    Col("有变化", "changed", width=7),
    Col("代码", "program", screen=True),
]
TOTALS = [
    Col("盟市", "group"),
    Col("申报数", "applications", "int"),
    Col("有变化的申报", "changed", "int"),
    Col("现行奖补(元)", "base", "yuan"),
    Col("调整后奖补(元)", "whatif", "yuan"),
    Col("差额(元)", "difference", "yuan"),
]
# 按类别: the program's name is printed, its code (the group) is a screen column
BY_PROGRAM = [Col("申报类别", "name"), *TOTALS[1:], Col("代码", "group", screen=True)]
BUDGET = [Col("项目", "item"), Col("现行(元)", "base", "yuan"), Col("调整后(元)", "whatif", "yuan")]


@dataclass(frozen=True)
class Budget:
    year: int
    annual_budget: Decimal
    committed: Decimal  # the ledger's committed net of that fund year, as booked


def _row(r: Row) -> dict[str, object]:
    return {
        **r.__dict__,
        "program_name": _name(r.program),
        "base_decision": DECISION_ZH.get(r.base_decision, r.base_decision),
        "whatif_decision": DECISION_ZH.get(r.whatif_decision, r.whatif_decision),
        "difference": r.difference,
        "changed": "是" if r.changed else "",
    }


def _name(group: str) -> str:
    """A program's Chinese name; any other label (合计, a league city) as it is."""
    program = BY_CODE.get(group)
    return program.name if program else group


def _total(t: Total) -> dict[str, object]:
    return {**t.__dict__, "name": _name(t.group), "difference": t.difference}


def write(path: Path, comparison: Comparison) -> Path:
    header, rows, budget = comparison.header, comparison.rows, comparison.budget
    now = datetime.now(SHANGHAI)

    def frame(title: str) -> Frame:
        # A simulation, never booked: the title says so on every printed page.
        return Frame(
            f"奖补模拟测算（不入账）：{title}", "模拟测算", comparison.as_of, comparison.rulebook_version, now
        )

    wb = new_workbook()
    write_table(
        wb, "说明", [Col("说明", "text", width=100)], [{"text": line} for line in header], frame=frame("说明")
    )
    write_table(wb, "逐项对比", ROWS, [_row(r) for r in rows], frame=frame("现行与调整后逐项对比"))
    by_program = totals(rows, lambda r: r.program)
    for name, columns, groups in (
        ("按类别", BY_PROGRAM, by_program),
        ("按盟市", TOTALS, totals(rows, lambda r: r.league_city or "（未知）")),
    ):
        everything = Total("合计", sum(g.applications for g in groups), sum(g.changed for g in groups),
                           sum((g.base for g in groups), Decimal("0.00")), sum((g.whatif for g in groups), Decimal("0.00")))  # fmt: skip
        write_table(
            wb, name, columns, [_total(g) for g in groups], frame=frame(name), totals=_total(everything)
        )
    base = sum((g.base for g in by_program), Decimal("0.00"))
    whatif = sum((g.whatif for g in by_program), Decimal("0.00"))
    # Tonight's decisions replace what is booked: the committed amount moves by the difference of the awards.
    committed_after = budget.committed + (whatif - base)
    write_table(
        wb,
        "预算影响",
        BUDGET,
        [
            {"item": "本次评审奖补合计", "base": base, "whatif": whatif},
            {
                "item": f"{budget.year} 年度专项资金预算",
                "base": budget.annual_budget,
                "whatif": budget.annual_budget,
            },
            {"item": f"{budget.year} 年已承诺（台账）", "base": budget.committed, "whatif": committed_after},
            {
                "item": "预算余额",
                "base": budget.annual_budget - budget.committed,
                "whatif": budget.annual_budget - committed_after,
            },
        ],
        frame=frame("预算影响"),
        notes=("调整后已承诺 = 台账已承诺 + 调整后与现行奖补合计之差；模拟不记账，台账不变。",),
    )
    return save(wb, path)
