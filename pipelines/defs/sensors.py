"""The inbox sensor: new or changed files in the inbox start one `nightly_awards` run, never two.

An operator who uploads a batch at 10:00 sees its rejections within a minute instead of the next morning; the
nightly schedule still runs the whole inbox at 02:00 whatever the sensor did.

What counts as a file is whatever the night lists (`pipelines.inbox`): an `.xlsx` workbook or a sub-folder is a
submission batch, a `.csv` a metering export, `审核/` the review determinations (docs/inputs.md), and anything else
a file the night rejects (FILE_UNSUPPORTED, a link FILE_OUTSIDE_INBOX), which its sender should see as soon;
Excel's lock files, hidden entries and Windows Explorer's own files are left alone. A file is identified by its name and the sha256 of its
content (a link, never read, by its target and its own times). Every run reads the whole inbox, so the files one look finds new or changed start
one run between them (twelve batches copied in at once: one run, not twelve in a queue each repeating the first).
Its run key is the file's `name@sha256`, or for several files their count and a digest of all their pairs, so the
daemon refuses a second run for what it has already started a run for, whatever the cursor says.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from pipelines.defs.jobs import nightly_awards
from pipelines.defs.resources import Inbox
from pipelines.inbox import display_name, is_nobodys
from pipelines.intake import file_sha256

# A file still being copied into the inbox changes size and mtime; waiting until it has been quiet this long
# keeps a half-written workbook from being read (and its bogus rejections recorded for good).
SETTLE_SECONDS = 60
FILE_TAG = "alu/inbox_file"
SHA_TAG = "alu/inbox_sha256"


def is_read(path: Path) -> bool:
    """An entry whose content identifies it: a file or a folder of the inbox itself. A link is never read here (it
    may point at a private file, at /dev/zero, or nowhere), nor through by the night beyond what the inbox holds."""
    return not path.is_symlink() and (path.is_file() or path.is_dir())


def stat_signature(path: Path) -> tuple[str, float]:
    """A cheap fingerprint from sizes and mtimes (no reading), and the newest mtime under the path."""
    if not is_read(path):  # the link itself, or a special file
        st = path.lstat()
        target = os.readlink(path) if path.is_symlink() else ""
        line = f"{target}\0{st.st_mode}\0{st.st_size}\0{st.st_mtime_ns}"
        return hashlib.sha256(os.fsencode(line)).hexdigest()[:16], st.st_mtime
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    digest = hashlib.sha256()
    newest = path.stat().st_mtime
    for p in files:
        st = p.stat()
        digest.update(os.fsencode(f"{p.relative_to(path.parent)}\0{st.st_size}\0{st.st_mtime_ns}\n"))
        newest = max(newest, st.st_mtime)
    return digest.hexdigest()[:16], newest


def identity(path: Path, signature: str) -> str:
    """The sha256 of what the night reads of the entry; for an entry it does not read, of its signature."""
    if is_read(path):
        return file_sha256(path)
    return hashlib.sha256(f"unread\0{signature}".encode()).hexdigest()


@dataclass
class InboxScan:
    """What one look at the inbox found: the runs to request and the cursor to keep."""

    requests: list[dg.RunRequest] = field(default_factory=list)  # one at most
    cursor: dict[str, list[str]] = field(default_factory=dict)  # name -> [stat signature, sha256]
    settling: list[str] = field(default_factory=list)
    hashed: list[str] = field(default_factory=list)


def scan_inbox(folder: Path, cursor: dict[str, list[str]], now: float) -> InboxScan:
    """Compare the inbox with the cursor; hash only files whose size or mtime moved since the last look."""
    scan = InboxScan()
    if not folder.is_dir():
        return scan
    changed: list[tuple[str, str]] = []
    for path in sorted(folder.iterdir(), key=display_name):
        name = display_name(path)  # as the night names it: a GB18030 name is stored and tagged as it reads
        # Whatever the night lists, files it rejects (an .xls, a link) included: their sender should see the
        # rejection as soon as a batch's. Not what the night leaves alone (lock files, hidden entries).
        if is_nobodys(name):
            continue
        try:
            signature, newest = stat_signature(path)
        except OSError:
            continue  # removed while we looked, or not ours to read: the night says so
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
        try:
            sha = identity(path, signature)
        except OSError:
            continue  # the night rejects it as unreadable; the next look tries again
        scan.hashed.append(name)
        scan.cursor[name] = [signature, sha]
        if known is not None and known[1] == sha:
            continue  # touched, not changed
        changed.append((name, sha))
    if changed:
        scan.requests.append(run_request(changed))
    return scan


def run_request(changed: list[tuple[str, str]]) -> dg.RunRequest:
    """The one run for the files (name, sha256) one look found new or changed, tagged with each of them."""
    names, shas = "、".join(n for n, _ in changed), "、".join(s for _, s in changed)
    if len(changed) == 1:
        run_key = f"{names}@{shas}"
    else:
        pairs = "\n".join(f"{n}@{s}" for n, s in changed)
        run_key = f"{len(changed)} files@{hashlib.sha256(pairs.encode()).hexdigest()}"
    return dg.RunRequest(run_key=run_key, tags={FILE_TAG: names, SHA_TAG: shas})


@dg.sensor(
    name="inbox_sensor",
    job=nightly_awards,
    minimum_interval_seconds=30,
    description="收件箱出现新文件或文件内容变化时，启动一次 nightly_awards（同一次检查发现的多个文件合为一次运行；"
    "同样的文件名 + 内容哈希只启动一次）。",
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
