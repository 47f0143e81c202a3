"""一(1)、三(1)、四(1) 建设期贷款贴息：按 2 个百分点、360 天、算头不算尾，每笔不超过实付利息，合计后封顶。"""

from datetime import date
from decimal import Decimal

import pytest

from rules.decision import Outcome
from rules.interest import accrual_days
from tests.rules.builders import EFFECTIVE, application, codes, loan, one, setting

D = Decimal
START, END = date(2025, 1, 1), date(2025, 12, 26)  # 360 days, both ends included


def project(program: str = "FLYASH_ALUMINA_INTEREST", **kw):
    fields = dict(
        project_code="XM-1",
        construction_start=START,
        completion_date=END,
        production_start=date(2026, 1, 15),
        loans=(loan("25000", START, None, "2000"),),
    )
    if program != "FLYASH_ALUMINA_INTEREST":
        fields |= dict(product_price_yuan_per_t=D("30000"), reference_price_yuan_per_t=D("20000"))
    return application(program, **(fields | kw))


@pytest.mark.parametrize(
    ("drawdown", "repaid", "days"),
    [
        pytest.param(date(2024, 9, 15), None, 360, id="放款早于开工的贷款从开工日起计息"),
        pytest.param(
            date(2025, 3, 1),
            date(2025, 3, 6),
            5,
            id="建设期内还清的贷款算头不算尾：3月1日放款3月6日还款计5天",
        ),
        pytest.param(date(2025, 12, 20), None, 7, id="未还清的贷款计息到竣工日（含竣工日）"),
        pytest.param(date(2025, 12, 20), date(2026, 3, 1), 7, id="竣工后才还款的贷款只计建设期内天数"),
        pytest.param(date(2026, 1, 5), None, 0, id="竣工后放款的贷款在建设期内不计息"),
        pytest.param(date(2024, 6, 1), date(2025, 1, 1), 0, id="开工当日还款的贷款在建设期内不计息"),
        pytest.param(date(2024, 6, 1), date(2025, 1, 2), 1, id="开工次日还款的贷款计开工当日1天"),
    ],
)
def test_accrual_days_inside_the_construction_period(drawdown, repaid, days):
    assert accrual_days(loan("1000", drawdown, repaid, "10"), START, END) == days


@pytest.mark.parametrize(
    ("loans", "amount"),
    [
        pytest.param(
            (loan("10000", START, None, "1000"),),
            D("2000000.00"),
            id="1亿元贷款全建设期360天按2个百分点贴息200万元",
        ),
        pytest.param(
            (loan("5000", date(2025, 1, 20), date(2025, 7, 20), "37.5", rate="1.50"),),
            D("375000.00"),
            id="利率低于2个百分点的贷款以建设期实付利息37.5万元为限",
        ),
        pytest.param(
            (loan("360.0018", date(2025, 3, 1), date(2025, 3, 6), "1"),),
            D("1000.01"),
            id="贴息1000.005元四舍五入为1000.01元而非银行家舍入的1000.00元",
        ),
        pytest.param(
            (loan("25000", START, None, "2000"),),
            D("5000000.00"),
            id="贴息恰好等于最高奖补500万元时全额奖补",
        ),
        pytest.param(
            (loan("25000.01", START, None, "2000"),),
            D("5000000.00"),
            id="贴息500.0002万元超过最高奖补500万元时按上限奖补",
        ),
        pytest.param(
            (loan("10000", START, None, "1000"), loan("20000", date(2025, 7, 1), None, "1000")),
            D("3988888.89"),  # 2,000,000 + 200,000,000 × 2% × 179 / 360, rounded once after summing
            id="多笔贷款分别计算后合计再四舍五入",
        ),
    ],
)
def test_the_fly_ash_alumina_subsidy_is_two_points_of_each_loan_capped_at_five_million(loans, amount):
    decision = one(project(loans=loans))
    assert decision.outcome == Outcome.AWARDED
    assert decision.amount == amount
    (award,) = decision.awards
    assert award.award_key == "FLYASH_ALUMINA_INTEREST:XM-1"


