"""A night with nothing new keeps last night's decisions (pipelines/decision_basis.py, issue 13.16) — and only
then: whatever could change a decision or its row makes the night decide in full."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
from sqlalchemy import delete, insert, select

from pipelines import decision_basis
from pipelines.intake import Submissions
from pipelines.ledger import book, held_keys
from rules.decision import Decision, Outcome
from samples.build import sample_sheets
from samples.workbook import write_batch
from schemas.tables import ApplicationDecision, DecisionBasis
from tests.conftest import Nightly

MAIN_BATCH = "2026-03-01-全区.xlsx"
CONTENT = (
    "SELECT application_id, program, credit_code, enterprise_name, league_city, clause, lead_department, decision,"
    " amount_fen, reasons, explanation, source_file, submitted_on, rulebook_version FROM application_decisions"
    " ORDER BY application_id"
)


@pytest.fixture(params=["sqlite", "postgresql"])
def either(request: pytest.FixtureRequest, nightly: Nightly) -> Nightly:
    if request.param == "postgresql":
        nightly.database_url = str(request.getfixturevalue("pg_url"))
    return nightly


def _decided(result: dg.ExecuteInProcessResult) -> str:
    (materialization,) = [
        m
        for m in result.asset_materializations_for_node("awards")
        if m.asset_key.path == ["application_decisions"]
    ]
    return str(materialization.metadata["decided"].value)


def _next_night(n: Nightly) -> dg.ExecuteInProcessResult:
    n.as_of += timedelta(days=1)
    return n.run()


def _rewrite_sample(inbox: Path, **changes: object) -> None:
    """The sample's main batch again, with fields of application EQ-001 changed."""
    sheets = sample_sheets()
    for row in sheets["applications"]:
        if row["application_id"] == "EQ-001":
            row.update(changes)
    write_batch(inbox / MAIN_BATCH, sheets)


def test_a_night_with_nothing_new_keeps_the_decisions_a_full_night_would_make(
    either: Nightly, tmp_path: Path
):
    assert _decided(either.run()) == "in full"
    first = either.rows(CONTENT)
    entries = either.scalar("SELECT COUNT(*) FROM award_ledger")
    kept = _next_night(either)
    assert _decided(kept) == "kept"
    assert either.rows(CONTENT) == first
    assert either.scalar("SELECT COUNT(*) FROM award_ledger") == entries
    # the rows carry tonight's run, as the full path stamps the rows it re-reaches unchanged
    assert {r["run_id"] for r in either.rows("SELECT run_id FROM application_decisions")} == {kept.run_id}
    # and a third night keeps them again
    assert _decided(_next_night(either)) == "kept"

    # The same two nights on another database, the second forced to decide in full: the same tables.
    full = Nightly(either.inbox, f"sqlite:///{tmp_path / 'full.sqlite'}", tmp_path / "full-reports")
    full.run()
    with full.engine().begin() as conn:
        conn.execute(delete(DecisionBasis))
    full.as_of = either.as_of
    assert _decided(full.run()) == "in full"
    assert full.rows(CONTENT) == either.rows(CONTENT)
    assert full.scalar("SELECT COUNT(*) FROM award_ledger") == entries


def test_a_project_completing_between_two_nights_is_awarded_the_next_night(nightly: Nightly):
    # EQ-001 is completed on the day after the first night: not awarded that night, awarded the next.
    _rewrite_sample(nightly.inbox, completion_date=(nightly.as_of + timedelta(days=1)).isoformat())
    nightly.run()
    assert (
        nightly.scalar("SELECT decision FROM application_decisions WHERE application_id = 'EQ-001'")
        != "awarded"
    )
    assert _decided(_next_night(nightly)) == "in full"
    assert (
        nightly.scalar("SELECT decision FROM application_decisions WHERE application_id = 'EQ-001'")
        == "awarded"
    )
    assert nightly.scalar("SELECT COUNT(*) FROM award_ledger WHERE application_id = 'EQ-001'") == 1
    assert _decided(_next_night(nightly)) == "kept"


def test_one_changed_cell_is_decided_in_full_and_booked(nightly: Nightly):
    nightly.run()
    before = nightly.scalar("SELECT amount_fen FROM application_decisions WHERE application_id = 'EQ-001'")
    _rewrite_sample(nightly.inbox, equipment_investment_wan=Decimal("1100"))
    assert _decided(_next_night(nightly)) == "in full"
    after = nightly.scalar("SELECT amount_fen FROM application_decisions WHERE application_id = 'EQ-001'")
    assert after == 2_200_000_00 != before
    booked = nightly.rows(
        "SELECT entry_type, amount_fen FROM award_ledger WHERE application_id = 'EQ-001' ORDER BY entry_id"
    )
    assert [r["entry_type"] for r in booked] == ["award", "reversal", "award"]


