"""The chain head each night records in the Dagster instance: what the unkeyed hash chain alone cannot show.

An owner who rewrites an old entry and recomputes every hash after it, or who deletes the newest entries, leaves
a chain that verifies; the head the previous night recorded outside the database does not match any more.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import dagster as dg
import pytest
from sqlalchemy import Connection, Engine, text, update

from assets.ledger_checks import ledger_chain_intact
from pipelines.ledger_chain import GENESIS, ChainHead, entry_hash, link, read_chain, verify, verify_ledger
from samples.build import sample_sheets
from schemas.tables import LedgerEntry
from tests.conftest import Nightly
from tests.ledger.batches import APPLICATION, entries, raw_entry, resubmit


def _chain(amounts: list[int]) -> list[dict[str, object]]:
    head, rows = ChainHead(0, GENESIS), []
    for i, fen in enumerate(amounts):
        head, row = link(head, raw_entry(award_key=f"STANDARD_SETTING:K{i}", amount_fen=fen))
        rows.append(row)
    return rows


def _rehashed(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    """What an owner can do with an unkeyed chain: recompute every hash from the first entry on."""
    head, out = ChainHead(0, GENESIS), []
    for row in rows:
        head, linked = link(head, row)
        out.append(linked)
    return out


def test_an_entry_hashes_to_what_the_ledgers_already_booked_carry():
    # The hashes of every ledger booked so far were computed this way: the payload's form must never change.
    row = {
        "entry_id": 7, "award_key": "STANDARD_SETTING:91150200MA0000000X:ISO6361-6:2025", "award_version": 2,
        "application_id": "STD-002", "credit_code": "91150200MA0000000X", "enterprise_name": "包头“铝业”\\有限公司",
        "program": "STANDARD_SETTING", "clause": "七", "entry_type": "reversal", "reverses_entry_id": 3,
        "amount_fen": -500_000_00, "lead_department": "工信厅", "rulebook_version": "rb-0123456789ab",
        "run_id": "run-1", "recorded_at": datetime(2026, 11, 24, 23, 5, 1, 42, tzinfo=timezone(timedelta(hours=8))),
        "basis": '{"reverses": 3, "reason": "corrected\\n说明"}',
    }  # fmt: skip
    assert entry_hash(GENESIS, row) == "40c79fe23d47df2ca7514715a6262c44ccbfeff5f1cc08df61dc50412f7994b6"
    naive = row | {"recorded_at": datetime(2026, 1, 2, 3, 4, 5), "enterprise_name": None}  # SQLite's UTC
    assert entry_hash("ab" * 32, naive) == "0aa4bde2ac5c5de634d86d02efa2a3f546d858ad8f0c52ea52e4f75397179d0f"


def test_a_recorded_head_still_in_the_chain_passes_also_when_an_older_one_is_the_latest_recorded():
    rows = _chain([100_00, 200_00, 300_00])
    newest, older = ChainHead(3, str(rows[2]["entry_hash"])), ChainHead(2, str(rows[1]["entry_hash"]))
    assert verify(rows, newest) == (newest, [])
    # Two runs interleaved: the one that booked first recorded last. Its head is still in the chain.
    assert verify(rows, older) == (newest, [])
    assert verify(rows, None)[1] == verify(rows, ChainHead(0, GENESIS))[1] == []


def test_an_entry_rewritten_and_the_chain_recomputed_after_it_differs_from_the_recorded_head():
    rows = _chain([100_00, 200_00, 300_00])
    recorded = ChainHead(3, str(rows[2]["entry_hash"]))
    rows[0] |= {"amount_fen": 999_00, "amount_yuan": 999}
    rewritten = _rehashed(rows)
    assert verify(rewritten)[1] == []  # the chain alone cannot see it
    _, breaks = verify(rewritten, recorded)
    assert [b.entry_id for b in breaks] == [3]
    assert "整条哈希链被重新计算" in breaks[0].problem


def test_deleting_the_newest_entry_loses_the_recorded_head():
    rows = _chain([100_00, 200_00, 300_00])
    recorded = ChainHead(3, str(rows[2]["entry_hash"]))
    assert verify(rows[:2])[1] == []
    _, breaks = verify(rows[:2], recorded)
    assert [b.entry_id for b in breaks] == [3]
    assert "已不在台账中（台账只到分录 2" in breaks[0].problem
    # An empty ledger (deleted whole, or a wrong database) loses it too.
    assert [b.entry_id for b in verify([], recorded)[1]] == [3]


# The nightly job on SQLite, nights sharing one Dagster instance as in production.


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as instance:
        yield instance


def _recorded(result: dg.ExecuteInProcessResult) -> ChainHead:
    (event,) = [
        e for e in result.get_asset_materialization_events() if e.asset_key == dg.AssetKey("award_ledger")
    ]
    metadata = event.materialization.metadata
    return ChainHead(int(str(metadata["chain_head_entry_id"].value)), str(metadata["chain_head"].value))


def _refusal(result: dg.ExecuteInProcessResult) -> str:
    assert not result.success
    return " ".join(
        str(e.step_failure_data.user_failure_data.description)
        for e in result.get_step_failure_events()
        if e.step_failure_data.user_failure_data is not None
    )


def _check(instance: dg.DagsterInstance, nightly: Nightly) -> dg.AssetCheckResult:
    """`ledger_chain_intact` run on its own, as from the asset's Checks tab."""
    from pipelines.defs.resources import LedgerDatabase

    context = dg.build_asset_check_context(instance=instance)
    return ledger_chain_intact(context, ledger_db=LedgerDatabase(url=nightly.database_url))


