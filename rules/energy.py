"""Comprehensive energy consumption in tonnes of standard coal (GB/T 2589-2020, Annex A) — 五(2) ENERGY_SAVING.

> 对企业年节能量 2000 吨标准煤以上（含 2000 吨标准煤）的节能技术改造项目……

Metered quantities in their canonical units (kWh, kg, m3, MJ) are converted with the dated coefficients of
`parameters/energy_conversion.yaml`. Water is not an energy carrier (docs/policy.md) and renewable electricity is the
renewable part of metered electricity, already counted there: neither has a coefficient.
"""

from __future__ import annotations

from decimal import Decimal

from rules.parameters import ParameterSet, ParameterValue, declare

KG_PER_TONNE = Decimal(1000)

# Medium -> canonical unit of the metering stage; the coefficient is kgce per one such unit.
ENERGY_MEDIA = {
    "electricity": "kWh",
    "raw_coal": "kg",
    "coke": "kg",
    "natural_gas": "m3",
    "diesel": "kg",
    "gasoline": "kg",
    "fuel_oil": "kg",
    "heat": "MJ",
}


def coefficient_key(medium: str) -> str:
    return f"energy.kgce_per_unit.{medium}"


PARAMETERS = declare(*(coefficient_key(medium) for medium in ENERGY_MEDIA))


def is_energy(medium: str) -> bool:
    return medium in ENERGY_MEDIA


def coefficient(medium: str, params: ParameterSet) -> ParameterValue:
    return params[coefficient_key(medium)]


def tce(medium: str, quantity: Decimal, params: ParameterSet) -> Decimal | None:
    """Tonnes of standard coal, exact; None for a medium that is not an energy carrier (water, renewable)."""
    if medium not in ENERGY_MEDIA:
        return None
    return quantity * Decimal(coefficient(medium, params).value) / KG_PER_TONNE
