"""Rolling up a batch of accepted readings: runs of one meter in time order, repeats and conflicts within the
file, counter differences, and daily consumption and steps per meter, as vectorised integer arithmetic.

An export lists each meter's readings in runs in time order, so a batch is aggregated run by run without sorting
or copying it (a batch interleaving meters row by row, or going back in time, is sorted first)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from pipelines.metering_validation import Rows
from pipelines.metering_vocabulary import DAY


@dataclass
class Partial:
    days: list[pl.DataFrame] = field(default_factory=list)
    steps: list[pl.DataFrame] = field(default_factory=list)
    overlapping: int = 0
    conflicting: list[pl.DataFrame] = field(default_factory=list)  # sid, ts, values: conflicting repeats
    revisited: dict[int, int] = field(default_factory=dict)  # series -> first day to recompute from the store
    duplicates: int = 0
    kept: int = 0  # rows held in `days` and `steps` when last compacted

    def compact(self) -> None:
        """Sum the batches' partial rows once they hold many more rows than last time: memory stays bounded by
        the series' days and steps, not by the file."""
        held = sum(d.height for d in self.days) + sum(s.height for s in self.steps)
        if held < max(2 * self.kept, _COMPACT_ROWS):
            return
        keys = {"days": ["sid", "day"], "steps": ["sid", "step"]}
        for name, by in keys.items():
            parts: list[pl.DataFrame] = getattr(self, name)
            if parts:
                setattr(self, name, [pl.concat(parts).group_by(by).agg(pl.all().sum())])
        self.kept = sum(d.height for d in self.days) + sum(s.height for s in self.steps)


State = dict[int, tuple[int, int | None]]  # series id -> (last timestamp, last counter reading)
_COMPACT_ROWS = 2_000_000
_MIN_RUN = 16  # a batch whose series change more often than every 16 rows on average is sorted first


def _sorted(rows: Rows) -> Rows:
    """Rows ordered by series, then time: one 64-bit key when it fits, a two-key sort otherwise."""
    if len(rows.sid) == 0:
        return rows
    base = int(rows.ts.min())
    span_bits = (int(rows.ts.max()) - base).bit_length()
    if int(rows.sid.max()).bit_length() + span_bits <= 63:
        key = (rows.sid << span_bits) | (rows.ts - base)
        if np.all(key[1:] >= key[:-1]):
            return rows
        return rows.take(np.argsort(key))
    return rows.take(np.lexsort((rows.ts, rows.sid)))


@dataclass
class _Runs:
    """A batch as runs of consecutive rows of one series, each in time order; listed by series, then position.

    A usual export (each meter's readings of a day together, or one meter after another) is already in runs,
    so the batch is aggregated where it lies: no sort, no copy of its rows.
    """

    starts: np.ndarray
    ends: np.ndarray
    sid: np.ndarray
    head: np.ndarray  # the series' first run in the batch
    tail: np.ndarray  # the series' last run in the batch


def _runs(rows: Rows) -> _Runs | None:
    """The batch's runs, or None when a series goes back in time or repeats an instant from one run to its next."""
    sid, ts = rows.sid, rows.ts
    n = len(sid)
    if n == 0:  # every row of the batch was a conflicting repeat: no runs, nothing to aggregate
        none = np.zeros(0, dtype=np.int64)
        return _Runs(none, none, sid[:0], np.zeros(0, dtype=bool), np.zeros(0, dtype=bool))
    cut = np.flatnonzero(sid[1:] != sid[:-1]) + 1
    back = ts[1:] < ts[:-1]
    back[cut - 1] = False
    if back.any():
        return None
    starts = np.concatenate((np.zeros(1, dtype=np.int64), cut))
    ends = np.append(cut, n)
    order = np.argsort(np.take(sid, starts), kind="stable")
    starts, ends = np.take(starts, order), np.take(ends, order)
    run_sid = np.take(sid, starts)
    head = np.ones(len(starts), dtype=bool)
    head[1:] = run_sid[1:] != run_sid[:-1]
    if not np.all(head[1:] | (np.take(ts, starts[1:]) > np.take(ts, ends[:-1] - 1))):
        return None
    tail = np.append(head[1:], True)
    return _Runs(starts, ends, run_sid, head, tail)


