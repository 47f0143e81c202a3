"""Rejections survive a crash: a run killed (kill -9) right after a file's parse is cached leaves no cache
without its rejections, and the next clean run records every rejection, with `rows_balance` comparing against
the rows actually recorded."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from pipelines.settings import SAMPLE_INBOX
from samples.defects import DEFECTS_FILE
from tests.intake.test_incremental_intake import Intake

# The child runs the intake asset and is killed by SIGKILL the moment the parsed batch is written to
# `intake_files`, before anything else of the run can happen.
KILLED_AFTER_CACHE = """
import os, signal, sys
import dagster as dg
from assets.submissions import submission_batches
from pipelines.defs.resources import Evaluation, Inbox, LedgerDatabase, Rulebook
from pipelines.intake_store import IntakeStore

save = IntakeStore.save
def save_then_die(self, *args, **kwargs):
    save(self, *args, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)
IntakeStore.save = save_then_die

with dg.instance_for_test() as instance:
    dg.materialize([submission_batches], instance=instance, resources={
        "inbox": Inbox(path=sys.argv[1]), "ledger_db": LedgerDatabase(url=sys.argv[2]), "rulebook": Rulebook(),
        "evaluation": Evaluation(as_of="2026-11-24")})
"""


@pytest.fixture
def defects(tmp_path: Path) -> Intake:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(SAMPLE_INBOX / DEFECTS_FILE, inbox / DEFECTS_FILE)
    return Intake(inbox, f"sqlite:///{tmp_path / 'ledger.sqlite'}")


def _expected(tmp_path: Path, inbox: Path) -> int:
    """What an uninterrupted night records for the same inbox."""
    reference = Intake(inbox, f"sqlite:///{tmp_path / 'reference.sqlite'}")
    reference.run()
    return int(str(reference.scalar("SELECT COUNT(*) FROM submission_rejections")))


def test_a_run_killed_after_the_parse_is_cached_loses_no_rejection(defects: Intake, tmp_path: Path):
    expected = _expected(tmp_path, defects.inbox)
    assert expected > 20
    child = subprocess.run([sys.executable, "-c", KILLED_AFTER_CACHE, str(defects.inbox), defects.url],
                           capture_output=True, timeout=300)  # fmt: skip
    assert child.returncode == -9, child.stderr[-2000:]
    # killed inside the transaction: neither the cache nor any rejection was committed
    assert defects.scalar("SELECT COUNT(*) FROM intake_files") == 0
    assert defects.scalar("SELECT COUNT(*) FROM submission_rejections") == 0

    _, _rejections, result = defects.run()
    assert defects.scalar("SELECT COUNT(*) FROM submission_rejections") == expected
    balance = next(e for e in result.get_asset_check_evaluations() if e.check_name == "rows_balance")
    assert balance.passed


def test_rejections_lost_by_an_earlier_crash_are_restored_by_the_next_run_and_named_until_then(
    defects: Intake,
):
    defects.run()
    recorded = defects.scalar("SELECT COUNT(*) FROM submission_rejections")
    # what a crash of an older version left behind: the cache row, but only some of its rejections
    from pipelines.defs.resources import LedgerDatabase

    with LedgerDatabase(url=defects.url).engine().begin() as conn:
        conn.execute(text("DELETE FROM submission_rejections WHERE rejection_id % 4 <> 0"))
    _, _, result = defects.run()
    assert defects.scalar("SELECT COUNT(*) FROM submission_rejections") == recorded
    balance = next(e for e in result.get_asset_check_evaluations() if e.check_name == "rows_balance")
    assert balance.passed and balance.metadata["rejected_rows_not_recorded"].value == 0
