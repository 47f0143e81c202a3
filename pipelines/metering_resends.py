"""Resends and late exports, judged against the stored readings themselves (docs/inputs.md §2).

When an export carries readings of a meter at or before the meter's last stored reading (a resend, a corrected
resend, an older file arriving late), the meter's days from the earliest such reading on are recomputed from every
stored reading of it plus the new ones, exactly as if all had come in one file:
- the same meter and instant with the same value, from any file, is one reading;
- with different values it is a conflict: reported with every value, and that interval counts as missing (no
  consumption, no reading present; a counter's next reading differences from the reading before the conflict);
- a cumulative counter differences across file boundaries in time order, whichever file came first; a counter
  that goes down was reset, and that step's consumption is the new reading.
"""

from __future__ import annotations

import polars as pl

DAY = 86_400
SERIES = ["credit_code", "meter_id", "medium", "reading_kind"]


def canonical(readings: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One row per series and instant: the agreed value, or a conflict with every value given.

    Returns (readings: SERIES, ts, value_e6 — agreed instants only; conflicts: SERIES, ts, values, and
    for each value the exports that gave it, `files`)."""
    per_value = readings.group_by(*SERIES, "ts", "value_e6").agg(files=pl.col("file_sha256").unique().sort())
    grouped = per_value.group_by(*SERIES, "ts").agg(
        values=pl.col("value_e6").sort(), files=pl.col("files").sort_by("value_e6")
    )
    agreed = (
        grouped.filter(pl.col("values").list.len() == 1)
        .select(*SERIES, "ts", value_e6=pl.col("values").list.first())
        .sort(*SERIES, "ts")
    )
    conflicts = grouped.filter(pl.col("values").list.len() > 1).sort(*SERIES, "ts")
    return agreed, conflicts


def days(agreed: pl.DataFrame, conflicts: pl.DataFrame, from_day: pl.DataFrame) -> pl.DataFrame:
    """Each series' days from its `from_day` (SERIES + `day`, days since 1970-01-01) on: consumption_e6,
    present, resets, conflicts. Readings before `from_day` only serve as a counter's previous reading."""
    cumulative = pl.col("reading_kind") == "cumulative"
    prev = pl.col("value_e6").shift(1).over(SERIES)
    steps = (
        agreed.with_columns(prev=prev)
        .with_columns(
            known=~cumulative | pl.col("prev").is_not_null(),
            reset=cumulative & pl.col("prev").is_not_null() & (pl.col("value_e6") < pl.col("prev")),
        )
        .with_columns(
            use=pl.when(~pl.col("known"))
            .then(0)
            .when(cumulative & ~pl.col("reset"))
            .then(pl.col("value_e6") - pl.col("prev"))
            .otherwise(pl.col("value_e6")),
            day=(pl.col("ts") - 1) // DAY,
        )
    )
    per_day = steps.group_by(*SERIES, "day").agg(
        consumption_e6=pl.col("use").sum(),
        present=pl.col("known").sum().cast(pl.Int64),
        resets=pl.col("reset").sum().cast(pl.Int64),
    )
    bad = (
        conflicts.with_columns(day=(pl.col("ts") - 1) // DAY)
        .group_by(*SERIES, "day")
        .agg(conflicts=pl.len().cast(pl.Int64))
    )
    out = per_day.join(bad, on=[*SERIES, "day"], how="full", coalesce=True).with_columns(
        pl.col("consumption_e6", "present", "resets", "conflicts").fill_null(0)
    )
    start = from_day.select(*SERIES, from_day=pl.col("day"))
    return (
        out.join(start, on=SERIES)
        .filter(pl.col("day") >= pl.col("from_day"))
        .drop("from_day")
        .sort(*SERIES, "day")
    )


def last_state(agreed: pl.DataFrame, readings: pl.DataFrame) -> pl.DataFrame:
    """Where each series stands after all its readings: the latest instant of any reading (a later export's
    earlier readings are resends), and the counter of the latest agreed reading."""
    latest = readings.group_by(SERIES).agg(last_ts=pl.col("ts").max())
    counter = agreed.group_by(SERIES).agg(last_counter_e6=pl.col("value_e6").sort_by("ts").last())
    return latest.join(counter, on=SERIES, how="left")
