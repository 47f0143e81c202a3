"""Asset checks an operator reads in the UI: each fails on bad data with what to do next, in Chinese, and passes
on clean data; every asset records its row count, column schema and a preview.

Three real nightly runs are shared by the module (the sample inbox; a clean inbox; an inbox whose savings
applications claim meters that are missing or belong to another enterprise). Damage to tables is done to the
sample run's database afterwards, and only the check concerned is run again on the same instance.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import dagster as dg
import markdown_it
import pytest

import assets as asset_package
from assets.awards import every_application_decided
from assets.metering import meter_readings
from assets.metering_checks import conflicting_readings, meter_months_match_days, metering_files_balance
from assets.submission_checks import rejections_to_fix
from pipelines.settings import SAMPLE_INBOX
from samples.build import SAMPLE_FILE, credit_codes, sample_sheets
from samples.workbook import write_batch
from schemas.rejection import Rejection
from tests.conftest import Nightly
from tests.markdown import rendered


def table_rows(value: object) -> list[dict[str, object]]:
    assert isinstance(value, dg.TableMetadataValue), value
    return [r.data for r in value.records]


METERING_FILE = "2026-01-05-能耗在线监测.csv"
DEFECTS_FILE = "2026-03-15-缺陷示例.xlsx"
LOW_COVERAGE_APPLICATION = "ES-003"  # the sample's XG-E01 export misses about one day in ten
UNMETERED_RECYCLER = credit_codes()[7]  # 巴彦淖尔铝箔制品有限公司 has RECYCLED_* applications and no meters
WARN = dg.AssetCheckSeverity.WARN


@dataclass
class Run:
    nightly: Nightly
    result: dg.ExecuteInProcessResult
    instance: dg.DagsterInstance

    def check(self, name: str, asset: str | None = None) -> dg.AssetCheckEvaluation:
        found = [
            e
            for e in self.result.get_asset_check_evaluations()
            if e.check_name == name and (asset is None or e.asset_key.to_user_string() == asset)
        ]
        assert len(found) == 1, (name, asset, found)
        return found[0]

    def metadata(self, asset: str) -> dict[str, object]:
        events = [
            e.materialization
            for e in self.result.get_asset_materialization_events()
            if e.asset_key and e.asset_key.to_user_string() == asset
        ]
        assert len(events) == 1, asset
        return dict(events[0].metadata)

    def rerun(self, selection: dg.AssetSelection) -> dg.ExecuteInProcessResult:
        """Run part of the graph again on the same instance, as an operator does from the UI."""
        return dg.materialize(
            [
                *dg.load_assets_from_package_module(asset_package),
                *dg.load_asset_checks_from_package_module(asset_package),
            ],
            selection=selection,
            resources=self.nightly.resources(),
            instance=self.instance,
            raise_on_error=False,
        )


def _evaluation(result: dg.ExecuteInProcessResult, name: str) -> dg.AssetCheckEvaluation:
    found = [e for e in result.get_asset_check_evaluations() if e.check_name == name]
    assert len(found) == 1, (name, found)
    return found[0]


def _without(
    sheets: dict[str, list[dict[str, object]]], app_ids: set[str]
) -> dict[str, list[dict[str, object]]]:
    return {key: [r for r in rows if r.get("application_id") not in app_ids] for key, rows in sheets.items()}


def _start(tmp: Path, inbox: Path) -> Iterator[Run]:
    n = Nightly(inbox=inbox, database_url=f"sqlite:///{tmp / 'ledger.sqlite'}", reports=tmp / "reports")
    with dg.instance_for_test() as instance:
        yield Run(n, n.run(raise_on_error=False, instance=instance), instance)


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    """The bundled sample inbox: a good batch, the 缺陷示例 batch and a metering export with a gap."""
    tmp = tmp_path_factory.mktemp("sample")
    shutil.copytree(SAMPLE_INBOX, tmp / "inbox")
    yield from _start(tmp, tmp / "inbox")


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    """The sample without its defects: no 缺陷示例 batch, no low-coverage claim, no recycler without meters."""
    tmp = tmp_path_factory.mktemp("clean")
    sheets = sample_sheets()
    recycler_apps = {
        str(a["application_id"]) for a in sheets["applications"] if a["credit_code"] == UNMETERED_RECYCLER
    }
    write_batch(tmp / "inbox" / SAMPLE_FILE, _without(sheets, {LOW_COVERAGE_APPLICATION, *recycler_apps}))
    shutil.copy(SAMPLE_INBOX / METERING_FILE, tmp / "inbox" / METERING_FILE)
    yield from _start(tmp, tmp / "inbox")


@pytest.fixture(scope="module")
def misclaimed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    """ES-001 claims a meter nobody reports (EN-E99); ES-002 claims EN-E01, a meter of ES-001's enterprise."""
    tmp = tmp_path_factory.mktemp("misclaimed")
    sheets = sample_sheets()
    for claim in sheets["savings_claims"]:
        if claim["application_id"] == "ES-001":
            claim["meter_ids"] = "EN-E01;EN-E02;EN-E99"
        if claim["application_id"] == "ES-002":
            claim["meter_ids"] = "AX-E01;EN-E01"
    write_batch(tmp / "inbox" / SAMPLE_FILE, sheets)
    shutil.copy(SAMPLE_INBOX / METERING_FILE, tmp / "inbox" / METERING_FILE)
    yield from _start(tmp, tmp / "inbox")


