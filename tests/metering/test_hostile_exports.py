"""Metering exports as hostile or careless senders make them: each bad file or line is a rejection with its line,
value as given and a Chinese message, and the rest of the night goes on (issue 13 items 5 and 7; issue 11 item 6)."""

from __future__ import annotations

import os
import random
from decimal import Decimal
from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy import text

from assets.metering import meter_readings
from pipelines.defs.resources import LedgerDatabase, resources_for
from pipelines.metering import MeteringResult, ingest, to_decimal
from schemas.credit_code import make
from tests.mutations import mutate_bytes

GOOD = make("150200", 10_007_919)
HEADER = "credit_code,meter_id,medium,unit,reading_kind,timestamp,value\n"


def line(hour: int, value: str, meter: str = "E1", day: str = "2025-03-01") -> str:
    return f"{GOOD},{meter},electricity,kWh,interval,{day}T{hour:02d}:00:00+08:00,{value}\n"


def codes(result: MeteringResult) -> list[tuple[int | None, str]]:
    return [(r.row_number, r.code) for r in result.rejections]


def total(result: MeteringResult) -> Decimal:
    return to_decimal(int(result.days["consumption_e6"].sum())) if result.days.height else Decimal(0)


def test_a_utf16_export_is_rejected_as_a_file_with_a_chinese_reason(tmp_path: Path):
    path = tmp_path / "u16.csv"
    path.write_text(HEADER + line(1, "5"), encoding="utf-16")
    result = ingest(path)
    assert codes(result) == [(None, "METER_ENCODING")] and result.received == 0
    assert "UTF-8" in result.rejections[0].message


def test_a_first_data_line_with_too_many_or_too_few_fields_rejects_only_that_line(tmp_path: Path):
    many = tmp_path / "many.csv"
    many.write_text(HEADER + line(1, "1,5") + line(2, "2"))
    few = tmp_path / "few.csv"
    few.write_text(HEADER + f"{GOOD},E1,electricity\n" + line(2, "2"))
    got_many, got_few = ingest(many), ingest(few)
    assert codes(got_many) == [(2, "METER_FIELDS_TOO_MANY")] and total(got_many) == 2
    assert got_many.rejections[0].value == "1,5"
    assert {c for _, c in codes(got_few)} == {"REQUIRED", "METER_VALUE_FORMAT"}
    assert {n for n, _ in codes(got_few)} == {2} and total(got_few) == 2


def test_a_reading_in_year_9999_or_2099_is_rejected_and_does_not_poison_the_meter(tmp_path: Path):
    path = tmp_path / "future.csv"
    path.write_text(
        HEADER
        + "".join(
            f"{GOOD},E1,electricity,kWh,interval,{stamp},1\n"
            for stamp in ("9999-12-31T23:00:00+08:00", "9999-12-31T23:00:00", "2099-01-01T00:00:00+08:00")
        )
        + line(2, "2")
    )
    result = ingest(path)
    assert codes(result) == [
        (2, "METER_TIMESTAMP_FUTURE"),
        (3, "METER_TIMESTAMP_FUTURE"),
        (4, "METER_TIMESTAMP_FUTURE"),
    ]
    assert result.rejections[2].value == "2099-01-01T00:00:00+08:00"
    ((_, state),) = result.states.values()
    assert state.last_ts < 2**31  # the meter stands at 2025-03-01 02:00, not in 2099


def test_a_header_of_a_million_columns_or_a_100_mb_line_is_a_rejection_not_a_crash(tmp_path: Path):
    wide = tmp_path / "wide.csv"
    wide.write_text(",".join(f"c{i}" for i in range(10**6)) + "\n" + line(1, "1"))
    long = tmp_path / "long.csv"
    long.write_text(HEADER + line(1, "9" * (100 << 20)) + line(2, "2"))
    got_wide, got_long = ingest(wide), ingest(long)
    assert codes(got_wide) == [(1, "METER_HEADER_TOO_LONG")]
    assert codes(got_long) == [(2, "METER_VALUE_FORMAT")] and total(got_long) == 2
    shown = got_long.rejections[0].value or ""
    assert len(shown) < 300 and shown.endswith(f"（共 {(100 << 20)} 个字符）")


def test_a_file_named_in_gb18030_bytes_is_read_and_named_as_the_operator_spelled_it(tmp_path: Path):
    raw = os.path.join(os.fsencode(tmp_path), "能耗监测".encode("gb18030") + b".csv")
    with open(raw, "w", encoding="utf-8") as f:
        f.write(HEADER + line(1, "3"))
    (path,) = tmp_path.iterdir()
    result = ingest(path)
    assert result.file == "能耗监测.csv" and total(result) == 3 and result.rejected == 0


