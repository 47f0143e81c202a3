"""The nightly job end to end on the bundled sample: inbox -> decisions -> ledger -> reports."""

import json
from datetime import timedelta
from decimal import Decimal

from openpyxl import load_workbook

from samples.build import sample_sheets
from samples.workbook import write_batch
from tests.conftest import Nightly


def _balances(n: Nightly) -> dict[str, int]:
    return {
        r["award_key"]: int(r["net_fen"]) for r in n.rows("SELECT award_key, net_fen FROM award_balances")
    }


def test_the_sample_books_the_standards_awards_of_clause_seven(nightly: Nightly):
    result = nightly.run()
    assert result.success
    std = {k: v for k, v in _balances(nightly).items() if k.startswith("STANDARD_SETTING:")}
    by_code = {k.split(":", 2)[2]: v for k, v in std.items()}
    assert by_code == {  # keyed by the canonical form of the code (rules/codes.py), typed with a space
        "ISO6361-6:2025": 300_000_00,  # 主导 国际: 30 万元
        "GB/T3190-2025": 100_000_00,  # 参与 国家: 10 万元
        "YS/T429-2025": 200_000_00,  # 主导 行业: 20 万元
    }
    decisions = {r["application_id"]: r for r in nightly.rows("SELECT * FROM application_decisions")}
    assert decisions["STD-001"]["decision"] == "awarded"
    assert Decimal(str(decisions["STD-002"]["amount_fen"])) == 300_000_00
    assert decisions["STD-003"]["decision"] == "rejected"  # published before the policy took effect
    assert decisions["STD-004"]["decision"] == "rejected"  # the same standard, already claimed by STD-001
    reasons = json.loads(decisions["STD-004"]["reasons"])
    assert reasons[0]["code"] == "DUPLICATE_AWARD_KEY" and "STD-001" in reasons[0]["message"]


# The sample's intended outcome for every application (ALU_AS_OF=2026-11-24), amounts in yuan: the award for
# money programs, the estimated refund for VAT programs. Savings follow the sample's meter export.
SAMPLE_OUTCOMES = {
    "FA-INT-001": ("awarded", "5000000.00"),  # 2 points over 518 days = 8,633,333.33, capped at 500 万
    "DP-INT-001": (
        "awarded",
        "3215000.00",
    ),  # 2,840,000 (drawn before construction) + 375,000 (interest paid)
    "DP-INT-002": ("rejected", None),  # product value 1.4 × electrolytic aluminium
    "RC-INT-001": ("awarded", "1010000.00"),  # value ratio exactly 1.5; 60,000,000 × 2% × 303 / 360
    "EQ-001": ("awarded", "2400000.01"),  # exactly 2,000 万; 2,400,000.005 rounded half-up
    "EQ-002": ("rejected", None),  # 1,999.99 万
    "EQ-003": ("awarded", "5000000.00"),  # 20 % of 3 亿 exceeds the cap
    "ES-001": ("awarded", "460387.90"),  # verified saving below the 2,500 tce claimed: the smaller one counts
    "ES-002": ("rejected", None),  # 1,800 tce < 2,000
    "ES-003": ("needs_review", None),  # metering coverage below 95 %: an officer looks, nothing is guessed
    "WS-001": ("awarded", "600000.00"),  # 60,000 t claimed, no more than verified
    "GM-001": ("awarded", "1000000.00"),  # national green factory
    "GM-002": ("awarded", "500000.00"),  # regional green supply chain
    "GM-003": ("rejected", None),  # recognised the day before the effective date
    "IP-001": ("awarded", "3600000.00"),  # 20 % of 1,800 万
    "STD-001": ("awarded", "300000.00"),
    "STD-002": ("awarded", "300000.00"),
    "STD-003": ("rejected", None),
    "STD-004": ("rejected", None),
    "SC-001": ("awarded", "1000000.00"),  # regional champion
    "SC-002": ("awarded", "2000000.00"),  # then national, paid in full by default
    "QS-001": ("awarded", "1000000.00"),  # little giant
    "QS-002": ("awarded", "200000.00"),  # innovative SME
    "QS-003": ("rejected", None),  # recognised before the effective date
    "FA-VAT-001": ("eligible", "4000000.00"),  # 800 万 VAT paid × 50 %
    "RC-VAT-001": ("eligible", "1560000.00"),  # 520 万 × 30 %
    "FO-VAT-001": ("rejected", None),  # tax credit grade C, waste share 90 %
    "AO-GATE-001": ("compliant", None),
    "AO-GATE-002": ("non_compliant", None),
    "SM-GATE-001": ("compliant", None),  # transferred capacity with its paired project
    "SM-GATE-002": ("non_compliant", None),  # transferred capacity without one
    "SM-RS-001": ("eligible", None),
    "DP-FB-001": ("eligible", None),
    "RC-DB-001": ("eligible", None),
    "ST-001": ("eligible", None),
}


