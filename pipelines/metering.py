"""The metering stage: one 能耗在线监测 CSV export (inputs.md §2) to exact daily consumption per meter.

Streaming: polars' streaming engine parses the file (multi-threaded) into batches of rows with their line numbers,
and parses the next batches while this one is aggregated, so memory follows the batch size, not the file. The
repetitive text columns (credit code, meter, medium, unit, reading kind, timestamp) are read as categoricals and
each distinct text is parsed and validated once, in Python, with Chinese messages; the columns naming a series
are looked up once per run of one series' rows, not per row. Per-row work is vectorised integer arithmetic in
numpy on the batch as it lies: an export lists each meter's readings in runs in time order, so a batch is
aggregated run by run without sorting or copying it (a batch interleaving meters row by row, or going back in time,
is sorted first). Line numbers assume one record per line (no quoted line breaks). The file's SHA-256 is computed
on another thread while it is parsed.
Values are decimals read at six places (digits beyond the sixth are rounded by the reader: a millionth of the unit
given) and kept as integer micro-units of the canonical unit (kWh, kg, m3, MJ) from the cell to the database: no
float touches a reading.

Semantics (inputs.md §2 and the issue):
- an interval reading stamped T is the consumption of the interval ending at T, so it belongs to the day (Asia/
  Shanghai) of the instant just before T; a timestamp without an offset is Asia/Shanghai time;
- a cumulative reading's consumption is the difference from the meter's previous reading in time order; a counter
  that goes down was reset or replaced, and that step's consumption is the new reading (the reset is counted);
- the same meter and timestamp twice with the same value is one reading; with different values it is a conflict,
  counted, and that interval is missing (no consumption, no reading present);
- readings of a meter at or before its last reading ingested from an earlier file are not booked again
  (`overlapping`): a file ingested twice, or an export that repeats the previous day, changes nothing.

Within a file, rows are expected in time order per meter (any interleaving of meters). A meter whose readings
go back in time across batches is set aside and re-read on its own in a second, exact pass.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import tempfile
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import polars as pl

from pipelines.cells import clean_text
from pipelines.settings import SHANGHAI
from schemas import credit_code
from schemas.rejection import Rejection

SHEET = "metering"
SCALE = 6  # values are read at six decimal places: micro-units of the unit as given
MICRO = 10**SCALE
DAY = 86_400
EPOCH = date(1970, 1, 1)
CHUNK_BYTES = 24 << 20  # one batch: about 300,000 rows, bounded memory whatever the file size
ROW_BYTES = 80  # a typical line, to turn a batch's bytes into rows

# Column key -> Chinese header (inputs.md §2); both are accepted.
COLUMNS = {
    "credit_code": "统一社会信用代码",
    "meter_id": "计量点编号",
    "medium": "介质",
    "unit": "单位",
    "reading_kind": "读数类型",
    "timestamp": "时间",
    "value": "数值",
}

# Medium key -> Chinese label, in a fixed order: the index is part of the internal series key.
MEDIA = {
    "electricity": "电",
    "renewable_electricity": "可再生电力",
    "raw_coal": "原煤",
    "coke": "焦炭",
    "natural_gas": "天然气",
    "diesel": "柴油",
    "gasoline": "汽油",
    "fuel_oil": "燃料油",
    "heat": "热力",
    "water": "水",
}
MEDIUM_KEYS = tuple(MEDIA)
MEDIUM_ALIASES = {"电力": "electricity", "绿电": "renewable_electricity", "蒸汽": "heat", "新水": "water"}

# Canonical unit per medium, and each accepted unit's factor to it. Physical conversions, not policy numbers.
_ENERGY_UNITS = {"kWh": ("kWh", 1), "MWh": ("kWh", 1000)}
_MASS_UNITS = {"kg": ("kg", 1), "t": ("kg", 1000)}
CANONICAL_UNITS: dict[str, dict[str, tuple[str, int]]] = {
    "electricity": _ENERGY_UNITS,
    "renewable_electricity": _ENERGY_UNITS,
    "raw_coal": _MASS_UNITS,
    "coke": _MASS_UNITS,
    "diesel": _MASS_UNITS,
    "gasoline": _MASS_UNITS,
    "fuel_oil": _MASS_UNITS,
    "natural_gas": {"m3": ("m3", 1), "万m3": ("m3", 10_000)},
    "heat": {"MJ": ("MJ", 1), "GJ": ("MJ", 1000)},
    # Water intake: one tonne is one cubic metre (clauses.md, verified water saving).
    "water": {"m3": ("m3", 1), "万m3": ("m3", 10_000), "t": ("m3", 1)},
}
CANONICAL_UNIT = {medium: next(iter(units.values()))[0] for medium, units in CANONICAL_UNITS.items()}
UNIT_KEYS = ("kWh", "MWh", "kg", "t", "m3", "万m3", "MJ", "GJ")
UNIT_ALIASES = {
    "kwh": "kWh",
    "千瓦时": "kWh",
    "度": "kWh",
    "mwh": "MWh",
    "兆瓦时": "MWh",
    "kg": "kg",
    "千克": "kg",
    "公斤": "kg",
    "t": "t",
    "吨": "t",
    "m3": "m3",
    "m³": "m3",
    "立方米": "m3",
    "万m3": "万m3",
    "万m³": "万m3",
    "万立方米": "万m3",
    "mj": "MJ",
    "兆焦": "MJ",
    "gj": "GJ",
    "吉焦": "GJ",
}
KINDS = ("interval", "cumulative")
KIND_ALIASES = {"interval": 0, "区间量": 0, "cumulative": 1, "累计示数": 1, "累计量": 1}


class MeteringFileError(ValueError):
    """The file as a whole cannot be read (header, encoding): one rejection for the file, no rows."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


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
    overlapping: int = (
        0  # readings at or before the series' last reading from earlier files: not booked again
    )
    duplicates: int = 0  # identical repeats, counted once
    exact_pass_series: int = 0
    encoding: str = "utf-8"

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


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# --- reading the file ---------------------------------------------------------------------------------------


