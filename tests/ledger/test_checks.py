"""The ledger checks catch what the database would refuse, once someone has switched its guards off."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

from assets.ledger_checks import (
    control_total,
    one_award_per_key,
    published_columns,
    reversals_cancel_their_award,
)
from pipelines.defs.resources import LedgerDatabase
from tests.ledger.batches import awarded, book_batch, insert_raw, switch_off

KEY = "STANDARD_SETTING:X"


@pytest.fixture
def unguarded(engine: Engine) -> Engine:
    """A booked ledger whose chain triggers an administrator has disabled (what the checks exist for)."""
    book_batch(
        engine, [awarded("STD-1", (KEY, "100.00")), awarded("STD-2", ("STANDARD_SETTING:Y", "50.00"))], "r1"
    )
    with engine.begin() as conn:
        switch_off(conn, "award_ledger_chain", ("award_ledger_chain", "award_ledger_reversal"))
    return engine


def test_every_ledger_check_passes_on_a_ledger_booked_by_the_pipeline(engine: Engine, database_url: str):
    book_batch(engine, [awarded("STD-1", (KEY, "100.00"))], "r1")
    book_batch(engine, [awarded("STD-1", (KEY, "120.00"))], "r2")
    db = LedgerDatabase(url=database_url)
    for check in (one_award_per_key, reversals_cancel_their_award, control_total, published_columns):
        result = check(ledger_db=db)
        assert result.passed, (check, result.description)


def test_a_second_open_award_fails_the_one_award_per_key_and_control_total_checks(
    unguarded: Engine, database_url: str
):
    insert_raw(unguarded, award_key=KEY, award_version=2, application_id="STD-9", amount_fen=100_00)
    db = LedgerDatabase(url=database_url)
    per_key = one_award_per_key(ledger_db=db)
    assert not per_key.passed
    assert per_key.metadata["unbalanced_keys"].value == 1
    assert per_key.description is not None and "暂停拨付" in per_key.description
    total = control_total(ledger_db=db)
    assert not total.passed
    assert total.description is not None and "STANDARD_SETTING" in total.description
    assert "重新运行 nightly_awards" in total.description


def test_a_reversal_of_another_keys_award_fails_the_reversal_check(unguarded: Engine, database_url: str):
    with unguarded.connect() as conn:
        y_award = conn.execute(
            text("SELECT entry_id FROM award_ledger WHERE award_key = 'STANDARD_SETTING:Y'")
        ).scalar_one()
    insert_raw(unguarded, award_key=KEY, entry_type="reversal", reverses_entry_id=y_award, amount_fen=-50_00)
    result = reversals_cancel_their_award(ledger_db=LedgerDatabase(url=database_url))
    assert not result.passed
    assert result.metadata["broken_reversals"].value == 1
    assert result.description is not None and "冲销" in result.description


def test_a_renamed_published_column_fails_the_published_columns_check(engine: Engine, database_url: str):
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE submission_rejections RENAME COLUMN message TO note"))
    result = published_columns(ledger_db=LedgerDatabase(url=database_url))
    assert not result.passed
    assert result.description is not None
    assert "submission_rejections 缺少列 message" in result.description
    assert "python -m pipelines.migrate" in result.description
