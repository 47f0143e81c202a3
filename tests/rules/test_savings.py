"""五(2) 节能（≥2000 吨标准煤，200 元/吨）与节水（≥5 万吨，10 元/吨）改造奖补，单个项目最高 500 万元。"""

from datetime import date
from decimal import Decimal

import pytest

from rules.decision import Outcome
from rules.model import MeteredSaving, PeriodMeasure, SavingsClaim
from rules.savings import verified_saving
from tests.rules.builders import application, codes, one

D = Decimal


def claim(saving: str, base_output: str = "100000", report_output: str = "100000") -> SavingsClaim:
    return SavingsClaim(
        D(saving),
        date(2024, 1, 1),
        date(2024, 12, 31),
        date(2025, 1, 1),
        date(2025, 12, 31),
        ("M-1",),
        D(base_output),
        D(report_output),
    )


def period(consumption: str, coverage: str = "0.99") -> PeriodMeasure:
    return PeriodMeasure(D(consumption), D(coverage), 35040, int(D(coverage) * 35040))


def metered(
    base: str, report: str, base_cov: str = "0.99", report_cov: str = "0.99", foreign=()
) -> MeteredSaving:
    return MeteredSaving(("M-1",), period(base, base_cov), period(report, report_cov), tuple(foreign))


def retrofit(program: str, saving: str, meters: MeteredSaving | None = None, **kw):
    fields = dict(
        project_code="XM-S",
        completion_date=date(2024, 12, 31),
        savings_claims=(claim(saving),),
        metered=meters,
    )
    return application(program, **(fields | kw))


@pytest.mark.parametrize(
    ("program", "saving", "outcome", "amount"),
    [
        pytest.param(
            "ENERGY_SAVING",
            "2000",
            Outcome.AWARDED,
            D("400000.00"),
            id="年节能量恰好2000吨标准煤获得每吨200元奖补",
        ),
        pytest.param(
            "ENERGY_SAVING", "1999.999", Outcome.REJECTED, None, id="年节能量1999.999吨标准煤不予奖补"
        ),
        pytest.param(
            "ENERGY_SAVING",
            "25000",
            Outcome.AWARDED,
            D("5000000.00"),
            id="年节能量2.5万吨标准煤恰好达到单个项目最高奖补500万元",
        ),
        pytest.param(
            "ENERGY_SAVING",
            "30000",
            Outcome.AWARDED,
            D("5000000.00"),
            id="年节能量3万吨标准煤超过上限按500万元奖补",
        ),
        pytest.param(
            "WATER_SAVING", "50000", Outcome.AWARDED, D("500000.00"), id="年节水量恰好5万吨获得每吨10元奖补"
        ),
        pytest.param("WATER_SAVING", "49999.9", Outcome.REJECTED, None, id="年节水量不足5万吨不予奖补"),
        pytest.param(
            "WATER_SAVING",
            "600000",
            Outcome.AWARDED,
            D("5000000.00"),
            id="年节水量60万吨超过上限按500万元奖补",
        ),
    ],
)
def test_savings_are_paid_per_tonne_above_the_threshold(program, saving, outcome, amount):
    decision = one(retrofit(program, saving))
    assert decision.outcome == outcome
    assert decision.amount == amount
    # Until the meters verify it, the decision says the saving is only claimed.
    assert "SAVING_UNVERIFIED" in codes(decision, None)


def test_a_half_fen_saving_award_rounds_half_up():
    # 2000.000025 tce × 200 = 400,000.005 yuan -> 400,000.01 (half-even would give 400,000.00)
    assert one(retrofit("ENERGY_SAVING", "2000.000025")).amount == D("400000.01")


def test_the_verified_saving_follows_the_product_method_of_gb_t_13234():
    # (30,000 / 100,000 − 27,000 / 100,000) × 100,000 = 3,000 tce
    assert verified_saving(claim("5000"), metered("30000", "27000")) == D("3000")
    # Output grew: (30,000 / 100,000 − 30,000 / 120,000) × 120,000 = 6,000 tce
    assert verified_saving(claim("5000", report_output="120000"), metered("30000", "30000")) == D("6000")


@pytest.mark.parametrize(
    ("claimed", "base", "report", "amount"),
    [
        pytest.param(
            "2500", "30000", "27000", D("500000.00"), id="核验节能量3000吨大于申报2500吨时按申报值奖补"
        ),
        pytest.param(
            "5000", "30000", "27000", D("600000.00"), id="核验节能量3000吨小于申报5000吨时按核验值奖补"
        ),
    ],
)
def test_the_award_basis_is_the_smaller_of_claimed_and_verified_saving(claimed, base, report, amount):
    decision = one(retrofit("ENERGY_SAVING", claimed, metered(base, report)))
    assert decision.outcome == Outcome.AWARDED and decision.amount == amount
    assert "SAVING_UNVERIFIED" not in codes(decision, None)


def test_a_verified_saving_below_the_threshold_is_rejected_whatever_was_claimed():
    decision = one(retrofit("ENERGY_SAVING", "2500", metered("30000", "28500")))  # verified 1,500 tce
    assert decision.outcome == Outcome.REJECTED and "SAVING_BELOW_MINIMUM" in codes(decision)


@pytest.mark.parametrize(
    ("base_cov", "report_cov", "outcome"),
    [
        pytest.param("0.95", "0.95", Outcome.AWARDED, id="两期计量完整率恰好95%时核验节能量"),
        pytest.param("0.9499", "0.99", Outcome.NEEDS_REVIEW, id="基期计量完整率低于95%转人工审核"),
        pytest.param("0.99", "0.80", Outcome.NEEDS_REVIEW, id="报告期计量完整率低于95%转人工审核"),
    ],
)
def test_metering_gaps_go_to_an_officer_never_to_a_guess(base_cov, report_cov, outcome):
    decision = one(retrofit("ENERGY_SAVING", "2500", metered("30000", "27000", base_cov, report_cov)))
    assert decision.outcome == outcome
    assert (decision.awards == ()) == (outcome == Outcome.NEEDS_REVIEW)
    coverage = [c for c in decision.conditions if c.code == "METERING_COVERAGE_LOW"]
    assert [c.values["period"] for c in coverage] == ["基期", "报告期"]


def test_meters_of_another_enterprise_reject_the_claim():
    decision = one(retrofit("ENERGY_SAVING", "2500", metered("30000", "27000", foreign=("XX-E01",))))
    assert decision.outcome == Outcome.REJECTED
    assert "XX-E01" in next(c.message for c in decision.conditions if c.code == "FOREIGN_METERS")


def test_a_reporting_period_not_yet_ended_is_rejected():
    late = SavingsClaim(
        D("2500"),
        date(2025, 1, 1),
        date(2025, 12, 31),
        date(2026, 1, 1),
        date(2026, 12, 31),
        ("M-1",),
        D("1"),
        D("1"),
    )
    decision = one(retrofit("ENERGY_SAVING", "2500", savings_claims=(late,)))
    assert decision.outcome == Outcome.REJECTED and "REPORTING_PERIOD_NOT_ENDED" in codes(decision)


def test_a_reporting_period_starting_before_completion_is_rejected():
    decision = one(retrofit("WATER_SAVING", "60000", completion_date=date(2025, 1, 1)))
    assert decision.outcome == Outcome.REJECTED and "REPORTING_BEFORE_COMPLETION" in codes(decision)


def test_the_saving_award_object_is_the_project():
    (award,) = one(retrofit("WATER_SAVING", "60000")).awards
    assert award.award_key == "WATER_SAVING:XM-S" and award.basis["verified"] is False
