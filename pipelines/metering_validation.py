"""Validating a batch of metering lines: each distinct text (credit code, meter, medium, unit, reading kind,
timestamp) is parsed once per file, with Chinese messages; values become exact integer micro-units of the
canonical unit. Returns the accepted rows as integer arrays and one rejection per failing cell."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import polars as pl

from pipelines.cells import clean_text
from pipelines.metering_reader import shorten
from pipelines.metering_vocabulary import (
    CANONICAL_UNITS,
    COLUMNS,
    EXTRA,
    FACTORS,
    MAX_COUNTER_E6,
    MAX_INTERVAL_E6,
    MEDIA,
    MEDIUM_KEYS,
    METER_BITS_CAP,
    SCALE,
    SHEET,
    UNIT_KEYS,
    MeteringFileError,
    kind_index,
    medium_index,
    unit_index,
)
from pipelines.settings import SHANGHAI
from schemas import credit_code
from schemas.rejection import Rejection
from schemas.sheets import ID_MAX_LENGTH


def parse_timestamp(text: str) -> int | None:
    """ISO 8601 -> Asia/Shanghai wall-clock seconds since 1970-01-01; without an offset it is Shanghai time."""
    try:
        stamp = datetime.fromisoformat(text.strip())
        if stamp.tzinfo is not None:
            stamp = stamp.astimezone(SHANGHAI).replace(tzinfo=None)
    except (ValueError, OverflowError):  # year 9999 with an offset east of UTC overflows: not a reading time
        return None
    if stamp.microsecond:
        return None
    return (stamp - datetime(1970, 1, 1)) // timedelta(seconds=1)


_THOUSANDS = re.compile(r"\d{1,3}(,\d{3})+(\.\d+)?")
_PLAIN = re.compile(r"\d+(\.\d+)?|\.\d+")


def typed_value(text: str) -> int | None:
    """A value as an operator types it (docs/inputs.md: the reader accepts them): full-width digits, thousands
    separators, surrounding spaces -> exact micro-units (half-up at the sixth place); None if not a number or
    negative. Only the few values the fast reader could not read come here."""
    t = unicodedata.normalize("NFKC", text).strip().replace("，", ",")
    if _THOUSANDS.fullmatch(t):
        t = t.replace(",", "")
    if not _PLAIN.fullmatch(t):
        return None
    if len(t.split(".")[0]) > 30:
        return 2**63  # far beyond any meter: rejected as too large
    micro = Decimal(t).scaleb(SCALE).to_integral_value(rounding=ROUND_HALF_UP)
    return int(micro)


def _typed_by_hand(value: np.ndarray, text: pl.Series) -> np.ndarray:
    value = value.copy()
    for i in np.flatnonzero(value < 0).tolist():
        raw = text[i]
        parsed = typed_value(raw) if raw is not None and len(raw) <= 100 else None
        # beyond int64: kept as the largest int64, which the size check rejects with the value as given
        value[i] = -1 if parsed is None else min(parsed, 2**63 - 1)
    return value


def credit_code_problem(text: str) -> tuple[str, str] | None:
    if (clean_text(text) or "") != text:
        return "CREDIT_CODE_FORMAT", "统一社会信用代码含空格或全角字符，请按营业执照填写 18 位代码"
    return credit_code.problem(text)


def meter_id_problem(text: str) -> tuple[str, str] | None:
    """A meter id the tables cannot hold alike on both backends: longer than their column (PostgreSQL refuses it,
    SQLite would keep it), or holding a control character (PostgreSQL refuses NUL in any text)."""
    if len(text) > ID_MAX_LENGTH:
        return (
            "TEXT_TOO_LONG",
            f"计量点编号超过 {ID_MAX_LENGTH} 个字符（共 {len(text)} 个），请核对是否填错列",
        )
    if any(ch < " " for ch in text):
        return (
            "METER_ID_CONTROL_CHARACTER",
            "计量点编号中有控制字符（如 NUL、换行），多半是导出文件损坏：请重新导出",
        )
    return None


class Lookups:
    """What each distinct text of a file means, parsed once: arrays indexed by the categorical code."""

    def __init__(self, not_after: int = 2**62) -> None:
        self.not_after = not_after  # Shanghai wall-clock seconds: a reading stamped later is rejected
        self.sids: set[int] = set()  # every series id that had an acceptable run
        self.value: dict[str, np.ndarray] = {}
        self.text: dict[int, str] = {}
        self.problem: dict[int, tuple[str, str]] = {}
        self.meter_problem: dict[int, tuple[str, str]] = {}  # by the meter_id column's code
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
            # Before 1970, or after the export was made (or today), is not a meter reading: rejected with its
            # line rather than let a stray 2099 make every later export look like a resend.
            return -1 if parsed is None or parsed < 0 or parsed > self.not_after else parsed
        if column == "medium":
            return medium_index(text)
        if column == "unit":
            return unit_index(text)
        if column == "reading_kind":
            return kind_index(text)
        if column == "credit_code":
            problem = credit_code_problem(text)
            if problem:
                self.problem[code] = problem
                return -1
        if column == "meter_id":
            if not (clean_text(text) or ""):
                return -1
            problem = meter_id_problem(text)
            if problem:
                self.meter_problem[code] = problem
                return -1
        dense = self.dense[column]
        if len(dense) >= METER_BITS_CAP:
            raise MeteringFileError(
                "METER_TOO_MANY_IDS", "一个文件中的计量点编号超过 100 万个，请按企业拆分文件"
            )
        dense[code] = len(dense)
        self.undense[column].append(code)
        return dense[code]


_UNSEEN = -2
_NULL_CODE = np.iinfo(np.uint32).max  # an empty cell, in a categorical column's codes


@dataclass
class Rows:
    """Accepted rows of one batch, as integer arrays: series id, Shanghai seconds, canonical micro-units."""

    sid: np.ndarray
    ts: np.ndarray
    v: np.ndarray

    def take(self, index: np.ndarray) -> Rows:
        return Rows(np.take(self.sid, index), np.take(self.ts, index), np.take(self.v, index))


def _codes(series: pl.Series) -> np.ndarray:
    """A categorical column's codes (a null is `_NULL_CODE`), without a copy when there is no null."""
    physical = series.to_physical()
    return (physical.fill_null(_NULL_CODE) if physical.null_count() else physical).to_numpy()


