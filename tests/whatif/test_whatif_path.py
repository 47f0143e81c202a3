"""What-if decides exactly as the nightly job does — same inbox, metering, held awards, determinations — and books
nothing: the 现行 column is the ledger."""

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import dagster as dg
import pytest
from openpyxl import load_workbook

from pipelines.definitions import defs
from pipelines.settings import PROJECT_ROOT
from pipelines.whatif import main, run
from rules.whatif import Override
from tests.conftest import Nightly
from tests.reviews.test_nightly_reviews import approve, drop_reviews

D = Decimal


def _ledger(n: Nightly) -> dict[str, Decimal]:
    rows = n.rows("SELECT application_id, SUM(amount_fen) AS fen FROM award_ledger GROUP BY application_id")
    return {r["application_id"]: D(int(r["fen"])) / 100 for r in rows if int(r["fen"])}


def _everything(n: Nightly) -> tuple[object, ...]:
    return (
        n.rows("SELECT * FROM award_ledger ORDER BY entry_id"),
        n.rows("SELECT application_id, decision, amount_fen, run_id FROM application_decisions ORDER BY 1"),
        n.rows("SELECT * FROM review_determinations ORDER BY determination_id"),
        n.rows("SELECT * FROM submission_rejections ORDER BY rejection_id"),
    )


def test_the_what_if_current_column_equals_the_ledger_on_the_sample_inbox_for_every_application(
    nightly: Nightly,
):
    drop_reviews(nightly.inbox, "2026-11-20-工信厅.xlsx", approve("ES-003", 2600))
    nightly.run()
    comparison = run(
        nightly.inbox, nightly.engine(), nightly.as_of, [Override.parse("equipment_upgrade.cap=6000000")]
    )
    decided = {
        r["application_id"]: r["decision"] for r in nightly.rows("SELECT * FROM application_decisions")
    }
    assert {r.application_id: r.base_decision for r in comparison.rows} == decided
    shown = {r.application_id: r.base_amount for r in comparison.rows if r.base_decision == "awarded"}
    assert shown == _ledger(nightly)
    es3 = next(
        r for r in comparison.rows if r.application_id == "ES-003"
    )  # metered, then settled by the review
    assert (es3.base_decision, es3.base_amount) == ("awarded", D("520000.00"))
    es1 = next(
        r for r in comparison.rows if r.application_id == "ES-001"
    )  # verified, not the 2,500 tce claimed
    assert es1.base_amount == D("460387.90")
    eq3 = next(r for r in comparison.rows if r.application_id == "EQ-003")
    assert (eq3.base_amount, eq3.whatif_amount) == (D("5000000.00"), D("6000000.00"))


def test_the_what_if_job_writes_the_side_by_side_workbook_and_leaves_the_ledger_unchanged(nightly: Nightly):
    nightly.run()
    before = _everything(nightly)
    job = defs.resolve_job_def("what_if")
    with dg.instance_for_test() as instance:
        result = job.execute_in_process(
            run_config={
                "ops": {"what_if_comparison": {"config": {"overrides": ["equipment_upgrade.cap=6000000"]}}}
            },
            resources=nightly.resources(),
            instance=instance,
        )
    assert result.success
    assert _everything(nightly) == before
    path = Path(result.output_for_node("what_if_comparison"))
    wb = load_workbook(path)
    assert wb.sheetnames == ["说明", "逐项对比", "按类别", "按盟市", "预算影响"]
    eq3 = next(r for r in _table(wb["逐项对比"], "申报编号") if r["申报编号"] == "EQ-003")
    assert (eq3["现行金额(元)"], eq3["调整后金额(元)"], eq3["差额(元)"]) == (5_000_000, 6_000_000, 1_000_000)
    by_program = {r["代码"]: r for r in _table(wb["按类别"], "申报类别") if r["申报类别"]}
    assert by_program["EQUIPMENT_UPGRADE"]["申报类别"] == "设备更新和技术改造奖补"
    assert (
        by_program["EQUIPMENT_UPGRADE"]["差额(元)"] == 1_000_000
        and by_program["合计"]["差额(元)"] == 1_000_000
    )
    committed = next(r for r in _table(wb["预算影响"], "项目") if "已承诺" in str(r["项目"]))
    assert committed["调整后(元)"] - committed["现行(元)"] == 1_000_000
    assert any("自 2024-10-30 起适用" in str(r["说明"]) for r in _table(wb["说明"], "说明"))


