"""Resends and late exports judged against every stored reading, on real SQLite and PostgreSQL ledgers: the same
value is one reading, a different value a conflict with both values and the interval missing, across files
exactly as within one; a late older file of a counter differences across the file boundary; re-runs, crashes
and concurrent runs book each export once (issue 11 item 3, issue 13 item 11)."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from pipelines import metering_store
from pipelines.metering import ingest
from pipelines.metering_store import previous_states, store
from rules.parameters import Parameters
from schemas.credit_code import make
from schemas.migrate import upgrade

A = make("150200", 10_007_919)
HEADER = "credit_code,meter_id,medium,unit,reading_kind,timestamp,value\n"
PARAMETERS = Parameters.load()


def hourly(meter: str, kind: str, first: datetime, values: list[str]) -> str:
    return "".join(
        f"{A},{meter},electricity,kWh,{kind},{(first + timedelta(hours=i)).isoformat()}+08:00,{v}\n"
        for i, v in enumerate(values)
    )


def export(folder: Path, name: str, body: str) -> Path:
    path = folder / name
    path.write_text(HEADER + body, encoding="utf-8")
    return path


def book(engine: Engine, path: Path, readings: Path, run_id: str = "run") -> bool:
    with engine.connect() as conn:
        previous = previous_states(conn)
    result = ingest(path, previous, readings=readings)
    return store(engine, result, run_id, PARAMETERS, previous=previous, readings=readings)


def figures(engine: Engine) -> dict[tuple[str, str], tuple[int, int, int]]:
    """Per meter and day: consumption (micro-kWh), readings present, conflicts, summed over every export."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT meter_id, day, SUM(consumption_e6), SUM(readings_present), SUM(conflicts) FROM meter_days "
                "GROUP BY meter_id, day ORDER BY meter_id, day"
            )
        ).all()
    return {(r[0], str(r[1])[:10]): (int(r[2]), int(r[3]), int(r[4])) for r in rows}


def month(engine: Engine, meter: str) -> tuple[int, int]:
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT consumption_e6, readings_present FROM meter_months WHERE meter_id = :m"),
            {"m": meter},
        ).one()
    return int(row[0]), int(row[1])


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Engine:
    url = (
        f"sqlite:///{tmp_path / 'ledger.sqlite'}"
        if request.param == "sqlite"
        else request.getfixturevalue("pg_url")
    )
    engine = create_engine(url)
    upgrade(engine)
    return engine


T0 = datetime(2025, 3, 1, 1)


def test_a_resend_with_the_same_values_is_one_reading_and_with_another_value_a_conflict_with_both(
    ledger: Engine, tmp_path: Path
):
    readings = tmp_path / "readings"
    assert book(
        ledger, export(tmp_path, "1.csv", hourly("I", "interval", T0, ["1", "2", "3", "4"])), readings
    )
    assert book(ledger, export(tmp_path, "2.csv", hourly("I", "interval", T0, ["1", "2"])), readings)
    assert month(ledger, "I") == (10 * 10**6, 4)  # the same values again: nothing counted twice
    assert book(
        ledger,
        export(tmp_path, "3.csv", hourly("I", "interval", T0 + timedelta(hours=2), ["3.5", "4", "5"])),
        readings,
    )
    # 03:00 was 3, now 3.5: a conflict, that interval missing; 04:00 agrees; 05:00 is new.
    assert month(ledger, "I") == ((1 + 2 + 4 + 5) * 10**6, 4)
    with ledger.connect() as conn:
        conflict = conn.execute(text("SELECT reading_at, values_given, files FROM meter_conflicts")).one()
        counted = conn.execute(text("SELECT conflicts FROM metering_files WHERE file = '3.csv'")).scalar_one()
    assert tuple(conflict) == ("2025-03-01T03:00:00", "3（1.csv）；3.5（3.csv）", "1.csv、3.csv")
    assert counted == 1


def test_resends_across_files_give_exactly_the_figures_of_one_file_holding_every_reading(
    ledger: Engine, tmp_path: Path
):
    values = [str(100 + 7 * i) for i in range(30)]
    body = hourly("C", "cumulative", T0, values) + hourly("I", "interval", T0, values)
    one = create_engine(f"sqlite:///{tmp_path / 'one.sqlite'}")
    upgrade(one)
    assert book(one, export(tmp_path, "all.csv", body), tmp_path / "one-readings")
    readings = tmp_path / "readings"
    parts = [(0, 12), (10, 20), (5, 8), (18, 30)]  # overlapping resends, one of them late and inside
    for n, (lo, hi) in enumerate(parts):
        piece = hourly("C", "cumulative", T0 + timedelta(hours=lo), values[lo:hi])
        piece += hourly("I", "interval", T0 + timedelta(hours=lo), values[lo:hi])
        assert book(ledger, export(tmp_path, f"part-{n}.csv", piece), readings)
    assert figures(ledger) == figures(one)


