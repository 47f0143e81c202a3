"""五(2) 绿色制造、八 单项冠军与优质中小企业：每个新认定一次性奖励，两级认定全额或就高补差。"""

from datetime import date
from decimal import Decimal

import pytest

from rules.decision import Outcome
from tests.rules.builders import CC, EFFECTIVE, application, codes, decide, one, recognition, setting

D = Decimal
DIFFERENCE = setting("recognitions.pay_difference_only", True)


def recognised(program: str, kind: str, level: str, on: date = date(2025, 6, 1), app_id: str = "R-1", **kw):
    return application(program, app_id, recognitions=(recognition(kind, level, on),), **kw)


@pytest.mark.parametrize(
    ("program", "kind", "level", "amount", "key"),
    [
        pytest.param(
            "GREEN_MANUFACTURING",
            "green_factory",
            "national",
            D("1000000.00"),
            f"GREEN_MANUFACTURING:{CC}:green_factory:national",
            id="新认定国家级绿色工厂奖补100万元",
        ),
        pytest.param(
            "GREEN_MANUFACTURING",
            "green_supply_chain",
            "regional",
            D("500000.00"),
            f"GREEN_MANUFACTURING:{CC}:green_supply_chain:regional",
            id="新认定自治区级绿色供应链奖补50万元",
        ),
        pytest.param(
            "GREEN_MANUFACTURING",
            "energy_efficiency_leader",
            "national",
            D("1000000.00"),
            f"GREEN_MANUFACTURING:{CC}:energy_efficiency_leader:national",
            id="新认定国家级能效领跑者奖补100万元",
        ),
        pytest.param(
            "GREEN_MANUFACTURING",
            "water_efficiency_leader",
            "regional",
            D("500000.00"),
            f"GREEN_MANUFACTURING:{CC}:water_efficiency_leader:regional",
            id="新认定自治区级水效领跑者奖补50万元",
        ),
        pytest.param(
            "SINGLE_CHAMPION",
            "single_champion",
            "regional",
            D("1000000.00"),
            f"SINGLE_CHAMPION:{CC}:regional",
            id="自治区级制造业单项冠军奖励100万元",
        ),
        pytest.param(
            "SINGLE_CHAMPION",
            "single_champion",
            "national",
            D("2000000.00"),
            f"SINGLE_CHAMPION:{CC}:national",
            id="国家级制造业单项冠军奖励200万元",
        ),
        pytest.param(
            "QUALITY_SME",
            "innovative_sme",
            "regional",
            D("200000.00"),
            f"QUALITY_SME:{CC}:innovative_sme:regional",
            id="创新型中小铝企业奖励20万元",
        ),
        pytest.param(
            "QUALITY_SME",
            "specialized_sme",
            "regional",
            D("500000.00"),
            f"QUALITY_SME:{CC}:specialized_sme:regional",
            id="专精特新中小铝企业奖励50万元",
        ),
        pytest.param(
            "QUALITY_SME",
            "little_giant",
            "national",
            D("1000000.00"),
            f"QUALITY_SME:{CC}:little_giant:national",
            id="小巨人铝企业奖励100万元",
        ),
    ],
)
def test_each_new_recognition_earns_its_one_time_award(program, kind, level, amount, key):
    decision = one(recognised(program, kind, level))
    assert decision.outcome == Outcome.AWARDED
    assert [(a.award_key, a.amount) for a in decision.awards] == [(key, amount)]


@pytest.mark.parametrize(
    ("on", "outcome"),
    [
        pytest.param(date(2024, 10, 29), Outcome.REJECTED, id="政策实施前一日的认定不属新认定"),
        pytest.param(EFFECTIVE, Outcome.AWARDED, id="政策实施当日的认定属新认定"),
        pytest.param(date(2026, 11, 25), Outcome.REJECTED, id="评审日期之后的认定尚不能奖励"),
    ],
)
@pytest.mark.parametrize(
    "program, kind",
    [
        ("GREEN_MANUFACTURING", "green_factory"),
        ("SINGLE_CHAMPION", "single_champion"),
        ("QUALITY_SME", "innovative_sme"),
    ],
)
def test_only_recognitions_dated_from_the_effective_date_count(program, kind, on, outcome):
    decision = one(recognised(program, kind, "regional", on))
    assert decision.outcome == outcome


