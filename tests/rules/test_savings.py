"""五(2) 节能（≥2000 吨标准煤，200 元/吨）与节水（≥5 万吨，10 元/吨）改造奖补，单个项目最高 500 万元。"""

from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules.decision import Outcome
from rules.model import MeteredSaving, PeriodMeasure, SavingsClaim
from rules.savings import _pct, _short, verified_saving
from tests.rules.builders import application, codes, one, savings_claim

D = Decimal


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
        savings_claims=(savings_claim(saving),),
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
    assert (decision.outcome, decision.amount) == (outcome, amount)
    # Until the meters verify it, the decision says the saving is only claimed.
    assert "SAVING_UNVERIFIED" in codes(decision, None)


def test_a_half_fen_saving_award_rounds_half_up():
    # 2000.000025 tce × 200 = 400,000.005 yuan -> 400,000.01 (half-even would give 400,000.00)
    assert one(retrofit("ENERGY_SAVING", "2000.000025")).amount == D("400000.01")


def test_the_verified_saving_follows_the_product_method_of_gb_t_13234():
    # (30,000 / 100,000 − 27,000 / 100,000) × 100,000 = 3,000 tce
    assert verified_saving(savings_claim("5000"), metered("30000", "27000")) == D("3000")
    # Output grew: (30,000 / 100,000 − 30,000 / 120,000) × 120,000 = 6,000 tce
    assert verified_saving(savings_claim("5000", report_output="120000"), metered("30000", "30000")) == D(
        "6000"
    )


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


# --- exact arithmetic and per-meter boundaries (issue 11) ---------------------------------------------------


@pytest.mark.parametrize(
    ("program", "base", "report", "base_output", "report_output", "amount"),
    [
        # (3,000 / 9,000 − 5,000 / 21,000) × 21,000 = (1/3 − 5/21) × 21,000 = 2,000 exactly
        pytest.param("ENERGY_SAVING", "3000", "5000", "9000", "21000", D("400000.00"),
                     id="节能量经除不尽的单耗恰好2000吨标准煤时予以奖补"),
        # (30,000 / 90,000 − 20,000 / 210,000) × 210,000 = (1/3 − 2/21) × 210,000 = 50,000 exactly
        pytest.param("WATER_SAVING", "30000", "20000", "90000", "210000", D("500000.00"),
                     id="节水量经除不尽的单耗恰好5万吨时予以奖补"),
    ],
)  # fmt: skip
def test_a_saving_exactly_at_the_threshold_through_non_terminating_quotients_is_awarded(
    program, base, report, base_output, report_output, amount
):
    app = retrofit(
        program,
        "999999",
        metered(base, report),
        savings_claims=(savings_claim("999999", base_output=base_output, report_output=report_output),),
    )
    decision = one(app)
    assert decision.outcome == Outcome.AWARDED, codes(decision)
    assert decision.amount == amount


def test_a_condition_no_metering_can_cure_rejects_even_when_coverage_is_low():
    not_ended = SavingsClaim(D("2500"), date(2025, 1, 1), date(2025, 12, 31), date(2026, 1, 1),
                             date(2026, 12, 31), ("M-1",), D("1"), D("1"))  # fmt: skip
    app = retrofit(
        "ENERGY_SAVING", "2500", metered("30000", "27000", "0.10", "0.10"), savings_claims=(not_ended,)
    )
    decision = one(app)
    assert decision.outcome == Outcome.REJECTED and "REPORTING_PERIOD_NOT_ENDED" in codes(decision)


def test_a_savings_claim_without_an_output_figure_needs_review_not_rejection():
    no_output = SavingsClaim(D("2500"), date(2024, 1, 1), date(2024, 12, 31), date(2025, 1, 1),
                             date(2025, 12, 31), ("M-1",), None, D("100000"))  # fmt: skip
    decision = one(retrofit("ENERGY_SAVING", "2500", metered("30000", "27000"), savings_claims=(no_output,)))
    assert decision.outcome == Outcome.NEEDS_REVIEW
    assert "基期产量" in next(c.message for c in decision.conditions if c.code == "OUTPUT_MISSING")


def _figures(meter, medium, period, present, expected, step, converted="100", unit="kWh"):
    from rules.model import MeterFigures

    return MeterFigures(meter, medium, period, unit, D("1000"), D(converted) if converted else None,
                        present, expected, step)  # fmt: skip


