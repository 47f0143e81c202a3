"""The nightly job and its schedule: every asset, 02:00 Asia/Shanghai, running by default."""

import dagster as dg

nightly_awards = dg.define_asset_job(
    "nightly_awards",
    selection=dg.AssetSelection.all(),
    # The steps form a chain and the ledger writers share one pool, so processes buy no parallelism; a step
    # subprocess costs 8-20 s of imports on this hardware. One process keeps a night to seconds.
    executor_def=dg.in_process_executor,
    description="读取收件箱 → 校验 → 按政策条款评审 → 记账 → 部门报表。Reads the inbox, validates, decides, books, reports.",
)

nightly_awards_schedule = dg.ScheduleDefinition(
    name="nightly_awards_schedule",
    job=nightly_awards,
    cron_schedule="0 2 * * *",
    execution_timezone="Asia/Shanghai",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
