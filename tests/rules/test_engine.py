"""Deciding a batch: one decision per application, one-time award objects, duplicates and corrections."""

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

from pipelines.applications import build
from pipelines.intake import merge, read_batch
from rules.decision import Outcome
from samples.build import credit_codes
from samples.workbook import write_batch
from tests.rules.builders import AS_OF, PARAMETERS, application, decide, wan

D = Decimal


def equipment(app_id: str, project: str, submitted: date, equipment_wan: str = "1000"):
    return application(
        "EQUIPMENT_UPGRADE",
        app_id,
        project_code=project,
        completion_date=date(2025, 10, 31),
        total_investment=wan("2000"),
        equipment_investment=wan(equipment_wan),
        submitted_on=submitted,
    )


def test_within_a_batch_the_application_submitted_first_takes_the_project():
    later = equipment("EQ-B", "XM-1", date(2026, 2, 2))
    first = equipment("EQ-A", "XM-1", date(2026, 2, 1))
    by_id = {d.application_id: d for d in decide(later, first)}
    assert by_id["EQ-A"].outcome == Outcome.AWARDED
    assert by_id["EQ-B"].outcome == Outcome.REJECTED
    reason = by_id["EQ-B"].reasons()[0]
    assert reason["code"] == "DUPLICATE_AWARD_KEY" and "EQ-A" in reason["message"]


def test_on_the_same_day_the_lower_application_id_takes_the_project():
    by_id = {
        d.application_id: d
        for d in decide(
            equipment("EQ-2", "XM-1", date(2026, 2, 1)), equipment("EQ-1", "XM-1", date(2026, 2, 1))
        )
    }
    assert by_id["EQ-1"].outcome == Outcome.AWARDED and by_id["EQ-2"].outcome == Outcome.REJECTED


def test_across_batches_a_project_held_in_the_ledger_stays_with_its_holder():
    (decision,) = decide(
        equipment("EQ-A", "XM-1", date(2025, 12, 1)), held={"EQUIPMENT_UPGRADE:XM-1": "EQ-OLD"}
    )
    assert decision.outcome == Outcome.REJECTED
    assert "EQ-OLD" in decision.reasons()[0]["message"]


def test_a_project_whose_holder_is_corrected_into_a_rejection_goes_the_same_night_to_the_next_claimant():
    # EQ-A held the project in the ledger; its correction now falls below 2,000 万 total investment.
    corrected = application(
        "EQUIPMENT_UPGRADE",
        "EQ-A",
        project_code="XM-1",
        completion_date=date(2025, 10, 31),
        total_investment=wan("1999.99"),
        equipment_investment=wan("1000"),
        submitted_on=date(2026, 2, 1),
    )
    other = equipment("EQ-B", "XM-1", date(2026, 2, 2))
    by_id = {d.application_id: d for d in decide(corrected, other, held={"EQUIPMENT_UPGRADE:XM-1": "EQ-A"})}
    assert by_id["EQ-A"].outcome == Outcome.REJECTED
    assert by_id["EQ-B"].outcome == Outcome.AWARDED and by_id["EQ-B"].amount == D("2000000.00")


def test_a_project_held_by_an_application_not_decided_tonight_is_never_released():
    (decision,) = decide(
        equipment("EQ-B", "XM-1", date(2026, 2, 2)), held={"EQUIPMENT_UPGRADE:XM-1": "EQ-ABSENT"}
    )
    assert decision.outcome == Outcome.REJECTED


def test_a_corrected_application_is_re_evaluated_and_keeps_its_own_project():
    (decision,) = decide(
        equipment("EQ-A", "XM-1", date(2026, 2, 1), "1500"), held={"EQUIPMENT_UPGRADE:XM-1": "EQ-A"}
    )
    assert decision.outcome == Outcome.AWARDED and decision.amount == D("3000000.00")


def test_a_correction_in_a_later_workbook_replaces_the_first_and_is_decided_on_its_new_figures(
    tmp_path: Path,
):
    cc = credit_codes()[0]
    enterprise = {
        "credit_code": cc,
        "name": "准格尔高铝粉煤灰新材料有限公司",
        "league_city": "鄂尔多斯市",
        "tax_credit_grade": "A",
    }
    row = {
        "application_id": "EQ-9",
        "credit_code": cc,
        "program": "EQUIPMENT_UPGRADE",
        "project_code": "XM-9",
        "submitted_on": "2026-03-01",
        "construction_start": "2025-03-01",
        "completion_date": "2025-10-31",
        "total_investment_wan": "1999.99",
        "equipment_investment_wan": "1500",
    }
    first = write_batch(
        tmp_path / "2026-03-01-鄂尔多斯市.xlsx", {"enterprises": [enterprise], "applications": [row]}
    )
    corrected = write_batch(
        tmp_path / "2026-03-05-鄂尔多斯市.xlsx", {"applications": [row | {"total_investment_wan": "2,000"}]}
    )
    apps = build(merge([read_batch(first), read_batch(corrected)]))
    (before,) = decide(*build(merge([read_batch(first)])))
    (after,) = decide(*apps)
    assert before.outcome == Outcome.REJECTED
    assert after.outcome == Outcome.AWARDED and after.amount == D("3000000.00")


def test_an_application_with_intake_problems_is_rejected_with_them_not_evaluated_as_complete():
    app = application(
        "EQUIPMENT_UPGRADE", intake_problems=(("DETAIL_REJECTED", "「贷款」第 3 行明细被退回"),)
    )
    (decision,) = decide(app)
    assert decision.outcome == Outcome.REJECTED and decision.reasons()[0]["code"] == "DETAIL_REJECTED"


def test_every_decision_explains_itself_with_conditions_values_and_cited_parameters():
    (decision,) = decide(equipment("EQ-A", "XM-1", date(2026, 2, 1)))
    explanation = json.loads(json.dumps(decision.explanation(), ensure_ascii=False))
    assert explanation["clause"] == "五(1)"
    assert all({"code", "clause", "passed", "message", "values"} <= set(c) for c in explanation["conditions"])
    assert {p["key"] for p in explanation["parameters"]} >= {
        "equipment_upgrade.rate",
        "equipment_upgrade.cap",
    }
    assert all(p["source"] for p in explanation["parameters"])
    assert PARAMETERS.version.startswith("rb-") and AS_OF.year == 2026


def test_a_new_dated_rate_applies_to_applications_submitted_from_its_date_and_never_re_prices_earlier_ones():
    raised = PARAMETERS.with_value(
        "equipment_upgrade.rate", Decimal("0.25"), date(2026, 6, 1), "test: 新费率"
    )
    before = equipment("EQ-A", "XM-1", date(2026, 5, 31))
    after = equipment("EQ-B", "XM-2", date(2026, 6, 1))
    by_id = {d.application_id: d for d in decide(before, after, parameters=raised)}
    assert by_id["EQ-A"].amount == D("2000000.00")  # 20 % of 1,000 万, the rate of its 申报日期
    assert by_id["EQ-B"].amount == D("2500000.00")  # 25 % from 2026-06-01