def test_cr_only_line_endings_are_read_line_by_line(tmp_path: Path):
    path = tmp_path / "mac.csv"
    path.write_bytes((HEADER + line(1, "1") + line(2, "2")).replace("\n", "\r").encode())
    result = ingest(path)
    assert (result.received, result.rejected, total(result)) == (2, 0, Decimal(3))


def test_values_typed_with_thousands_separators_or_full_width_digits_are_accepted(tmp_path: Path):
    path = tmp_path / "typed.csv"
    path.write_text(
        HEADER + line(1, '"1,000"') + line(2, "１２３") + line(3, '"１，２３４.５"') + line(4, " 7 ")
    )
    result = ingest(path)
    assert result.rejected == 0 and total(result) == Decimal("2364.5")


def test_an_unquoted_thousands_separator_mid_file_is_rejected_with_its_line_not_read_as_one(tmp_path: Path):
    path = tmp_path / "comma.csv"
    path.write_text(HEADER + line(1, "5") + line(2, "6") + line(3, "1,000") + line(4, "7"))
    result = ingest(path)
    assert codes(result) == [(4, "METER_FIELDS_TOO_MANY")] and total(result) == 18
    assert result.rejections[0].value == "1,000" and "引号" in result.rejections[0].message


def test_a_rejected_metering_row_keeps_the_value_as_given(tmp_path: Path):
    path = tmp_path / "bad.csv"
    path.write_text(HEADER + line(1, "12 kWh") + line(2, "-3"))
    result = ingest(path)
    assert [(r.code, r.value) for r in result.rejections] == [
        ("METER_VALUE_FORMAT", "12 kWh"),
        ("METER_VALUE_NEGATIVE", "-3"),
    ]


def test_huge_readings_that_would_wrap_int64_are_rejected(tmp_path: Path):
    path = tmp_path / "huge.csv"
    path.write_text(
        HEADER + "".join(line(h, "9223372036854") for h in (1, 2, 3)) + line(4, "9" * 26) + line(5, "1")
    )
    result = ingest(path)
    assert [c for _, c in codes(result)] == ["METER_VALUE_TOO_LARGE"] * 4
    assert total(result) == 1


