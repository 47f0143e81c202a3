"""`review_determinations`: every determination kept, never edited; which one is in force is computed, not stored."""

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DatabaseError

from pipelines import review_store
from pipelines.reviews import ReviewIntake
from rules.review import Determination


def _determination(
    file: str, row: int, outcome: str = "approve", value: str | None = "2100.5"
) -> Determination:
    return Determination("ES-003", outcome, None if value is None else Decimal(value), "意见", "工信厅", "张三",
                         date(2026, 11, 20), "内工信节审〔2026〕8号", file, row)  # fmt: skip


def _record(engine: Engine, *items: tuple[str, Determination]) -> None:
    intake = ReviewIntake(new=list(items), files=[(d.source_file, "sha-" + d.source_file) for _, d in items])
    review_store.record(engine, intake, "run-1")


def test_a_later_determination_is_in_force_and_the_earlier_one_is_kept(engine: Engine):
    _record(engine, ("f1", _determination("审核/2026-11-22-工信厅.xlsx", 2)))
    _record(engine, ("f2", _determination("审核/2026-11-20-工信厅.xlsx", 5, "reject", None)))
    _record(engine, ("f1", _determination("审核/2026-11-22-工信厅.xlsx", 2)))  # re-read: nothing twice
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT source_file, outcome, in_force FROM review_determinations ORDER BY source_file")
        ).all()
    assert [tuple(r) for r in rows] == [
        ("审核/2026-11-20-工信厅.xlsx", "reject", 0),
        ("审核/2026-11-22-工信厅.xlsx", "approve", 1),
    ]
    on_record = review_store.on_record(engine)
    assert {d.determined_value for d in on_record} == {Decimal("2100.5"), None}  # exact, from its text


@pytest.mark.parametrize("statement", ["UPDATE review_determination_entries SET outcome = 'reject'",
                                       "DELETE FROM review_determination_entries"])  # fmt: skip
def test_a_recorded_determination_can_be_neither_edited_nor_deleted(engine: Engine, statement: str):
    _record(engine, ("f1", _determination("审核/2026-11-22-工信厅.xlsx", 2)))
    with pytest.raises(DatabaseError, match="append-only"), engine.begin() as conn:
        conn.execute(text(statement))
