"""A night with nothing new keeps last night's decisions instead of deciding 12,000 applications again (issue 13.16).

The booking records, in its own transaction, what its decisions were made from (`decision_basis`, migration
0009): a fingerprint of every input that shapes a decision row — every value of the accepted rows the
applications are built from (enterprises' names and cities, source files and 申报日期 included), their metered
savings, the review determinations in force, the award keys held in the ledger, the rulebook and our code — and
the evaluation dates over which
the decisions hold word for word (`rules.evaluation_span`). A later night whose inputs have that fingerprint and
whose evaluation date lies in that span would decide the same rows and book nothing; it only stamps its run, time
and rulebook on the rows (`restamp`), as the full path does to rows it re-reaches unchanged. Anything else — one
changed cell, one new entry in the ledger, a decision row not carrying the basis's run, another code release —
and the night decides in full. `tests/ledger/test_decision_basis.py` holds both paths to the same tables.

The ledger's keys are part of the fingerprint as they stand after the booking. A night that booked something
decides once more against them before it commits: only if that gives the same decisions does the next night
reuse them (otherwise the next night decides in full and books what that second deciding says).
"""

from __future__ import annotations

import hashlib
import io
import pickle
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection, Engine, delete, func, insert, select, update
from sqlalchemy.exc import OperationalError

from pipelines.intake import Submissions
from pipelines.ledger import (
    Holder,
    LedgerBusy,
    LedgerTampered,
    busy_message,
    is_lock_timeout,
    lock_booking,
    open_awards,
)
from pipelines.ledger_chain import ChainHead, tampered_message, verify_ledger
from pipelines.release import code_digest
from rules.decision import Decision
from rules.evaluation_span import Span
from rules.model import MeteredSaving
from rules.review import Determination
from schemas.tables import ApplicationDecision, DecisionBasis, LedgerEntry


def inputs_digest(
    submissions: Submissions,
    metered: Mapping[str, MeteredSaving],
    reviews: Mapping[str, Determination],
    rulebook_version: str,
) -> str | None:
    """The digest of what the decisions and their rows are made from, apart from the ledger: every value of the
    accepted rows (the applications are built from them, `pipelines.applications`), the problems found in them, the
    metered savings, the determinations in force, the rulebook and the code.

    Pickled, so equal bytes mean equal values of equal types (a str never passes for a date, nor Decimal('1.0')
    for Decimal('1')), which a text form would not promise. Without the memo (`fast`): the same value read fresh
    from a workbook or back from the intake cache shares its objects differently, and would pickle apart; were
    `fast` ever ignored, equal values pickling apart would only cost a night in full, never reuse a wrong one."""
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=5)
    pickler.fast = True
    try:
        pickler.dump((code_digest(), rulebook_version))
        for name in sorted(submissions.frames):
            frame = submissions.frames[name]
            columns = [frame[c].tolist() for c in frame.columns]
            pickler.dump((name, list(frame.columns), [str(t) for t in frame.dtypes], columns))
        pickler.dump(sorted(submissions.problems.items()))
        pickler.dump(sorted(metered.items()))
        pickler.dump(sorted(reviews.items()))
    except (pickle.PicklingError, TypeError, ValueError, RecursionError):
        return None  # a value that cannot be pickled (without the memo, a cycle): tonight decides in full
    return hashlib.sha256(buffer.getvalue()).hexdigest()


def held_digest(held: Mapping[str, Holder]) -> str:
    """The open awards (key, holder, amount, version): any entry booked or deleted since changes it."""
    rows = sorted((h.award_key, h.application_id, h.amount_fen, h.award_version) for h in held.values())
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def fingerprint(inputs: str, held: Mapping[str, Holder]) -> str:
    return hashlib.sha256(f"{inputs}|{held_digest(held)}".encode()).hexdigest()


