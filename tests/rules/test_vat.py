"""一(2)、四(1) 增值税即征即退：资格与估算退税（由税务部门核定退付，不从专项资金列支）。rules/vat.py"""

from datetime import date
from decimal import Decimal

import pytest

from rules.decision import Outcome
from rules.model import VatClaim
from tests.rules.builders import application, codes, one, wan

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
