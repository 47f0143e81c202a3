"""What a rule is evaluated against: the evaluation date, the parameters in force on it, and the evaluation's
other applications where a clause refers to them (a smelter's paired project, an award object already taken)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from rules.parameters import ParameterSet, ParameterValue


@dataclass
class Context:
    as_of: date
    params: ParameterSet
    rulebook_version: str
    # project code (canonical form) -> the programs of this evaluation's applications naming it
    # (二(1): 配套建设铝深加工项目 must be one of them, as a deep-processing application).
    projects: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # award key -> application holding it: the ledger's open awards plus those taken earlier in this evaluation
    # (就高补差 needs to know whether the lower recognition was already paid).
    taken: Mapping[str, str] = field(default_factory=dict)

    def param(self, key: str, used: list[ParameterValue]) -> ParameterValue:
        """Read a parameter and remember it for the decision's explanation."""
        value = self.params[key]
        if value not in used:
            used.append(value)
        return value
