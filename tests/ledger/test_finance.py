"""What finance gets: a read-only role on PostgreSQL, fund usage per program and Shanghai year, a budget flag."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import ProgrammingError

from assets.ledger_checks import fund_within_budget
from pipelines.defs.resources import Evaluation, LedgerDatabase, Rulebook
from rules.parameters import Parameters
from schemas.tables import FINANCE_ROLE, PUBLISHED_COLUMNS, PUBLISHED_VIEWS
from tests.conftest import AS_OF
from tests.ledger.batches import awarded, book_batch, insert_raw

only_postgresql = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


def _as_finance(engine: Engine, sql: str) -> list[Any]:
    with engine.connect() as conn:
        conn.execute(text(f"SET ROLE {FINANCE_ROLE}"))
        try:
            return list(conn.execute(text(sql)).all())
        finally:
            conn.rollback()


@only_postgresql
def test_the_finance_role_reads_every_row_of_every_published_table_and_view(engine: Engine):
    book_batch(engine, [awarded("STD-1", ("STANDARD_SETTING:X", "100.00"))], "run-1")
    with engine.connect() as conn:
        owner = {r: conn.execute(text(f"SELECT COUNT(*) FROM {r}")).scalar_one() for r in PUBLISHED_COLUMNS}
    finance = {r: _as_finance(engine, f"SELECT COUNT(*) FROM {r}")[0][0] for r in PUBLISHED_COLUMNS}
    assert finance == owner  # nothing hidden from finance (no grant missing, no row policy)
    assert owner["award_ledger"] == 1 and owner["application_decisions"] == 1
    assert _as_finance(engine, "SELECT net_fen FROM award_balances") == [(10000,)]


@only_postgresql
def test_the_finance_role_cannot_write_anything_nor_read_what_is_not_published(engine: Engine):
    tables = {t: next(iter(c)) for t, c in PUBLISHED_COLUMNS.items() if t not in PUBLISHED_VIEWS}
    statements = [
        *(f"INSERT INTO {t} DEFAULT VALUES" for t in tables),
        *(f"UPDATE {t} SET {column} = NULL" for t, column in tables.items()),
        *(f"DELETE FROM {t}" for t in tables),
        *(f"TRUNCATE {t}" for t in tables),
        "SELECT * FROM intake_counts",  # not published
        "SELECT * FROM alembic_version",
        "CREATE TABLE finance_notes (note text)",
        "CREATE VIEW finance_view AS SELECT 1 AS one",
    ]
    allowed = []
    for statement in statements:
        try:
            _as_finance(engine, statement)
            allowed.append(statement)
        except ProgrammingError as exc:
            assert "permission denied" in str(exc), statement
    assert allowed == []


@only_postgresql
def test_a_table_created_after_the_migration_is_not_readable_by_finance(engine: Engine):
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE scratch_audit (note text)"))
    with pytest.raises(ProgrammingError, match="permission denied"):
        _as_finance(engine, "SELECT * FROM scratch_audit")


def test_fund_usage_counts_an_entry_in_the_year_it_was_recorded_in_shanghai(engine: Engine):
    # 2026-12-31 15:59:59 UTC is 23:59:59 in Shanghai; one second later it is already 2027 there.
    insert_raw(
        engine, award_key="STANDARD_SETTING:A", recorded_at=datetime(2026, 12, 31, 15, 59, 59, tzinfo=UTC)
    )
    insert_raw(
        engine, award_key="STANDARD_SETTING:B", recorded_at=datetime(2026, 12, 31, 16, 0, 0, tzinfo=UTC)
    )
    first = insert_raw(engine, award_key="STANDARD_SETTING:C", recorded_at=datetime(2026, 6, 1, tzinfo=UTC))
    insert_raw(
        engine,
        award_key="STANDARD_SETTING:C",
        entry_type="reversal",
        reverses_entry_id=first,
        amount_fen=-100_000_00,
        recorded_at=datetime(2027, 1, 5, tzinfo=UTC),
    )
    with engine.connect() as conn:
        usage = {
            (r.program, int(r.fund_year)): (Decimal(str(r.awarded_yuan)), Decimal(str(r.reversed_yuan)), int(r.committed_fen))
            for r in conn.execute(text("SELECT * FROM fund_usage"))
        }  # fmt: skip
    assert usage == {
        ("STANDARD_SETTING", 2026): (Decimal("200000"), Decimal("0"), 200_000_00),
        ("STANDARD_SETTING", 2027): (Decimal("100000"), Decimal("-100000"), 0),
    }


@pytest.mark.parametrize("over_fen", [0, 1])
def test_the_budget_check_warns_when_the_year_commits_more_than_the_budget(
    engine: Engine, database_url: str, over_fen: int
):
    budget = Decimal(Parameters.load().at(AS_OF).value("fund.annual_budget"))
    insert_raw(engine, amount_fen=int(budget * 100) + over_fen, recorded_at=datetime(2026, 3, 1, tzinfo=UTC))
    result = fund_within_budget(
        ledger_db=LedgerDatabase(url=database_url),
        evaluation=Evaluation(as_of=AS_OF.isoformat()),
        rulebook=Rulebook(),
    )
    assert result.passed is (over_fen == 0)
    assert result.severity.value == "WARN"
    if over_fen:
        assert result.description is not None
        assert "超出年度预算" in result.description and "0.01 元" in result.description
        assert "不会按比例压减" in result.description
