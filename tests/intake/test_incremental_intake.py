"""Each inbox file is read once per content; the intake assets report counts and rejections in Dagster."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
from sqlalchemy import text

from assets.submissions import submission_batches
from pipelines import intake_store
from pipelines.defs.resources import LedgerDatabase, resources_for
from pipelines.intake import frame_of, read_batch
from pipelines.intake_store import dumps, loads
from pipelines.settings import SAMPLE_INBOX
from samples.build import SAMPLE_FILE
from samples.defects import DEFECTS_FILE
from tests.intake.conftest import valid_sheets


class Intake:
    def __init__(self, inbox: Path, url: str) -> None:
        self.inbox, self.url = inbox, url

    def run(self) -> tuple[dict[str, object], dict[str, object], dg.ExecuteInProcessResult]:
        with dg.instance_for_test() as instance:
            result = dg.materialize(
                [submission_batches],
                resources=resources_for(str(self.inbox), self.url, as_of="2026-11-24"),
                instance=instance,
            )
        events = {e.asset_key.to_user_string(): e.materialization.metadata
                  for e in result.get_asset_materialization_events()}  # fmt: skip
        values = {k: {n: v.value for n, v in m.items()} for k, m in events.items()}
        return values["submissions"], values["submission_rejections"], result

    def scalar(self, sql: str) -> object:
        with LedgerDatabase(url=self.url).engine().connect() as conn:
            return conn.execute(text(sql)).scalar()


@pytest.fixture
def intake(tmp_path: Path) -> Intake:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    return Intake(inbox, f"sqlite:///{tmp_path / 'ledger.sqlite'}")


def _copy_sample(inbox: Path) -> None:
    for name in (SAMPLE_FILE, DEFECTS_FILE):
        shutil.copy(SAMPLE_INBOX / name, inbox / name)


def test_the_intake_shows_counts_and_rejections_and_a_second_night_reads_no_file_again(intake: Intake):
    _copy_sample(intake.inbox)
    subs, rejections, result = intake.run()
    assert subs["rows_rejected"] == rejections["rows_rejected"] == 27
    assert subs["rows_accepted"] == subs["rows_received"] - 27
    preview = str(rejections["preview"])  # a metadata table's records
    assert "CREDIT_CODE_CHECKSUM" in preview and "缺陷示例" in preview
    assert rejections["by_code"]["APPLICATION_REJECTED"] == 6
    check = result.get_asset_check_evaluations()[0]
    assert check.check_name == "rows_balance" and check.passed
    assert intake.scalar("SELECT COUNT(*) FROM submission_rejections") == rejections["dagster/row_count"]
    assert intake.scalar("SELECT SUM(rejected) FROM intake_counts") == 27

    again, _, again_result = intake.run()
    assert (subs["files_parsed"], subs["files_reused"]) == (2, 0)
    # the rows parsed tonight are validated again; the ones read back from the cache as validated are not
    assert sum(_rows_checked(result).values()) == subs["rows_accepted"]
    assert set(_rows_checked(again_result).values()) == {0}
    assert (again["files_parsed"], again["files_reused"]) == (0, 2)
    assert again["rows_accepted"] == subs["rows_accepted"]
    assert intake.scalar("SELECT COUNT(*) FROM submission_rejections") == rejections["dagster/row_count"]
    assert intake.scalar("SELECT COUNT(*) FROM intake_files") == 2


def _rows_checked(result: dg.ExecuteInProcessResult) -> dict[str, int]:
    (check,) = (
        e for e in result.get_asset_check_evaluations() if e.check_name == "accepted_rows_match_schemas"
    )
    assert check.passed
    return check.metadata["rows_checked"].value  # type: ignore[return-value]


def test_a_file_whose_content_changed_is_read_again_and_its_new_content_replaces_the_old(
    intake: Intake, write: Callable[..., Path]
):
    path = write()
    shutil.copy(path, intake.inbox / path.name)
    intake.run()
    sheets = valid_sheets()
    sheets["applications"] = sheets["applications"][:1]
    del sheets["loans"]
    shutil.copy(write(sheets=sheets), intake.inbox / path.name)
    after, _, result = intake.run()
    assert (after["files_parsed"], after["files_reused"]) == (1, 0)
    subs = result.output_for_node("submission_batches", "submissions")
    assert list(subs.frames["applications"]["application_id"]) == ["T-STD-1"]
    assert intake.scalar("SELECT COUNT(DISTINCT sha256) FROM intake_files") == 2


def test_an_enterprise_of_an_archived_batch_is_still_known_to_later_batches(
    intake: Intake, write: Callable[..., Path]
):
    sheets = valid_sheets()
    enterprises = write("2026-04-01-企业.xlsx", sheets={"enterprises": sheets.pop("enterprises")})
    shutil.copy(enterprises, intake.inbox / enterprises.name)
    intake.run()
    (intake.inbox / enterprises.name).unlink()  # the operator archives what was read
    later = write("2026-04-09-申报.xlsx", sheets=sheets)
    shutil.copy(later, intake.inbox / later.name)
    _subs_meta, rejections, result = intake.run()
    assert rejections["rows_rejected"] == 0
    subs = result.output_for_node("submission_batches", "submissions")
    assert sorted(subs.frames["applications"]["application_id"]) == ["T-INT-1", "T-STD-1"]
    assert len(subs.frames["enterprises"]) == 2


def test_a_broken_file_in_the_inbox_is_recorded_and_the_night_goes_on(
    intake: Intake, write: Callable[..., Path]
):
    good = write("2026-04-01-好.xlsx")
    shutil.copy(good, intake.inbox / good.name)
    (intake.inbox / "2026-04-02-坏.xlsx").write_bytes(good.read_bytes()[:500])
    subs, _rejections, result = intake.run()
    assert result.success and subs["rows_rejected"] == 0 and subs["applications"] == 2
    assert intake.scalar("SELECT code FROM submission_rejections WHERE file = '2026-04-02-坏.xlsx'") == (
        "FILE_UNREADABLE"
    )


def _exact(rows: list[dict[str, object]]) -> list[dict[str, tuple[type, str]]]:
    """Each value with its type and text: Decimal("1.50") is not Decimal("1.5"), a date is not its text."""
    return [{k: (type(v), str(v)) for k, v in r.items()} for r in rows]


def test_a_cached_batch_comes_back_with_exact_decimals_dates_and_meter_lists():
    batch = read_batch(SAMPLE_INBOX / SAMPLE_FILE)
    again = loads(batch.file, batch.sha256, batch.kind, dumps(batch))
    assert again.rows.keys() == batch.rows.keys()
    for key, rows in batch.rows.items():
        pd.testing.assert_frame_equal(frame_of(key, rows), frame_of(key, again.rows[key]), check_dtype=True)
        assert _exact(again.rows[key]) == _exact(rows)
    assert again.rejections == batch.rejections and again.received_rows == batch.received_rows
    assert again.typed_app_ids == batch.typed_app_ids
    assert again.typed_credit_codes == batch.typed_credit_codes


def test_a_cached_batch_is_trusted_only_as_stored_and_under_the_schemas_that_validated_it(
    monkeypatch: pytest.MonkeyPatch,
):
    batch = read_batch(SAMPLE_INBOX / SAMPLE_FILE)
    text = dumps(batch)
    assert not batch.trusted  # newly parsed: accepted_rows_match_schemas validates it
    assert loads(batch.file, batch.sha256, batch.kind, text).trusted
    payload = json.loads(text)
    assert loads(batch.file, batch.sha256, batch.kind, json.dumps(payload, ensure_ascii=False)).trusted
    payload["frames"]["applications"]["total_investment_wan"][0] = "1"
    assert not loads(batch.file, batch.sha256, batch.kind, json.dumps(payload, ensure_ascii=False)).trusted
    monkeypatch.setattr(intake_store, "_schemas_source", lambda: b"the schemas of another release")
    assert not loads(batch.file, batch.sha256, batch.kind, text).trusted


@pytest.mark.postgres
def test_the_incremental_intake_works_the_same_on_postgresql(
    tmp_path: Path, pg_url: str, write: Callable[..., Path]
):
    intake = Intake(tmp_path / "inbox", pg_url)
    intake.inbox.mkdir()
    sheets = valid_sheets()
    sheets["loans"][0]["annual_rate_pct"] = "24"
    shutil.copy(write(sheets=sheets), intake.inbox / "2026-04-01-测试.xlsx")
    first, rejections, _ = intake.run()
    second, _, _ = intake.run()
    assert (first["files_parsed"], second["files_reused"]) == (1, 1)
    assert rejections["rows_rejected"] == 1
    assert intake.scalar("SELECT code FROM submission_rejections") == "OUT_OF_RANGE"
    assert intake.scalar("SELECT SUM(received) - SUM(accepted) - SUM(rejected) FROM intake_counts") == 0
