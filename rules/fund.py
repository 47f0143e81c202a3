"""The special fund: 以上奖补政策所需资金全部从自治区重点产业发展专项资金中统筹解决。

Every monetary award draws on it. The annual budget is a parameter (*assumption*, no amount is published): the
pipeline reports committed amounts against it and flags an overrun, but never prorates on its own (docs/policy.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from rules.parameters import Parameters, ParameterValue, declare

PARAMETERS = declare("fund.annual_budget")


@dataclass(frozen=True)
class FundStatus:
    budget: ParameterValue
    committed: Decimal

    @property
    def remaining(self) -> Decimal:
        return Decimal(self.budget.value) - self.committed

    @property
    def overrun(self) -> bool:
        return self.committed > Decimal(self.budget.value)


def annual_budget(parameters: Parameters, on: date) -> ParameterValue:
    """The budget in force on a date, with its source, for the fund summary."""
    return parameters.at(on)["fund.annual_budget"]


def status(parameters: Parameters, on: date, committed: Decimal) -> FundStatus:
    return FundStatus(annual_budget(parameters, on), committed)
