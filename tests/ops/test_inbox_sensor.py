"""The inbox sensor: one run per file name and content, none for a file seen before, nothing for other files."""

import hashlib
import json
import shutil
import time
from pathlib import Path

import dagster as dg
import pytest

from pipelines.defs.resources import Inbox
from pipelines.defs.sensors import FILE_TAG, SHA_TAG, inbox_sensor, scan_inbox
from pipelines.settings import SAMPLE_INBOX
from samples.build import sample_sheets
from samples.workbook import write_batch
from tests.ops.conftest import settle

SAMPLE = "2026-03-01-全区.xlsx"


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    folder = tmp_path / "inbox"
    folder.mkdir()
    settle(Path(shutil.copy(SAMPLE_INBOX / SAMPLE, folder / SAMPLE)))
    return folder


def tick(inbox: Path, cursor: str | None = None) -> tuple[list[dg.RunRequest], str | None]:
    with dg.build_sensor_context(cursor=cursor, resources={"inbox": Inbox(path=str(inbox))}) as context:
        data = inbox_sensor.evaluate_tick(context)
    return list(data.run_requests or []), data.cursor


def sha256(path: Path) -> str:
    """What `sha256sum` prints for the file, so an operator can match a run to a file by hand."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_new_workbook_starts_one_run_keyed_by_its_name_and_content(inbox: Path):
    requests, _ = tick(inbox)
    assert len(requests) == 1
    sha = sha256(inbox / SAMPLE)
    assert requests[0].run_key == f"{SAMPLE}@{sha}"
    assert requests[0].tags[FILE_TAG] == SAMPLE and requests[0].tags[SHA_TAG] == sha


def test_the_same_file_seen_again_starts_nothing(inbox: Path):
    _, cursor = tick(inbox)
    requests, again = tick(inbox, cursor)
    assert requests == []
    assert json.loads(again or "{}") == json.loads(cursor or "{}")


def test_a_lost_cursor_asks_again_with_the_same_run_key_which_the_daemon_refuses_to_run_twice(inbox: Path):
    first, _ = tick(inbox)
    again, _ = tick(inbox, None)
    assert [r.run_key for r in again] == [r.run_key for r in first]


def test_a_changed_file_starts_a_run_with_a_new_key(inbox: Path):
    first, cursor = tick(inbox)
    sheets = sample_sheets()
    write_batch(inbox / SAMPLE, {"enterprises": sheets["enterprises"][:1]})
    settle(inbox / SAMPLE)
    second, _ = tick(inbox, cursor)
    assert len(second) == 1
    assert second[0].run_key != first[0].run_key
    assert second[0].run_key == f"{SAMPLE}@{sha256(inbox / SAMPLE)}"


def test_a_touched_but_unchanged_file_is_hashed_again_and_starts_nothing(inbox: Path):
    _, cursor = tick(inbox)
    (inbox / SAMPLE).touch()
    settle(inbox / SAMPLE)
    scan = scan_inbox(inbox, json.loads(cursor or "{}"), time.time())
    assert scan.hashed == [SAMPLE] and scan.requests == []


def test_unchanged_files_are_not_read_at_all(inbox: Path):
    _, cursor = tick(inbox)
    scan = scan_inbox(inbox, json.loads(cursor or "{}"), time.time())
    assert scan.hashed == [] and scan.requests == []


def test_metering_exports_and_batch_folders_start_runs_and_other_files_are_ignored(inbox: Path):
    _, cursor = tick(inbox)
    (inbox / "2026-03-02-电表.csv").write_text("统一社会信用代码,计量点编号\n", encoding="utf-8")
    batch = inbox / "2026-03-03-包头市"
    batch.mkdir()
    (batch / "enterprises.csv").write_text("credit_code,name\n", encoding="utf-8")
    (inbox / "说明.txt").write_text("不是申报", encoding="utf-8")
    (inbox / "~$2026-03-01-全区.xlsx").write_bytes(b"excel lock file")
    (inbox / "扫描件.pdf").write_bytes(b"%PDF-1.4")
    for p in inbox.iterdir():
        settle(p)
    requests, _ = tick(inbox, cursor)
    assert sorted(r.tags[FILE_TAG] for r in requests) == ["2026-03-02-电表.csv", "2026-03-03-包头市"]


def test_a_new_file_inside_a_batch_folder_changes_the_batch(inbox: Path):
    batch = inbox / "2026-03-03-包头市"
    batch.mkdir()
    (batch / "enterprises.csv").write_text("credit_code,name\n", encoding="utf-8")
    settle(batch)
    _, cursor = tick(inbox)
    (batch / "applications.csv").write_text("application_id\n", encoding="utf-8")
    settle(batch)
    requests, _ = tick(inbox, cursor)
    assert [r.tags[FILE_TAG] for r in requests] == ["2026-03-03-包头市"]


def test_a_file_still_being_copied_waits_for_a_later_tick(inbox: Path):
    _, cursor = tick(inbox)
    fresh = inbox / "2026-03-04-乌海市.xlsx"
    shutil.copy(inbox / SAMPLE, fresh)
    fresh.touch()  # written just now
    requests, cursor = tick(inbox, cursor)
    assert requests == []
    settle(fresh)
    requests, _ = tick(inbox, cursor)
    assert [r.tags[FILE_TAG] for r in requests] == ["2026-03-04-乌海市.xlsx"]


def test_a_missing_inbox_folder_starts_nothing(tmp_path: Path):
    requests, _ = tick(tmp_path / "no-such-inbox")
    assert requests == []
