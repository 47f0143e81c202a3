"""The metering tables (migration 0004) and what is read back from them: series state, monthly consumption,
and the period measures of a savings application.

Exact quantities live in integer micro-units (`consumption_e6`); `meter_months.consumption` and `tce` are their
published decimal form. Each export is stored in one transaction, keyed by its content hash, so a file ingested
twice changes nothing and a failed ingest leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Date,
    DateTime,
    Engine,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    and_,
    delete,
    insert,
    select,
    tuple_,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from pipelines.metering import CANONICAL_UNIT, DAY, MeteringResult, SeriesKey, SeriesState, to_decimal
from rules import energy, savings
from rules.model import MeteredSaving, MeterFigures, PeriodMeasure, SavingsClaim
from rules.parameters import Parameters
from schemas.tables import IntakeCount, SubmissionRejection

metadata = MetaData()
TS = DateTime(timezone=True)

metering_files = Table(
    "metering_files",
    metadata,
    Column("file_sha256", String(64), primary_key=True),
    Column("file", Text),
    Column("encoding", String(20)),
    Column("rows_received", BigInteger),
    Column("rows_accepted", BigInteger),
    Column("rows_rejected", BigInteger),
    Column("rows_overlapping", BigInteger),
    Column("duplicates", BigInteger),
    Column("conflicts", BigInteger),
    Column("resets", BigInteger),
    Column("run_id", String(64)),
    Column("ingested_at", TS),
)
meter_series = Table(
    "meter_series",
    metadata,
    Column("credit_code", String(18), primary_key=True),
    Column("meter_id", String(100), primary_key=True),
    Column("medium", String(30), primary_key=True),
    Column("reading_kind", String(20)),
    Column("unit", String(10)),
    Column("step_seconds", Integer),
    Column("step_counts", Text),
    Column("last_ts", BigInteger),
    Column("last_reading_at", String(19)),
    Column("last_counter_e6", BigInteger),
    Column("updated_at", TS),
)
meter_days = Table(
    "meter_days",
    metadata,
    Column("file_sha256", String(64), primary_key=True),
    Column("credit_code", String(18), primary_key=True),
    Column("meter_id", String(100), primary_key=True),
    Column("medium", String(30), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("consumption_e6", BigInteger),
    Column("readings_present", Integer),
    Column("resets", Integer),
    Column("conflicts", Integer),
)
meter_months = Table(
    "meter_months",
    metadata,
    Column("credit_code", String(18), primary_key=True),
    Column("meter_id", String(100), primary_key=True),
    Column("medium", String(30), primary_key=True),
    Column("month", String(7), primary_key=True),
    Column("unit", String(10)),
    Column("consumption", Numeric(24, 6, asdecimal=True)),
    Column("consumption_e6", BigInteger),
    Column("tce", Numeric(30, 12, asdecimal=True)),
    Column("readings_present", Integer),
    Column("readings_expected", Integer),
    Column("resets", Integer),
    Column("conflicts", Integer),
)
recycled_database = Table(
    "recycled_database",
    metadata,
    Column("row_id", Integer, primary_key=True, autoincrement=True),
    Column("credit_code", String(18)),
    Column("enterprise_name", Text),
    Column("month", String(7)),
    Column("electricity_kwh", Numeric(24, 6, asdecimal=True)),
    Column("energy_tce", Numeric(30, 12, asdecimal=True)),
    Column("water_m3", Numeric(24, 6, asdecimal=True)),
    Column("vat_application_id", String(100)),
    Column("vat_period_start", Date),
    Column("vat_period_end", Date),
    Column("waste_feed_share_pct", Numeric(7, 3, asdecimal=True)),
    Column("sales_yuan", Numeric(18, 2, asdecimal=True)),
    Column("run_id", String(64)),
    Column("recorded_at", TS),
)

EPOCH = datetime(1970, 1, 1)
_CHUNK = 2000


def ingested(conn: Connection) -> set[str]:
    return set(conn.execute(select(metering_files.c.file_sha256)).scalars())


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


def _insert(engine: Engine) -> Any:
    return pg_insert if engine.dialect.name == "postgresql" else sqlite_insert


def _chunks(rows: list[dict[str, Any]]) -> Iterable[list[dict[str, Any]]]:
    for start in range(0, len(rows), _CHUNK):
        yield rows[start : start + _CHUNK]


def store(engine: Engine, result: MeteringResult, run_id: str, parameters: Parameters) -> None:
    """Book one ingested export in one transaction: its days, series, months, rejections and accounting."""
    now = datetime.now(UTC)
    dialect_insert = _insert(engine)
    with engine.begin() as conn:
        conn.execute(
            insert(metering_files),
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
            },
        )
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
        for chunk in _chunks(rejections):
            conn.execute(
                dialect_insert(SubmissionRejection).on_conflict_do_nothing(index_elements=["fingerprint"]),
                chunk,
            )
        conn.execute(
            dialect_insert(IntakeCount).on_conflict_do_nothing(index_elements=["file_sha256", "sheet"]),
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


def steps_of(conn: Connection) -> dict[SeriesKey, int | None]:
    rows = conn.execute(
        select(
            meter_series.c.credit_code,
            meter_series.c.meter_id,
            meter_series.c.medium,
            meter_series.c.step_seconds,
        )
    )
    return {(r[0], r[1], r[2]): r[3] for r in rows}


@lru_cache(maxsize=4096)
def _kgce(medium: str, day: date, parameters: Parameters) -> Decimal:
    return Decimal(energy.coefficient(medium, parameters.at(day)).value)


def day_tce(medium: str, day: date, consumption_e6: int, parameters: Parameters) -> Decimal | None:
    """Tonnes of standard coal of one day's metered quantity, with the coefficient in force that day."""
    if not energy.is_energy(medium):
        return None
    return to_decimal(consumption_e6) * _kgce(medium, day, parameters) / energy.KG_PER_TONNE