def detect_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM) or GB18030: the first megabyte decides."""
    with path.open("rb") as f:
        head = f.read(1 << 20)
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        return "gb18030"


def _to_utf8(path: Path, folder: Path) -> Path:
    """A streaming GB18030 -> UTF-8 copy: the fast reader reads UTF-8 only."""
    target = folder / "utf8.csv"
    decoder = codecs.getincrementaldecoder("gb18030")()
    with path.open("rb") as src, target.open("w", encoding="utf-8", newline="") as dst:
        for chunk in iter(lambda: src.read(1 << 22), b""):
            dst.write(decoder.decode(chunk))
        dst.write(decoder.decode(b"", final=True))
    return target


def header_keys(headers: list[str]) -> list[str | None]:
    """Each header's column key (Chinese header or English key), None for a column we do not read."""
    by_text = {k: k for k in COLUMNS} | {zh: k for k, zh in COLUMNS.items()}
    keys = [by_text.get((clean_text(h) or "").lower()) or by_text.get(clean_text(h) or "") for h in headers]
    missing = [f"{COLUMNS[k]}（{k}）" for k in COLUMNS if k not in keys]
    if missing:
        raise MeteringFileError(
            "METER_COLUMNS_MISSING",
            f"能耗监测文件缺少列：{'、'.join(missing)}。表头第一行须为中文列名或英文键",
        )
    return keys


