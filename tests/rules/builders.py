"""Typed applications for the policy tests, and one way to decide them (the engine, the real parameter files)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

from rules.decision import Decision, Outcome
from rules.engine import decide_all
from rules.model import Application, Enterprise, Loan, Recognition, SavingsClaim
from rules.parameters import Parameters

AS_OF = date(2026, 11, 24)
EFFECTIVE = date(2024, 10, 30)
CC = "91150200MA0000000X"  # the rules never check the credit code; intake does
PARAMETERS = Parameters.load()


def wan(text: str) -> Decimal:
    return Decimal(text) * 10000


def application(program: str, app_id: str = "A-1", **fields: Any) -> Application:
    base = Application(
        application_id=app_id,
        program=program,
        credit_code=fields.pop("credit_code", CC),
        enterprise=Enterprise(CC, "测试铝业有限公司", "包头市", fields.pop("tax_credit_grade", "A")),
        submitted_on=fields.pop("submitted_on", date(2026, 2, 20)),
    )
    return replace(base, **fields)


def loan(principal_wan: str, drawdown: date, repaid: date | None, paid_wan: str, rate: str = "4.0") -> Loan:
    return Loan("JK-1", "中国工商银行", wan(principal_wan), Decimal(rate), drawdown, repaid, wan(paid_wan))


def recognition(kind: str, level: str, on: date) -> Recognition:
    return Recognition(kind, level, on, "文号〔2025〕1号")


def savings_claim(
    saving: str,
    meters: tuple[str, ...] = ("M-1",),
    base_output: str = "100000",
    report_output: str = "100000",
) -> SavingsClaim:
    """A 节能节水 claim over the baseline year 2024 and the reporting year 2025."""
    return SavingsClaim(
        Decimal(saving),
        date(2024, 1, 1),
        date(2024, 12, 31),
        date(2025, 1, 1),
        date(2025, 12, 31),
        meters,
        Decimal(base_output),
        Decimal(report_output),
    )


def decide(
    *apps: Application,
    as_of: date = AS_OF,
    parameters: Parameters = PARAMETERS,
    held: Mapping[str, str] | None = None,
) -> list[Decision]:
    return decide_all(apps, as_of, parameters, held)


def one(app: Application, **kw: Any) -> Decision:
    (decision,) = decide(app, **kw)
    return decision


def outcome_and_amount(app: Application) -> tuple[Outcome, Decimal | None]:
    """What an award table compares: the decision's outcome and its amount."""
    decision = one(app)
    return decision.outcome, decision.amount


def codes(decision: Decision, passed: bool | None = False) -> set[str]:
    return {c.code for c in decision.conditions if c.passed is passed}


def setting(key: str, value: Any, since: date = EFFECTIVE) -> Parameters:
    return PARAMETERS.with_value(key, value, since, "test")