def test_a_late_older_file_of_a_counter_differences_across_the_file_boundary(ledger: Engine, tmp_path: Path):
    readings = tmp_path / "readings"
    day = datetime(2025, 3, 1)
    later = "".join(
        f"{A},C,electricity,kWh,cumulative,{(day + timedelta(days=d)).isoformat()}+08:00,{1000 + 100 * d}\n"
        for d in range(10, 20)
    )
    earlier = "".join(
        f"{A},C,electricity,kWh,cumulative,{(day + timedelta(days=d)).isoformat()}+08:00,{1000 + 100 * d}\n"
        for d in range(0, 10)
    )
    assert book(ledger, export(tmp_path, "2025-03-later.csv", later), readings)
    assert book(ledger, export(tmp_path, "2025-03-earlier.csv", earlier), readings)
    # 20 readings a day apart, each 100 kWh more: 19 known steps of 100 kWh, no reset at the file boundary.
    consumption = sum(v[0] for v in figures(ledger).values())
    present = sum(v[1] for v in figures(ledger).values())
    assert (consumption, present) == (19 * 100 * 10**6, 19)
    with ledger.connect() as conn:
        assert conn.execute(text("SELECT SUM(resets) FROM meter_days")).scalar_one() == 0
        last = conn.execute(text("SELECT last_reading_at, last_counter_e6 FROM meter_series")).one()
    assert tuple(last) == ("2025-03-20T00:00:00", 2900 * 10**6)


def test_an_export_ingested_by_another_run_meanwhile_is_skipped_not_a_primary_key_failure(
    ledger: Engine, tmp_path: Path
):
    readings = tmp_path / "readings"
    path = export(tmp_path, "n.csv", hourly("I", "interval", T0, ["1", "2"]))
    first = ingest(path, {}, readings=readings)
    second = ingest(path, {}, readings=readings)
    assert store(ledger, first, "run-a", PARAMETERS, previous={}, readings=readings) is True
    assert store(ledger, second, "run-b", PARAMETERS, previous={}, readings=readings) is False
    assert month(ledger, "I") == (3 * 10**6, 2)


def test_concurrent_fresh_runs_book_each_export_once(ledger: Engine, tmp_path: Path):
    readings = tmp_path / "readings"
    paths = [
        export(tmp_path, f"{d}.csv", hourly("I", "interval", T0 + timedelta(days=d), ["1"] * 24))
        for d in range(4)
    ]
    errors: list[BaseException] = []

    def run(name: str) -> None:
        try:
            for path in paths:
                for _ in range(3):
                    try:
                        book(ledger, path, readings, name)
                        break
                    except metering_store.StaleStates:
                        continue
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(f"run-{i}",)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert month(ledger, "I") == (4 * 24 * 10**6, 4 * 24)
    with ledger.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM metering_files")).scalar_one() == 4