def _batches(source: Path, keys: list[str | None], rows: int) -> Iterator[pl.DataFrame]:
    """The data lines in batches of at most `rows`, each row with its line number (the header is line 1).

    Polars' streaming engine parses the next batches on its own threads while the caller works on this one.
    """
    names = [k or f"_ignored_{i}" for i, k in enumerate(keys)]
    schema = {n: (pl.Decimal(38, SCALE) if n == "value" else pl.Categorical) for n in names}
    query = pl.scan_csv(
        source,
        has_header=False,
        skip_lines=1,
        schema=schema,
        ignore_errors=True,  # a value that is not a number reads as null, and is rejected with its line
        row_index_name="line",
        row_index_offset=2,
        truncate_ragged_lines=True,
    ).select(
        "line",
        *COLUMNS,
        # Exact micro-units as one integer (-1: empty, not a number, or beyond int64), on the engine's threads.
        value_e6=pl.col("value").to_physical().cast(pl.Int64, strict=False).fill_null(-1),
    )
    for batch in query.collect_batches(chunk_size=rows):
        # The engine may hand over more rows than asked: the bound on memory and on a batch is ours to keep.
        yield from batch.iter_slices(rows)


# --- validating distinct texts once -------------------------------------------------------------------------


def parse_timestamp(text: str) -> int | None:
    """ISO 8601 -> Asia/Shanghai wall-clock seconds since 1970-01-01; without an offset it is Shanghai time."""
    try:
        stamp = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if stamp.tzinfo is not None:
        stamp = stamp.astimezone(SHANGHAI).replace(tzinfo=None)
    if stamp.microsecond:
        return None
    return (stamp - datetime(1970, 1, 1)) // timedelta(seconds=1)


def _medium(text: str) -> int:
    t = (clean_text(text) or "").lower()
    for i, (key, zh) in enumerate(MEDIA.items()):
        if t in (key, zh):
            return i
    alias = MEDIUM_ALIASES.get(t)
    return MEDIUM_KEYS.index(alias) if alias else -1


def _unit(text: str) -> int:
    t = (clean_text(text) or "").replace(" ", "")
    key = UNIT_ALIASES.get(t.lower()) or UNIT_ALIASES.get(t)
    return UNIT_KEYS.index(key) if key else -1


def _kind(text: str) -> int:
    return KIND_ALIASES.get((clean_text(text) or "").lower(), -1)


def _credit_code(text: str) -> tuple[str, str] | None:
    if (clean_text(text) or "") != text:
        return "CREDIT_CODE_FORMAT", "统一社会信用代码含空格或全角字符，请按营业执照填写 18 位代码"
    return credit_code.problem(text)


class _Lookups:
    """What each distinct text of a file means, parsed once: arrays indexed by the categorical code."""

    def __init__(self) -> None:
        self.value: dict[str, np.ndarray] = {}
        self.text: dict[int, str] = {}
        self.problem: dict[int, tuple[str, str]] = {}
        self.dense: dict[str, dict[int, int]] = {"credit_code": {}, "meter_id": {}}
        self.undense: dict[str, list[int]] = {"credit_code": [], "meter_id": []}
        self.blank = 0
        self.checked: set[int] = set()

    def of(
        self, column: str, series: pl.Series, codes: np.ndarray, at: np.ndarray | None = None
    ) -> np.ndarray:
        """What each text means (-1: not acceptable), given the codes of the series' rows `at` (default: all);
        texts not met before in this file are parsed now."""
        nulls = codes == _NULL_CODE if series.null_count() else None
        if nulls is not None:
            codes = np.where(nulls, 0, codes)
        table = self.value.get(column, np.zeros(0, dtype=np.int64))
        if len(codes) and int(codes.max()) >= len(table):
            grown = np.full(int(codes.max()) + 1, _UNSEEN, dtype=np.int64)
            grown[: len(table)] = table
            self.value[column] = table = grown
        # Where each code is met (its last row; nulls left out): the codes not met before in this file are few,
        # found over the table rather than over the rows.
        row_of = np.full(len(table), -1, dtype=np.int64)
        if nulls is None:
            row_of[codes] = np.arange(len(codes))
        else:
            filled = np.flatnonzero(~nulls)
            row_of[np.take(codes, filled)] = filled
        fresh = np.flatnonzero((row_of >= 0) & (table == _UNSEEN))
        if len(fresh):
            # Cell by cell: a polars expression here would queue behind the parser's work on the next batches.
            rows = np.take(row_of, fresh)
            for code, row in zip(
                fresh.tolist(), (rows if at is None else np.take(at, rows)).tolist(), strict=True
            ):
                text = series[row]
                if column != "timestamp":  # instants are many, and not needed again as text
                    self.text[code] = text
                table[code] = self._meaning(column, code, text)
        meaning = np.take(table, codes)  # np.take: far faster than fancy indexing with uint32 codes
        if nulls is not None:
            meaning[nulls] = -1
        return meaning

    def _meaning(self, column: str, code: int, text: str) -> int:
        """The integer a text stands for, -1 when it is not acceptable."""
        if column == "timestamp":
            parsed = parse_timestamp(text)
            return -1 if parsed is None or parsed < 0 else parsed  # before 1970 is not a meter reading
        if column == "medium":
            return _medium(text)
        if column == "unit":
            return _unit(text)
        if column == "reading_kind":
            return _kind(text)
        if column == "credit_code":
            problem = _credit_code(text)
            if problem:
                self.problem[code] = problem
                return -1
        if column == "meter_id" and not (clean_text(text) or ""):
            return -1
        dense = self.dense[column]
        if len(dense) >= _METER_BITS_CAP:
            raise MeteringFileError(
                "METER_TOO_MANY_IDS", "一个文件中的计量点编号超过 100 万个，请按企业拆分文件"
            )
        dense[code] = len(dense)
        self.undense[column].append(code)
        return dense[code]