def _in_runs(rows: Rows) -> tuple[Rows, _Runs]:
    """The batch as it lies when it is in runs of reasonable length, else sorted (one run per series)."""
    runs = _runs(rows) if len(rows.sid) else None
    if runs is None or len(runs.starts) * _MIN_RUN > len(rows.sid):
        rows = _sorted(rows)
        runs = _runs(rows)
    assert runs is not None  # sorted rows are one run per series
    return rows, runs


def _dedupe(rows: Rows, runs: _Runs, partial: Partial) -> tuple[Rows, _Runs, np.ndarray, np.ndarray]:
    """Repeats of a series' instant (adjacent within a run): identical ones count once, conflicting ones drop
    the interval. Returns the rows left, their runs and the (series, day) of each conflict."""
    n = len(rows.sid)
    repeat = np.zeros(n, dtype=bool)
    repeat[1:] = rows.ts[1:] == rows.ts[:-1]
    repeat[runs.starts] = False
    none = np.zeros(0, dtype=np.int64)
    if not repeat.any():
        return rows, runs, none, none
    starts = np.flatnonzero(~repeat)
    lo = np.minimum.reduceat(rows.v, starts)
    hi = np.maximum.reduceat(rows.v, starts)
    size = np.diff(np.append(starts, n))
    conflict = lo != hi
    partial.duplicates += int((size[~conflict] - 1).sum())
    if conflict.any():
        at = starts[conflict]
        # Reported with both values (the lowest and the highest given for that instant).
        partial.conflicting.append(
            pl.DataFrame(
                {"sid": rows.sid[at], "ts": rows.ts[at], "low": lo[conflict], "high": hi[conflict]}
            ).select("sid", "ts", values=pl.concat_list("low", "high"))
        )
    conflict_sid = rows.sid[starts[conflict]]
    conflict_day = (rows.ts[starts[conflict]] - 1) // DAY
    rows = rows.take(starts[~conflict])
    new_runs = _runs(rows) if len(rows.sid) else None
    if new_runs is None:  # nothing left, or (cannot happen) out of order: sorting settles either
        rows, new_runs = _in_runs(rows)
    return rows, new_runs, conflict_sid, conflict_day


def _carried(rows: Rows, runs: _Runs, state: State) -> tuple[np.ndarray, set[int]]:
    """Each series' counter before the batch (-1 unknown), per head run; and the series that went back in time."""
    heads = runs.starts[runs.head]
    carried = np.full(len(heads), -1, dtype=np.int64)
    late: set[int] = set()
    for i, (sid, first) in enumerate(zip(runs.sid[runs.head].tolist(), rows.ts[heads].tolist(), strict=True)):
        before = state.get(sid)
        if before is None:
            continue
        if first <= before[0]:
            late.add(sid)
        elif before[1] is not None:
            carried[i] = before[1]
    return carried, late


def process(rows: Rows, state: State, partial: Partial) -> set[int]:
    """Aggregate one batch into `partial`, advancing `state`; returns the series that went back in time."""
    if len(rows.sid) == 0:
        return set()
    rows, runs = _in_runs(rows)
    rows, runs, conflict_sid, conflict_day = _dedupe(rows, runs, partial)
    if len(rows.sid) == 0:
        _add_conflicts(partial, conflict_sid, conflict_day)
        return set()
    carried, late = _carried(rows, runs, state)
    if late:
        wanted = np.array(sorted(late), dtype=np.int64)
        rows = rows.take(np.flatnonzero(~np.isin(rows.sid, wanted)))
        inside = ~np.isin(conflict_sid, wanted)
        conflict_sid, conflict_day = conflict_sid[inside], conflict_day[inside]
        if len(rows.sid) == 0:
            _add_conflicts(partial, conflict_sid, conflict_day)
            return late
        rows, runs = _in_runs(rows)
        carried, _ = _carried(rows, runs, state)
    _aggregate(rows, runs, carried, partial)
    _add_conflicts(partial, conflict_sid, conflict_day)
    lasts = runs.ends[runs.tail] - 1
    for sid, ts, v in zip(
        runs.sid[runs.tail].tolist(), rows.ts[lasts].tolist(), rows.v[lasts].tolist(), strict=True
    ):
        state[sid] = (ts, v if sid & 1 else None)
    return late


