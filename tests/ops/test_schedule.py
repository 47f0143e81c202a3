"""The nightly schedule: one run of `nightly_awards` at 02:00 Asia/Shanghai, every day, without anyone starting it."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import dagster as dg
from dagster._utils.schedules import cron_string_iterator

from pipelines.definitions import defs

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_the_two_oclock_tick_requests_one_run_of_the_nightly_job():
    schedule = defs.resolve_schedule_def("nightly_awards_schedule")
    tick = datetime(2026, 11, 25, 2, 0, tzinfo=SHANGHAI)
    with dg.instance_for_test() as instance:
        data = schedule.evaluate_tick(
            dg.build_schedule_context(instance=instance, scheduled_execution_time=tick)
        )
    assert len(data.run_requests or []) == 1
    request = (data.run_requests or [])[0]
    # The request names no other job, so the daemon launches the schedule's own job, with no config to fill in.
    assert request.job_name in (None, "nightly_awards") and schedule.job_name == "nightly_awards"
    assert not request.run_config
    assert request.tags["dagster/schedule_name"] == "nightly_awards_schedule"


def test_the_daemon_ticks_at_two_in_shanghai_which_is_six_in_the_evening_utc_the_day_before():
    # The same iterator the scheduler daemon walks to find the next tick.
    schedule = defs.resolve_schedule_def("nightly_awards_schedule")
    start = datetime(2026, 11, 24, 12, 0, tzinfo=SHANGHAI).timestamp()
    assert isinstance(schedule.cron_schedule, str)
    ticks = cron_string_iterator(start, schedule.cron_schedule, schedule.execution_timezone)
    first, second = next(ticks), next(ticks)
    assert first == datetime(2026, 11, 25, 2, 0, tzinfo=SHANGHAI)
    assert first.astimezone(UTC) == datetime(2026, 11, 24, 18, 0, tzinfo=UTC)
    assert (second - first).total_seconds() == 24 * 3600


def test_the_schedule_and_the_inbox_sensor_are_running_on_a_fresh_deployment():
    assert (
        defs.resolve_schedule_def("nightly_awards_schedule").default_status
        == dg.DefaultScheduleStatus.RUNNING
    )
    sensor = defs.resolve_sensor_def("inbox_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert sensor.job_name == "nightly_awards"
