"""What `make run` prints at the end: a short Chinese/English summary of the night, read from the ledger database
and the Dagster instance (`python -m pipelines.summary`).

Ledger rows, decisions by outcome, rejections, where the reports are, the steps that failed with the reason each
gave (a wrong setting's Chinese and English line, not the job's stack trace above it), and the checks that did not
pass, each with why: on the bundled sample inbox three warnings are expected (the sample carries a batch that is
wrong on purpose, a meter export with gaps and a recycler without meters); any other failed check is to be looked
at. It is printed whatever went wrong, a setting that stopped the night included.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from pathlib import Path

import dagster as dg
from dagster._core.definitions.asset_checks.asset_check_evaluation import AssetCheckEvaluation
from dagster._core.events import DagsterEventType
from sqlalchemy import create_engine, inspect, text

from pipelines.settings import SAMPLE_INBOX, Settings, parse_as_of

JOB = "nightly_awards"
EXPECTED_ON_SAMPLE = {
    "rejections_to_fix": "样例批次 2026-03-15-缺陷示例.xlsx 故意写错，演示退回行 / the sample's defects batch is wrong on purpose",
    "metering_coverage": "样例计量点 XG-E01 约每十天缺一天读数，ES-003 转人工审核 / the sample meter XG-E01 misses one day in ten",
    "recycled_enterprises_metered": "样例中巴彦淖尔铝箔制品有限公司没有计量数据 / one sample recycler has no meters",
}


def ledger_lines(url: str) -> list[str]:
    try:
        return _ledger_lines(url)
    except Exception as exc:  # a URL the run refused too: the failed step below says why
        first = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
        return [f"台账数据库 ledger database: 无法读取 cannot be read（{first}）"]


def _ledger_lines(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        if "award_ledger" not in inspect(engine).get_table_names():
            return [
                f"台账数据库 ledger database: {engine.url.render_as_string(hide_password=True)}（尚无表 / no tables yet）"
            ]
        with engine.connect() as conn:
            entries: dict[str, int] = dict(
                conn.execute(text("SELECT entry_type, COUNT(*) FROM award_ledger GROUP BY entry_type")).all()
            )
            net_fen = int(
                conn.execute(text("SELECT COALESCE(SUM(amount_fen), 0) FROM award_ledger")).scalar_one()
            )
            outcomes = conn.execute(
                text(
                    "SELECT decision, COUNT(*) FROM application_decisions GROUP BY decision ORDER BY decision"
                )
            ).all()
            rejected = conn.execute(
                text("SELECT COUNT(*), COUNT(DISTINCT file) FROM submission_rejections")
            ).one()
    finally:
        engine.dispose()
    total = sum(int(n) for n in entries.values())  # noqa: RUF100
    net = f"{net_fen // 100:,}.{net_fen % 100:02d}"
    decided = " · ".join(f"{d} {n}" for d, n in outcomes) or "无 none"
    return [
        f"台账分录 ledger rows: {total}（奖补 awards {entries.get('award', 0)}，冲销 reversals "
        f"{entries.get('reversal', 0)}），净额 net {net} 元",
        f"决定 decisions: {decided}",
        f"退回行 rejections: {rejected[0]}（{rejected[1]} 个文件 files）— 见各部门报表「退回行」/ see each report's 退回行 sheet",
    ]


def reports_line(folder: Path) -> str:
    books = sorted(folder.glob("*.xlsx")) if folder.is_dir() else []
    if not books:
        return f"报表 reports: {folder} 中没有工作簿 / no workbooks in {folder}"
    return f"报表 reports: {folder}/（{len(books)} 个工作簿 workbooks）"


RUN_TAG = "alu/make_run"  # set by `make run` on the run it starts, so that the summary is of that run


def latest_run(instance: dg.DagsterInstance, tag: str | None = None) -> dg.DagsterRun | None:
    """The run `make run` started (tagged `tag`), else the latest nightly run: with `make dev` up, the sensor may
    queue a run of its own meanwhile, which is not the one to summarise."""
    tags = {RUN_TAG: tag} if tag else None
    runs = instance.get_runs(filters=dg.RunsFilter(job_name=JOB, tags=tags), limit=1)
    return runs[0] if runs else None


def failed_steps(instance: dg.DagsterInstance, run: dg.DagsterRun | None) -> list[tuple[str, str]]:
    """(step, the reason it gave) of every step of the run that failed: a `dg.Failure`'s description (what our
    steps say to the operator), else the error's message."""
    if run is None:
        return []
    out = []
    for record in instance.get_records_for_run(run.run_id, of_type=DagsterEventType.STEP_FAILURE).records:
        event = record.event_log_entry.dagster_event
        if event is None:
            continue
        data = event.step_failure_data
        said = data.user_failure_data.description if data.user_failure_data else None
        reason = said or (data.error.message if data.error else "") or ""
        out.append((event.step_key or "?", reason.strip()))
    return out


