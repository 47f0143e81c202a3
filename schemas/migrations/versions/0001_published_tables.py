"""Published tables: award_ledger (append-only), award_balances, application_decisions, submission_rejections.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

MONEY = sa.Numeric(14, 2)
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "award_ledger",
        sa.Column("entry_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("award_key", sa.String(200), nullable=False),
        sa.Column("award_version", sa.Integer, nullable=False),
        sa.Column("application_id", sa.String(100), nullable=False),
        sa.Column("credit_code", sa.String(18), nullable=False),
        sa.Column("enterprise_name", sa.Text, nullable=False),
        sa.Column("program", sa.String(40), nullable=False),
        sa.Column("clause", sa.String(20), nullable=False),
        sa.Column("entry_type", sa.String(10), nullable=False),
        sa.Column("reverses_entry_id", sa.Integer, sa.ForeignKey("award_ledger.entry_id",
                                                                 name="fk_award_ledger_reverses_entry_id")),
        sa.Column("amount_yuan", MONEY, nullable=False),
        sa.Column("amount_fen", sa.BigInteger, nullable=False),
        sa.Column("lead_department", sa.String(40), nullable=False),
        sa.Column("rulebook_version", sa.String(40), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("recorded_at", TS, nullable=False),
        sa.Column("basis", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("entry_id", name="pk_award_ledger"),
        sa.UniqueConstraint("award_key", "entry_type", "award_version", name="uq_award_ledger_key_version"),
        sa.UniqueConstraint("reverses_entry_id", name="uq_award_ledger_reverses"),
        sa.CheckConstraint("entry_type IN ('award', 'reversal')", name="ck_award_ledger_entry_type"),
        sa.CheckConstraint(
            "(entry_type = 'award' AND amount_fen > 0 AND reverses_entry_id IS NULL)"
            " OR (entry_type = 'reversal' AND amount_fen < 0 AND reverses_entry_id IS NOT NULL)",
            name="ck_award_ledger_entry_shape",
        ),
        sa.CheckConstraint("amount_yuan * 100 = amount_fen", name="ck_award_ledger_amount_matches_fen"),
    )
    op.create_index("ix_award_ledger_award_key", "award_ledger", ["award_key"])

    op.create_table(
        "application_decisions",
        sa.Column("application_id", sa.String(100), nullable=False),
        sa.Column("program", sa.String(40), nullable=False),
        sa.Column("credit_code", sa.String(18), nullable=False),
        sa.Column("enterprise_name", sa.Text),
        sa.Column("league_city", sa.String(20)),
        sa.Column("clause", sa.String(20), nullable=False),
        sa.Column("lead_department", sa.String(40), nullable=False),
        sa.Column("decision", sa.String(20), nullable=False),
        sa.Column("amount_yuan", MONEY),
        sa.Column("amount_fen", sa.BigInteger),
        sa.Column("reasons", sa.Text, nullable=False),
        sa.Column("explanation", sa.Text, nullable=False),
        sa.Column("source_file", sa.Text),
        sa.Column("submitted_on", sa.String(10)),
        sa.Column("rulebook_version", sa.String(40), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("evaluated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("application_id", name="pk_application_decisions"),
        sa.CheckConstraint(
            "decision IN ('awarded', 'eligible', 'compliant', 'non_compliant', 'rejected', 'needs_review')",
            name="ck_application_decisions_decision",
        ),
    )

    op.create_table(
        "submission_rejections",
        sa.Column("rejection_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("file", sa.Text, nullable=False),
        sa.Column("file_sha256", sa.String(64), nullable=False),
        sa.Column("sheet", sa.String(40), nullable=False),
        sa.Column("row_number", sa.Integer),
        sa.Column("column", sa.Text),
        sa.Column("value", sa.Text),
        sa.Column("code", sa.String(60), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("recorded_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("rejection_id", name="pk_submission_rejections"),
        sa.UniqueConstraint("fingerprint", name="uq_submission_rejections_fingerprint"),
    )
    op.create_index("ix_submission_rejections_file_sha256", "submission_rejections", ["file_sha256"])

    op.create_table(
        "intake_counts",
        sa.Column("count_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("file", sa.Text, nullable=False),
        sa.Column("file_sha256", sa.String(64), nullable=False),
        sa.Column("sheet", sa.String(40), nullable=False),
        sa.Column("received", sa.Integer, nullable=False),
        sa.Column("accepted", sa.Integer, nullable=False),
        sa.Column("rejected", sa.Integer, nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("recorded_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("count_id", name="pk_intake_counts"),
        sa.UniqueConstraint("file_sha256", "sheet", name="uq_intake_counts_file_sheet"),
        sa.CheckConstraint("received = accepted + rejected", name="ck_intake_counts_balanced"),
    )

    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(
            """
            CREATE FUNCTION award_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              RAISE EXCEPTION 'award_ledger is append-only: % is not allowed (book a reversal instead)', TG_OP;
            END $$;
            """
        )
        op.execute(
            "CREATE TRIGGER award_ledger_append_only BEFORE UPDATE OR DELETE ON award_ledger "
            "FOR EACH ROW EXECUTE FUNCTION award_ledger_append_only()"
        )
        op.execute(
            "CREATE TRIGGER award_ledger_no_truncate BEFORE TRUNCATE ON award_ledger "
            "FOR EACH STATEMENT EXECUTE FUNCTION award_ledger_append_only()"
        )
        net_yuan = "CAST(SUM(amount_yuan) AS NUMERIC(14, 2))"
    else:
        for op_name in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER award_ledger_no_{op_name.lower()} BEFORE {op_name} ON award_ledger "
                f"BEGIN SELECT RAISE(ABORT, 'award_ledger is append-only: {op_name} is not allowed'); END"
            )
        net_yuan = "SUM(amount_fen) / 100.0"
    op.execute(
        f"""
        CREATE VIEW award_balances AS
        SELECT award_key,
               MIN(program) AS program,
               MIN(credit_code) AS credit_code,
               {net_yuan} AS net_yuan,
               SUM(amount_fen) AS net_fen,
               COUNT(*) AS entries,
               MAX(recorded_at) AS last_recorded_at
        FROM award_ledger
        GROUP BY award_key
        """
    )


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS award_balances")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS award_ledger_no_truncate ON award_ledger")
        op.execute("DROP TRIGGER IF EXISTS award_ledger_append_only ON award_ledger")
        op.execute("DROP FUNCTION IF EXISTS award_ledger_append_only()")
    op.drop_table("intake_counts")
    op.drop_table("submission_rejections")
    op.drop_table("application_decisions")
    op.drop_index("ix_award_ledger_award_key", table_name="award_ledger")
    op.drop_table("award_ledger")
