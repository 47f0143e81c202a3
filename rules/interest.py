"""Interest subsidies on construction-period loans: 一(1) FLYASH_ALUMINA_INTEREST, 三(1) DEEP_PROCESSING_INTEREST,
四(1) RECYCLED_PROCESSING_INTEREST.

一(1) FLYASH_ALUMINA_INTEREST:
> 对新建成投产的高铝粉煤灰提取氧化铝或铝硅氧化物项目，按建设期贷款利率 2 个百分点给予一次性贴息奖补，最高奖补
> 500 万元。（责任单位：自治区工信厅、发展改革委、商务厅、财政厅）

三(1) DEEP_PROCESSING_INTEREST:
> 对新建成投产的铝高端延伸加工（产品价值为电解铝的 1.5 倍以上）项目，按建设期贷款利率 2 个百分点给予一次性贴息
> 奖补，最高奖补 1000 万元。（责任单位：自治区工信厅、发展改革委、财政厅）

四(1) RECYCLED_PROCESSING_INTEREST:
> 对新建成投产的再生铝高端延伸加工（产品价值为再生铝的 1.5 倍以上）项目，按建设期贷款利率 2 个百分点给予一次性
> 贴息奖补，最高奖补 1000 万元。（责任单位：自治区工信厅、财政厅、税务局）

Arithmetic (docs/policy.md): per loan `principal × points/100 × days / day_basis`, `days` the days the loan accrued
interest inside the construction period (start and completion both included; from drawdown up to the day before
repayment, 算头不算尾); each loan limited to the interest actually paid on it in the period; the loans summed,
rounded half-up to the fen, then capped per project. Award object: `<PROGRAM>:<project_code>`.

Exactness: `/ day_basis` rarely terminates (1/360 of a yuan is 0.00277…), so each loan's subsidy is an exact
`Fraction` and the loans are summed as fractions; the only rounding is the one of the total. A decimal quotient
per loan, truncated at 28 digits, makes a total that is exactly n.xx5 come out as n.xx4999… and lose the fen.
The product value ratio is decided as `price >= minimum × reference` (no division); the quotient is only shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from rules.context import Context
from rules.decision import Decision, Outcome
from rules.model import Application, Loan
from rules.money import exact_text, round_to_fen, yuan_text
from rules.parameters import declare
from rules.projects import newly_in_production, project_award, project_code
from rules.trail import Trail, day


@dataclass(frozen=True)
class Scheme:
    program: str
    cap_key: str
    ratio_key: str | None  # the product value ratio 三/四 require; 一 has none
    reference_zh: str = ""

    def evaluate(self, app: Application, ctx: Context) -> Decision:
        """The rule of this scheme's program (`rules.engine.RULES`)."""
        return _evaluate(self, app, ctx)


FLYASH_ALUMINA_INTEREST = Scheme("FLYASH_ALUMINA_INTEREST", "flyash_alumina_interest.cap", None)
DEEP_PROCESSING_INTEREST = Scheme(
    "DEEP_PROCESSING_INTEREST",
    "deep_processing_interest.cap",
    "deep_processing_interest.min_value_ratio",
    "电解铝",
)
RECYCLED_PROCESSING_INTEREST = Scheme(
    "RECYCLED_PROCESSING_INTEREST",
    "recycled_processing_interest.cap",
    "recycled_processing_interest.min_value_ratio",
    "再生铝",
)

PARAMETERS = declare(
    "interest.subsidy_points",
    "interest.day_basis",
    "interest.limit_to_interest_paid",
    "flyash_alumina_interest.cap",
    "deep_processing_interest.cap",
    "deep_processing_interest.min_value_ratio",
    "recycled_processing_interest.cap",
    "recycled_processing_interest.min_value_ratio",
)


def accrual_days(loan: Loan, construction_start: date, completion: date) -> int:
    """Days the loan accrued interest inside the construction period: 算头不算尾, both period ends included."""
    first = max(loan.drawdown_date, construction_start)
    last = completion
    if loan.repaid_date is not None:
        last = min(last, loan.repaid_date - timedelta(days=1))
    return max(0, (last - first).days + 1)


def loan_subsidy(
    loan: Loan, days: int, points: Decimal, day_basis: Decimal, limit_to_paid: bool
) -> tuple[Fraction, Fraction]:
    """(computed at the subsidy points, after the limit to interest actually paid): exact, not yet rounded."""
    computed = Fraction(loan.principal) * Fraction(points) * days / (100 * Fraction(day_basis))
    paid = Fraction(loan.interest_paid)
    return computed, min(computed, paid) if limit_to_paid else computed