def failed_checks(
    instance: dg.DagsterInstance, run: dg.DagsterRun | None
) -> list[tuple[str, str, str]] | None:
    """The run's checks that did not pass: (name, severity, description); None when no check ran (no run yet, or
    it stopped before any)."""
    if run is None:
        return None
    records = instance.get_records_for_run(
        run.run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION
    ).records
    if not records:
        return None
    failed = []
    for record in records:
        event = record.event_log_entry.dagster_event
        evaluation = event.event_specific_data if event else None
        if not isinstance(evaluation, AssetCheckEvaluation) or evaluation.passed:
            continue
        failed.append((evaluation.check_name, evaluation.severity.value, evaluation.description or ""))
    return failed


# A backslash before ASCII punctuation is Markdown's escape (the UI's descriptions escape what users typed).
_MARKDOWN_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")


def plain(markdown: str) -> str:
    """A description as the UI shows it, without the escapes its Markdown needs."""
    return _MARKDOWN_ESCAPE.sub(r"\1", markdown)


def step_lines(failed: Iterable[tuple[str, str]]) -> list[str]:
    lines = []
    for step, reason in failed:
        first, *rest = reason.splitlines() or ["（没有说明 no reason given）"]
        lines.append(f"  - {step}：{first}")
        lines += [f"    {line}" for line in rest[:10] if line.strip()]
    return ["失败的步骤 failed steps:", *lines] if lines else []


def check_lines(failed: Iterable[tuple[str, str, str]] | None, on_sample: bool) -> list[str]:
    if failed is None:
        return ["  （本次运行没有执行任何检查：见上面失败的步骤 / no check ran: see the failed steps above）"]
    lines = []
    for name, severity, description in failed:
        why = EXPECTED_ON_SAMPLE.get(name) if on_sample else None
        if why:
            lines.append(f"  - {name}（{severity}，样例上预期 expected on the sample）：{why}")
        else:
            first = plain(description.strip().splitlines()[0])[:160] if description.strip() else ""
            lines.append(f"  - {name}（{severity}，请查看 look at it）：{first}")
    return lines or ["  （全部通过 all passed）"]


def summary(settings: Settings, instance: dg.DagsterInstance, tag: str | None = None) -> str:
    run = latest_run(instance, tag)
    status = run.status.value if run else "无 none"
    on_sample = Path(settings.inbox_dir).resolve() == SAMPLE_INBOX.resolve()
    try:
        day = parse_as_of(settings.as_of).isoformat()
        shown, reports = day, reports_line(Path(settings.reports_dir) / day)
    except ValueError:  # the night refused it too (run_settings): say so, and where to look
        shown = f"{settings.as_of}（不是有效日期 not a valid date）"
        reports = "报表 reports: 评审日无效，未写报表 / no reports for an invalid evaluation date"
    lines = [
        f"—— 本次运行小结 / night summary: 评审日 as of {shown}，运行 run {status} ——",
        *ledger_lines(settings.database_url),
        reports,
        *step_lines(failed_steps(instance, run)),
        "未通过的检查 checks not passed（详情见 make dev → Runs / details in the UI）:",
        *check_lines(failed_checks(instance, run), on_sample),
    ]
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    tag = argv[argv.index("--run-tag") + 1] if "--run-tag" in argv[:-1] else None
    with dg.DagsterInstance.get() as instance:
        print(summary(Settings.from_env(), instance, tag))


if __name__ == "__main__":
    main(sys.argv[1:])