def test_a_recognition_dated_the_day_before_says_so_in_chinese():
    decision = one(
        recognised("GREEN_MANUFACTURING", "energy_efficiency_leader", "regional", date(2024, 10, 29))
    )
    (failed,) = [c for c in decision.conditions if c.passed is False]
    assert failed.code == "RECOGNIZED_BEFORE_EFFECTIVE_DATE"
    assert "早于政策实施日期 2024-10-30" in failed.message


def test_a_recognition_of_another_program_is_not_paid_here():
    decision = one(recognised("GREEN_MANUFACTURING", "single_champion", "national"))
    assert decision.outcome == Outcome.REJECTED and "RECOGNITION_TYPE_NOT_COVERED" in codes(decision)


def test_a_duplicate_recognition_is_rejected_naming_the_application_that_took_it():
    first = recognised(
        "GREEN_MANUFACTURING", "green_factory", "national", app_id="GM-A", submitted_on=date(2026, 1, 5)
    )
    again = recognised(
        "GREEN_MANUFACTURING", "green_factory", "national", app_id="GM-B", submitted_on=date(2026, 1, 6)
    )
    by_id = {d.application_id: d for d in decide(again, first)}
    assert by_id["GM-A"].outcome == Outcome.AWARDED
    assert by_id["GM-B"].outcome == Outcome.REJECTED
    (dup,) = [c for c in by_id["GM-B"].conditions if c.code == "DUPLICATE_AWARD_KEY"]
    assert "GM-A" in dup.message


def champions(regional_first: bool = True):
    regional = recognised(
        "SINGLE_CHAMPION",
        "single_champion",
        "regional",
        date(2025, 1, 20),
        "SC-R",
        submitted_on=date(2025, 3, 1),
    )
    national = recognised(
        "SINGLE_CHAMPION",
        "single_champion",
        "national",
        date(2026, 1, 28),
        "SC-N",
        submitted_on=date(2026, 2, 15) if regional_first else date(2025, 2, 1),
    )
    return regional, national


def test_regional_then_national_champion_are_each_paid_in_full_by_default():
    by_id = {d.application_id: d for d in decide(*champions())}
    assert by_id["SC-R"].amount == D("1000000.00")
    assert by_id["SC-N"].amount == D("2000000.00")


def test_regional_then_national_champion_pays_only_the_difference_when_the_switch_is_on():
    by_id = {d.application_id: d for d in decide(*champions(), parameters=DIFFERENCE)}
    assert by_id["SC-R"].amount == D("1000000.00")
    assert by_id["SC-N"].amount == D("1000000.00")
    assert "SC-R" in next(c.message for c in by_id["SC-N"].conditions if c.code == "RECOGNITION_AWARD")


def test_with_the_switch_on_a_regional_title_already_paid_in_an_earlier_run_is_deducted():
    _, national = champions()
    decision = one(national, parameters=DIFFERENCE, held={f"SINGLE_CHAMPION:{CC}:regional": "SC-R"})
    assert decision.amount == D("1000000.00")


def test_with_the_switch_on_a_regional_title_after_the_national_one_pays_nothing():
    by_id = {d.application_id: d for d in decide(*champions(regional_first=False), parameters=DIFFERENCE)}
    assert by_id["SC-N"].amount == D("2000000.00")
    assert by_id["SC-R"].outcome == Outcome.REJECTED
    assert "HIGHER_RECOGNITION_ALREADY_AWARDED" in codes(by_id["SC-R"])


def test_with_the_switch_on_a_little_giant_after_a_specialised_sme_pays_the_difference():
    earlier = recognised(
        "QUALITY_SME", "specialized_sme", "regional", app_id="QS-A", submitted_on=date(2025, 8, 1)
    )
    later = recognised(
        "QUALITY_SME", "little_giant", "national", app_id="QS-B", submitted_on=date(2026, 1, 1)
    )
    by_id = {d.application_id: d for d in decide(earlier, later, parameters=DIFFERENCE)}
    assert by_id["QS-B"].amount == D("500000.00")  # 100 万 − 50 万


def test_two_green_recognitions_in_one_application_are_two_award_objects():
    app = application(
        "GREEN_MANUFACTURING",
        recognitions=(
            recognition("green_factory", "national", date(2025, 5, 1)),
            recognition("water_efficiency_leader", "regional", date(2025, 6, 1)),
        ),
    )
    decision = one(app)
    assert decision.amount == D("1500000.00") and len(decision.awards) == 2
