"""Metering exports (能耗在线监测 CSV, docs/inputs.md §2): the bundled sample and a generator of any size.

`python -m samples.metering` rewrites `sample_inbox/2026-01-05-能耗在线监测.csv`, the export that verifies the
sample inbox's savings applications (ES-001..ES-003, WS-001) and feeds the renewable-share and recycled-aluminium
registers. `python -m samples.metering --enterprises N --meters M --days D --step-minutes S out.csv` writes a
synthetic export for tests and benchmarks (rows day by day, each meter's readings of the day in time order, as a
concatenation of nightly exports arrives).
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import polars as pl

from pipelines.settings import SAMPLE_INBOX
from samples.build import credit_codes
from schemas.credit_code import make

SAMPLE_FILE = "2026-01-05-能耗在线监测.csv"
HEADERS_ZH = ("统一社会信用代码", "计量点编号", "介质", "单位", "读数类型", "时间", "数值")
HEADERS_EN = ("credit_code", "meter_id", "medium", "unit", "reading_kind", "timestamp", "value")

# Generated meters cycle through these (medium, unit, reading kind): every unit and both reading kinds appear.
_MIX = (
    ("electricity", "kWh", "interval"),
    ("electricity", "MWh", "interval"),
    ("renewable_electricity", "kWh", "interval"),
    ("natural_gas", "m3", "interval"),
    ("water", "m3", "cumulative"),
    ("heat", "GJ", "interval"),
    ("raw_coal", "t", "interval"),
    ("electricity", "kWh", "cumulative"),
    ("diesel", "kg", "interval"),
    ("water", "万m3", "interval"),
)


def generate(
    path: Path,
    enterprises: int = 100,
    meters: int = 10,
    days: int = 365,
    step_minutes: int = 15,
    start: date = date(2025, 1, 1),
    days_per_block: int = 8,
) -> int:
    """Write a synthetic export; returns the number of data rows. Values have three decimals, exactly."""
    steps = 24 * 60 // step_minutes
    codes = [make("150200", 20_000_000 + 131 * i) for i in range(enterprises)]
    meter_rows = []
    for e, code in enumerate(codes):
        for m in range(meters):
            medium, unit, kind = _MIX[m % len(_MIX)]
            meter_rows.append((code, f"M{e:03d}-{m:02d}", medium, unit, kind, e * meters + m))
    meter_frame = pl.DataFrame(
        meter_rows,
        schema=["credit_code", "meter_id", "medium", "unit", "reading_kind", "meter_no"],
        orient="row",
    )
    rows = 0
    with path.open("wb") as out:
        out.write((",".join(HEADERS_EN) + "\n").encode())
        for block_start in range(0, days, days_per_block):
            block_days = min(days_per_block, days - block_start)
            first = datetime.combine(start, datetime.min.time()) + timedelta(days=block_start)
            # Interval ends: the first reading of a day is stamped one step after midnight.
            ends = pl.datetime_range(
                first + timedelta(minutes=step_minutes),
                first + timedelta(days=block_days),
                interval=f"{step_minutes}m",
                eager=True,
            ).alias("end")
            stamps = pl.DataFrame({"end": ends, "slot": pl.int_range(0, len(ends), eager=True)})
            frame = (
                meter_frame.join(stamps, how="cross")
                .with_columns(
                    # Deterministic, varied consumption in thousandths (integer arithmetic, no float).
                    milli=((pl.col("meter_no") * 7919 + pl.col("slot") * 104_729) % 50_000 + 1_000).cast(
                        pl.Int64
                    ),
                    day=pl.col("end").dt.date(),
                )
                .with_columns(
                    milli=pl.when(pl.col("reading_kind") == "cumulative")
                    .then(
                        pl.col("milli").cum_sum().over("meter_no")
                        + (block_start * steps * 51_000 + pl.col("meter_no") * 1_000_000)
                    )
                    .otherwise(pl.col("milli"))
                )
                .sort("day", "meter_no", "end")
                .select(
                    "credit_code",
                    "meter_id",
                    "medium",
                    "unit",
                    "reading_kind",
                    # Even enterprises stamp with an offset, odd ones in local time without it.
                    timestamp=pl.when(pl.col("meter_no") // meters % 2 == 0)
                    .then(pl.col("end").dt.strftime("%Y-%m-%dT%H:%M:%S+08:00"))
                    .otherwise(pl.col("end").dt.strftime("%Y-%m-%d %H:%M:%S")),
                    value=(pl.col("milli") // 1000).cast(pl.String)
                    + "."
                    + (pl.col("milli") % 1000).cast(pl.String).str.zfill(3),
                )
            )
            frame.write_csv(out, include_header=False)
            rows += frame.height
    return rows


# --- the bundled sample -------------------------------------------------------------------------------------

_MEDIUM_ZH = {
    "electricity": "电",
    "renewable_electricity": "可再生电力",
    "water": "水",
    "natural_gas": "天然气",
}
_KIND_ZH = {"interval": "区间量", "cumulative": "累计示数"}


def _days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def _wave(i: int, spread: int) -> int:
    """A deterministic day-to-day variation in [-spread, spread]."""
    return (i * 7919) % (2 * spread + 1) - spread


def sample_rows() -> list[tuple[str, str, str, str, str, str, str]]:
    """Two years (2024, 2025) of readings. Daily readings are stamped at the midnight that ends the day."""
    cc = credit_codes()
    _fa, _dp, sm, rc, _al, en, _ao, _fo, ax, xg = cc
    rows: list[tuple[str, str, str, str, str, str, str]] = []
    start, end = date(2024, 1, 1), date(2025, 12, 31)

    def daily(
        code: str, meter: str, medium: str, unit: str, base: Decimal, after: Decimal, skip: int = 0
    ) -> None:
        """Interval readings once a day; `after` applies from 2025; every `skip`-th day is missing."""
        for i, day in enumerate(_days(start, end)):
            if skip and i % skip == 0:
                continue
            level = base if day.year == 2024 else after
            value = level + Decimal(_wave(i, 40))
            stamp = datetime.combine(day + timedelta(days=1), datetime.min.time())
            rows.append(
                (
                    code,
                    meter,
                    _MEDIUM_ZH[medium],
                    unit,
                    "区间量",
                    stamp.isoformat() + "+08:00",
                    f"{value:.3f}",
                )
            )

    # ES-001 (EN, 2,500 tce claimed): EN-E01 a daily cumulative counter in kWh, reset once (meter replaced);
    # EN-E02 hourly interval readings in MWh, stamped without an offset (Asia/Shanghai).
    counter = Decimal("1000000")
    stamp = datetime(2024, 1, 1)
    rows.append((en, "EN-E01", "电", "kWh", "累计示数", stamp.isoformat(), f"{counter:.1f}"))
    for i, day in enumerate(_days(start, end)):
        use = Decimal(330_000 if day.year == 2024 else 285_000) + Decimal(_wave(i, 500))
        if day == date(2025, 6, 30):
            counter = use  # the counter was replaced that day and restarted from zero at 00:00
        else:
            counter += use
        stamp = datetime.combine(day + timedelta(days=1), datetime.min.time())
        rows.append((en, "EN-E01", "电", "kWh", "累计示数", stamp.isoformat(), f"{counter:.1f}"))
    for i, day in enumerate(_days(start, end)):
        for hour in range(1, 25):
            mwh = Decimal("9.100" if day.year == 2024 else "8.900") + Decimal(_wave(i * 24 + hour, 50)) / 1000
            stamp = datetime.combine(day, datetime.min.time()) + timedelta(hours=hour)
            rows.append((en, "EN-E02", "电", "MWh", "区间量", stamp.strftime("%Y-%m-%d %H:%M:%S"), f"{mwh}"))
    # WS-001 (EN, 60,000 t claimed): daily water intake in m3, about 80,000 m3 less in 2025.
    daily(en, "EN-W01", "water", "m3", Decimal(2_400), Decimal(2_180))
    # ES-002 (AX, 1,800 claimed): a saving of about 1,100 tce, below the 2,000 tce threshold.
    daily(ax, "AX-E01", "electricity", "kWh", Decimal(150_000), Decimal(125_000))
    # ES-003 (XG): one day in ten missing: coverage 90 % in both periods, below 95 %.
    daily(xg, "XG-E01", "electricity", "kWh", Decimal(200_000), Decimal(170_000), skip=10)
    # RENEWABLE_SHARE: SM buys green power (about 55 % of its electricity); XG self-generates a little.
    daily(sm, "SM-E01", "electricity", "kWh", Decimal(4_000_000), Decimal(4_000_000))
    daily(sm, "SM-R01", "renewable_electricity", "kWh", Decimal(2_200_000), Decimal(2_200_000))
    daily(xg, "XG-R01", "renewable_electricity", "kWh", Decimal(20_000), Decimal(20_000))
    # RECYCLED_DATABASE: the recycled-aluminium enterprise RC's electricity, gas and water.
    daily(rc, "RC-E01", "electricity", "kWh", Decimal(90_000), Decimal(90_000))
    daily(rc, "RC-G01", "natural_gas", "m3", Decimal(6_000), Decimal(6_000))
    daily(rc, "RC-W01", "water", "m3", Decimal(500), Decimal(500))
    return rows


def write_sample(folder: Path = SAMPLE_INBOX) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADERS_ZH)
    writer.writerows(sample_rows())
    path = folder / SAMPLE_FILE
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", nargs="?", help="output CSV (default: the bundled sample)")
    parser.add_argument("--enterprises", type=int, default=100)
    parser.add_argument("--meters", type=int, default=10)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--step-minutes", type=int, default=15)
    args = parser.parse_args(argv)
    if args.out is None:
        print(write_sample())
        return
    rows = generate(Path(args.out), args.enterprises, args.meters, args.days, args.step_minutes)
    print(f"{rows} rows -> {args.out}")


if __name__ == "__main__":
    main(sys.argv[1:])
