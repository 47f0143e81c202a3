"""A large table's rows kept from a night before (pipelines/row_cache.py) are written byte for byte as they would
be computed, and only when every value in them is the same."""

from __future__ import annotations

import json
import os
import pickle
import re
import shutil
import time
import zipfile
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from pipelines import excel, row_cache
from pipelines.excel import _HEADER_ROW, Col, Frame, new_workbook, save, write_table
from pipelines.row_cache import CACHED_FROM, RowCache
from pipelines.settings import SHANGHAI
from rules.catalog import DEPARTMENTS
from tests.conftest import Nightly

COLUMNS = [
    Col("名称", "name", width=16),
    Col("金额(元)", "amount", "yuan"),
    Col("日期", "day", "date"),
    Col("是否", "flag"),
    Col("说明", "note", width=20),
    Col("件数", "count", "int"),
    Col("代码", "code", screen=True),
]
ROWS = CACHED_FROM + 50


def _rows() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for i in range(ROWS):
        rows.append(
            {
                "name": f"包头铝业{i % 7}有限公司",
                "amount": Decimal(i) / 4 if i % 5 else None,
                "day": date(2026, 1, 1 + i % 28),
                "flag": i % 3 == 0,
                "note": '=HYPERLINK("x")' if i == 3 else "说明" * (1 + i % 30),
                "count": i,
                "code": f"C-{i}",
                "_fill": "review" if i % 11 == 0 else None,
                "_subtotal": i % 50 == 49,
            }
        )
    return rows


def _sheet(path: Path, rows: list[dict[str, Any]], cache: RowCache | None, as_of: date) -> bytes:
    """The sheet's XML, the table written under a frame dated `as_of` and followed by its totals and notes."""
    wb = new_workbook(cache)
    frame = Frame("申报评审明细表", "工信厅", as_of, "rb-test", datetime(2026, 11, 25, 2, 0, tzinfo=SHANGHAI))
    write_table(wb, "明细", COLUMNS, rows, frame=frame, totals={"name": "合计", "count": 1}, notes=("备注",))
    save(wb, path)
    with zipfile.ZipFile(path) as z:
        return z.read("xl/worksheets/sheet1.xml")