def _aggregate(rows: Rows, runs: _Runs, carried: np.ndarray, partial: Partial) -> None:
    """Days and steps of a batch in runs, without moving its rows."""
    sid, ts, v = rows.sid, rows.ts, rows.v
    n = len(sid)
    # Where each run's series stood just before it: the previous run of the series, or the earlier batches.
    before_end = np.roll(runs.ends, 1) - 1
    run_prev_ts = np.take(ts, before_end)
    run_prev_v = np.take(v, before_end)
    run_prev_v[runs.head] = carried
    first = np.zeros(n, dtype=bool)
    first[runs.starts] = True

    cumulative = (sid & 1) == 1
    if cumulative.any():
        prev = np.empty(n, dtype=np.int64)
        prev[1:] = v[:-1]
        prev[runs.starts] = run_prev_v
        known = ~cumulative | (prev >= 0)
        reset = cumulative & known & (v < prev)
        use = np.where(known, np.where(cumulative & ~reset, v - prev, v), 0)
        # Usually every reading is known and no counter was reset: plain counts then, no second and third sums.
        known = None if known.all() else known
        reset = reset if reset.any() else None
    else:
        known = reset = None
        use = v
    day = (ts - 1) // DAY
    boundary = first.copy()
    boundary[1:] |= day[1:] != day[:-1]
    at = np.flatnonzero(boundary)
    counts = np.diff(np.append(at, n))
    partial.days.append(
        pl.DataFrame(
            {
                "sid": np.take(sid, at),
                "day": np.take(day, at),
                "consumption_e6": np.add.reduceat(use, at),
                "present": counts if known is None else np.add.reduceat(known.astype(np.int64), at),
                "resets": np.zeros(len(at), dtype=np.int64)
                if reset is None
                else np.add.reduceat(reset.astype(np.int64), at),
                "conflicts": np.zeros(len(at), dtype=np.int64),
            }
        )
    )
    # Steps between consecutive readings of a series, counted per stretch of equal steps (a meter's step rarely
    # changes). A series' first reading in the batch has no step: it stands alone in its stretch, left out.
    step = np.empty(n, dtype=np.int64)
    step[0] = 0
    np.subtract(ts[1:], ts[:-1], out=step[1:])
    step[runs.starts] = np.take(ts, runs.starts) - run_prev_ts
    heads = runs.starts[runs.head]
    change = np.empty(n, dtype=bool)
    change[0] = True
    np.not_equal(step[1:], step[:-1], out=change[1:])
    change[runs.starts] = True
    change[heads[heads + 1 < n] + 1] = True
    stretch = np.flatnonzero(change)
    keep = ~np.isin(stretch, heads, assume_unique=True)
    stretch = stretch[keep]
    if len(stretch):
        length = np.diff(np.append(np.flatnonzero(change), n))[keep]
        steps = pl.DataFrame({"sid": np.take(sid, stretch), "step": np.take(step, stretch), "n": length})
        if len(stretch) * _MIN_RUN > n:  # irregular steps: keep one row per distinct step, not per reading
            steps = steps.group_by("sid", "step").agg(pl.col("n").sum())
        partial.steps.append(steps)
    partial.compact()


def _add_conflicts(partial: Partial, conflict_sid: np.ndarray, conflict_day: np.ndarray) -> None:
    if len(conflict_sid):
        zeros = np.zeros(len(conflict_sid), dtype=np.int64)
        partial.days.append(
            pl.DataFrame(
                {
                    "sid": conflict_sid,
                    "day": conflict_day,
                    "consumption_e6": zeros,
                    "present": zeros,
                    "resets": zeros,
                    "conflicts": zeros + 1,
                }
            )
        )
