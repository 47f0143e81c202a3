"""Upgrade the ledger database to the newest migration: `python -m schemas.migrate [URL]`.

The schema is created and changed only here (Alembic); `make run` and every pipeline run call it first.
"""

from __future__ import annotations

import sys
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, text

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: Engine, revision: str = "heads") -> None:
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Two runs starting on a fresh database would both create the tables; the second waits here and
            # then finds the schema at head. (SQLite's BEGIN IMMEDIATE already serialises them.)
            connection.execute(text("SELECT pg_advisory_xact_lock(hashtext('alu_awards.migrate'))"))
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def downgrade(engine: Engine, revision: str) -> None:
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def main(argv: list[str]) -> None:
    from pipelines.ledger import serialize_sqlite_writers
    from pipelines.settings import Settings, ensure_sqlite_folder

    url = argv[0] if argv else Settings.from_env().database_url
    ensure_sqlite_folder(url)
    engine = create_engine(url)
    # The same connection setup as the pipeline: on SQLite, without it the driver commits DDL statement by statement
    # and a failed migration could leave a half-rebuilt table.
    serialize_sqlite_writers(engine)
    upgrade(engine)
    print(f"ledger database at head: {engine.url.render_as_string(hide_password=True)}")


if __name__ == "__main__":
    main(sys.argv[1:])
