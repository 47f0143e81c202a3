"""The explanation a rule writes while it evaluates: each condition with its values, each parameter it read.

A rule creates one `Trail`, checks its conditions in the order of the clause, and ends with `decide(...)`.
Conditions are all evaluated where they can be, so an enterprise learns every problem at once, not one per round.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from rules.context import Context
from rules.decision import Award, Condition, Decision, Outcome
from rules.model import Application
from rules.parameters import ParameterValue


class Trail:
    def __init__(self, app: Application, ctx: Context, program: str, clause: str, lead: str) -> None:
        self.app = app
        self.ctx = ctx
        self.program = program
        self.clause = clause
        self.lead = lead
        self.used: list[ParameterValue] = []
        self.conditions: list[Condition] = []

    def param(self, key: str) -> Any:
        return self.ctx.param(key, self.used).value

    def cite(self, key: str) -> dict[str, str]:
        return self.ctx.param(key, self.used).cite()

    def check(self, code: str, passed: bool, message: str, **values: Any) -> bool:
        self.conditions.append(Condition(code, self.clause, passed, message, values))
        return passed

    def note(self, code: str, message: str, **values: Any) -> None:
        self.conditions.append(Condition(code, self.clause, None, message, values))

    @property
    def failed(self) -> bool:
        return any(c.passed is False for c in self.conditions)

    def decide(
        self, outcome: Outcome, awards: Iterable[Award] = (), estimate: Decimal | None = None
    ) -> Decision:
        return Decision(
            application_id=self.app.application_id,
            program=self.program,
            credit_code=self.app.credit_code,
            outcome=outcome,
            clause=self.clause,
            lead_department=self.lead,
            conditions=tuple(self.conditions),
            parameters=tuple(self.used),
            awards=tuple(awards),
            estimate=estimate,
        )


def day(value: Any) -> str:
    return value.isoformat() if value is not None else "（未填写）"