# Factor to canonical micro-units, by (medium index, unit index); 0 where the unit does not fit the medium.
_FACTORS = np.zeros((len(MEDIUM_KEYS), len(UNIT_KEYS)), dtype=np.int64)
for _m, _medium_key in enumerate(MEDIUM_KEYS):
    for _unit_key, (_canonical, _factor) in CANONICAL_UNITS[_medium_key].items():
        _FACTORS[_m, UNIT_KEYS.index(_unit_key)] = _factor
_INT64_MAX = np.iinfo(np.int64).max
_UNSEEN = -2
_NULL_CODE = np.iinfo(np.uint32).max  # an empty cell, in a categorical column's codes
_METER_BITS_CAP = 1 << 20


@dataclass
class _Rows:
    """Accepted rows of one batch, as integer arrays: series id, Shanghai seconds, canonical micro-units."""

    sid: np.ndarray
    ts: np.ndarray
    v: np.ndarray

    def take(self, index: np.ndarray) -> _Rows:
        return _Rows(np.take(self.sid, index), np.take(self.ts, index), np.take(self.v, index))


def _codes(series: pl.Series) -> np.ndarray:
    """A categorical column's codes (a null is `_NULL_CODE`), without a copy when there is no null."""
    physical = series.to_physical()
    return (physical.fill_null(_NULL_CODE) if physical.null_count() else physical).to_numpy()


_SERIES_COLUMNS = ("credit_code", "meter_id", "medium", "unit", "reading_kind")


