"""Typed values the rules read: one enterprise's application with its detail rows.

Money is `Decimal` in yuan (the intake converts 万元 columns exactly); dates are `datetime.date`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal


@dataclass(frozen=True)
class Enterprise:
    credit_code: str
    name: str
    league_city: str
    tax_credit_grade: str | None = None


@dataclass(frozen=True)
class Loan:
    contract_no: str
    lender: str
    principal: Decimal
    annual_rate_pct: Decimal
    drawdown_date: date
    repaid_date: date | None
    interest_paid: Decimal


@dataclass(frozen=True)
class Recognition:
    recognition_type: str
    level: str
    recognized_on: date
    document_no: str


@dataclass(frozen=True)
class Standard:
    standard_code: str
    standard_level: str
    role: str
    published_on: date


@dataclass(frozen=True)
class IpAsset:
    ip_kind: str
    ip_number: str
    acquisition: str
    granted_on: date


@dataclass(frozen=True)
class SavingsClaim:
    claimed_saving: Decimal
    baseline_start: date
    baseline_end: date
    reporting_start: date
    reporting_end: date
    meter_ids: tuple[str, ...]
    baseline_output_t: Decimal | None  # None: not given; the saving cannot be verified (needs_review)
    reporting_output_t: Decimal | None


@dataclass(frozen=True)
class GateMetrics:
    process: str
    unit_energy: Decimal
    renewable_share_pct: Decimal | None
    environmental_grade: str | None
    capacity_source: str | None
    paired_project_code: str | None
    meets_industry_norms: bool
    advanced_equipment: bool | None
    catalog_allowed: bool


@dataclass(frozen=True)
class VatClaim:
    period_start: date
    period_end: date
    sales: Decimal
    vat_paid: Decimal
    waste_feed_share_pct: Decimal
    serious_violation_6m: bool
    restricted_or_eliminated: bool


@dataclass(frozen=True)
class PeriodMeasure:
    """Metered consumption over one period of a savings claim (from the metering stage)."""

    consumption: Decimal  # tce for energy, tonnes (m3) for water
    coverage: Decimal  # share of expected intervals with a reading, 0..1
    expected_intervals: int
    present_intervals: int


@dataclass(frozen=True)
class MeterFigures:
    """One claimed meter over one period, as the metering store measured it (the rules judge it)."""

    meter_id: str
    medium: str
    period: str  # "baseline" or "reporting"
    unit: str  # canonical unit of `quantity`
    quantity: Decimal  # metered consumption over the period's whole days, canonical unit
    converted: (
        Decimal | None
    )  # tce for an energy carrier (GB/T 2589, coefficient of each day); None otherwise
    present: int  # intervals with a reading (conflicting resends count as missing)
    expected: int  # intervals the meter's own usual step expects over the period
    step_seconds: int | None  # the meter's usual step; None: not known (one reading a day assumed)
    conflicts: int = 0  # intervals whose readings disagree between or within exports


@dataclass(frozen=True)
class MeteredSaving:
    """What the meters say about one savings application's boundary.

    `baseline` and `reporting` are the boundary's totals (consumption over the meters that count; coverage the
    lowest of those meters' own coverages); `meters` are the per-meter figures they were made from, every medium.
    """

    meter_ids: tuple[str, ...]
    baseline: PeriodMeasure
    reporting: PeriodMeasure
    foreign_meters: tuple[str, ...] = ()  # meters in the claim that belong to another enterprise
    unknown_meters: tuple[str, ...] = ()  # meters in the claim with no readings at all
    meters: tuple[MeterFigures, ...] = ()


@dataclass(frozen=True)
class Application:
    application_id: str
    program: str
    credit_code: str
    enterprise: Enterprise | None = None
    project_code: str | None = None
    project_name: str | None = None
    submitted_on: date | None = None
    construction_start: date | None = None
    completion_date: date | None = None
    production_start: date | None = None
    total_investment: Decimal | None = None
    equipment_investment: Decimal | None = None
    completed_investment: Decimal | None = None
    product_price_yuan_per_t: Decimal | None = None
    reference_price_yuan_per_t: Decimal | None = None
    loans: tuple[Loan, ...] = ()
    recognitions: tuple[Recognition, ...] = ()
    standards: tuple[Standard, ...] = ()
    ip_assets: tuple[IpAsset, ...] = ()
    savings_claims: tuple[SavingsClaim, ...] = ()
    gate_metrics: tuple[GateMetrics, ...] = ()
    vat_claims: tuple[VatClaim, ...] = ()
    metered: MeteredSaving | None = None
    # Problems the intake found in this application's detail rows: (code, Chinese message). An application
    # with incomplete detail is never evaluated as if complete.
    intake_problems: tuple[tuple[str, str], ...] = field(default=())
