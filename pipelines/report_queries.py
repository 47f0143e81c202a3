"""The ledger queries the reports read, in one place: decisions, the ledger balance by program (the control total
every report ties to), the allocation of awards by application, ledger entries by month, rejected input rows and
the metered figures. Each query is written once; the report assets and both report checks call these.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, func, inspect, select, text

from pipelines.ledger import from_fen
from pipelines.settings import SHANGHAI
from pipelines.sql import pairs, rows
from schemas.tables import ApplicationDecision, LedgerEntry


def ledger_by_program(conn: Connection) -> dict[str, Decimal]:
    """Net yuan of `award_balances` by program: the control total of every report."""
    return {
        r.program: from_fen(int(r.net))
        for r in conn.execute(
            text("SELECT program, COALESCE(SUM(net_fen), 0) AS net FROM award_balances GROUP BY program")
        )
    }


def ledger_totals(engine: Engine) -> dict[str, Decimal]:
    with engine.connect() as conn:
        return ledger_by_program(conn)


def decisions(conn: Connection) -> list[dict[str, Any]]:
    """Every current decision, in no order: the reports sort them as officials read them (`official_order`)."""
    return rows(
        conn,
        "SELECT application_id, program, credit_code, enterprise_name, league_city, clause, decision, "
        "amount_fen, reasons, source_file, submitted_on FROM application_decisions",
    )


def rejections(conn: Connection) -> list[dict[str, Any]]:
    return rows(
        conn,
        'SELECT file, sheet, row_number, "column", value, code, message FROM submission_rejections '
        "ORDER BY file, sheet, row_number, rejection_id",
    )


def meter_months(conn: Connection, tables: set[str]) -> list[dict[str, Any]] | None:
    sql = (
        "SELECT credit_code, medium, month, consumption_e6, tce, readings_present, readings_expected "
        "FROM meter_months ORDER BY credit_code, month"
    )
    return _metered(conn, tables, "meter_months", sql)


def renewable_shares(conn: Connection, tables: set[str]) -> list[dict[str, Any]] | None:
    sql = (
        "SELECT credit_code, month, electricity_kwh, renewable_kwh, share FROM renewable_shares "
        "ORDER BY credit_code, month"
    )
    return _metered(conn, tables, "renewable_shares", sql)


def _metered(conn: Connection, tables: set[str], table: str, sql: str) -> list[dict[str, Any]] | None:
    """None: the metering table does not exist yet (a ledger migrated before metering)."""
    return rows(conn, sql) if table in tables else None


def table_names(engine: Engine) -> set[str]:
    inspector = inspect(engine)
    return set(inspector.get_table_names()) | set(inspector.get_view_names())


def allocations(conn: Connection) -> list[dict[str, Any]]:
    """What the fund owes each application: the net of its ledger entries by program, where it is not zero (a
    reversed award owes nothing). The 盟市 is the one the application was decided with."""
    return rows(
        conn,
        "SELECT l.application_id, l.program, l.credit_code, MIN(l.enterprise_name) AS enterprise_name, "
        "MIN(l.clause) AS clause, SUM(l.amount_fen) AS net_fen, MIN(d.league_city) AS league_city "
        "FROM award_ledger l LEFT JOIN application_decisions d ON d.application_id = l.application_id "
        "GROUP BY l.application_id, l.program, l.credit_code HAVING SUM(l.amount_fen) <> 0",
    )


@dataclass(frozen=True)
class Entry:
    """One ledger entry as the fund summary counts it."""

    award_key: str
    program: str
    credit_code: str
    city: str | None
    amount_fen: int
    month: str  # YYYY-MM in Asia/Shanghai


def _shanghai_month(recorded_at: datetime) -> str:
    # SQLite hands timestamps back without their zone; the ledger writes them in UTC
    aware = recorded_at if recorded_at.tzinfo else recorded_at.replace(tzinfo=UTC)
    return f"{aware.astimezone(SHANGHAI):%Y-%m}"


def entries(engine: Engine) -> list[Entry]:
    """Every ledger entry with the 盟市 of its application (or of its enterprise) and its Shanghai month."""
    decided = ApplicationDecision.__table__
    known = func.nullif(decided.c.league_city, "")  # a blank 盟市 is none
    city_of_enterprise = (
        select(decided.c.credit_code, func.min(known).label("city"))
        .group_by(decided.c.credit_code)
        .subquery()
    )
    city = func.coalesce(known, city_of_enterprise.c.city)
    with engine.connect() as conn:
        booked = conn.execute(
            select(
                LedgerEntry.award_key,
                LedgerEntry.program,
                LedgerEntry.credit_code,
                city.label("city"),
                LedgerEntry.amount_fen,
                LedgerEntry.recorded_at,
            )
            .outerjoin(decided, decided.c.application_id == LedgerEntry.application_id)
            .outerjoin(city_of_enterprise, city_of_enterprise.c.credit_code == LedgerEntry.credit_code)
            .order_by(LedgerEntry.entry_id)
        ).all()
    return [
        Entry(
            r.award_key, r.program, r.credit_code, r.city, int(r.amount_fen), _shanghai_month(r.recorded_at)
        )
        for r in booked
    ]


def rulebook_version(conn: Connection) -> str | None:
    """The rulebook the latest decisions were made with (every decision of a run carries the same one)."""
    row = conn.execute(
        text("SELECT rulebook_version FROM application_decisions ORDER BY evaluated_at DESC LIMIT 1")
    ).first()
    return None if row is None else str(row[0])


def pending_since(conn: Connection, names: set[str]) -> dict[str, date]:
    """Since when each application has waited for review: the evaluation day of the first run that decided it
    needs_review (table `review_pending`, kept by the decisions; reset when it stops waiting)."""
    if "review_pending" not in names:
        return {}
    waiting = pairs(conn, "SELECT application_id, since FROM review_pending")
    return {a: s if isinstance(s, date) else date.fromisoformat(str(s)) for a, s in waiting.items()}