def test_three_loans_whose_exact_subsidies_add_up_to_half_a_fen_round_up_once_not_lose_the_fen():
    # 29,636,270 × 2% × 91/360 + 18,212,822 × 2% × 30/360 + 20,000,020 × 2% × 91/360 = 281,293.725 exactly;
    # each quotient is non-terminating (…8094444…, …70333…, …2122222…): summed as 28-digit decimals they make
    # 281,293.7249999…, which rounds to …72.
    loans = (
        loan("2963.6270", START, date(2025, 4, 2), "100"),  # 91 days
        loan("1821.2822", START, date(2025, 1, 31), "100"),  # 30 days
        loan("2000.0020", START, date(2025, 4, 2), "100"),  # 91 days
    )
    decision = one(project(loans=loans))
    assert [line["accrual_days"] for line in decision.awards[0].basis["loans"]] == [91, 30, 91]
    assert decision.amount == D("281293.73")


@pytest.mark.parametrize("program", ["DEEP_PROCESSING_INTEREST", "RECYCLED_PROCESSING_INTEREST"])
def test_a_product_a_hair_below_one_and_a_half_times_aluminium_is_not_rounded_up_into_the_subsidy(program):
    # 29,999,999,999,999,999,999,999,999.99 / 20,000,000,000,000,000,000,000,000 is 1.4999…9995 (27 nines):
    # a 28-digit quotient rounds it to 1.5.
    reference = D("20000000000000000000000000")
    price = reference * D("1.5") - D("0.01")
    decision = one(project(program, product_price_yuan_per_t=price, reference_price_yuan_per_t=reference))
    assert decision.outcome == Outcome.REJECTED
    assert "VALUE_RATIO_BELOW_MINIMUM" in codes(decision)


def test_a_capped_subsidy_says_the_cap_was_applied_and_one_exactly_at_the_cap_does_not():
    assert "CAP_APPLIED" in codes(one(project(loans=(loan("25000.01", START, None, "2000"),))), None)
    assert "CAP_APPLIED" not in codes(one(project(loans=(loan("25000", START, None, "2000"),))), None)


@pytest.mark.parametrize(
    ("program", "cap"),
    [
        pytest.param("DEEP_PROCESSING_INTEREST", D("10000000.00"), id="铝高端延伸加工项目贴息最高1000万元"),
        pytest.param(
            "RECYCLED_PROCESSING_INTEREST", D("10000000.00"), id="再生铝高端延伸加工项目贴息最高1000万元"
        ),
    ],
)
def test_processing_subsidies_are_capped_at_ten_million(program, cap):
    big = (loan("100000", START, None, "8000"),)  # 2 points over 360 days: 20,000,000
    assert one(project(program, loans=big)).amount == cap
    exact = (loan("50000", START, None, "8000"),)  # exactly 10,000,000
    assert one(project(program, loans=exact)).amount == cap


@pytest.mark.parametrize("program", ["DEEP_PROCESSING_INTEREST", "RECYCLED_PROCESSING_INTEREST"])
@pytest.mark.parametrize(
    ("price", "outcome"),
    [
        pytest.param(D("28500"), Outcome.AWARDED, id="产品价值恰好为参照铝价的1.5倍获得贴息"),
        pytest.param(D("28499.99"), Outcome.REJECTED, id="产品价值略低于1.5倍不予贴息"),
    ],
)
def test_a_processing_project_needs_a_product_worth_one_and_a_half_times_aluminium(program, price, outcome):
    decision = one(project(program, product_price_yuan_per_t=price, reference_price_yuan_per_t=D("19000")))
    assert decision.outcome == outcome
    assert ("VALUE_RATIO_BELOW_MINIMUM" in codes(decision)) == (outcome == Outcome.REJECTED)


