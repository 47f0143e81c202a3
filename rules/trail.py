"""The explanation a rule writes while it evaluates: each condition with its values, each parameter it read.

A rule creates one `Trail` for its program code, checks its conditions in the order of the clause, and ends with
`decide(...)`. Conditions are all evaluated where they can be, so an enterprise learns every problem at once, not
one per round. The program's clause and lead department come from `rules.catalog`, their only home; a condition
of one paragraph of a longer clause (二(1) of 二(1-2)) is checked inside `with t.paragraph("二(1)"):`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from rules.catalog import BY_CODE
from rules.context import Context
from rules.decision import Award, Condition, Decision, Outcome
from rules.model import Application
from rules.parameters import ParameterValue


class Trail:
    def __init__(self, app: Application, ctx: Context, program: str) -> None:
        # Clause and lead department come from the catalog only: a rule can never decide under a clause of its own.
        entry = BY_CODE[program]
        self.app = app
        self.ctx = ctx
        self.program = program
        self.clause = entry.clause
        self.sub_clauses = entry.sub_clauses
        self._current = entry.clause
        self.lead = entry.lead_department
        self.used: list[ParameterValue] = []
        self.conditions: list[Condition] = []

    @contextmanager
    def paragraph(self, clause: str) -> Iterator[None]:
        """Conditions checked inside cite this paragraph of the program's clause (one the catalog lists)."""
        if clause not in self.sub_clauses:
            raise ValueError(f"{self.program}: {clause} is not one of its paragraphs {self.sub_clauses}")
        self._current = clause
        try:
            yield
        finally:
            self._current = self.clause

    def param(self, key: str) -> Any:
        return self.ctx.param(key, self.used).value

    def cite(self, key: str) -> dict[str, str]:
        return self.ctx.param(key, self.used).cite()

    def check(self, code: str, passed: bool, message: str, **values: Any) -> bool:
        self.conditions.append(Condition(code, self._current, passed, message, values))
        return passed

    def reached(self, code: str, passed: bool, measured: str, threshold: str, **values: Any) -> bool:
        """A figure against its minimum or benchmark, said the one way the clauses say it:
        `<measured>，达到<threshold>` or `<measured>，未达到<threshold>`."""
        return self.check(
            code, passed, f"{measured}，" + ("达到" if passed else "未达到") + threshold, **values
        )

    def note(self, code: str, message: str, **values: Any) -> None:
        self.conditions.append(Condition(code, self._current, None, message, values))

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
