"""Metering: the size and time of each booked export, and conflicting readings of one meter and instant, across exports as within one, kept with every value.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The export as it lay in the inbox (size, modification time): a night recognises an export it already booked
    # without hashing it again, so its cost follows what is new, not the inbox.
    with op.batch_alter_table("metering_files") as batch:
        batch.add_column(sa.Column("size_bytes", sa.BigInteger))
        batch.add_column(sa.Column("modified_ns", sa.BigInteger))
    op.create_table(
        "meter_conflicts",
        sa.Column("credit_code", sa.String(18), nullable=False),
        sa.Column("meter_id", sa.String(100), nullable=False),
        sa.Column("medium", sa.String(30), nullable=False),
        sa.Column("ts", sa.BigInteger, nullable=False),
        sa.Column("reading_at", sa.String(19), nullable=False),
        sa.Column("unit", sa.String(10), nullable=False),
        sa.Column("values_given", sa.Text, nullable=False),
        sa.Column("files", sa.Text, nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("credit_code", "meter_id", "medium", "ts", name="pk_meter_conflicts"),
    )


def downgrade() -> None:
    op.drop_table("meter_conflicts")
    with op.batch_alter_table("metering_files") as batch:
        batch.drop_column("modified_ns")
        batch.drop_column("size_bytes")
