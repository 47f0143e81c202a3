"""Review determinations on record (`review_determination_entries`, append-only) and since when each
application has been pending (`review_pending`).

Recording is idempotent: an accepted row is keyed by its file content and Excel row, a rejection by the same
fingerprint as every other input rejection, so re-reading a file records nothing twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import Engine, delete, select

from pipelines.inbox import name_date
from pipelines.inbox_history import shanghai_day
from pipelines.intake_store import count_rows
from pipelines.reviews import ReviewIntake
from pipelines.sql import insert_new
from rules.review import Determination
from schemas.rejection import Rejection
from schemas.sheets import REVIEW_FOLDER
from schemas.tables import IntakeCount, ReviewDeterminationEntry, ReviewPending, SubmissionRejection


def recorded_fingerprints(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(select(ReviewDeterminationEntry.fingerprint)).scalars())


def on_record(engine: Engine) -> list[Determination]:
    """Every determination received, with its received order."""
    with engine.connect() as conn:
        rows = conn.execute(select(ReviewDeterminationEntry.__table__)).all()
    return [
        Determination(
            application_id=r.application_id,
            outcome=r.outcome,
            determined_value=None if r.determined_value_text is None else Decimal(r.determined_value_text),
            opinion=r.opinion,
            department=r.department,
            reviewer=r.reviewer,
            reviewed_on=date.fromisoformat(r.reviewed_on),
            document_no=r.document_no,
            source_file=r.source_file,
            source_row=r.source_row,
            sequence=r.determination_id,
        )
        for r in rows
    ]


def determined_after(engine: Engine, as_of: date) -> dict[str, set[str]]:
    """Review file -> the applications it determined, on record, after `as_of`: reviewed after it, or from a file
    dated after it (the date its name starts with, else the Shanghai day the row was received). Nothing on a
    night evaluating today; on a past night re-run those applications are held back (`inbox_history.withhold`),
    as the batches dated after it hold back what they corrected: re-running a past night never moves money."""
    out: dict[str, set[str]] = {}
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                ReviewDeterminationEntry.source_file,
                ReviewDeterminationEntry.application_id,
                ReviewDeterminationEntry.reviewed_on,
                ReviewDeterminationEntry.received_at,
            )
        ).all()
    for r in rows:
        dated = name_date(r.source_file.removeprefix(f"{REVIEW_FOLDER}/")) or shanghai_day(r.received_at)
        if date.fromisoformat(r.reviewed_on) > as_of or dated > as_of:
            out.setdefault(r.source_file, set()).add(r.application_id)
    return out


def _rejection_fingerprint(r: Rejection, sha: str) -> str:
    # The same recipe as the submission rejections (assets/submissions.py), so both share one unique index.
    text = "|".join(str(x) for x in (sha, r.sheet, r.row_number, r.column, r.code, r.value))
    return hashlib.sha256(text.encode()).hexdigest()


def record(engine: Engine, intake: ReviewIntake, run_id: str) -> None:
    """The new determinations, the rejections and the per-file counts, in one transaction."""
    shas = dict(intake.files)
    now = datetime.now(UTC)
    entries = [
        {
            "fingerprint": print_,
            "application_id": d.application_id,
            "outcome": d.outcome,
            "determined_value": d.determined_value,
            "determined_value_text": None if d.determined_value is None else str(d.determined_value),
            "opinion": d.opinion,
            "department": d.department,
            "reviewer": d.reviewer,
            "reviewed_on": d.reviewed_on.isoformat(),
            "document_no": d.document_no,
            "source_file": d.source_file,
            "source_sha256": shas.get(d.source_file, ""),
            "source_row": d.source_row,
            "run_id": run_id,
            "received_at": now,
        }
        for print_, d in intake.new
    ]
    rejections = [
        r.as_dict()
        | {
            "file_sha256": shas.get(r.file, ""),
            "fingerprint": _rejection_fingerprint(r, shas.get(r.file, "")),
            "run_id": run_id,
            "recorded_at": now,
        }
        for r in intake.rejections
    ]
    counts = count_rows(intake.counts, shas, run_id, now)
    with engine.begin() as conn:
        insert_new(conn, ReviewDeterminationEntry, entries, "fingerprint")
        insert_new(conn, SubmissionRejection, rejections, "fingerprint")
        insert_new(conn, IntakeCount, counts, "file_sha256", "sheet")


def track_pending(engine: Engine, decided: Iterable[tuple[str, str]], as_of: date, run_id: str) -> None:
    """(application id, decision) of tonight: a newly pending application starts waiting today; one no longer
    pending stops. Applications not decided tonight keep their row."""
    decided = list(decided)
    pending = [a for a, outcome in decided if outcome == "needs_review"]
    now = datetime.now(UTC)
    with engine.begin() as conn:
        # of the settled ones, only those still waiting have a row to delete (a few, against all decided)
        waiting = set(conn.execute(select(ReviewPending.application_id)).scalars())
        settled = [a for a, outcome in decided if outcome != "needs_review" and a in waiting]
        for start in range(0, len(settled), 500):
            conn.execute(
                delete(ReviewPending).where(ReviewPending.application_id.in_(settled[start : start + 500]))
            )
        rows = [
            {"application_id": a, "since": as_of.isoformat(), "first_run_id": run_id, "recorded_at": now}
            for a in pending
        ]
        insert_new(conn, ReviewPending, rows, "application_id")


def pending_since(engine: Engine, ids: Sequence[str] | None = None) -> dict[str, date]:
    with engine.connect() as conn:
        rows = conn.execute(select(ReviewPending.application_id, ReviewPending.since)).all()
    return {a: date.fromisoformat(s) for a, s in rows if ids is None or a in ids}
