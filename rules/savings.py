"""五(2) 节能节水技术改造 — ENERGY_SAVING and WATER_SAVING.

> 对企业年节能量 2000 吨标准煤以上（含 2000 吨标准煤）的节能技术改造项目，每节约 1 吨标准煤奖补 200 元，单个项目
> 最高奖补 500 万元；对年节水量 5 万吨节水技术改造项目，每节约 1 吨水奖补 10 元，单个项目最高奖补 500 万元；
> （责任单位：自治区工信厅、财政厅）

Verified saving (GB/T 13234-2018 product method; water by analogy, GB/T 34148):
`(E_base / M_base − E_report / M_report) × M_report`, E the metered consumption (tce or t) and M the output (t)
of each 12-month period. The award basis is the smaller of the claimed and the verified saving. Coverage below
the parameter in either period is `needs_review`, never a guess; a meter of another enterprise is a rejection.
Until the metering stage provides `Application.metered`, the claimed saving is used and the decision says so.
Award object: `<PROGRAM>:<project_code>`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from rules.context import Context
from rules.decision import Award, Decision, Outcome, to_fen, yuan
from rules.model import Application, MeteredSaving, SavingsClaim
from rules.parameters import declare
from rules.projects import completed, project_code
from rules.trail import Trail, day

CLAUSE = "五(2)"
LEAD = "工信厅"


@dataclass(frozen=True)
class Scheme:
    program: str
    prefix: str  # parameter key prefix
    unit_zh: str
    saving_zh: str


ENERGY_SAVING = Scheme("ENERGY_SAVING", "energy_saving", "吨标准煤", "年节能量")
WATER_SAVING = Scheme("WATER_SAVING", "water_saving", "吨", "年节水量")

PARAMETERS = declare(
    "energy_saving.min_annual_saving",
    "energy_saving.award_per_unit",
    "energy_saving.cap",
    "water_saving.min_annual_saving",
    "water_saving.award_per_unit",
    "water_saving.cap",
    "savings.min_metering_coverage",
)


def verified_saving(claim: SavingsClaim, metered: MeteredSaving) -> Decimal:
    """GB/T 13234-2018 product method: the unit consumption's fall, times the reporting period's output."""
    base_unit = metered.baseline.consumption / claim.baseline_output_t
    report_unit = metered.reporting.consumption / claim.reporting_output_t
    return (base_unit - report_unit) * claim.reporting_output_t


def evaluate_energy(app: Application, ctx: Context) -> Decision:
    return _evaluate(ENERGY_SAVING, app, ctx)


def evaluate_water(app: Application, ctx: Context) -> Decision:
    return _evaluate(WATER_SAVING, app, ctx)


def _evaluate(scheme: Scheme, app: Application, ctx: Context) -> Decision:
    t = Trail(app, ctx, scheme.program, CLAUSE, LEAD)
    project_code(t)
    completed(t)
    if not app.savings_claims:
        t.check("SAVINGS_CLAIM_REQUIRED", False, "未填写节能节水明细，无法核定节约量，请补充")
        return t.decide(Outcome.REJECTED)
    claim = app.savings_claims[0]
    ended = claim.reporting_end <= ctx.as_of
    t.check(
        "REPORTING_PERIOD_NOT_ENDED",
        ended,
        f"报告期 {day(claim.reporting_start)} 至 {day(claim.reporting_end)} "
        + ("已结束" if ended else f"在评审日期 {day(ctx.as_of)} 尚未结束，请报告期满后再申报"),
        reporting_end=claim.reporting_end,
        as_of=ctx.as_of,
    )
    after = app.completion_date is None or claim.reporting_start > app.completion_date
    t.check(
        "REPORTING_BEFORE_COMPLETION",
        after,
        f"报告期自 {day(claim.reporting_start)} 起，"
        + (
            "在竣工之后"
            if after
            else f"早于或等于竣工日期 {day(app.completion_date)}，报告期应在项目竣工之后"
        ),
        reporting_start=claim.reporting_start,
        completion_date=app.completion_date,
    )

    basis = claim.claimed_saving
    metered = app.metered
    if metered is None:
        t.note(
            "SAVING_UNVERIFIED",
            f"申报{scheme.saving_zh} {claim.claimed_saving} {scheme.unit_zh} 尚未经计量数据核验，暂按申报值计算",
            claimed_saving=claim.claimed_saving,
        )
    else:
        if metered.foreign_meters:
            t.check(
                "FOREIGN_METERS",
                False,
                "计量点 "
                + "、".join(metered.foreign_meters)
                + " 属于其他企业，不能计入本项目边界，请更正计量点后重新申报",
                foreign_meters=list(metered.foreign_meters),
            )
            return t.decide(Outcome.REJECTED)
        minimum_coverage = t.param("savings.min_metering_coverage")
        covered = True
        for name, period in (("基期", metered.baseline), ("报告期", metered.reporting)):
            ok = period.coverage >= minimum_coverage
            covered = covered and ok
            t.check(
                "METERING_COVERAGE_LOW",
                ok,
                f"{name}计量数据完整率 {_pct(period.coverage)}（{period.present_intervals}/{period.expected_intervals}"
                f" 个区间），" + ("达到" if ok else "低于") + f" {_pct(minimum_coverage)}",
                period=name,
                coverage=period.coverage,
                present_intervals=period.present_intervals,
                expected_intervals=period.expected_intervals,
                minimum=minimum_coverage,
            )
        if metered.unknown_meters:
            t.note(
                "METERS_WITHOUT_READINGS",
                "计量点 " + "、".join(metered.unknown_meters) + " 在计量数据中没有读数",
                unknown_meters=list(metered.unknown_meters),
            )
        if not covered:
            # A gap in the meters is for an officer to look at, never to be filled by a guess.
            return t.decide(Outcome.NEEDS_REVIEW)
        verified = verified_saving(claim, metered)
        basis = min(claim.claimed_saving, verified)
        t.check(
            "SAVING_VERIFIED",
            True,
            f"核验{scheme.saving_zh}：({_short(metered.baseline.consumption)} / {claim.baseline_output_t} − "
            f"{_short(metered.reporting.consumption)} / {claim.reporting_output_t}) × {claim.reporting_output_t} = "
            f"{_short(verified)} {scheme.unit_zh}；申报 {claim.claimed_saving} {scheme.unit_zh}，取较小值 {_short(basis)}",
            baseline_consumption=metered.baseline.consumption,
            baseline_output_t=claim.baseline_output_t,
            reporting_consumption=metered.reporting.consumption,
            reporting_output_t=claim.reporting_output_t,
            verified_saving=verified,
            claimed_saving=claim.claimed_saving,
            basis=basis,
        )

    minimum = t.param(f"{scheme.prefix}.min_annual_saving")
    enough = basis >= minimum
    t.check(
        "SAVING_BELOW_MINIMUM",
        enough,
        f"{scheme.saving_zh} {_short(basis)} {scheme.unit_zh}，"
        + ("达到" if enough else "未达到")
        + f" {minimum} {scheme.unit_zh}以上（含本数）",
        saving=basis,
        minimum=minimum,
    )
    if t.failed:
        return t.decide(Outcome.REJECTED)

    per_unit = t.param(f"{scheme.prefix}.award_per_unit")
    cap = t.param(f"{scheme.prefix}.cap")
    computed = to_fen(basis * per_unit)
    amount = min(computed, to_fen(cap))
    steps = [f"{_short(basis)} {scheme.unit_zh} × {per_unit} 元 = {yuan(computed)} 元（四舍五入到分）"]
    if computed > cap:
        steps.append(f"超过单个项目最高奖补 {yuan(cap)} 元，按上限奖补")
        t.note("CAP_APPLIED", steps[-1], computed_yuan=computed, cap_yuan=cap)
    award = Award(
        award_key=f"{scheme.program}:{app.project_code}",
        amount=amount,
        basis={
            "project_code": app.project_code,
            "claimed_saving": claim.claimed_saving,
            "verified": metered is not None,
            "saving": basis,
            "parameters": [
                t.cite(f"{scheme.prefix}.min_annual_saving"),
                t.cite(f"{scheme.prefix}.award_per_unit"),
                t.cite(f"{scheme.prefix}.cap"),
            ],
            "steps": steps,
        },
    )
    return t.decide(Outcome.AWARDED, [award])


def _pct(ratio: Decimal) -> str:
    return f"{(ratio * 100).quantize(Decimal('0.01'))}%"


def _short(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.001')).normalize():f}"