NEW_CHECKS = [
    ("submission_rejections", "rejections_to_fix"),
    ("submission_rejections", "published_columns"),
    ("submissions", "accepted_rows_match_schemas"),
    ("meter_readings", "metering_files_balance"),
    ("meter_readings", "meter_months_match_days"),
    ("meter_readings", "conflicting_readings"),
    ("metered_savings", "claimed_meters_found"),
    ("metered_savings", "claimed_meters_belong_to_applicant"),
    ("metered_savings", "metering_coverage"),
    ("metering_registers", "recycled_enterprises_metered"),
    ("application_decisions", "every_application_decided"),
]


def test_on_a_clean_inbox_every_check_passes_including_every_new_one(clean: Run):
    assert clean.result.success
    failed = [
        (e.check_name, e.description) for e in clean.result.get_asset_check_evaluations() if not e.passed
    ]
    assert failed == []
    for asset, name in NEW_CHECKS:
        assert clean.check(name, asset).passed


def test_on_the_sample_only_the_warnings_about_its_deliberate_defects_fail_and_the_night_completes(
    sample: Run,
):
    assert sample.result.success
    failed = {e.check_name: e.severity for e in sample.result.get_asset_check_evaluations() if not e.passed}
    assert failed == {
        "rejections_to_fix": WARN,
        "metering_coverage": WARN,
        "recycled_enterprises_metered": WARN,
    }


def test_rejections_tell_the_operator_which_file_to_upload_again_and_which_cell_to_fix(sample: Run):
    check = sample.check("rejections_to_fix")
    assert check.severity == WARN and not check.passed
    description = rendered(check.description)
    assert description.startswith(f"36 条退回，涉及 {DEFECTS_FILE}（36 条）")
    assert (
        f"重新上传 {DEFECTS_FILE}：「企业」表第 3 行「统一社会信用代码」统一社会信用代码校验位（第 18 位）错误，"
        "请核对营业执照（填写值 911502009000000140）"
    ) in description
    assert f"重新上传 {DEFECTS_FILE}：整个文件：工作表「备注」不属于申报模板" in description
    assert "…另有 6 条" in description  # the description shows 30 lines; the metadata table holds all 36
    assert check.metadata["rejections"].value == 36
    assert check.metadata["by_file"].value == {DEFECTS_FILE: 36}
    records = table_rows(check.metadata["to_fix"])
    assert [r["文件"] for r in records[:36]] == [DEFECTS_FILE] * 36
    assert "CREDIT_CODE_CHECKSUM" in {r["代码"] for r in records}


