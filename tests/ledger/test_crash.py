"""Atomic runs: a booking process killed at any point leaves nothing half-booked, and the next run completes it."""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
from typing import Any

from sqlalchemy import Engine, text

from pipelines.ledger_invariants import broken_reversals, control_totals, unbalanced_keys
from rules.decision import Decision
from tests.ledger.batches import balances, batch, book_batch, entries, ledger_engine

TRIALS = 20
KEYS = 20


def corrections(seed: int) -> list[Decision]:
    """Every key of the batch re-decided with a new amount: a reversal and an award to book per key."""
    return batch(KEYS, seed)


def _book_then_die(url: str, seed: int, crash_after: int) -> None:
    engine = ledger_engine(url, migrate=False)
    written = 0

    def on_entry(_row: dict[str, Any]) -> None:
        nonlocal written
        written += 1
        if written == crash_after:
            os.kill(os.getpid(), signal.SIGKILL)

    book_batch(engine, corrections(seed), f"crash-{seed}", on_entry=on_entry)


def _decisions(engine: Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(text("SELECT * FROM application_decisions ORDER BY application_id"))
        ]


def _assert_consistent(engine: Engine) -> None:
    with engine.connect() as conn:
        assert unbalanced_keys(conn) == []
        assert broken_reversals(conn) == []
        assert all(ledger == decided for ledger, decided in control_totals(conn).values())


def test_a_booking_killed_at_a_random_point_books_nothing_and_the_next_run_completes_it(
    engine: Engine, database_url: str
):
    book_batch(engine, batch(KEYS, seed=1), "initial")
    fork = multiprocessing.get_context("fork")  # the child inherits the imports: a trial costs milliseconds
    rng = random.Random(20261124)
    for trial in range(TRIALS):
        seed = 100 + trial
        crash_after = rng.randint(1, 2 * KEYS)
        before_entries, before_decisions = entries(engine), _decisions(engine)

        child = fork.Process(target=_book_then_die, args=(database_url, seed, crash_after))
        child.start()
        child.join(timeout=60)
        assert child.exitcode == -signal.SIGKILL, f"trial {trial}: the child was not killed mid-booking"

        assert entries(engine) == before_entries, f"trial {trial}: killed after {crash_after} entries"
        assert _decisions(engine) == before_decisions
        _assert_consistent(engine)

        result = book_batch(engine, corrections(seed), f"rerun-{seed}")
        assert (result.awards, result.reversals) == (KEYS, KEYS)
        expected = {d.awards[0].award_key: int(d.awards[0].amount * 100) for d in corrections(seed)}
        assert balances(engine) == expected
        _assert_consistent(engine)