def _two_nights(nightly: Nightly, instance: dg.DagsterInstance) -> ChainHead:
    """The sample night, then a night that books a correction of STD-002: the second night's recorded head."""
    first = nightly.run(instance=instance)
    assert _recorded(first) == ChainHead(
        len(entries(nightly.engine())), entries(nightly.engine())[-1]["entry_hash"]
    )
    participated = next(
        s for s in sample_sheets()["standards"] if s["application_id"] == APPLICATION and s["role"] == "参与"
    )
    resubmit(
        nightly.inbox, "2026-03-02-包头市.xlsx", **{str(participated["standard_code"]): {"role": "主导"}}
    )
    second = nightly.run(instance=instance)
    booked = second.asset_materializations_for_node("awards")
    assert any(
        m.metadata["awards_booked"].value for m in booked if m.asset_key == dg.AssetKey("award_ledger")
    )
    newest = entries(nightly.engine())[-1]
    assert _recorded(second) == ChainHead(newest["entry_id"], newest["entry_hash"]) != _recorded(first)
    assert _check(instance, nightly).passed
    return _recorded(second)


def _rehash(conn: Connection) -> None:
    """Recompute every entry's hash from the first on, as an owner can."""
    head = ChainHead(0, GENESIS)
    for row in list(read_chain(conn)):
        head, linked = link(head, dict(row))
        conn.execute(
            update(LedgerEntry)
            .where(LedgerEntry.entry_id == row["entry_id"])
            .values(entry_hash=linked["entry_hash"])
        )


def _owner_edits(engine: Engine, how: str) -> None:
    """What the table's owner can still do on SQLite: drop the append-only triggers and edit."""
    with engine.begin() as conn:
        if how == "rewritten and rehashed":
            conn.execute(text("DROP TRIGGER award_ledger_no_update"))
            conn.execute(
                text(
                    "UPDATE award_ledger SET amount_fen = 2 * amount_fen, amount_yuan = 2 * amount_yuan "
                    "WHERE entry_id = 1"
                )
            )
            _rehash(conn)
        else:
            conn.execute(text("DROP TRIGGER award_ledger_no_delete"))
            conn.execute(
                text("DELETE FROM award_ledger WHERE entry_id = (SELECT MAX(entry_id) FROM award_ledger)")
            )
    with engine.connect() as conn:
        assert verify_ledger(conn)[1] == []  # the chain alone verifies


@pytest.mark.parametrize("how", ["rewritten and rehashed", "newest deleted"])
def test_a_ledger_that_no_longer_holds_the_recorded_head_is_refused_and_fails_the_check(
    nightly: Nightly, instance: dg.DagsterInstance, how: str
):
    recorded = _two_nights(nightly, instance)
    engine = nightly.engine()
    _owner_edits(engine, how)
    before = entries(engine)

    refusal = _refusal(nightly.run(raise_on_error=False, instance=instance))
    assert "台账 award_ledger 已被改写，本次不记账" in refusal and f"分录 {recorded.entry_id}：" in refusal
    assert "Dagster 中记录的链头" in refusal and "nothing was booked" in refusal
    assert entries(engine) == before
    check = _check(instance, nightly)
    assert not check.passed and "暂停拨付" in (check.description or "")
    assert check.metadata["recorded_head_entry_id"].value == recorded.entry_id

    if how == "newest deleted":
        # docs/runbook.md §7: once the ledger is restored and finance agrees, the operator reports a
        # materialization without a head (the UI's "Report materialization event"); the next night books again.
        instance.report_runless_asset_event(
            dg.AssetMaterialization("award_ledger", description="台账已核对恢复，经财政厅确认")
        )
        again = nightly.run(instance=instance)
        newest = entries(engine)[-1]
        assert _recorded(again) == ChainHead(newest["entry_id"], newest["entry_hash"])


def _decided(result: dg.ExecuteInProcessResult) -> str:
    (materialization,) = [
        m
        for m in result.asset_materializations_for_node("awards")
        if m.asset_key == dg.AssetKey("application_decisions")
    ]
    return str(materialization.metadata["decided"].value)


def test_a_night_keeping_its_decisions_still_sees_an_entry_edited_or_the_chain_recomputed(
    nightly: Nightly, instance: dg.DagsterInstance
):
    # A night with nothing new links to last night's head without walking the chain (it books nothing); the
    # chain is still walked that night, by the check, and an owner's edit is seen there.
    recorded = _two_nights(nightly, instance)
    engine = nightly.engine()
    with engine.begin() as conn:  # a text field, not an amount: the awards held are unchanged
        conn.execute(text("DROP TRIGGER award_ledger_no_update"))
        conn.execute(text("UPDATE award_ledger SET enterprise_name = '改过的名称' WHERE entry_id = 1"))
    nightly.as_of += timedelta(days=1)
    night = nightly.run(instance=instance, raise_on_error=False)
    assert _decided(night) == "kept"
    (chain,) = [e for e in night.get_asset_check_evaluations() if e.check_name == "ledger_chain_intact"]
    assert not chain.passed and chain.metadata["recorded_head_entry_id"].value == recorded.entry_id
    assert _recorded(night) == recorded

    # Recomputing every hash after the edit moves the newest hash off the recorded one: the night refuses.
    with engine.begin() as conn:
        _rehash(conn)
    nightly.as_of += timedelta(days=1)
    refusal = _refusal(nightly.run(raise_on_error=False, instance=instance))
    assert "Dagster 中记录的链头" in refusal and f"分录 {recorded.entry_id}：" in refusal
