"""The inbox sensor: one run for what one look finds new or changed, keyed by file name and content; none for a
file seen before; an unsupported file or a link starts a run too (its rejection is shown within a minute), and
neither a link nor a name in another encoding stops the sensor."""

import hashlib
import json
import os
import shutil
import time
from pathlib import Path

import dagster as dg
import pytest

from pipelines.defs.resources import Inbox
from pipelines.defs.sensors import FILE_TAG, SHA_TAG, inbox_sensor, scan_inbox
from pipelines.intake import file_sha256
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


def test_files_arriving_together_start_one_run_tagged_with_each_and_system_files_are_ignored(
    inbox: Path,
):
    _, cursor = tick(inbox)
    (inbox / "2026-03-02-电表.csv").write_text("统一社会信用代码,计量点编号\n", encoding="utf-8")
    batch = inbox / "2026-03-03-包头市"
    batch.mkdir()
    (batch / "enterprises.csv").write_text("credit_code,name\n", encoding="utf-8")
    (inbox / "~$2026-03-01-全区.xlsx").write_bytes(b"excel lock file")
    (inbox / ".DS_Store").write_bytes(b"finder")
    (inbox / "Thumbs.db").write_bytes(b"explorer")
    for p in inbox.iterdir():
        settle(p)
    requests, again = tick(inbox, cursor)
    # every run reads the whole inbox: a second run for a file of the same look would only repeat the first
    assert len(requests) == 1
    (request,) = requests
    assert request.tags[FILE_TAG] == "2026-03-02-电表.csv、2026-03-03-包头市"
    assert request.tags[SHA_TAG].split("、") == [sha256(inbox / "2026-03-02-电表.csv"), file_sha256(batch)]
    assert request.run_key.startswith("2 files@")
    assert tick(inbox, again)[0] == []
    # a lost cursor asks for the very same run, which the daemon refuses to start twice
    assert [r.run_key for r in tick(inbox, cursor)[0]] == [request.run_key]


def test_an_unsupported_file_starts_a_run_so_that_its_rejection_is_shown_within_a_minute(inbox: Path):
    # the night rejects it as FILE_UNSUPPORTED (请用 Excel 另存为 .xlsx); the sender should not wait until 02:00
    _, cursor = tick(inbox)
    for name in ("2026-03-05-赤峰市.xls", "扫描件.pdf"):
        (inbox / name).write_bytes(b"not a workbook")
        settle(inbox / name)
    requests, _ = tick(inbox, cursor)
    assert [r.tags[FILE_TAG] for r in requests] == ["2026-03-05-赤峰市.xls、扫描件.pdf"]


def test_links_start_a_run_without_being_read_and_a_broken_one_does_not_stop_the_sensor(
    inbox: Path, tmp_path: Path
):
    _, cursor = tick(inbox)
    private = tmp_path / "private.csv"
    private.write_text("secret\n", encoding="utf-8")
    (inbox / "2026-03-06-外部.csv").symlink_to(private)
    (inbox / "2026-03-07-失效.xlsx").symlink_to(tmp_path / "gone.xlsx")
    (inbox / "2026-03-08-设备.csv").symlink_to("/dev/zero")  # read, it would never end
    for p in inbox.iterdir():
        os.utime(p, (time.time() - 3600,) * 2, follow_symlinks=False)
    requests, again = tick(inbox, cursor)
    assert [r.tags[FILE_TAG] for r in requests] == [
        "2026-03-06-外部.csv、2026-03-07-失效.xlsx、2026-03-08-设备.csv"
    ]
    # identified by the link, not by what it points at
    assert sha256(private) not in requests[0].tags[SHA_TAG]
    private.write_text("changed\n", encoding="utf-8")
    assert tick(inbox, again)[0] == []  # the night never reads through it either (FILE_OUTSIDE_INBOX)


def test_a_file_name_in_gb18030_bytes_is_tagged_as_the_operator_reads_it_and_the_cursor_can_be_stored(
    inbox: Path,
):
    _, cursor = tick(inbox)
    raw = os.fsencode(inbox) + b"/" + "2026-03-09-通辽市.xlsx".encode("gb18030")
    shutil.copy(inbox / SAMPLE, os.fsdecode(raw))
    settle(Path(os.fsdecode(raw)))
    requests, again = tick(inbox, cursor)
    assert [r.tags[FILE_TAG] for r in requests] == ["2026-03-09-通辽市.xlsx"]
    # what the daemon stores (cursor, run key, tags) is text a database accepts
    for text in (again or "", requests[0].run_key, *requests[0].tags.values()):
        text.encode("utf-8")
    assert tick(inbox, again)[0] == []


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
