"""Booking decisions into the ledger: one transaction per run, exactly once per award key.

The algorithm, for every award key a decision touches or an application used to hold:
- the open award (latest award not yet reversed) equals what the decision says -> nothing;
- it differs (amount, or another application now holds it) -> a reversal of the old entry, then the new award;
- the holding application was re-decided and no longer earns the key -> a reversal only;
- there is no open award -> the award, with the next version number of the key.
The unique constraints on (award_key, entry_type, award_version) and on reverses_entry_id make a concurrent
run's duplicate booking fail; the loser retries from scratch, sees the winner's entries and books nothing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, delete, event, insert, select, text
from sqlalchemy.exc import IntegrityError, OperationalError

from rules.decision import Decision, jsonable
from schemas.tables import ApplicationDecision, LedgerEntry

FEN_PER_YUAN = 100


def to_fen(amount: Decimal) -> int:
    fen = amount * FEN_PER_YUAN
    if fen != fen.to_integral_value():
        raise ValueError(f"amount {amount} is not a whole number of fen")
    return int(fen)


def from_fen(fen: int) -> Decimal:
    return (Decimal(fen) / FEN_PER_YUAN).quantize(Decimal("0.01"))


@dataclass(frozen=True)
class Holder:
    entry_id: int
    award_key: str
    award_version: int
    application_id: str
    amount_fen: int


@dataclass(frozen=True)
class BookingResult:
    awards: int
    reversals: int
    net_fen: int
    attempts: int


def serialize_sqlite_writers(engine: Engine) -> None:
    """SQLite: take the write lock at BEGIN, so two bookers queue instead of deadlocking mid-transaction."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        dbapi_connection.execute("PRAGMA busy_timeout = 60000")
        dbapi_connection.execute("PRAGMA foreign_keys = ON")

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def open_awards(conn: Connection) -> dict[str, Holder]:
    """Per award key, the award entry that is currently in force (not reversed)."""
    reversed_ids = select(LedgerEntry.reverses_entry_id).where(LedgerEntry.reverses_entry_id.is_not(None))
    rows = conn.execute(
        select(
            LedgerEntry.entry_id,
            LedgerEntry.award_key,
            LedgerEntry.award_version,
            LedgerEntry.application_id,
            LedgerEntry.amount_fen,
        ).where(LedgerEntry.entry_type == "award", LedgerEntry.entry_id.not_in(reversed_ids))
    ).all()
    return {
        r.award_key: Holder(r.entry_id, r.award_key, r.award_version, r.application_id, r.amount_fen)
        for r in rows
    }


