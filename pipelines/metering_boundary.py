"""What the rules and registers read back from the metering tables: one savings claim's per-meter, per-period
figures, and each enterprise's monthly totals. Figures only; which meters count and how coverage is judged is
policy, in `rules.savings`."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from pipelines.applications import savings_claim
from pipelines.intake import Submissions
from pipelines.metering import CANONICAL_UNIT, SeriesKey, to_decimal
from pipelines.metering_months import coefficient_spans, day_tce, expected, steps_of
from rules import energy, savings
from rules.model import MeteredSaving, MeterFigures, PeriodMeasure, SavingsClaim
from rules.parameters import Parameters
from schemas.tables import meter_days

_CHUNK = 500  # meter ids per IN list


class SeriesDays:
    """Each metered series' day totals (over every export) as running sums, so that any period's quantity,
    readings and conflicts are one subtraction: a night's savings claims cost one read of the days they name,
    not a query per meter and period."""

    def __init__(self, rows: Iterable[tuple[str, str, str, date, int, int, int]]) -> None:
        # series -> (day ordinals, running e6, running readings, running conflicts), each starting at 0
        self._sums: dict[SeriesKey, tuple[list[int], list[int], list[int], list[int]]] = {}
        for cc, meter_id, medium, day, e6, n, bad in rows:
            days, use, present, conflicts = self._sums.setdefault((cc, meter_id, medium), ([], [0], [0], [0]))
            days.append(day.toordinal())
            use.append(use[-1] + int(e6))
            present.append(present[-1] + int(n))
            conflicts.append(conflicts[-1] + int(bad or 0))

    @classmethod
    def read(cls, conn: Connection, meter_ids: Iterable[str]) -> SeriesDays:
        """The days of every series of these meters, whoever reports them."""
        wanted = sorted(set(meter_ids))
        rows: list[Any] = []
        for i in range(0, len(wanted), _CHUNK):
            rows += conn.execute(
                select(
                    meter_days.c.credit_code,
                    meter_days.c.meter_id,
                    meter_days.c.medium,
                    meter_days.c.day,
                    func.sum(meter_days.c.consumption_e6),
                    func.sum(meter_days.c.readings_present),
                    func.sum(meter_days.c.conflicts),
                )
                .where(meter_days.c.meter_id.in_(wanted[i : i + _CHUNK]))
                .group_by(
                    meter_days.c.credit_code, meter_days.c.meter_id, meter_days.c.medium, meter_days.c.day
                )
                .order_by(
                    meter_days.c.credit_code, meter_days.c.meter_id, meter_days.c.medium, meter_days.c.day
                )
            ).all()
        return cls(rows)

    def total(self, series: SeriesKey, first: date, last: date) -> tuple[int, int, int, int]:
        """(days with data, e6, readings, conflicts) of one series over first..last, inclusive."""
        sums = self._sums.get(series)
        if sums is None:
            return 0, 0, 0, 0
        days, use, present, conflicts = sums
        lo, hi = bisect_left(days, first.toordinal()), bisect_right(days, last.toordinal())
        return hi - lo, use[hi] - use[lo], present[hi] - present[lo], conflicts[hi] - conflicts[lo]


def meter_figures(
    days: SeriesDays,
    series: SeriesKey,
    step: int | None,
    period: str,
    first: date,
    last: date,
    parameters: Parameters,
) -> MeterFigures:
    """One meter over whole days first..last (Asia/Shanghai), inclusive: quantity, tce (each day's
    coefficient), readings present and those its own usual step expects. Figures only: the rules judge them."""
    _, meter_id, medium = series
    use = present = conflicts = 0
    converted = Decimal(0)
    for start, end in coefficient_spans(medium, first, last, parameters):
        counted, e6, n, bad = days.total(series, start, end)
        if not counted:
            continue
        use, present, conflicts = use + e6, present + n, conflicts + bad
        converted += day_tce(medium, start, e6, parameters) or Decimal(0)
    return MeterFigures(
        meter_id=meter_id,
        medium=medium,
        period=period,
        unit=CANONICAL_UNIT[medium],
        quantity=to_decimal(use),
        converted=converted if energy.is_energy(medium) else None,
        present=present,
        expected=expected((last - first).days + 1, step),
        step_seconds=step,
        conflicts=conflicts,
    )


MeterSteps = dict[
    str, list[tuple[str, str, int | None]]
]  # meter id -> (credit code, medium, usual step) each


def steps_by_meter(conn: Connection, meter_ids: Iterable[str]) -> MeterSteps:
    """Every series of these meters, whoever reports them, by meter."""
    out: MeterSteps = defaultdict(list)
    for (cc, meter_id, medium), step in steps_of(conn, meter_ids).items():
        out[meter_id].append((cc, medium, step))
    return out


def metered_saving(
    conn: Connection,
    program: str,
    credit_code: str,
    claim: SavingsClaim,
    parameters: Parameters,
    days: SeriesDays | None = None,
    steps: MeterSteps | None = None,
) -> tuple[MeteredSaving, dict[str, Any]]:
    """The per-meter, per-period figures of one claim's boundary, every medium of every claimed meter the
    applicant reports; which of them count and how coverage is judged is `rules.savings`. A claimed meter that
    only another enterprise reports is foreign, one nobody reports unknown. `days` and `steps`, when given, hold
    at least the claimed meters' series (read once for every claim of a night)."""
    own: dict[str, list[tuple[str, int | None]]] = defaultdict(list)
    elsewhere: set[str] = set()
    steps = steps if steps is not None else steps_by_meter(conn, claim.meter_ids)
    for meter_id in dict.fromkeys(claim.meter_ids):  # a meter listed twice is one meter
        for cc, medium, step in steps.get(meter_id, ()):
            if cc == credit_code:
                own[meter_id].append((medium, step))
            else:
                elsewhere.add(meter_id)
    foreign = tuple(m for m in claim.meter_ids if m not in own and m in elsewhere)
    unknown = tuple(m for m in claim.meter_ids if m not in own and m not in elsewhere)
    periods = {"baseline": (claim.baseline_start, claim.baseline_end),
               "reporting": (claim.reporting_start, claim.reporting_end)}  # fmt: skip
    days = days if days is not None else SeriesDays.read(conn, claim.meter_ids)
    meters = tuple(
        meter_figures(days, (credit_code, meter_id, medium), step, period, first, last, parameters)
        for meter_id in claim.meter_ids
        for medium, step in sorted(own.get(meter_id, []))
        for period, (first, last) in periods.items()
    )
    draft = MeteredSaving(
        (),
        PeriodMeasure(Decimal(0), Decimal(0), 0, 0),
        PeriodMeasure(Decimal(0), Decimal(0), 0, 0),
        meters=meters,
    )
    base = savings.period_measure(program, savings.counted(program, draft, "baseline"))
    report = savings.period_measure(program, savings.counted(program, draft, "reporting"))
    saving = MeteredSaving(
        meter_ids=tuple(dict.fromkeys(m.meter_id for m in savings.counted(program, draft, "baseline"))),
        baseline=base,
        reporting=report,
        foreign_meters=foreign,
        unknown_meters=unknown,
        meters=meters,
    )
    by_key = {(m.meter_id, m.medium, m.period): m for m in meters}
    detail = {
        "meters": [
            {
                "meter_id": m.meter_id,
                "medium": m.medium,
                "unit": m.unit,
                "counted": savings.counts_toward(program, m.medium),
                "step_seconds": m.step_seconds,
                "baseline_quantity": str(m.quantity),
                "reporting_quantity": str(by_key[(m.meter_id, m.medium, "reporting")].quantity),
                "baseline_coverage": f"{m.present}/{m.expected}",
                "reporting_coverage": f"{by_key[(m.meter_id, m.medium, 'reporting')].present}/"
                f"{by_key[(m.meter_id, m.medium, 'reporting')].expected}",
            }
            for m in meters
            if m.period == "baseline"
        ],
        "meters_without_matching_medium": sorted(
            {m.meter_id for m in meters if not savings.counts_toward(program, m.medium)}
            - {m.meter_id for m in meters if savings.counts_toward(program, m.medium)}
        ),
        "foreign_meters": list(foreign),
        "unknown_meters": list(unknown),
    }
    return saving, detail


