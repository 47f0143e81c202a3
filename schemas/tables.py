"""The published tables (docs/outputs.md §1) and our intake bookkeeping, as SQLAlchemy models.

The schema is created and changed only by the Alembic migrations in `schemas/migrations/`; these models are what
code reads and writes through. Amounts are exact: `amount_fen` (integer fen) is authoritative on every backend;
`amount_yuan` NUMERIC(14,2) is the published column (on SQLite, which has no decimal type, it is for display).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from schemas.sheets import AWARD_KEY_MAX_LENGTH, ID_MAX_LENGTH

MONEY = Numeric(14, 2, asdecimal=True)


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC on every backend, read back as an aware UTC datetime.

    PostgreSQL keeps the instant (timestamptz). SQLite has no time zone type and stores whatever wall-clock time it
    is given, so an aware value is converted to UTC first; a naive value is taken to be UTC already.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        utc = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class LedgerEntry(Base):
    """award_ledger: append-only. A correction is a reversal plus a new award, never an update."""

    __tablename__ = "award_ledger"
    __table_args__ = (
        # Exactly once: the n-th award of a key and the reversal of that award can each exist only once,
        # so two runs booking the same key at the same moment cannot both succeed.
        UniqueConstraint("award_key", "entry_type", "award_version", name="uq_award_ledger_key_version"),
        UniqueConstraint("reverses_entry_id", name="uq_award_ledger_reverses"),
        CheckConstraint("entry_type IN ('award', 'reversal')", name="entry_type"),
        CheckConstraint(
            "(entry_type = 'award' AND amount_fen > 0 AND reverses_entry_id IS NULL)"
            " OR (entry_type = 'reversal' AND amount_fen < 0 AND reverses_entry_id IS NOT NULL)",
            name="entry_shape",
        ),
        CheckConstraint("amount_yuan * 100 = amount_fen", name="amount_matches_fen"),
    )

    entry_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    award_key: Mapped[str] = mapped_column(String(AWARD_KEY_MAX_LENGTH), index=True)
    award_version: Mapped[int] = mapped_column(Integer)
    application_id: Mapped[str] = mapped_column(String(ID_MAX_LENGTH))
    credit_code: Mapped[str] = mapped_column(String(18))
    enterprise_name: Mapped[str] = mapped_column(Text)
    program: Mapped[str] = mapped_column(String(40))
    clause: Mapped[str] = mapped_column(String(20))
    entry_type: Mapped[str] = mapped_column(String(10))
    reverses_entry_id: Mapped[int | None] = mapped_column(ForeignKey("award_ledger.entry_id"), nullable=True)
    amount_yuan: Mapped[Decimal] = mapped_column(MONEY)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    lead_department: Mapped[str] = mapped_column(String(40))
    rulebook_version: Mapped[str] = mapped_column(String(40))
    run_id: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)
    basis: Mapped[str] = mapped_column(Text)
    # Running SHA-256 over this entry and the one before it (pipelines/ledger_chain.py, migration 0007): an entry
    # deleted or altered by the table's owner breaks the chain. Not published; filled for every entry.
    entry_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)


class BookingLock(Base):
    """ledger_booking_lock: never holds a row; a booking locks the table (EXCLUSIVE) to be the only booker.

    Locking a table in that mode needs UPDATE, DELETE or TRUNCATE on it: the runtime role has them here, the
    SELECT-only finance role has nothing, so no finance session can hold up a night (an advisory lock, which any
    role may take, could)."""

    __tablename__ = "ledger_booking_lock"

    lock_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)


class ApplicationDecision(Base):
    """application_decisions: the current decision for each application (replaced on re-evaluation)."""

    __tablename__ = "application_decisions"

    application_id: Mapped[str] = mapped_column(String(ID_MAX_LENGTH), primary_key=True)
    program: Mapped[str] = mapped_column(String(40))
    credit_code: Mapped[str] = mapped_column(String(18))
    enterprise_name: Mapped[str | None] = mapped_column(Text, nullable=True)
    league_city: Mapped[str | None] = mapped_column(String(20), nullable=True)
    clause: Mapped[str] = mapped_column(String(20))
    lead_department: Mapped[str] = mapped_column(String(40))
    decision: Mapped[str] = mapped_column(String(20))
    amount_yuan: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    amount_fen: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    reasons: Mapped[str] = mapped_column(Text)
    explanation: Mapped[str] = mapped_column(Text)
    source_file: Mapped[str | None] = mapped_column(Text, nullable=True)
    submitted_on: Mapped[str | None] = mapped_column(String(10), nullable=True)
    rulebook_version: Mapped[str] = mapped_column(String(40))
    run_id: Mapped[str] = mapped_column(String(64))
    evaluated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class DecisionBasis(Base):
    """decision_basis: what the current decisions were made from (migration 0009, pipelines/decision_basis.py);
    one row at most. Not published."""

    __tablename__ = "decision_basis"

    basis_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    fingerprint: Mapped[str] = mapped_column(String(64))
    valid_from: Mapped[str] = mapped_column(String(10))
    valid_until: Mapped[str] = mapped_column(String(10))
    run_id: Mapped[str] = mapped_column(String(64))
    decisions: Mapped[int] = mapped_column(Integer)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)


class SubmissionRejection(Base):
    """submission_rejections: every input row (or cell) that could not be accepted."""

    __tablename__ = "submission_rejections"

    rejection_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # A hash of (file content, sheet, row, column, code, value): re-reading a file records nothing twice.
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    file: Mapped[str] = mapped_column(Text)
    file_sha256: Mapped[str] = mapped_column(String(64), index=True)
    sheet: Mapped[str] = mapped_column(String(40))
    row_number: Mapped[int | None] = mapped_column(Integer, nullable=True)
    column: Mapped[str | None] = mapped_column(Text, nullable=True)
    value: Mapped[str | None] = mapped_column(Text, nullable=True)
    code: Mapped[str] = mapped_column(String(60))
    message: Mapped[str] = mapped_column(Text)
    run_id: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)


class IntakeFile(Base):
    """intake_files: one row per (file name, content): the batch as parsed, so it is never parsed again."""

    __tablename__ = "intake_files"
    __table_args__ = (UniqueConstraint("file", "sha256", "payload_version", name="uq_intake_files_content"),)

    file_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    file: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(20))
    payload_version: Mapped[int] = mapped_column(Integer)
    payload: Mapped[str] = mapped_column(Text)
    # accepted 企业 rows, apart from the payload so that enterprises of archived files load cheaply
    enterprises: Mapped[str] = mapped_column(Text)
    rows_received: Mapped[int] = mapped_column(Integer)
    rows_rejected: Mapped[int] = mapped_column(Integer)
    run_id: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class IntakeCount(Base):
    """Rows received, accepted and rejected per file (content) and sheet: the intake's accounting."""

    __tablename__ = "intake_counts"
    __table_args__ = (
        UniqueConstraint("file_sha256", "sheet", name="uq_intake_counts_file_sheet"),
        CheckConstraint("received = accepted + rejected", name="balanced"),
    )

    count_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    file: Mapped[str] = mapped_column(Text)
    file_sha256: Mapped[str] = mapped_column(String(64))
    sheet: Mapped[str] = mapped_column(String(40))
    received: Mapped[int] = mapped_column(Integer)
    accepted: Mapped[int] = mapped_column(Integer)
    rejected: Mapped[int] = mapped_column(Integer)
    run_id: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ReviewDeterminationEntry(Base):
    """Every accepted row of a 审核结论 workbook (docs/inputs.md §3), as received: append-only, never edited.

    Published through the view `review_determinations`, which adds `in_force`: computed at read time, so that
    superseding a determination never updates a row. The one in force for an application is its last one in
    the order determinations are applied: file name, then Excel row, then the order received (a file re-sent
    under the same name with new content). `rules.review.in_force` applies the same order in Python.
    """

    __tablename__ = "review_determination_entries"
    __table_args__ = (CheckConstraint("outcome IN ('approve', 'reject')", name="outcome"),)

    determination_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # A hash of (file content, row): re-reading a file records nothing twice.
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    application_id: Mapped[str] = mapped_column(String(100), index=True)
    outcome: Mapped[str] = mapped_column(String(10))
    determined_value: Mapped[Decimal | None] = mapped_column(Numeric(24, 6, asdecimal=True), nullable=True)
    determined_value_text: Mapped[str | None] = mapped_column(Text, nullable=True)  # exact, as decimal text
    opinion: Mapped[str | None] = mapped_column(Text, nullable=True)
    department: Mapped[str] = mapped_column(String(40))
    reviewer: Mapped[str] = mapped_column(Text)
    reviewed_on: Mapped[str] = mapped_column(String(10))  # YYYY-MM-DD
    document_no: Mapped[str] = mapped_column(Text)
    source_file: Mapped[str] = mapped_column(Text)
    source_sha256: Mapped[str] = mapped_column(String(64))
    source_row: Mapped[int] = mapped_column(Integer)
    run_id: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ReviewPending(Base):
    """Since when each application has been waiting for a review (not published; the 待审核 sheets read it).

    A row is added by the first run that decides the application `needs_review` and removed by the first run
    that decides it otherwise, so an application that falls back to `needs_review` later starts a new wait.
    """

    __tablename__ = "review_pending"

    application_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    since: Mapped[str] = mapped_column(String(10))  # the evaluation date (YYYY-MM-DD) of that first run
    first_run_id: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)