def _evaluate(scheme: Scheme, app: Application, ctx: Context) -> Decision:
    t = Trail(app, ctx, scheme.program)
    project_code(t)
    newly_in_production(t)
    if scheme.ratio_key is not None:
        _value_ratio(t, scheme)
    start, end = app.construction_start, app.completion_date
    if start is None or end is None:
        t.check(
            "CONSTRUCTION_PERIOD_REQUIRED",
            False,
            "未填写开工日期或竣工日期，无法确定建设期，请补填",
            construction_start=start,
            completion_date=end,
        )
        return t.decide(Outcome.REJECTED)
    if not app.loans:
        t.check("INT_LOANS_REQUIRED", False, "未填写建设期贷款明细（贷款表），无法计算贴息，请补充")
        return t.decide(Outcome.REJECTED)

    points = t.param("interest.subsidy_points")
    basis_days = t.param("interest.day_basis")
    limit = bool(t.param("interest.limit_to_interest_paid"))
    steps: list[str] = []
    loans: list[dict[str, object]] = []
    total = Fraction(0)
    for loan in app.loans:
        days = accrual_days(loan, start, end)
        computed, subsidy = loan_subsidy(loan, days, points, basis_days, limit)
        values = {
            "loan_contract_no": loan.contract_no,
            "principal_yuan": loan.principal,
            "drawdown_date": loan.drawdown_date,
            "repaid_date": loan.repaid_date,
            "construction_start": start,
            "completion_date": end,
            "accrual_days": days,
            "computed_yuan": computed,
            "interest_paid_yuan": loan.interest_paid,
            "subsidy_yuan": subsidy,
        }
        loans.append(values)
        if days == 0:
            t.check(
                "INT_LOAN_OUTSIDE_CONSTRUCTION",
                False,
                f"贷款 {loan.contract_no}（放款 {day(loan.drawdown_date)}，还款 {day(loan.repaid_date)}）"
                f"在建设期 {day(start)} 至 {day(end)} 内无计息天数，不予贴息",
                **values,
            )
            continue
        line = (
            f"贷款 {loan.contract_no}：{yuan_text(loan.principal)} 元 × {points}% × {days} 天 / {basis_days}"
            f" = {exact_text(computed)} 元（精确值，合计后四舍五入）"
        )
        if subsidy < computed:
            line += f"，超过建设期实付利息 {yuan_text(loan.interest_paid)} 元，按实付利息计"
        t.check("INT_LOAN_ACCRUAL", True, line, **values)
        steps.append(line)
        total += subsidy

    cap = t.param(scheme.cap_key)
    rounded = round_to_fen(total)
    amount = min(rounded, round_to_fen(cap))
    steps.append(f"合计 {exact_text(total)} 元，四舍五入到分 {yuan_text(rounded)} 元")
    if rounded > cap:
        t.note(
            "CAP_APPLIED",
            f"贴息合计 {yuan_text(rounded)} 元超过最高奖补 {yuan_text(cap)} 元，按上限奖补",
            total_yuan=rounded,
            cap_yuan=cap,
        )
        steps.append(f"最高奖补 {yuan_text(cap)} 元，按上限")
    if amount <= 0:
        t.check("INT_NOTHING_TO_SUBSIDISE", False, "建设期内无可贴息的贷款利息，不予贴息", total_yuan=rounded)
    # A loan outside the construction period only loses its own subsidy; any other failure loses the award.
    blocking = [c for c in t.conditions if c.passed is False and c.code != "INT_LOAN_OUTSIDE_CONSTRUCTION"]
    if blocking:
        return t.decide(Outcome.REJECTED)
    parameters = [
        "interest.subsidy_points",
        "interest.day_basis",
        "interest.limit_to_interest_paid",
        scheme.cap_key,
    ]
    return t.decide(Outcome.AWARDED, [project_award(t, amount, steps, parameters, loans=loans)])


def _value_ratio(t: Trail, scheme: Scheme) -> bool:
    assert scheme.ratio_key is not None
    minimum = t.param(scheme.ratio_key)
    price, reference = t.app.product_price_yuan_per_t, t.app.reference_price_yuan_per_t
    if price is None or reference is None:
        return t.check(
            "VALUE_RATIO_BELOW_MINIMUM",
            False,
            f"未填写产品单价或参照{scheme.reference_zh}价格，无法认定产品价值为{scheme.reference_zh}的 {minimum} 倍以上，请补填",
            product_price_yuan_per_t=price,
            reference_price_yuan_per_t=reference,
        )
    shown = (price / reference).quantize(Decimal("0.0001"))  # shown only: the comparison below is exact
    passed = price >= minimum * reference
    return t.check(
        "VALUE_RATIO_BELOW_MINIMUM",
        passed,
        f"产品单价 {yuan_text(price)} 元/吨 ÷ 参照{scheme.reference_zh}价格 {yuan_text(reference)} 元/吨 ≈ {shown} 倍，"
        + (f"达到 {minimum} 倍以上" if passed else f"未达到 {minimum} 倍以上"),
        product_price_yuan_per_t=price,
        reference_price_yuan_per_t=reference,
        ratio=shown,
        minimum=minimum,
    )
