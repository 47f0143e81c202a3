"""Ledger protection: a running hash per entry, the booking lock table, the runtime role `alu_app` (issue 13.3).

- `award_ledger.entry_hash`: sha256 over the entry and the previous entry's hash (pipelines/ledger_chain.py),
  filled here for the entries already booked, in entry order, and by every booking from now on.
- `ledger_booking_lock`: an empty table a booking locks IN EXCLUSIVE MODE. PostgreSQL lets only a role with
  UPDATE, DELETE or TRUNCATE on a table lock it that way: the runtime role can, the SELECT-only finance role
  cannot (an advisory lock, used before, can be taken and held by any role, finance included).
- PostgreSQL: role `alu_app` (created NOLOGIN when missing; the DBA creates it with LOGIN, deploy/README.md) gets
  USAGE on the schema, SELECT/INSERT/UPDATE/DELETE on every table and the sequences, except: on `award_ledger`
  INSERT and SELECT only, on `alembic_version` SELECT only. Default privileges give it the same on tables a
  later migration creates (a later append-only table must revoke UPDATE and DELETE itself). It owns nothing, so
  it cannot ALTER, DROP, disable a trigger, TRUNCATE or GRANT. The role that runs this migration stays the owner.

Revision ID: 0007
Revises: 0004
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0005"
branch_labels = None
depends_on = None

RUNTIME_ROLE = "alu_app"
SQLITE_NO_UPDATE = (
    "CREATE TRIGGER award_ledger_no_update BEFORE UPDATE ON award_ledger "
    "BEGIN SELECT RAISE(ABORT, 'award_ledger is append-only: UPDATE is not allowed'); END"
)


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.add_column("award_ledger", sa.Column("entry_hash", sa.String(64), nullable=True))
    op.create_table(
        "ledger_booking_lock",
        sa.Column("lock_id", sa.Integer, autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("lock_id", name="pk_ledger_booking_lock"),
    )
    _chain_existing_entries(postgresql)
    if postgresql:
        _runtime_role()


def _chain_existing_entries(postgresql: bool) -> None:
    from pipelines.ledger_chain import GENESIS, entry_hash, read_chain

    conn = op.get_bind()
    previous = GENESIS
    hashes = []
    for row in read_chain(conn):
        previous = entry_hash(previous, row)
        hashes.append({"id": row["entry_id"], "h": previous})
    if not hashes:
        return
    # The append-only trigger refuses every UPDATE; this one fills a new column and is the owner's own migration.
    if postgresql:
        op.execute("ALTER TABLE award_ledger DISABLE TRIGGER award_ledger_append_only")
    else:
        op.execute("DROP TRIGGER award_ledger_no_update")
    conn.execute(sa.text("UPDATE award_ledger SET entry_hash = :h WHERE entry_id = :id"), hashes)
    if postgresql:
        op.execute("ALTER TABLE award_ledger ENABLE TRIGGER award_ledger_append_only")
    else:
        op.execute(SQLITE_NO_UPDATE)


def _runtime_role() -> None:
    # Roles belong to the whole server: another database may have created it already, possibly at this moment.
    op.execute(
        f"""
        DO $$
        BEGIN
          IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{RUNTIME_ROLE}') THEN
            CREATE ROLE {RUNTIME_ROLE} NOLOGIN;
          END IF;
        EXCEPTION
          WHEN duplicate_object OR unique_violation THEN NULL;
          WHEN insufficient_privilege THEN
            RAISE EXCEPTION '迁移用户无权创建角色 {RUNTIME_ROLE}：请数据库管理员先执行 createuser {RUNTIME_ROLE}（见 deploy/README.md），再重新运行迁移';
        END $$
        """
    )
    schema = "current_schema()"
    for statement in (
        "GRANT USAGE ON SCHEMA %I TO {role}",
        "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO {role}",
        "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA %I TO {role}",
        "ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role}",
        "ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT USAGE, SELECT ON SEQUENCES TO {role}",
    ):
        op.execute(
            f"DO $$ BEGIN EXECUTE format('{statement.format(role=RUNTIME_ROLE)}', {schema}); END $$"
        )
    op.execute(f"REVOKE UPDATE, DELETE, TRUNCATE ON award_ledger FROM {RUNTIME_ROLE}")
    op.execute(f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON alembic_version FROM {RUNTIME_ROLE}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # The role stays: it is server-wide and other databases may grant it rights.
        for statement in (
            "ALTER DEFAULT PRIVILEGES IN SCHEMA %I REVOKE ALL ON TABLES FROM {role}",
            "ALTER DEFAULT PRIVILEGES IN SCHEMA %I REVOKE ALL ON SEQUENCES FROM {role}",
            "REVOKE ALL ON ALL TABLES IN SCHEMA %I FROM {role}",
            "REVOKE ALL ON ALL SEQUENCES IN SCHEMA %I FROM {role}",
            "REVOKE USAGE ON SCHEMA %I FROM {role}",
        ):
            op.execute(
                f"DO $$ BEGIN EXECUTE format('{statement.format(role=RUNTIME_ROLE)}', current_schema()); END $$"
            )
    op.drop_table("ledger_booking_lock")
    # Plain DROP COLUMN (SQLite >= 3.35): a batch rebuild would lose the ledger's triggers.
    op.execute("ALTER TABLE award_ledger DROP COLUMN entry_hash")
