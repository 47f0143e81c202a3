"""Upgrade the ledger database to the newest migration (the command line is `python -m pipelines.migrate`).

The schema is created and changed only here (Alembic); `make run` and every pipeline run call it first.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text
from sqlalchemy.exc import ProgrammingError

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


class MigrationNeeded(RuntimeError):
    """The database is behind the code and the connected role may not change its schema."""


def at_head(engine: Engine) -> bool:
    """Whether the database is at every head already: read without any lock, so a pipeline run connected as the
    runtime role (which may not migrate) starts without waiting on, or being held up by, anyone."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    heads = set(ScriptDirectory.from_config(config).get_heads())
    with engine.connect() as connection:
        return set(MigrationContext.configure(connection).get_current_heads()) == heads


def upgrade(engine: Engine, revision: str = "heads") -> None:
    if revision == "heads" and at_head(engine):
        return
    try:
        _upgrade(engine, revision)
    except ProgrammingError as exc:
        if getattr(exc.orig, "sqlstate", None) != "42501":  # insufficient_privilege
            raise
        raise MigrationNeeded(
            "台账数据库需要升级到最新迁移，但当前账号无权修改表结构（运行账号只读写数据）：请用表所有者账号执行 "
            "`python -m pipelines.migrate <所有者的数据库 URL>`（见 deploy/README.md），再重新运行。 / The ledger database "
            "needs migrating and this role may not change the schema: run `python -m pipelines.migrate` as the owner role."
        ) from exc


def _upgrade(engine: Engine, revision: str) -> None:
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
