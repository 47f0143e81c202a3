"""Metering: ingested exports, daily and monthly consumption per meter, the renewable-share view, the recycled
aluminium register (issue 5).

Exact quantities are integer micro-units of the canonical unit (`*_e6`); the NUMERIC columns are the published,
readable form (exact on PostgreSQL; on SQLite, which has no decimal type, for display).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
QUANTITY = sa.Numeric(24, 6)
TCE = sa.Numeric(30, 12)


def upgrade() -> None:
    op.create_table(
        "metering_files",
        sa.Column("file_sha256", sa.String(64), nullable=False),
        sa.Column("file", sa.Text, nullable=False),
        sa.Column("encoding", sa.String(20), nullable=False),
        sa.Column("rows_received", sa.BigInteger, nullable=False),
        sa.Column("rows_accepted", sa.BigInteger, nullable=False),
        sa.Column("rows_rejected", sa.BigInteger, nullable=False),
        sa.Column("rows_overlapping", sa.BigInteger, nullable=False),
        sa.Column("duplicates", sa.BigInteger, nullable=False),
        sa.Column("conflicts", sa.BigInteger, nullable=False),
        sa.Column("resets", sa.BigInteger, nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("ingested_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("file_sha256", name="pk_metering_files"),
        sa.CheckConstraint("rows_received = rows_accepted + rows_rejected", name="ck_metering_files_balanced"),
    )
    op.create_table(
        "meter_series",
        sa.Column("credit_code", sa.String(18), nullable=False),
        sa.Column("meter_id", sa.String(100), nullable=False),
        sa.Column("medium", sa.String(30), nullable=False),
        sa.Column("reading_kind", sa.String(20), nullable=False),
        sa.Column("unit", sa.String(10), nullable=False),
        sa.Column("step_seconds", sa.Integer),
        sa.Column("step_counts", sa.Text, nullable=False),
        sa.Column("last_ts", sa.BigInteger, nullable=False),
        sa.Column("last_reading_at", sa.String(19), nullable=False),
        sa.Column("last_counter_e6", sa.BigInteger),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("credit_code", "meter_id", "medium", name="pk_meter_series"),
    )
    op.create_table(
        "meter_days",
        sa.Column("file_sha256", sa.String(64), nullable=False),
        sa.Column("credit_code", sa.String(18), nullable=False),
        sa.Column("meter_id", sa.String(100), nullable=False),
        sa.Column("medium", sa.String(30), nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("consumption_e6", sa.BigInteger, nullable=False),
        sa.Column("readings_present", sa.Integer, nullable=False),
        sa.Column("resets", sa.Integer, nullable=False),
        sa.Column("conflicts", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("file_sha256", "credit_code", "meter_id", "medium", "day", name="pk_meter_days"),
    )
    op.create_index("ix_meter_days_series_day", "meter_days", ["credit_code", "meter_id", "medium", "day"])
    op.create_table(
        "meter_months",
        sa.Column("credit_code", sa.String(18), nullable=False),
        sa.Column("meter_id", sa.String(100), nullable=False),
        sa.Column("medium", sa.String(30), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("unit", sa.String(10), nullable=False),
        sa.Column("consumption", QUANTITY, nullable=False),
        sa.Column("consumption_e6", sa.BigInteger, nullable=False),
        sa.Column("tce", TCE),
        sa.Column("readings_present", sa.Integer, nullable=False),
        sa.Column("readings_expected", sa.Integer, nullable=False),
        sa.Column("resets", sa.Integer, nullable=False),
        sa.Column("conflicts", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("credit_code", "meter_id", "medium", "month", name="pk_meter_months"),
    )
    op.create_table(
        "recycled_database",
        sa.Column("row_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("credit_code", sa.String(18), nullable=False),
        sa.Column("enterprise_name", sa.Text),
        sa.Column("month", sa.String(7)),
        sa.Column("electricity_kwh", QUANTITY),
        sa.Column("energy_tce", TCE),
        sa.Column("water_m3", QUANTITY),
        sa.Column("vat_application_id", sa.String(100)),
        sa.Column("vat_period_start", sa.Date),
        sa.Column("vat_period_end", sa.Date),
        sa.Column("waste_feed_share_pct", sa.Numeric(7, 3)),
        sa.Column("sales_yuan", sa.Numeric(18, 2)),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("recorded_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("row_id", name="pk_recycled_database"),
    )
    renewable = "COALESCE(r.renewable, 0)"
    # A statistic, not money: SQLite divides integers as integers, so its share is computed in REAL.
    share = f"1.0 * {renewable} / e.electricity"
    if op.get_bind().dialect.name == "postgresql":
        share = f"ROUND({renewable} / e.electricity, 6)"
    op.execute(
        f"""
        CREATE VIEW renewable_shares AS
        WITH e AS (
            SELECT credit_code, month, SUM(consumption) AS electricity
            FROM meter_months WHERE medium = 'electricity' GROUP BY credit_code, month
        ), r AS (
            SELECT credit_code, month, SUM(consumption) AS renewable
            FROM meter_months WHERE medium = 'renewable_electricity' GROUP BY credit_code, month
        )
        SELECT e.credit_code AS credit_code,
               e.month AS month,
               e.electricity AS electricity_kwh,
               {renewable} AS renewable_kwh,
               CASE WHEN e.electricity > 0 THEN {share} END AS share
        FROM e LEFT JOIN r ON r.credit_code = e.credit_code AND r.month = e.month
        """
    )


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS renewable_shares")
    op.drop_table("recycled_database")
    op.drop_table("meter_months")
    op.drop_index("ix_meter_days_series_day", table_name="meter_days")
    op.drop_table("meter_days")
    op.drop_table("meter_series")
    op.drop_table("metering_files")