def _boundary(*meters) -> MeteredSaving:
    from rules.savings import counted, period_measure

    draft = MeteredSaving(
        tuple(sorted({m.meter_id for m in meters})), period("0"), period("0"), meters=meters
    )
    base = period_measure("ENERGY_SAVING", counted("ENERGY_SAVING", draft, "baseline"))
    report = period_measure("ENERGY_SAVING", counted("ENERGY_SAVING", draft, "reporting"))
    return MeteredSaving(draft.meter_ids, base, report, meters=meters)


def test_a_boundary_whose_daily_gas_meter_never_reported_needs_review_though_the_hourly_meter_is_complete():
    meters = (
        _figures("E1", "electricity", "baseline", 8784, 8784, 3600, "30000"),
        _figures("E1", "electricity", "reporting", 8760, 8760, 3600, "20000"),
        _figures("G1", "natural_gas", "baseline", 366, 366, 86400, "5000", "m3"),
        _figures("G1", "natural_gas", "reporting", 0, 365, 86400, "0", "m3"),
    )
    decision = one(retrofit("ENERGY_SAVING", "2500", _boundary(*meters)))
    assert decision.outcome == Outcome.NEEDS_REVIEW and decision.awards == ()
    gap = next(c for c in decision.conditions if c.code == "METERING_COVERAGE_LOW" and c.passed is False)
    assert gap.values["meter_id"] == "G1" and gap.values["period"] == "报告期"
    assert "应有 365 个读数，实有 0 个" in gap.message


def test_a_complete_water_meter_inside_an_energy_boundary_is_a_note_not_a_gap():
    meters = (
        _figures("E1", "electricity", "baseline", 35136, 35136, 900, "30000"),
        _figures("E1", "electricity", "reporting", 35040, 35040, 900, "27000"),
        _figures("W1", "water", "baseline", 366, 366, 86400, None, "m3"),
        _figures("W1", "water", "reporting", 365, 365, 86400, None, "m3"),
    )
    decision = one(retrofit("ENERGY_SAVING", "2500", _boundary(*meters)))
    assert decision.outcome == Outcome.AWARDED and decision.amount == D("500000.00")
    assert "METER_OTHER_MEDIUM" in codes(decision, None)


def test_a_claimed_meter_with_no_readings_at_all_needs_review_and_is_named():
    meters = (
        _figures("E1", "electricity", "baseline", 35136, 35136, 900, "30000"),
        _figures("E1", "electricity", "reporting", 35040, 35040, 900, "27000"),
    )
    boundary = _boundary(*meters)
    boundary = MeteredSaving(
        boundary.meter_ids, boundary.baseline, boundary.reporting, (), ("GHOST",), meters
    )
    decision = one(retrofit("ENERGY_SAVING", "2500", boundary))
    assert decision.outcome == Outcome.NEEDS_REVIEW
    assert "GHOST" in next(c.message for c in decision.conditions if c.code == "METERS_WITHOUT_READINGS")


exact = st.one_of(
    st.decimals(allow_nan=False, allow_infinity=False, min_value=-(10**12), max_value=10**12, places=6),
    st.fractions(min_value=-(10**9), max_value=10**9, max_denominator=10**7),
)


@given(exact)
def test_figures_in_messages_are_rounded_exactly_three_places_half_up_and_percentages_never_rounded_up(value):
    # What the messages say, spelled with Fractions: floor(value × 1000 + ½) thousandths, floor(ratio × 10000)
    # hundredths of a per cent (the rules compute both in integers).
    thousandths = (Fraction(value) * 1000 + Fraction(1, 2)).__floor__()
    assert _short(value) == f"{Decimal(thousandths).scaleb(-3).normalize():f}"
    assert _pct(value) == f"{Decimal((Fraction(value) * 10000).__floor__()).scaleb(-2)}%"


@pytest.mark.parametrize(
    "value, short",
    [("1.2345", "1.235"), ("-1.2345", "-1.234"), ("0.0005", "0.001"), ("-0.0005", "0"), ("1E+5", "100000")],
)
def test_a_half_thousandth_in_a_message_rounds_up(value, short):
    assert _short(Decimal(value)) == short
