"""一(3) 氧化铝项目、二(1-2) 电解铝项目合规判定（不涉及资金）。rules/gates.py"""

from dataclasses import replace
from decimal import Decimal

import pytest

from rules.decision import Decision, Outcome
from rules.model import GateMetrics
from tests.rules.builders import application, codes, decide, one

D = Decimal

ALUMINA = GateMetrics("bayer", D("340"), None, None, None, None, True, None, True)
SMELTER = GateMetrics("electrolysis", D("13000"), D("50"), "A", "local", None, True, True, True)


@pytest.mark.parametrize(
    ("metrics", "outcome", "code"),
    [
        pytest.param(ALUMINA, Outcome.COMPLIANT, None, id="拜耳法氧化铝能耗恰好340千克标准煤每吨达到标杆"),
        pytest.param(
            replace(ALUMINA, unit_energy=D("340.01")),
            Outcome.NON_COMPLIANT,
            "ENERGY_ABOVE_BENCHMARK",
            id="拜耳法氧化铝能耗340.01超过标杆",
        ),
        pytest.param(
            replace(ALUMINA, process="other", unit_energy=D("550")),
            Outcome.COMPLIANT,
            None,
            id="其他工艺氧化铝能耗恰好550达到标杆",
        ),
        pytest.param(
            replace(ALUMINA, process="other", unit_energy=D("600")),
            Outcome.NON_COMPLIANT,
            "ENERGY_ABOVE_BENCHMARK",
            id="其他工艺氧化铝能耗600未达到标杆",
        ),
        pytest.param(
            replace(ALUMINA, meets_industry_norms=False),
            Outcome.NON_COMPLIANT,
            "INDUSTRY_NORMS_NOT_MET",
            id="不满足铝行业规范条件的氧化铝项目不合规",
        ),
        pytest.param(
            replace(ALUMINA, catalog_allowed=False),
            Outcome.NON_COMPLIANT,
            "CATALOG_NOT_ALLOWED",
            id="工艺装备不符合产业结构调整指导目录的氧化铝项目不合规",
        ),
    ],
)
def test_the_alumina_project_gate(metrics, outcome, code):
    decision = one(application("ALUMINA_PROJECT_GATE", project_code="XM-AO", gate_metrics=(metrics,)))
    assert decision.outcome == outcome
    assert codes(decision) == ({code} if code else set())
    assert decision.awards == () and decision.amount is None


@pytest.mark.parametrize(
    ("metrics", "outcome", "code"),
    [
        pytest.param(
            SMELTER, Outcome.COMPLIANT, None, id="可再生能源恰好50%且电耗恰好13000千瓦时的电解铝项目合规"
        ),
        pytest.param(
            replace(SMELTER, renewable_share_pct=D("49.9")),
            Outcome.NON_COMPLIANT,
            "RENEWABLE_SHARE_BELOW_MINIMUM",
            id="可再生能源比例低于50%不合规",
        ),
        pytest.param(
            replace(SMELTER, unit_energy=D("13001")),
            Outcome.NON_COMPLIANT,
            "ENERGY_ABOVE_BENCHMARK",
            id="铝液交流电耗13001千瓦时每吨超过标杆",
        ),
        pytest.param(
            replace(SMELTER, environmental_grade="B"),
            Outcome.NON_COMPLIANT,
            "ENVIRONMENTAL_GRADE_BELOW_A",
            id="环保绩效B级不合规",
        ),
        pytest.param(
            replace(SMELTER, advanced_equipment=False),
            Outcome.NON_COMPLIANT,
            "EQUIPMENT_NOT_ADVANCED",
            id="主要用能设备未达能效先进水平不合规",
        ),
        pytest.param(
            replace(SMELTER, capacity_source="transferred", paired_project_code=None),
            Outcome.NON_COMPLIANT,
            "PAIRED_PROJECT_MISSING",
            id="承接区外产能却没有配套深加工项目的不合规",
        ),
        pytest.param(
            replace(SMELTER, capacity_source="transferred", paired_project_code="XM-DP"),
            Outcome.COMPLIANT,
            None,
            id="承接区外产能并同时申报了配套深加工项目的合规",
        ),
        pytest.param(
            replace(SMELTER, capacity_source="transferred", paired_project_code="XM-NONE"),
            Outcome.NON_COMPLIANT,
            "PAIRED_PROJECT_MISSING",
            id="配套深加工项目编号不在申报中的不合规",
        ),
    ],
)
def test_the_smelter_project_gate(metrics, outcome, code):
    decision = _smelter(metrics)
    assert decision.outcome == outcome
    assert codes(decision) == ({code} if code else set())