def _typed(frame: pl.DataFrame, lookups: _Lookups, file: str) -> tuple[_Rows, list[Rejection]]:
    """Per-row checks by lookup; returns the accepted rows and one rejection per failing cell."""
    n = frame.height
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return _Rows(empty, empty, empty), []
    # The five columns that name a series change only where one series' run of rows ends (exports list a
    # meter's readings together): they are looked up and checked once per run, not once per row.
    codes = {c: _codes(frame.get_column(c)) for c in _SERIES_COLUMNS}
    change = np.empty(n, dtype=bool)
    change[0] = True
    np.not_equal(codes["credit_code"][1:], codes["credit_code"][:-1], out=change[1:])
    for c in _SERIES_COLUMNS[1:]:
        change[1:] |= codes[c][1:] != codes[c][:-1]
    at = np.flatnonzero(change)
    length = np.diff(np.append(at, n))
    cc, meter, medium, unit, kind = (
        lookups.of(c, frame.get_column(c), np.take(codes[c], at), at) for c in _SERIES_COLUMNS
    )
    pair = np.maximum(medium, 0) * len(UNIT_KEYS) + np.maximum(unit, 0)
    factor = np.where((medium >= 0) & (unit >= 0), np.take(_FACTORS.ravel(), pair), 0)
    run_checks = {
        "credit_code": cc < 0,
        "meter_id": meter < 0,
        "medium": medium < 0,
        "unit": (unit < 0) | ((medium >= 0) & (factor == 0)),
        "reading_kind": kind < 0,
    }
    run_bad = np.logical_or.reduce(list(run_checks.values()))
    # One integer per series: enterprise, meter, then medium and reading kind in the low five bits.
    sid = np.repeat(((cc << 20) + meter) * 32 + medium * 2 + kind, length)
    timestamp = frame.get_column("timestamp")
    ts = lookups.of("timestamp", timestamp, _codes(timestamp))
    value = frame.get_column("value_e6").to_numpy()
    limit = _INT64_MAX // np.maximum(factor, 1)
    too_large = (
        value > np.repeat(limit, length) if len(value) and int(value.max()) > int(limit.min()) else None
    )
    bad = (ts < 0) | (value < 0)
    if too_large is not None:
        bad |= too_large
    if run_bad.any():
        bad |= np.repeat(run_bad, length)
    v = value * np.repeat(factor, length) if int(factor.max()) > 1 or int(factor.min()) < 1 else value
    rows = _Rows(sid, ts, v)
    if not bad.any():
        return rows, []
    checks = {c: np.repeat(m, length) for c, m in run_checks.items()}
    checks["timestamp"] = ts < 0
    checks["value"] = (value < 0) if too_large is None else (value < 0) | too_large
    medium_rows, unit_rows = np.repeat(medium, length), np.repeat(unit, length)
    rejections = _rejections(frame, checks, bad, lookups, file, medium_rows, unit_rows)
    return rows.take(np.flatnonzero(~bad)), rejections


def _rejections(
    frame: pl.DataFrame,
    checks: dict[str, np.ndarray],
    bad: np.ndarray,
    lookups: _Lookups,
    file: str,
    medium: np.ndarray,
    unit: np.ndarray,
) -> list[Rejection]:
    """Rejections in line order; a line that is blank altogether is not a reading and is not reported."""
    rows = np.flatnonzero(bad)
    sub = frame[rows]
    blank = sub.select(pl.all_horizontal(pl.col(c).is_null() for c in COLUMNS)).to_series().to_numpy()
    out: list[Rejection] = []
    for j, i in enumerate(rows):
        if blank[j]:
            lookups.blank += 1
            continue
        line = int(sub["line"][j])
        for column, mask in checks.items():
            if not mask[i]:
                continue
            raw = sub[column][j]
            given = None if raw is None else str(raw)
            err, msg = _reason(column, given, lookups, sub, j, int(medium[i]), int(unit[i]))
            out.append(Rejection(file, SHEET, line, COLUMNS[column], given, err, msg))
    return out


def _reason(
    column: str, given: str | None, lookups: _Lookups, sub: pl.DataFrame, j: int, medium: int, unit: int
) -> tuple[str, str]:
    header = COLUMNS[column]
    if given is None and column != "value":
        return "REQUIRED", f"{header} 为空，请填写"
    if column == "credit_code":
        code = int(sub["credit_code"].to_physical()[j])
        return lookups.problem.get(code, ("CREDIT_CODE_FORMAT", "统一社会信用代码格式错误"))
    if column == "meter_id":
        return "REQUIRED", f"{header} 为空，请填写计量点编号"
    if column == "medium":
        return "METER_MEDIUM_UNKNOWN", f"{header}「{given}」不是可选值，请填写：" + "、".join(MEDIA.values())
    if column == "unit" and unit >= 0 and medium >= 0:
        allowed = "、".join(CANONICAL_UNITS[MEDIUM_KEYS[medium]])
        return (
            "METER_UNIT_MEDIUM_MISMATCH",
            f"{header}「{given}」不适用于介质「{MEDIA[MEDIUM_KEYS[medium]]}」，应为：{allowed}",
        )
    if column == "unit":
        return "METER_UNIT_UNKNOWN", f"{header}「{given}」不是可选单位，请填写：{'、'.join(UNIT_KEYS)}"
    if column == "reading_kind":
        return "METER_KIND_UNKNOWN", f"{header}「{given}」应填写“区间量”或“累计示数”"
    if column == "timestamp":
        return (
            "METER_TIMESTAMP_FORMAT",
            f"{header}「{given}」不是 ISO 8601 时间，请填写如 2025-01-01T00:15:00+08:00（不带时区按北京时间）",
        )
    if given is None:
        return "METER_VALUE_FORMAT", f"{header} 为空或不是数字，请只填写数值（不含单位、千分位或空格）"
    if given.startswith("-"):
        return "METER_VALUE_NEGATIVE", f"{header} {given} 为负数，读数不得小于 0，请核对计量数据"
    return "METER_VALUE_TOO_LARGE", f"{header} {given} 超出可记录范围，请核对单位与数值"


