"""`make run` as an operator sees it: a short Chinese/English summary of the night, not the job's DEBUG log."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import AS_OF
from tests.ops.conftest import PROJECT_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("ops_servers")]


def _make_run(tmp_path: Path, as_of: str) -> tuple[subprocess.CompletedProcess[str], str, dict[str, str]]:
    """`make run` on the bundled sample inbox into a ledger, reports and Dagster home of its own; its whole output."""
    env = dict(os.environ) | {
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
        "ALU_DATABASE_URL": f"sqlite:///{tmp_path / 'ledger.sqlite'}",
        "ALU_REPORTS_DIR": str(tmp_path / "reports"),
        "ALU_AS_OF": as_of,
    }
    env.pop("ALU_INBOX_DIR", None)  # the bundled sample inbox
    done = subprocess.run(
        ["make", "--no-print-directory", "run"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return done, done.stdout + done.stderr, env


def test_make_run_ends_with_a_short_summary_of_the_night_and_says_which_warnings_the_sample_expects(
    tmp_path: Path,
):
    done, output, env = _make_run(tmp_path, AS_OF.isoformat())
    assert done.returncode == 0, output[-3000:]
    assert " - DEBUG - " not in output and "Telemetry" not in output and "SupersessionWarning" not in output
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) < 25, output
    summary = output[output.index("—— 本次运行小结 / night summary") :]
    assert f"评审日 as of {AS_OF.isoformat()}，运行 run SUCCESS" in summary
    ledger = create_engine(env["ALU_DATABASE_URL"])
    with ledger.connect() as conn:
        awards = conn.execute(text("SELECT COUNT(*) FROM award_ledger")).scalar_one()
        awarded = conn.execute(
            text("SELECT COUNT(*) FROM application_decisions WHERE decision = 'awarded'")
        ).scalar()
        rejections = conn.execute(text("SELECT COUNT(*) FROM submission_rejections")).scalar_one()
    ledger.dispose()
    assert awards > 0 and rejections > 0
    assert f"台账分录 ledger rows: {awards}（奖补 awards {awards}，冲销 reversals 0）" in summary
    assert f"决定 decisions: awarded {awarded} · " in summary
    assert f"退回行 rejections: {rejections}（" in summary
    books = len(list((tmp_path / "reports" / AS_OF.isoformat()).glob("*.xlsx")))
    assert (
        f"报表 reports: {tmp_path / 'reports' / AS_OF.isoformat()}/（{books} 个工作簿 workbooks）" in summary
    )
    for check in ("rejections_to_fix", "metering_coverage", "recycled_enterprises_metered"):
        assert f"{check}（WARN，样例上预期 expected on the sample）" in summary
    assert "请查看 look at it" not in summary


def test_make_run_with_a_wrong_setting_ends_with_the_summary_naming_the_failed_step_and_what_to_do(
    tmp_path: Path,
):
    done, output, _ = _make_run(tmp_path, "24.11.2026")
    assert done.returncode != 0
    # the summary is printed whole (it used to die on the date it could not parse), and the reason is in it: the
    # operator does not have to find it above 80 lines of the job's stack trace
    summary = output[output.index("—— 本次运行小结 / night summary") :]
    assert "Traceback" not in summary
    assert "评审日 as of 24.11.2026（不是有效日期 not a valid date），运行 run FAILURE" in summary
    assert "失败的步骤 failed steps:" in summary
    assert "  - run_settings：运行设置有误，本次未读取或写入任何数据" in summary
    assert "「24.11.2026」不是 YYYY-MM-DD 格式的日期" in summary and "ALU_AS_OF '24.11.2026'" in summary


def test_a_check_description_is_printed_as_plain_text_not_as_its_markdown_escapes():
    # descriptions are Markdown for the UI (file names escaped); the terminal shows what the UI shows
    from assets._metadata import escape_markdown
    from pipelines.summary import check_lines

    said = f"2 条退回，涉及 {escape_markdown('2026-03-15-缺陷示例.xlsx')}（2 条）、{escape_markdown('a_b*(1).xlsx')}"
    (line,) = check_lines([("rejections_to_fix", "WARN", said)], on_sample=False)
    assert line.endswith("：2 条退回，涉及 2026-03-15-缺陷示例.xlsx（2 条）、a_b*(1).xlsx")


def test_the_summary_is_of_the_run_make_run_started_not_of_one_queued_meanwhile(tmp_path: Path):
    # with `make dev` up, the inbox sensor may start a run right after make run's own: it is not the one to report
    import dagster as dg
    from dagster._core.storage.dagster_run import DagsterRun, DagsterRunStatus

    from pipelines.summary import JOB, RUN_TAG, latest_run

    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        ours = DagsterRun(
            job_name=JOB, run_id="a" * 36, status=DagsterRunStatus.SUCCESS, tags={RUN_TAG: "t1"}
        )
        instance.add_run(ours)
        instance.add_run(DagsterRun(job_name=JOB, run_id="b" * 36, status=DagsterRunStatus.STARTED))
        assert latest_run(instance, "t1").run_id == ours.run_id
        assert latest_run(instance).status == DagsterRunStatus.STARTED  # what it used to report
