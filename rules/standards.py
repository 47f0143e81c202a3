"""七、加强标准研制 — STANDARD_SETTING.

> 对主导制定国际、国家（行业）标准的铝企业，分别给予每个标准 30 万元、20 万元一次性奖励；对参与制定国际、
> 国家（行业）标准的铝企业，分别给予每个标准 20 万元、10 万元一次性奖励。（责任单位：自治区工信厅、
> 市场监督管理局、财政厅）

One award object per (enterprise, standard code): `STANDARD_SETTING:<credit_code>:<standard_code>`.
*Assumption* (docs/policy.md): only standards published on or after the policy's effective date count.
"""

from __future__ import annotations

from decimal import Decimal

from rules.catalog import BY_CODE
from rules.context import Context
from rules.decision import Award, Condition, Decision, Outcome
from rules.labels import ROLES, STANDARD_LEVELS
from rules.model import Application
from rules.money import round_to_fen, yuan_text
from rules.parameters import ParameterValue, declare

PROGRAM = "STANDARD_SETTING"
CLAUSE = BY_CODE[PROGRAM].clause

PARAMETERS = declare(
    "general.effective_date",
    "standard_setting.award.international.lead",
    "standard_setting.award.international.participate",
    "standard_setting.award.national.lead",
    "standard_setting.award.national.participate",
)

# 国家（行业）: industry standards are paid as national ones.
_LEVEL_GROUP = {"international": "international", "national": "national", "industry": "national"}


def evaluate(app: Application, ctx: Context) -> Decision:
    used: list[ParameterValue] = []
    conditions: list[Condition] = []
    awards: list[Award] = []
    effective = ctx.param("general.effective_date", used).value

    if not app.standards:
        conditions.append(
            Condition("STD_NO_DETAIL", CLAUSE, False, "申报未附任何标准明细（标准 sheet），无法核定奖励")
        )
    for std in app.standards:
        label = f"{std.standard_code}（{STANDARD_LEVELS.get(std.standard_level, std.standard_level)}标准，"
        label += f"{ROLES.get(std.role, std.role)}制定）"
        values = {"standard_code": std.standard_code, "published_on": std.published_on}
        if std.published_on < effective:
            conditions.append(
                Condition(
                    "STD_PUBLISHED_BEFORE_EFFECTIVE",
                    CLAUSE,
                    False,
                    f"标准 {label} 发布日期 {std.published_on.isoformat()} 早于政策实施日期 "
                    f"{effective.isoformat()}，不予奖励",
                    {**values, "effective_date": effective},
                )
            )
            continue
        if std.published_on > ctx.as_of:
            conditions.append(
                Condition(
                    "STD_NOT_YET_PUBLISHED",
                    CLAUSE,
                    False,
                    f"标准 {label} 发布日期 {std.published_on.isoformat()} 晚于评审日期",
                    values,
                )
            )
            continue
        key = f"standard_setting.award.{_LEVEL_GROUP[std.standard_level]}.{std.role}"
        rate = ctx.param(key, used)
        amount = round_to_fen(Decimal(rate.value))
        conditions.append(
            Condition(
                "STD_AWARD",
                CLAUSE,
                True,
                f"标准 {label} 于 {std.published_on.isoformat()} 发布，按每个标准 {yuan_text(amount)} 元给予一次性奖励",
                {**values, "amount_yuan": amount},
            )
        )
        awards.append(
            Award(
                award_key=f"{PROGRAM}:{app.credit_code}:{std.standard_code}",
                amount=amount,
                basis={
                    "standard": values | {"level": std.standard_level, "role": std.role},
                    "parameter": rate.cite(),
                    "steps": [f"{key} = {rate.value}", f"round half-up to fen = {amount}"],
                },
            )
        )

    outcome = Outcome.AWARDED if awards else Outcome.REJECTED
    return Decision(
        application_id=app.application_id,
        program=PROGRAM,
        credit_code=app.credit_code,
        outcome=outcome,
        clause=CLAUSE,
        lead_department=BY_CODE[PROGRAM].lead_department,
        conditions=tuple(conditions),
        parameters=tuple(used),
        awards=tuple(awards),
    )