def test_a_value_typed_with_markdown_characters_reads_in_the_check_exactly_as_the_enterprise_typed_it():
    typed = "=1000*3 万元_含税 [见附件](x) <b>"
    check = rejections_to_fix(
        [
            Rejection(
                "2026-03-20-包头市.xlsx",
                "applications",
                7,
                "项目总投资(万元)",
                typed,
                "NUMBER_FORMAT",
                "不是数字",
            )
        ]
    )
    shown = rendered(check.description)
    assert f"（填写值 {typed}）" in shown
    assert "<em>" not in markdown_it.MarkdownIt().render(check.description or "")


def test_the_rejections_to_fix_are_one_line_each_and_their_table_is_a_real_table(sample: Run):
    check = sample.check("rejections_to_fix")
    html = markdown_it.MarkdownIt().render(check.description or "")
    assert html.count("<li>") == 30  # one bullet per rejection shown, not one run-on paragraph
    assert isinstance(check.metadata["to_fix"], dg.TableMetadataValue)
    assert len(table_rows(check.metadata["to_fix"])) == 36


def test_unbalanced_counts_and_accepted_rows_breaking_their_schema_are_named_and_stop_the_night_before_booking(
    sample: Run,
):
    engine = sample.nightly.engine()
    with engine.begin() as conn:
        payload = json.loads(
            conn.exec_driver_sql(
                "SELECT payload FROM intake_files WHERE file = ?", (SAMPLE_FILE,)
            ).scalar_one()
        )
        # a cached batch from an older rulebook: one application breaks a row rule, one row is counted twice
        apps = payload["frames"]["applications"]  # one list per column
        apps["total_investment_wan"][0], apps["equipment_investment_wan"][0] = "100", "200"
        app = {"_row": apps["_row"][0]}
        payload["received_rows"]["applications"].append(999)
        conn.exec_driver_sql(
            "UPDATE intake_files SET payload = ? WHERE file = ?",
            (json.dumps(payload, ensure_ascii=False), SAMPLE_FILE),
        )
    booked = sample.nightly.scalar("SELECT COUNT(*) FROM award_ledger")
    result = sample.rerun(dg.AssetSelection.all())

    balance = _evaluation(result, "rows_balance")
    assert not balance.passed
    assert f"「{SAMPLE_FILE}」的「申报」表：收到" in (balance.description or "")
    assert "请重新运行 nightly_awards" in (balance.description or "")

    schema = _evaluation(result, "accepted_rows_match_schemas")
    assert not schema.passed and schema.blocking
    assert (
        f"「申报」表第 {app['_row']} 行（{SAMPLE_FILE}）设备投资额(万元) 未通过 EQUIPMENT_EXCEEDS_TOTAL"
        in (schema.description or "")
    )
    assert "删除 intake_files 中这些文件的缓存行" in (schema.description or "")
    # blocking: nothing downstream of the submissions was decided, booked or reported on that data
    materialised = {
        e.asset_key.to_user_string() for e in result.get_asset_materialization_events() if e.asset_key
    }
    assert "meter_readings" in materialised
    assert not materialised & {"application_decisions", "award_ledger", "department_reports", "fund_summary"}
    assert sample.nightly.scalar("SELECT COUNT(*) FROM award_ledger") == booked


def test_a_rejections_table_that_lost_a_published_column_is_named_with_the_migration_to_run(clean: Run):
    # the clean inbox has no rejections, so the intake writes none and only the check notices the column
    engine = clean.nightly.engine()
    with engine.begin() as conn:
        conn.exec_driver_sql('ALTER TABLE submission_rejections RENAME COLUMN "message" TO note')
    try:
        result = clean.rerun(dg.AssetSelection.assets("submissions", "submission_rejections"))
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql('ALTER TABLE submission_rejections RENAME COLUMN note TO "message"')
    check = _evaluation(result, "published_columns")
    assert not check.passed
    assert "submission_rejections 缺少列 message" in (check.description or "")
    assert "python -m pipelines.migrate" in (check.description or "")


