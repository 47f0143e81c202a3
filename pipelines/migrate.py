"""`python -m pipelines.migrate [URL]`: upgrade the ledger database to the newest migration, as its owner role.

The schema is created and changed only by the migrations of `schemas.migrate`; `make run` and `make dev` call this
first. The job itself runs as the runtime role (ALU_DATABASE_URL), which may not change the schema: the owner
migrates, with ALU_OWNER_DATABASE_URL (deploy/README.md), else ALU_DATABASE_URL, else the URL given.
"""

from __future__ import annotations

import os
import sys

from sqlalchemy import create_engine

from pipelines.preflight import database_problem
from pipelines.settings import Settings, ensure_sqlite_folder
from pipelines.sql import serialize_sqlite_writers
from schemas.migrate import upgrade


def main(argv: list[str]) -> None:
    # The owner role migrates; the job itself runs as the runtime role (ALU_DATABASE_URL), which may not.
    owner = os.environ.get("ALU_OWNER_DATABASE_URL")
    url = argv[0] if argv else owner or Settings.from_env().database_url
    variable = "the URL given" if argv else "ALU_OWNER_DATABASE_URL" if owner else "ALU_DATABASE_URL"
    # A URL that does not parse or connect: the one line `run_settings` would say, not the driver's traceback
    problem = database_problem(url, variable)
    if problem:
        print(problem, file=sys.stderr)
        raise SystemExit(1)
    ensure_sqlite_folder(url)
    engine = create_engine(url)
    # The same connection setup as the pipeline: on SQLite, without it the driver commits DDL statement by statement
    # and a failed migration could leave a half-rebuilt table.
    serialize_sqlite_writers(engine)
    upgrade(engine)
    print(f"ledger database at head: {engine.url.render_as_string(hide_password=True)}")


if __name__ == "__main__":
    main(sys.argv[1:])
