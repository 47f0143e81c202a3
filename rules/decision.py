"""Decisions that explain themselves: each condition evaluated, the values compared, the parameters used.

`Decision.reasons()` is what `application_decisions.reasons` carries; `Award.basis` is the ledger's `basis`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Any

from rules import money
from rules.parameters import ParameterValue


class Outcome(StrEnum):
    AWARDED = "awarded"
    ELIGIBLE = "eligible"
    COMPLIANT = "compliant"
    NON_COMPLIANT = "non_compliant"
    REJECTED = "rejected"
    NEEDS_REVIEW = "needs_review"


@dataclass(frozen=True)
class Condition:
    """One condition of a clause, evaluated. `passed=None` is a note (nothing to pass or fail)."""

    code: str
    clause: str
    passed: bool | None
    message: str  # Chinese: what was compared and why it passed or failed
    values: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "clause": self.clause,
            "passed": self.passed,
            "message": self.message,
            "values": {k: _jsonable(v) for k, v in self.values.items()},
        }


@dataclass(frozen=True)
class Award:
    """One one-time award object and its amount (yuan, already rounded to the fen)."""

    award_key: str
    amount: Decimal
    basis: dict[str, Any]


@dataclass(frozen=True)
class Decision:
    application_id: str
    program: str
    credit_code: str
    outcome: Outcome
    clause: str
    lead_department: str
    conditions: tuple[Condition, ...]
    parameters: tuple[ParameterValue, ...] = ()
    awards: tuple[Award, ...] = ()
    # The estimated VAT refund for VAT programs: shown, never booked (it is not fund money).
    estimate: Decimal | None = None
    # The review determination that settled or changed this decision (rules.review), cited in the ledger basis.
    review: dict[str, Any] | None = None

    @property
    def amount(self) -> Decimal | None:
        if self.awards:
            return sum((a.amount for a in self.awards), Decimal("0.00"))
        return self.estimate

    def reasons(self) -> list[dict[str, Any]]:
        """Failed conditions first (the answer to "why not?"), then notes; passed conditions follow so an officer
        sees the whole trail."""
        failed = [c.as_json() for c in self.conditions if c.passed is False]
        notes = [c.as_json() for c in self.conditions if c.passed is None]
        passed = [c.as_json() for c in self.conditions if c.passed is True]
        return failed + notes + passed

    def explanation(self) -> dict[str, Any]:
        return {
            "program": self.program,
            "clause": self.clause,
            "outcome": str(self.outcome),
            "conditions": [c.as_json() for c in self.conditions],
            "parameters": [p.cite() for p in self.parameters],
            **({"review": _jsonable(self.review)} if self.review is not None else {}),
        }


# Values of these exact types are JSON as they are: the common case, answered before the isinstance tests below.
_AS_THEY_ARE = frozenset({str, int, bool, float, type(None)})


def _jsonable(value: Any) -> Any:
    if type(value) in _AS_THEY_ARE:
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Fraction):
        return money.exact_text(value)
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def jsonable(value: Any) -> Any:
    return _jsonable(value)
