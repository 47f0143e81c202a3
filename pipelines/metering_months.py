"""Monthly consumption per meter (`meter_months`), rebuilt from every export's days, with the readings each
meter's usual step expects; and the standard-coal conversion of one day's quantity with that day's coefficient."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, delete, insert, select, tuple_

from pipelines.metering import CANONICAL_UNIT, DAY, SeriesKey, to_decimal
from rules import energy
from rules.parameters import Parameters
from schemas.tables import meter_days, meter_months, meter_series

_CHUNK = 2000


def steps_of(conn: Connection, meter_ids: Iterable[str] | None = None) -> dict[SeriesKey, int | None]:
    """Each series' usual step (seconds; None: not known yet), of every meter or of the meters named."""
    query = select(
        meter_series.c.credit_code,
        meter_series.c.meter_id,
        meter_series.c.medium,
        meter_series.c.step_seconds,
    )
    if meter_ids is None:
        return {(r[0], r[1], r[2]): r[3] for r in conn.execute(query)}
    wanted = sorted(set(meter_ids))
    return {
        (r[0], r[1], r[2]): r[3]
        for i in range(0, len(wanted), _CHUNK)  # within every backend's limit on bound parameters
        for r in conn.execute(query.where(meter_series.c.meter_id.in_(wanted[i : i + _CHUNK])))
    }


@lru_cache(maxsize=4096)
def _kgce(medium: str, day: date, parameters: Parameters) -> Decimal:
    return Decimal(energy.coefficient(medium, parameters.at(day)).value)


def day_tce(medium: str, day: date, consumption_e6: int, parameters: Parameters) -> Decimal | None:
    """Tonnes of standard coal of one day's metered quantity, with the coefficient in force that day."""
    if not energy.is_energy(medium):
        return None
    return to_decimal(consumption_e6) * _kgce(medium, day, parameters) / energy.KG_PER_TONNE


def coefficient_spans(
    medium: str, first: date, last: date, parameters: Parameters
) -> list[tuple[date, date]]:
    """first..last cut where the medium's coefficient changes. Within a span one coefficient holds, so the span's
    standard coal is its summed quantity times that coefficient: exactly the sum of its days' (Decimal products of
    integers and a short coefficient are exact), at one conversion instead of one a day."""
    if not energy.is_energy(medium):
        return [(first, last)]
    cuts = sorted(
        {v.since for v in parameters.history(energy.coefficient_key(medium)) if first < v.since <= last}
    )
    starts = [first, *cuts]
    ends = [c - timedelta(days=1) for c in cuts] + [last]
    return list(zip(starts, ends, strict=True))


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
    for at in range(0, len(rows), _CHUNK):
        conn.execute(insert(meter_months), rows[at : at + _CHUNK])
