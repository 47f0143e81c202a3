"""Dated parameters: every threshold, rate, cap, coefficient and date of the policy, as data.

Each file in `rules/parameters/` maps a parameter key to its description and its values, keyed by the date
from which each value applies, each with its source (a clause of the policy, a national standard, or
`assumption:` with the reasoning of docs/policy.md). A change in the law adds a dated value; history is never
edited. Values are read without YAML floats, so `0.1229` becomes `Decimal("0.1229")` exactly.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

PARAMETER_DIR = Path(__file__).with_name("parameters")
RULES_DIR = Path(__file__).parent

# Keys the rule modules declare they read; loading rejects any other key (a typo is an error, not a no-op).
_DECLARED: set[str] = set()


def declare(*keys: str) -> tuple[str, ...]:
    """Called by each rule module for the parameters it reads."""
    _DECLARED.update(keys)
    return keys


class ParameterError(ValueError):
    pass


class _NoFloatLoader(yaml.SafeLoader):
    """SafeLoader that leaves decimals as text so they become exact `Decimal`s."""


_NoFloatLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:float"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass(frozen=True)
class ParameterValue:
    key: str
    value: Any
    since: date
    source: str

    def cite(self) -> dict[str, str]:
        return {
            "key": self.key,
            "value": _plain(self.value),
            "since": self.since.isoformat(),
            "source": self.source,
        }


def _plain(value: Any) -> str:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _coerce(key: str, raw: Any) -> Any:
    if isinstance(raw, bool | date):
        return raw
    if isinstance(raw, int):
        return Decimal(raw)
    if isinstance(raw, str):
        try:
            return Decimal(raw)
        except ArithmeticError:
            return raw
    raise ParameterError(f"{key}: unsupported value {raw!r}")


# yuan, ratios, tonnes: beyond any figure of the policy, and still exact to the fen in 28 digits
MAX_NUMBER = Decimal(10) ** 15


def _check_kind(key: str, value: Any, kinds: set[type]) -> None:
    """A what-if value must be of its parameter's kind (a number where the files hold numbers, a date where they
    hold dates, true/false for a switch): a word typed for a number would otherwise reach the rules' arithmetic."""
    shown = f"{value:f}" if isinstance(value, Decimal) and value.is_finite() else str(value)
    if Decimal in kinds:
        if not isinstance(value, Decimal) or not value.is_finite():
            raise ParameterError(f"{key} 的值「{value}」不是数字（只写数字，如 6000000 或 0.20，不带单位和千位分隔符） "
                                 f"/ {key} takes a number, not {value!r}")  # fmt: skip
        if value < 0:
            raise ParameterError(f"{key} 的值「{shown}」不能为负数 / {key} cannot be negative")
        if value > MAX_NUMBER:
            raise ParameterError(f"{key} 的值「{value}」超出可计算的范围（上限 {MAX_NUMBER:,f}） "
                                 f"/ {key} is beyond {MAX_NUMBER:,f}")  # fmt: skip
    elif date in kinds and not isinstance(value, date):
        raise ParameterError(f"{key} 的值「{shown}」不是 YYYY-MM-DD 日期 / {key} takes a date YYYY-MM-DD")
    elif bool in kinds and not isinstance(value, bool):
        raise ParameterError(f"{key} 的值「{shown}」不是 true 或 false / {key} takes true or false")


@dataclass(frozen=True)
class Parameter:
    key: str
    description: str
    values: tuple[ParameterValue, ...]  # sorted by `since`

    def at(self, on: date) -> ParameterValue:
        current = [v for v in self.values if v.since <= on]
        if not current:
            raise ParameterError(f"{self.key} has no value in force on {on.isoformat()}")
        return current[-1]


class ParameterSet:
    """The parameters in force on one date."""

    def __init__(self, parameters: Mapping[str, Parameter], on: date) -> None:
        self._parameters = parameters
        self.on = on
        # Every rule reads its parameters for every application: each key is looked up once per date. The
        # parameters never change once loaded (a what-if value makes a new `Parameters`), so this never goes stale.
        self._found: dict[str, ParameterValue] = {}

    def __getitem__(self, key: str) -> ParameterValue:
        found = self._found.get(key)
        if found is None:
            try:
                found = self._found[key] = self._parameters[key].at(self.on)
            except KeyError:
                raise ParameterError(f"unknown parameter {key}") from None
        return found

    def value(self, key: str) -> Any:
        return self[key].value