def test_a_night_with_every_kind_of_bad_export_books_the_good_one_and_records_each_rejection(tmp_path: Path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a-utf16.csv").write_text(HEADER + line(1, "5"), encoding="utf-16")
    (inbox / "b-wide.csv").write_text(",".join(f"c{i}" for i in range(10**5)) + "\n")
    (inbox / "c-future.csv").write_text(HEADER + line(1, "1", day="2099-01-01"))
    with open(os.path.join(os.fsencode(inbox), "d-名".encode("gb18030") + b".csv"), "w") as f:
        f.write(HEADER + line(1, "4", meter="E2"))
    (inbox / "e-good.csv").write_text(HEADER + line(1, "10") + line(2, "20"))
    (inbox / "f-quote.csv").write_text(HEADER + line(1, "3", meter="E3") + line(2, "3", meter='"E3'))
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    resources = resources_for(str(inbox), url)
    with dg.instance_for_test() as instance:
        assert dg.materialize([meter_readings], resources=resources, instance=instance).success
    with LedgerDatabase(url=url).engine().connect() as conn:
        booked = dict(
            conn.execute(text("SELECT meter_id, SUM(consumption_e6) FROM meter_days GROUP BY meter_id")).all()
        )
        rejected = conn.execute(
            text("SELECT file, code FROM submission_rejections WHERE sheet = 'metering' ORDER BY file")
        ).all()
    assert booked == {"E1": 30 * 10**6, "E2": 4 * 10**6}
    assert [tuple(r) for r in rejected] == [
        ("a-utf16.csv", "METER_ENCODING"),
        ("b-wide.csv", "METER_HEADER_TOO_LONG"),
        ("c-future.csv", "METER_TIMESTAMP_FUTURE"),
        ("f-quote.csv", "METER_CSV_MALFORMED"),
    ]


def test_an_unclosed_quote_rejects_the_file_naming_its_line_and_keeps_none_of_its_readings(tmp_path: Path):
    # the CSV parser cannot tell where any later field ends: it used to stop the whole night with its own error
    path = tmp_path / "2025-03-02-引号.csv"
    path.write_text(HEADER + line(1, "3") + line(2, "3", meter='"E1') + line(3, "3"), encoding="utf-8")
    readings = tmp_path / "readings"
    result = ingest(path, readings=readings)
    assert codes(result) == [(None, "METER_CSV_MALFORMED")]  # the whole file, its line named
    (rejection,) = result.rejections
    assert "第 3 行" in rejection.message and "双引号" in rejection.message
    assert rejection.value is not None and rejection.value.startswith(f'{GOOD},"E1,')  # the line as given
    assert result.days.height == 0 and result.sink is None
    assert not any(p.is_file() for p in readings.rglob("*"))


def test_bytes_past_the_first_megabyte_in_another_encoding_reject_the_file_naming_their_line(tmp_path: Path):
    # the encoding is judged from the first megabyte; a later line in GB18030 used to stop the whole night
    filler = "".join(line(h % 24, "1", meter=f"M{i}") for i, h in enumerate(range(20_000)))
    assert len(filler) > 1 << 20
    path = tmp_path / "2025-03-02-混合.csv"
    path.write_bytes((HEADER + filler).encode() + line(1, "2", meter="电表一").encode("gb18030"))
    result = ingest(path, readings=tmp_path / "readings")
    assert codes(result) == [(None, "METER_ENCODING")]
    assert "第 20002 行" in result.rejections[0].message and result.days.height == 0


def test_a_damaged_byte_rejects_the_file_naming_its_line_instead_of_stopping_the_night(tmp_path: Path):
    # a Chinese header makes the first megabyte decide the encoding; a byte neither UTF-8 nor GB18030 later on
    chinese = "统一社会信用代码,计量点编号,介质,单位,读数类型,时间,数值\n"
    path = tmp_path / "2025-03-02-损坏.csv"
    path.write_bytes(
        chinese.encode("gb18030") + line(1, "3").encode() + line(2, "3").encode()[:20] + b"\x80\xff\n"
    )
    result = ingest(path, readings=tmp_path / "readings")
    assert codes(result) == [(None, "METER_ENCODING")]
    assert "第 3 行" in result.rejections[0].message and result.days.height == 0


def test_a_meter_whose_only_readings_conflict_is_a_day_with_a_conflict_not_a_crash(tmp_path: Path):
    path = tmp_path / "2025-03-02-冲突.csv"
    path.write_text(HEADER + line(1, "5") + line(1, "6"), encoding="utf-8")
    result = ingest(path)
    assert result.rejections == [] and result.conflicts == 1 and total(result) == 0


def test_no_mutation_of_a_good_export_stops_the_intake(tmp_path: Path):
    # bytes flipped, cut, inserted (quotes, commas, line ends, NUL, a BOM, huge or negative numbers, full-width
    # dates): each is read or rejected, never an exception that would stop the night
    chinese = "统一社会信用代码,计量点编号,介质,单位,读数类型,时间,数值\n"
    rows = "".join(
        f"{GOOD},E{i % 3},电,kWh,区间量,2025-03-01T{i % 24:02d}:{i * 15 % 60:02d}:00+08:00,{i % 7}\n"
        for i in range(100)
    )
    good = (chinese + rows).encode()
    inserts = [
        b'"',
        b",",
        b"\n",
        b"\r",
        b"\x00",
        b"\xef\xbb\xbf",
        b"1e999",
        b"-",
        b"9" * 25,
        "２０２５年".encode(),
    ]
    rng = random.Random(20261204)
    for i in range(150):
        data = mutate_bytes(good, rng, inserts, rng.randint(1, 6))
        path = tmp_path / f"2025-03-02-{i}.csv"
        path.write_bytes(data)
        result = ingest(path, readings=tmp_path / "readings")
        assert result.received >= result.rejected >= 0, i  # accepted + rejected = received


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_an_over_long_meter_id_or_one_holding_a_nul_is_a_line_rejection_on_both_backends(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
):
    # meter_id is VARCHAR(100): PostgreSQL refused the whole booking (and NUL in any text), SQLite took it
    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_url")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    filler = "".join(line(h % 24, "1", meter=f"M{i}") for i, h in enumerate(range(20_000)))  # NUL past 1 MB
    (inbox / "2025-03-02-电表.csv").write_text(
        HEADER + filler + line(1, "2", meter="E" * 101) + line(2, "2", meter="E\x00X") + line(3, "7"),
        encoding="utf-8",
    )
    with dg.instance_for_test() as instance:
        assert dg.materialize(
            [meter_readings], resources=resources_for(str(inbox), url), instance=instance
        ).success
    with LedgerDatabase(url=url).engine().connect() as conn:
        rejected = conn.execute(
            text(
                "SELECT row_number, code FROM submission_rejections WHERE sheet = 'metering' ORDER BY row_number"
            )
        ).all()
        e1 = conn.execute(text("SELECT SUM(consumption_e6) FROM meter_days WHERE meter_id = 'E1'")).scalar()
    assert [tuple(r) for r in rejected] == [(20_002, "TEXT_TOO_LONG"), (20_003, "METER_ID_CONTROL_CHARACTER")]
    assert e1 == 7 * 10**6  # the good line after them is booked
