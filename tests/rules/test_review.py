"""审核结论 (docs/inputs.md §3): the lead department settles what the data left open, and can take money away, never add it."""

from datetime import date
from decimal import Decimal

from rules.catalog import DEPARTMENTS
from rules.decision import Outcome
from rules.engine import decide_all
from rules.review import Determination, in_force
from schemas.sheets import DEPARTMENTS as SHEET_DEPARTMENTS
from tests.rules.builders import AS_OF, PARAMETERS, application, codes
from tests.rules.test_savings import metered, retrofit

D = Decimal
LOW_COVERAGE = metered(
    "30000", "27000", "0.80", "0.99"
)  # verified saving would be 3,000 tce, but 80 % coverage


def review(outcome: str, value: str | None = None, app_id: str = "A-1", **kw) -> Determination:
    fields = dict(
        application_id=app_id,
        outcome=outcome,
        determined_value=None if value is None else D(value),
        opinion="现场核查：计量表具缺失数据已由第三方报告补证"
        if outcome == "approve"
        else "现场核查发现节能量数据不实",
        department="工信厅",
        reviewer="张三",
        reviewed_on=date(2026, 11, 20),
        document_no="内工信节审〔2026〕8号",
        source_file="审核/2026-11-20-工信厅.xlsx",
        source_row=2,
    )
    return Determination(**(fields | kw))


def decide_with(app, determination, **kw):
    reviews = {determination.application_id: determination} if determination else {}
    (decision,) = decide_all([app], AS_OF, PARAMETERS, kw.get("held"), reviews)
    return decision


def test_a_low_coverage_savings_claim_approved_with_a_determined_saving_is_awarded_on_the_smaller_figure():
    app = retrofit("ENERGY_SAVING", "2500", LOW_COVERAGE)
    assert decide_with(app, None).outcome == Outcome.NEEDS_REVIEW
    lower = decide_with(app, review("approve", "2100"))  # determined below the claim: 2,100 × 200
    assert (lower.outcome, lower.amount) == (Outcome.AWARDED, D("420000.00"))
    higher = decide_with(app, review("approve", "4000"))  # above the claim: the claim, 2,500 × 200
    assert (higher.outcome, higher.amount) == (Outcome.AWARDED, D("500000.00"))
    approved = next(c for c in higher.conditions if c.code == "REVIEW_APPROVED")
    assert (
        "张三" in approved.message
        and "2026-11-20" in approved.message
        and "内工信节审〔2026〕8号" in approved.message
    )
    assert "不会使奖补多于规则允许的金额" in approved.message and "按申报值计算" in approved.message
    assert higher.awards[0].basis["review"]["document_no"] == "内工信节审〔2026〕8号"
    assert "SAVING_UNVERIFIED" not in codes(higher, None)


def test_an_approved_saving_still_meets_the_threshold_and_the_cap():
    app = retrofit("ENERGY_SAVING", "40000", LOW_COVERAGE)
    below = decide_with(app, review("approve", "1999"))
    assert below.outcome == Outcome.REJECTED and "SAVING_BELOW_MINIMUM" in codes(below)
    capped = decide_with(app, review("approve", "30000"))  # 30,000 × 200 = 6,000,000 > 5,000,000
    assert capped.amount == D("5000000.00") and "CAP_APPLIED" in codes(capped, None)


def test_a_determination_that_tries_to_approve_a_below_threshold_claim_changes_nothing_and_says_why():
    app = retrofit("ENERGY_SAVING", "1800")  # decided on the data: 1,800 < 2,000
    before = decide_with(app, None)
    after = decide_with(app, review("approve", "2500"))
    assert before.outcome == after.outcome == Outcome.REJECTED and after.awards == ()
    note = next(c for c in after.conditions if c.code == "REVIEW_APPROVAL_NO_EFFECT")
    assert "不改变本决定" in note.message and "不能突破门槛" in note.message and "张三" in note.message


def test_an_approval_of_an_awarded_application_never_raises_its_award():
    app = retrofit("WATER_SAVING", "60000")
    assert decide_with(app, review("approve", "90000")).amount == decide_with(app, None).amount


def test_a_rejection_rejects_any_application_with_the_opinion_as_the_reason():
    app = retrofit("WATER_SAVING", "60000")
    decision = decide_with(app, review("reject"))
    assert decision.outcome == Outcome.REJECTED and decision.awards == () and decision.amount is None
    first = decision.reasons()[0]
    assert first["code"] == "REVIEW_REJECTED" and "现场核查发现节能量数据不实" in first["message"]
    assert decision.review and decision.review["reviewer"] == "张三"


def test_a_rejected_review_frees_the_one_time_object_for_the_next_claimant():
    first = retrofit("WATER_SAVING", "60000", app_id="A-1")
    second = retrofit("WATER_SAVING", "60000", app_id="A-2", submitted_on=date(2026, 3, 1))
    decisions = decide_all([first, second], AS_OF, PARAMETERS, None, {"A-1": review("reject")})
    by_id = {d.application_id: d for d in decisions}
    assert by_id["A-1"].outcome == Outcome.REJECTED and by_id["A-2"].outcome == Outcome.AWARDED


def test_a_determination_of_another_department_or_dated_after_the_evaluation_is_not_applied():
    app = retrofit("ENERGY_SAVING", "2500", LOW_COVERAGE)
    other = decide_with(app, review("approve", "2100", department="财政厅"))
    assert other.outcome == Outcome.NEEDS_REVIEW and "REVIEW_NOT_LEAD_DEPARTMENT" in codes(other, None)
    late = decide_with(app, review("approve", "2100", reviewed_on=date(2026, 11, 25)))
    assert late.outcome == Outcome.NEEDS_REVIEW and "REVIEW_DATED_AFTER_EVALUATION" in codes(late, None)


def test_an_approved_investment_is_the_smaller_of_claimed_and_determined_in_wan():
    app = application(
        "EQUIPMENT_UPGRADE", project_code="XM-E", completion_date=date(2025, 6, 30),
        total_investment=D("30000000"), equipment_investment=D("20000000"),
    )  # fmt: skip
    # The equipment rule never asks for a review today: an approval of its award changes nothing.
    assert decide_with(app, review("approve", "800")).amount == D("4000000.00")


def test_a_second_determination_supersedes_the_first():
    early = review("reject", source_file="审核/2026-11-10-工信厅.xlsx")
    late = review("approve", "2100", source_file="审核/2026-11-20-工信厅.xlsx")
    same_file_later_row = review("approve", "2200", source_file="审核/2026-11-20-工信厅.xlsx", source_row=3)
    assert in_force([late, early])["A-1"] is late
    assert in_force([same_file_later_row, late, early])["A-1"] is same_file_later_row


def test_the_review_sheet_lists_the_ten_departments_of_the_catalog():
    assert SHEET_DEPARTMENTS == DEPARTMENTS