FINANCE_ROLE = "alu_finance"
"""The read-only PostgreSQL role finance connects as (migration 0002): SELECT on the published relations only."""

RUNTIME_ROLE = "alu_app"
"""The PostgreSQL role the nightly job connects as (migration 0007): reads and writes rows, never owns a table, so
it cannot alter, drop, disable a trigger or grant; on `award_ledger` it may only INSERT and SELECT. The owner
role (the one that runs `python -m pipelines.migrate`) owns every table."""

PUBLISHED_COLUMNS: dict[str, dict[str, str]] = {
    "award_ledger": {
        "entry_id": "integer", "award_key": "text", "application_id": "text", "credit_code": "text",
        "enterprise_name": "text", "program": "text", "clause": "text", "entry_type": "text",
        "reverses_entry_id": "integer", "amount_yuan": "decimal(14,2)", "lead_department": "text",
        "rulebook_version": "text", "run_id": "text", "recorded_at": "timestamp", "basis": "text",
    },
    "application_decisions": {
        "application_id": "text", "program": "text", "credit_code": "text", "decision": "text",
        "amount_yuan": "decimal(14,2)", "reasons": "text", "rulebook_version": "text", "run_id": "text",
        "evaluated_at": "timestamp",
    },
    "submission_rejections": {
        "file": "text", "sheet": "text", "row_number": "integer", "column": "text", "value": "text",
        "code": "text", "message": "text",
    },
    "review_determinations": {
        "application_id": "text", "outcome": "text", "determined_value": "", "opinion": "text",
        "department": "text", "reviewer": "text", "reviewed_on": "", "document_no": "text", "source_file": "text",
        "source_row": "", "received_at": "", "in_force": "",
    },
    # Views: their columns are computed, so only the names are promised (types differ between backends).
    "award_balances": {"award_key": "text", "net_yuan": "", "net_fen": ""},
    "fund_usage": {"program": "text", "fund_year": "", "committed_yuan": "", "committed_fen": ""},
}  # fmt: skip
"""Every published table and view, its promised columns and their kinds (docs/outputs.md §1; CHANGELOG.md).
The `published_columns` asset check compares the live database with this."""

