"""The production setup of deploy/: a Dagster instance on PostgreSQL, the ledger on PostgreSQL, the CLI job."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy import create_engine, make_url, text

from pipelines.definitions import defs
from tests.conftest import AS_OF
from tests.ops.conftest import PROJECT_ROOT

BIN = Path(sys.executable).parent
# One worker runs both server tests in turn: on two cores, a webserver and a CLI run side by side
# would each slow the other towards their timeouts.
pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.xdist_group("ops_servers")]


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(args, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def test_the_nightly_job_runs_with_the_instance_and_the_ledger_on_postgresql(
    fresh_pg_database: Callable[[], str],
    sample_inbox: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
):
    instance_url = make_url(fresh_pg_database())
    ledger_url = fresh_pg_database()
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "deploy" / "dagster.yaml", home / "dagster.yaml")
    deployment = {
        "DAGSTER_HOME": str(home),
        "DAGSTER_PG_USERNAME": instance_url.username or "",
        "DAGSTER_PG_PASSWORD": instance_url.password or "",
        "DAGSTER_PG_HOST": instance_url.host or "",
        "DAGSTER_PG_PORT": str(instance_url.port or 5432),
        "DAGSTER_PG_DB": instance_url.database or "",
        "ALU_INBOX_DIR": str(sample_inbox),
        "ALU_DATABASE_URL": ledger_url,
        "ALU_REPORTS_DIR": str(tmp_path / "reports"),
        "ALU_AS_OF": AS_OF.isoformat(),
    }
    for name, value in deployment.items():
        monkeypatch.setenv(name, value)
    env = dict(os.environ)

    # The upgrade steps of deploy/README.md, then the nightly job from the shell as cron or an operator runs it.
    _run([str(BIN / "dagster"), "instance", "migrate"], env)
    _run([sys.executable, "-m", "pipelines.migrate"], env)
    execute = [str(BIN / "dagster"), "job", "execute", "-m", "pipelines.definitions", "-j", "nightly_awards"]
    if defs.resolve_job_def("nightly_awards").executor_def.name == "multi_or_in_process_executor":
        # In one process: on a shared two-core CI machine each step subprocess spends ~8 s importing the
        # code location, and the executor is not what this test is about.
        in_process = tmp_path / "in_process.yaml"
        in_process.write_text("execution:\n  config:\n    in_process: {}\n", encoding="utf-8")
        execute += ["-c", str(in_process)]
    _run(execute, env)

    ledger = create_engine(ledger_url)
    try:
        with ledger.connect() as conn:
            entries = conn.execute(text("SELECT COUNT(*) FROM award_ledger")).scalar_one()
            standards = conn.execute(
                text("SELECT SUM(amount_fen) FROM award_ledger WHERE program = 'STANDARD_SETTING'")
            ).scalar_one()
            run_ids = {r[0] for r in conn.execute(text("SELECT DISTINCT run_id FROM award_ledger"))}
    finally:
        ledger.dispose()
    assert entries > 0
    assert standards == 600_000_00  # clause 七 on the sample: 30 + 10 + 20 万元

    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        runs = instance.get_runs()
        assert [(r.job_name, r.status) for r in runs] == [("nightly_awards", dg.DagsterRunStatus.SUCCESS)]
        assert run_ids == {runs[0].run_id}
        # The ledger pool got its limit from deploy/dagster.yaml the first time a step asked for it.
        assert instance.event_log_storage.get_concurrency_info("ledger_db").slot_count == 1
        settings = instance.get_settings("run_retries")
        assert settings["enabled"] and settings["max_retries"] == 1
        assert settings["retry_on_asset_or_op_failure"] is False
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
