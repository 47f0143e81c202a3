"""What every connection to a SQLite ledger is set to (pipelines/sql.py)."""

from __future__ import annotations

from sqlalchemy import text

from pipelines.defs.resources import LedgerDatabase
from pipelines.sql import SQLITE_MMAP_BYTES


def test_a_sqlite_ledger_waits_for_a_writer_checks_its_keys_and_reads_its_pages_mapped(sqlite_url: str):
    with LedgerDatabase(url=sqlite_url).engine().connect() as conn:
        settings = {
            p: conn.execute(text(f"PRAGMA {p}")).scalar()
            for p in ("busy_timeout", "foreign_keys", "mmap_size")
        }
    assert settings == {"busy_timeout": 60_000, "foreign_keys": 1, "mmap_size": SQLITE_MMAP_BYTES}