def monthly_totals(
    conn: Connection, credit_codes: list[str], parameters: Parameters
) -> dict[tuple[str, str], dict[str, Decimal | None]]:
    """Per enterprise and month: electricity (kWh), energy (tce, exact) and water intake (m3)."""
    totals: dict[tuple[str, str], dict[str, Decimal | None]] = {}
    if not credit_codes:
        return totals
    for cc, medium, day, use in conn.execute(
        select(
            meter_days.c.credit_code, meter_days.c.medium, meter_days.c.day, meter_days.c.consumption_e6
        ).where(meter_days.c.credit_code.in_(credit_codes))
    ):
        t = totals.setdefault((cc, day.strftime("%Y-%m")), {"electricity": None, "tce": None, "water": None})
        quantity = to_decimal(int(use))
        if medium in ("electricity", "water"):
            t[medium] = (t[medium] or Decimal(0)) + quantity
        converted = day_tce(medium, day, int(use), parameters)
        if converted is not None:
            t["tce"] = (t["tce"] or Decimal(0)) + converted
    return totals


@dataclass(frozen=True)
class Verification:
    """A savings application's metered boundary, and the per-meter figures its explanation shows."""

    metered: MeteredSaving
    detail: dict[str, Any]


def verify(engine: Engine, submissions: Submissions, parameters: Parameters) -> dict[str, Verification]:
    """Every savings claim's boundary as the meters measured it: what the nightly decisions and what-if read."""
    apps = submissions.frames["applications"]
    programs = dict(zip(apps["application_id"], apps["program"], strict=True))
    codes = dict(zip(apps["application_id"], apps["credit_code"], strict=True))
    claims: dict[str, tuple[str, SavingsClaim]] = {}
    for r in submissions.frames["savings_claims"].to_dict("records"):
        program = programs.get(r["application_id"])
        if program in ("ENERGY_SAVING", "WATER_SAVING") and r["application_id"] not in claims:
            claims[r["application_id"]] = (program, savings_claim(r))
    out: dict[str, Verification] = {}
    with engine.connect() as conn:
        meters = sorted({m for _, claim in claims.values() for m in claim.meter_ids})
        days = SeriesDays.read(conn, meters)
        steps = steps_by_meter(conn, meters)
        for app_id, (program, claim) in claims.items():
            metered, detail = metered_saving(conn, program, codes[app_id], claim, parameters, days, steps)
            out[app_id] = Verification(metered, detail)
    return out
