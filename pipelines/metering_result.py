"""One ingested export, as the stage hands it to the store: days, steps, where each meter stands, conflicts,
meters to recompute from the reading store, rejections and accounting; and the naming of internal series ids."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import polars as pl

from pipelines.cells import clean_text
from pipelines.metering_readings import ReadingSink
from pipelines.metering_rollup import Partial, State
from pipelines.metering_validation import Lookups
from pipelines.metering_vocabulary import KINDS, MEDIUM_KEYS, METER_BITS_CAP, SCALE
from schemas.rejection import Rejection


@dataclass
class SeriesState:
    """Where a meter's series stood after the last ingested reading (carried across batches and files)."""

    last_ts: int  # Asia/Shanghai wall-clock seconds since 1970-01-01
    last_counter_e6: int | None  # cumulative meters: the last counter reading, canonical micro-units


SeriesKey = tuple[str, str, str]  # credit_code, meter_id, medium


@dataclass
class MeteringResult:
    """One export, aggregated: what the database keeps of it, and its accounting."""

    file: str
    sha256: str
    # credit_code, meter_id, medium, reading_kind, day (date), consumption_e6, present, resets, conflicts
    days: pl.DataFrame
    # credit_code, meter_id, medium, reading_kind, step (seconds between consecutive readings), n (how often)
    steps: pl.DataFrame
    states: dict[
        SeriesKey, tuple[str, SeriesState]
    ]  # series -> (reading kind, where it stands after the file)
    rejections: list[Rejection]
    received: int = 0
    # readings at or before their meter's last stored reading: compared with the stored readings (`revisited`)
    overlapping: int = 0
    duplicates: int = 0  # identical repeats, counted once
    exact_pass_series: int = 0
    encoding: str = "utf-8"
    # credit_code, meter_id, medium, reading_kind, ts, values (list of micro-units): conflicting repeats in the file
    conflicting: pl.DataFrame | None = None
    # credit_code, meter_id, medium, reading_kind, day: meters whose readings reach back to or before their last
    # stored reading (resends, late older files): their days from `day` on are recomputed from the reading store
    revisited: pl.DataFrame | None = None
    # meters whose resent readings could not be compared (credit code, meter, medium, the export lacking readings)
    not_compared: list[tuple[str, str, str, str]] = field(default_factory=list)
    sink: ReadingSink | None = None  # this export's accepted readings, written, not yet published
    series: pl.DataFrame | None = None  # sid -> credit_code, meter_id, medium, reading_kind, for the sink

    @property
    def rejected(self) -> int:
        return len({r.row_number for r in self.rejections if r.row_number is not None and r.row_number > 1})

    @property
    def accepted(self) -> int:
        return self.received - self.rejected

    @property
    def conflicts(self) -> int:
        return int(self.days["conflicts"].sum()) if self.days.height else 0

    @property
    def resets(self) -> int:
        return int(self.days["resets"].sum()) if self.days.height else 0


def series_key(sid: int, lookups: Lookups) -> tuple[SeriesKey, str]:
    cc = lookups.undense["credit_code"][sid >> 25]
    meter = lookups.undense["meter_id"][(sid >> 5) & (METER_BITS_CAP - 1)]
    mk = sid & 31
    key = (lookups.text[cc], clean_text(lookups.text[meter]) or "", MEDIUM_KEYS[mk >> 1])
    return key, KINDS[mk & 1]


_SCHEMAS = {
    "days": {"credit_code": pl.String, "meter_id": pl.String, "medium": pl.String, "reading_kind": pl.String,
             "day": pl.Date, "consumption_e6": pl.Int64, "present": pl.Int64, "resets": pl.Int64,
             "conflicts": pl.Int64},
    "steps": {"credit_code": pl.String, "meter_id": pl.String, "medium": pl.String, "reading_kind": pl.String,
              "step": pl.Int64, "n": pl.Int64},
}  # fmt: skip


def empty(kind: str) -> pl.DataFrame:
    return pl.DataFrame(schema=_SCHEMAS[kind])


def series_table(sids: list[int], lookups: Lookups) -> pl.DataFrame:
    """Series ids with their names: credit code, meter id, medium and reading kind."""
    names = [series_key(s, lookups) for s in sids]
    return pl.DataFrame(
        {
            "sid": sids,
            "credit_code": [k[0] for k, _ in names],
            "meter_id": [k[1] for k, _ in names],
            "medium": [k[2] for k, _ in names],
            "reading_kind": [kind for _, kind in names],
        },
        schema_overrides={"sid": pl.Int64},
    )


def named(frame: pl.DataFrame, lookups: Lookups, ordered: bool = False) -> pl.DataFrame:
    """Series ids back to credit code, meter id, medium and reading kind; `ordered`: by those, then day."""
    table = series_table(frame["sid"].unique().to_list(), lookups)
    if not ordered:
        return frame.join(table, on="sid", how="left").drop("sid")
    # Sorting the few series by their texts, then the rows by integers, is far cheaper than sorting rows by texts.
    table = table.with_columns(rank=pl.struct("credit_code", "meter_id", "medium").rank("dense"))
    return frame.join(table, on="sid", how="left").sort("rank", "day").drop("sid", "rank")


def finish(
    name: str,
    sha: str,
    partial: Partial,
    state: State,
    start: State,
    rejections: list[Rejection],
    received: int,
    late: int,
    encoding: str,
    lookups: Lookups,
) -> MeteringResult:
    days, steps = empty("days"), empty("steps")
    if partial.days:
        summed = (
            pl.concat(partial.days)
            .group_by("sid", "day")
            .agg(pl.col("consumption_e6", "present", "resets", "conflicts").sum())
            .with_columns(pl.col("day").cast(pl.Int32).cast(pl.Date))
        )
        days = named(summed, lookups, ordered=True).select(list(_SCHEMAS["days"]))
    if partial.steps:
        summed = pl.concat(partial.steps).group_by("sid", "step").agg(pl.col("n").sum())
        steps = named(summed, lookups).select(list(_SCHEMAS["steps"]))
    conflicting = None
    if partial.conflicting:
        conflicting = (
            named(pl.concat(partial.conflicting), lookups)
            .select("credit_code", "meter_id", "medium", "reading_kind", "ts", "values")
            .sort("credit_code", "meter_id", "ts")
        )
    revisited = None
    if partial.revisited:
        frame = pl.DataFrame(
            {"sid": list(partial.revisited), "day": list(partial.revisited.values())},
            schema={"sid": pl.Int64, "day": pl.Int64},
        )
        revisited = named(frame, lookups).select("credit_code", "meter_id", "medium", "reading_kind", "day")
    states: dict[SeriesKey, tuple[str, SeriesState]] = {}
    for sid, where in state.items():
        if start.get(sid) == where:
            continue  # untouched by this file
        key, kind = series_key(sid, lookups)
        states[key] = (kind, SeriesState(where[0], where[1]))
    return MeteringResult(
        file=name,
        sha256=sha,
        days=days,
        steps=steps,
        states=states,
        rejections=sorted(rejections, key=lambda r: r.row_number or 0),
        received=received,
        overlapping=partial.overlapping,
        duplicates=partial.duplicates,
        exact_pass_series=late,
        encoding=encoding,
        conflicting=conflicting,
        revisited=revisited,
    )


def to_decimal(micro: int) -> Decimal:
    """Integer micro-units -> the exact decimal in the canonical unit."""
    return Decimal(micro).scaleb(-SCALE)
