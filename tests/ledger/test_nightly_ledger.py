"""The ledger through the real nightly job: repeated runs change nothing, corrections and rejections arrive as
later batches, and SQLite and PostgreSQL end with the same balances."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from pipelines.settings import SAMPLE_INBOX
from rules.codes import canonical
from rules.parameters import Parameters
from samples.build import sample_sheets
from tests.conftest import AS_OF, Nightly
from tests.ledger.batches import APPLICATION, resubmit

ERROR = dg.AssetCheckSeverity.ERROR


def _balances(n: Nightly) -> dict[str, int]:
    return {
        r["award_key"]: int(r["net_fen"]) for r in n.rows("SELECT award_key, net_fen FROM award_balances")
    }


def _run_and_check(n: Nightly, instance: dg.DagsterInstance) -> None:
    """One nightly run on an instance shared by the test's runs (a new one costs a second)."""
    result = n.run(instance=instance)
    evaluations = result.get_asset_check_evaluations()
    # WARN checks report data findings the sample carries on purpose (its 缺陷示例 batch, a metering gap)
    failed = [(e.check_name, e.description) for e in evaluations if not e.passed and e.severity == ERROR]
    assert result.success and failed == []
    assert {e.check_name for e in evaluations} >= {
        "one_award_per_key", "reversals_cancel_their_award", "control_total", "published_columns",
        "fund_within_budget",
    }  # fmt: skip


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as instance:
        yield instance


@pytest.fixture
def nightly_on(database_url: str, sample_inbox: Path, tmp_path: Path) -> Nightly:
    return Nightly(inbox=sample_inbox, database_url=database_url, reports=tmp_path / "reports")


def test_five_runs_over_the_same_inbox_book_once_and_keep_identical_balances(
    nightly_on: Nightly, instance: dg.DagsterInstance
):
    _run_and_check(nightly_on, instance)
    entries = nightly_on.rows("SELECT * FROM award_ledger ORDER BY entry_id")
    balances = _balances(nightly_on)
    assert entries and any(balances.values())
    for _ in range(4):
        _run_and_check(nightly_on, instance)
        assert nightly_on.rows("SELECT * FROM award_ledger ORDER BY entry_id") == entries
        assert _balances(nightly_on) == balances


def _key_entries(n: Nightly, key: str) -> list[tuple[str, int]]:
    rows = n.rows(
        "SELECT entry_type, amount_fen FROM award_ledger WHERE award_key = :k ORDER BY entry_id", k=key
    )
    return [(str(r["entry_type"]), int(str(r["amount_fen"]))) for r in rows]


def test_a_corrected_then_rejected_application_gives_the_same_entries_and_balances_on_both_backends(
    tmp_path: Path, pg_url: str
):
    standards = [s for s in sample_sheets()["standards"] if s["application_id"] == APPLICATION]
    participated = next(s for s in standards if s["role"] == "参与")
    corrected_code = str(participated["standard_code"])
    params = Parameters.load().at(AS_OF)
    level = "international" if participated["standard_level"] == "国际" else "national"
    before = int(params.value(f"standard_setting.award.{level}.participate") * 100)
    after = int(params.value(f"standard_setting.award.{level}.lead") * 100)

    def scenario(name: str, url: str) -> dict[str, int]:
        with dg.instance_for_test() as instance:  # one per ledger: it records that ledger's chain head
            return nights(name, url, instance)

    def nights(name: str, url: str, instance: dg.DagsterInstance) -> dict[str, int]:
        inbox = shutil.copytree(SAMPLE_INBOX, tmp_path / name / "inbox")
        n = Nightly(inbox=inbox, database_url=url, reports=tmp_path / name / "reports")
        _run_and_check(n, instance)
        keys = {str(r["award_key"]).rsplit(":", 1)[1]: str(r["award_key"]) for r in n.rows(
            "SELECT award_key FROM award_ledger WHERE application_id = :a", a=APPLICATION)}  # fmt: skip
        corrected, untouched = keys.pop(canonical(corrected_code)), keys.popitem()[1]  # keys: canonical codes
        kept = _balances(n)[untouched]
        assert _key_entries(n, corrected) == [("award", before)]

        resubmit(inbox, "2026-03-02-包头市.xlsx", **{corrected_code: {"role": "主导"}})
        _run_and_check(n, instance)
        assert _key_entries(n, corrected) == [("award", before), ("reversal", -before), ("award", after)]
        assert _key_entries(n, untouched) == [("award", kept)]  # its standard did not change: nothing booked

        too_early = {
            "published_on": "2023-01-01"
        }  # before the policy took effect: the application is rejected
        resubmit(inbox, "2026-03-03-包头市.xlsx", **{str(s["standard_code"]): too_early for s in standards})
        _run_and_check(n, instance)
        assert _key_entries(n, corrected) == [
            ("award", before), ("reversal", -before), ("award", after), ("reversal", -after),
        ]  # fmt: skip
        assert _key_entries(n, untouched) == [("award", kept), ("reversal", -kept)]
        decision = n.rows(
            "SELECT decision FROM application_decisions WHERE application_id = :a", a=APPLICATION
        )
        assert decision == [{"decision": "rejected"}]
        return _balances(n)

    on_sqlite = scenario("sqlite", f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    on_postgresql = scenario("postgresql", pg_url)
    assert on_sqlite == on_postgresql and any(on_sqlite.values())
