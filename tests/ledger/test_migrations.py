"""The schema is made only by migrations: from empty, from 0001 with entries in it, and 0002 down and up again."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError

from assets.ledger_checks import schema_problems
from pipelines.ledger_chain import verify_ledger
from schemas.migrate import alembic_config, downgrade, upgrade
from schemas.tables import FINANCE_ROLE, Base
from tests.ledger.batches import awarded, balances, book_batch, entries, insert_raw, ledger_engine

KEY = "STANDARD_SETTING:RAW"


@pytest.fixture
def empty(database_url: str) -> Iterator[Engine]:
    engine = ledger_engine(database_url, migrate=False)
    yield engine
    engine.dispose()


def _heads(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())


def _finance_can_read(engine: Engine) -> bool:
    with engine.connect() as conn:
        return bool(
            conn.execute(
                text("SELECT has_table_privilege(:role, 'award_ledger', 'SELECT')"), {"role": FINANCE_ROLE}
            ).scalar()
        )


def _without_hash(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    return [{k: v for k, v in r.items() if k != "entry_hash"} for r in rows]


def test_an_empty_database_is_upgraded_to_every_head_with_the_published_interface(empty: Engine):
    upgrade(empty)
    script = ScriptDirectory.from_config(alembic_config(str(empty.url)))
    assert _heads(empty) == set(script.get_heads())
    assert "0002" in {r.revision for r in script.walk_revisions()}
    assert schema_problems(empty) == []


def test_the_models_describe_exactly_the_tables_the_migrations_make(empty: Engine):
    upgrade(empty)

    # Every table, with no filter: the ledger, decisions, rejections, intake cache, metering and reviews all live in
    # schemas/tables.py under one MetaData, and a table or column the migrations make that the models lack (or the
    # other way round) is a difference.
    with empty.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    assert {"award_ledger", "intake_files", "meter_days", "review_determination_entries"} <= set(
        Base.metadata.tables
    )


def test_a_ledger_at_0001_is_upgraded_with_every_entry_kept_and_the_chain_enforced(empty: Engine):
    upgrade(empty, "0001")
    first = insert_raw(empty)
    insert_raw(empty, entry_type="reversal", reverses_entry_id=first, amount_fen=-100_000_00)
    insert_raw(empty, award_version=2, amount_fen=250_000_00)
    before = entries(empty)

    upgrade(empty)

    assert _without_hash(entries(empty)) == before
    with empty.connect() as conn:
        assert verify_ledger(conn)[1] == []  # 0007 chained the entries already booked
    assert balances(empty) == {KEY: 250_000_00}
    with pytest.raises(IntegrityError, match="AWARD_LEDGER_CHAIN"):
        insert_raw(empty, award_version=3, amount_fen=1_00)
    # 0001's amount check compared a float on SQLite and refused 0.29 yuan; after 0002 it is booked exactly.
    book_batch(empty, [awarded("APP-1", ("STANDARD_SETTING:FEN", "0.29"))], "run-1")
    assert balances(empty)["STANDARD_SETTING:FEN"] == 29
    assert schema_problems(empty) == []


def test_the_ledger_downgrades_to_0001_keeping_the_entries_and_upgrades_again(empty: Engine):
    upgrade(empty)
    book_batch(empty, [awarded("APP-1", (KEY, "1234.56"))], "run-1")
    before = entries(empty)
    postgres = empty.dialect.name == "postgresql"
    assert not postgres or _finance_can_read(empty)

    downgrade(empty, "0001")  # through every later one: each later migration undoes only its own objects

    assert _heads(empty) == {"0001"}
    assert "fund_usage" not in inspect(empty).get_view_names()
    assert entries(empty) == _without_hash(before) and balances(empty) == {KEY: 123456}
    assert not postgres or not _finance_can_read(empty)

    upgrade(empty)

    latest = set(ScriptDirectory.from_config(alembic_config(str(empty.url))).get_heads())
    assert _heads(empty) == latest and schema_problems(empty) == []
    assert entries(empty) == before
    assert not postgres or _finance_can_read(empty)
    with empty.connect() as conn:
        usage = conn.execute(text("SELECT program, committed_fen FROM fund_usage")).all()
    assert [(p, int(f)) for p, f in usage] == [("STANDARD_SETTING", 123456)]


# SQLite's BEGIN IMMEDIATE serialises migrations by itself; PostgreSQL needs the advisory lock this proves.
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_processes_migrating_one_empty_database_at_once_both_succeed(empty: Engine, database_url: str):
    root = Path(__file__).resolve().parents[2]
    children = [
        subprocess.Popen(
            [sys.executable, "-m", "pipelines.migrate", database_url],
            cwd=root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [child.communicate(timeout=120) for child in children]
    assert [c.returncode for c in children] == [0, 0], results
    script = ScriptDirectory.from_config(alembic_config(database_url))
    assert _heads(empty) == set(script.get_heads())
    assert schema_problems(empty) == []
