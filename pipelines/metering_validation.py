"""Validating a batch of metering lines: each distinct text (credit code, meter, medium, unit, reading kind,
timestamp) is parsed once per file, with Chinese messages; values become exact integer micro-units of the
canonical unit. Returns the accepted rows as integer arrays and one rejection per failing cell."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import polars as pl

from pipelines.cells import clean_text
from pipelines.metering_vocabulary import (
    CANONICAL_UNITS,
    COLUMNS,
    FACTORS,
    MEDIA,
    MEDIUM_KEYS,
    METER_BITS_CAP,
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


def credit_code_problem(text: str) -> tuple[str, str] | None:
    if (clean_text(text) or "") != text:
        return "CREDIT_CODE_FORMAT", "统一社会信用代码含空格或全角字符，请按营业执照填写 18 位代码"
    return credit_code.problem(text)


class Lookups:
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
        if column == "meter_id" and not (clean_text(text) or ""):
            return -1
        dense = self.dense[column]
        if len(dense) >= METER_BITS_CAP:
            raise MeteringFileError(
                "METER_TOO_MANY_IDS", "一个文件中的计量点编号超过 100 万个，请按企业拆分文件"
            )
        dense[code] = len(dense)
        self.undense[column].append(code)
        return dense[code]


_INT64_MAX = np.iinfo(np.int64).max
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
    rows = Rows(sid, ts, v)
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
            raw = sub[column][j]
            given = None if raw is None else str(raw)
            err, msg = _reason(column, given, lookups, sub, j, int(medium[i]), int(unit[i]))
            out.append(Rejection(file, SHEET, line, COLUMNS[column], given, err, msg))
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
