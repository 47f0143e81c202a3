"""The inbox sensor: a new or changed file in the inbox starts one `nightly_awards` run, never two.

An operator who uploads a batch at 10:00 sees its rejections within a minute instead of the next morning; the
nightly schedule still runs the whole inbox at 02:00 whatever the sensor did.

What counts as a file is what intake and metering read: an `.xlsx` workbook or a sub-folder is a submission
batch, a `.csv` is a metering export (docs/inputs.md); anything else is left alone. A file is identified by its name
and the sha256 of its content, and that pair is the run key, so the daemon refuses a second run for content it
has already started a run for, whatever the cursor says.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from pipelines.defs.jobs import nightly_awards
from pipelines.defs.resources import Inbox
from pipelines.intake import file_sha256, is_submission
from schemas.sheets import REVIEW_FOLDER

# A file still being copied into the inbox changes size and mtime; waiting until it has been quiet this long
# keeps a half-written workbook from being read (and its bogus rejections recorded for good).
SETTLE_SECONDS = 60
FILE_TAG = "alu/inbox_file"
SHA_TAG = "alu/inbox_sha256"


def is_inbox_file(path: Path) -> bool:
    # The 审核/ folder counts as one entry: a determination dropped into it starts a run like a batch does.
    is_reviews = path.is_dir() and path.name == REVIEW_FOLDER
    return is_submission(path) or is_reviews or (path.is_file() and path.suffix.lower() == ".csv")


def stat_signature(path: Path) -> tuple[str, float]:
    """A cheap fingerprint from sizes and mtimes (no reading), and the newest mtime under the path."""
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    digest = hashlib.sha256()
    newest = path.stat().st_mtime
    for p in files:
        st = p.stat()
        digest.update(f"{p.relative_to(path.parent)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
        newest = max(newest, st.st_mtime)
    return digest.hexdigest()[:16], newest


@dataclass
class InboxScan:
    """What one look at the inbox found: the runs to request and the cursor to keep."""

    requests: list[dg.RunRequest] = field(default_factory=list)
    cursor: dict[str, list[str]] = field(default_factory=dict)  # name -> [stat signature, sha256]
    settling: list[str] = field(default_factory=list)
    hashed: list[str] = field(default_factory=list)


def scan_inbox(folder: Path, cursor: dict[str, list[str]], now: float) -> InboxScan:
    """Compare the inbox with the cursor; hash only files whose size or mtime moved since the last look."""
    scan = InboxScan()
    if not folder.is_dir():
        return scan
    for path in sorted(folder.iterdir(), key=lambda p: p.name):
        if not is_inbox_file(path):
            continue
        name = path.name
        signature, newest = stat_signature(path)
        known = cursor.get(name)
        if known is not None and known[0] == signature:
            scan.cursor[name] = known
            continue
        if now - newest < SETTLE_SECONDS:
            # Not remembered, so the next tick looks again once the copy is finished.
            if known is not None:
                scan.cursor[name] = known
            scan.settling.append(name)
            continue
        sha = file_sha256(path)
        scan.hashed.append(name)
        scan.cursor[name] = [signature, sha]
        if known is not None and known[1] == sha:
            continue  # touched, not changed
        scan.requests.append(
            dg.RunRequest(
                run_key=f"{name}@{sha}",
                tags={FILE_TAG: name, SHA_TAG: sha},
            )
        )
    return scan


@dg.sensor(
    name="inbox_sensor",
    job=nightly_awards,
    minimum_interval_seconds=30,
    description="收件箱出现新文件或文件内容变化时，启动一次 nightly_awards（每个文件名 + 内容哈希只启动一次）。",
    # Running by default: the runs it starts are the same idempotent job the schedule runs (the ledger refuses
    # a second award, rejections are keyed by file content), and without it an operator who uploads a
    # corrected batch waits until 02:00 to learn whether it was accepted.
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def inbox_sensor(context: dg.SensorEvaluationContext, inbox: Inbox) -> dg.SensorResult:
    cursor = json.loads(context.cursor) if context.cursor else {}
    scan = scan_inbox(inbox.folder, cursor, time.time())
    settling = f"等待写入完成（{SETTLE_SECONDS} 秒内仍有改动，下次检查再处理）：{'、'.join(scan.settling)}"
    if scan.settling:
        context.log.info(settling)
    if scan.requests:
        context.log.info("新文件或已变更：" + "、".join(r.tags[FILE_TAG] for r in scan.requests))
    skip = None
    if not scan.requests:
        skip = settling if scan.settling else "收件箱没有新文件或变更"
    return dg.SensorResult(
        run_requests=scan.requests,
        cursor=json.dumps(scan.cursor, ensure_ascii=False, sort_keys=True),
        skip_reason=skip,
    )
