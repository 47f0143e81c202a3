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
from fractions import Fraction

from rules import energy
from rules.context import Context
from rules.decision import Decision, Outcome
from rules.model import Application, MeteredSaving, MeterFigures, PeriodMeasure, SavingsClaim
from rules.money import round_to_fen, yuan_text
from rules.parameters import declare
from rules.projects import completed_project, project_award
from rules.trail import Trail, day


@dataclass(frozen=True)
class Scheme:
    program: str
    prefix: str  # parameter key prefix
    unit_zh: str
    saving_zh: str

    def evaluate(self, app: Application, ctx: Context) -> Decision:
        """The rule of this scheme's program (`rules.engine.RULES`)."""
        return _evaluate(self, app, ctx)


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


# --- the boundary: which meters count, and how their coverage is judged (docs/policy.md, docs/inputs.md §2) ---------


def counts_toward(program: str, medium: str) -> bool:
    """ENERGY_SAVING counts the energy carriers of GB/T 2589 (`rules.energy`: renewable electricity is a part of
    electricity, water no energy at all); WATER_SAVING counts water intake. A meter of another medium inside the
    boundary is simply not part of E: a note, never a gap."""
    return energy.is_energy(medium) if program == "ENERGY_SAVING" else medium == "water"


def coverage(present: int, expected: int) -> Fraction:
    """A meter's coverage over a period, exactly: intervals with a reading over those its own usual step expects."""
    return Fraction(min(present, expected), expected) if expected > 0 else Fraction(0)


def counted(program: str, metered: MeteredSaving, period: str) -> list[MeterFigures]:
    return [m for m in metered.meters if m.period == period and counts_toward(program, m.medium)]


def other_media(program: str, metered: MeteredSaving) -> list[MeterFigures]:
    return [m for m in metered.meters if m.period == "baseline" and not counts_toward(program, m.medium)]


