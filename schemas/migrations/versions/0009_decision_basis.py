"""`decision_basis`: what tonight's decisions were made from, so that a night with nothing new can keep them.

One row at most: the digest of everything the decisions and their rows are made from (the applications with
their metered savings, the review determinations in force, the open awards after the booking, the enterprises'
names, the code and the rulebook), the evaluation dates over which they hold (rules/evaluation_span.py), the run
whose stamp the decision rows carry and how many rows that is (pipelines/decision_basis.py). Written in the
booking's transaction; not published. The runtime role gets its rights by 0007's default privileges.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "decision_basis",
        sa.Column("basis_id", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("valid_from", sa.String(10), nullable=False),
        sa.Column("valid_until", sa.String(10), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("decisions", sa.Integer, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("basis_id", name="pk_decision_basis"),
        sa.CheckConstraint("basis_id = 1", name="ck_decision_basis_one_row"),
    )


def downgrade() -> None:
    op.drop_table("decision_basis")