class Parameters:
    def __init__(self, parameters: Mapping[str, Parameter], version: str) -> None:
        self._parameters = dict(parameters)
        self.version = version
        self._on: dict[date, ParameterSet] = {}  # one set per date, so its lookups are made once (see there)

    @classmethod
    def load(cls, directory: Path = PARAMETER_DIR, check_declared: bool = True) -> Parameters:
        _import_rule_modules()  # every rule module declares the keys it reads

        parameters: dict[str, Parameter] = {}
        files = sorted(directory.glob("*.yaml"))
        for path in files:
            document = yaml.load(path.read_text(encoding="utf-8"), Loader=_NoFloatLoader) or {}
            for key, body in document.items():
                if key in parameters:
                    raise ParameterError(f"{path.name}: {key} is defined twice")
                parameters[key] = _parse(path.name, key, body)
        if check_declared:
            unknown = sorted(set(parameters) - _DECLARED)
            if unknown:
                raise ParameterError(f"unknown parameter keys (no rule reads them): {', '.join(unknown)}")
            missing = sorted(_DECLARED - set(parameters))
            if missing:
                raise ParameterError(f"parameters read by rules but not defined: {', '.join(missing)}")
        return cls(parameters, rulebook_version(files))

    def at(self, on: date) -> ParameterSet:
        found = self._on.get(on)
        if found is None:
            found = self._on[on] = ParameterSet(self._parameters, on)
        return found

    def keys(self) -> Iterable[str]:
        return self._parameters.keys()

    def description(self, key: str) -> str:
        """What a parameter is, in Chinese, as its file describes it (reports say this instead of the key)."""
        if key not in self._parameters:
            raise ParameterError(f"unknown parameter {key}")
        return self._parameters[key].description

    def effective_dates(self) -> frozenset[date]:
        """Every date on which some parameter takes a value."""
        return frozenset(v.since for p in self._parameters.values() for v in p.values)

    def complete_from(self) -> date:
        """The first date on which every parameter has a value: the rulebook is complete from then on."""
        return max(p.values[0].since for p in self._parameters.values())

    def history(self, key: str) -> tuple[ParameterValue, ...]:
        """Every dated value of one parameter, oldest first."""
        if key not in self._parameters:
            raise ParameterError(f"unknown parameter {key}")
        return self._parameters[key].values

    def with_value(self, key: str, value: Any, since: date, source: str) -> Parameters:
        """A copy with one more dated value (what-if runs); the ledger never sees these."""
        if key not in self._parameters:
            raise ParameterError(f"unknown parameter {key}")
        old = self._parameters[key]
        coerced = _coerce(key, value) if not isinstance(value, Decimal) else value
        _check_kind(key, coerced, {type(v.value) for v in old.values})
        added = ParameterValue(key, coerced, since, source)
        values = tuple(sorted((*[v for v in old.values if v.since != since], added), key=lambda v: v.since))
        changed = {**self._parameters, key: Parameter(key, old.description, values)}
        digest = hashlib.sha256(f"{self.version}|{key}|{since}|{value}".encode()).hexdigest()[:12]
        return Parameters(changed, f"whatif-{digest}")


def _import_rule_modules() -> None:
    import importlib
    import pkgutil

    import rules

    for module in pkgutil.walk_packages(rules.__path__, "rules."):
        importlib.import_module(module.name)


def _parse(filename: str, key: str, body: Any) -> Parameter:
    if not isinstance(body, dict) or set(body) - {"description", "unit", "values"}:
        raise ParameterError(f"{filename}: {key} must have only description, unit and values")
    if not body.get("description"):
        raise ParameterError(f"{filename}: {key} has no description")
    raw_values = body.get("values")
    if not isinstance(raw_values, dict) or not raw_values:
        raise ParameterError(f"{filename}: {key} has no dated values")
    values = []
    for since, entry in raw_values.items():
        if not isinstance(since, date):
            raise ParameterError(f"{filename}: {key} has a value not keyed by a date: {since!r}")
        if not isinstance(entry, dict) or set(entry) != {"value", "source"}:
            raise ParameterError(f"{filename}: {key} @ {since}: each value needs exactly value and source")
        if not str(entry["source"]).strip():
            raise ParameterError(f"{filename}: {key} @ {since}: empty source")
        values.append(ParameterValue(key, _coerce(key, entry["value"]), since, str(entry["source"])))
    values.sort(key=lambda v: v.since)
    return Parameter(key, str(body["description"]), tuple(values))


def rulebook_version(parameter_files: Iterable[Path]) -> str:
    """A hash of the rule code and the parameter files: stamped on every decision and ledger entry."""
    digest = hashlib.sha256()
    for path in sorted({*RULES_DIR.rglob("*.py"), *parameter_files}):
        # Parameter files loaded from elsewhere (tests, what-if folders) hash under the same name as in rules/.
        name = (
            path.relative_to(RULES_DIR).as_posix()
            if path.is_relative_to(RULES_DIR)
            else f"parameters/{path.name}"
        )
        digest.update(name.encode())
        digest.update(path.read_bytes())
    return "rb-" + digest.hexdigest()[:12]
