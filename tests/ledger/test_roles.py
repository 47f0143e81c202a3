"""The ledger protected from the application's own role: the job runs as `alu_app`, which can add entries and
read them but cannot switch the ledger's guards off; what the owner does behind its back is found by the hash
chain, and the next night refuses to book on top of it; finance cannot hold up a booking."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.exc import DBAPIError

from assets.ledger_checks import control_total, ledger_chain_intact
from pipelines.defs.resources import LedgerDatabase
from pipelines.ledger import LedgerBusy, LedgerTampered
from schemas.tables import FINANCE_ROLE, RUNTIME_ROLE
from tests.conftest import Nightly
from tests.ledger.batches import awarded, balances, book_batch, entries, ledger_engine, switch_off

only_postgresql = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


def as_role(url: str, role: str, **settings: str) -> str:
    """The same database, every session of it running as `role` (what a login as that role gets)."""
    options = " ".join(f"-c {k}={v}" for k, v in {"role": role, **settings}.items())
    return make_url(url).update_query_dict({"options": options}).render_as_string(hide_password=False)


@pytest.fixture
def runtime(engine: Engine, database_url: str) -> Iterator[Engine]:
    """The ledger as the nightly job sees it in production: connected as the runtime role."""
    app = ledger_engine(as_role(database_url, RUNTIME_ROLE), migrate=False)
    yield app
    app.dispose()


def _refused(engine: Engine, statement: str) -> str:
    with engine.connect() as conn:
        try:
            conn.execute(text(statement))
        except DBAPIError as exc:
            return str(exc.orig)
        finally:
            conn.rollback()
    return ""


@only_postgresql
def test_the_application_role_books_and_reads_but_cannot_switch_the_ledger_guards_off_nor_grant(
    runtime: Engine, engine: Engine
):
    book_batch(runtime, [awarded("STD-1", ("STANDARD_SETTING:X", "100.00"))], "run-1")
    assert balances(runtime) == {"STANDARD_SETTING:X": 100_00}
    for statement in (
        "ALTER TABLE award_ledger DISABLE TRIGGER award_ledger_append_only",
        "ALTER TABLE award_ledger DISABLE TRIGGER USER",
        "DROP TRIGGER award_ledger_chain ON award_ledger",
        "DROP TABLE award_ledger CASCADE",
        "TRUNCATE award_ledger",
        "UPDATE award_ledger SET amount_fen = amount_fen * 2, amount_yuan = amount_yuan * 2",
        "DELETE FROM award_ledger",
        "CREATE TABLE award_ledger_copy (entry_id integer)",
        "SET session_replication_role = replica",
    ):
        assert "permission denied" in _refused(runtime, statement) or "must be owner" in _refused(
            runtime, statement
        ), statement
    # GRANT by a role without grant options grants nothing (PostgreSQL warns or refuses): finance stays read-only.
    _refused(runtime, f"GRANT UPDATE, DELETE ON award_ledger TO {FINANCE_ROLE}")
    _refused(runtime, f"GRANT UPDATE ON award_ledger TO {RUNTIME_ROLE}")
    with engine.connect() as conn:
        for role in (FINANCE_ROLE, RUNTIME_ROLE):
            for privilege in ("UPDATE", "DELETE", "TRUNCATE"):
                held = conn.execute(
                    text("SELECT has_table_privilege(:r, 'award_ledger', :p)"), {"r": role, "p": privilege}
                ).scalar()
                assert held is False, (role, privilege)
    assert balances(runtime) == {"STANDARD_SETTING:X": 100_00}


def _tamper(engine: Engine, how: str) -> None:
    """What an owner (or anyone with the owner's password) can still do: switch the guards off and edit."""
    postgres = engine.dialect.name == "postgresql"
    edit = {
        "entry deleted": "DELETE FROM award_ledger WHERE entry_id = 2",
        "amount altered": "UPDATE award_ledger SET amount_fen = 2 * amount_fen, amount_yuan = 2 * amount_yuan"
        " WHERE entry_id = 2",
    }[how]
    with engine.begin() as conn:
        switch_off(conn, "USER", ("award_ledger_no_update", "award_ledger_no_delete"))
        conn.execute(text(edit))
        if postgres:
            conn.execute(text("ALTER TABLE award_ledger ENABLE TRIGGER USER"))


@pytest.mark.parametrize("how", ["entry deleted", "amount altered"])
def test_a_ledger_the_owner_rewrote_is_caught_by_the_checks_and_the_next_night_books_nothing_on_top_of_it(
    engine: Engine, database_url: str, how: str
):
    keys = [(f"STANDARD_SETTING:{k}", "100.00") for k in "ABC"]
    book_batch(engine, [awarded(f"STD-{i}", key) for i, key in enumerate(keys)], "night-1")
    db = LedgerDatabase(url=database_url)
    assert ledger_chain_intact(dg.build_asset_check_context(), ledger_db=db).passed

    _tamper(engine, how)

    check = ledger_chain_intact(dg.build_asset_check_context(), ledger_db=db)
    assert not check.passed
    assert "分录 " in (check.description or "") and "暂停拨付" in (check.description or "")
    # Deleting or doubling an entry keeps every key's chain of awards and reversals valid: only the hash sees it.
    before = entries(engine)
    with pytest.raises(LedgerTampered, match="本次不记账"):
        book_batch(engine, [awarded("STD-9", ("STANDARD_SETTING:NEW", "5.00"))], "night-2")
    assert entries(engine) == before


def test_a_deleted_newest_entry_leaves_an_intact_chain_but_fails_the_control_total(
    engine: Engine, database_url: str
):
    book_batch(engine, [awarded("STD-1", ("STANDARD_SETTING:A", "100.00"))], "night-1")
    with engine.begin() as conn:
        switch_off(conn, "USER", ("award_ledger_no_delete",))
        conn.execute(text("DELETE FROM award_ledger"))
    assert not control_total(ledger_db=LedgerDatabase(url=database_url)).passed


@only_postgresql
def test_finance_cannot_take_the_booking_lock_nor_hold_up_a_booking(runtime: Engine, database_url: str):
    finance = create_engine(as_role(database_url, FINANCE_ROLE))
    # A booking that waited on finance would fail here after 20 s instead of hanging the night.
    booker = ledger_engine(as_role(database_url, RUNTIME_ROLE, statement_timeout="20000"), migrate=False)
    try:
        with finance.connect() as conn:
            # Everything a SELECT-only session can hold: its reads, every advisory lock, a share lock on the ledger.
            conn.execute(text("SELECT pg_advisory_lock(hashtext('alu_awards.award_ledger'))"))
            conn.execute(text("SELECT pg_advisory_lock(hashtext('alu_awards.migrate'))"))
            conn.execute(text("LOCK TABLE award_ledger IN ACCESS SHARE MODE"))
            conn.execute(text("SELECT COUNT(*) FROM award_balances"))
            denied = conn.begin_nested()
            with pytest.raises(DBAPIError, match="permission denied"):
                conn.execute(text("LOCK TABLE ledger_booking_lock IN EXCLUSIVE MODE"))
            denied.rollback()
            result = book_batch(booker, [awarded("STD-1", ("STANDARD_SETTING:A", "100.00"))], "night-1")
            assert result.awards == 1
            conn.rollback()
    finally:
        finance.dispose()
        booker.dispose()


@only_postgresql
def test_a_booking_that_cannot_get_the_booking_lock_gives_up_with_a_clear_message(
    runtime: Engine, engine: Engine
):
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with engine.begin() as conn:
            conn.execute(text("LOCK TABLE ledger_booking_lock IN EXCLUSIVE MODE"))
            held.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert held.wait(30)
        with pytest.raises(
            LedgerBusy, match="记账锁 ledger_booking_lock 在 1 秒内未能取得，本次未记任何分录"
        ):
            book_batch(
                runtime, [awarded("STD-1", ("STANDARD_SETTING:A", "100.00"))], "n", lock_timeout_seconds=1
            )
    finally:
        release.set()
        holder.join()
    assert balances(runtime) == {}


@only_postgresql
def test_the_whole_night_runs_as_the_runtime_role_once_the_owner_has_migrated(
    engine: Engine, database_url: str, sample_inbox: Path, tmp_path: Path
):
    night = Nightly(
        inbox=sample_inbox, database_url=as_role(database_url, RUNTIME_ROLE), reports=tmp_path / "r"
    )
    result = night.run(raise_on_error=False)
    assert result.success
    assert night.scalar("SELECT current_user") == RUNTIME_ROLE
    assert night.scalar("SELECT COUNT(*) FROM award_ledger") == entries(engine)[-1]["entry_id"] > 0
    assert all(
        e.passed for e in result.get_asset_check_evaluations() if e.check_name == "ledger_chain_intact"
    )


@only_postgresql
def test_a_runtime_role_facing_a_pending_migration_is_told_to_run_it_as_the_owner(database_url: str):
    from schemas.migrate import MigrationNeeded, upgrade

    owner = ledger_engine(database_url, migrate=False)
    upgrade(owner, "0004")
    with owner.begin() as conn:  # what 0007 would grant; the new tables are not there yet
        conn.execute(  # the role is server-wide: another test database may have made it already
            text(
                f"DO $$ BEGIN CREATE ROLE {RUNTIME_ROLE} NOLOGIN; "
                "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
            )
        )
        conn.execute(text(f"GRANT USAGE ON SCHEMA public TO {RUNTIME_ROLE}"))
        conn.execute(text(f"GRANT SELECT ON alembic_version TO {RUNTIME_ROLE}"))
    app = ledger_engine(as_role(database_url, RUNTIME_ROLE), migrate=False)
    try:
        with pytest.raises(MigrationNeeded, match="请用表所有者账号执行"):
            upgrade(app)
    finally:
        app.dispose()
        owner.dispose()
