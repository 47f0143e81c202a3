"""award_ledger is append-only: the database refuses to rewrite or remove history, on SQLite and PostgreSQL."""

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DatabaseError

from tests.ledger.batches import batch, book_batch, entries


@pytest.fixture
def booked(engine: Engine) -> Engine:
    book_batch(engine, batch(3, seed=1), "run-1")
    return engine


def test_an_update_or_delete_of_a_ledger_entry_is_refused(booked: Engine):
    before = entries(booked)
    for statement in (
        "UPDATE award_ledger SET amount_fen = amount_fen + 1, amount_yuan = amount_yuan + 0.01",
        "UPDATE award_ledger SET run_id = 'rewritten'",
        "DELETE FROM award_ledger",
        "DELETE FROM award_ledger WHERE entry_type = 'award'",
    ):
        with pytest.raises(DatabaseError, match="append-only"), booked.begin() as conn:
            conn.execute(text(statement))
    assert entries(booked) == before


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # SQLite has no TRUNCATE
def test_truncating_the_ledger_is_refused_on_postgresql(booked: Engine):
    with pytest.raises(DatabaseError, match="append-only"), booked.begin() as conn:
        conn.execute(text("TRUNCATE award_ledger"))
    assert len(entries(booked)) == 3
