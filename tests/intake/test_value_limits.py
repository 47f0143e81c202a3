"""Amounts and identifiers beyond what the tables hold are row rejections, the same on SQLite and PostgreSQL
(the limits are declared once, in schemas/sheets.py), and every other application is decided and booked."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.intake import read_batch
from samples.workbook import write_batch
from schemas.sheets import AWARD_KEY_MAX_LENGTH, ID_MAX_LENGTH, MAX_WAN, MAX_YUAN
from schemas.tables import ApplicationDecision, LedgerEntry
from tests.conftest import Nightly
from tests.intake.conftest import CODE, OTHER, valid_sheets


def _hostile() -> dict[str, list[dict[str, object]]]:
    sheets = valid_sheets()
    long_id = "A" * (ID_MAX_LENGTH + 1)
    sheets["applications"] += [
        {
            "application_id": "T-INT-2",
            "credit_code": OTHER,
            "program": "DEEP_PROCESSING_INTEREST",
            "project_code": "XM-T-2",
            "submitted_on": "2026-01-12",
            "total_investment_wan": "1" + "0" * 29,
        },
        {
            "application_id": long_id,
            "credit_code": CODE,
            "program": "标准研制奖励",
            "submitted_on": "2026-01-10",
        },
        {
            "application_id": "T-STD-2",
            "credit_code": CODE,
            "program": "标准研制奖励",
            "submitted_on": "2026-01-10",
        },
        {
            "application_id": "T-VAT-1",
            "credit_code": OTHER,
            "program": "RECYCLED_VAT",
            "submitted_on": "2026-01-10",
        },
    ]
    sheets["standards"] += [
        {
            "application_id": "T-STD-2",
            "standard_code": "GB/T " + "9" * 150 + "-2025",
            "standard_level": "国家",
            "role": "参与",
            "published_on": "2025-11-20",
        },
    ]
    sheets["vat_claims"] = [
        {"application_id": "T-VAT-1", "period_start": "2025-01-01", "period_end": "2025-12-31", "sales_wan": "100",
         "vat_paid_wan": "1" + "0" * 15, "waste_feed_share_pct": "80", "serious_violation_6m": "否",
         "restricted_or_eliminated": "否"},
    ]  # fmt: skip
    return sheets


def test_the_limits_fit_the_tables_they_protect():
    assert MAX_WAN * 10_000 <= MAX_YUAN < 10**12  # NUMERIC(14,2)
    assert LedgerEntry.__table__.c.award_key.type.length == AWARD_KEY_MAX_LENGTH
    assert ApplicationDecision.__table__.c.application_id.type.length == ID_MAX_LENGTH
    longest_program = max(len(p) for p in ("RECYCLED_PROCESSING_INTEREST", "STANDARD_SETTING"))
    assert longest_program + 1 + 18 + 1 + ID_MAX_LENGTH <= AWARD_KEY_MAX_LENGTH


def test_a_30_digit_amount_a_huge_vat_and_over_long_ids_are_row_rejections_in_chinese(tmp_path: Path):
    batch = read_batch(write_batch(tmp_path / "2026-04-01-测试.xlsx", _hostile()))
    found = {(r.sheet, r.row_number, r.column, r.code): r.message for r in batch.rejections}
    assert "万元" in found[("applications", 4, "项目总投资(万元)", "VALUE_TOO_LARGE")]
    assert "上限" in found[("vat_claims", 2, "已缴增值税(万元)", "VALUE_TOO_LARGE")]
    assert f"超过 {ID_MAX_LENGTH} 个字符" in found[("applications", 5, "申报编号", "TEXT_TOO_LONG")]
    assert "超过" in found[("standards", 3, "标准编号", "TEXT_TOO_LONG")]


def _night_on(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, sheets: dict[str, list[dict[str, object]]]
) -> Nightly:
    """A night on SQLite or the real PostgreSQL whose inbox holds one batch of `sheets`."""
    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_url")
    inbox = tmp_path / "inbox"
    write_batch(inbox / "2026-04-01-测试.xlsx", sheets)
    return Nightly(inbox=inbox, database_url=url, reports=tmp_path / "reports")


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_both_backends_refuse_the_same_rows_and_book_every_other_application(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
):
    night = _night_on(backend, request, tmp_path, _hostile())
    assert night.run().success
    codes = {(r["sheet"], r["code"]) for r in night.rows("SELECT sheet, code FROM submission_rejections")}
    assert {("applications", "VALUE_TOO_LARGE"), ("applications", "TEXT_TOO_LONG"),
            ("vat_claims", "VALUE_TOO_LARGE"), ("standards", "TEXT_TOO_LONG")} <= codes  # fmt: skip
    booked = {r["application_id"] for r in night.rows("SELECT application_id FROM award_ledger")}
    assert "T-STD-1" in booked
    decided = {r["application_id"]: r for r in night.rows("SELECT * FROM application_decisions")}
    assert {"T-INT-2", "A" * (ID_MAX_LENGTH + 1)}.isdisjoint(decided)  # the application row itself refused
    for incomplete in ("T-VAT-1", "T-STD-2"):  # a detail row refused: the application is not paid on it
        assert decided[incomplete]["decision"] != "awarded"
        assert "DETAIL_REJECTED" in str(decided[incomplete]["reasons"])


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_control_character_in_a_csv_batch_is_a_cell_rejection_on_both_backends(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
):
    # an .xlsx cannot hold a NUL, a CSV can: PostgreSQL refused the whole night's writes, SQLite stored it
    night = _night_on(backend, request, tmp_path, valid_sheets())
    folder = night.inbox / "2026-04-02-包头市"
    folder.mkdir()
    (folder / "enterprises.csv").write_text(
        f"credit_code,name,league_city\n{OTHER},鄂尔多斯\x00示例铝业,鄂尔多斯市\n", encoding="utf-8"
    )
    assert night.run().success
    rows = night.rows(
        "SELECT file, row_number, code, value FROM submission_rejections WHERE code = 'CONTROL_CHARACTER'"
    )
    assert [(r["file"], r["row_number"], r["value"]) for r in rows] == [
        ("2026-04-02-包头市", 2, "鄂尔多斯\\x00示例铝业")
    ]
    assert night.scalar("SELECT COUNT(*) FROM award_ledger WHERE application_id = 'T-STD-1'") == 1
