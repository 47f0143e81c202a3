"""The code location loads, and its graph, jobs and schedule are what operators expect."""

import dagster as dg

from pipelines.definitions import defs


def test_the_code_location_loads_cleanly():
    dg.Definitions.validate_loadable(defs)


def test_the_nightly_job_covers_every_asset():
    job = defs.resolve_job_def("nightly_awards")
    every_asset = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    in_job = {key.to_user_string() for key in job.asset_layer.asset_graph.get_all_asset_keys()}
    assert every_asset and every_asset <= in_job


def test_the_schedule_runs_the_nightly_job_at_two_in_shanghai_by_default():
    schedule = defs.resolve_schedule_def("nightly_awards_schedule")
    assert schedule.job_name == "nightly_awards"
    assert schedule.cron_schedule == "0 2 * * *"
    assert schedule.execution_timezone == "Asia/Shanghai"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING


def test_every_asset_that_writes_the_database_is_in_the_ledger_pool():
    graph = defs.resolve_asset_graph()
    writers = {"submission_rejections", "application_decisions", "award_ledger"}
    for key in graph.get_all_asset_keys():
        if key.to_user_string() in writers:
            assert graph.get(key).pools == {"ledger_db"}, key


def test_an_asset_materialised_from_the_ui_runs_in_one_process_like_the_nightly_job():
    # The UI materialises a selection through the implicit asset job, which uses the code location's default.
    assert defs.resolve_implicit_global_asset_job_def().executor_def is dg.in_process_executor
    assert defs.resolve_job_def("nightly_awards").executor_def is dg.in_process_executor