_SERIES_COLUMNS = ("credit_code", "meter_id", "medium", "unit", "reading_kind")


def typed(frame: pl.DataFrame, lookups: Lookups, file: str) -> tuple[Rows, list[Rejection]]:
    """Per-row checks by lookup; returns the accepted rows and one rejection per failing cell."""
    n = frame.height
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return Rows(empty, empty, empty), []
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
    factor = np.where((medium >= 0) & (unit >= 0), np.take(FACTORS.ravel(), pair), 0)
    run_checks = {
        "credit_code": cc < 0,
        "meter_id": meter < 0,
        "medium": medium < 0,
        "unit": (unit < 0) | ((medium >= 0) & (factor == 0)),
        "reading_kind": kind < 0,
    }
    run_bad = np.logical_or.reduce(list(run_checks.values()))
    # One integer per series: enterprise, meter, then medium and reading kind in the low five bits.
    run_sid = ((cc << 20) + meter) * 32 + medium * 2 + kind
    lookups.sids.update(np.unique(run_sid[~run_bad]).tolist())
    sid = np.repeat(run_sid, length)
    timestamp = frame.get_column("timestamp")
    ts = lookups.of("timestamp", timestamp, _codes(timestamp))
    value = frame.get_column("value_e6").to_numpy()
    if int(value.min()) < 0:
        value = _typed_by_hand(value, frame.get_column("value"))
    # The largest reading kept: sums of a month of readings stay far inside int64 (three readings near 2^63
    # would wrap it): 10^10 canonical units an interval, 10^12 on a counter.
    limit = np.where(kind == 1, MAX_COUNTER_E6, MAX_INTERVAL_E6) // np.maximum(factor, 1)
    too_large = (
        value > np.repeat(limit, length) if len(value) and int(value.max()) > int(limit.min()) else None
    )
    extra = frame.get_column(EXTRA)
    too_many = extra.is_not_null().to_numpy() if extra.null_count() < n else None
    bad = (ts < 0) | (value < 0)
    if too_large is not None:
        bad |= too_large
    if too_many is not None:
        bad |= too_many
    if run_bad.any():
        bad |= np.repeat(run_bad, length)
    v = value * np.repeat(factor, length) if int(factor.max()) > 1 or int(factor.min()) < 1 else value
    rows = Rows(sid, ts, v)
    if not bad.any():
        return rows, []
    checks = {c: np.repeat(m, length) for c, m in run_checks.items()}
    checks["timestamp"] = ts < 0
    checks["value"] = (value < 0) if too_large is None else (value < 0) | too_large
    if too_many is not None:
        checks["value"] &= ~too_many
        checks[EXTRA] = too_many
    medium_rows, unit_rows = np.repeat(medium, length), np.repeat(unit, length)
    rejections = _rejections(frame, checks, bad, lookups, file, medium_rows, unit_rows)
    return rows.take(np.flatnonzero(~bad)), rejections


