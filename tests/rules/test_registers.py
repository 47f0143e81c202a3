"""二(3)、三(2)、四(1)、六(1) 登记统计类项目：登记在册或退回补正，不涉及资金。rules/registers.py"""

from datetime import date

import pytest

from rules.decision import Outcome
from tests.rules.builders import application, codes, one, recognition


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


@pytest.mark.parametrize(
    ("level", "outcome"),
    [
        pytest.param("regional", Outcome.ELIGIBLE, id="承担自治区铝产业科技重大专项的登记在册"),
        pytest.param("national", Outcome.REJECTED, id="国家级科技项目不属于自治区科技重大专项登记"),
    ],
)
def test_the_sci_tech_register_holds_regional_major_projects_only(level, outcome):
    decision = one(
        application(
            "SCI_TECH_PROJECT", recognitions=(recognition("sci_tech_project", level, date(2025, 4, 1)),)
        )
    )
    assert decision.outcome == outcome
    assert ("RECOGNITION_LEVEL_NOT_COVERED" in codes(decision)) == (outcome == Outcome.REJECTED)
