"""What a rule is evaluated against: the evaluation date and the parameters in force on it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from rules.parameters import ParameterSet, ParameterValue


@dataclass
class Context:
    as_of: date
    params: ParameterSet
    rulebook_version: str

    def param(self, key: str, used: list[ParameterValue]) -> ParameterValue:
        """Read a parameter and remember it for the decision's explanation."""
        value = self.params[key]
        if value not in used:
            used.append(value)
        return value
