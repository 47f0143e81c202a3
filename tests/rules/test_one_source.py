"""One source for each fact (issue 14): a program's clause and lead department only in rules/catalog.py, money
helpers only in rules/money.py, the policy's label dictionaries only in rules/labels.py.

The checks read the modules' syntax trees (string constants outside docstrings, definitions, dict displays), so
a quoted clause in a docstring or a department named inside a longer message is no offence; a constant is.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

import pytest

from rules.catalog import DEPARTMENTS, PROGRAMS
from rules.labels import ACQUISITIONS, IP_KINDS, LEVELS, PROCESSES, RECOGNITION_TYPES, ROLES, STANDARD_LEVELS

ROOT = Path(__file__).resolve().parents[2]
RULE_MODULES = sorted(p for p in (ROOT / "rules").glob("*.py") if p.name not in ("catalog.py", "__init__.py"))
PACKAGE_MODULES = sorted(
    p for d in ("rules", "schemas", "pipelines", "assets") for p in (ROOT / d).rglob("*.py")
)


def _found_outside(home: str, finds: Callable[[Path], list[str]]) -> dict[str, list[str]]:
    """What `finds` finds in each package module but the one named `home`, by module."""
    return {p.relative_to(ROOT).as_posix(): d for p in PACKAGE_MODULES if p.name != home and (d := finds(p))}


# rules/savings.py is rewritten on the metering branch (issue 11) and keeps its CLAUSE/LEAD until then: strict, so
# the marker must go the day it no longer holds them.
def _strings(tree: ast.AST) -> list[ast.Constant]:
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings
    ]


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


@pytest.mark.parametrize("path", RULE_MODULES, ids=[p.name for p in RULE_MODULES])
def test_no_rule_module_repeats_a_programs_clause_or_a_department(path: Path):
    facts = {p.clause for p in PROGRAMS} | set(DEPARTMENTS)
    found = [f"line {n.lineno}: {n.value!r}" for n in _strings(_tree(path)) if n.value in facts]
    assert found == [], f"{path.name} repeats what rules/catalog.py holds"


MONEY_NAMES = {"WAN", "FEN", "FEN_PER_YUAN"}
MONEY_FUNCTIONS = {
    "to_fen",
    "from_fen",
    "as_fen",
    "round_to_fen",
    "from_wan",
    "yuan",
    "wan",
    "yuan_text",
    "wan_text",
}


def _money_definitions(path: Path) -> list[str]:
    found = []
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.FunctionDef) and node.name in MONEY_FUNCTIONS:
            found.append(f"line {node.lineno}: def {node.name}")
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name) and target.id in MONEY_NAMES:
                    found.append(f"line {node.lineno}: {target.id} =")
        if (  # Decimal(10000) / Decimal("10000"): 万元 by hand
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "Decimal"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and str(node.args[0].value) in ("10000", "10_000")
        ):
            found.append(f"line {node.lineno}: Decimal({node.args[0].value!r})")
    return found


def test_yuan_fen_and_wan_are_defined_once_in_rules_money():
    assert _found_outside("money.py", _money_definitions) == {}
    assert _money_definitions(ROOT / "rules" / "money.py")  # the check sees definitions where they are


LABELS = {
    v
    for d in (RECOGNITION_TYPES, LEVELS, STANDARD_LEVELS, ROLES, IP_KINDS, ACQUISITIONS, PROCESSES)
    for v in d.values()
}


def _label_dicts(path: Path) -> list[str]:
    return [
        f"line {node.lineno}"
        for node in ast.walk(_tree(path))
        if isinstance(node, ast.Dict)
        and sum(isinstance(v, ast.Constant) and v.value in LABELS for v in node.values) >= 2
    ]


def test_the_policys_label_dictionaries_are_written_once_in_rules_labels():
    assert _found_outside("labels.py", _label_dicts) == {}
    assert _label_dicts(ROOT / "rules" / "labels.py")
