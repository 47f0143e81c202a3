"""New batches are parsed by forked processes (pipelines/submission_intake.py): the night reads the same as one by
one, and a file the parser fails on — or a parser process that dies — is still that file's problem only."""

from __future__ import annotations

import os
import shutil
from datetime import date
from pathlib import Path

import pytest

from pipelines import submission_intake, tonight
from pipelines.intake import read_batch
from pipelines.settings import SAMPLE_INBOX
from tests.ledger.batches import ledger_engine

AS_OF = date(2026, 11, 24)
MAIN = "2026-03-01-全区.xlsx"


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    """The sample's main batch under four names (each its own batch of the same rows) and its defects batch."""
    folder = tmp_path / "inbox"
    shutil.copytree(SAMPLE_INBOX, folder)
    for day in ("02", "03", "04"):
        shutil.copy(folder / MAIN, folder / f"2026-03-{day}-全区副本.xlsx")
    return folder


def _read(inbox: Path, tmp_path: Path, name: str):
    engine = ledger_engine(f"sqlite:///{tmp_path / name}")
    try:
        return tonight.read_submissions(inbox, engine, AS_OF)
    finally:
        engine.dispose()


def _codes(subs) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for r in subs.rejections:
        out.setdefault(r.file, set()).add(r.code)
    return out


def test_several_new_batches_read_in_parallel_as_one_by_one(
    inbox: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    parallel = _read(inbox, tmp_path, "parallel.sqlite")
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0})  # one core: parsed here, one by one
    serial = _read(inbox, tmp_path, "serial.sqlite")
    assert set(parallel.frames) == set(serial.frames)
    for name, frame in parallel.frames.items():
        assert frame.equals(serial.frames[name]), name
    assert parallel.rejections == serial.rejections
    assert parallel.files == serial.files


def test_a_file_the_parser_fails_on_is_rejected_and_the_others_are_read(
    inbox: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    parent = os.getpid()

    def failing(path: Path, sha: str | None = None, name: str | None = None):
        if path.name == "2026-03-03-全区副本.xlsx":
            raise RuntimeError("a bug in the intake")
        if path.name == "2026-03-04-全区副本.xlsx" and os.getpid() != parent:
            # the parser process dies on this file (the parent parses it again, and it reads fine)
            os._exit(9)
        return read_batch(path, sha, name)

    monkeypatch.setattr(submission_intake, "read_batch", failing)
    subs = _read(inbox, tmp_path, "ledger.sqlite")
    codes = _codes(subs)
    assert codes["2026-03-03-全区副本.xlsx"] == {"FILE_NOT_PROCESSED"}
    accepted = {c.file: c.accepted for c in subs.counts if c.sheet == "applications"}
    expected = accepted[MAIN]
    assert expected > 0
    assert accepted["2026-03-02-全区副本.xlsx"] == accepted["2026-03-04-全区副本.xlsx"] == expected
    assert accepted.get("2026-03-03-全区副本.xlsx", 0) == 0