def period_measure(program: str, meters: list[MeterFigures]) -> PeriodMeasure:
    """The boundary over one period: E over the meters that count (tce, or m3 = t of water), and as coverage the
    lowest of their own coverages (six places, never rounded up): one dead meter is never hidden by a busy one."""
    total = sum(
        ((m.converted or Decimal(0)) if program == "ENERGY_SAVING" else m.quantity for m in meters),
        Decimal(0),
    )
    lowest = min((coverage(m.present, m.expected) for m in meters), default=Fraction(0))
    shown = Decimal(lowest.numerator * 10**6 // lowest.denominator).scaleb(-6)
    return PeriodMeasure(
        consumption=total,
        coverage=shown,
        expected_intervals=sum(m.expected for m in meters),
        present_intervals=sum(m.present for m in meters),
    )


@dataclass(frozen=True)
class Gap:
    """A meter (or, without per-meter figures, the boundary) whose coverage in a period is below the minimum."""

    meter_id: str | None
    medium: str | None
    period: str
    present: int
    expected: int

    @property
    def ratio(self) -> Fraction:
        return coverage(self.present, self.expected)


def coverage_gaps(program: str, metered: MeteredSaving, minimum: Decimal) -> tuple[list[Gap], list[Gap]]:
    """Each counted meter in each period, judged on its own step (`savings.min_metering_coverage`): the ones at
    or above the minimum, and the gaps. A MeteredSaving without per-meter figures is judged on its totals."""
    judged: list[Gap] = []
    for period, measure in (("baseline", metered.baseline), ("reporting", metered.reporting)):
        meters = counted(program, metered, period)
        if metered.meters:
            judged += [Gap(m.meter_id, m.medium, period, m.present, m.expected) for m in meters]
        else:
            judged.append(Gap(None, None, period, measure.present_intervals, measure.expected_intervals))
    floor = Fraction(minimum)
    return [g for g in judged if g.ratio >= floor], [g for g in judged if g.ratio < floor]


def verified_saving(claim: SavingsClaim, metered: MeteredSaving) -> Fraction:
    """GB/T 13234-2018 product method, `(E_base / M_base − E_rep / M_rep) × M_rep`, computed exactly: a saving of
    exactly 2,000 tce reached through non-terminating quotients is 2,000, not 1,999.999…"""
    assert claim.baseline_output_t is not None and claim.reporting_output_t is not None
    base_unit = Fraction(metered.baseline.consumption) / Fraction(claim.baseline_output_t)
    report_unit = Fraction(metered.reporting.consumption) / Fraction(claim.reporting_output_t)
    return (base_unit - report_unit) * Fraction(claim.reporting_output_t)


def fen_half_up(amount: Fraction) -> Decimal:
    """An exact non-negative yuan amount rounded half-up (四舍五入) to the fen, once."""
    fen = (amount * 100 + Fraction(1, 2)).__floor__()
    return Decimal(fen).scaleb(-2)


def _evaluate(scheme: Scheme, app: Application, ctx: Context) -> Decision:
    t = completed_project(app, ctx, scheme.program)
    if not app.savings_claims:
        t.check("SAVINGS_CLAIM_REQUIRED", False, "未填写节能节水明细，无法核定节约量，请补充")
        return t.decide(Outcome.REJECTED)
    claim = app.savings_claims[0]
    ended = claim.reporting_end <= ctx.as_of
    t.check(
        "REPORTING_PERIOD_NOT_ENDED",
        ended,
        f"报告期 {day(claim.reporting_start)} 至 {day(claim.reporting_end)} "
        + ("已结束" if ended else "截至评审日期尚未结束，请报告期满后再申报"),
        reporting_end=claim.reporting_end,
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

    metered = app.metered
    if metered is not None and metered.foreign_meters:
        t.check(
            "FOREIGN_METERS",
            False,
            "计量点 "
            + "、".join(metered.foreign_meters)
            + " 属于其他企业，不能计入本项目边界，请更正计量点后重新申报",
            foreign_meters=list(metered.foreign_meters),
        )
    if t.failed:
        # What no metering can cure rejects, whatever the coverage.
        return t.decide(Outcome.REJECTED)

    basis: Fraction = Fraction(claim.claimed_saving)
    if claim.baseline_output_t is None or claim.reporting_output_t is None:
        missing = [
            n
            for n, v in (("基期产量", claim.baseline_output_t), ("报告期产量", claim.reporting_output_t))
            if v is None
        ]
        t.check(
            "OUTPUT_MISSING",
            False,
            f"未填写{'、'.join(missing)}（吨），无法按产品单耗法核定{scheme.saving_zh}：转人工审核，请补充产量后重新申报",
            missing=missing,
        )
        return t.decide(Outcome.NEEDS_REVIEW)
    if metered is None:
        t.note(
            "SAVING_UNVERIFIED",
            f"申报{scheme.saving_zh} {claim.claimed_saving} {scheme.unit_zh} 尚未经计量数据核验，暂按申报值计算",
            claimed_saving=claim.claimed_saving,
        )
    else:
        if not _boundary_verified(scheme, t, claim, metered):
            # A gap in the meters is for an officer to look at, never to be filled by a guess.
            return t.decide(Outcome.NEEDS_REVIEW)
        verified = verified_saving(claim, metered)
        basis = min(basis, verified)
        t.check(
            "SAVING_VERIFIED",
            True,
            f"核验{scheme.saving_zh}：({_short(metered.baseline.consumption)} / {claim.baseline_output_t} − "
            f"{_short(metered.reporting.consumption)} / {claim.reporting_output_t}) × {claim.reporting_output_t} = "
            f"{_short(verified)} {scheme.unit_zh}（精确计算）；申报 {claim.claimed_saving} {scheme.unit_zh}，"
            f"取较小值 {_short(basis)}",
            baseline_consumption=metered.baseline.consumption,
            baseline_output_t=claim.baseline_output_t,
            reporting_consumption=metered.reporting.consumption,
            reporting_output_t=claim.reporting_output_t,
            verified_saving=_exact(verified),
            claimed_saving=claim.claimed_saving,
            basis=_exact(basis),
        )

    minimum = t.param(f"{scheme.prefix}.min_annual_saving")
    t.reached(
        "SAVING_BELOW_MINIMUM",
        basis >= Fraction(minimum),
        f"{scheme.saving_zh} {_short(basis)} {scheme.unit_zh}",
        f" {minimum} {scheme.unit_zh}以上（含本数）",
        saving=_exact(basis),
        minimum=minimum,
    )
    if t.failed:
        return t.decide(Outcome.REJECTED)

    per_unit = t.param(f"{scheme.prefix}.award_per_unit")
    cap = t.param(f"{scheme.prefix}.cap")
    computed = fen_half_up(basis * Fraction(per_unit))
    amount = min(computed, round_to_fen(cap))
    steps = [f"{_short(basis)} {scheme.unit_zh} × {per_unit} 元 = {yuan_text(computed)} 元（四舍五入到分）"]
    if computed > cap:
        steps.append(f"超过单个项目最高奖补 {yuan_text(cap)} 元，按上限奖补")
        t.note("CAP_APPLIED", steps[-1], computed_yuan=computed, cap_yuan=cap)
    award = project_award(
        t,
        amount,
        steps,
        [f"{scheme.prefix}.min_annual_saving", f"{scheme.prefix}.award_per_unit", f"{scheme.prefix}.cap"],
        claimed_saving=claim.claimed_saving,
        verified=metered is not None,
        saving=_exact(basis),
    )
    return t.decide(Outcome.AWARDED, [award])


PERIOD_ZH = {"baseline": "基期", "reporting": "报告期"}


def _boundary_verified(scheme: Scheme, t: Trail, claim: SavingsClaim, metered: MeteredSaving) -> bool:
    """Per meter and period: what was measured, what was missing and why. False: the claim needs review."""
    minimum = t.param("savings.min_metering_coverage")
    ok, gaps = coverage_gaps(scheme.program, metered, minimum)
    spans = {"baseline": (claim.baseline_start, claim.baseline_end),
             "reporting": (claim.reporting_start, claim.reporting_end)}  # fmt: skip
    figures = {(m.meter_id, m.period): m for m in metered.meters}
    for gap, passed in sorted(
        [(g, True) for g in ok] + [(g, False) for g in gaps], key=lambda x: (x[0].meter_id or "", x[0].period)
    ):
        first, last = spans[gap.period]
        who = f"计量点 {gap.meter_id}（{_medium_zh(gap.medium)}）" if gap.meter_id else "边界内计量点合计"
        m = figures.get((gap.meter_id, gap.period)) if gap.meter_id else None
        measured = (
            f"，计量 {_short(m.quantity)} {m.unit}"
            + (f"（{_short(m.converted)} 吨标准煤）" if m.converted is not None else "")
            + (f"，{m.conflicts} 个区间重发读数不一致按缺测计" if m.conflicts else "")
            if m
            else ""
        )
        step = (
            f"按其常用间隔{_step_zh(m.step_seconds)}"
            if m and m.step_seconds
            else "按每日一个读数（间隔未知）"
        )
        t.check(
            "METERING_COVERAGE_LOW",
            passed,
            f"{who}{PERIOD_ZH[gap.period]} {day(first)} 至 {day(last)}：{step}应有 {gap.expected} 个读数，"
            f"实有 {gap.present} 个，缺 {max(gap.expected - gap.present, 0)} 个，完整率 {_pct(gap.ratio)}"
            + ("，达到" if passed else "，低于")
            + f" {_pct(Fraction(minimum))}{measured}"
            + ("" if passed else "；补传缺测数据后下一次运行自动重新核定，在此之前转人工审核"),
            meter_id=gap.meter_id,
            period=PERIOD_ZH[gap.period],
            coverage=_exact(gap.ratio),
            present_intervals=gap.present,
            expected_intervals=gap.expected,
            minimum=minimum,
        )
    for m in other_media(scheme.program, metered):
        t.note(
            "METER_OTHER_MEDIUM",
            f"计量点 {m.meter_id} 计量的是{_medium_zh(m.medium)}，不属于{scheme.saving_zh}的计量范围，不计入核定（不算缺测）",
            meter_id=m.meter_id,
            medium=m.medium,
        )
    for meter in metered.unknown_meters:
        t.check(
            "METERS_WITHOUT_READINGS",
            False,
            f"申报的计量点 {meter} 在基期 {day(claim.baseline_start)} 至 {day(claim.baseline_end)}、报告期 "
            f"{day(claim.reporting_start)} 至 {day(claim.reporting_end)} 都没有任何读数：请补传该计量点的在线监测数据"
            "或核对计量点编号，在此之前转人工审核",
            meter_id=meter,
        )
    none_counted = metered.meters and not any(counted(scheme.program, metered, p) for p in spans)
    if none_counted:
        t.check(
            "BOUNDARY_WITHOUT_MEDIUM",
            False,
            f"申报的计量点中没有计量{'能源' if scheme.program == 'ENERGY_SAVING' else '取水'}的计量点，无法核定{scheme.saving_zh}",
        )
    return not gaps and not metered.unknown_meters and not none_counted


_MEDIA_ZH = {"electricity": "电", "renewable_electricity": "可再生电力", "raw_coal": "原煤", "coke": "焦炭",
             "natural_gas": "天然气", "diesel": "柴油", "gasoline": "汽油", "fuel_oil": "燃料油", "heat": "热力",
             "water": "水"}  # fmt: skip


def _step_zh(seconds: int) -> str:
    for unit, zh in ((86400, "天"), (3600, "小时"), (60, "分钟")):
        if seconds % unit == 0:
            return f"每 {seconds // unit} {zh}一个读数"
    return f"每 {seconds} 秒一个读数"


def _medium_zh(medium: str | None) -> str:
    return _MEDIA_ZH.get(medium or "", medium or "—")


def _exact(value: Fraction) -> Decimal | str:
    """A Fraction for the trail: its exact decimal when it has one, else 'p/q'."""
    d = value.denominator
    while d % 2 == 0:
        d //= 2
    while d % 5 == 0:
        d //= 5
    if d == 1:
        return (Decimal(value.numerator) / Decimal(value.denominator)).normalize()
    return f"{value.numerator}/{value.denominator}"


def _pct(ratio: Decimal | Fraction) -> str:
    # Exactly, in integers: Fraction arithmetic is slow, and this runs for every meter of every claim.
    n, d = ratio.as_integer_ratio()
    hundredths = n * 10000 // d  # never rounded up: 94.999% shows as 94.99%
    return f"{Decimal(hundredths).scaleb(-2)}%"


def _short(value: Decimal | Fraction) -> str:
    """For messages only: three places, half-up."""
    n, d = value.as_integer_ratio()
    thousandths = (2000 * n + d) // (2 * d)  # floor(n / d * 1000 + 1/2), exactly, in integers
    return f"{Decimal(thousandths).scaleb(-3).normalize():f}"