def _rechecked(run: Run, check: dg.AssetChecksDefinition, name: str, sql: str) -> dg.AssetCheckEvaluation:
    """The check `name` passes on the night; its evaluation again after `sql` changed the tables it reads."""
    assert run.check(name).passed
    with run.nightly.engine().begin() as conn:
        conn.exec_driver_sql(sql)
    return _evaluation(run.rerun(dg.AssetSelection.checks(check)), name)


def test_a_metering_file_whose_counts_do_not_add_up_is_named(sample: Run):
    # still balanced (the table refuses otherwise), but five rejected lines were never recorded
    sql = "UPDATE metering_files SET rows_accepted = rows_accepted - 5, rows_rejected = rows_rejected + 5"
    check = _rechecked(sample, metering_files_balance, "metering_files_balance", sql)
    assert not check.passed
    assert f"「{METERING_FILE}」收到 24781 行，接受 24776 + 退回 5，记录的退回行 0" in (
        check.description or ""
    )


def test_a_month_that_no_longer_adds_up_from_its_days_names_the_meter_and_month(sample: Run):
    sql = "UPDATE meter_months SET consumption_e6 = consumption_e6 + 1 WHERE meter_id = 'XG-E01' AND month = '2025-03'"
    check = _rechecked(sample, meter_months_match_days, "meter_months_match_days", sql)
    assert not check.passed
    assert "计量点 XG-E01（electricity）2025-03" in (check.description or "")
    assert "rebuild_months" in (check.description or "")


def test_a_missing_decision_and_a_decision_without_proper_reasons_are_named(sample: Run):
    assert sample.check("every_application_decided").passed
    with sample.nightly.engine().begin() as conn:
        conn.exec_driver_sql("DELETE FROM application_decisions WHERE application_id = 'ES-001'")
        conn.exec_driver_sql(
            "UPDATE application_decisions SET reasons = '[]' WHERE application_id = 'WS-001'"
        )
        conn.exec_driver_sql(
            "UPDATE application_decisions SET reasons = ? WHERE application_id = 'ES-002'",
            (json.dumps([{"code": "bad code", "message": "no reason"}]),),
        )
    result = sample.rerun(dg.AssetSelection.checks(every_application_decided))
    check = _evaluation(result, "every_application_decided")
    assert not check.passed
    description = rendered(check.description)
    assert "ES-001 没有决定（重新运行 nightly_awards 重新评审）" in description
    assert "WS-001 没有任何理由" in description
    assert "ES-002 理由代码「bad code」不是稳定的大写代码" in description


def test_low_metering_coverage_warns_with_the_application_period_meter_and_threshold(sample: Run):
    check = sample.check("metering_coverage")
    assert check.severity == WARN and not check.passed
    description = check.description or ""
    assert f"补传申报 {LOW_COVERAGE_APPLICATION}（锡林郭勒绿色铝业有限公司" in description
    assert "报告期 2025-01-01至2025-12-31 计量点 XG-E01（328/365）" in description
    assert "覆盖率 89.86%，低于 95%" in description
    assert check.metadata["threshold_parameter"].value == "savings.min_metering_coverage"
    assert check.metadata["periods_below_threshold"].value == 2


def test_a_claimed_meter_without_readings_and_one_of_another_enterprise_warn_with_what_to_check(
    misclaimed: Run,
):
    assert misclaimed.result.success
    found = misclaimed.check("claimed_meters_found")
    assert found.severity == WARN and not found.passed
    assert "计量点 EN-E99 在基期 2024-01-01至2024-12-31" in (found.description or "")
    assert "补传申报 ES-001" in (found.description or "") and "核对「节能节水」表中的计量点编号" in (
        found.description or ""
    )
    owner = credit_codes()[5]  # the enterprise of ES-001, whose meter EN-E01 is
    belong = misclaimed.check("claimed_meters_belong_to_applicant")
    assert belong.severity == WARN and not belong.passed
    assert "申报 ES-002" in (belong.description or "")
    assert f"所列计量点 EN-E01 的读数属于企业 {owner}：请核对计量点编号" in (belong.description or "")


