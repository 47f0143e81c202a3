"""Exactly once: the database itself refuses a second open award for a key, however the rows are written."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert
from sqlalchemy.exc import IntegrityError

from pipelines.ledger_invariants import unbalanced_keys
from schemas.tables import LedgerEntry
from tests.ledger.batches import balances, batch, entries, insert_raw, raw_entry

KEY = "STANDARD_SETTING:RAW"
ROOT = Path(__file__).resolve().parents[2]


def test_a_second_first_award_of_a_key_is_refused(engine: Engine):
    insert_raw(engine)
    with pytest.raises(IntegrityError):
        insert_raw(engine, application_id="RAW-2")
    assert balances(engine) == {KEY: 100_000_00}


def test_a_next_award_is_refused_until_the_open_one_is_reversed(engine: Engine):
    first = insert_raw(engine)
    with pytest.raises(IntegrityError, match="AWARD_LEDGER_CHAIN"):
        insert_raw(engine, award_version=2, amount_fen=200_000_00)
    insert_raw(engine, entry_type="reversal", reverses_entry_id=first, amount_fen=-100_000_00)
    insert_raw(engine, award_version=2, amount_fen=200_000_00)
    assert balances(engine) == {KEY: 200_000_00}


def test_a_reversal_must_cancel_an_award_of_its_own_key_to_the_fen(engine: Engine):
    first = insert_raw(engine)
    other = insert_raw(engine, award_key="STANDARD_SETTING:OTHER")
    right = {"entry_type": "reversal", "reverses_entry_id": first, "amount_fen": -100_000_00}
    for wrong in (
        {"amount_fen": -99_999_99},  # not to the fen
        {"award_key": "STANDARD_SETTING:OTHER"},  # booked under another key
        {"reverses_entry_id": other},  # another key's award
        {"award_version": 2},  # the right award under the wrong version
    ):
        with pytest.raises(IntegrityError, match="AWARD_LEDGER_REVERSAL"):
            insert_raw(engine, **(right | wrong))
    assert balances(engine) == {KEY: 100_000_00, "STANDARD_SETTING:OTHER": 100_000_00}


def test_an_award_is_reversed_at_most_once(engine: Engine):
    first = insert_raw(engine)
    insert_raw(engine, entry_type="reversal", reverses_entry_id=first, amount_fen=-100_000_00)
    with pytest.raises(IntegrityError):
        insert_raw(
            engine, entry_type="reversal", reverses_entry_id=first, amount_fen=-100_000_00, run_id="again"
        )
    assert balances(engine) == {KEY: 0}


def test_two_transactions_awarding_one_key_at_the_same_moment_leave_one_award(engine: Engine):
    """No lock taken: the second writer waits on the first and then fails on the constraint."""
    outcome: list[BaseException | None] = []
    with engine.connect() as first:
        first.begin()
        first.execute(insert(LedgerEntry).values(raw_entry(run_id="first")))

        def second() -> None:
            try:
                insert_raw(engine, run_id="second")
                outcome.append(None)
            except BaseException as exc:  # handed to the test thread, which asserts on it
                outcome.append(exc)

        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(0.5)  # the second writer is now blocked on the first's uncommitted row
        assert not outcome, "the second writer must wait for the first"
        first.commit()
        thread.join(timeout=30)
    assert len(outcome) == 1 and isinstance(outcome[0], IntegrityError)
    assert [e["run_id"] for e in entries(engine)] == ["first"]


@pytest.mark.parametrize(
    ("database_url", "lock"),
    [("sqlite", True), ("postgresql", True), ("postgresql", False)],
    ids=["sqlite", "postgresql", "postgresql-constraints_only"],  # SQLite always locks the file at BEGIN
    indirect=["database_url"],
)
def test_two_processes_booking_the_same_batch_at_once_award_each_key_once(
    engine: Engine, database_url: str, lock: bool
):
    children = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.ledger.booker", database_url, "--seed", "7", "--size", "40",
             "--run-id", f"run-{n}", *([] if lock else ["--no-lock"])],
            cwd=ROOT,
            env=os.environ | {"PYTHONPATH": str(ROOT)},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in (1, 2)
    ]  # fmt: skip
    for child in children:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
    for child in children:
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.flush()
    results = [child.communicate(timeout=120) for child in children]
    assert [c.returncode for c in children] == [0, 0], results
    booked = sorted(int(out.split()[0]) for out, _ in results)
    assert booked == [0, 40]  # one run booked the batch, the other found it booked
    expected = {d.awards[0].award_key: int(d.awards[0].amount * 100) for d in batch(40, seed=7)}
    assert balances(engine) == expected
    assert len(entries(engine)) == 40
    with engine.connect() as conn:
        assert unbalanced_keys(conn) == []
