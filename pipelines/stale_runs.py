"""Runs whose worker was killed (kill -9, out of memory, host restart) stay STARTED in the Dagster instance for
ever: nothing is left to report their end. Each night's first asset marks such runs failed (issue 13.12).

A run is abandoned when its worker, recorded in the run's tags by `run_settings` (host name and process id), is
on this host and no longer exists. A run killed before `run_settings` tagged it had read and written nothing; the
instance's run monitoring (`run_monitoring.max_runtime_seconds` in dagster.yaml, with the daemon) fails it later.
Failing the run is all that is needed for money: a booking is one transaction, committed whole or not at all,
and the next run books nothing twice and writes the reports again. With the daemon, `run_retries` re-runs a run
failed this way (the failure is not an asset's), so that night's reports are written for its evaluation date.
"""

from __future__ import annotations

import os
import socket

import dagster as dg

PID_TAG = "alu/worker_pid"
HOST_TAG = "alu/worker_host"


def tag_worker(instance: dg.DagsterInstance, run_id: str) -> None:
    instance.add_run_tags(run_id, {PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()})


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process with that id
    return True


def fail_abandoned_runs(instance: dg.DagsterInstance, current_run_id: str) -> list[str]:
    """Mark failed every STARTED run whose worker on this host is gone; tag the current run's worker. Returns the
    run ids marked failed."""
    tag_worker(instance, current_run_id)
    host = socket.gethostname()
    failed = []
    for record in instance.get_run_records(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED])):
        run = record.dagster_run
        pid = run.tags.get(PID_TAG) or ""
        if run.run_id == current_run_id or run.tags.get(HOST_TAG) != host or not pid.isdigit():
            continue
        if _alive(int(pid)):
            continue
        instance.report_run_failed(
            run,
            message=(
                f"运行 {run.run_id} 的进程（{host} 上的 pid {pid}）已不存在（被强行终止或主机重启），由运行 "
                f"{current_run_id} 标记为失败。记账是单一事务：已提交的分录有效，未提交的没有写入；报表由之后的运行重新生成。"
                f" / The worker of run {run.run_id} (pid {pid} on {host}) is gone; marked failed by run {current_run_id}."
            ),
        )
        failed.append(run.run_id)
    return failed