def _month_bounds(month: str) -> tuple[date, date]:
    first = date(int(month[:4]), int(month[5:7]), 1)
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first, following - timedelta(days=1)


def expected(days: int, step: int | None) -> int:
    """Readings a meter with this usual step takes over whole days; a meter with no known step: one a day."""
    return days * DAY // step if step else days


def rebuild_months(conn: Connection, touched: set[tuple[str, str, str, str]], parameters: Parameters) -> None:
    """Recompute `meter_months` for the touched (series, month) from every file's days."""
    if not touched:
        return
    steps = steps_of(conn)
    by_series: dict[SeriesKey, set[str]] = defaultdict(set)
    for cc, meter, medium, month in touched:
        by_series[(cc, meter, medium)].add(month)
    rows = []
    for (cc, meter, medium), months in by_series.items():
        first = _month_bounds(min(months))[0]
        last = _month_bounds(max(months))[1]
        sums: dict[str, list[Any]] = {m: [0, Decimal(0), 0, 0, 0] for m in months}
        for day, use, present, resets, conflicts in conn.execute(
            select(
                meter_days.c.day,
                meter_days.c.consumption_e6,
                meter_days.c.readings_present,
                meter_days.c.resets,
                meter_days.c.conflicts,
            ).where(
                meter_days.c.credit_code == cc,
                meter_days.c.meter_id == meter,
                meter_days.c.medium == medium,
                meter_days.c.day >= first,
                meter_days.c.day <= last,
            )
        ):
            month = day.strftime("%Y-%m")
            if month not in sums:
                continue
            s = sums[month]
            s[0] += int(use)
            s[1] += day_tce(medium, day, int(use), parameters) or Decimal(0)
            s[2] += int(present)
            s[3] += int(resets)
            s[4] += int(conflicts)
        for month, (use, tce, present, resets, conflicts) in sums.items():
            start, end = _month_bounds(month)
            rows.append(
                {
                    "credit_code": cc,
                    "meter_id": meter,
                    "medium": medium,
                    "month": month,
                    "unit": CANONICAL_UNIT[medium],
                    "consumption": to_decimal(use),
                    "consumption_e6": use,
                    "tce": tce if energy.is_energy(medium) else None,
                    "readings_present": present,
                    "readings_expected": expected((end - start).days + 1, steps.get((cc, meter, medium))),
                    "resets": resets,
                    "conflicts": conflicts,
                }
            )
    keys = [(r["credit_code"], r["meter_id"], r["medium"], r["month"]) for r in rows]
    for offset in range(0, len(keys), 500):
        conn.execute(
            delete(meter_months).where(
                tuple_(
                    meter_months.c.credit_code,
                    meter_months.c.meter_id,
                    meter_months.c.medium,
                    meter_months.c.month,
                ).in_(keys[offset : offset + 500])
            )
        )
    for chunk in _chunks(rows):
        conn.execute(insert(meter_months), chunk)


# --- what the rules read: one savings application's boundary ------------------------------------------------


def meter_figures(
    conn: Connection,
    credit_code: str,
    meter_id: str,
    medium: str,
    step: int | None,
    period: str,
    first: date,
    last: date,
    parameters: Parameters,
) -> MeterFigures:
    """One meter over whole days first..last (Asia/Shanghai), inclusive: quantity, tce (each day's
    coefficient), readings present and those its own usual step expects. Figures only: the rules judge them."""
    use = present = conflicts = 0
    converted = Decimal(0)
    for day, e6, n, bad in conn.execute(
        select(
            meter_days.c.day,
            meter_days.c.consumption_e6,
            meter_days.c.readings_present,
            meter_days.c.conflicts,
        ).where(
            and_(
                meter_days.c.credit_code == credit_code,
                meter_days.c.meter_id == meter_id,
                meter_days.c.medium == medium,
                meter_days.c.day >= first,
                meter_days.c.day <= last,
            )
        )
    ):
        use += int(e6)
        present += int(n)
        conflicts += int(bad or 0)
        converted += day_tce(medium, day, int(e6), parameters) or Decimal(0)
    return MeterFigures(
        meter_id=meter_id,
        medium=medium,
        period=period,
        unit=CANONICAL_UNIT[medium],
        quantity=to_decimal(use),
        converted=converted if energy.is_energy(medium) else None,
        present=present,
        expected=expected((last - first).days + 1, step),
        step_seconds=step,
        conflicts=conflicts,
    )


