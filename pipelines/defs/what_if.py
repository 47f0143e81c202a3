"""The `what_if` job: the launchpad takes parameter overrides and writes a side-by-side workbook (现行 vs 调整后),
deciding exactly as `nightly_awards` would tonight (`pipelines.whatif`). It reads the ledger database, never
writes it, and is not part of the nightly job (an op job, not an asset)."""

from decimal import Decimal

import dagster as dg
from pydantic import Field

from pipelines.defs.resources import Evaluation, Inbox, LedgerDatabase, ReportsFolder, Rulebook
from pipelines.whatif import run
from pipelines.whatif_workbook import write
from rules.parameters import ParameterError
from rules.whatif import Override


class WhatIfConfig(dg.Config):
    overrides: list[str] = Field(
        default_factory=list,
        description="参数修改，每项 key=value 或 key=value@YYYY-MM-DD（自该日起适用），例如 equipment_upgrade.cap=6000000",
    )


@dg.op(description="在修改后的参数下按夜间作业的同一路径重新评审，写出现行与调整后的对比工作簿；不记账。")
def what_if_comparison(
    context: dg.OpExecutionContext,
    config: WhatIfConfig,
    inbox: Inbox,
    ledger_db: LedgerDatabase,
    evaluation: Evaluation,
    reports: ReportsFolder,
    rulebook: Rulebook,
) -> dg.Output[str]:
    try:
        overrides = [Override.parse(t) for t in config.overrides]
        comparison = run(inbox.folder, ledger_db.engine(), evaluation.date, overrides, rulebook.parameters)
    except (ParameterError, ValueError) as error:
        raise dg.Failure(description=f"参数错误：{error}", allow_retries=False) from error
    folder = reports.for_date(evaluation.date) / "模拟测算"  # apart from the reports officials sign
    folder.mkdir(exist_ok=True)
    path = folder / f"模拟测算-{context.run.run_id[:8]}.xlsx"
    write(path, comparison)
    changed = [r for r in comparison.rows if r.changed]
    for line in comparison.header:
        context.log.info(line)
    return dg.Output(
        str(path),
        metadata={
            "workbook": dg.MetadataValue.path(str(path)),
            "applications": len(comparison.rows),
            "changed": len(changed),
            "difference_yuan": str(sum((r.difference for r in comparison.rows), Decimal("0.00"))),
        },
    )


@dg.job(
    name="what_if",
    executor_def=dg.in_process_executor,
    description="模拟测算：在启动面板填写参数修改（ops.what_if_comparison.config.overrides），"
    "写出现行与调整后的对比工作簿（逐项、按类别、按盟市、预算影响）；不记账。",
)
def what_if() -> None:
    what_if_comparison()
