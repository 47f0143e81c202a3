"""Departments settle `needs_review` through a real nightly run: the workbook they get, fill and drop into 审核/."""

import json
import re
from dataclasses import replace
from datetime import date
from pathlib import Path

from openpyxl import Workbook, load_workbook

from schemas.sheets import REVIEWS
from tests.conftest import Nightly

HEADERS = ("application_id", "outcome", "determined_value", "opinion", "department", "reviewer", "reviewed_on",
           "document_no")  # fmt: skip


def drop_reviews(inbox: Path, name: str, *rows: dict[str, object]) -> Path:
    """A 审核结论 workbook as a department would send it, typed by hand."""
    wb = Workbook()
    ws = wb.active
    ws.title = REVIEWS.name
    ws.append([REVIEWS.column(k).header for k in HEADERS])
    for row in rows:
        ws.append([row.get(k) for k in HEADERS])
    path = inbox / "审核" / name
    path.parent.mkdir(exist_ok=True)
    wb.save(path)
    return path


def approve(app_id: str, value: object, **kw: object) -> dict[str, object]:
    return {"application_id": app_id, "outcome": "通过", "determined_value": value, "department": "工信厅",
            "reviewer": "张三", "reviewed_on": "2026-11-20", "document_no": "内工信节审〔2026〕8号"} | kw  # fmt: skip


def reject(app_id: str, opinion: str = "现场核查发现计量数据不实", **kw: object) -> dict[str, object]:
    return approve(app_id, None, outcome="不通过", opinion=opinion) | kw


def decision(n: Nightly, app_id: str) -> dict[str, object]:
    (row,) = n.rows("SELECT * FROM application_decisions WHERE application_id = :a", a=app_id)
    return row


def entries(n: Nightly, app_id: str) -> list[dict[str, object]]:
    return n.rows("SELECT * FROM award_ledger WHERE application_id = :a ORDER BY entry_id", a=app_id)


def test_an_official_fills_the_generated_review_workbook_and_the_next_night_awards_on_the_smaller_figure(
    nightly: Nightly,
):
    nightly.run()
    assert decision(nightly, "ES-003")["decision"] == "needs_review"  # 3,000 tce claimed, coverage below 95 %
    generated = nightly.reports / "2026-11-24" / "审核" / "2026-11-24-工信厅-审核结论.xlsx"
    wb = load_workbook(generated)
    ws = wb[REVIEWS.name]
    # the header row sits under the sheet's title frame
    head = next(r for r in range(1, 11) if any(c.value == "申报编号" for c in ws[r]))
    header = [c.value for c in ws[head]]
    col = {h: i + 1 for i, h in enumerate(header)}
    (row,) = [r for r in range(head + 1, ws.max_row + 1) if ws.cell(r, col["申报编号"]).value == "ES-003"]
    assert ws.cell(row, col["审核单位"]).value == "工信厅" and ws.cell(row, col["审核结论"]).value is None
    assert (
        "完整率" in ws.cell(row, col["待审核原因"]).value
        and "3000" in ws.cell(row, col["规则所用数值"]).value
    )
    lists = {dv.formula1 for dv in ws.data_validations.dataValidation if dv.type == "list"}
    assert '"通过,不通过"' in lists and '"工信厅"' in lists
    ws.cell(row, col["审核结论"]).value = "通过"
    ws.cell(row, col["核定值"]).value = 2600  # the third-party report verified 2,600 tce of the 3,000 claimed
    ws.cell(row, col["审核人"]).value = "李四"
    ws.cell(row, col["审核日期"]).value = date(2026, 11, 20)
    ws.cell(row, col["审核文号"]).value = "内工信节审〔2026〕12号"
    (nightly.inbox / "审核").mkdir()
    wb.save(nightly.inbox / "审核" / generated.name)

    nightly.run()
    settled = decision(nightly, "ES-003")
    assert (settled["decision"], settled["amount_fen"]) == ("awarded", 520_000_00)  # 2,600 × 200 元
    reasons = json.loads(str(settled["reasons"]))
    approved = next(r for r in reasons if r["code"] == "REVIEW_APPROVED")
    assert "李四" in approved["message"] and "2026-11-20" in approved["message"]
    assert "内工信节审〔2026〕12号" in approved["message"]
    (entry,) = entries(nightly, "ES-003")
    basis = json.loads(str(entry["basis"]))
    assert (basis["review"]["reviewer"], basis["review"]["document_no"]) == ("李四", "内工信节审〔2026〕12号")
    # the pending rows the official left blank are not determinations, and nothing was rejected
    assert nightly.rows("SELECT application_id, in_force FROM review_determinations") == [
        {"application_id": "ES-003", "in_force": 1}
    ]
    assert nightly.scalar("SELECT COUNT(*) FROM submission_rejections WHERE file LIKE '审核/%'") == 0

    count = nightly.scalar("SELECT COUNT(*) FROM award_ledger")
    nightly.run()  # re-running the night books nothing new and records no determination twice
    assert nightly.scalar("SELECT COUNT(*) FROM award_ledger") == count
    assert nightly.scalar("SELECT COUNT(*) FROM review_determinations") == 1


