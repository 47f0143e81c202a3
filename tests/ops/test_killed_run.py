"""A run killed after its booking committed: the next run marks it failed, books nothing twice, writes the reports."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from pipelines.stale_runs import PID_TAG
from tests.conftest import AS_OF
from tests.ops.conftest import PROJECT_ROOT

BIN = Path(sys.executable).parent
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("ops_servers")]
EXECUTE = [
    str(BIN / "dagster"), "job", "execute", "-m", "pipelines.definitions", "-j", "nightly_awards",
    "-c", "pipelines/run_config/quiet.yaml",
]  # fmt: skip


def _ledger_rows(path: Path) -> int:
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM award_ledger").fetchone()[0])
    except sqlite3.Error:
        return 0  # not created yet, or being written


def test_a_run_killed_after_booking_is_marked_failed_by_the_next_run_which_books_nothing_twice_and_writes_the_reports(
    sample_inbox: Path, tmp_path: Path
):
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(
        "run_monitoring:\n  enabled: true\ntelemetry:\n  enabled: false\n", encoding="utf-8"
    )
    ledger = tmp_path / "ledger.sqlite"
    reports = tmp_path / "reports"
    env = dict(os.environ) | {
        "DAGSTER_HOME": str(home),
        "ALU_INBOX_DIR": str(sample_inbox),
        "ALU_DATABASE_URL": f"sqlite:///{ledger}",
        "ALU_REPORTS_DIR": str(reports),
        "ALU_AS_OF": AS_OF.isoformat(),
    }
    night = subprocess.Popen(
        EXECUTE, cwd=PROJECT_ROOT, env=env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 300
    while _ledger_rows(ledger) == 0 and night.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    os.killpg(night.pid, signal.SIGKILL)  # the moment the booking is committed: before the checks and reports
    night.wait(30)
    booked = _ledger_rows(ledger)
    assert booked > 0
    with dg.DagsterInstance.from_config(str(home)) as instance:
        (killed,) = instance.get_runs()
        assert killed.status == dg.DagsterRunStatus.STARTED  # nothing is left to say it ended
        assert killed.tags[PID_TAG] == str(night.pid)
    shutil.rmtree(reports / AS_OF.isoformat(), ignore_errors=True)

    done = subprocess.run(EXECUTE, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]

    with dg.DagsterInstance.from_config(str(home)) as instance:
        runs = {r.run_id: r for r in instance.get_runs()}
        assert runs[killed.run_id].status == dg.DagsterRunStatus.FAILURE
        (next_run,) = [r for r in runs.values() if r.run_id != killed.run_id]
        assert next_run.status == dg.DagsterRunStatus.SUCCESS
        failure = instance.get_records_for_run(killed.run_id, of_type=dg.DagsterEventType.RUN_FAILURE).records
        assert failure and "已不存在（被强行终止或主机重启）" in (failure[0].event_log_entry.message or "")
    assert _ledger_rows(ledger) == booked  # the second run books nothing twice
    assert len(list((reports / AS_OF.isoformat()).glob("*.xlsx"))) >= 10
