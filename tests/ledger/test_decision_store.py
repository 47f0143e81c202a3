"""What `application_decisions` stores of a decision: its reasons and explanation as `json.dumps` writes them."""

import json
from dataclasses import replace
from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest

from pipelines.decision_store import stored_json
from rules.decision import Condition, Decision, Outcome
from rules.parameters import ParameterValue
from tests.rules.builders import AS_OF, PARAMETERS, application, decide, recognition, savings_claim, wan


def _decisions() -> list[Decision]:
    apps = [
        application("EQUIPMENT_UPGRADE", "EQ-1", project_code="XM-1", completion_date=date(2025, 10, 31),
                    total_investment=wan("2000"), equipment_investment=wan("1000")),
        application("EQUIPMENT_UPGRADE", "EQ-2", project_code="xm-1", completion_date=date(2025, 10, 31),
                    total_investment=wan("100"), equipment_investment=wan("50")),
        application("GREEN_MANUFACTURING", "GM-1",
                    recognitions=(recognition("green_factory", "national", date(2025, 3, 1)),)),
        application("ENERGY_SAVING", "ES-1", project_code="XM-ES", savings_claims=(savings_claim("2500"),)),
        application("NO_SUCH_PROGRAM", "X-1"),
        application("STANDARD_SETTING", "STD-1", intake_problems=(("DETAIL_REJECTED", "「标准」第 3 行被退回"),)),
    ]  # fmt: skip
    return decide(*apps)


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def test_the_stored_texts_are_json_dumps_of_the_reasons_and_the_explanation():
    decisions = _decisions()
    assert {d.outcome for d in decisions} >= {Outcome.AWARDED, Outcome.REJECTED}
    for d in decisions:
        assert stored_json(d) == (_json(d.reasons()), _json(d.explanation()))


def test_parameter_texts_kept_for_one_set_of_decisions_are_the_same_texts():
    decisions = _decisions()
    cited: dict[int, tuple[ParameterValue, str]] = {}
    assert [stored_json(d, cited) for d in decisions] == [stored_json(d) for d in decisions]
    assert cited  # the decisions cite parameters, and each was encoded once


@pytest.mark.parametrize(
    "review", [None, {"reviewer": "工信厅", "on": date(2026, 3, 1), "amount": Decimal("1.50")}]
)
def test_conditions_out_of_order_with_every_kind_of_value_and_a_review_are_stored_as_json_dumps_writes_them(
    review,
):
    (base,) = decide(application("EQUIPMENT_UPGRADE", "EQ-1"), as_of=AS_OF, parameters=PARAMETERS)
    values = {"amount": Decimal("12.30"), "ratio": Fraction(1, 3), "on": date(2026, 1, 2), "list": [Decimal(1), None],
              "text": 'a "quoted" \\ line\n', "nested": {"x": (1, 2)}, "flag": True}  # fmt: skip
    conditions = (
        Condition("PASSED_FIRST", "五(1)", True, "通过", values),
        Condition("A_NOTE", "五(1)", None, "说明"),
        Condition("FAILED_LAST", "五(1)", False, "未通过：“引号”", {"n": 3}),
        Condition("ODD_PASSED", "五(1)", 0, "neither True, False nor None: in the explanation only"),  # type: ignore[arg-type]
    )
    d = replace(base, conditions=conditions, review=review)
    reasons, explanation = stored_json(d)
    assert (reasons, explanation) == (_json(d.reasons()), _json(d.explanation()))
    assert [r["code"] for r in json.loads(reasons)] == ["FAILED_LAST", "A_NOTE", "PASSED_FIRST"]
    assert stored_json(replace(d, conditions=())) == (
        _json([]),
        _json(replace(d, conditions=()).explanation()),
    )