def _table(ws, first_header: str) -> list[dict[str, object]]:
    """The rows of the table under a sheet's title frame, by header."""
    rows = list(ws.iter_rows(values_only=True))
    at = next(i for i, r in enumerate(rows) if first_header in r)
    return [dict(zip(rows[at], r, strict=True)) for r in rows[at + 1 :] if any(v is not None for v in r)]


def test_a_bad_override_fails_the_what_if_job_with_a_chinese_message(nightly: Nightly):
    nightly.run()
    with dg.instance_for_test() as instance:
        result = defs.resolve_job_def("what_if").execute_in_process(
            run_config={"ops": {"what_if_comparison": {"config": {"overrides": ["no.such.key=1"]}}}},
            resources=nightly.resources(),
            instance=instance,
            raise_on_error=False,
        )
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "参数错误" in str(failure.event_specific_data)


def test_python_dash_m_pipelines_whatif_runs_from_the_shell_and_books_nothing(
    nightly: Nightly, tmp_path: Path
):
    nightly.run()
    before = _everything(nightly)
    workbook = tmp_path / "what-if.xlsx"
    result = subprocess.run(
        [sys.executable, "-m", "pipelines.whatif", "--inbox", str(nightly.inbox), "--as-of", "2026-11-24",
         "--database", nightly.database_url, "--set", "general.effective_date=2024-10-29", "--changed-only",
         "--workbook", str(workbook)],
        cwd=PROJECT_ROOT, capture_output=True, text=True, env=os.environ | {"PYTHONPATH": str(PROJECT_ROOT)},
        timeout=180,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if line.startswith(("GM-", "EQ-", "STD-", "ES-"))]
    assert [row.split()[:2] for row in rows] == [["GM-003", "*"]]  # only the day-before recognition changes
    assert workbook.exists() and _everything(nightly) == before


def test_the_what_if_refuses_a_bad_override_or_a_ledger_no_night_has_filled(
    sample_inbox: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    database = tmp_path / "none.sqlite"
    args = ["--inbox", str(sample_inbox), "--as-of", "2026-11-24", "--database", f"sqlite:///{database}"]
    assert main([*args, "--set", "no.such.key=1"]) == 2
    assert "参数错误" in capsys.readouterr().err
    assert main(args) == 2
    assert "请先运行一次 nightly_awards" in capsys.readouterr().err and not database.exists()


@pytest.mark.parametrize(
    ("override", "said"),
    [
        ("equipment_upgrade.cap=abc", "equipment_upgrade.cap 的值「abc」不是数字"),
        ("equipment_upgrade.cap=600万", "equipment_upgrade.cap 的值「600万」不是数字"),
        ("equipment_upgrade.cap=1e400", "equipment_upgrade.cap 的值「1E+400」超出可计算的范围"),
        ("equipment_upgrade.cap=NaN", "equipment_upgrade.cap 的值「NaN」不是数字"),
        ("equipment_upgrade.rate=-0.2", "equipment_upgrade.rate 的值「-0.2」不能为负数"),
        ("general.effective_date=5000000", "general.effective_date 的值「5000000」不是 YYYY-MM-DD 日期"),
    ],
)
def test_an_override_of_the_wrong_kind_is_refused_with_a_message_not_a_traceback(
    sample_inbox: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], override: str, said: str
):
    # the value typed is checked against the kind of the parameter's own values before anything is read
    args = [
        "--inbox",
        str(sample_inbox),
        "--as-of",
        "2026-11-24",
        "--database",
        f"sqlite:///{tmp_path / 'x.sqlite'}",
    ]
    assert main([*args, "--set", override]) == 2
    err = capsys.readouterr().err
    assert f"参数错误：{said}" in err and "Traceback" not in err
