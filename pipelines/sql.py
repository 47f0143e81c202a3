"""SQL that reads the same on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert


def insert_ignoring(bind: Engine | Connection, table: Any, *keys: str) -> Any:
    """INSERT … ON CONFLICT (keys) DO NOTHING: a row the table already holds is left as it is (re-runs, retries
    and concurrent runs write each row once). Both dialects spell it alike; only the construct differs."""
    insert = pg_insert if bind.dialect.name == "postgresql" else sqlite_insert
    return insert(table).on_conflict_do_nothing(index_elements=list(keys) or None)


def insert_new(conn: Connection, table: Any, rows: Sequence[dict[str, Any]], *keys: str) -> None:
    """Insert the rows not there yet. SQLAlchemy batches an executemany by itself (insertmanyvalues), within each
    backend's parameter limits, so callers send their rows whole."""
    if rows:
        conn.execute(insert_ignoring(conn, table, *keys), list(rows))
