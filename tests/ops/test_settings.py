"""Wrong settings stop the night before anything is read or written, with one Chinese and English line each."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy import create_engine, inspect

from pipelines.defs.resources import resources_for
from pipelines.settings import today_in_shanghai
from tests.conftest import AS_OF, Nightly


def _night(nightly: Nightly, **changes: str) -> tuple[dg.ExecuteInProcessResult, dict[str, object]]:
    settings = {
        "inbox": str(nightly.inbox),
        "database_url": nightly.database_url,
        "reports": str(nightly.reports),
        "as_of": AS_OF.isoformat(),
    } | changes
    resources = resources_for(
        settings["inbox"], settings["database_url"], settings["reports"], settings["as_of"]
    )
    with dg.instance_for_test() as instance:
        result = nightly._materialize_with(instance, resources)
    return result, settings


def _failure(result: dg.ExecuteInProcessResult) -> tuple[str, str]:
    (failure,) = result.get_step_failure_events()
    data = failure.step_failure_data
    assert data.user_failure_data is not None, data.error
    return failure.step_key, data.user_failure_data.description or ""


def _nothing_written(result: dg.ExecuteInProcessResult, settings: dict[str, object]) -> None:
    assert result.get_asset_materialization_events() == []
    url = str(settings["database_url"])
    if url.startswith("sqlite:///") and Path(url.removeprefix("sqlite:///")).exists():
        assert "award_ledger" not in inspect(create_engine(url)).get_table_names()


@pytest.mark.parametrize(
    ("as_of", "line"),
    [
        (
            "2026/11/24",
            "评审日 ALU_AS_OF（resources.evaluation.config.as_of）「2026/11/24」不是 YYYY-MM-DD 格式的日期",
        ),
        ("20261124", "「20261124」不是 YYYY-MM-DD 格式"),
        ("2026-02-30", "「2026-02-30」不是 YYYY-MM-DD 格式"),
    ],
)
def test_an_evaluation_date_not_in_yyyy_mm_dd_form_stops_the_night_before_anything_is_read(
    nightly: Nightly, as_of: str, line: str
):
    result, settings = _night(nightly, as_of=as_of)
    step, description = _failure(result)
    assert step == "run_settings" and line in description and "ALU_AS_OF '" in description
    _nothing_written(result, settings)


def test_a_reports_folder_that_cannot_be_written_stops_the_night_before_any_award_is_booked(
    nightly: Nightly, tmp_path: Path
):
    # A file where the folder should be: what root sees of a read-only folder too (root ignores permissions).
    blocked = tmp_path / "reports"
    blocked.write_text("not a folder", encoding="utf-8")
    result, settings = _night(nightly, reports=str(blocked))
    step, description = _failure(result)
    assert step == "run_settings"
    assert f"报表目录 ALU_REPORTS_DIR（resources.reports.config.path）{blocked} 不可写" in description
    assert f"ALU_REPORTS_DIR {blocked} is not writable" in description
    _nothing_written(result, settings)


def test_an_evaluation_date_after_today_stops_the_night_before_anything_is_booked(nightly: Nightly):
    # 2062 for 2026: the night would book, into the append-only ledger, awards decided on a day not yet reached
    tomorrow = (today_in_shanghai() + timedelta(days=1)).isoformat()
    result, settings = _night(nightly, as_of=tomorrow)
    step, description = _failure(result)
    assert step == "run_settings"
    assert f"评审日 ALU_AS_OF（resources.evaluation.config.as_of）「{tomorrow}」晚于今天" in description
    assert f"ALU_AS_OF {tomorrow!r} is after today" in description
    _nothing_written(result, settings)
    assert _night(nightly, as_of=today_in_shanghai().isoformat())[0].success  # today itself is a night


@pytest.mark.parametrize(
    ("url", "line"),
    [
        ("ledger.sqlite", "不是有效的 SQLAlchemy URL"),
        ("postgresql+psycopg://alu@127.0.0.1:9/alu", "postgresql+psycopg://alu@127.0.0.1:9/alu 连接失败"),
    ],
)
def test_a_database_url_that_does_not_parse_or_connect_stops_the_night(nightly: Nightly, url: str, line: str):
    result, settings = _night(nightly, database_url=url)
    step, description = _failure(result)
    assert step == "run_settings" and "台账数据库 ALU_DATABASE_URL" in description and line in description
    _nothing_written(result, settings)


def test_a_missing_inbox_stops_the_night_and_every_wrong_setting_is_listed_at_once(
    nightly: Nightly, tmp_path: Path
):
    result, settings = _night(nightly, inbox=str(tmp_path / "no-such-inbox"), as_of="24.11.2026")
    _, description = _failure(result)
    assert (
        f"收件箱 ALU_INBOX_DIR（resources.inbox.config.path）{tmp_path / 'no-such-inbox'} 不存在"
        in description
    )
    assert "does not exist" in description and "「24.11.2026」" in description
    _nothing_written(result, settings)


def test_good_settings_are_recorded_by_the_first_asset_of_the_night(nightly: Nightly):
    result, _ = _night(nightly)
    assert result.success
    (first, *_) = result.get_asset_materialization_events()
    assert first.asset_key == dg.AssetKey("run_settings")
    assert first.materialization.metadata["as_of"].value == AS_OF.isoformat()


@pytest.mark.parametrize("setting", ["inbox", "reports"])
def test_a_blank_inbox_or_reports_path_stops_the_night_instead_of_meaning_the_current_folder(
    nightly: Nightly, setting: str
):
    # a path cleared in the Launchpad is "", which Python reads as the current folder: the project itself
    result, settings = _night(nightly, **{setting: "  " if setting == "inbox" else ""})
    step, description = _failure(result)
    variable = {"inbox": "ALU_INBOX_DIR", "reports": "ALU_REPORTS_DIR"}[setting]
    assert step == "run_settings" and f"{variable}" in description and "为空" in description
    assert "is empty" in description
    _nothing_written(result, settings)


@pytest.mark.parametrize("inside", ["reports", "ledger"])
def test_reports_or_a_sqlite_ledger_inside_the_inbox_stop_the_night_before_anything_is_written(
    nightly: Nightly, inside: str
):
    # the next night would list the dated report folder as a submission batch, or the ledger file as an
    # unsupported file in every department's 退回行
    changes = (
        {"reports": str(nightly.inbox / "报表")}
        if inside == "reports"
        else {"database_url": f"sqlite:///{nightly.inbox / 'ledger.sqlite'}"}
    )
    result, settings = _night(nightly, **changes)
    step, description = _failure(result)
    assert step == "run_settings" and "在收件箱" in description and "inside the inbox" in description
    variable = "ALU_REPORTS_DIR" if inside == "reports" else "ALU_DATABASE_URL"
    assert variable in description
    _nothing_written(result, settings)
    assert not (nightly.inbox / "报表").exists() and not (nightly.inbox / "ledger.sqlite").exists()


@pytest.mark.parametrize(
    ("variable", "line"),
    [
        ("ALU_DATABASE_URL", "台账数据库 ALU_DATABASE_URL（resources.ledger_db.config.url）"),
        ("ALU_OWNER_DATABASE_URL", "台账数据库 ALU_OWNER_DATABASE_URL"),
    ],
)
def test_migrating_a_database_that_cannot_be_reached_says_so_in_one_line_not_a_traceback(
    tmp_path: Path, variable: str, line: str
):
    # `make run` and `make dev` migrate first: a wrong URL ended there in 40 lines of psycopg's traceback
    env = {k: v for k, v in os.environ.items() if k not in ("ALU_DATABASE_URL", "ALU_OWNER_DATABASE_URL")}
    env[variable] = "postgresql+psycopg://nobody@127.0.0.1:1/ledger"
    env.setdefault("ALU_DATABASE_URL", f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    done = subprocess.run(
        [sys.executable, "-m", "pipelines.migrate"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert (
        line in done.stderr and "连接失败" in done.stderr and f"cannot connect to {variable}" in done.stderr
    )
