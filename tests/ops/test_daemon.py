"""The real `dagster-daemon`, against a temporary DAGSTER_HOME for a bounded time: the inbox sensor starts a run
for a new file, the schedule's 02:00 tick starts the nightly run, and both runs succeed."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.scheduler.instigation import (
    InstigatorState,
    InstigatorStatus,
    InstigatorType,
    ScheduleInstigatorData,
    TickStatus,
)
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import WorkspaceFileTarget

from pipelines.defs.sensors import FILE_TAG
from pipelines.settings import SAMPLE_INBOX
from samples.build import SAMPLE_FILE
from tests.conftest import AS_OF
from tests.ops.conftest import PROJECT_ROOT, settle

BIN = Path(sys.executable).parent
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("ops_servers")]
DEADLINE_SECONDS = 540


def _declare_schedule_started_yesterday(instance: dg.DagsterInstance) -> None:
    """The schedule as a daemon that has been running since yesterday sees it: today's 02:00 tick is due (the
    daemon only ever launches the latest missed tick of an unpartitioned schedule)."""
    target = WorkspaceFileTarget([str(PROJECT_ROOT / "workspace.yaml")])
    with WorkspaceProcessContext(instance, target) as context:
        location = context.create_request_context().get_code_location("alu_awards")
        (repository,) = location.get_repositories().values()
        schedule = repository.get_schedule("nightly_awards_schedule")
        instance.add_instigator_state(
            InstigatorState(
                schedule.get_remote_origin(),
                InstigatorType.SCHEDULE,
                InstigatorStatus.DECLARED_IN_CODE,
                ScheduleInstigatorData(schedule.cron_schedule, time.time() - 25 * 3600),
            )
        )


def test_the_daemon_runs_the_inbox_sensor_and_the_two_oclock_schedule_and_both_runs_succeed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    settle(Path(shutil.copy(SAMPLE_INBOX / SAMPLE_FILE, inbox / SAMPLE_FILE)))
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(
        "concurrency:\n  pools:\n    default_limit: 1\nrun_monitoring:\n  enabled: true\n"
        "telemetry:\n  enabled: false\n",
        encoding="utf-8",
    )
    env = dict(os.environ) | {
        "DAGSTER_HOME": str(home),
        "ALU_INBOX_DIR": str(inbox),
        "ALU_DATABASE_URL": f"sqlite:///{tmp_path / 'ledger.sqlite'}",
        "ALU_REPORTS_DIR": str(tmp_path / "reports"),
        "ALU_AS_OF": AS_OF.isoformat(),
    }
    monkeypatch.setenv("DAGSTER_HOME", str(home))  # the workspace context below reads the instance's settings
    with dg.DagsterInstance.from_config(str(home)) as instance:
        _declare_schedule_started_yesterday(instance)

    log = (tmp_path / "daemon.log").open("w")
    daemon = subprocess.Popen(
        [str(BIN / "dagster-daemon"), "run", "-w", "workspace.yaml"],
        cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + DEADLINE_SECONDS
        with dg.DagsterInstance.from_config(str(home)) as instance:
            while time.monotonic() < deadline:
                runs = instance.get_runs()
                if len(runs) >= 2 and all(r.is_finished for r in runs):
                    break
                assert daemon.poll() is None, (tmp_path / "daemon.log").read_text()[-3000:]
                time.sleep(2)
            runs = instance.get_runs()
            by_origin = {
                (
                    "sensor"
                    if FILE_TAG in r.tags
                    else "schedule"
                    if "dagster/schedule_name" in r.tags
                    else "?"
                ): r
                for r in runs
            }
            assert set(by_origin) == {"sensor", "schedule"}, [r.tags for r in runs]
            assert by_origin["sensor"].tags[FILE_TAG] == SAMPLE_FILE
            assert {r.status for r in runs} == {dg.DagsterRunStatus.SUCCESS}, (
                tmp_path / "daemon.log"
            ).read_text()[-3000:]
            ticks = {
                name: instance.get_ticks(origin_id, selector_id)
                for name, origin_id, selector_id in [
                    (s.instigator_name, s.instigator_origin_id, s.selector_id)
                    for s in instance.all_instigator_state()
                ]
            }
            for name in ("inbox_sensor", "nightly_awards_schedule"):
                assert any(t.status == TickStatus.SUCCESS and t.run_ids for t in ticks[name]), name
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        try:
            daemon.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(daemon.pid, signal.SIGKILL)
        log.close()
