"""The first asset of every night: the settings it runs with, checked before anything is read or written."""

import dagster as dg

from pipelines import preflight
from pipelines.defs.resources import Evaluation, Inbox, LedgerDatabase, ReportsFolder
from pipelines.stale_runs import fail_abandoned_runs


@dg.asset(
    description="本次运行的设置：评审日、台账数据库、报表目录、收件箱，在读取或写入任何数据之前逐项核对；"
    "并把上次被强行终止（进程已不在）仍显示“运行中”的运行标记为失败。",
)
def run_settings(
    context: dg.AssetExecutionContext,
    inbox: Inbox,
    ledger_db: LedgerDatabase,
    reports: ReportsFolder,
    evaluation: Evaluation,
) -> dg.MaterializeResult:
    problems = preflight.settings_problems(
        inbox=inbox.path, database_url=ledger_db.url, reports=reports.path, as_of=evaluation.as_of
    )
    if problems:
        raise dg.Failure(
            description="运行设置有误，本次未读取或写入任何数据 / settings are wrong, nothing was read or written:\n"
            + "\n".join(problems),
            metadata={"problems": dg.MetadataValue.json(problems)},
            allow_retries=False,
        )
    abandoned = fail_abandoned_runs(context.instance, context.run.run_id)
    return dg.MaterializeResult(
        metadata={
            "as_of": evaluation.date.isoformat(),
            "inbox": dg.MetadataValue.path(inbox.path),
            "reports": dg.MetadataValue.path(reports.path),
            "database": ledger_db.display_url,
            "abandoned_runs_marked_failed": dg.MetadataValue.json(abandoned),
        }
    )
