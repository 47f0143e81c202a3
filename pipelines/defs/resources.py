"""Resources, configured from the environment exactly as docs/outputs.md §3 says (ALU_* variables)."""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path

import dagster as dg
from pydantic import PrivateAttr
from sqlalchemy import Engine, create_engine, make_url

from pipelines.io_manager import PickleIOManager
from pipelines.row_cache import RowCache
from pipelines.settings import Settings, ensure_sqlite_folder, parse_as_of
from pipelines.sql import serialize_sqlite_writers
from rules.parameters import Parameters
from schemas.migrate import upgrade

_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


class LedgerDatabase(dg.ConfigurableResource):
    """The ledger database (ALU_DATABASE_URL): SQLite by default, PostgreSQL in production."""

    url: str

    @property
    def display_url(self) -> str:
        """The URL without its password, for metadata and messages."""
        return make_url(self.url).render_as_string(hide_password=True)

    def engine(self) -> Engine:
        with _engines_lock:
            if self.url not in _engines:
                ensure_sqlite_folder(self.url)
                engine = create_engine(self.url, pool_pre_ping=True)
                serialize_sqlite_writers(engine)
                upgrade(engine)  # the schema is only ever created and changed by migrations
                _engines[self.url] = engine
            return _engines[self.url]


class Inbox(dg.ConfigurableResource):
    """The inbox folder (ALU_INBOX_DIR): submission batches (.xlsx or folders) and metering exports (.csv)."""

    path: str

    @property
    def folder(self) -> Path:
        return Path(self.path)


class ReportsFolder(dg.ConfigurableResource):
    """Where department reports are written (ALU_REPORTS_DIR), one sub-folder per evaluation date."""

    path: str

    def for_date(self, as_of: date) -> Path:
        folder = Path(self.path) / as_of.isoformat()
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def kept_rows(self) -> RowCache:
        """The report tables' rows kept for the nights after (`pipelines.row_cache`), beside the dated folders."""
        return RowCache.under(Path(self.path))


class Evaluation(dg.ConfigurableResource):
    """The evaluation date (ALU_AS_OF, YYYY-MM-DD); empty means today in Asia/Shanghai."""

    as_of: str = ""

    @property
    def date(self) -> date:
        return parse_as_of(self.as_of)


class Rulebook(dg.ConfigurableResource):
    """The rulebook a run decides with (the rules and their dated parameters, `rules.parameters`), loaded once
    per run: every decision, ledger entry and report of one run carries the same version, even if a parameter
    file changes while the run is under way (the code location's executor runs every step in one process)."""

    _parameters: Parameters | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._parameters = Parameters.load()

    @property
    def parameters(self) -> Parameters:
        if self._parameters is None:  # called outside a run (an asset or check invoked directly)
            self._parameters = Parameters.load()
        return self._parameters


# What the code location binds: its resources and its IO manager, by key.
Resources = dict[str, dg.ConfigurableResource | dg.ConfigurableIOManagerFactory]


def resources_for(inbox: str, database_url: str, reports: str | None = None, as_of: str = "") -> Resources:
    """The code location's resources for this inbox, database, reports folder and evaluation date (empty: today);
    without `reports`, those of the intake and metering assets (what a test or benchmark of them runs with)."""
    resources: Resources = {
        "ledger_db": LedgerDatabase(url=database_url),
        "inbox": Inbox(path=inbox),
        "evaluation": Evaluation(as_of=as_of),
        "rulebook": Rulebook(),
        "io_manager": PickleIOManager(),
    }
    if reports is not None:
        resources["reports"] = ReportsFolder(path=reports)
    return resources


def resources_from_env() -> Resources:
    settings = Settings.from_env()
    return resources_for(settings.inbox_dir, settings.database_url, settings.reports_dir, settings.as_of)


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources=resources_from_env())