def test_a_crash_after_the_readings_are_written_but_before_the_booking_leaves_nothing_counted(
    ledger: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    readings = tmp_path / "readings"
    assert book(ledger, export(tmp_path, "1.csv", hourly("I", "interval", T0, ["1", "2", "3"])), readings)
    resend = export(tmp_path, "2.csv", hourly("I", "interval", T0 + timedelta(hours=1), ["2", "9", "4"]))

    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("killed mid-booking")

    monkeypatch.setattr(metering_store, "rebuild_months", crash)
    with pytest.raises(RuntimeError):
        book(ledger, resend, readings)
    monkeypatch.undo()
    assert month(ledger, "I") == (6 * 10**6, 3)  # as before the crash
    assert book(ledger, resend, readings)  # the retry
    assert month(ledger, "I") == ((1 + 2 + 4) * 10**6, 3)  # 03:00 conflicts (3 vs 9), 04:00 new
    assert sorted(p.name for p in readings.rglob("*.tmp")) == []


def test_the_readings_are_kept_as_parquet_by_month_beside_a_sqlite_ledger(tmp_path: Path):
    engine = create_engine(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    upgrade(engine)
    body = hourly("I", "interval", datetime(2025, 3, 31, 22), ["1", "2", "3", "4"])
    path = export(tmp_path, "x.csv", body)
    with engine.connect() as conn:
        previous = previous_states(conn)
    assert store(
        engine,
        ingest(path, previous, readings=metering_store.metering_readings.folder_for(engine)),
        "r",
        PARAMETERS,
    )
    months = sorted(p.parent.name for p in (tmp_path / "readings").glob("month=*/*.parquet"))
    assert months == ["month=2025-03", "month=2025-04"]  # 2025-04-01 00:00 still belongs to March 31
    assert date(2025, 4, 1)  # a reading stamped 01:00 on April 1 belongs to April


def test_a_resend_of_yesterday_reads_the_recent_months_of_the_store_not_its_whole_history(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from pipelines import metering_readings

    engine = create_engine(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    upgrade(engine)
    readings = tmp_path / "readings"
    january = hourly("I", "interval", datetime(2025, 1, 10, 1), ["1"] * 24)
    june = hourly("I", "interval", datetime(2025, 6, 10, 1), ["2"] * 24)
    assert book(engine, export(tmp_path, "history.csv", january + june), readings)
    read: list[str] = []
    scan = metering_readings.pl.scan_parquet

    def spy(parts: list[Path], **kwargs: object) -> object:
        read.extend(p.parent.name for p in parts)
        return scan(parts, **kwargs)

    monkeypatch.setattr(metering_readings.pl, "scan_parquet", spy)
    resend = hourly("I", "interval", datetime(2025, 6, 10, 13), ["2"] * 12 + ["3"] * 12)
    assert book(engine, export(tmp_path, "resend.csv", resend), readings)
    assert sorted(set(read)) == ["month=2025-06"]  # January is never read
    with engine.connect() as conn:
        june_total = conn.execute(
            text("SELECT consumption_e6 FROM meter_months WHERE month = '2025-06'")
        ).scalar_one()
    assert june_total == (24 * 2 + 12 * 3) * 10**6


def test_a_run_that_finds_its_export_booked_by_another_run_meanwhile_skips_it_with_a_chinese_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    import dagster as dg

    from assets.metering import meter_readings
    from pipelines.defs.resources import LedgerDatabase, resources_for

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    export(inbox, "2025-03-01.csv", hourly("I", "interval", T0, ["1", "2"]))
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    resources = resources_for(str(inbox), url)
    with dg.instance_for_test() as instance:
        assert dg.materialize([meter_readings], resources=resources, instance=instance).success
        # The second run listed the inbox before the first run's booking was visible to it.
        monkeypatch.setattr(metering_store, "ingested", lambda conn: set())
        monkeypatch.setattr(metering_store, "seen", lambda conn: set())
        second = dg.materialize([meter_readings], resources=resources, instance=instance)
    assert second.success
    (materialization,) = second.asset_materializations_for_node("meter_readings")
    skipped = [r.data for r in materialization.metadata["files_skipped"].records]
    assert skipped == [
        {"文件": "2025-03-01.csv", "原因": "另一次运行在此期间已将该文件入库，本次跳过，数据不重复计入"}
    ]
    assert month(LedgerDatabase(url=url).engine(), "I") == (3 * 10**6, 2)


def test_a_resend_whose_earlier_readings_are_missing_from_the_store_leaves_the_booked_days_as_they_were(
    ledger: Engine, tmp_path: Path
):
    import shutil

    readings = tmp_path / "readings"
    assert book(ledger, export(tmp_path, "1.csv", hourly("I", "interval", T0, ["1", "2", "3"])), readings)
    shutil.rmtree(readings)  # the store was not restored with the ledger
    with ledger.connect() as conn:
        previous = previous_states(conn)
    result = ingest(
        export(tmp_path, "2.csv", hourly("I", "interval", T0 + timedelta(hours=2), ["9", "4"])),
        previous,
        readings=readings,
    )
    assert store(ledger, result, "run", PARAMETERS, previous=previous, readings=readings)
    assert month(ledger, "I") == (6 * 10**6, 3)  # never recomputed from part of its readings
    assert result.not_compared == [(A, "I", "electricity", "1.csv")]


def test_a_night_does_not_hash_again_an_export_it_booked_and_that_lies_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    import dagster as dg

    from assets.metering import meter_readings
    from pipelines import metering
    from pipelines.defs.resources import resources_for

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    export(inbox, "2025-03-01.csv", hourly("I", "interval", T0, ["1", "2"]))
    resources = resources_for(str(inbox), f"sqlite:///{tmp_path / 'l.sqlite'}")
    with dg.instance_for_test() as instance:
        assert dg.materialize([meter_readings], resources=resources, instance=instance).success

        def no_hash(path: Path) -> str:
            raise AssertionError(f"{path.name} hashed again")

        monkeypatch.setattr(metering, "file_sha256", no_hash)
        again = dg.materialize([meter_readings], resources=resources, instance=instance)
    assert again.success
    (materialization,) = again.asset_materializations_for_node("meter_readings")
    skipped = [r.data for r in materialization.metadata["files_skipped"].records]
    assert skipped == [{"文件": "2025-03-01.csv", "原因": "该文件此前已入库，未重复读取"}]