def test_the_sample_decides_every_application_as_intended_and_books_exactly_the_awards(nightly: Nightly):
    nightly.run()
    rows = nightly.rows("SELECT application_id, decision, amount_fen, reasons FROM application_decisions")
    decided = {
        r["application_id"]: (
            r["decision"],
            None if r["amount_fen"] is None else Decimal(r["amount_fen"]) / 100,
        )
        for r in rows
    }
    assert decided == {k: (d, None if a is None else Decimal(a)) for k, (d, a) in SAMPLE_OUTCOMES.items()}
    # Every decision explains itself; every rejection says which condition failed, in Chinese.
    for r in rows:
        reasons = json.loads(r["reasons"])
        assert reasons and all(x["message"] and x["clause"] for x in reasons)
        if r["decision"] in ("rejected", "non_compliant"):
            assert reasons[0]["passed"] is False and reasons[0]["code"].isupper()
    awarded = {k: Decimal(a) for k, (d, a) in SAMPLE_OUTCOMES.items() if d == "awarded"}
    ledger = nightly.rows("SELECT application_id, amount_fen, basis, rulebook_version FROM award_ledger")
    booked: dict[str, Decimal] = {}
    for entry in ledger:
        amount = Decimal(entry["amount_fen"]) / 100
        booked[entry["application_id"]] = booked.get(entry["application_id"], Decimal(0)) + amount
        assert entry["rulebook_version"].startswith("rb-")
        assert json.loads(entry["basis"])["explanation"]["parameters"]
    assert booked == awarded  # VAT estimates and determinations never enter the ledger


def test_every_application_of_the_sample_gets_a_decision(nightly: Nightly):
    nightly.run()
    decided = nightly.scalar("SELECT COUNT(*) FROM application_decisions")
    assert decided == len(sample_sheets()["applications"])
    # No application is ever awarded by a rule that does not exist.
    unimplemented = nightly.rows(
        "SELECT decision, reasons FROM application_decisions WHERE reasons LIKE :p",
        p="%PROGRAM_NOT_IMPLEMENTED%",
    )
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


def test_the_next_night_over_the_same_inbox_leaves_every_decision_word_for_word(nightly: Nightly):
    """Finance diffs application_decisions night by night: a night with nothing new changes only the stamps
    (run, time), not the reasons; the evaluation date stands in each run and each report's frame, not in the
    reasons (a reason citing it would rewrite thousands of unchanged decisions every night)."""
    content = (
        "SELECT application_id, decision, amount_fen, reasons, explanation, run_id FROM application_decisions"
        " ORDER BY application_id"
    )
    nightly.run()
    first = nightly.rows(content)
    nightly.as_of += timedelta(days=1)
    nightly.run()
    second = nightly.rows(content)
    assert [r["run_id"] for r in first] != [r["run_id"] for r in second]  # the next night did re-decide them
    stamps = ("run_id",)
    assert [{k: v for k, v in r.items() if k not in stamps} for r in second] == [
        {k: v for k, v in r.items() if k not in stamps} for r in first
    ]


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
        "enterprises",
        2,
        "统一社会信用代码",
        "CREDIT_CODE_CHECKSUM",
    )
    assert row["value"] == bad["credit_code"]
    assert "校验位" in row["message"]


def test_the_run_writes_a_workbook_per_department(nightly: Nightly):
    nightly.run()
    folder = nightly.reports / nightly.as_of.isoformat()
    books = sorted(p.name for p in folder.glob("*.xlsx"))
    assert "工信厅.xlsx" in books and len(books) == 11  # ten departments and the fund summary (专项资金汇总)
    # beside them, the review workbook of every department that leads a program (issue 15)
    assert (folder / "审核" / f"{nightly.as_of.isoformat()}-工信厅-审核结论.xlsx").exists()
    wb = load_workbook(folder / "工信厅.xlsx")
    assert wb.sheetnames[:4] == ["汇总", "明细", "待审核", "退回行"]  # then the department's own sheets
    rows = list(wb["汇总"].iter_rows(values_only=True))
    header = next(r for r in rows if r[0] == "序号")
    code, ledger = header.index("代码"), header.index("台账净额(元)")
    summary = {row[code]: row for row in rows if row[0] is not None and row[code]}
    assert summary["STANDARD_SETTING"][ledger] == 600000  # ledger net of clause 七 on the sample
