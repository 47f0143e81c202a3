"""The inbox as an operator and a hostile sender see it: a wrong folder stops the night before anything is
written, every file is either read or named as refused, and nothing outside the inbox is ever read."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
from openpyxl import load_workbook

from samples.workbook import write_batch
from tests.conftest import Nightly
from tests.intake.conftest import valid_sheets
from tests.markdown import rendered

BATCH = "2026-04-01-测试.xlsx"


def _check(result: dg.ExecuteInProcessResult, name: str) -> dg.AssetCheckEvaluation:
    found = [e for e in result.get_asset_check_evaluations() if e.check_name == name]
    assert len(found) == 1, name
    return found[0]


def _returned_rows(night: Nightly) -> list[tuple[object, ...]]:
    """Every row of every department report's 退回行 sheet."""
    rows = []
    for path in sorted(night.reports.rglob("*.xlsx")):
        wb = load_workbook(path, read_only=True)
        if "退回行" in wb.sheetnames:
            rows += [tuple(r) for r in wb["退回行"].iter_rows(values_only=True)]
        wb.close()
    return rows


def test_a_missing_inbox_fails_the_run_in_chinese_and_english_before_anything_is_written(tmp_path: Path):
    database = tmp_path / "ledger.sqlite"
    night = Nightly(
        inbox=tmp_path / "没有这个目录", database_url=f"sqlite:///{database}", reports=tmp_path / "r"
    )
    result = night.run(raise_on_error=False)
    assert not result.success
    failures = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    messages = " ".join(str(e.step_failure_data.user_failure_data.description) for e in failures)
    assert {e.step_key for e in failures} == {"run_settings"}  # the first step: nothing else runs
    assert "收件箱 ALU_INBOX_DIR" in messages and "不存在" in messages and "does not exist" in messages
    assert not database.exists()  # not even the schema was created
    assert not (tmp_path / "r").exists()


def test_an_inbox_that_is_a_file_fails_the_run_too(tmp_path: Path):
    (tmp_path / "inbox.txt").write_text("not a folder")
    night = Nightly(inbox=tmp_path / "inbox.txt", database_url=f"sqlite:///{tmp_path / 'l.sqlite'}",
                    reports=tmp_path / "r")  # fmt: skip
    assert not night.run(raise_on_error=False).success
    assert not (tmp_path / "l.sqlite").exists()


def test_every_unsupported_file_is_a_rejection_in_the_reports_and_in_the_check_to_fix(night: Nightly):
    write_batch(night.inbox / BATCH, valid_sheets())
    for name in ("2026-04-02-包头市.xls", "2026-04-02-鄂尔多斯.xlsm", "说明.txt"):
        (night.inbox / name).write_bytes(b"PK\x03\x04 not what it says")
    (night.inbox / "~$2026-04-01-测试.xlsx").write_bytes(b"lock")  # Excel's own lock file: nobody's
    # what Windows Explorer and macOS leave in a shared folder: nobody sent them, no department should see them
    for name in ("Thumbs.db", "desktop.ini", "DESKTOP.INI", ".DS_Store", "._2026-04-01-测试.xlsx"):
        (night.inbox / name).write_bytes(b"system")
    (night.inbox / "审核").mkdir()
    (night.inbox / "审核" / "Thumbs.db").write_bytes(b"system")
    result = night.run()
    assert night.scalar("SELECT COUNT(*) FROM submission_rejections WHERE lower(file) LIKE '%thumbs.db'") == 0
    assert (
        night.scalar("SELECT COUNT(*) FROM submission_rejections WHERE lower(file) LIKE '%desktop.ini'") == 0
    )
    refused = night.rows(
        "SELECT file, code, message FROM submission_rejections WHERE code = 'FILE_UNSUPPORTED'"
    )
    assert sorted(r["file"] for r in refused) == [
        "2026-04-02-包头市.xls",
        "2026-04-02-鄂尔多斯.xlsm",
        "说明.txt",
    ]
    assert all("请用 Excel 另存为 .xlsx 后重新提交" in str(r["message"]) for r in refused)
    returned = _returned_rows(night)
    for name in ("2026-04-02-包头市.xls", "2026-04-02-鄂尔多斯.xlsm", "说明.txt"):
        assert any(name in row and "FILE_UNSUPPORTED" in row for row in returned), name
    to_fix = _check(result, "rejections_to_fix")
    assert not to_fix.passed and "重新上传 2026-04-02-包头市.xls" in rendered(to_fix.description)
    assert night.scalar("SELECT COUNT(*) FROM award_ledger WHERE application_id = 'T-STD-1'") == 1