def test_a_processing_project_without_prices_is_rejected_and_told_to_fill_them_in():
    decision = one(project("DEEP_PROCESSING_INTEREST", product_price_yuan_per_t=None))
    assert decision.outcome == Outcome.REJECTED
    assert "请补填" in next(c.message for c in decision.conditions if c.code == "VALUE_RATIO_BELOW_MINIMUM")


@pytest.mark.parametrize(
    ("production_start", "outcome"),
    [
        pytest.param(date(2024, 10, 29), Outcome.REJECTED, id="政策实施前一日投产的项目不属新建成投产"),
        pytest.param(EFFECTIVE, Outcome.AWARDED, id="政策实施当日投产的项目属新建成投产"),
        pytest.param(date(2026, 11, 25), Outcome.REJECTED, id="评审日期后才投产的项目尚未投产"),
        pytest.param(None, Outcome.REJECTED, id="未填投产日期的项目不予贴息"),
    ],
)
def test_only_projects_newly_in_production_get_the_subsidy(production_start, outcome):
    decision = one(project(construction_start=date(2024, 1, 1), production_start=production_start))
    assert decision.outcome == outcome


@pytest.mark.parametrize(
    ("completion", "outcome"),
    [
        pytest.param(date(2026, 11, 24), Outcome.AWARDED, id="评审当日竣工的项目已完工"),
        pytest.param(date(2026, 11, 25), Outcome.REJECTED, id="评审次日竣工的项目尚未完工"),
    ],
)
def test_the_project_must_be_completed_by_the_evaluation_date(completion, outcome):
    decision = one(project(completion_date=completion, production_start=date(2026, 11, 24)))
    assert decision.outcome == outcome
    assert ("PROJECT_COMPLETED" in codes(decision)) == (outcome == Outcome.REJECTED)


def test_a_loan_outside_the_construction_period_earns_nothing_but_the_others_still_count():
    loans = (loan("10000", START, None, "1000"), loan("10000", date(2026, 1, 5), None, "100"))
    decision = one(project(loans=loans))
    assert decision.outcome == Outcome.AWARDED and decision.amount == D("2000000.00")
    assert "INT_LOAN_OUTSIDE_CONSTRUCTION" in codes(decision)


def test_a_project_whose_only_loan_lies_outside_construction_is_rejected():
    decision = one(project(loans=(loan("10000", date(2026, 1, 5), None, "100"),)))
    assert decision.outcome == Outcome.REJECTED
    assert "INT_NOTHING_TO_SUBSIDISE" in codes(decision)


def test_a_project_without_a_project_code_is_rejected():
    decision = one(project(project_code=None))
    assert decision.outcome == Outcome.REJECTED and "PROJECT_CODE_REQUIRED" in codes(decision)


def test_switching_off_the_limit_to_interest_paid_pays_the_full_two_points():
    cheap = (loan("5000", date(2025, 1, 20), date(2025, 7, 20), "37.5", rate="1.50"),)
    decision = one(project(loans=cheap), parameters=setting("interest.limit_to_interest_paid", False))
    assert decision.amount == D("502777.78")  # 50,000,000 × 2% × 181 / 360


def test_the_award_basis_lists_each_loan_and_cites_every_parameter_with_its_source():
    (award,) = one(project()).awards
    (line,) = award.basis["loans"]
    assert line["accrual_days"] == 360 and line["subsidy_yuan"] == D("5000000")
    keys = {p["key"]: p for p in award.basis["parameters"]}
    assert set(keys) == {
        "interest.subsidy_points",
        "interest.day_basis",
        "interest.limit_to_interest_paid",
        "flyash_alumina_interest.cap",
    }
    assert keys["flyash_alumina_interest.cap"]["source"].startswith("policy 一(1)")
    assert keys["interest.day_basis"]["source"].startswith("assumption:")
