"""Helpers for the operations tests: files that look settled, fresh PostgreSQL databases, a free port."""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from pipelines.defs.sensors import SETTLE_SECONDS

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def settle(path: Path) -> Path:
    """Date a file (or every file of a folder) back past the sensor's settle window, as if copied long ago."""
    past = time.time() - SETTLE_SECONDS - 60
    for p in [path, *path.rglob("*")] if path.is_dir() else [path]:
        os.utime(p, (past, past))
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def fresh_pg_database(pg_server: str) -> Iterator[Callable[[], str]]:
    """Makes as many fresh PostgreSQL databases as a test needs; all are dropped afterwards."""
    admin = create_engine(pg_server, isolation_level="AUTOCOMMIT")
    names: list[str] = []

    def make() -> str:
        name = f"alu_ops_{uuid.uuid4().hex[:12]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        names.append(name)
        return pg_server.rsplit("/", 1)[0] + f"/{name}"

    try:
        yield make
    finally:
        from pipelines.defs import resources as resource_module

        with admin.connect() as conn:
            for name in names:
                for url in [u for u in resource_module._engines if u.endswith(f"/{name}")]:
                    resource_module._engines.pop(url).dispose()
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