@pytest.fixture
def hits(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    found: list[str] = []
    get = RowCache.get

    def counted(self: RowCache, key: str) -> row_cache.Kept | None:
        kept = get(self, key)
        if kept is not None:
            found.append(key)
        return kept

    monkeypatch.setattr(RowCache, "get", counted)
    return found


def test_rows_kept_from_a_night_before_are_written_as_they_would_be_computed(tmp_path: Path, hits: list[str]):
    cache = RowCache(tmp_path / "kept")
    tonight, tomorrow = date(2026, 11, 25), date(2026, 11, 26)
    computed = _sheet(tmp_path / "plain.xlsx", _rows(), None, tomorrow)
    first = _sheet(tmp_path / "first.xlsx", _rows(), cache, tonight)
    assert hits == [] and len(list(cache.folder.glob("*/*"))) == 1
    # The next night: another date above the table, the same rows below it, and the totals and notes after them
    # numbered on from the kept rows.
    again = _sheet(tmp_path / "again.xlsx", _rows(), cache, tomorrow)
    assert len(hits) == 1
    assert again == computed != first
    assert b"2026-11-26" in again and again.count(b"<row ") == computed.count(b"<row ")


@pytest.mark.parametrize(
    "change",
    [
        {"amount": Decimal("1.250")},  # equal to 1.25, but written with another number of digits
        {"count": True},  # equal to 1, but is another value
        {"day": "2026-01-02"},  # a text, not the date
        {"note": "说明说明 "},
        {"_fill": "review"},
        {"_subtotal": True},
    ],
)
def test_any_value_differing_in_any_row_computes_the_rows_again(
    tmp_path: Path, hits: list[str], change: dict[str, Any]
):
    cache = RowCache(tmp_path / "kept")
    _sheet(tmp_path / "first.xlsx", _rows(), cache, date(2026, 11, 25))
    changed = _rows()
    changed[5] |= change
    written = _sheet(tmp_path / "changed.xlsx", changed, cache, date(2026, 11, 26))
    assert hits == []
    assert written == _sheet(tmp_path / "plain.xlsx", changed, None, date(2026, 11, 26))


def test_equal_values_find_the_kept_rows_however_they_share_objects(tmp_path: Path, hits: list[str]):
    cache = RowCache(tmp_path / "kept")
    _sheet(tmp_path / "first.xlsx", _rows(), cache, date(2026, 11, 25))
    shared = _rows()
    text, amount = "说明" * 3, Decimal("0.25")
    for row in shared:  # one object in many rows, where the first night had one per row
        if row["note"] == text:
            row["note"] = text
        if row["amount"] == amount:
            row["amount"] = amount
    _sheet(tmp_path / "again.xlsx", shared, cache, date(2026, 11, 26))
    assert len(hits) == 1


class _Unpicklable:
    def __init__(self, text: str) -> None:
        self.text = text

    def __str__(self) -> str:
        return self.text

    def __reduce__(self) -> Any:
        raise TypeError("not for keeping")


def test_a_table_holding_a_value_that_cannot_be_pickled_is_written_and_not_kept(tmp_path: Path):
    cache = RowCache(tmp_path / "kept")
    rows = _rows()
    rows[7]["name"] = _Unpicklable("包头铝业有限公司")
    plain = _rows()
    plain[7]["name"] = "包头铝业有限公司"
    written = _sheet(tmp_path / "odd.xlsx", rows, cache, date(2026, 11, 25))
    assert not cache.folder.exists()
    assert written == _sheet(tmp_path / "plain.xlsx", plain, None, date(2026, 11, 25))


def _after_another_sheet(path: Path, cache: RowCache | None) -> bytes:
    """The table as the second sheet of a workbook whose first sheet registered other styles first."""
    wb = new_workbook(cache)
    frame = Frame(
        "概况", "财政厅", date(2026, 11, 26), "rb-test", datetime(2026, 11, 26, 2, 0, tzinfo=SHANGHAI)
    )
    write_table(wb, "概况", [Col("占比", "share", "pct"), Col("数量", "qty", "qty")], [{"share": 1, "qty": 2}],
                frame=frame)  # fmt: skip
    write_table(
        wb, "明细", COLUMNS, _rows(), frame=frame, totals={"name": "合计", "count": 1}, notes=("备注",)
    )
    save(wb, path)
    with zipfile.ZipFile(path) as z:
        return z.read("xl/worksheets/sheet2.xml")


def test_rows_kept_under_other_style_ids_are_computed_again(tmp_path: Path, hits: list[str]):
    cache = RowCache(tmp_path / "kept")
    _sheet(tmp_path / "first.xlsx", _rows(), cache, date(2026, 11, 25))
    written = _after_another_sheet(tmp_path / "second.xlsx", cache)
    assert written == _after_another_sheet(tmp_path / "plain.xlsx", None)
    assert written != _sheet(tmp_path / "alone.xlsx", _rows(), None, date(2026, 11, 26))  # the ids differ


def test_a_kept_file_that_cannot_be_read_is_computed_again(tmp_path: Path, hits: list[str]):
    cache = RowCache(tmp_path / "kept")
    _sheet(tmp_path / "first.xlsx", _rows(), cache, date(2026, 11, 25))
    (kept,) = cache.folder.glob("*/*")
    kept.write_bytes(b"half a file")
    written = _sheet(tmp_path / "again.xlsx", _rows(), cache, date(2026, 11, 26))
    assert hits == []
    assert written == _sheet(tmp_path / "plain.xlsx", _rows(), None, date(2026, 11, 26))
    assert _sheet(tmp_path / "third.xlsx", _rows(), cache, date(2026, 11, 26)) == written and len(hits) == 1


class _Planted:
    """What a pickle planted in the kept folder would run on being read."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> Any:
        return (Path.touch, (self.marker,))


@pytest.mark.parametrize("planted", ["pickle", "cut short", "wrong types"])
def test_a_kept_file_is_read_as_data_and_used_only_whole(tmp_path: Path, hits: list[str], planted: str):
    cache = RowCache(tmp_path / "kept")
    _sheet(tmp_path / "first.xlsx", _rows(), cache, date(2026, 11, 25))
    (kept,) = cache.folder.glob("*/*")
    marker = tmp_path / "ran"
    if planted == "pickle":
        kept.write_bytes(pickle.dumps(_Planted(marker)))
    elif planted == "cut short":
        kept.write_bytes(kept.read_bytes()[:-100])
    else:
        magic, header, xml = kept.read_bytes().split(b"\n", 2)
        fields = json.loads(header) | {"widths": ["12", 30]}
        kept.write_bytes(b"\n".join([magic, json.dumps(fields).encode(), xml]))
    written = _sheet(tmp_path / "again.xlsx", _rows(), cache, date(2026, 11, 26))
    assert hits == [] and not marker.exists()
    assert written == _sheet(tmp_path / "plain.xlsx", _rows(), None, date(2026, 11, 26))


def test_a_small_table_is_not_kept(tmp_path: Path):
    cache = RowCache(tmp_path / "kept")
    _sheet(tmp_path / "small.xlsx", _rows()[: CACHED_FROM - 1], cache, date(2026, 11, 25))
    assert not cache.folder.exists()


def test_what_no_night_has_read_for_two_days_is_removed(tmp_path: Path):
    cache = RowCache(tmp_path / "kept")
    _sheet(tmp_path / "a.xlsx", _rows(), cache, date(2026, 11, 25))
    _sheet(tmp_path / "b.xlsx", _rows()[:-1], cache, date(2026, 11, 25))
    old, recent = sorted(cache.folder.glob("*/*"))
    long_ago = time.time() - (row_cache.KEEP_DAYS * 86_400 + 60)
    os.utime(old, (long_ago, long_ago))
    assert cache.prune() == 1
    assert list(cache.folder.glob("*/*")) == [recent]


ROW = re.compile(rb'<row r="(\d+)".*?</row>', re.S)


def _table_rows(book: Path) -> dict[str, list[bytes]]:
    """Every sheet's rows below its header (the lines above carry the date and time written)."""
    with zipfile.ZipFile(book) as z:
        sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
        return {
            name: [m.group(0) for m in ROW.finditer(z.read(name)) if int(m.group(1)) > _HEADER_ROW]
            for name in sheets
        }


def test_the_next_nights_reports_write_the_kept_rows_as_they_would_be_computed(
    nightly: Nightly, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(excel, "CACHED_FROM", 1)  # the sample's tables are small: keep every one
    nightly.run()
    kept = nightly.reports / row_cache.FOLDER
    files = sorted(kept.glob("*/*"))
    assert files, "the first night keeps its tables' rows"
    dated = nightly.reports / nightly.as_of.isoformat()
    assert not any(p.name == row_cache.FOLDER for p in dated.rglob("*"))  # away from what departments read

    nightly.as_of += timedelta(days=1)  # nothing new: the same rows, another date above them
    nightly.run()
    assert set(kept.glob("*/*")) >= set(files)
    kept_books = {
        p.name: _table_rows(p) for p in (nightly.reports / nightly.as_of.isoformat()).glob("*.xlsx")
    }
    shutil.rmtree(kept)
    nightly.run()  # the same night, every row computed
    computed = {p.name: _table_rows(p) for p in (nightly.reports / nightly.as_of.isoformat()).glob("*.xlsx")}
    assert kept_books == computed and len(computed) == len(DEPARTMENTS) + 1