def test_the_review_workbook_shows_each_pending_reason_whole_and_its_figures_in_chinese(nightly: Nightly):
    """The 审核结论 sheet's columns are fitted to their text (no drawn width) and wrap: a row sized for one line
    clipped the pending reason to its first line on screen and on paper, and ran the lines of long reasons into
    the rows below in print. The figures the rules compared are named in Chinese (was `meter_id XG-E01`)."""
    nightly.run()
    ws = load_workbook(nightly.reports / "2026-11-24" / "审核" / "2026-11-24-工信厅-审核结论.xlsx")[
        REVIEWS.name
    ]
    head = next(r for r in range(1, 11) if any(c.value == "申报编号" for c in ws[r]))
    col = {c.value: c.column for c in ws[head]}
    (row,) = [r for r in range(head + 1, ws.max_row + 1) if ws.cell(r, col["申报编号"]).value == "ES-003"]
    reason = str(ws.cell(row, col["待审核原因"]).value)
    width = ws.column_dimensions[ws.cell(head, col["待审核原因"]).column_letter].width
    lines = len(reason) * 1.8 / width  # CJK-wide characters per line of the column, roughly
    assert lines > 5 and (ws.row_dimensions[row].height or 15) >= 13.5 * lines * 0.8
    figures = str(ws.cell(row, col["规则所用数值"]).value)
    assert "计量点 XG-E01" in figures and not re.search(r"[a-z]+_[a-z]+", figures), figures


def test_a_rejection_of_an_awarded_application_books_one_reversal_naming_the_review(nightly: Nightly):
    nightly.run()
    (award,) = entries(nightly, "ES-001")
    drop_reviews(nightly.inbox, "2026-11-21-工信厅.xlsx", reject("ES-001"))
    nightly.run()
    nightly.run()
    booked = entries(nightly, "ES-001")
    assert [(e["entry_type"], e["amount_fen"]) for e in booked] == [
        ("award", award["amount_fen"]),
        ("reversal", -int(str(award["amount_fen"]))),
    ]
    basis = json.loads(str(booked[1]["basis"]))
    assert basis["review"]["document_no"] == "内工信节审〔2026〕8号" and basis["review"]["reviewer"] == "张三"
    rejected = decision(nightly, "ES-001")
    assert rejected["decision"] == "rejected" and "现场核查发现计量数据不实" in str(rejected["reasons"])


