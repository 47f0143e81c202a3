"""What the inbox held before: when each file was first taken in, which files have left it, and the applications
that a departed or later-dated batch holds back.

A batch that has left the inbox is not a withdrawal (pipelines/ledger.py keeps the awards of applications absent
from a run). Its applications that also appear in an earlier batch still present would otherwise be decided
from that older version, silently re-paying what the departed correction reversed. So such an application is
*held back*: left out of the night's decisions, its booked awards untouched, and the departed batch named in the
`inbox_files_present` warning — until an operator confirms the removal by naming the file in
`ALU_REMOVED_BATCHES` (docs/runbook.md §3). A batch dated after the evaluation day (a past night re-run) holds
back the applications it corrected the same way: re-running a past night never moves money backwards.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Protocol

import dagster as dg
from sqlalchemy import Engine, func, select

from pipelines.inbox import InboxListing, InboxUnavailable, check_folder, list_inbox
from pipelines.intake import Submissions
from pipelines.settings import SHANGHAI, today_in_shanghai
from schemas.sheets import FILE
from schemas.tables import IntakeCount, IntakeFile, metering_files

REMOVED_ENV = "ALU_REMOVED_BATCHES"
"""File names (separated by commas, semicolons or new lines) an operator confirms were removed on purpose."""


class EngineSource(Protocol):
    """What run_listing needs of the LedgerDatabase resource."""

    def engine(self) -> Engine: ...


def run_listing(folder: Path, as_of: date, ledger_db: EngineSource) -> tuple[InboxListing, Engine]:
    """The night's listing. The inbox is checked before the database is opened (opening it may migrate it), so a
    wrong ALU_INBOX_DIR stops the run before anything is written."""
    try:
        check_folder(folder)
    except InboxUnavailable as exc:  # the step fails with the operator's two lines, not a traceback to read
        raise dg.Failure(description=str(exc), allow_retries=False) from exc
    engine = ledger_db.engine()
    return list_inbox(folder, as_of, first_seen(engine), today_in_shanghai()), engine


def shanghai_day(at: datetime | str) -> date:
    """The Shanghai day of a stored UTC timestamp (SQLite hands back a naive one, or its text)."""
    at = at if isinstance(at, datetime) else datetime.fromisoformat(at)
    aware = at.replace(tzinfo=UTC) if at.tzinfo is None else at
    return aware.astimezone(SHANGHAI).date()


def first_seen(engine: Engine) -> dict[str, date]:
    """File name -> the Shanghai day its first content was taken in (submission batches, metering exports, and
    review determination files by their counts, `审核/<name>`)."""
    seen: dict[str, date] = {}
    with engine.connect() as conn:
        for column, at in ((IntakeFile.file, IntakeFile.recorded_at),
                           (metering_files.c.file, metering_files.c.ingested_at),
                           (IntakeCount.file, IntakeCount.recorded_at)):  # fmt: skip
            for file, earliest in conn.execute(select(column, func.min(at)).group_by(column)):
                if file is not None and earliest is not None:
                    day = shanghai_day(earliest)
                    seen[file] = min(day, seen.get(file, day))
    return seen


def departed(engine: Engine, listing: InboxListing) -> tuple[list[str], list[str]]:
    """(submission batches, metering exports) taken in before whose name is no longer in the inbox."""
    present = set(listing.names.values())
    with engine.connect() as conn:
        batches = set(conn.execute(select(IntakeFile.file).distinct()).scalars())
        exports = set(conn.execute(select(metering_files.c.file).distinct()).scalars())
    return sorted(batches - present), sorted(exports - present - batches)


def confirmed_removed() -> set[str]:
    text = os.environ.get(REMOVED_ENV, "")
    return {name.strip() for name in re.split(r"[,;\n，；]", text) if name.strip()}


@dataclass(frozen=True)
class Withheld:
    application_id: str
    source: str  # the batch present in the inbox it would now be decided from
    held_by: str  # the later batch, departed or dated after the evaluation day, that last carried it
    reason: str  # "departed", "later" or "reviewed" (determined after the evaluation day)


def withhold(
    subs: Submissions,
    absent: dict[str, tuple[str, set[str]]],
    reviewed_later: Mapping[str, set[str]] | None = None,
) -> list[Withheld]:
    """Take out of `subs` every application an absent later batch carried; `absent` maps a batch name to
    (reason, its application ids). `reviewed_later` maps a review file to the applications it determined after
    the evaluation day (`review_store.determined_after`): on a past night those are held back too (reason
    "reviewed"), whatever batch they are in, so that the night never decides them without what was booked on
    that determination."""
    apps = subs.frames["applications"]
    held: list[Withheld] = []
    for app_id, source in zip(apps["application_id"], apps[FILE], strict=True):
        later = sorted(name for name, (_, ids) in absent.items() if app_id in ids and name > source)
        reviews = sorted(name for name, ids in (reviewed_later or {}).items() if app_id in ids)
        if later:
            held.append(Withheld(str(app_id), str(source), later[-1], absent[later[-1]][0]))
        elif reviews:
            held.append(Withheld(str(app_id), str(source), reviews[-1], "reviewed"))
    ids = {w.application_id for w in held}
    if ids:
        for key, frame in subs.frames.items():
            if key != "enterprises":
                subs.frames[key] = frame[~frame["application_id"].isin(ids)].reset_index(drop=True)
        for app_id in ids:
            subs.problems.pop(app_id, None)
    return held
