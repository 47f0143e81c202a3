"""Booking decisions into the ledger: one transaction per run, exactly once per award key.

For every award key a decision claims, or that an application re-decided in this run holds:
- the open award (the key's latest award, not reversed) is what the decision says -> nothing;
- the amount changed, or the key passed to another application -> a reversal of the open award, then the award;
- the holding application was re-decided and no longer earns the key (rejected, withdrawn, changed project)
  -> a reversal only;
- no open award -> the award, with the key's next version number.
An application absent from this run (its batch is not in the inbox) keeps its awards: a missing file is not a
withdrawal, and an empty or wrong inbox folder must never reverse money.

The database enforces the rest (migrations 0001 and 0002): entries are never updated or deleted; award n of a key
needs award n-1 reversed first; a reversal cancels exactly one award of its own key to the fen; each (key, type,
version) exists once. Two runs booking at the same moment therefore cannot both succeed: the loser's transaction
fails on a unique constraint, rolls back whole, and is retried from scratch against the winner's entries.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select, text
from sqlalchemy.exc import IntegrityError, OperationalError

from pipelines.decision_store import write_decisions
from pipelines.ledger_chain import ChainHead, link, tampered_message, verify_ledger
from rules.decision import Award, Decision, jsonable
from rules.money import as_fen, from_fen
from schemas.tables import DecisionBasis, LedgerEntry

# How long a booking waits for another booking's lock before it gives up with a clear message. A night's booking
# holds it for seconds to a minute; ten minutes means something is wrong (a stuck session), not a busy night.
LOCK_TIMEOUT_SECONDS = 600

EntryHook = Callable[[dict[str, Any]], None]
# Called in the booking's transaction once its entries are in: records what the decisions were made from
# (pipelines/decision_basis.py). Without one, the booking forgets any basis recorded before.
BasisRecorder = Callable[[Connection, str, datetime], None]


class LedgerConflict(RuntimeError):
    """The decisions would move an award away from an application they did not know held it: book nothing."""


class LedgerTampered(RuntimeError):
    """The ledger's hash chain or entry ids show entries deleted or altered since they were booked: book nothing."""


