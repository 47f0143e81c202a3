"""Conditions and awards shared by the project programs (interest subsidies, equipment, savings, IP, gates).

Readings of docs/policy.md: 已完工 means completed on or before the evaluation date; 新建成投产 means completed and in
production on or before the evaluation date, with production starting on or after the policy's effective date.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from rules.context import Context
from rules.decision import Award, Decision, Outcome
from rules.model import Application
from rules.money import round_to_fen, yuan_text
from rules.parameters import declare
from rules.trail import Trail, day

PARAMETERS = declare("general.effective_date")


def project_code(t: Trail) -> bool:
    """One-time project awards are keyed by the project code, so a project program cannot go without one."""
    return t.check(
        "PROJECT_CODE_REQUIRED",
        bool(t.app.project_code),
        "已填写项目编号"
        if t.app.project_code
        else "未填写项目编号，项目类奖补以项目编号认定一次性奖励对象，请补填",
        project_code=t.app.project_code,
    )


def completed(t: Trail) -> bool:
    done = t.app.completion_date
    passed = done is not None and done <= t.ctx.as_of
    if done is None:
        message = "未填写竣工日期，无法认定项目已完工，请补填"
    elif passed:
        message = f"竣工日期 {day(done)} 不晚于评审日期，项目已完工"
    else:
        message = f"竣工日期 {day(done)} 晚于评审日期，项目尚未完工，请竣工后再申报"
    return t.check("PROJECT_COMPLETED", passed, message, completion_date=done)


def completed_project(app: Application, ctx: Context, program: str) -> Trail:
    """The trail of a program for completed projects (五(1), 五(2), 六(2)): project code and completion checked."""
    t = Trail(app, ctx, program)
    project_code(t)
    completed(t)
    return t


def newly_in_production(t: Trail) -> bool:
    """新建成投产: completed, in production, production started on or after the effective date."""
    effective = t.param("general.effective_date")
    started = t.app.production_start
    ok = completed(t)
    if started is None:
        return (
            t.check(
                "PRODUCTION_STARTED",
                False,
                "未填写投产日期，无法认定新建成投产，请补填",
                production_start=None,
            )
            and ok
        )
    in_production = t.check(
        "PRODUCTION_STARTED",
        started <= t.ctx.as_of,
        f"投产日期 {day(started)} 不晚于评审日期，已投产"
        if started <= t.ctx.as_of
        else f"投产日期 {day(started)} 晚于评审日期，尚未投产，请投产后再申报",
        production_start=started,
    )
    newly = t.check(
        "PRODUCTION_BEFORE_EFFECTIVE_DATE",
        started >= effective,
        f"投产日期 {day(started)} 不早于政策实施日期 {day(effective)}，属新建成投产"
        if started >= effective
        else f"投产日期 {day(started)} 早于政策实施日期 {day(effective)}，不属于新建成投产项目",
        production_start=started,
        effective_date=effective,
    )
    return ok and in_production and newly


@dataclass(frozen=True)
class Share:
    """五(1) and 六(2): an award of `<prefix>.rate` of one investment, rounded half-up to the fen, at most
    `<prefix>.cap` per project."""

    prefix: str  # the parameter keys' prefix
    name_zh: str  # the investment, as the arithmetic step names it
    value_key: str  # its key in the condition values and the award basis
    required: str  # the code of "the investment is missing or zero"
    missing_zh: str  # what the enterprise must fill in then
    code: str  # the code of the arithmetic step


def share_award(
    t: Trail, base: Decimal | None, share: Share, cited: tuple[str, ...] = (), **basis: Any
) -> Decision:
    """The decision of a share program once its own conditions are checked: rejected when one failed or the
    investment is missing or zero, else awarded the capped share (`cited`: the program's other parameters)."""
    if not base:
        t.check(share.required, False, share.missing_zh, **{share.value_key: base})
    if t.failed or base is None:
        return t.decide(Outcome.REJECTED)
    rate = t.param(f"{share.prefix}.rate")
    cap = t.param(f"{share.prefix}.cap")
    computed = round_to_fen(base * rate)
    amount = min(computed, round_to_fen(cap))
    steps = [f"{share.name_zh} {yuan_text(base)} 元 × {rate} = {yuan_text(computed)} 元（四舍五入到分）"]
    t.check(share.code, True, steps[0], **{share.value_key: base}, rate=rate, amount_yuan=computed)
    if computed > cap:
        steps.append(f"超过最高奖补 {yuan_text(cap)} 元，按上限奖补")
        t.note(
            "CAP_APPLIED",
            f"按比例计算 {yuan_text(computed)} 元超过最高奖补 {yuan_text(cap)} 元，按上限奖补",
            computed_yuan=computed,
            cap_yuan=cap,
        )
    parameters = [*cited, f"{share.prefix}.rate", f"{share.prefix}.cap"]
    award = project_award(t, amount, steps, parameters, **basis, **{share.value_key: base})
    return t.decide(Outcome.AWARDED, [award])


def project_award(
    t: Trail, amount: Decimal, steps: list[str], parameters: Iterable[str], **basis: Any
) -> Award:
    """The one-time award of a project program, `<PROGRAM>:<project_code>`. Its basis: the project code, the
    program's own figures, the parameters it read (cited) and the steps of the arithmetic."""
    return Award(
        award_key=f"{t.program}:{t.app.project_code}",
        amount=amount,
        basis={
            "project_code": t.app.project_code,
            **basis,
            "parameters": [t.cite(key) for key in parameters],
            "steps": steps,
        },
    )