def test_a_rejection_superseded_by_a_later_accepted_resend_is_no_longer_listed_to_fix(night: Nightly):
    (night.inbox / "2026-04-01-测试.xls").write_bytes(b"\xd0\xcf\x11\xe0 old Excel")
    wrong = valid_sheets()
    wrong["applications"][0]["submitted_on"] = "2026-13-40"  # T-STD-1 rejected in the first batch
    write_batch(night.inbox / "2026-03-31-测试.xlsx", wrong)
    result = night.run()
    to_fix = _check(result, "rejections_to_fix")
    assert "2026-04-01-测试.xls" in rendered(to_fix.description)
    assert "2026-03-31-测试.xlsx" in rendered(to_fix.description)

    write_batch(night.inbox / BATCH, valid_sheets())  # the same workbook saved as .xlsx, T-STD-1 corrected
    result = night.run()
    to_fix = _check(result, "rejections_to_fix")
    assert to_fix.passed, to_fix.description
    assert to_fix.metadata["superseded_by_resend"].value >= 2
    # the record is kept: the reports still show what was sent back, and why
    assert night.scalar("SELECT COUNT(*) FROM submission_rejections WHERE file = '2026-04-01-测试.xls'") == 1


def test_a_csv_link_to_a_private_file_outside_the_inbox_is_refused_and_never_read(
    night: Nightly, tmp_path: Path
):
    secret = tmp_path / "private" / "工资.csv"
    secret.parent.mkdir()
    secret.write_text("机密第一行,张三,12345\n", encoding="utf-8")
    os.symlink(secret, night.inbox / "2026-04-03-计量.csv")
    os.symlink(secret.parent, night.inbox / "2026-04-03-文件夹")
    write_batch(night.inbox / BATCH, valid_sheets())
    result = night.run()
    assert result.success
    everything = night.rows('SELECT file, "column", value, message FROM submission_rejections')
    assert not any("机密第一行" in str(v) for r in everything for v in r.values())
    assert not any("机密第一行" in str(v) for row in _returned_rows(night) for v in row)
    refused = {
        r["file"]
        for r in night.rows("SELECT file FROM submission_rejections WHERE code = 'FILE_OUTSIDE_INBOX'")
    }
    assert refused == {"2026-04-03-计量.csv", "2026-04-03-文件夹"}
    assert night.scalar("SELECT COUNT(*) FROM metering_files") == 0


def test_a_directory_link_loop_in_the_inbox_or_in_a_batch_folder_is_not_walked(night: Nightly):
    os.symlink(night.inbox, night.inbox / "2026-04-04-循环")
    folder = night.inbox / "2026-04-05-CSV批次"
    folder.mkdir()
    os.symlink(folder, folder / "loop")
    (folder / "enterprises.csv").write_text("统一社会信用代码,企业名称,所属盟市\n", encoding="utf-8")
    write_batch(night.inbox / BATCH, valid_sheets())
    assert night.run().success
    codes = {(r["file"], r["code"]) for r in night.rows("SELECT file, code FROM submission_rejections")}
    assert ("2026-04-04-循环", "FILE_OUTSIDE_INBOX") in codes
    assert ("2026-04-05-CSV批次", "FILE_OUTSIDE_INBOX") in codes  # its `loop` entry


def test_the_reviews_folder_is_not_a_submission_batch(night: Nightly):
    write_batch(night.inbox / BATCH, valid_sheets())
    (night.inbox / "审核").mkdir()
    (night.inbox / "审核" / "2026-05-01-工信厅审核.xlsx").write_bytes(b"reviews, another reader's business")
    result = night.run()
    files = next(e.materialization.metadata["files"].value for e in result.get_asset_materialization_events()
             if e.asset_key.to_user_string() == "submissions")  # fmt: skip
    assert files == [BATCH]
    # The file is the review reader's to judge (it refuses it as no workbook), never the batch reader's.
    refused = night.rows("SELECT file, sheet, code FROM submission_rejections WHERE file LIKE '%审核%'")
    assert refused == [
        {"file": "审核/2026-05-01-工信厅审核.xlsx", "sheet": "workbook", "code": "FILE_UNREADABLE"}
    ]


def test_a_file_name_in_gb18030_bytes_is_read_and_shown_in_chinese(night: Nightly):
    name = "2026-04-06-包头市.xlsx"
    raw = os.fsencode(night.inbox) + b"/" + name.encode("gb18030")
    write_batch(night.inbox / "tmp.xlsx", valid_sheets())
    os.rename(night.inbox / "tmp.xlsx", raw)
    result = night.run()
    assert result.success
    decided = night.rows("SELECT source_file FROM application_decisions WHERE application_id = 'T-STD-1'")
    assert decided == [{"source_file": name}]
    assert night.scalar("SELECT COUNT(*) FROM award_ledger WHERE application_id = 'T-STD-1'") == 1
