"""The inbox's 审核/ folder is held to the inbox's own rules: a link is not followed outside the inbox, a file the
review reader cannot take is a rejection the department is told of (not silently passed over), and a past night
re-run neither reads determinations dated after it nor decides again what they settled."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import dagster as dg
from openpyxl import load_workbook

from pipelines.inbox import ReviewListing
from pipelines.reviews import read_inbox
from tests.conftest import Nightly
from tests.reviews.test_nightly_reviews import approve, decision, drop_reviews, entries, reject


def _check(result: dg.ExecuteInProcessResult, name: str) -> dg.AssetCheckEvaluation:
    return next(e for e in result.get_asset_check_evaluations() if e.check_name == name)


def _review_metadata(result: dg.ExecuteInProcessResult, key: str) -> object:
    (event,) = [
        e
        for e in result.get_asset_materialization_events()
        if e.asset_key.to_user_string() == "review_determinations"
    ]
    return event.materialization.metadata[key].value


def _refused(n: Nightly) -> set[tuple[object, object]]:
    return {
        (r["file"], r["code"])
        for r in n.rows("SELECT file, code FROM submission_rejections WHERE file LIKE '审核%'")
    }


def test_a_link_in_the_reviews_folder_to_a_workbook_outside_the_inbox_is_refused_and_never_read(
    nightly: Nightly, tmp_path: Path
):
    (tmp_path / "elsewhere").mkdir()
    private = drop_reviews(tmp_path / "elsewhere", "2026-11-20-工信厅.xlsx", approve("ES-003", 2600))
    (nightly.inbox / "审核").mkdir()
    os.symlink(private, nightly.inbox / "审核" / "2026-11-20-工信厅.xlsx")
    nightly.run()
    assert decision(nightly, "ES-003")["decision"] == "needs_review"  # the approval out there was not read
    assert nightly.scalar("SELECT COUNT(*) FROM review_determinations") == 0
    assert _refused(nightly) == {("审核/2026-11-20-工信厅.xlsx", "FILE_OUTSIDE_INBOX")}


def test_a_reviews_folder_that_is_itself_a_link_outside_the_inbox_is_refused_and_never_read(
    nightly: Nightly, tmp_path: Path
):
    (tmp_path / "elsewhere").mkdir()
    drop_reviews(tmp_path / "elsewhere", "2026-11-20-工信厅.xlsx", approve("ES-003", 2600))
    os.symlink(tmp_path / "elsewhere" / "审核", nightly.inbox / "审核")
    nightly.run()
    assert decision(nightly, "ES-003")["decision"] == "needs_review"
    assert nightly.scalar("SELECT COUNT(*) FROM review_determinations") == 0
    assert _refused(nightly) == {("审核", "FILE_OUTSIDE_INBOX")}


def test_a_determination_sent_as_xls_pdf_or_a_folder_is_a_rejection_in_the_reports_not_passed_over(
    nightly: Nightly,
):
    folder = nightly.inbox / "审核"
    folder.mkdir()
    (folder / "2026-11-20-工信厅.xls").write_bytes(b"\xd0\xcf\x11\xe0 an Excel 97 workbook")
    (folder / "2026-11-20-工信厅-盖章件.pdf").write_bytes(b"%PDF-1.7 a signed scan")
    (folder / "2026-11-21-能源局").mkdir()
    (folder / "~$2026-11-20-工信厅.xlsx").write_bytes(b"Excel's lock file: nobody's")
    result = nightly.run()
    assert _refused(nightly) == {
        ("审核/2026-11-20-工信厅.xls", "FILE_UNSUPPORTED"),
        ("审核/2026-11-20-工信厅-盖章件.pdf", "FILE_UNSUPPORTED"),
        ("审核/2026-11-21-能源局", "FILE_UNSUPPORTED"),
    }
    assert sorted(_review_metadata(result, "files_refused")) == sorted(f for f, _ in _refused(nightly))
    # the department reads it in its report's 退回行, told what to do
    wb = load_workbook(nightly.reports / "2026-11-24" / "工信厅.xlsx", read_only=True)
    shown = [r for r in wb["退回行"].iter_rows(values_only=True) if "审核/2026-11-20-工信厅.xls" in r]
    wb.close()
    assert shown and any("另存为 .xlsx" in str(v) for v in shown[0])


def test_re_running_a_past_night_neither_reads_nor_decides_again_on_determinations_made_after_it(
    nightly: Nightly,
):
    nightly.run()  # 2026-11-24: ES-003 waits for its review
    assert decision(nightly, "ES-003")["decision"] == "needs_review"
    drop_reviews(nightly.inbox, "2026-11-25-工信厅.xlsx", approve("ES-003", 2600, reviewed_on="2026-11-25"))
    nightly.as_of = date(2026, 11, 25)
    nightly.run()
    assert decision(nightly, "ES-003")["amount_fen"] == 520_000_00
    (awarded_es001,) = entries(nightly, "ES-001")
    booked = nightly.scalar("SELECT COUNT(*) FROM award_ledger")
    # a determination dropped in later still, dated 2026-11-26: a past night must not read it
    drop_reviews(nightly.inbox, "2026-11-26-工信厅.xlsx", reject("ES-001"))

    nightly.as_of = date(2026, 11, 24)
    result = nightly.run()
    assert nightly.scalar("SELECT COUNT(*) FROM award_ledger") == booked  # no money moved either way
    assert (
        decision(nightly, "ES-003")["amount_fen"] == 520_000_00
    )  # held back, not decided without its review
    assert decision(nightly, "ES-001")["decision"] == "awarded"
    assert nightly.scalar("SELECT COUNT(*) FROM review_determinations") == 1  # the 11-26 file was not read
    assert _refused(nightly) == set()
    assert _review_metadata(result, "files_after_evaluation_day") == [
        "审核/2026-11-25-工信厅.xlsx",
        "审核/2026-11-26-工信厅.xlsx",
    ]
    warning = _check(result, "inbox_files_present").description or ""
    assert "审核/2026-11-26-工信厅.xlsx" in warning
    assert "「审核/2026-11-25-工信厅.xlsx」" in warning and "ES-003" in warning

    nightly.as_of = date(2026, 11, 26)  # the night it is dated: read, and ES-001's award reversed
    nightly.run()
    assert [e["entry_type"] for e in entries(nightly, "ES-001")] == ["award", "reversal"]
    assert entries(nightly, "ES-001")[0]["amount_fen"] == awarded_es001["amount_fen"]


def test_a_determination_file_gone_or_unreadable_when_read_is_that_files_rejection_only(tmp_path: Path):
    """Between the listing and the read a file may go or lose its permission: its rejection, not the night's end."""
    gone = tmp_path / "审核" / "2026-11-20-工信厅.xlsx"
    listing = ReviewListing(files=[gone], names={gone: "审核/2026-11-20-工信厅.xlsx"})
    intake = read_inbox(listing, {}, date(2026, 11, 24))
    assert [(r.file, r.code) for r in intake.rejections] == [
        ("审核/2026-11-20-工信厅.xlsx", "FILE_UNREADABLE")
    ]
    assert "请检查文件权限" in intake.rejections[0].message and intake.new == []