class LedgerBusy(RuntimeError):
    """The booking lock stayed taken longer than the lock timeout: book nothing, say who to ask."""


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
    head: ChainHead  # the chain's newest entry once this booking committed: what the night records


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
    """Award key -> the application holding its open award: what `decide_all` must respect."""
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
    decided_with: Mapping[str, str] | None = None,
    max_attempts: int = 5,
    lock: bool = True,
    lock_timeout_seconds: float = LOCK_TIMEOUT_SECONDS,
    on_entry: EntryHook | None = None,
    recorded_head: ChainHead | None = None,
    recorder: BasisRecorder | None = None,
) -> BookingResult:
    """Write the decisions and their ledger entries in one transaction (retried on a concurrent conflict).

    `decided_with` is the `held_keys` map the decisions were computed from: a key may pass from one application to
    another only if the decisions knew who held it. `lock=False` skips the PostgreSQL booking lock, so tests can
    show the constraints alone keep concurrent runs exact; `on_entry` is called after each ledger insert (crash
    tests kill the process there). Before anything is written the whole hash chain is verified, and
    `recorded_head` (the head an earlier night recorded outside the database) must still be in it: a ledger whose
    entries were deleted or altered raises `LedgerTampered` and nothing is booked on top of it.
    """
    for attempt in range(1, max_attempts + 1):
        try:
            with engine.begin() as conn:
                if lock:
                    lock_booking(conn, lock_timeout_seconds)
                head, breaks = verify_ledger(conn, recorded_head)
                if breaks:
                    raise LedgerTampered(tampered_message(breaks))
                now = datetime.now(UTC)
                write_decisions(
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
                entries = plan_entries(open_awards(conn), _latest_versions(conn), decisions, decided_with)
                awards = reversals = net = 0
                for entry in entries:
                    row = _entry_row(conn, entry, run_id, rulebook_version, now, enterprise_names)
                    head, row = link(head, row)
                    conn.execute(insert(LedgerEntry), [row])
                    if on_entry is not None:
                        on_entry(row)
                    awards += entry.kind == "award"
                    reversals += entry.kind == "reversal"
                    net += entry.amount_fen
                if recorder is None:
                    conn.execute(delete(DecisionBasis))
                else:
                    recorder(conn, run_id, now)
            return BookingResult(awards, reversals, net, attempt, head)
        except (IntegrityError, OperationalError) as exc:
            if is_lock_timeout(exc):
                raise LedgerBusy(busy_message(lock_timeout_seconds)) from exc
            if attempt == max_attempts:
                raise
            time.sleep(0.1 * attempt)
    raise AssertionError("unreachable")


def lock_booking(conn: Connection, timeout_seconds: float) -> None:
    """One booker at a time per database, so concurrent runs queue instead of failing and retrying.

    PostgreSQL: an EXCLUSIVE lock on `ledger_booking_lock`, which only a role allowed to change that table can
    take (the runtime role; never the SELECT-only finance role), waiting at most `timeout_seconds`. SQLite: the
    BEGIN IMMEDIATE of `serialize_sqlite_writers` already makes bookers queue.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(text(f"SET LOCAL lock_timeout = '{int(timeout_seconds * 1000)}ms'"))
        conn.execute(text("LOCK TABLE ledger_booking_lock IN EXCLUSIVE MODE"))
        conn.execute(text("SET LOCAL lock_timeout = DEFAULT"))


def is_lock_timeout(exc: Exception) -> bool:
    return getattr(getattr(exc, "orig", None), "sqlstate", None) == "55P03"  # lock_not_available


def busy_message(timeout_seconds: float) -> str:
    return (
        f"记账锁 ledger_booking_lock 在 {timeout_seconds:g} 秒内未能取得，本次未记任何分录：另一个运行正在记账，"
        "或有数据库会话占着该锁。请在数据库中查看 pg_locks 中占用 ledger_booking_lock 的会话，结束它后重新运行 "
        f"nightly_awards。 / The booking lock was not free within {timeout_seconds:g} s; nothing was booked. "
        "Find the session holding ledger_booking_lock (pg_locks), end it, and run nightly_awards again."
    )


@dataclass(frozen=True)
class PlannedEntry:
    kind: str  # "award" or "reversal"
    award_key: str
    award_version: int
    amount_fen: int
    decision: Decision | None = None  # awards: the decision that earns it
    award: Award | None = None
    reverses: Holder | None = None  # reversals: the open award it cancels
    reason: str = ""


def _claims(decisions: Sequence[Decision]) -> dict[str, tuple[Decision, Award]]:
    wanted: dict[str, tuple[Decision, Award]] = {}
    for d in decisions:
        for award in d.awards:
            other = wanted.get(award.award_key)
            if other is not None:
                raise ValueError(
                    f"{award.award_key} is claimed by {other[0].application_id} and {d.application_id}: "
                    "decide_all gives each one-time award key to one application"
                )
            wanted[award.award_key] = (d, award)
    return wanted


def plan_entries(
    current: Mapping[str, Holder],
    latest_version: Mapping[str, int],
    decisions: Sequence[Decision],
    decided_with: Mapping[str, str] | None = None,
) -> list[PlannedEntry]:
    """The entries that bring the ledger from `current` to what `decisions` say: reversals first, then awards."""
    decided = {d.application_id: d for d in decisions}
    wanted = _claims(decisions)
    reversals: list[PlannedEntry] = []
    awards: list[PlannedEntry] = []
    for key in sorted(set(current) | set(wanted)):
        holder = current.get(key)
        claim = wanted.get(key)
        claimant = claim[0].application_id if claim else None
        fen = as_fen(claim[1].amount) if claim else 0
        if holder is not None:
            if claimant == holder.application_id and fen == holder.amount_fen:
                continue
            redecided = holder.application_id in decided
            if claimant is None and not redecided:
                continue  # not re-decided in this run: it keeps its award
            knew_holder = redecided and (
                decided_with is None or decided_with.get(key) == holder.application_id
            )
            if claimant not in (None, holder.application_id) and not knew_holder:
                raise LedgerConflict(_moved_message(key, holder.application_id, str(claimant)))
            reason = (
                "corrected"
                if claimant == holder.application_id
                else "moved"
                if claimant
                else f"application now {decided[holder.application_id].outcome}"
            )
            reversals.append(
                PlannedEntry(
                    "reversal",
                    key,
                    holder.award_version,
                    -holder.amount_fen,
                    decision=decided.get(holder.application_id),  # names a review that caused it (basis)
                    reverses=holder,
                    reason=reason,
                )
            )
        if claim is not None and fen > 0:
            version = int(latest_version.get(key) or 0) + 1
            awards.append(PlannedEntry("award", key, version, fen, decision=claim[0], award=claim[1]))
    return reversals + awards


def _moved_message(key: str, holder: str, claimant: str) -> str:
    return (
        f"奖励对象 {key} 已由申报 {holder} 获得（一次性奖励），本次评审却将其给予申报 "
        f"{claimant}：评审所依据的台账已过期（可能有另一运行同时记账）。本次未记任何分录，请重新运行 nightly_awards"
    )


def _latest_versions(conn: Connection) -> dict[str, int]:
    rows = conn.execute(
        text(
            "SELECT award_key, MAX(award_version) FROM award_ledger WHERE entry_type = 'award' GROUP BY award_key"
        )
    ).all()
    return {key: int(version) for key, version in rows}


def _entry_row(
    conn: Connection,
    entry: PlannedEntry,
    run_id: str,
    version: str,
    now: datetime,
    names: dict[str, str],
) -> dict[str, Any]:
    common = {
        "award_key": entry.award_key,
        "award_version": entry.award_version,
        "entry_type": entry.kind,
        "amount_fen": entry.amount_fen,
        "amount_yuan": from_fen(entry.amount_fen),
        "rulebook_version": version,
        "run_id": run_id,
        "recorded_at": now,
    }
    if entry.reverses is not None:
        # A reversal is the holder's entry mirrored: same application, enterprise, program and department.
        old = conn.execute(
            select(LedgerEntry.__table__).where(LedgerEntry.entry_id == entry.reverses.entry_id)
        ).one()
        return common | {
            "application_id": old.application_id,
            "credit_code": old.credit_code,
            "enterprise_name": old.enterprise_name,
            "program": old.program,
            "clause": old.clause,
            "lead_department": old.lead_department,
            "reverses_entry_id": old.entry_id,
            "basis": json.dumps(
                {"reverses": old.entry_id, "reason": entry.reason}
                | _review_of(
                    entry.decision
                    if entry.decision and entry.decision.application_id == old.application_id
                    else None
                ),
                ensure_ascii=False,
            ),
        }
    assert entry.decision is not None and entry.award is not None
    d = entry.decision
    return common | {
        "application_id": d.application_id,
        "credit_code": d.credit_code,
        "enterprise_name": names.get(d.credit_code, ""),
        "program": d.program,
        "clause": d.clause,
        "lead_department": d.lead_department,
        "reverses_entry_id": None,
        "basis": json.dumps(
            jsonable({**entry.award.basis, "explanation": d.explanation()}), ensure_ascii=False
        ),
    }


def _review_of(decision: Decision | None) -> dict[str, Any]:
    """The review determination behind a reversal (issue 15): reviewer, date and document in its basis."""
    if decision is None or decision.review is None:
        return {}
    return {"review": jsonable(decision.review)}
