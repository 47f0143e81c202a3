"""What a night decides with — the inbox's applications with their metered savings, the awards already held in
the ledger, the review determinations in force — read without writing anything.

The nightly job builds its applications with `applications(...)` too (assets/awards.py); the what-if
(`pipelines.whatif`) takes everything from `read(...)`, so that it decides exactly as the job would tonight and
differs only in the parameter values it is given. The inbox is read the way `submission_batches` reads it: each
batch from the intake cache when its content was parsed before, else parsed now (and not cached); enterprises of
batches no longer in the inbox still count.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import Engine

from pipelines import applications as building
from pipelines import review_store, reviews
from pipelines.inbox import InboxListing, check_folder, list_inbox
from pipelines.inbox_history import first_seen
from pipelines.intake import Submissions
from pipelines.intake_store import IntakeStore
from pipelines.ledger import held_keys
from pipelines.metering_boundary import verify
from pipelines.settings import today_in_shanghai
from pipelines.submission_intake import read_night
from rules.model import Application, MeteredSaving
from rules.parameters import Parameters
from rules.review import Determination, in_force


def applications(submissions: Submissions, metered: Mapping[str, MeteredSaving]) -> list[Application]:
    """The typed applications, each savings application with what its meters say (issue 5)."""
    return building.build(submissions, metered)


@dataclass(frozen=True)
class Tonight:
    submissions: Submissions
    applications: list[Application]
    held: dict[str, str]
    reviews: dict[str, Determination]


def listed(folder: Path, engine: Engine, as_of: date) -> InboxListing:
    """The inbox exactly as tonight's assets list it (`pipelines.inbox`)."""
    check_folder(folder)
    return list_inbox(folder, as_of, first_seen(engine), today_in_shanghai())


def read_submissions(folder: Path, engine: Engine, as_of: date) -> Submissions:
    """The submissions exactly as tonight's `submissions` asset reads them (`pipelines.submission_intake`)."""
    return read_night(listed(folder, engine, as_of), engine, IntakeStore(engine)).submissions


def read(folder: Path, engine: Engine, as_of: date, parameters: Parameters) -> Tonight:
    listing = listed(folder, engine, as_of)
    submissions = read_night(listing, engine, IntakeStore(engine)).submissions
    metered = {a: v.metered for a, v in verify(engine, submissions, parameters).items()}
    apps = submissions.frames["applications"]
    programs = dict(zip(apps["application_id"], apps["program"], strict=True))
    recorded = review_store.on_record(engine)
    fresh = reviews.read_inbox(listing.reviews, programs, as_of, review_store.recorded_fingerprints(engine))
    start = max((d.sequence for d in recorded), default=0)
    return Tonight(
        submissions,
        applications(submissions, metered),
        held_keys(engine),
        in_force([*recorded, *reviews.unrecorded(fresh, start)]),
    )
