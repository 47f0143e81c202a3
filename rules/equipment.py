"""五(1) 推动设备更新和技术改造 — EQUIPMENT_UPGRADE.

> 支持企业高端化、智能化、绿色化改造，对投资 2000 万元以上且已完工的设备更新和技术改造项目，按设备投资额的
> 20%给予一次性奖补，最高奖补 500 万元。（责任单位：自治区工信厅、财政厅）

Equipment investment is the VAT-exclusive purchase amount of equipment and its software (docs/policy.md). 以上 includes
the number itself: exactly 2,000 万元 qualifies. Award object: `EQUIPMENT_UPGRADE:<project_code>`.
"""

from __future__ import annotations

from rules.context import Context
from rules.decision import Decision
from rules.model import Application
from rules.money import wan_text
from rules.parameters import declare
from rules.projects import Share, completed_project, share_award

PROGRAM = "EQUIPMENT_UPGRADE"

SHARE = Share(
    "equipment_upgrade",
    "设备投资额",
    "equipment_investment_yuan",
    "EQUIPMENT_INVESTMENT_REQUIRED",
    "未填写设备投资额（不含税）或为零，无法计算奖补，请补填",
    "EQUIPMENT_AWARD",
)

PARAMETERS = declare(
    "equipment_upgrade.min_total_investment",
    "equipment_upgrade.rate",
    "equipment_upgrade.cap",
)


def evaluate(app: Application, ctx: Context) -> Decision:
    t = completed_project(app, ctx, PROGRAM)
    minimum = t.param("equipment_upgrade.min_total_investment")
    total = app.total_investment
    if total is None:
        t.check(
            "TOTAL_INVESTMENT_BELOW_MINIMUM",
            False,
            f"未填写项目总投资，无法认定是否达到 {wan_text(minimum)} 万元以上，请补填",
        )
    else:
        t.reached(
            "TOTAL_INVESTMENT_BELOW_MINIMUM",
            total >= minimum,
            f"项目总投资 {wan_text(total)} 万元",
            f" {wan_text(minimum)} 万元以上",
            total_investment_yuan=total,
            minimum_yuan=minimum,
        )
    return share_award(
        t,
        app.equipment_investment,
        SHARE,
        ("equipment_upgrade.min_total_investment",),
        total_investment_yuan=total,
    )