def held_keys(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        return {key: h.application_id for key, h in open_awards(conn).items()}


def book(
    engine: Engine,
    decisions: Sequence[Decision],
    *,
    run_id: str,
    rulebook_version: str,
    enterprise_names: dict[str, str],
    league_cities: dict[str, str] | None = None,
    source_files: dict[str, str] | None = None,
    submitted_on: dict[str, str] | None = None,
    max_attempts: int = 5,
    on_entry: Any = None,
) -> BookingResult:
    """Write the decisions and their ledger entries in one transaction (retried on a concurrent conflict)."""
    for attempt in range(1, max_attempts + 1):
        try:
            with engine.begin() as conn:
                _lock(conn)
                now = datetime.now(UTC)
                _write_decisions(
                    conn,
                    decisions,
                    run_id,
                    rulebook_version,
                    now,
                    enterprise_names,
                    league_cities or {},
                    source_files or {},
                    submitted_on or {},
                )
                awards, reversals, net = _write_ledger(
                    conn, decisions, run_id, rulebook_version, now, enterprise_names, on_entry
                )
            return BookingResult(awards, reversals, net, attempt)
        except (IntegrityError, OperationalError):
            if attempt == max_attempts:
                raise
            time.sleep(0.2 * attempt)
    raise AssertionError("unreachable")


def _lock(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        # One booker at a time per database; the unique constraints stay as the backstop.
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('alu_awards.award_ledger'))"))


def _write_decisions(
    conn: Connection,
    decisions: Iterable[Decision],
    run_id: str,
    version: str,
    now: datetime,
    names: dict[str, str],
    cities: dict[str, str],
    files: dict[str, str],
    submitted: dict[str, str],
) -> None:
    rows = []
    for d in decisions:
        amount = d.amount
        rows.append(
            {
                "application_id": d.application_id,
                "program": d.program,
                "credit_code": d.credit_code,
                "enterprise_name": names.get(d.credit_code),
                "league_city": cities.get(d.credit_code),
                "clause": d.clause,
                "lead_department": d.lead_department,
                "decision": str(d.outcome),
                "amount_yuan": amount,
                "amount_fen": None if amount is None else to_fen(amount),
                "reasons": json.dumps(d.reasons(), ensure_ascii=False),
                "explanation": json.dumps(d.explanation(), ensure_ascii=False),
                "source_file": files.get(d.application_id),
                "submitted_on": submitted.get(d.application_id),
                "rulebook_version": version,
                "run_id": run_id,
                "evaluated_at": now,
            }
        )
    ids = [r["application_id"] for r in rows]
    for start in range(0, len(ids), 500):
        conn.execute(
            delete(ApplicationDecision).where(
                ApplicationDecision.application_id.in_(ids[start : start + 500])
            )
        )
    for start in range(0, len(rows), 500):
        conn.execute(insert(ApplicationDecision), rows[start : start + 500])


def _write_ledger(
    conn: Connection,
    decisions: Sequence[Decision],
    run_id: str,
    version: str,
    now: datetime,
    names: dict[str, str],
    on_entry: Any,
) -> tuple[int, int, int]:
    current = open_awards(conn)
    latest_version: dict[str, int] = dict(
        conn.execute(
            text(
                "SELECT award_key, MAX(award_version) FROM award_ledger WHERE entry_type = 'award' GROUP BY award_key"
            )
        ).all()
    )
    decided = {d.application_id: d for d in decisions}
    wanted: dict[str, tuple[Decision, Any]] = {}
    for d in decisions:
        for award in d.awards:
            wanted[award.award_key] = (d, award)

    entries: list[dict[str, Any]] = []

    def base(d_or_holder_app: str, d: Decision | None, key: str) -> dict[str, Any]:
        return {
            "award_key": key,
            "application_id": d_or_holder_app,
            "credit_code": d.credit_code if d else "",
            "program": d.program if d else key.split(":")[0],
            "clause": d.clause if d else "",
            "lead_department": d.lead_department if d else "",
            "enterprise_name": names.get(d.credit_code, "") if d else "",
            "rulebook_version": version,
            "run_id": run_id,
            "recorded_at": now,
        }

    awards = reversals = net = 0
    for key, holder in sorted(current.items()):
        target = wanted.get(key)
        same = (
            target is not None
            and target[0].application_id == holder.application_id
            and to_fen(target[1].amount) == holder.amount_fen
        )
        if same:
            continue
        if target is None and holder.application_id not in decided:
            continue  # not re-decided in this run: leave it alone
        holder_decision = decided.get(holder.application_id)
        old = conn.execute(select(LedgerEntry).where(LedgerEntry.entry_id == holder.entry_id)).scalar_one()
        row = base(holder.application_id, None, key) | {
            "credit_code": old.credit_code,
            "program": old.program,
            "clause": old.clause,
            "lead_department": old.lead_department,
            "enterprise_name": old.enterprise_name,
        }
        why = (
            "corrected"
            if target is not None
            else (f"application now {holder_decision.outcome}" if holder_decision else "withdrawn")
        )
        entries.append(
            row
            | {
                "entry_type": "reversal",
                "award_version": holder.award_version,
                "reverses_entry_id": holder.entry_id,
                "amount_fen": -holder.amount_fen,
                "amount_yuan": from_fen(-holder.amount_fen),
                "basis": json.dumps({"reverses": holder.entry_id, "reason": why}, ensure_ascii=False),
            }
        )
        reversals += 1
        net -= holder.amount_fen
    for key, (d, award) in sorted(wanted.items()):
        open_award = current.get(key)
        if (
            open_award is not None
            and open_award.application_id == d.application_id
            and to_fen(award.amount) == open_award.amount_fen
        ):
            continue
        fen = to_fen(award.amount)
        if fen <= 0:
            continue
        entries.append(
            base(d.application_id, d, key)
            | {
                "entry_type": "award",
                "award_version": int(latest_version.get(key) or 0) + 1,
                "reverses_entry_id": None,
                "amount_fen": fen,
                "amount_yuan": from_fen(fen),
                "basis": json.dumps(
                    jsonable({**award.basis, "explanation": d.explanation()}), ensure_ascii=False
                ),
            }
        )
        awards += 1
        net += fen
    for entry in entries:
        conn.execute(insert(LedgerEntry), [entry])
        if on_entry is not None:
            on_entry(entry)
    return awards, reversals, net
