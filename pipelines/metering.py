"""The metering stage: one 能耗在线监测 CSV export (inputs.md §2) to exact daily consumption per meter.

Streaming: the file is read in chunks of whole lines (polars' multi-threaded CSV parser on each), so memory follows
the chunk size, not the file. The repetitive text columns (credit code, meter, medium, unit, reading kind,
timestamp) are read as categoricals and each distinct text is parsed and validated once, in Python, with Chinese
messages; per-row work is vectorised integer arithmetic in numpy (one 64-bit sort key per row, run-length
aggregation instead of hashing). Line numbers assume one record per line (no quoted line breaks).
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
CHUNK_BYTES = 96 << 20  # one batch: about 1.2 million rows, bounded memory whatever the file size

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


def _chunks(path: Path, size: int) -> Iterator[tuple[int, bytes]]:
    """(line number of the chunk's first row, whole lines); the header line is line 1 and is skipped."""
    line = 2
    with path.open("rb") as f:
        f.readline()
        rest = b""
        while True:
            block = f.read(size)
            if not block:
                if rest.strip():
                    yield line, rest + b"\n"
                return
            block = rest + block
            cut = block.rfind(b"\n") + 1
            if cut == 0:
                rest = block
                continue
            yield line, block[:cut]
            line += block.count(b"\n", 0, cut)
            rest = block[cut:]


def _read(chunk: bytes, first_line: int, keys: list[str | None]) -> pl.DataFrame:
    names = [k or f"_ignored_{i}" for i, k in enumerate(keys)]
    schema = {n: (pl.Decimal(38, SCALE) if n == "value" else pl.Categorical) for n in names}
    frame = pl.read_csv(
        chunk,
        has_header=False,
        schema=schema,
        ignore_errors=True,  # a value that is not a number reads as null, and is rejected with its line
        row_index_name="line",
        row_index_offset=first_line,
        truncate_ragged_lines=True,
    )
    return frame.select("line", *COLUMNS)


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

    def of(self, column: str, frame: pl.DataFrame) -> np.ndarray:
        """What each row's text means (-1: not acceptable); texts not met before in this file are parsed now."""
        series = frame.get_column(column)
        codes = series.to_physical().fill_null(0).to_numpy()
        table = self.value.get(column, np.zeros(0, dtype=np.int64))
        if len(codes) and int(codes.max()) >= len(table):
            grown = np.full(int(codes.max()) + 1, _UNSEEN, dtype=np.int64)
            grown[: len(table)] = table
            self.value[column] = table = grown
        meaning = np.take(table, codes)  # np.take: far faster than fancy indexing with uint32 codes
        unseen = meaning == _UNSEEN
        if unseen.any():
            fresh = series.filter(pl.Series(unseen)).drop_nulls().unique()
            pairs = zip(fresh.to_physical().to_list(), fresh.cast(pl.String).to_list(), strict=True)
            for code, text in pairs:
                self.text[code] = text
                table[code] = self._meaning(column, code, text)
            meaning = np.take(table, codes)
        if series.null_count():
            meaning = np.where(series.is_null().to_numpy(), -1, meaning)
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
_METER_BITS_CAP = 1 << 20


@dataclass
class _Rows:
    """Accepted rows of one batch, as integer arrays: series id, Shanghai seconds, canonical micro-units."""

    sid: np.ndarray
    ts: np.ndarray
    v: np.ndarray

    def take(self, index: np.ndarray) -> _Rows:
        return _Rows(np.take(self.sid, index), np.take(self.ts, index), np.take(self.v, index))


def _typed(frame: pl.DataFrame, lookups: _Lookups, file: str) -> tuple[_Rows, list[Rejection]]:
    """Per-row checks by lookup; returns the accepted rows and one rejection per failing cell."""
    cc = lookups.of("credit_code", frame)
    meter = lookups.of("meter_id", frame)
    medium = lookups.of("medium", frame)
    unit = lookups.of("unit", frame)
    kind = lookups.of("reading_kind", frame)
    ts = lookups.of("timestamp", frame)
    pair = np.maximum(medium, 0) * len(UNIT_KEYS) + np.maximum(unit, 0)
    factor = np.where((medium >= 0) & (unit >= 0), np.take(_FACTORS.ravel(), pair), 0)
    raw_value = frame.get_column("value")
    value = raw_value.to_physical().cast(pl.Int64, strict=False).fill_null(-1).to_numpy()
    checks = {
        "credit_code": cc < 0,
        "meter_id": meter < 0,
        "medium": medium < 0,
        "unit": (unit < 0) | ((medium >= 0) & (factor == 0)),
        "reading_kind": kind < 0,
        "timestamp": ts < 0,
        "value": (value < 0) | (value > _INT64_MAX // np.maximum(factor, 1)),
    }
    bad = np.logical_or.reduce(list(checks.values()))
    # One integer per series: enterprise, meter, then medium and reading kind in the low five bits.
    rejections = _rejections(frame, checks, bad, lookups, file, medium, unit) if bad.any() else []
    sid = ((cc << 20) + meter) * 32 + medium * 2 + kind
    rows = _Rows(sid, ts, value * factor)
    if bad.any():
        rows = rows.take(np.flatnonzero(~bad))
    return rows, rejections


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


State = dict[int, tuple[int, int | None]]  # series id -> (last timestamp, last counter reading)


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


def _process(rows: _Rows, state: State, partial: _Partial, floor: dict[int, int] | None = None) -> set[int]:
    """Aggregate one batch into `partial`, advancing `state`; returns the series that went back in time."""
    rows = _sorted(rows)
    if floor:
        # Exact pass: readings at or before the series' last reading from earlier files are already booked.
        limit = np.array([floor.get(int(s), -1) for s in rows.sid], dtype=np.int64)
        old = rows.ts <= limit
        partial.overlapping += int(old.sum())
        rows = rows.take(np.flatnonzero(~old))
    n = len(rows.sid)
    if n == 0:
        return set()
    same = np.zeros(n, dtype=bool)
    same[1:] = rows.sid[1:] == rows.sid[:-1]
    dup = np.zeros(n, dtype=bool)
    dup[1:] = same[1:] & (rows.ts[1:] == rows.ts[:-1])
    conflict_sid = conflict_day = np.zeros(0, dtype=np.int64)
    if dup.any():
        starts = np.flatnonzero(~dup)
        lo = np.minimum.reduceat(rows.v, starts)
        hi = np.maximum.reduceat(rows.v, starts)
        size = np.diff(np.append(starts, n))
        conflict = lo != hi
        partial.duplicates += int((size[~conflict] - 1).sum())
        keep = starts[~conflict]
        conflict_sid = rows.sid[starts[conflict]]
        conflict_day = (rows.ts[starts[conflict]] - 1) // DAY
        rows = rows.take(keep)
        n = len(rows.sid)
        same = np.zeros(n, dtype=bool)
        same[1:] = rows.sid[1:] == rows.sid[:-1]

    # A series whose first reading here is not after where it stood: set aside for the exact pass.
    firsts = np.flatnonzero(~same)
    carried = np.full(n, -1, dtype=np.int64)
    late: set[int] = set()
    for i in firsts:
        sid = int(rows.sid[i])
        before = state.get(sid)
        if before is None:
            continue
        if rows.ts[i] <= before[0]:
            late.add(sid)
        elif before[1] is not None:
            carried[i] = before[1]
    if late:
        out = np.isin(rows.sid, np.array(sorted(late), dtype=np.int64))
        rows, carried = rows.take(np.flatnonzero(~out)), carried[~out]
        inside = ~np.isin(conflict_sid, np.array(sorted(late), dtype=np.int64))
        conflict_sid, conflict_day = conflict_sid[inside], conflict_day[inside]
        n = len(rows.sid)
        same = np.zeros(n, dtype=bool)
        same[1:] = rows.sid[1:] == rows.sid[:-1]
    if n == 0:
        return late

    cumulative = (rows.sid & 1) == 1
    prev = np.where(same, np.roll(rows.v, 1), carried)
    known = ~cumulative | (prev >= 0)
    reset = cumulative & known & (rows.v < prev)
    use = np.where(cumulative, np.where(reset, rows.v, rows.v - prev), rows.v)
    use = np.where(known, use, 0)
    day = (rows.ts - 1) // DAY
    boundary = ~same
    boundary[1:] |= day[1:] != day[:-1]
    starts = np.flatnonzero(boundary)
    days = {
        "sid": rows.sid[starts],
        "day": day[starts],
        "consumption_e6": np.add.reduceat(use, starts),
        "present": np.add.reduceat(known.astype(np.int64), starts),
        "resets": np.add.reduceat(reset.astype(np.int64), starts),
        "conflicts": np.zeros(len(starts), dtype=np.int64),
    }
    partial.days.append(pl.DataFrame(days))
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
    # Steps between consecutive readings, counted per run of equal steps (a meter's step rarely changes).
    pairs = same[1:]
    step = (rows.ts[1:] - rows.ts[:-1])[pairs]
    step_sid = rows.sid[1:][pairs]
    if len(step):
        change = np.ones(len(step), dtype=bool)
        change[1:] = (step[1:] != step[:-1]) | (step_sid[1:] != step_sid[:-1])
        runs = np.flatnonzero(change)
        counts = np.diff(np.append(runs, len(step)))
        partial.steps.append(
            pl.DataFrame({"sid": step_sid[runs], "step": step[runs], "n": counts})
            .group_by("sid", "step")
            .agg(pl.col("n").sum())
        )
    lasts = np.flatnonzero(np.append(~same[1:], True))
    for i in lasts:
        sid = int(rows.sid[i])
        state[sid] = (int(rows.ts[i]), int(rows.v[i]) if sid & 1 else None)
    return late


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
    sha = sha256 or file_sha256(path)
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
            return _ingest(source, path.name, sha, keys, previous or {}, chunk_bytes, encoding)
        except MeteringFileError as exc:
            rejection = Rejection(path.name, SHEET, None, None, None, exc.code, exc.message)
            return MeteringResult(path.name, sha, _empty("days"), _empty("steps"), {}, [rejection], 0)


def _ingest(
    source: Path,
    name: str,
    sha: str,
    keys: list[str | None],
    previous: dict[SeriesKey, tuple[str, SeriesState]],
    chunk_bytes: int,
    encoding: str,
) -> MeteringResult:
    lookups = _Lookups()
    partial = _Partial()
    rejections: list[Rejection] = []
    late: set[int] = set()
    received = 0
    state: State = {}
    start: State = {}
    for first_line, chunk in _chunks(source, chunk_bytes):
        frame = _read(chunk, first_line, keys)
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
        for first_line, chunk in _chunks(source, chunk_bytes):
            rows, _ = _typed(_read(chunk, first_line, keys), lookups, name)
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
    for sid in pl.Series(rows.sid).unique().to_list():
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


def _named(frame: pl.DataFrame, lookups: _Lookups) -> pl.DataFrame:
    """Series ids back to credit code, meter id, medium and reading kind."""
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
    return frame.join(table, on="sid", how="left").drop("sid")


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
        days = (
            _named(summed, lookups)
            .select(list(_SCHEMAS["days"]))
            .sort("credit_code", "meter_id", "medium", "day")
        )
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
