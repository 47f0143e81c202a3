"""intake_files: each inbox file's parsed and validated batch, kept per (file name, content hash).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "intake_files",
        sa.Column("file_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("file", sa.String(255), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("payload_version", sa.Integer, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("enterprises", sa.Text, nullable=False),
        sa.Column("rows_received", sa.Integer, nullable=False),
        sa.Column("rows_rejected", sa.Integer, nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("file_id", name="pk_intake_files"),
        sa.UniqueConstraint("file", "sha256", "payload_version", name="uq_intake_files_content"),
    )


def downgrade() -> None:
    op.drop_table("intake_files")