def test_an_entry_booked_since_makes_the_next_night_decide_in_full(nightly: Nightly):
    nightly.run()
    engine = nightly.engine()
    with engine.connect() as conn:
        basis = conn.execute(select(DecisionBasis.__table__)).one()
    # Another booker withdraws EQ-001's award (a booking without a basis forgets the recorded one) ...
    (holding,) = [k for k, a in held_keys(engine).items() if a == "EQ-001"]
    withdrawn = Decision("EQ-001", "EQUIPMENT_UPGRADE", "x", Outcome.REJECTED, "五(1)", "工业和信息化厅", ())
    book(
        engine,
        [withdrawn],
        run_id="another",
        rulebook_version="x",
        enterprise_names={},
        decided_with={holding: "EQ-001"},
    )
    with engine.connect() as conn:
        assert conn.execute(select(DecisionBasis.__table__)).one_or_none() is None
    # ... and even were the old basis still there, the ledger's keys no longer match it.
    with engine.begin() as conn:
        conn.execute(insert(DecisionBasis).values(**basis._mapping))
    assert _decided(_next_night(nightly)) == "in full"
    rows = nightly.rows(
        "SELECT entry_type FROM award_ledger WHERE application_id = 'EQ-001' ORDER BY entry_id"
    )
    assert [r["entry_type"] for r in rows] == ["award", "reversal", "award"]  # the night pays it again
    assert (
        nightly.scalar("SELECT decision FROM application_decisions WHERE application_id = 'EQ-001'")
        == "awarded"
    )


def test_a_decision_row_deleted_or_restamped_is_written_again(nightly: Nightly):
    nightly.run()
    with nightly.engine().begin() as conn:
        conn.execute(delete(ApplicationDecision).where(ApplicationDecision.application_id == "EQ-002"))
    assert _decided(_next_night(nightly)) == "in full"
    assert nightly.scalar("SELECT COUNT(*) FROM application_decisions WHERE application_id = 'EQ-002'") == 1
    assert _decided(_next_night(nightly)) == "kept"


def test_another_release_of_the_code_decides_in_full(nightly: Nightly, monkeypatch: pytest.MonkeyPatch):
    nightly.run()
    monkeypatch.setattr(decision_basis, "code_digest", lambda: "another release")
    assert _decided(_next_night(nightly)) == "in full"


def test_a_night_outside_the_span_decides_in_full(nightly: Nightly):
    nightly.run()
    with nightly.engine().begin() as conn:
        conn.execute(DecisionBasis.__table__.update().values(valid_until=nightly.as_of.isoformat()))
    assert _decided(_next_night(nightly)) == "in full"


def test_inputs_that_cannot_be_digested_are_decided_in_full_every_night(
    nightly: Nightly, monkeypatch: pytest.MonkeyPatch
):
    cyclic: list[object] = []
    cyclic.append(cyclic)  # without the pickler's memo a cycle cannot be written
    odd = Submissions(frames={"applications": pd.DataFrame({"x": [cyclic]})}, rejections=[], counts=[])
    assert decision_basis.inputs_digest(odd, {}, {}, "rb") is None

    monkeypatch.setattr(decision_basis, "inputs_digest", lambda *_: None)
    assert _decided(nightly.run()) == "in full"
    with nightly.engine().connect() as conn:
        assert conn.execute(select(DecisionBasis.__table__)).one_or_none() is None
    assert _decided(_next_night(nightly)) == "in full"


def test_two_nights_keeping_the_decisions_at_once_leave_them_kept_by_one(
    either: Nightly, monkeypatch: pytest.MonkeyPatch
):
    either.run()
    calls: list[tuple[object, ...]] = []
    restamp = decision_basis.restamp

    def noted(*args: object) -> object:
        calls.append(args)
        return restamp(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(decision_basis, "restamp", noted)
    assert _decided(_next_night(either)) == "kept"
    engine, inputs, as_of, _run, version, now, head, timeout = calls[-1]
    heads: dict[str, object] = {}

    def keep(run_id: str) -> None:
        heads[run_id] = restamp(engine, inputs, as_of, run_id, version, now, head, timeout)  # type: ignore[arg-type]

    threads = [threading.Thread(target=keep, args=(f"run-{n}",)) for n in "AB"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert heads["run-A"] is not None and heads["run-B"] is not None  # the second waited, then kept them too
    stamped = {r["run_id"] for r in either.rows("SELECT run_id FROM application_decisions")}
    assert len(stamped) == 1 and stamped <= {"run-A", "run-B"}
    assert either.scalar("SELECT run_id FROM decision_basis") in stamped
    assert _decided(_next_night(either)) == "kept"
