"""Booking an ingested metering export: its days, series, months, conflicts, rejections and accounting, in one
transaction keyed by the export's content hash (tables in `schemas/tables.py`).

A file ingested twice changes nothing; a failed ingest leaves nothing behind; an export that another run booked
in the meantime is skipped (`store` returns False), and runs book one export at a time (on PostgreSQL a
transaction-level advisory lock; SQLite's write lock does the same), re-checking inside the transaction that the
meters still stand where the ingest began. Meters whose readings reach back to their stored ones (resends, late
older files) are recomputed from the reading store (`pipelines.metering_resends`).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import Connection, Engine, and_, delete, insert, select, text, update

from pipelines import metering_readings, metering_resends
from pipelines.metering import CANONICAL_UNIT, DAY, MeteringResult, SeriesKey, SeriesState, to_decimal
from pipelines.metering_months import rebuild_months
from pipelines.sql import insert_ignoring, insert_new
from rules.parameters import Parameters
from schemas.tables import (
    IntakeCount,
    SubmissionRejection,
    meter_conflicts,
    meter_days,
    meter_series,
    metering_files,
)

EPOCH = datetime(1970, 1, 1)
_CHUNK = 2000
_LOCK = 0x616C75_6D6574  # "alu met": the advisory lock that books one export at a time on PostgreSQL


class StaleStates(Exception):
    """Another run moved a meter of this export while it was being read: read it again."""


def ingested(conn: Connection) -> set[str]:
    return set(conn.execute(select(metering_files.c.file_sha256)).scalars())


def seen(conn: Connection) -> set[tuple[str, int, int]]:
    """(file name, size, modification time in ns) of the booked exports: recognised without hashing again."""
    f = metering_files.c
    rows = conn.execute(select(f.file, f.size_bytes, f.modified_ns).where(f.size_bytes.is_not(None)))
    return {(r[0], int(r[1]), int(r[2])) for r in rows}


def previous_states(conn: Connection) -> dict[SeriesKey, tuple[str, SeriesState]]:
    rows = conn.execute(
        select(
            meter_series.c.credit_code,
            meter_series.c.meter_id,
            meter_series.c.medium,
            meter_series.c.reading_kind,
            meter_series.c.last_ts,
            meter_series.c.last_counter_e6,
        )
    )
    return {(r[0], r[1], r[2]): (r[3], SeriesState(int(r[4]), r[5])) for r in rows}


def _chunks(rows: list[dict[str, Any]]) -> Iterable[list[dict[str, Any]]]:
    for start in range(0, len(rows), _CHUNK):
        yield rows[start : start + _CHUNK]


def store(
    engine: Engine,
    result: MeteringResult,
    run_id: str,
    parameters: Parameters,
    previous: dict[SeriesKey, tuple[str, SeriesState]] | None = None,
    readings: Path | None = None,
    stat: tuple[int, int] | None = None,
) -> bool:
    """Book one ingested export in one transaction. False: another run booked the same export meanwhile, and
    nothing was written. Raises `StaleStates` when `previous` (where the ingest began) no longer holds."""
    folder = readings or metering_readings.folder_for(engine)
    now = datetime.now(UTC)
    if result.sink is not None and result.series is not None:
        # Before the booking: the parts are read only once `metering_files` names the export.
        result.sink.publish(result.sha256, result.series)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK})
        booked = conn.execute(
            insert_ignoring(engine, metering_files, "file_sha256").returning(metering_files.c.file_sha256),
            {
                "file_sha256": result.sha256,
                "file": result.file,
                "encoding": result.encoding,
                "rows_received": result.received,
                "rows_accepted": result.accepted,
                "rows_rejected": result.rejected,
                "rows_overlapping": result.overlapping,
                "duplicates": result.duplicates,
                "conflicts": result.conflicts,
                "resets": result.resets,
                "run_id": run_id,
                "ingested_at": now,
                "size_bytes": stat[0] if stat else None,
                "modified_ns": stat[1] if stat else None,
            },
        ).first()  # RETURNING, not rowcount: psycopg reports -1 for ON CONFLICT DO NOTHING
        if not booked:
            conn.rollback()
            return False
        if previous is not None:
            _check_states(conn, result, previous)
        days = [
            {
                "file_sha256": result.sha256,
                "credit_code": r["credit_code"],
                "meter_id": r["meter_id"],
                "medium": r["medium"],
                "day": r["day"],
                "consumption_e6": r["consumption_e6"],
                "readings_present": r["present"],
                "resets": r["resets"],
                "conflicts": r["conflicts"],
            }
            for r in result.days.iter_rows(named=True)
        ]
        for chunk in _chunks(days):
            conn.execute(insert(meter_days), chunk)
        _store_series(conn, result, now)
        touched = {(d["credit_code"], d["meter_id"], d["medium"], d["day"].strftime("%Y-%m")) for d in days}
        names = {result.sha256: result.file}
        if result.conflicting is not None and result.conflicting.height:
            _insert_conflicts(
                conn, result.conflicting.with_columns(files=pl.lit([result.sha256])), names, run_id, now
            )
        if result.revisited is not None and result.revisited.height:
            touched |= _recompute(conn, folder, result, run_id, now)
        rebuild_months(conn, touched, parameters)
        rejections = [
            r.as_dict()
            | {
                "file_sha256": result.sha256,
                "fingerprint": _fingerprint(result.sha256, r.sheet, r.row_number, r.column, r.code, r.value),
                "run_id": run_id,
                "recorded_at": now,
            }
            for r in result.rejections
        ]
        insert_new(conn, SubmissionRejection, rejections, "fingerprint")
        conn.execute(
            insert_ignoring(conn, IntakeCount, "file_sha256", "sheet"),
            {
                "file": result.file,
                "file_sha256": result.sha256,
                "sheet": "metering",
                "received": result.received,
                "accepted": result.accepted,
                "rejected": result.rejected,
                "run_id": run_id,
                "recorded_at": now,
            },
        )
    return True


def _check_states(
    conn: Connection, result: MeteringResult, previous: dict[SeriesKey, tuple[str, SeriesState]]
) -> None:
    keys = set(result.states)
    if result.revisited is not None:
        keys |= {
            (r[0], r[1], r[2])
            for r in result.revisited.select("credit_code", "meter_id", "medium").iter_rows()
        }
    if not keys:
        return
    now = previous_states(conn)
    if any(now.get(k) != previous.get(k) for k in keys):
        raise StaleStates(result.file)


def _recompute(
    conn: Connection, folder: Path, result: MeteringResult, run_id: str, now: datetime
) -> set[tuple[str, str, str, str]]:
    """The revisited meters' days from their first revisited day on, from every stored reading: replaces their
    day rows (under this export's hash), their conflicts, and where they stand. Returns the months touched."""
    assert result.revisited is not None
    files = dict(conn.execute(select(metering_files.c.file_sha256, metering_files.c.file)).all())
    revisited = _comparable(conn, folder, result, files)
    if revisited.height == 0:
        return set()
    readings = metering_readings.read(folder, set(files), revisited, min(revisited["day"].to_list()))
    agreed, conflicts = metering_resends.canonical(readings)
    days = metering_resends.days(agreed, conflicts, revisited)
    touched: set[tuple[str, str, str, str]] = set()
    for cc, meter, medium, _, first_day in revisited.iter_rows():
        start = EPOCH.date() + timedelta(days=int(first_day))
        where = and_(
            meter_days.c.credit_code == cc,
            meter_days.c.meter_id == meter,
            meter_days.c.medium == medium,
            meter_days.c.day >= start,
        )
        touched |= {
            (cc, meter, medium, d.strftime("%Y-%m"))
            for d in conn.execute(select(meter_days.c.day).where(where)).scalars()
        }
        conn.execute(delete(meter_days).where(where))
        conn.execute(
            delete(meter_conflicts).where(
                meter_conflicts.c.credit_code == cc,
                meter_conflicts.c.meter_id == meter,
                meter_conflicts.c.medium == medium,
                meter_conflicts.c.ts > int(first_day) * DAY,
            )
        )
    rows = [
        {
            "file_sha256": result.sha256,
            "credit_code": r["credit_code"],
            "meter_id": r["meter_id"],
            "medium": r["medium"],
            "day": EPOCH.date() + timedelta(days=int(r["day"])),
            "consumption_e6": r["consumption_e6"],
            "readings_present": r["present"],
            "resets": r["resets"],
            "conflicts": r["conflicts"],
        }
        for r in days.iter_rows(named=True)
    ]
    for chunk in _chunks(rows):
        conn.execute(insert(meter_days), chunk)
    touched |= {(r["credit_code"], r["meter_id"], r["medium"], r["day"].strftime("%Y-%m")) for r in rows}
    since = revisited.select(*metering_resends.SERIES, since=pl.col("day") * DAY)
    new_conflicts = conflicts.join(since, on=metering_resends.SERIES).filter(pl.col("ts") > pl.col("since"))
    _insert_conflicts(conn, new_conflicts, files, run_id, now)
    found = int(new_conflicts.height)
    if found:
        conn.execute(
            update(metering_files)
            .where(metering_files.c.file_sha256 == result.sha256)
            .values(conflicts=metering_files.c.conflicts + found)
        )
    for r in (
        metering_resends.last_state(agreed, readings)
        .join(revisited.select(metering_resends.SERIES), on=metering_resends.SERIES)
        .iter_rows(named=True)
    ):
        conn.execute(
            update(meter_series)
            .where(
                meter_series.c.credit_code == r["credit_code"],
                meter_series.c.meter_id == r["meter_id"],
                meter_series.c.medium == r["medium"],
            )
            .values(
                last_ts=r["last_ts"],
                last_reading_at=(EPOCH + timedelta(seconds=r["last_ts"])).isoformat(),
                last_counter_e6=r["last_counter_e6"] if r["reading_kind"] == "cumulative" else None,
                updated_at=now,
            )
        )
    return touched


def _comparable(
    conn: Connection, folder: Path, result: MeteringResult, files: dict[str, str]
) -> pl.DataFrame:
    """The revisited meters whose stored days all come from exports with readings in the store. A meter with days
    from an export whose readings are missing (booked before 0005, or the folder lost) is left as it stands, never
    recomputed from part of its readings; it is named in `result.not_compared`."""
    assert result.revisited is not None
    lost = [sha for sha in files if sha != result.sha256 and not metering_readings.has(folder, sha)]
    if not lost:
        return result.revisited
    keep = []
    for cc, meter, medium, _, first_day in result.revisited.iter_rows():
        blocked = conn.execute(
            select(meter_days.c.file_sha256)
            .where(
                meter_days.c.credit_code == cc,
                meter_days.c.meter_id == meter,
                meter_days.c.medium == medium,
                meter_days.c.day >= EPOCH.date() + timedelta(days=int(first_day)),
                meter_days.c.file_sha256.in_(lost),
            )
            .limit(1)
        ).first()
        keep.append(blocked is None)
        if blocked is not None:
            result.not_compared.append((cc, meter, medium, files[blocked[0]]))
    return result.revisited.filter(pl.Series(keep))


def _insert_conflicts(
    conn: Connection,
    conflicts: pl.DataFrame,
    names: dict[str, str],
    run_id: str,
    now: datetime,
    within: str | None = None,
) -> None:
    """Conflicting readings with every value given (canonical unit), each with the exports that gave it.
    `within`: conflicts inside that one export (no `files` column)."""
    rows = []
    for r in conflicts.iter_rows(named=True):
        files = r.get("files") or [[within]] * len(r["values"])
        given = [
            f"{to_decimal(v).normalize():f}（{'、'.join(sorted(names.get(f, f) for f in fs))}）"
            for v, fs in zip(r["values"], files, strict=True)
        ]
        rows.append(
            {
                "credit_code": r["credit_code"],
                "meter_id": r["meter_id"],
                "medium": r["medium"],
                "ts": r["ts"],
                "reading_at": (EPOCH + timedelta(seconds=r["ts"])).isoformat(),
                "unit": CANONICAL_UNIT[r["medium"]],
                "values_given": "；".join(given),
                "files": "、".join(sorted({names.get(f, f) for fs in files for f in fs})),
                "run_id": run_id,
                "recorded_at": now,
            }
        )
    for chunk in _chunks(rows):
        conn.execute(insert(meter_conflicts), chunk)


def _fingerprint(*parts: object) -> str:
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()


def _store_series(conn: Connection, result: MeteringResult, now: datetime) -> None:
    """Each series' reading kind, usual step (the most frequent over all files) and last reading."""
    steps: dict[SeriesKey, Counter[int]] = defaultdict(Counter)
    kinds: dict[SeriesKey, str] = {}
    for r in result.steps.iter_rows(named=True):
        key = (r["credit_code"], r["meter_id"], r["medium"])
        steps[key][int(r["step"])] += int(r["n"])
        kinds[key] = r["reading_kind"]
    keys = set(steps) | set(result.states)
    for key in keys:
        old = conn.execute(
            select(meter_series).where(
                meter_series.c.credit_code == key[0],
                meter_series.c.meter_id == key[1],
                meter_series.c.medium == key[2],
            )
        ).first()
        counts = Counter({int(k): v for k, v in json.loads(old.step_counts).items()}) if old else Counter()
        counts.update(steps.get(key, Counter()))
        kind, state = result.states.get(key, (kinds.get(key, "interval"), None))
        if state is None and old is not None:
            state = SeriesState(int(old.last_ts), old.last_counter_e6)
        if state is None:
            continue
        if old is not None:
            conn.execute(
                delete(meter_series).where(
                    meter_series.c.credit_code == key[0],
                    meter_series.c.meter_id == key[1],
                    meter_series.c.medium == key[2],
                )
            )
        usual = max(sorted(counts), key=lambda s: counts[s]) if counts else None
        conn.execute(
            insert(meter_series),
            {
                "credit_code": key[0],
                "meter_id": key[1],
                "medium": key[2],
                "reading_kind": kind,
                "unit": CANONICAL_UNIT[key[2]],
                "step_seconds": usual,
                "step_counts": json.dumps({str(k): v for k, v in sorted(counts.items())}),
                "last_ts": state.last_ts,
                "last_reading_at": (EPOCH + timedelta(seconds=state.last_ts)).isoformat(),
                "last_counter_e6": state.last_counter_e6,
                "updated_at": now,
            },
        )