# --- the hot path: one batch of accepted rows ---------------------------------------------------------------


@dataclass
class _Partial:
    days: list[pl.DataFrame] = field(default_factory=list)
    steps: list[pl.DataFrame] = field(default_factory=list)
    overlapping: int = 0
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


def _sorted(rows: _Rows) -> _Rows:
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


def _runs(rows: _Rows) -> _Runs | None:
    """The batch's runs, or None when a series goes back in time or repeats an instant from one run to its next."""
    sid, ts = rows.sid, rows.ts
    n = len(sid)
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


def _in_runs(rows: _Rows) -> tuple[_Rows, _Runs]:
    """The batch as it lies when it is in runs of reasonable length, else sorted (one run per series)."""
    runs = _runs(rows) if len(rows.sid) else None
    if runs is None or len(runs.starts) * _MIN_RUN > len(rows.sid):
        rows = _sorted(rows)
        runs = _runs(rows)
    assert runs is not None  # sorted rows are one run per series
    return rows, runs


def _dedupe(rows: _Rows, runs: _Runs, partial: _Partial) -> tuple[_Rows, _Runs, np.ndarray, np.ndarray]:
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
    conflict_sid = rows.sid[starts[conflict]]
    conflict_day = (rows.ts[starts[conflict]] - 1) // DAY
    rows = rows.take(starts[~conflict])
    new_runs = _runs(rows) if len(rows.sid) else None
    if new_runs is None:  # nothing left, or (cannot happen) out of order: sorting settles either
        rows, new_runs = _in_runs(rows)
    return rows, new_runs, conflict_sid, conflict_day


def _carried(rows: _Rows, runs: _Runs, state: State) -> tuple[np.ndarray, set[int]]:
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


def _process(rows: _Rows, state: State, partial: _Partial, floor: dict[int, int] | None = None) -> set[int]:
    """Aggregate one batch into `partial`, advancing `state`; returns the series that went back in time."""
    if floor:
        # Exact pass: readings at or before the series' last reading from earlier files are already booked.
        limit = np.array([floor.get(int(s), -1) for s in rows.sid], dtype=np.int64)
        old = rows.ts <= limit
        partial.overlapping += int(old.sum())
        rows = rows.take(np.flatnonzero(~old))
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


def _aggregate(rows: _Rows, runs: _Runs, carried: np.ndarray, partial: _Partial) -> None:
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


def _add_conflicts(partial: _Partial, conflict_sid: np.ndarray, conflict_day: np.ndarray) -> None:
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


# --- the stage ----------------------------------------------------------------------------------------------


