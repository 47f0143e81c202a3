"""The night's submission batches as the nightly job reads them: the inbox listing, each batch from the cache or
parsed, departed and later-dated batches holding back what they corrected, merged in file-name order.

The `submissions` asset records what this returns; what-if (`pipelines.tonight`) reads the very same, so that it
decides exactly the applications the job decides.
"""

from __future__ import annotations

import dataclasses
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from pipelines import review_store
from pipelines.forked import forked_map
from pipelines.inbox import InboxListing, entry_sha256
from pipelines.inbox_history import Withheld, confirmed_removed, departed, withhold
from pipelines.intake import Batch, Submissions, file_sha256, merge, read_batch, unreadable
from pipelines.intake_store import IntakeStore
from pipelines.workbooks import WORKBOOK
from schemas.rejection import Rejection


@dataclass(frozen=True)
class Night:
    submissions: Submissions
    batches: list[Batch]  # every batch read tonight, from the cache or parsed
    parsed: list[Batch]  # the newly parsed ones, to cache
    reused: list[str]
    failed: list[str]
    trusted: list[str]  # batches read from the cache as validated (`pipelines.intake_store`)
    gone: list[str]  # batches taken in before and no longer in the inbox
    gone_exports: list[str]
    confirmed: list[str]  # departed batches the operator confirmed removed (ALU_REMOVED_BATCHES)
    unmatched: list[
        tuple[str, bool]
    ]  # names in ALU_REMOVED_BATCHES that are no departed batch (, still listed)
    withheld: list[Withheld]


def read_night(listing: InboxListing, engine: Engine, store: IntakeStore, log: Any = None) -> Night:
    """Reads, never writes: the caller records (the asset) or only decides (what-if)."""
    batches, parsed, reused, failed = _read(listing, listing.batches, store, log)
    later = [listing.name(p) for p in listing.later if p.suffix.lower() != ".csv"]
    gone, gone_exports = departed(engine, listing)
    asked = confirmed_removed()
    confirmed = sorted(asked & set(gone))
    listed = {listing.name(p) for p in [*listing.batches, *listing.later]}
    unmatched = [(name, name in listed) for name in sorted(asked - set(gone))]
    # A later-dated batch taken in on a later night may have been booked: it holds back what it corrected. One
    # never taken in cannot have been, and the past night is reproduced as it was.
    absent: dict[str, tuple[str, set[str]]] = {}
    for reason, names in (("later", later), ("departed", sorted(set(gone) - set(confirmed)))):
        for name in names:
            recorded = store.latest(name)
            if recorded is not None:
                absent[name] = (reason, _app_ids(recorded))
    shown = [*batches, *(_listing_batch(r) for r in listing.rejections)]
    subs = merge(shown, store.enterprises_except({b.file for b in shown} | set(later)))
    reviewed = {} if listing.as_of is None else review_store.determined_after(engine, listing.as_of)
    withheld = withhold(subs, absent, reviewed)
    trusted = [b.file for b in batches if b.trusted]
    return Night(
        subs, batches, parsed, reused, failed, trusted, gone, gone_exports, confirmed, unmatched, withheld
    )


def _read(
    listing: InboxListing, paths: list[Path], store: IntakeStore, log: Any
) -> tuple[list[Batch], list[Batch], list[str], list[str]]:
    """(batches, the newly parsed ones to cache, names reused from the cache, names the intake failed on)."""
    batches: list[Batch | None] = []
    reused: list[str] = []
    unparsed: list[tuple[int, Path, str, str]] = []  # (position, path, sha256, name)
    for path in paths:
        name = listing.name(path)
        try:
            sha = file_sha256(path)
        except OSError as exc:  # no permission, or removed meanwhile: that file's problem only
            batches.append(_listing_batch(Rejection(name, WORKBOOK, None, None, None, "FILE_UNREADABLE",
                                                    f"文件无法读取（{type(exc).__name__}），未受理；"
                                                    "请检查文件权限后重新放入收件箱")))  # fmt: skip
            continue
        batch = store.load(name, sha)
        if batch is not None:
            reused.append(name)
        else:
            unparsed.append((len(batches), path, sha, name))
        batches.append(batch)
    # Parsing is pure Python, one core per workbook: the first night over 12 workbooks parses them in about half
    # the time. A parser process that dies leaves its files to be parsed here, one by one, as before.
    parsed, failed = [], []
    for (position, _, _, name), (batch, error) in zip(unparsed, forked_map(_parse, unparsed), strict=True):
        if error is None:
            parsed.append(batch)
        else:
            # one odd file must not stop the night for every other enterprise
            if log is not None:
                log.error(f"intake of {name} failed:\n{error}")
            failed.append(name)
        batches[position] = batch
    return [b for b in batches if b is not None], parsed, reused, failed


def _parse(unparsed: tuple[int, Path, str, str]) -> tuple[Batch, str | None]:
    """One batch parsed, or the rejection saying the intake failed on it with the traceback for the log."""
    _, path, sha, name = unparsed
    try:
        return read_batch(path, sha, name), None
    except Exception as exc:
        return unreadable(name, sha, exc), traceback.format_exc()


def _app_ids(batch: Batch) -> set[str]:
    return {str(r["application_id"]) for r in batch.rows.get("applications", ())}


def _listing_batch(rejection: Rejection) -> Batch:
    """An inbox entry refused by the listing, as a batch of that one rejection."""
    return Batch(
        rejection.file,
        entry_sha256(rejection),
        "refused",
        {},
        [dataclasses.replace(rejection, value=rejection.file)],
        {},
    )
