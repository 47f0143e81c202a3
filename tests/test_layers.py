"""Layers that hold: the rules are pure and import nothing of schemas, pipelines or assets; schemas nothing of
pipelines or assets (the import-linter contract of `make lint`, pyproject.toml [tool.importlinter]).

Both checks read imports, not text: a function-level `from pipelines.x import y` counts, a docstring that names
`pipelines` does not.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RULES = sorted((ROOT / "rules").glob("*.py"))
# What a rule module may import: the standard library's pure parts and the rules themselves. YAML only for the
# parameter loader, which is also the one module that reads files (the rulebook's own YAML).
PURE = {"__future__", "collections", "contextlib", "dataclasses", "datetime", "decimal", "enum", "fractions",
        "functools", "hashlib", "itertools", "math", "re", "typing", "unicodedata", "rules"}  # fmt: skip
LOADER = {"parameters.py": {"yaml", "pathlib", "importlib", "pkgutil"}}
IO_CALLS = {"open", "read_text", "read_bytes", "write_text", "write_bytes", "connect", "execute", "urlopen"}


def _imports(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def _calls(tree: ast.AST) -> list[tuple[int, str]]:
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
            if name in IO_CALLS:
                names.append((node.lineno, name))
    return names


@pytest.mark.parametrize("path", RULES, ids=[p.name for p in RULES])
def test_a_rule_module_imports_only_the_pure_standard_library_and_other_rules(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    allowed = PURE | LOADER.get(path.name, set())
    # The what-if cycle: rules/whatif.py's __main__ hands off to pipelines.whatif until the review branch (issue 15)
    # removes it; the import-linter contract ignores exactly this one import too.
    if path.name == "whatif.py":
        allowed = allowed | {"pipelines.whatif"}
    wrong = [
        f"line {n}: {m}" for n, m in _imports(tree) if m not in allowed and m.split(".")[0] not in allowed
    ]
    assert wrong == []
    io = [f"line {n}: {c}()" for n, c in _calls(tree)]
    assert io == [] or path.name in LOADER, f"{path.name} does I/O: {io}"


def test_the_layers_contract_holds():
    result = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), "--no-cache", "--no-logo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout
