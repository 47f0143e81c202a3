"""一(2)、四(1) 增值税即征即退资格与估算（不从专项资金列支）；一(3)、二 合规判定；登记类项目。"""

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from rules.decision import Outcome
from rules.model import GateMetrics, VatClaim
from tests.rules.builders import application, codes, decide, one, recognition, wan

D = Decimal


def vat_claim(
    share: str, paid_wan: str = "800", violation: bool = False, restricted: bool = False
) -> VatClaim:
    return VatClaim(
        date(2025, 1, 1), date(2025, 12, 31), wan("12000"), wan(paid_wan), D(share), violation, restricted
    )


@pytest.mark.parametrize(
    ("program", "share", "grade", "outcome", "estimate"),
    [
        pytest.param(
            "FLYASH_ALUMINA_VAT",
            "25",
            "A",
            Outcome.ELIGIBLE,
            D("4000000.00"),
            id="粉煤灰占原料恰好25%的企业可享受即征即退按已缴增值税50%估算",
        ),
        pytest.param(
            "FLYASH_ALUMINA_VAT", "24.99", "A", Outcome.REJECTED, None, id="粉煤灰占原料不足25%不符合"
        ),
        pytest.param(
            "RECYCLED_VAT",
            "95",
            "B",
            Outcome.ELIGIBLE,
            D("2400000.00"),
            id="废旧金属占原料恰好95%的再生铝企业按已缴增值税30%估算",
        ),
        pytest.param("RECYCLED_VAT", "94.9", "B", Outcome.REJECTED, None, id="废旧金属占原料不足95%不符合"),
        pytest.param("RECYCLED_VAT", "96", "C", Outcome.REJECTED, None, id="纳税信用C级企业不得享受即征即退"),
        pytest.param(
            "FLYASH_ALUMINA_VAT", "40", "D", Outcome.REJECTED, None, id="纳税信用D级企业不得享受即征即退"
        ),
        pytest.param(
            "FLYASH_ALUMINA_VAT", "40", "M", Outcome.ELIGIBLE, D("4000000.00"), id="纳税信用M级企业可以享受"
        ),
    ],
)
def test_vat_refund_eligibility_and_its_estimate(program, share, grade, outcome, estimate):
    decision = one(application(program, vat_claims=(vat_claim(share),), tax_credit_grade=grade))
    assert decision.outcome == outcome
    assert decision.estimate == estimate
    assert decision.awards == ()  # never special-fund money


@pytest.mark.parametrize(
    ("violation", "restricted", "code"),
    [
        pytest.param(True, False, "SERIOUS_VIOLATION_6M", id="前6个月有重大违法行为的不得享受"),
        pytest.param(False, True, "RESTRICTED_OR_ELIMINATED", id="产品属限制类或淘汰类的不得享受"),
    ],
)
def test_vat_general_conditions(violation, restricted, code):
    claim = vat_claim("40", violation=violation, restricted=restricted)
    decision = one(application("FLYASH_ALUMINA_VAT", vat_claims=(claim,)))
    assert decision.outcome == Outcome.REJECTED and code in codes(decision)


def test_a_vat_applicant_without_a_tax_credit_grade_is_told_to_fill_it_in():
    decision = one(application("RECYCLED_VAT", vat_claims=(vat_claim("96"),), tax_credit_grade=None))
    assert decision.outcome == Outcome.REJECTED
    assert "补填" in next(c.message for c in decision.conditions if c.code == "TAX_CREDIT_GRADE_EXCLUDED")


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
    smelter = application("SMELTER_PROJECT_GATE", "SM-1", project_code="XM-SM", gate_metrics=(metrics,))
    paired = application("DEEP_PROCESSING_INTEREST", "DP-1", project_code="XM-DP")
    by_id = {d.application_id: d for d in decide(smelter, paired)}
    assert by_id["SM-1"].outcome == outcome
    assert codes(by_id["SM-1"]) == ({code} if code else set())


@pytest.mark.parametrize(
    ("program", "kind", "outcome"),
    [
        pytest.param("FIRST_BATCH", "first_batch", Outcome.ELIGIBLE, id="首批次认定登记在册"),
        pytest.param("FIRST_BATCH", "green_factory", Outcome.REJECTED, id="非首批次认定不能登记为首批次"),
        pytest.param("SCI_TECH_PROJECT", "sci_tech_project", Outcome.ELIGIBLE, id="承担科技重大专项登记在册"),
        pytest.param(
            "SCI_TECH_PROJECT", "first_batch", Outcome.REJECTED, id="非科技重大专项不能登记为科技重大专项"
        ),
    ],
)
def test_registers_record_recognitions_without_money(program, kind, outcome):
    decision = one(application(program, recognitions=(recognition(kind, "regional", date(2025, 4, 1)),)))
    assert decision.outcome == outcome
    assert decision.awards == () and decision.amount is None


def test_a_register_entry_dated_after_the_evaluation_date_is_rejected():
    app = application(
        "FIRST_BATCH", recognitions=(recognition("first_batch", "regional", date(2026, 12, 1)),)
    )
    assert one(app).outcome == Outcome.REJECTED


@pytest.mark.parametrize("program", ["RENEWABLE_SHARE", "RECYCLED_DATABASE"])
def test_statistics_programs_record_the_enterprise(program):
    decision = one(application(program))
    assert decision.outcome == Outcome.ELIGIBLE and decision.awards == ()
    assert codes(decision, None)  # the note says where the figures come from
