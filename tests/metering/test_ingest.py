"""The metering stage on small real CSV files: units, resets, duplicates, time zones, rejections, batches."""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from pipelines import metering_rollup
from pipelines.metering import MeteringResult, ingest, to_decimal
from schemas.credit_code import make

EN = ["credit_code", "meter_id", "medium", "unit", "reading_kind", "timestamp", "value"]
ZH = ["统一社会信用代码", "计量点编号", "介质", "单位", "读数类型", "时间", "数值"]

GOOD = make("150200", 10_007_919)  # a valid GB 32100 code of 包头市


def write(path: Path, rows: list[list[str]], header: list[str] = EN, encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def by_day(result: MeteringResult, meter: str) -> dict[str, tuple[Decimal, int]]:
    rows = result.days.filter(pl.col("meter_id") == meter).iter_rows(named=True)
    return {r["day"].isoformat(): (to_decimal(r["consumption_e6"]), r["present"]) for r in rows}


def test_a_counter_that_goes_down_was_reset_and_its_new_reading_is_that_steps_consumption(tmp_path: Path):
    rows = [
        [GOOD, "C1", "electricity", "kWh", "cumulative", f"2025-03-0{d}T00:00:00+08:00", v]
        for d, v in [(1, "1000"), (2, "1100.5"), (3, "30"), (4, "80")]
    ]
    result = ingest(write(tmp_path / "m.csv", rows))
    days = by_day(result, "C1")
    assert days["2025-03-01"] == (Decimal("100.5"), 1)
    assert days["2025-03-02"] == (Decimal("30"), 1)  # reset: the new reading is the consumption
    assert days["2025-03-03"] == (Decimal("50"), 1)
    assert days["2025-02-28"][1] == 0  # the first reading only sets the counter
    assert result.resets == 1


def test_an_identical_duplicate_counts_once_and_a_conflicting_one_makes_the_interval_missing(tmp_path: Path):
    def row(hour: int, value: str) -> list[str]:
        return [GOOD, "I1", "电", "kWh", "区间量", f"2025-03-01 {hour:02d}:00:00", value]

    rows = [row(1, "10"), row(2, "20"), row(2, "20"), row(3, "30"), row(3, "31"), row(4, "40")]
    result = ingest(write(tmp_path / "m.csv", rows))
    assert by_day(result, "I1")["2025-03-01"] == (Decimal("70"), 3)
    assert (result.duplicates, result.conflicts) == (1, 1)
    assert result.rejected == 0


def test_megawatt_hours_tonnes_and_wan_cubic_metres_become_kwh_kg_and_cubic_metres(tmp_path: Path):
    stamp = "2025-03-01T12:00:00+08:00"
    rows = [
        [GOOD, "E1", "electricity", "MWh", "interval", stamp, "1.5"],
        [GOOD, "E1", "electricity", "kWh", "interval", "2025-03-01T13:00:00+08:00", "250"],
        [GOOD, "W1", "water", "万m3", "interval", stamp, "0.0125"],
        [GOOD, "W2", "水", "t", "区间量", stamp, "7"],
        [GOOD, "K1", "raw_coal", "t", "interval", stamp, "2.5"],
        [GOOD, "H1", "heat", "GJ", "interval", stamp, "3"],
        [GOOD, "G1", "natural_gas", "万m3", "interval", stamp, "1"],
    ]
    days = ingest(write(tmp_path / "m.csv", rows)).days
    got = {r["meter_id"]: to_decimal(r["consumption_e6"]) for r in days.iter_rows(named=True)}
    assert got == {
        "E1": Decimal("1750"),
        "W1": Decimal("125"),
        "W2": Decimal("7"),
        "K1": Decimal("2500"),
        "H1": Decimal("3000"),
        "G1": Decimal("10000"),
    }


def test_a_gb18030_file_with_chinese_headers_is_read_like_utf8(tmp_path: Path):
    rows = [[GOOD, "计量点一", "天然气", "立方米", "区间量", "2025-03-01T08:00:00+08:00", "12.25"]]
    utf8 = ingest(write(tmp_path / "a.csv", rows, ZH))
    gb = ingest(write(tmp_path / "b.csv", rows, ZH, encoding="gb18030"))
    assert gb.encoding == "gb18030"
    assert gb.days.drop("day").equals(utf8.days.drop("day"))
    assert by_day(gb, "计量点一") == {"2025-03-01": (Decimal("12.25"), 1)}


def test_a_reading_stamped_at_midnight_belongs_to_the_day_before_and_offsets_are_converted(tmp_path: Path):
    rows = [
        [GOOD, "D1", "electricity", "kWh", "interval", "2025-01-01T00:00:00+08:00", "5"],  # ends 2024-12-31
        [GOOD, "D1", "electricity", "kWh", "interval", "2025-01-01T00:00:01", "6"],  # Shanghai, no offset
        [GOOD, "D2", "electricity", "kWh", "interval", "2024-12-31T16:00:00Z", "7"],  # = 2025-01-01 00:00 +08
        [GOOD, "D3", "electricity", "kWh", "interval", "2025-01-01T01:00:00+09:00", "8"],  # = 00:00 +08
    ]
    result = ingest(write(tmp_path / "m.csv", rows))
    assert by_day(result, "D1") == {"2024-12-31": (Decimal(5), 1), "2025-01-01": (Decimal(6), 1)}
    assert by_day(result, "D2") == {"2024-12-31": (Decimal(7), 1)}
    assert by_day(result, "D3") == {"2024-12-31": (Decimal(8), 1)}


def test_negative_non_numeric_and_ill_formed_cells_are_rejected_with_their_line_and_column(tmp_path: Path):
    stamp = "2025-03-01T01:00:00+08:00"
    rows = [
        [GOOD, "R1", "electricity", "kWh", "interval", stamp, "1"],
        [GOOD, "R1", "electricity", "kWh", "interval", "2025-03-01T02:00:00+08:00", "-3"],
        [GOOD, "R1", "electricity", "kWh", "interval", "2025-03-01T03:00:00+08:00", "abc"],
        [GOOD, "R1", "electricity", "kg", "interval", "2025-03-01T04:00:00+08:00", "1"],
        [GOOD, "R1", "steam!", "kWh", "interval", "2025-03-01T05:00:00+08:00", "1"],
        [GOOD, "R1", "electricity", "kWh", "interval", "01/03/2025 06:00", "1"],
        [GOOD[:-1] + "0", "R1", "electricity", "kWh", "interval", stamp, "1"],
    ]
    result = ingest(write(tmp_path / "m.csv", rows))
    got = {(r.row_number, r.column, r.code) for r in result.rejections}
    assert got == {
        (3, "数值", "METER_VALUE_NEGATIVE"),
        (4, "数值", "METER_VALUE_FORMAT"),
        (5, "单位", "METER_UNIT_MEDIUM_MISMATCH"),
        (6, "介质", "METER_MEDIUM_UNKNOWN"),
        (7, "时间", "METER_TIMESTAMP_FORMAT"),
        (8, "统一社会信用代码", "CREDIT_CODE_CHECKSUM"),
    }
    assert all(r.sheet == "metering" and r.message for r in result.rejections)
    negative = next(r for r in result.rejections if r.code == "METER_VALUE_NEGATIVE")
    assert negative.value == "-3.000000" or negative.value.startswith("-3")
    assert (result.received, result.accepted, result.rejected) == (7, 1, 6)
    assert by_day(result, "R1") == {"2025-03-01": (Decimal(1), 1)}


def test_a_file_with_a_missing_column_is_rejected_as_a_whole(tmp_path: Path):
    path = write(tmp_path / "m.csv", [[GOOD, "X", "electricity", "kWh", "interval", "2025-03-01"]], EN[:-1])
    result = ingest(path)
    assert [(r.row_number, r.code) for r in result.rejections] == [(1, "METER_COLUMNS_MISSING")]
    assert "数值" in result.rejections[0].message and result.days.height == 0


@pytest.mark.parametrize("chunk_bytes", [200, 1 << 20])
def test_rows_out_of_time_order_across_batches_give_the_same_days_as_rows_in_order(
    tmp_path: Path, chunk_bytes: int
):
    ordered = [
        [GOOD, m, "electricity", "kWh", kind, f"2025-03-{d:02d}T00:00:00+08:00", str(d * 10 + i)]
        for i, (m, kind) in enumerate([("A", "interval"), ("B", "cumulative")])
        for d in range(1, 11)
    ]
    shuffled = ordered[5:] + ordered[:5] + [ordered[7]]  # late rows, and an identical repeat
    expected = ingest(write(tmp_path / "a.csv", ordered))
    got = ingest(write(tmp_path / "b.csv", shuffled), chunk_bytes=chunk_bytes)
    assert got.days.sort("meter_id", "day").equals(expected.days.sort("meter_id", "day"))
    assert got.duplicates == 1
    assert chunk_bytes > 1000 or got.exact_pass_series >= 1


def test_a_later_file_reaching_back_to_stored_readings_sets_that_meter_aside_for_the_store_to_compare(
    tmp_path: Path,
):
    def row(day: int, value: str) -> list[str]:
        return [GOOD, "C", "electricity", "kWh", "cumulative", f"2025-03-{day:02d}T00:00:00+08:00", value]

    first = ingest(write(tmp_path / "1.csv", [row(1, "100"), row(2, "150")]))
    second = ingest(write(tmp_path / "2.csv", [row(2, "150"), row(3, "190")]), previous=first.states)
    assert by_day(second, "C") == {}  # nothing booked from the file alone: the store recomputes it
    assert second.revisited is not None and second.revisited["meter_id"].to_list() == ["C"]
    assert second.revisited["day"].to_list() == [(date(2025, 3, 1) - date(1970, 1, 1)).days]
    assert second.overlapping == 1


def interval_rows(meters: list[str], days: int, hours: int) -> list[list[str]]:
    """Hourly interval readings, one meter's day after another (the usual export), values in thousandths."""
    return [
        [GOOD, m, "electricity", "kWh", "interval", f"2025-03-{d:02d}T{h:02d}:00:00+08:00", f"{i}.{h:03d}"]
        for d in range(1, days + 1)
        for i, m in enumerate(meters, start=1)
        for h in range(1, hours + 1)
    ]


def test_a_file_interleaving_meters_row_by_row_gives_the_same_days_as_one_listing_each_meters_day_together(
    tmp_path: Path,
):
    grouped = interval_rows(["A", "B", "C"], days=4, hours=23)
    interleaved = sorted(grouped, key=lambda r: (r[5], r[1]))  # every meter's reading of an instant together
    expected = ingest(write(tmp_path / "a.csv", grouped), chunk_bytes=2_000)
    got = ingest(write(tmp_path / "b.csv", interleaved), chunk_bytes=2_000)
    assert got.days.equals(expected.days)
    assert by_day(got, "B")["2025-03-02"] == (sum(Decimal(f"2.{h:03d}") for h in range(1, 24)), 23)
    assert got.exact_pass_series == 0


def test_an_instant_repeated_in_a_later_run_of_the_same_meter_counts_once(tmp_path: Path):
    rows = interval_rows(["A", "B"], days=1, hours=6)
    repeat = rows[2]  # meter A at 03:00 once more, after meter B's run
    result = ingest(write(tmp_path / "m.csv", [*rows, repeat]))
    assert result.duplicates == 1 and result.conflicts == 0
    assert by_day(result, "A")["2025-03-01"] == (sum(Decimal(f"1.{h:03d}") for h in range(1, 7)), 6)


def test_an_empty_cell_or_blank_line_inside_a_meters_run_rejects_only_that_line(tmp_path: Path):
    rows = interval_rows(["A"], days=1, hours=5)
    rows[1] = [GOOD, "", *rows[1][2:]]  # line 3: no meter id
    rows[3] = []  # line 5: blank, not a reading
    result = ingest(write(tmp_path / "m.csv", rows))
    assert [(r.row_number, r.column, r.code) for r in result.rejections] == [(3, "计量点编号", "REQUIRED")]
    assert (result.received, result.rejected) == (4, 1)
    assert by_day(result, "A")["2025-03-01"] == (Decimal("1.001") + Decimal("1.003") + Decimal("1.005"), 3)


def test_batches_summed_along_the_way_give_the_same_days_and_steps_as_summed_at_the_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    path = write(tmp_path / "m.csv", interval_rows(["A", "B", "C"], days=6, hours=24))
    at_the_end = ingest(path, chunk_bytes=1_000)
    monkeypatch.setattr(metering_rollup, "_COMPACT_ROWS", 10)
    along_the_way = ingest(path, chunk_bytes=1_000)
    assert along_the_way.days.equals(at_the_end.days)
    assert along_the_way.steps.sort("meter_id", "step").equals(at_the_end.steps.sort("meter_id", "step"))