def metered_saving(
    conn: Connection, program: str, credit_code: str, claim: SavingsClaim, parameters: Parameters
) -> tuple[MeteredSaving, dict[str, Any]]:
    """The per-meter, per-period figures of one claim's boundary, every medium of every claimed meter the
    applicant reports; which of them count and how coverage is judged is `rules.savings`. A claimed meter that
    only another enterprise reports is foreign, one nobody reports unknown."""
    rows = conn.execute(
        select(
            meter_series.c.credit_code,
            meter_series.c.meter_id,
            meter_series.c.medium,
            meter_series.c.step_seconds,
        ).where(meter_series.c.meter_id.in_(claim.meter_ids))
    ).all()
    own: dict[str, list[tuple[str, int | None]]] = defaultdict(list)
    elsewhere: set[str] = set()
    for cc, meter_id, medium, step in rows:
        if cc == credit_code:
            own[meter_id].append((medium, step))
        else:
            elsewhere.add(meter_id)
    foreign = tuple(m for m in claim.meter_ids if m not in own and m in elsewhere)
    unknown = tuple(m for m in claim.meter_ids if m not in own and m not in elsewhere)
    periods = {"baseline": (claim.baseline_start, claim.baseline_end),
               "reporting": (claim.reporting_start, claim.reporting_end)}  # fmt: skip
    meters = tuple(
        meter_figures(conn, credit_code, meter_id, medium, step, period, first, last, parameters)
        for meter_id in claim.meter_ids
        for medium, step in sorted(own.get(meter_id, []))
        for period, (first, last) in periods.items()
    )
    draft = MeteredSaving(
        (),
        PeriodMeasure(Decimal(0), Decimal(0), 0, 0),
        PeriodMeasure(Decimal(0), Decimal(0), 0, 0),
        meters=meters,
    )
    base = savings.period_measure(program, savings.counted(program, draft, "baseline"))
    report = savings.period_measure(program, savings.counted(program, draft, "reporting"))
    saving = MeteredSaving(
        meter_ids=tuple(dict.fromkeys(m.meter_id for m in savings.counted(program, draft, "baseline"))),
        baseline=base,
        reporting=report,
        foreign_meters=foreign,
        unknown_meters=unknown,
        meters=meters,
    )
    by_key = {(m.meter_id, m.medium, m.period): m for m in meters}
    detail = {
        "meters": [
            {
                "meter_id": m.meter_id,
                "medium": m.medium,
                "unit": m.unit,
                "counted": savings.counts_toward(program, m.medium),
                "step_seconds": m.step_seconds,
                "baseline_quantity": str(m.quantity),
                "reporting_quantity": str(by_key[(m.meter_id, m.medium, "reporting")].quantity),
                "baseline_coverage": f"{m.present}/{m.expected}",
                "reporting_coverage": f"{by_key[(m.meter_id, m.medium, 'reporting')].present}/"
                f"{by_key[(m.meter_id, m.medium, 'reporting')].expected}",
            }
            for m in meters
            if m.period == "baseline"
        ],
        "meters_without_matching_medium": sorted(
            {m.meter_id for m in meters if not savings.counts_toward(program, m.medium)}
            - {m.meter_id for m in meters if savings.counts_toward(program, m.medium)}
        ),
        "foreign_meters": list(foreign),
        "unknown_meters": list(unknown),
    }
    return saving, detail


def monthly_totals(
    conn: Connection, credit_codes: list[str], parameters: Parameters
) -> dict[tuple[str, str], dict[str, Decimal | None]]:
    """Per enterprise and month: electricity (kWh), energy (tce, exact) and water intake (m3)."""
    totals: dict[tuple[str, str], dict[str, Decimal | None]] = {}
    if not credit_codes:
        return totals
    for cc, medium, day, use in conn.execute(
        select(
            meter_days.c.credit_code, meter_days.c.medium, meter_days.c.day, meter_days.c.consumption_e6
        ).where(meter_days.c.credit_code.in_(credit_codes))
    ):
        t = totals.setdefault((cc, day.strftime("%Y-%m")), {"electricity": None, "tce": None, "water": None})
        quantity = to_decimal(int(use))
        if medium in ("electricity", "water"):
            t[medium] = (t[medium] or Decimal(0)) + quantity
        converted = day_tce(medium, day, int(use), parameters)
        if converted is not None:
            t["tce"] = (t["tce"] or Decimal(0)) + converted
    return totals