def ingest(
    path: Path,
    previous: dict[SeriesKey, tuple[str, SeriesState]] | None = None,
    chunk_bytes: int = CHUNK_BYTES,
    sha256: str | None = None,
) -> MeteringResult:
    """Read one export: daily aggregates per series, steps, where each series ends, and rejected lines.

    `previous` is where each series stood after the files ingested before (its reading kind and last reading).
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        # hashlib releases the GIL: the file is hashed on another thread while it is parsed.
        digest = pool.submit(file_sha256, path) if sha256 is None else None
        result = _ingest_file(path, previous or {}, max(1, chunk_bytes // ROW_BYTES))
        result.sha256 = sha256 or (digest.result() if digest else "")
    return result


def _ingest_file(
    path: Path, previous: dict[SeriesKey, tuple[str, SeriesState]], batch_rows: int
) -> MeteringResult:
    sha = ""  # filled in by the caller
    encoding = detect_encoding(path)
    with tempfile.TemporaryDirectory(prefix="metering-") as tmp:
        source = _to_utf8(path, Path(tmp)) if encoding == "gb18030" else path
        with source.open(encoding="utf-8-sig", newline="") as f:
            first = f.readline()
        headers = next(csv.reader([first])) if first.strip() else []
        try:
            keys = header_keys(headers)
        except MeteringFileError as exc:
            rejection = Rejection(path.name, SHEET, 1, None, first.strip()[:200], exc.code, exc.message)
            return MeteringResult(path.name, sha, _empty("days"), _empty("steps"), {}, [rejection], 0)
        try:
            return _ingest(source, path.name, sha, keys, previous, batch_rows, encoding)
        except MeteringFileError as exc:
            rejection = Rejection(path.name, SHEET, None, None, None, exc.code, exc.message)
            return MeteringResult(path.name, sha, _empty("days"), _empty("steps"), {}, [rejection], 0)


def _ingest(
    source: Path,
    name: str,
    sha: str,
    keys: list[str | None],
    previous: dict[SeriesKey, tuple[str, SeriesState]],
    batch_rows: int,
    encoding: str,
) -> MeteringResult:
    lookups = _Lookups()
    partial = _Partial()
    rejections: list[Rejection] = []
    late: set[int] = set()
    received = 0
    state: State = {}
    start: State = {}
    for frame in _batches(source, keys, batch_rows):
        received += frame.height
        rows, bad = _typed(frame, lookups, name)
        rejections.extend(bad)
        for sid in _new_series(rows, lookups, previous, start):
            state[sid] = start[sid]
        if late:
            rows = rows.take(np.flatnonzero(~np.isin(rows.sid, np.array(sorted(late), dtype=np.int64))))
        late |= _process(rows, state, partial)
    received -= lookups.blank  # a blank line is not a reading
    if late:
        # The exact pass: those series' rows all at once, from where they stood before this file.
        wanted = np.array(sorted(late), dtype=np.int64)
        parts = []
        for frame in _batches(source, keys, batch_rows):
            rows, _ = _typed(frame, lookups, name)
            parts.append(rows.take(np.flatnonzero(np.isin(rows.sid, wanted))))
        late_rows = _Rows(*(np.concatenate([getattr(p, a) for p in parts]) for a in ("sid", "ts", "v")))
        late_state = {sid: start[sid] for sid in late if sid in start}
        late_partial = _Partial()
        _process(late_rows, late_state, late_partial, floor={s: ts for s, (ts, _) in late_state.items()})
        partial.days = [d.filter(~pl.col("sid").is_in(wanted)) for d in partial.days] + late_partial.days
        partial.steps = [s.filter(~pl.col("sid").is_in(wanted)) for s in partial.steps] + late_partial.steps
        partial.overlapping += late_partial.overlapping
        partial.duplicates += late_partial.duplicates
        for sid in late:
            state.pop(sid, None)
        state.update(late_state)
    return _finish(name, sha, partial, state, start, rejections, received, len(late), encoding, lookups)


def _new_series(
    rows: _Rows, lookups: _Lookups, previous: dict[SeriesKey, tuple[str, SeriesState]], start: State
) -> list[int]:
    """Series met for the first time in this file that earlier files left somewhere: where they stood."""
    if not previous or len(rows.sid) == 0:
        return []
    found = []
    heads = np.flatnonzero(rows.sid[1:] != rows.sid[:-1]) + 1
    for sid in np.unique(np.append(rows.sid[heads], rows.sid[0])).tolist():
        if sid in start or sid in lookups.checked:
            continue
        lookups.checked.add(sid)
        key, kind = series_key(sid, lookups)
        before = previous.get(key)
        if before is not None and before[0] == kind:
            start[sid] = (before[1].last_ts, before[1].last_counter_e6)
            found.append(sid)
    return found


def series_key(sid: int, lookups: _Lookups) -> tuple[SeriesKey, str]:
    cc = lookups.undense["credit_code"][sid >> 25]
    meter = lookups.undense["meter_id"][(sid >> 5) & (_METER_BITS_CAP - 1)]
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


def _empty(kind: str) -> pl.DataFrame:
    return pl.DataFrame(schema=_SCHEMAS[kind])


def _named(frame: pl.DataFrame, lookups: _Lookups, ordered: bool = False) -> pl.DataFrame:
    """Series ids back to credit code, meter id, medium and reading kind; `ordered`: by those, then day."""
    sids = frame["sid"].unique().to_list()
    names = [series_key(s, lookups) for s in sids]
    table = pl.DataFrame(
        {
            "sid": sids,
            "credit_code": [k[0] for k, _ in names],
            "meter_id": [k[1] for k, _ in names],
            "medium": [k[2] for k, _ in names],
            "reading_kind": [kind for _, kind in names],
        },
        schema_overrides={"sid": pl.Int64},
    )
    if not ordered:
        return frame.join(table, on="sid", how="left").drop("sid")
    # Sorting the few series by their texts, then the rows by integers, is far cheaper than sorting rows by texts.
    table = table.with_columns(rank=pl.struct("credit_code", "meter_id", "medium").rank("dense"))
    return frame.join(table, on="sid", how="left").sort("rank", "day").drop("sid", "rank")


def _finish(
    name: str,
    sha: str,
    partial: _Partial,
    state: State,
    start: State,
    rejections: list[Rejection],
    received: int,
    late: int,
    encoding: str,
    lookups: _Lookups,
) -> MeteringResult:
    days, steps = _empty("days"), _empty("steps")
    if partial.days:
        summed = (
            pl.concat(partial.days)
            .group_by("sid", "day")
            .agg(pl.col("consumption_e6", "present", "resets", "conflicts").sum())
            .with_columns(pl.col("day").cast(pl.Int32).cast(pl.Date))
        )
        days = _named(summed, lookups, ordered=True).select(list(_SCHEMAS["days"]))
    if partial.steps:
        summed = pl.concat(partial.steps).group_by("sid", "step").agg(pl.col("n").sum())
        steps = _named(summed, lookups).select(list(_SCHEMAS["steps"]))
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
    )


def to_decimal(micro: int) -> Decimal:
    """Integer micro-units -> the exact decimal in the canonical unit."""
    return Decimal(micro).scaleb(-SCALE)


def ingest_all(paths: Iterable[Path]) -> list[MeteringResult]:
    """Several exports in file-name order, each continuing where the previous ones left each series."""
    previous: dict[SeriesKey, tuple[str, SeriesState]] = {}
    results = []
    for path in sorted(paths, key=lambda p: p.name):
        result = ingest(path, previous)
        previous.update(result.states)
        results.append(result)
    return results


def months(result: MeteringResult) -> pl.DataFrame:
    """Monthly consumption and coverage per series: readings present against those the usual step expects."""
    series = ["credit_code", "meter_id", "medium", "reading_kind"]
    usual = (
        result.steps.sort("n", "step", descending=[True, False])
        .group_by(series, maintain_order=True)
        .agg(step=pl.col("step").first())
    )
    return (
        result.days.with_columns(
            month=pl.col("day").dt.strftime("%Y-%m"), span=pl.col("day").dt.days_in_month()
        )
        .group_by(*series, "month")
        .agg(pl.col("consumption_e6", "present", "resets", "conflicts").sum(), pl.col("span").first())
        .join(usual, on=series, how="left")
        .with_columns(
            expected=pl.when(pl.col("step") > 0)
            .then(pl.col("span").cast(pl.Int64) * DAY // pl.col("step"))
            .otherwise(pl.col("span").cast(pl.Int64))
        )
        .drop("span")
    )