PUBLISHED_VIEWS = ("award_balances", "fund_usage", "review_determinations")


# --- metering (migrations 0004, 0005) ---------------------------------------------------------------------
# Exact quantities are integer micro-units of the canonical unit (`*_e6`); NUMERIC columns are their readable form.
# Every accepted reading itself is kept outside the database (pipelines.metering_readings), committed by the
# `metering_files` row of its export.

_TS = DateTime(timezone=True)
_QUANTITY = Numeric(24, 6, asdecimal=True)
_TCE = Numeric(30, 12, asdecimal=True)

metering_files = Table(
    "metering_files",
    Base.metadata,
    Column("file_sha256", String(64), primary_key=True),
    Column("file", Text, nullable=False),
    Column("encoding", String(20), nullable=False),
    Column("rows_received", BigInteger, nullable=False),
    Column("rows_accepted", BigInteger, nullable=False),
    Column("rows_rejected", BigInteger, nullable=False),
    # readings at or before their meter's last stored reading: compared with the stored readings (0005 on)
    Column("rows_overlapping", BigInteger, nullable=False),
    Column("duplicates", BigInteger, nullable=False),
    Column("conflicts", BigInteger, nullable=False),
    Column("resets", BigInteger, nullable=False),
    Column("run_id", String(64), nullable=False),
    Column("ingested_at", _TS, nullable=False),
    # 0005: the file as it lay in the inbox, so a night does not re-hash every export it already booked
    Column("size_bytes", BigInteger),
    Column("modified_ns", BigInteger),
    CheckConstraint("rows_received = rows_accepted + rows_rejected", name="balanced"),
)
meter_series = Table(
    "meter_series",
    Base.metadata,
    Column("credit_code", String(18), primary_key=True),
    Column("meter_id", String(100), primary_key=True),
    Column("medium", String(30), primary_key=True),
    Column("reading_kind", String(20), nullable=False),
    Column("unit", String(10), nullable=False),
    Column("step_seconds", Integer),
    Column("step_counts", Text, nullable=False),
    Column("last_ts", BigInteger, nullable=False),
    Column("last_reading_at", String(19), nullable=False),
    Column("last_counter_e6", BigInteger),
    Column("updated_at", _TS, nullable=False),
)
meter_days = Table(
    "meter_days",
    Base.metadata,
    Column("file_sha256", String(64), primary_key=True),
    Column("credit_code", String(18), primary_key=True),
    Column("meter_id", String(100), primary_key=True),
    Column("medium", String(30), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("consumption_e6", BigInteger, nullable=False),
    Column("readings_present", Integer, nullable=False),
    Column("resets", Integer, nullable=False),
    Column("conflicts", Integer, nullable=False),
    Index("ix_meter_days_series_day", "credit_code", "meter_id", "medium", "day"),
)
meter_months = Table(
    "meter_months",
    Base.metadata,
    Column("credit_code", String(18), primary_key=True),
    Column("meter_id", String(100), primary_key=True),
    Column("medium", String(30), primary_key=True),
    Column("month", String(7), primary_key=True),
    Column("unit", String(10), nullable=False),
    Column("consumption", _QUANTITY, nullable=False),
    Column("consumption_e6", BigInteger, nullable=False),
    Column("tce", _TCE),
    Column("readings_present", Integer, nullable=False),
    Column("readings_expected", Integer, nullable=False),
    Column("resets", Integer, nullable=False),
    Column("conflicts", Integer, nullable=False),
)
meter_conflicts = Table(
    "meter_conflicts",
    Base.metadata,
    Column("credit_code", String(18), primary_key=True),
    Column("meter_id", String(100), primary_key=True),
    Column("medium", String(30), primary_key=True),
    Column("ts", BigInteger, primary_key=True),  # Asia/Shanghai wall-clock seconds since 1970-01-01
    Column("reading_at", String(19), nullable=False),  # the same instant, as text
    Column("unit", String(10), nullable=False),
    Column("values_given", Text, nullable=False),  # every value given for the instant, canonical unit, "、"
    Column("files", Text, nullable=False),  # the exports that gave them, "、"
    Column("run_id", String(64), nullable=False),
    Column("recorded_at", _TS, nullable=False),
)
recycled_database = Table(
    "recycled_database",
    Base.metadata,
    Column("row_id", Integer, primary_key=True, autoincrement=True),
    Column("credit_code", String(18), nullable=False),
    Column("enterprise_name", Text),
    Column("month", String(7)),
    Column("electricity_kwh", _QUANTITY),
    Column("energy_tce", _TCE),
    Column("water_m3", _QUANTITY),
    Column("vat_application_id", String(100)),
    Column("vat_period_start", Date),
    Column("vat_period_end", Date),
    Column("waste_feed_share_pct", Numeric(7, 3, asdecimal=True)),
    Column("sales_yuan", Numeric(18, 2, asdecimal=True)),
    Column("run_id", String(64), nullable=False),
    Column("recorded_at", _TS, nullable=False),
)
