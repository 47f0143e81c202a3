"""The nightly job end to end on the bundled sample: inbox -> decisions -> ledger -> reports."""

import json
from decimal import Decimal

from openpyxl import load_workbook

from samples.build import sample_sheets
from samples.workbook import write_batch
from tests.conftest import Nightly


def _balances(n: Nightly) -> dict[str, int]:
    return {r["award_key"]: int(r["net_fen"]) for r in n.rows("SELECT award_key, net_fen FROM award_balances")}


def test_the_sample_books_the_standards_awards_of_clause_seven(nightly: Nightly):
    result = nightly.run()
    assert result.success
    std = {k: v for k, v in _balances(nightly).items() if k.startswith("STANDARD_SETTING:")}
    by_code = {k.split(":", 2)[2]: v for k, v in std.items()}
    assert by_code == {
        "ISO 6361-6:2025": 300_000_00,  # 主导 国际: 30 万元
        "GB/T 3190-2025": 100_000_00,  # 参与 国家: 10 万元
        "YS/T 429-2025": 200_000_00,  # 主导 行业: 20 万元
    }
    decisions = {r["application_id"]: r for r in nightly.rows("SELECT * FROM application_decisions")}
    assert decisions["STD-001"]["decision"] == "awarded"
    assert Decimal(str(decisions["STD-002"]["amount_fen"])) == 300_000_00
    assert decisions["STD-003"]["decision"] == "rejected"  # published before the policy took effect
    assert decisions["STD-004"]["decision"] == "rejected"  # the same standard, already claimed by STD-001
    reasons = json.loads(decisions["STD-004"]["reasons"])
    assert reasons[0]["code"] == "DUPLICATE_AWARD_KEY" and "STD-001" in reasons[0]["message"]


def test_every_application_of_the_sample_gets_a_decision(nightly: Nightly):
    nightly.run()
    decided = nightly.scalar("SELECT COUNT(*) FROM application_decisions")
    assert decided == len(sample_sheets()["applications"])
    # No application is ever awarded by a rule that does not exist.
    unimplemented = nightly.rows("SELECT decision, reasons FROM application_decisions WHERE reasons LIKE :p",
                                 p="%PROGRAM_NOT_IMPLEMENTED%")
    assert all(r["decision"] == "needs_review" for r in unimplemented)


def test_a_second_run_over_the_same_inbox_books_nothing_new(nightly: Nightly):
    nightly.run()
    entries = nightly.scalar("SELECT COUNT(*) FROM award_ledger")
    rejections = nightly.scalar("SELECT COUNT(*) FROM submission_rejections")
    balances = _balances(nightly)
    nightly.run()
    assert nightly.scalar("SELECT COUNT(*) FROM award_ledger") == entries
    assert nightly.scalar("SELECT COUNT(*) FROM submission_rejections") == rejections
    assert _balances(nightly) == balances


def test_a_row_with_a_bad_credit_code_lands_in_submission_rejections(nightly: Nightly):
    sheets = sample_sheets()
    bad = dict(sheets["enterprises"][0])
    good = bad["credit_code"]
    bad["credit_code"] = good[:-1] + ("0" if good[-1] != "0" else "1")  # wrong check digit
    bad["name"] = "校验位错误的企业"
    write_batch(nightly.inbox / "2026-03-02-包头市.xlsx", {"enterprises": [bad]})
    nightly.run()
    rows = nightly.rows("SELECT * FROM submission_rejections WHERE file = :f", f="2026-03-02-包头市.xlsx")
    assert len(rows) == 1
    row = rows[0]
    assert (row["sheet"], row["row_number"], row["column"], row["code"]) == (
        "enterprises", 2, "统一社会信用代码", "CREDIT_CODE_CHECKSUM")
    assert row["value"] == bad["credit_code"]
    assert "校验位" in row["message"]


def test_the_run_writes_a_workbook_per_department(nightly: Nightly):
    nightly.run()
    folder = nightly.reports / nightly.as_of.isoformat()
    books = sorted(p.name for p in folder.glob("*.xlsx"))
    assert "工信厅.xlsx" in books and len(books) == 10
    wb = load_workbook(folder / "工信厅.xlsx")
    assert wb.sheetnames == ["汇总", "明细", "待审核", "退回行"]
    summary = {row[0]: row for row in wb["汇总"].iter_rows(min_row=4, values_only=True)}
    assert summary["STANDARD_SETTING"][-1] == 600000  # ledger net of clause 七 on the sample