@dataclass(frozen=True)
class Recorder:
    """Writes the basis of a full night's booking, inside its transaction (called by `pipelines.ledger.book`).

    `decide_against(held)` decides tonight's applications again against other held keys (tonight's own span
    included); `held` is what tonight decided against."""

    inputs: str | None  # None: no digest of tonight's inputs, so no basis (the next night decides in full)
    decisions: Sequence[Decision]
    span: Span
    held: Mapping[str, str]
    decide_against: Callable[[Mapping[str, str]], tuple[list[Decision], Span]]

    def __call__(self, conn: Connection, run_id: str, now: datetime) -> None:
        clear(conn)
        if self.inputs is None:
            return
        after = open_awards(conn)
        span = self.span
        held_after = {key: h.application_id for key, h in after.items()}
        if held_after != dict(self.held):
            again, again_span = self.decide_against(held_after)
            if again != list(self.decisions):
                return  # tomorrow decides in full, against what tonight booked
            span = Span(max(span.first, again_span.first), min(span.last, again_span.last))
        conn.execute(
            insert(DecisionBasis).values(
                basis_id=1,
                fingerprint=fingerprint(self.inputs, after),
                valid_from=span.first.isoformat(),
                valid_until=span.last.isoformat(),
                run_id=run_id,
                decisions=len(self.decisions),
                recorded_at=now,
            )
        )


def clear(conn: Connection) -> None:
    conn.execute(delete(DecisionBasis))


def restamp(
    engine: Engine,
    inputs: str | None,
    as_of: date,
    run_id: str,
    rulebook_version: str,
    now: datetime,
    recorded_head: ChainHead | None,
    lock_timeout_seconds: float,
) -> ChainHead | None:
    """Keep the current decisions when they were made from `inputs` and the ledger as it stands, over a span
    holding `as_of`: stamp tonight's run on them, in one transaction under the booking lock, and return the chain
    head. None when anything differs (nothing is written then: the night decides in full)."""
    if inputs is None:
        return None
    try:
        with engine.begin() as conn:
            lock_booking(conn, lock_timeout_seconds)
            basis = conn.execute(select(DecisionBasis.__table__)).one_or_none()
            if basis is None or not basis.valid_from <= as_of.isoformat() <= basis.valid_until:
                return None
            if basis.fingerprint != fingerprint(inputs, open_awards(conn)):
                return None
            carrying = conn.execute(
                select(func.count())
                .select_from(ApplicationDecision)
                .where(ApplicationDecision.run_id == basis.run_id)
            ).scalar_one()
            if carrying != basis.decisions:
                return None
            head = _unmoved_head(conn, recorded_head)
            if head is None:
                head, breaks = verify_ledger(conn, recorded_head)
                if breaks:
                    raise LedgerTampered(tampered_message(breaks))
            conn.execute(
                update(ApplicationDecision)
                .where(ApplicationDecision.run_id == basis.run_id)
                .values(run_id=run_id, evaluated_at=now, rulebook_version=rulebook_version)
            )
            conn.execute(update(DecisionBasis).values(run_id=run_id, recorded_at=now))
            return head
    except OperationalError as exc:
        if is_lock_timeout(exc):
            raise LedgerBusy(busy_message(lock_timeout_seconds)) from exc
        raise


def _unmoved_head(conn: Connection, recorded: ChainHead | None) -> ChainHead | None:
    """`recorded` when it is still the newest entry with the hash recorded for it, else None.

    Keeping the decisions books nothing, so it need not walk the chain to link to its head: the head recorded
    last night, still in place with nothing after it, is tonight's. The whole chain is still verified tonight,
    by the `ledger_chain_intact` check, and by `book()` before anything is booked on it."""
    if recorded is None or recorded.entry_id < 1:
        return None
    newest = conn.execute(
        select(LedgerEntry.entry_id, LedgerEntry.entry_hash).order_by(LedgerEntry.entry_id.desc()).limit(1)
    ).one_or_none()
    if newest is None or (newest.entry_id, newest.entry_hash) != (recorded.entry_id, recorded.entry_hash):
        return None
    return recorded