def test_a_second_determination_supersedes_the_first_and_the_history_is_kept(nightly: Nightly):
    drop_reviews(nightly.inbox, "2026-11-20-工信厅.xlsx", approve("ES-003", 2600))
    nightly.run()
    assert decision(nightly, "ES-003")["amount_fen"] == 520_000_00
    drop_reviews(
        nightly.inbox, "2026-11-22-工信厅-复核.xlsx", approve("ES-003", "2,100", reviewed_on="2026-11-22")
    )
    nightly.run()
    assert decision(nightly, "ES-003")["amount_fen"] == 420_000_00
    assert [(e["entry_type"], e["amount_fen"]) for e in entries(nightly, "ES-003")] == [
        ("award", 520_000_00),
        ("reversal", -520_000_00),
        ("award", 420_000_00),
    ]
    history = nightly.rows(
        "SELECT source_file, in_force FROM review_determinations WHERE application_id = 'ES-003' ORDER BY source_file"
    )
    assert history == [
        {"source_file": "审核/2026-11-20-工信厅.xlsx", "in_force": 0},
        {"source_file": "审核/2026-11-22-工信厅-复核.xlsx", "in_force": 1},
    ]


def test_a_determination_that_breaks_the_rules_of_the_sheet_is_a_rejected_row(nightly: Nightly):
    drop_reviews(
        nightly.inbox,
        "2026-11-20-混合.xlsx",
        approve("ES-003", 2600, department="财政厅"),  # row 2: 财政厅 does not lead 五(2)
        approve("NO-SUCH-1", 2600),  # row 3
        approve("ES-003", 2600, reviewed_on="2026-11-25"),  # row 4: after the evaluation date
        approve("STD-001", 10),  # row 5: a standard's review determines no value
        reject("ES-001", opinion=None),  # row 6: 不通过 without the reason the enterprise is told
        approve("ES-003", None),  # row 7: approving a savings claim needs the verified saving
        approve("ES-003", 2600, outcome="同意"),  # row 8: not one of 通过 / 不通过
    )
    result = nightly.run()
    rows = nightly.rows(
        'SELECT sheet, row_number, "column", value, code, message FROM submission_rejections '
        "WHERE file = '审核/2026-11-20-混合.xlsx' ORDER BY row_number"
    )
    assert [(r["row_number"], r["column"], r["code"]) for r in rows] == [
        (2, "审核单位", "REVIEW_NOT_LEAD_DEPARTMENT"),
        (3, "申报编号", "REVIEW_UNKNOWN_APPLICATION"),
        (4, "审核日期", "REVIEW_AFTER_EVALUATION_DATE"),
        (5, "核定值", "DETERMINED_VALUE_NOT_APPLICABLE"),
        (6, "审核意见", "OPINION_REQUIRED"),
        (7, "核定值", "DETERMINED_VALUE_REQUIRED"),
        (8, "审核结论", "ENUM_VALUE"),
    ]
    assert {r["sheet"] for r in rows} == {"reviews"} and all(
        "审核" in r["message"] or r["message"] for r in rows
    )
    assert rows[0]["value"] == "财政厅" and "工信厅" in rows[0]["message"]
    assert nightly.scalar("SELECT COUNT(*) FROM review_determinations") == 0
    assert decision(nightly, "ES-003")["decision"] == "needs_review"  # nothing was applied
    assert decision(nightly, "ES-001")["decision"] == "awarded"
    (balance,) = [c for c in result.get_asset_check_evaluations() if c.check_name == "review_rows_balance"]
    assert balance.passed
    # the 审核/ folder is never read as a submission batch
    assert nightly.scalar("SELECT COUNT(*) FROM submission_rejections WHERE file = '审核'") == 0
    assert nightly.scalar("SELECT COUNT(*) FROM intake_counts WHERE file = '审核'") == 0


def test_the_pending_sheet_says_since_when_and_for_how_many_days_an_application_has_waited(nightly: Nightly):
    nightly.run()
    later = replace(nightly, as_of=date(2026, 11, 30))
    later.run()
    wb = load_workbook(later.reports / "2026-11-30" / "工信厅.xlsx")
    rows = list(wb["待审核"].iter_rows(values_only=True))
    header = next(r for r in rows if r and "申报编号" in r)
    es3 = next(r for r in rows if r and "ES-003" in r)
    shown = dict(zip(header, es3, strict=False))
    assert shown["待审核起始日"].date() == date(2026, 11, 24) and shown["已待审核(天)"] == 6
