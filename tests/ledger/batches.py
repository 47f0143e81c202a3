"""Decisions and ledger rows for ledger tests, importable by the child processes the tests start."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, insert, inspect, text

from pipelines.ledger import BookingResult, book
from pipelines.ledger_chain import link, verify_ledger
from pipelines.sql import serialize_sqlite_writers
from rules.decision import Award, Condition, Decision, Outcome
from schemas.tables import LedgerEntry

CREDIT_CODE = "911502001001583827"
PROGRAM = "STANDARD_SETTING"
APPLICATION = "STD-002"  # the sample application the nightly tests correct by resubmitting it


def ledger_engine(url: str, migrate: bool = True) -> Engine:
    engine = create_engine(url)
    serialize_sqlite_writers(engine)
    if migrate:
        from schemas.migrate import upgrade  # alembic is slow to import; booking children do not need it

        upgrade(engine)
    return engine


def awarded(application_id: str, *awards: tuple[str, str]) -> Decision:
    """An awarded decision holding the given (award key, yuan) pairs."""
    return Decision(
        application_id,
        PROGRAM,
        CREDIT_CODE,
        Outcome.AWARDED,
        "七",
        "工信厅",
        (Condition("TEST_PASSED", "七", True, "测试：条件满足"),),
        awards=tuple(Award(key, Decimal(yuan), {"test": True}) for key, yuan in awards),
    )


def rejected(application_id: str) -> Decision:
    return Decision(
        application_id,
        PROGRAM,
        CREDIT_CODE,
        Outcome.REJECTED,
        "七",
        "工信厅",
        (Condition("TEST_FAILED", "七", False, "测试：条件不满足"),),
    )


def batch(size: int, seed: int) -> list[Decision]:
    """`size` applications, one award key each, with amounts in fen drawn from `seed`."""
    rng = random.Random(seed)
    return [
        awarded(f"APP-{i:03d}", (f"{PROGRAM}:TEST:{i:03d}", str(Decimal(rng.randint(1, 50_000_000)) / 100)))
        for i in range(size)
    ]


def book_batch(engine: Engine, decisions: list[Decision], run_id: str, **options: Any) -> BookingResult:
    return book(
        engine,
        decisions,
        run_id=run_id,
        rulebook_version="rb-test",
        enterprise_names={CREDIT_CODE: "测试铝业有限公司"},
        **options,
    )


def balances(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {k: int(v) for k, v in conn.execute(text("SELECT award_key, net_fen FROM award_balances"))}


def entries(engine: Engine, key: str | None = None) -> list[dict[str, Any]]:
    sql = "SELECT * FROM award_ledger" + (" WHERE award_key = :key" if key else "") + " ORDER BY entry_id"
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(text(sql), {"key": key})]


def raw_entry(**fields: Any) -> dict[str, Any]:
    """A ledger row written past `book()`, to show what the database itself refuses."""
    fen = int(fields.pop("amount_fen", 100_000_00))
    row = {
        "award_key": f"{PROGRAM}:RAW",
        "award_version": 1,
        "application_id": "RAW-1",
        "credit_code": CREDIT_CODE,
        "enterprise_name": "测试铝业有限公司",
        "program": PROGRAM,
        "clause": "七",
        "entry_type": "award",
        "reverses_entry_id": None,
        "amount_fen": fen,
        "amount_yuan": Decimal(fen) / 100,
        "lead_department": "工信厅",
        "rulebook_version": "rb-test",
        "run_id": "raw",
        "recorded_at": datetime.now(UTC),
        "basis": "{}",
    }
    return row | fields


def insert_raw(engine: Engine, **fields: Any) -> int:
    """Insert one row as the next link of the hash chain (as `book()` would number and hash it)."""
    with engine.begin() as conn:
        row = raw_entry(**fields)
        if "entry_hash" in {c["name"] for c in inspect(conn).get_columns("award_ledger")}:  # from 0007 on
            head, _ = verify_ledger(conn)
            _, row = link(head, row)
        result = conn.execute(insert(LedgerEntry).values(row).returning(LedgerEntry.entry_id))
        return int(result.scalar_one())


def resubmit(inbox: Path, name: str, **standard_changes: dict[str, object]) -> None:
    """Send STD-002 again, whole, with some of its standards changed (docs/inputs.md: a later batch corrects it)."""
    from samples.build import sample_sheets  # openpyxl is slow to import; booking children do not need it
    from samples.workbook import write_batch

    sheets = sample_sheets()
    application = [a for a in sheets["applications"] if a["application_id"] == APPLICATION]
    standards = [
        s | standard_changes.get(str(s["standard_code"]), {})
        for s in sheets["standards"]
        if s["application_id"] == APPLICATION
    ]
    write_batch(inbox / name, {"applications": application, "standards": standards})


def switch_off(conn: Connection, postgresql: str, sqlite: tuple[str, ...]) -> None:
    """What the owner can do to award_ledger's guards: disable a trigger (PostgreSQL; `USER` for all of them) or
    drop the triggers that hold it (SQLite, which cannot disable one)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text(f"ALTER TABLE award_ledger DISABLE TRIGGER {postgresql}"))
    else:
        for trigger in sqlite:
            conn.execute(text(f"DROP TRIGGER {trigger}"))