def _rejections(
    frame: pl.DataFrame,
    checks: dict[str, np.ndarray],
    bad: np.ndarray,
    lookups: Lookups,
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
            if column == EXTRA:
                extra: str | None = f"{sub['value'][j] or ''},{sub[EXTRA][j]}"
                err, msg = (
                    "METER_FIELDS_TOO_MANY",
                    (
                        "该行字段多于表头：数值中的千分位逗号（如 1,000）须加英文双引号，或去掉千分位后重新导出"
                    ),
                )
                out.append(Rejection(file, SHEET, line, COLUMNS["value"], shorten(extra), err, msg))
                continue
            raw = sub[column][j]
            given = None if raw is None else str(raw)
            err, msg = _reason(column, given, lookups, sub, j, int(medium[i]), int(unit[i]))
            out.append(Rejection(file, SHEET, line, COLUMNS[column], shorten(given), err, msg))
    return out


def _reason(
    column: str, given: str | None, lookups: Lookups, sub: pl.DataFrame, j: int, medium: int, unit: int
) -> tuple[str, str]:
    header = COLUMNS[column]
    if given is None and column != "value":
        return "REQUIRED", f"{header} 为空，请填写"
    if column == "credit_code":
        code = int(sub["credit_code"].to_physical()[j])
        return lookups.problem.get(code, ("CREDIT_CODE_FORMAT", "统一社会信用代码格式错误"))
    if column == "meter_id":
        code = int(sub["meter_id"].to_physical()[j])
        return lookups.meter_problem.get(code, ("REQUIRED", f"{header} 为空，请填写计量点编号"))
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
    if (
        column == "timestamp"
        and given is not None
        and (parsed := parse_timestamp(given)) is not None
        and parsed >= 0
    ):
        return (
            "METER_TIMESTAMP_FUTURE",
            f"{header}「{shorten(given)}」晚于文件导出时间（或今天），不是已发生的读数：请核对计量系统时钟后重新导出",
        )
    if column == "timestamp":
        return (
            "METER_TIMESTAMP_FORMAT",
            f"{header}「{given}」不是 ISO 8601 时间，请填写如 2025-01-01T00:15:00+08:00（不带时区按北京时间）",
        )
    if given is not None and given.strip().startswith("-"):
        return "METER_VALUE_NEGATIVE", f"{header} {shorten(given)} 为负数，读数不得小于 0，请核对计量数据"
    if given is None or len(given) > 100 or typed_value(given) is None:
        return "METER_VALUE_FORMAT", f"{header} 为空或不是数字，请只填写数值（不含单位）"
    return "METER_VALUE_TOO_LARGE", f"{header} {given} 超出可记录范围，请核对单位与数值"
