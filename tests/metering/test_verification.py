"""Metering in the database and in the decisions: incremental ingest, period measures, foreign meters, the
renewable-share view, and the sample's savings applications decided from its metering export."""

from __future__ import annotations

import csv
import json
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy import create_engine, text

from assets.metering import meter_readings
from pipelines.defs.resources import LedgerDatabase, resources_for
from pipelines.metering import ingest
from pipelines.metering_boundary import SeriesDays, metered_saving, steps_by_meter
from pipelines.metering_store import store
from rules.decision import Outcome
from rules.engine import decide_all
from rules.model import Application, SavingsClaim
from rules.parameters import Parameters
from samples.build import credit_codes
from samples.metering import SAMPLE_FILE
from schemas.credit_code import make
from schemas.migrate import upgrade
from tests.conftest import Nightly
from tests.rules.builders import savings_claim

A = make("150200", 10_007_919)
B = make("150300", 10_015_838)
HEADER = ["credit_code", "meter_id", "medium", "unit", "reading_kind", "timestamp", "value"]


def daily(
    code: str, meter: str, medium: str, first: date, last: date, value: str, skip: set[date] = frozenset()
):
    """One interval reading a day, stamped at the midnight that ends the day."""
    rows, day = [], first
    while day <= last:
        if day not in skip:
            stamp = datetime.combine(day + timedelta(days=1), datetime.min.time()).isoformat() + "+08:00"
            rows.append([code, meter, medium, "kWh" if medium != "water" else "m3", "interval", stamp, value])
        day += timedelta(days=1)
    return rows


