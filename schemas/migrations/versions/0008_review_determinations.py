"""Review determinations (docs/inputs.md §3): `review_determination_entries` (append-only), the published view
`review_determinations` with `in_force`, and `review_pending` (since when an application waits for review).

`in_force` is computed by the view, never stored: superseding a determination appends a row and updates none.
The determination in force for an application is its last one in the order determinations are applied: file
name, then Excel row, then the order received (`rules.review.in_force` is the same order in Python).

Revision ID: 0008
Revises: 0004
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
FINANCE_ROLE = "alu_finance"
RUNTIME_ROLE = "alu_app"
TABLE = "review_determination_entries"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("determination_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("application_id", sa.String(100), nullable=False),
        sa.Column("outcome", sa.String(10), nullable=False),
        sa.Column("determined_value", sa.Numeric(24, 6)),
        sa.Column("determined_value_text", sa.Text),
        sa.Column("opinion", sa.Text),
        sa.Column("department", sa.String(40), nullable=False),
        sa.Column("reviewer", sa.Text, nullable=False),
        sa.Column("reviewed_on", sa.String(10), nullable=False),
        sa.Column("document_no", sa.Text, nullable=False),
        sa.Column("source_file", sa.Text, nullable=False),
        sa.Column("source_sha256", sa.String(64), nullable=False),
        sa.Column("source_row", sa.Integer, nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("determination_id", name=f"pk_{TABLE}"),
        sa.UniqueConstraint("fingerprint", name=f"uq_{TABLE}_fingerprint"),
        sa.CheckConstraint("outcome IN ('approve', 'reject')", name=f"ck_{TABLE}_outcome"),
    )
    op.create_index(f"ix_{TABLE}_application_id", TABLE, ["application_id"])
    op.create_table(
        "review_pending",
        sa.Column("application_id", sa.String(100), nullable=False),
        sa.Column("since", sa.String(10), nullable=False),
        sa.Column("first_run_id", sa.String(64), nullable=False),
        sa.Column("recorded_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("application_id", name="pk_review_pending"),
    )
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(
            f"""
            CREATE FUNCTION {TABLE}_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              RAISE EXCEPTION '{TABLE} is append-only: % is not allowed (send a new determination instead)', TG_OP;
            END $$;
            """
        )
        op.execute(
            f"CREATE TRIGGER {TABLE}_append_only BEFORE UPDATE OR DELETE ON {TABLE} "
            f"FOR EACH ROW EXECUTE FUNCTION {TABLE}_append_only()"
        )
        op.execute(
            f"CREATE TRIGGER {TABLE}_no_truncate BEFORE TRUNCATE ON {TABLE} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {TABLE}_append_only()"
        )
    else:
        for op_name in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {TABLE}_no_{op_name.lower()} BEFORE {op_name} ON {TABLE} "
                f"BEGIN SELECT RAISE(ABORT, '{TABLE} is append-only: {op_name} is not allowed'); END"
            )
    op.execute(
        f"""
        CREATE VIEW review_determinations AS
        SELECT determination_id, application_id, outcome, determined_value, opinion, department, reviewer,
               reviewed_on, document_no, source_file, source_row, received_at, run_id,
               CASE WHEN ROW_NUMBER() OVER (
                      PARTITION BY application_id
                      ORDER BY source_file DESC, source_row DESC, determination_id DESC) = 1
                    THEN 1 ELSE 0 END AS in_force
        FROM {TABLE}
        """
    )
    if dialect == "postgresql":
        op.execute(
            f"DO $$ BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = '{FINANCE_ROLE}') THEN "
            f"GRANT SELECT ON review_determinations TO {FINANCE_ROLE}; END IF; END $$"
        )
        # The runtime role (0007) gets table rights by default privileges; determinations are append-only for it
        # as the ledger is (the triggers refuse it too, but a role without the right cannot even try).
        op.execute(
            f"DO $$ BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = '{RUNTIME_ROLE}') THEN "
            f"REVOKE UPDATE, DELETE, TRUNCATE ON {TABLE} FROM {RUNTIME_ROLE}; END IF; END $$"
        )


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS review_determinations")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {TABLE}_no_truncate ON {TABLE}")
        op.execute(f"DROP TRIGGER IF EXISTS {TABLE}_append_only ON {TABLE}")
        op.execute(f"DROP FUNCTION IF EXISTS {TABLE}_append_only()")
    op.drop_table("review_pending")
    op.drop_index(f"ix_{TABLE}_application_id", table_name=TABLE)
    op.drop_table(TABLE)
