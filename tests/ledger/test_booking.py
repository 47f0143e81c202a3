"""What a booking appends: nothing for an unchanged decision, a reversal and an award for a correction, a
reversal only for an application that no longer earns its award; exact amounts and UTC times on both backends."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, select, text

from pipelines.ledger import LedgerConflict, held_keys
from schemas.tables import LedgerEntry
from tests.ledger.batches import awarded, balances, book_batch, entries, rejected

KEY = "STANDARD_SETTING:911502001001583827:GB/T 3190-2025"
OTHER = "STANDARD_SETTING:911502001001583827:YS/T 429-2025"


def _shape(engine: Engine, key: str) -> list[tuple[str, int, str, int | None]]:
    """(type, version, application, which earlier entry it reverses) per entry of a key, oldest first."""
    rows = entries(engine, key)
    position = {r["entry_id"]: i for i, r in enumerate(rows)}
    return [
        (r["entry_type"], r["award_version"], r["application_id"], position.get(r["reverses_entry_id"]))
        for r in rows
    ]


def test_booking_the_same_decisions_again_books_nothing(engine: Engine):
    decisions = [awarded("STD-1", (KEY, "100000.00"), (OTHER, "200000.00"))]
    first = book_batch(engine, decisions, "run-1")
    again = book_batch(engine, decisions, "run-2")
    assert (first.awards, first.reversals, first.net_fen) == (2, 0, 300_000_00)
    assert (again.awards, again.reversals, again.net_fen) == (0, 0, 0)
    assert len(entries(engine)) == 2


def test_award_then_corrected_amount_then_rejection_books_award_reversal_award_reversal(engine: Engine):
    book_batch(engine, [awarded("STD-1", (KEY, "100000.00"), (OTHER, "200000.00"))], "run-1")
    corrected = book_batch(engine, [awarded("STD-1", (KEY, "200000.00"), (OTHER, "200000.00"))], "run-2")
    assert (corrected.awards, corrected.reversals, corrected.net_fen) == (1, 1, 100_000_00)
    assert balances(engine) == {KEY: 200_000_00, OTHER: 200_000_00}

    withdrawn = book_batch(engine, [rejected("STD-1")], "run-3")
    assert (withdrawn.awards, withdrawn.reversals, withdrawn.net_fen) == (0, 2, -400_000_00)
    assert balances(engine) == {KEY: 0, OTHER: 0}
    assert _shape(engine, KEY) == [
        ("award", 1, "STD-1", None),
        ("reversal", 1, "STD-1", 0),
        ("award", 2, "STD-1", None),
        ("reversal", 2, "STD-1", 2),
    ]
    reasons = [
        json.loads(r["basis"])["reason"] for r in entries(engine, KEY) if r["entry_type"] == "reversal"
    ]
    assert reasons == ["corrected", "application now rejected"]
    assert [r["run_id"] for r in entries(engine, KEY)] == ["run-1", "run-2", "run-2", "run-3"]


def test_a_re_decided_application_that_drops_one_key_gets_a_reversal_of_that_key_only(engine: Engine):
    book_batch(engine, [awarded("STD-1", (KEY, "100000.00"), (OTHER, "200000.00"))], "run-1")
    result = book_batch(engine, [awarded("STD-1", (OTHER, "200000.00"))], "run-2")
    assert (result.awards, result.reversals) == (0, 1)
    assert balances(engine) == {KEY: 0, OTHER: 200_000_00}


def test_an_award_can_be_earned_again_after_its_reversal(engine: Engine):
    book_batch(engine, [awarded("STD-1", (KEY, "100000.00"))], "run-1")
    book_batch(engine, [rejected("STD-1")], "run-2")
    book_batch(engine, [awarded("STD-1", (KEY, "100000.00"))], "run-3")
    assert _shape(engine, KEY) == [
        ("award", 1, "STD-1", None),
        ("reversal", 1, "STD-1", 0),
        ("award", 2, "STD-1", None),
    ]
    assert balances(engine) == {KEY: 100_000_00}


def test_an_application_absent_from_a_run_keeps_its_award(engine: Engine):
    book_batch(engine, [awarded("STD-1", (KEY, "100000.00"))], "run-1")
    result = book_batch(engine, [awarded("STD-2", (OTHER, "200000.00"))], "run-2")
    assert (result.awards, result.reversals) == (1, 0)
    assert balances(engine) == {KEY: 100_000_00, OTHER: 200_000_00}


def test_a_key_passes_to_another_application_when_the_holder_is_re_decided_in_the_same_run(engine: Engine):
    book_batch(engine, [awarded("STD-1", (KEY, "100000.00"))], "run-1")
    held = held_keys(engine)
    result = book_batch(
        engine, [rejected("STD-1"), awarded("STD-2", (KEY, "100000.00"))], "run-2", decided_with=held
    )
    assert (result.awards, result.reversals, result.net_fen) == (1, 1, 0)
    assert _shape(engine, KEY) == [
        ("award", 1, "STD-1", None),
        ("reversal", 1, "STD-1", 0),
        ("award", 2, "STD-2", None),
    ]


def test_decisions_that_did_not_know_the_holder_of_a_key_book_nothing(engine: Engine):
    stale = held_keys(engine)  # read before another run booked STD-1
    book_batch(engine, [awarded("STD-1", (KEY, "100000.00"))], "run-1")
    before = entries(engine)
    with pytest.raises(LedgerConflict, match="STD-1"):
        book_batch(
            engine, [rejected("STD-1"), awarded("STD-2", (KEY, "100000.00"))], "run-2", decided_with=stale
        )
    with pytest.raises(LedgerConflict, match="重新运行"):
        book_batch(engine, [awarded("STD-2", (KEY, "100000.00"))], "run-3")  # STD-1 is not even re-decided
    assert entries(engine) == before
    with engine.connect() as conn:
        assert conn.execute(text("SELECT application_id FROM application_decisions")).scalars().all() == [
            "STD-1"
        ]


def test_two_decisions_claiming_one_key_are_refused_before_anything_is_written(engine: Engine):
    with pytest.raises(ValueError, match="one application"):
        book_batch(engine, [awarded("STD-1", (KEY, "1.00")), awarded("STD-2", (KEY, "1.00"))], "run-1")
    assert entries(engine) == []


def test_amounts_are_booked_and_read_back_to_the_fen(engine: Engine):
    amounts = {
        f"STANDARD_SETTING:FEN:{y}": y for y in ("0.29", "0.57", "1.15", "1234567.89", "999999999999.99")
    }
    book_batch(engine, [awarded(f"STD-{i}", (key, y)) for i, (key, y) in enumerate(amounts.items())], "run-1")
    with engine.connect() as conn:
        rows = conn.execute(
            select(LedgerEntry.award_key, LedgerEntry.amount_yuan, LedgerEntry.amount_fen)
        ).all()
        decided = sorted(conn.execute(text("SELECT amount_fen FROM application_decisions")).scalars())
    assert {r.award_key: r.amount_yuan for r in rows} == {k: Decimal(y) for k, y in amounts.items()}
    assert all(isinstance(r.amount_yuan, Decimal) for r in rows)
    fen = {k: int(Decimal(y) * 100) for k, y in amounts.items()}
    assert {r.award_key: r.amount_fen for r in rows} == fen == balances(engine)
    assert decided == sorted(fen.values())


def test_recorded_at_is_stored_in_utc(engine: Engine):
    before = datetime.now(UTC)
    book_batch(engine, [awarded("STD-1", (KEY, "1.00"))], "run-1")
    with engine.connect() as conn:
        recorded = conn.execute(select(LedgerEntry.recorded_at)).scalar_one()
        stored = conn.execute(text("SELECT CAST(recorded_at AS TEXT) FROM award_ledger")).scalar_one()
    assert recorded.tzinfo is not None and recorded.utcoffset() == timedelta(0)
    assert before - timedelta(seconds=1) <= recorded <= datetime.now(UTC)
    # What finance sees with plain SQL: the UTC wall-clock time (PostgreSQL adds the offset of the session zone).
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SET TIME ZONE 'UTC'"))
            stored = conn.execute(text("SELECT CAST(recorded_at AS TEXT) FROM award_ledger")).scalar_one()
    assert stored.startswith(recorded.strftime("%Y-%m-%d %H:%M:%S"))


def _decision_rows(engine: Engine) -> dict[str, dict[str, object]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM application_decisions")).mappings().all()
    return {r["application_id"]: dict(r) for r in rows}


def test_every_decision_carries_the_run_that_last_reached_it_whether_or_not_it_changed(engine: Engine):
    """Finance filtering application_decisions by tonight's run sees every current decision, changed or not."""
    book_batch(engine, [awarded("STD-1", (KEY, "100000.00")), rejected("STD-2")], "run-1")
    first = _decision_rows(engine)
    book_batch(engine, [awarded("STD-1", (KEY, "100000.00")), awarded("STD-2", (OTHER, "5.00"))], "run-2")
    second = _decision_rows(engine)
    assert {r["run_id"] for r in second.values()} == {"run-2"}
    assert second["STD-1"]["evaluated_at"] != first["STD-1"]["evaluated_at"]
    unchanged = {k: v for k, v in first["STD-1"].items() if k not in ("run_id", "evaluated_at")}
    assert {k: second["STD-1"][k] for k in unchanged} == unchanged
    assert (second["STD-2"]["decision"], second["STD-2"]["amount_fen"]) == ("awarded", 500)
    assert json.loads(second["STD-2"]["reasons"])[0]["code"] == "TEST_PASSED"
