"""Every ledger scenario runs twice: on a SQLite file and on a fresh database of the real PostgreSQL server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.ledger.batches import ledger_engine


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A ledger database upgraded to the newest migrations, connected exactly as the pipeline connects."""
    engine = ledger_engine(database_url)
    yield engine
    engine.dispose()
