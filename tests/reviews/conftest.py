"""Review tables run on a SQLite file and on a fresh database of the real PostgreSQL server."""

from tests.ledger.conftest import database_url, engine

__all__ = ["database_url", "engine"]
