"""The code location loads, and its graph, jobs and schedule are what operators expect."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import dagster as dg
import pytest
from sqlalchemy import Engine, event

import assets as asset_package
from pipelines.definitions import defs
from pipelines.settings import SAMPLE_INBOX
from tests.conftest import Nightly

WRITES = ("INSERT", "UPDATE", "DELETE", "CREATE", "DROP", "ALTER", "REPLACE")


@dataclass
class Night:
    result: dg.ExecuteInProcessResult
    writers: set[dg.AssetKey]  # the assets whose steps wrote the ledger database


@pytest.fixture(scope="module")
def night(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Night]:
    """The real `nightly_awards` job over the sample, on a SQLite file, with every statement that changes that
    database attributed to the asset step that sent it."""
    tmp = tmp_path_factory.mktemp("night")
    shutil.copytree(SAMPLE_INBOX, tmp / "inbox")
    n = Nightly(
        inbox=tmp / "inbox", database_url=f"sqlite:///{tmp / 'ledger.sqlite'}", reports=tmp / "reports"
    )
    writers: set[dg.AssetKey] = set()

    def on_execute(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if conn.engine.url.database != str(tmp / "ledger.sqlite"):
            return  # Dagster's own instance storage
        if statement.lstrip().split(None, 1)[0].upper() in WRITES:
            writers.update(dg.AssetExecutionContext.get().assets_def.keys)

    # The code location's own assets, checks and nightly job (its selection, its executor), with this test's
    # resources in place of the environment's.
    job = dg.Definitions(
        assets=defs.assets,
        asset_checks=defs.asset_checks,
        jobs=[next(j for j in defs.jobs or () if j.name == "nightly_awards")],
        resources=n.resources(),
    ).resolve_job_def("nightly_awards")
    event.listen(Engine, "before_cursor_execute", on_execute)
    try:
        with dg.instance_for_test() as instance:
            result = job.execute_in_process(instance=instance)
            yield Night(result, writers)
    finally:
        event.remove(Engine, "before_cursor_execute", on_execute)


def test_the_code_location_loads_cleanly():
    dg.Definitions.validate_loadable(defs)


def test_one_nightly_run_materialises_every_asset_and_evaluates_every_check_of_the_asset_package(
    night: Night,
):
    assert night.result.success
    package_assets = {k for a in dg.load_assets_from_package_module(asset_package) for k in a.keys}
    # Checks written as @asset_check and those declared on the assets themselves (check_specs).
    package_checks = {
        k for c in dg.load_asset_checks_from_package_module(asset_package) for k in c.check_keys
    }
    package_checks |= {k for a in dg.load_assets_from_package_module(asset_package) for k in a.check_keys}
    materialised = {e.asset_key for e in night.result.get_asset_materialization_events()}
    evaluated = {e.asset_check_key for e in night.result.get_asset_check_evaluations()}
    assert package_assets
    assert materialised == package_assets
    assert package_checks
    assert evaluated == package_checks


def test_the_schedule_runs_the_nightly_job_at_two_in_shanghai_by_default():
    schedule = defs.resolve_schedule_def("nightly_awards_schedule")
    assert schedule.job_name == "nightly_awards"
    assert schedule.cron_schedule == "0 2 * * *"
    assert schedule.execution_timezone == "Asia/Shanghai"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING


def test_every_asset_that_writes_the_database_in_a_real_night_is_in_the_ledger_pool(night: Night):
    graph = defs.resolve_asset_graph()
    assert dg.AssetKey("award_ledger") in night.writers  # the listener sees the writes it is meant to see
    outside = {
        k.to_user_string(): graph.get(k).pools for k in night.writers if graph.get(k).pools != {"ledger_db"}
    }
    assert outside == {}


def test_an_asset_materialised_from_the_ui_runs_in_one_process_like_the_nightly_job():
    # The UI materialises a selection through the implicit asset job, which uses the code location's default.
    assert defs.resolve_implicit_global_asset_job_def().executor_def is dg.in_process_executor
    assert defs.resolve_job_def("nightly_awards").executor_def is dg.in_process_executor