def test_a_recycler_without_meters_warns_to_upload_its_metering(sample: Run):
    check = sample.check("recycled_enterprises_metered")
    assert check.severity == WARN and not check.passed
    assert f"补传巴彦淖尔铝箔制品有限公司（{UNMETERED_RECYCLER}）的能耗在线监测数据" in (
        check.description or ""
    )


def test_every_asset_records_row_count_column_schema_and_a_preview(sample: Run):
    for asset in (
        "submissions",
        "metered_savings",
        "metering_registers",
        "department_reports",
        "fund_summary",
    ):
        schema = sample.metadata(asset)["dagster/column_schema"]
        assert isinstance(schema, dg.TableSchemaMetadataValue) and schema.schema.columns, asset
    for asset in ("meter_readings", "metering_registers", "submissions"):
        preview = sample.metadata(asset)["preview"]
        assert isinstance(preview, dg.TableMetadataValue) and len(preview.records) >= 2, asset

    summary = [c.name for c in sample.metadata("department_reports")["dagster/column_schema"].schema.columns]
    assert summary[0] == "申报类别" and "台账净额(元)" in summary
    assert [r.data["来源文件"] for r in sample.metadata("submissions")["preview"].records].count(
        SAMPLE_FILE
    ) == 10

    ledger = sample.metadata("award_ledger")
    total = sample.nightly.scalar("SELECT COUNT(*) FROM award_ledger")
    assert ledger["dagster/row_count"].value == total > 0
    booked = table_rows(ledger["booked_this_run"])
    assert [r["类型"] for r in booked].count("奖补") == ledger["awards_booked"].value

    fund = sample.metadata("fund_summary")
    assert fund["dagster/row_count"].value == len(table_rows(fund["summary"]))


def test_a_later_export_resending_a_reading_with_another_value_is_a_conflict_naming_both_values(
    tmp_path: Path,
):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(SAMPLE_INBOX / METERING_FILE, inbox / METERING_FILE)
    lines = (SAMPLE_INBOX / METERING_FILE).read_text(encoding="utf-8-sig").splitlines()
    same = lines[:11]  # the header and ten readings, resent as they were
    changed = lines[0].split(","), lines[5].split(",")
    value = changed[1][-1]
    changed[1][-1] = str(Decimal(value) + 7)
    (inbox / "2026-01-06-重发.csv").write_text("\n".join(same) + "\n", encoding="utf-8")
    (inbox / "2026-01-07-更正.csv").write_text(
        "\n".join([",".join(changed[0]), ",".join(changed[1])]) + "\n", encoding="utf-8"
    )
    n = Nightly(
        inbox=inbox, database_url=f"sqlite:///{tmp_path / 'ledger.sqlite'}", reports=tmp_path / "reports"
    )
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [meter_readings, conflicting_readings], resources=n.resources(), instance=instance
        )
    evaluation = _evaluation(result, "conflicting_readings")
    assert not evaluation.passed and evaluation.severity == WARN
    description = evaluation.description or ""
    assert description.startswith("1 个计量点时刻的读数前后不一致")  # the unchanged resend is no conflict
    meter, stamp = changed[1][1], changed[1][5]
    assert f"计量点 {meter}" in description
    old, new = f"{Decimal(value).normalize():f}", f"{(Decimal(value) + 7).normalize():f}"
    assert (
        f"{old}（2026-01-05-能耗在线监测.csv、2026-01-06-重发.csv）；{new}（2026-01-07-更正.csv）"
        in description
    )
    assert stamp[:10] in description


def test_exports_that_never_disagree_leave_the_conflict_check_green(clean: Run):
    assert clean.check("conflicting_readings").passed
