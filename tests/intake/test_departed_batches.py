"""A batch that leaves the inbox, or is dated after the evaluation day, never moves money by its absence: the
operator is told which file, and a deleted correction is not silently undone until the operator confirms it."""

from __future__ import annotations

from datetime import date

import dagster as dg
import pytest

from pipelines.inbox_history import REMOVED_ENV
from samples.workbook import write_batch
from tests.conftest import Nightly
from tests.intake.conftest import valid_sheets

ORIGINAL = "2026-04-01-测试.xlsx"
CORRECTION = "2026-04-05-测试-更正.xlsx"
KEY_PREFIX = "STANDARD_SETTING:"


def _correction() -> dict[str, list[dict[str, object]]]:
    sheets = valid_sheets()
    return {
        "applications": [sheets["applications"][0]],  # T-STD-1 sent again, whole
        "standards": [dict(sheets["standards"][0], role="参与")],  # 主导 -> 参与: 20 万 -> 10 万
    }


def _check(result: dg.ExecuteInProcessResult, name: str) -> dg.AssetCheckEvaluation:
    return next(e for e in result.get_asset_check_evaluations() if e.check_name == name)


def _std_net(night: Nightly) -> int:
    return int(str(night.scalar(f"SELECT net_fen FROM award_balances WHERE award_key LIKE '{KEY_PREFIX}%'")))


def test_deleting_a_correction_does_not_re_pay_the_older_version_until_the_operator_confirms(
    night: Nightly, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.delenv(REMOVED_ENV, raising=False)
    write_batch(night.inbox / ORIGINAL, valid_sheets())
    night.run()
    assert _std_net(night) == 200_000_00
    write_batch(night.inbox / CORRECTION, _correction())
    night.run()
    assert _std_net(night) == 100_000_00
    entries = night.scalar("SELECT COUNT(*) FROM award_ledger")

    (night.inbox / CORRECTION).unlink()
    result = night.run()
    assert result.success
    assert night.scalar("SELECT COUNT(*) FROM award_ledger") == entries  # nothing booked again
    assert _std_net(night) == 100_000_00
    present = _check(result, "inbox_files_present")
    assert not present.passed and present.severity == dg.AssetCheckSeverity.WARN
    assert f"「{CORRECTION}」此前已受理，现已不在收件箱中" in (present.description or "")
    assert "T-STD-1" in (present.description or "") and REMOVED_ENV in (present.description or "")
    # the other application of the original batch is decided as usual
    assert night.scalar("SELECT COUNT(*) FROM application_decisions WHERE application_id = 'T-INT-1'") == 1

    # a confirmation with a typo confirms nothing, and says so instead of leaving the operator to guess why
    typo = CORRECTION.replace("更正", "更改")
    monkeypatch.setenv(REMOVED_ENV, f"{typo}, {ORIGINAL}")
    result = night.run()
    assert _std_net(night) == 100_000_00 and night.scalar("SELECT COUNT(*) FROM award_ledger") == entries
    description = _check(result, "inbox_files_present").description or ""
    assert f"{REMOVED_ENV} 中的「{typo}」不是已离开收件箱的批次，未生效" in description
    assert f"「{ORIGINAL}」仍在收件箱中" in description
    assert f"已离开收件箱的批次：{CORRECTION}" in description

    monkeypatch.setenv(REMOVED_ENV, CORRECTION)  # the operator: "yes, that correction is withdrawn"
    result = night.run()
    assert _std_net(night) == 200_000_00  # the original version, now on purpose
    assert night.scalar("SELECT COUNT(*) FROM award_ledger") == entries + 2  # a reversal and the award
    assert _check(result, "inbox_files_present").passed


def test_a_metering_export_that_has_disappeared_is_named_in_a_warning(night: Nightly):
    write_batch(night.inbox / ORIGINAL, valid_sheets())
    export = night.inbox / "2026-04-02-能耗在线监测.csv"
    export.write_text(
        "统一社会信用代码,计量点编号,介质,单位,读数类型,时间,数值\n"
        f"{valid_sheets()['enterprises'][0]['credit_code']},E1,电,kWh,区间量,2026-04-01T00:15:00,10\n",
        encoding="utf-8",
    )
    assert _check(night.run(), "inbox_files_present").passed
    export.unlink()
    present = _check(night.run(), "inbox_files_present")
    assert not present.passed and "2026-04-02-能耗在线监测.csv" in (present.description or "")


def test_re_running_a_past_night_ignores_batches_and_exports_dated_after_it(night: Nightly):
    write_batch(night.inbox / ORIGINAL, valid_sheets())
    later = valid_sheets()
    later["applications"] = [
        dict(later["applications"][0], application_id="T-STD-9", submitted_on="2026-11-30")
    ]
    later["standards"] = [dict(later["standards"][0], application_id="T-STD-9", standard_code="GB/T 1-2026",
                               published_on="2026-11-01")]  # fmt: skip
    write_batch(night.inbox / "2026-12-01-测试.xlsx", later)
    write_batch(night.inbox / "2026-12-01-测试-更正.xlsx", _correction())
    (night.inbox / "2026-12-01-能耗在线监测.csv").write_text(
        "统一社会信用代码,计量点编号,介质,单位,读数类型,时间,数值\n"
        f"{valid_sheets()['enterprises'][0]['credit_code']},E1,电,kWh,区间量,2026-11-30T00:15:00,10\n",
        encoding="utf-8",
    )
    night.as_of = date(2026, 11, 24)
    result = night.run()
    decided = {r["application_id"] for r in night.rows("SELECT application_id FROM application_decisions")}
    assert decided == {"T-STD-1", "T-INT-1"}
    assert _std_net(night) == 200_000_00  # the version in force on 2026-11-24, not the December correction
    assert night.scalar("SELECT COUNT(*) FROM metering_files") == 0
    present = _check(result, "inbox_files_present")
    assert "2026-12-01-测试.xlsx" in (present.description or "") and "重跑过去某一晚" in (
        present.description or ""
    )

    night.as_of = date(2026, 12, 2)  # the next night sees them
    night.run()
    decided = {r["application_id"] for r in night.rows("SELECT application_id FROM application_decisions")}
    assert "T-STD-9" in decided
    assert night.scalar("SELECT COUNT(*) FROM metering_files") == 1
    # now the December correction (主导 -> 参与) applies; the key is the standard's canonical code
    assert (
        night.scalar("SELECT net_fen FROM award_balances WHERE award_key LIKE '%YS/T429-2025'") == 100_000_00
    )


def test_a_past_night_re_run_after_a_later_correction_was_booked_does_not_move_money_back(night: Nightly):
    write_batch(night.inbox / ORIGINAL, valid_sheets())
    write_batch(night.inbox / "2026-12-01-测试-更正.xlsx", _correction())
    night.as_of = date(2026, 12, 2)
    night.run()
    assert _std_net(night) == 100_000_00
    entries = night.scalar("SELECT COUNT(*) FROM award_ledger")
    night.as_of = date(2026, 11, 24)
    result = night.run()
    assert night.scalar("SELECT COUNT(*) FROM award_ledger") == entries
    assert _std_net(night) == 100_000_00
    assert "T-STD-1" in (_check(result, "inbox_files_present").description or "")
