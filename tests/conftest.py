"""Shared fixtures: real SQLite files, a real PostgreSQL database per test run, real Dagster runs."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

import assets as asset_package
from pipelines.defs.resources import LedgerDatabase, resources_for
from pipelines.settings import SAMPLE_INBOX

AS_OF = date(2026, 11, 24)
PG_ADMIN_URL = os.environ.get(
    "ALU_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@dataclass
class Nightly:
    """One configuration of the nightly job (inbox, database, reports, as-of) and a way to run it in-process."""

    inbox: Path
    database_url: str
    reports: Path
    as_of: date = AS_OF

    def resources(self) -> dict[str, object]:
        return dict(
            resources_for(str(self.inbox), self.database_url, str(self.reports), self.as_of.isoformat())
        )

    def run(
        self, raise_on_error: bool = True, instance: dg.DagsterInstance | None = None
    ) -> dg.ExecuteInProcessResult:
        """Materialise every asset with its checks, on `instance` or a fresh test instance."""
        if instance is not None:
            return self._materialize(instance, raise_on_error)
        with dg.instance_for_test() as fresh:
            return self._materialize(fresh, raise_on_error)

    def _materialize(self, instance: dg.DagsterInstance, raise_on_error: bool) -> dg.ExecuteInProcessResult:
        return self._materialize_with(instance, self.resources(), raise_on_error)

    def _materialize_with(
        self, instance: dg.DagsterInstance, resources: dict[str, object], raise_on_error: bool = False
    ) -> dg.ExecuteInProcessResult:
        return dg.materialize(
            [
                *dg.load_assets_from_package_module(asset_package),
                *dg.load_asset_checks_from_package_module(asset_package),
            ],
            resources=resources,
            instance=instance,
            raise_on_error=raise_on_error,
        )

    def engine(self) -> Engine:
        return LedgerDatabase(url=self.database_url).engine()

    def scalar(self, sql: str, **params: object) -> object:
        with self.engine().connect() as conn:
            return conn.execute(text(sql), params).scalar()

    def rows(self, sql: str, **params: object) -> list[dict[str, object]]:
        with self.engine().connect() as conn:
            return [dict(r._mapping) for r in conn.execute(text(sql), params)]


@pytest.fixture
def sample_inbox(tmp_path: Path) -> Path:
    """A private copy of the bundled sample inbox."""
    inbox = tmp_path / "inbox"
    shutil.copytree(SAMPLE_INBOX, inbox)
    return inbox


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ledger.sqlite'}"


@pytest.fixture
def nightly(sample_inbox: Path, sqlite_url: str, tmp_path: Path) -> Nightly:
    return Nightly(inbox=sample_inbox, database_url=sqlite_url, reports=tmp_path / "reports")


def _postgres_reachable() -> str | None:
    try:
        engine = create_engine(
            PG_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3}
        )
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:  # any failure means "no server here"
        return f"{type(exc).__name__}: {exc}"


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """The admin URL of the real PostgreSQL server; under CI a missing server fails the test instead of skipping."""
    problem = _postgres_reachable()
    if problem:
        message = f"PostgreSQL at {PG_ADMIN_URL} is not reachable: {problem}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    yield PG_ADMIN_URL


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    name = f"alu_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(pg_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = pg_server.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        from pipelines.defs import resources as resource_module

        engine = resource_module._engines.pop(url, None)
        if engine is not None:
            engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