def _smelter(
    metrics: GateMetrics, paired_program: str = "DEEP_PROCESSING_INTEREST", paired_code: str = "XM-DP"
) -> Decision:
    """The smelter project XM-SM's decision, decided together with an application for project `paired_code`."""
    smelter = application("SMELTER_PROJECT_GATE", "SM-1", project_code="XM-SM", gate_metrics=(metrics,))
    paired = application(paired_program, "P-1", project_code=paired_code)
    return next(d for d in decide(smelter, paired) if d.application_id == "SM-1")


TRANSFERRED = replace(SMELTER, capacity_source="transferred", paired_project_code="XM-PAIR")


@pytest.mark.parametrize(
    ("paired_program", "code"),
    [
        pytest.param(
            "EQUIPMENT_UPGRADE", "PAIRED_PROJECT_NOT_DEEP_PROCESSING", id="配套项目是设备更新项目的不合规"
        ),
        pytest.param(
            "ENERGY_SAVING", "PAIRED_PROJECT_NOT_DEEP_PROCESSING", id="配套项目是节能改造项目的不合规"
        ),
        pytest.param(
            "RECYCLED_PROCESSING_INTEREST",
            "PAIRED_PROJECT_NOT_DEEP_PROCESSING",
            id="配套项目是再生铝延伸加工而非铝深加工贴息申报的不合规",
        ),
        pytest.param("DEEP_PROCESSING_INTEREST", None, id="配套项目以铝高端延伸加工贴息申报的合规"),
    ],
)
def test_a_transferred_smelters_paired_project_must_be_a_deep_processing_application(paired_program, code):
    decision = _smelter(TRANSFERRED, paired_program, "XM-PAIR")
    assert decision.outcome == (Outcome.NON_COMPLIANT if code else Outcome.COMPLIANT)
    assert codes(decision) == ({code} if code else set())


def test_a_transferred_smelter_cannot_name_itself_as_its_paired_deep_processing_project():
    itself = replace(TRANSFERRED, paired_project_code="XM-SM")
    smelter = application("SMELTER_PROJECT_GATE", "SM-1", project_code="XM-SM", gate_metrics=(itself,))
    decision = one(smelter)
    assert decision.outcome == Outcome.NON_COMPLIANT
    assert codes(decision) == {"PAIRED_PROJECT_NOT_DEEP_PROCESSING"}


def test_a_paired_project_typed_in_another_case_and_with_full_width_dashes_is_still_found():
    typed = replace(TRANSFERRED, paired_project_code="xm－pair")
    assert _smelter(typed, paired_code="XM-PAIR").outcome == Outcome.COMPLIANT


def test_each_smelter_condition_cites_its_own_paragraph_of_clause_two():
    decision = one(application("SMELTER_PROJECT_GATE", project_code="XM-SM", gate_metrics=(TRANSFERRED,)))
    clause_of = {c.code: c.clause for c in decision.conditions}
    assert clause_of["RENEWABLE_SHARE_BELOW_MINIMUM"] == "二(1)"
    assert clause_of["PAIRED_PROJECT_MISSING"] == "二(1)"
    assert clause_of["ENERGY_ABOVE_BENCHMARK"] == "二(2)"
    assert clause_of["ENVIRONMENTAL_GRADE_BELOW_A"] == "二(2)"
    assert clause_of["EQUIPMENT_NOT_ADVANCED"] == "二(2)"
    assert clause_of["PROJECT_CODE_REQUIRED"] == "二(1-2)"