def write(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


def claim(meters: tuple[str, ...], saving: str = "100") -> SavingsClaim:
    return savings_claim(saving, meters, base_output="1000", report_output="1000")


def _database(url: str):
    engine = create_engine(url)
    upgrade(engine)
    return engine


def _two_years(tmp_path: Path) -> Path:
    gaps = {date(2025, 3, d) for d in range(1, 21)}  # 20 days missing in the reporting year
    rows = (
        daily(A, "E1", "electricity", date(2024, 1, 1), date(2025, 12, 31), "1000")
        + daily(A, "E2", "electricity", date(2024, 1, 1), date(2025, 12, 31), "500", skip=gaps)
        + daily(A, "R1", "renewable_electricity", date(2024, 1, 1), date(2025, 12, 31), "300")
        + daily(B, "B1", "electricity", date(2024, 1, 1), date(2025, 12, 31), "10")
    )
    return write(tmp_path / "2026-01-05-export.csv", rows)


def _measure_on(url: str, tmp_path: Path) -> None:
    engine = _database(url)
    parameters = Parameters.load()
    result = ingest(_two_years(tmp_path))
    store(engine, result, "run-1", parameters)
    kgce = Decimal(Parameters.load().at(date(2025, 1, 1))["energy.kgce_per_unit.electricity"].value)
    with engine.connect() as conn:
        metered, detail = metered_saving(conn, "ENERGY_SAVING", A, claim(("E1", "E2")), parameters)
        foreign, _ = metered_saving(conn, "ENERGY_SAVING", A, claim(("E1", "B1", "NOPE")), parameters)
        # A night reads every claim's meters at once, more than one query's worth of them: the same figures
        night = [f"X{i}" for i in range(5000)] + ["E1", "E2", "B1", "NOPE"]
        read_once, _ = metered_saving(
            conn, "ENERGY_SAVING", A, claim(("E1", "B1", "NOPE")), parameters,
            SeriesDays.read(conn, night), steps_by_meter(conn, night),
        )  # fmt: skip
        shares = conn.execute(
            text("SELECT electricity_kwh, renewable_kwh, share FROM renewable_shares WHERE credit_code = :c AND month = '2024-06'"),
            {"c": A},
        ).one()  # fmt: skip
    # Baseline 2024 (366 days, both meters complete); reporting 2025 with 20 days of E2 missing.
    assert metered.baseline.consumption == Decimal(366 * 1500) * kgce / 1000
    assert metered.reporting.consumption == Decimal(365 * 1000 + 345 * 500) * kgce / 1000
    assert (metered.baseline.present_intervals, metered.baseline.expected_intervals) == (732, 732)
    assert (metered.reporting.present_intervals, metered.reporting.expected_intervals) == (710, 730)
    # The boundary's coverage is its weakest meter's (E2: 345 / 365), never the pooled 710 / 730 that would
    # let a complete meter hide a gappy one; six places, never rounded up.
    assert metered.reporting.coverage == Decimal("0.945205")
    assert metered.meter_ids == ("E1", "E2") and not metered.foreign_meters
    assert {m["meter_id"] for m in detail["meters"]} == {"E1", "E2"}
    # Renewable electricity is a part of electricity: it is not energy consumption a second time.
    assert foreign.foreign_meters == ("B1",) and foreign.unknown_meters == ("NOPE",)
    assert read_once == foreign
    assert Decimal(str(shares.electricity_kwh)) == Decimal(30 * 1500)
    assert Decimal(str(shares.share)).quantize(Decimal("0.0001")) == Decimal("0.2000")


def test_period_measures_count_whole_days_coverage_and_tce_exactly_on_sqlite(tmp_path: Path):
    _measure_on(f"sqlite:///{tmp_path / 'ledger.sqlite'}", tmp_path)


@pytest.mark.postgres
def test_period_measures_count_whole_days_coverage_and_tce_exactly_on_postgresql(tmp_path: Path, pg_url: str):
    _measure_on(pg_url, tmp_path)


def test_a_coefficient_changed_inside_a_period_converts_each_day_with_the_one_in_force_that_day(
    tmp_path: Path,
):
    """The operator sees the standard coal the days' own coefficients give, never one coefficient for the year."""
    engine = _database(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    key = "energy.kgce_per_unit.electricity"
    parameters = Parameters.load().with_value(
        key, "0.3", date(2025, 7, 1), "test: a new coefficient mid-year"
    )
    store(engine, ingest(_two_years(tmp_path)), "run-1", parameters)
    with engine.connect() as conn:
        metered, _ = metered_saving(conn, "ENERGY_SAVING", A, claim(("E1", "E2")), parameters)
    old = Decimal(Parameters.load().at(date(2025, 1, 1))[key].value)
    first_half = 181 * 1000 + (181 - 20) * 500  # 2025-01-01..06-30, E2 missing 20 days of March
    second_half = 184 * (1000 + 500)
    assert old != Decimal("0.3")
    assert (
        metered.reporting.consumption
        == (Decimal(first_half) * old + Decimal(second_half) * Decimal("0.3")) / 1000
    )


def test_a_savings_application_whose_meter_belongs_to_another_enterprise_is_rejected(tmp_path: Path):
    engine = _database(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    parameters = Parameters.load()
    store(engine, ingest(_two_years(tmp_path)), "run-1", parameters)
    with engine.connect() as conn:
        metered, _ = metered_saving(conn, "ENERGY_SAVING", A, claim(("E1", "B1"), "10"), parameters)
    app = Application(
        "ES-X",
        "ENERGY_SAVING",
        A,
        project_code="XM-ES-X",
        submitted_on=date(2026, 1, 10),
        construction_start=date(2024, 11, 1),
        completion_date=date(2024, 12, 31),
        savings_claims=(claim(("E1", "B1"), "10"),),
        metered=metered,
    )
    [decision] = decide_all([app], date(2026, 11, 24), parameters)
    assert decision.outcome == Outcome.REJECTED
    assert any("B1" in c.message for c in decision.conditions if c.passed is False)


def test_a_nightly_run_reads_only_new_exports_and_a_file_ingested_twice_changes_nothing(tmp_path: Path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    rows = daily(A, "E1", "electricity", date(2025, 1, 1), date(2025, 1, 31), "10")
    write(inbox / "2025-01.csv", rows[:20])
    resources = resources_for(str(inbox), url)

    def run() -> dict[str, object]:
        with dg.instance_for_test() as instance:
            assert dg.materialize([meter_readings], resources=resources, instance=instance).success
        engine = LedgerDatabase(url=url).engine()
        with engine.connect() as conn:
            month = conn.execute(text("SELECT * FROM meter_months WHERE month = '2025-01'")).mappings().one()
            files = conn.execute(text("SELECT COUNT(*) FROM metering_files")).scalar_one()
            days = conn.execute(text("SELECT COUNT(*) FROM meter_days")).scalar_one()
        return {"month": dict(month), "files": files, "days": days}

    first = run()
    assert first["month"]["consumption_e6"] == 200 * 10**6 and first["files"] == 1
    assert run() == first  # the same file again: nothing changes
    (inbox / "2025-01-copy.csv").write_bytes((inbox / "2025-01.csv").read_bytes())
    assert run()["days"] == first["days"]  # same content under another name: already ingested
    write(inbox / "2025-02.csv", rows[19:])  # the next export repeats the last reading of the previous one
    third = run()
    assert third["month"]["consumption_e6"] == 310 * 10**6
    assert third["month"]["readings_present"] == 31 and third["month"]["readings_expected"] == 31


def _reference_saving(csv_path: Path, meters: set[str], kgce: Decimal) -> Decimal:
    """ES-001 recomputed from the CSV with the csv module alone: E_base − E_report (equal outputs), in tce."""
    totals = {2024: Decimal(0), 2025: Decimal(0)}
    last: dict[str, Decimal] = {}
    with csv_path.open(encoding="utf-8") as f:
        for r in csv.DictReader(f):
            if r["计量点编号"] not in meters:
                continue
            stamp = datetime.fromisoformat(r["时间"]).replace(tzinfo=None) - timedelta(seconds=1)
            value = Decimal(r["数值"]) * (1000 if r["单位"] == "MWh" else 1)
            if r["读数类型"] == "累计示数":
                previous, last[r["计量点编号"]] = last.get(r["计量点编号"]), value
                if previous is None:
                    continue
                value = value if value < previous else value - previous
            if stamp.year in totals:
                totals[stamp.year] += value
    return (totals[2024] - totals[2025]) * kgce / 1000


@pytest.mark.slow
def test_the_sample_savings_applications_are_decided_from_its_metering_export(nightly: Nightly):
    assert nightly.run().success
    decisions = {r["application_id"]: r for r in nightly.rows("SELECT * FROM application_decisions")}
    kgce = Decimal(Parameters.load().at(date(2025, 1, 1))["energy.kgce_per_unit.electricity"].value)
    verified = _reference_saving(nightly.inbox / SAMPLE_FILE, {"EN-E01", "EN-E02"}, kgce)
    assert Decimal(2000) <= verified < Decimal(2500)  # the award basis is the verified figure
    assert decisions["ES-001"]["decision"] == "awarded"
    expected_fen = int((verified * 200).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP") * 100)
    assert int(decisions["ES-001"]["amount_fen"]) == expected_fen
    assert decisions["ES-002"]["decision"] == "rejected"  # verified below 2,000 tce
    assert decisions["ES-003"]["decision"] == "needs_review"  # coverage below 95 %
    reasons = json.loads(decisions["ES-003"]["reasons"])
    gap = next(r for r in reasons if r["code"] == "METERING_COVERAGE_LOW" and r["passed"] is False)
    # Per meter and period: what was measured, what was missing, and why it is not paid on a guess.
    assert gap["message"].startswith(
        "计量点 XG-E01（电）基期 2024-01-01 至 2024-12-31：按其常用间隔每 1 天一个读数"
    )
    assert "应有 366 个读数，实有 329 个，缺 37 个，完整率 89.89%，低于 95.00%" in gap["message"]
    assert "计量" in gap["message"] and "转人工审核" in gap["message"]
    explained = json.loads(decisions["ES-001"]["reasons"])
    per_meter = [r for r in explained if r["code"] == "METERING_COVERAGE_LOW"]
    assert {(r["values"]["meter_id"], r["values"]["period"]) for r in per_meter} == {
        (m, p) for m in ("EN-E01", "EN-E02") for p in ("基期", "报告期")
    }
    assert all(r["passed"] and "吨标准煤" in r["message"] for r in per_meter)
    assert decisions["WS-001"]["decision"] == "awarded"
    rc = credit_codes()[3]
    assert nightly.scalar("SELECT COUNT(*) FROM recycled_database WHERE credit_code = :c", c=rc) == 24
    share = nightly.scalar(
        "SELECT share FROM renewable_shares WHERE credit_code = :c AND month = '2025-06'", c=credit_codes()[2]
    )
    assert Decimal(str(share)).quantize(Decimal("0.01")) == Decimal("0.55")
