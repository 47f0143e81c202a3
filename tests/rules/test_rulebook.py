"""The rulebook as a whole: every program has a rule, a quoted clause and cited, dated parameters."""

import inspect
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from rules.catalog import PROGRAMS
from rules.engine import RULES as RULE_OF
from rules.parameters import PARAMETER_DIR, ParameterError, Parameters

RULES = PARAMETER_DIR.parent


@pytest.mark.parametrize("program", PROGRAMS, ids=[p.code for p in PROGRAMS])
def test_a_search_for_a_program_code_finds_its_rule_its_quoted_clause_and_its_parameters(program):
    rule = RULE_OF.get(program.code)
    assert rule is not None, f"{program.code} has no rule"
    module = inspect.getmodule(rule)
    source = Path(inspect.getfile(rule)).read_text(encoding="utf-8")
    assert program.code in source
    doc = module.__doc__ or ""
    assert program.code in doc and "\n> " in doc, "the module docstring quotes the policy text"
    assert program.clause.split("(")[0] in doc
    if program.kind != "register":  # registers name no number, so they read no parameter
        files = [
            p.name for p in PARAMETER_DIR.glob("*.yaml") if program.code in p.read_text(encoding="utf-8")
        ]
        assert files, f"no parameter file mentions {program.code}"


def test_every_parameter_value_is_dated_and_cites_a_policy_clause_a_standard_or_an_assumption():
    parameters = Parameters.load()
    for key in list(parameters.keys()):
        for value in parameters.history(key):
            assert isinstance(value.since, date)
            assert value.source.strip()
            assert not isinstance(value.value, float), f"{key} is a float"


def test_money_parameters_are_exact_decimals():
    current = Parameters.load().at(date(2026, 11, 24))
    assert current.value("equipment_upgrade.rate") == Decimal("0.20")
    assert current.value("fund.annual_budget") == Decimal(200_000_000)


def _copy(tmp_path: Path) -> Path:
    folder = tmp_path / "parameters"
    shutil.copytree(PARAMETER_DIR, folder)
    return folder


def test_loading_rejects_a_key_no_rule_reads(tmp_path: Path):
    folder = _copy(tmp_path)
    (folder / "typo.yaml").write_text(
        "equipment_upgrade.cpa:\n  description: 笔误\n  values:\n    2024-10-30:\n"
        "      value: 1\n      source: 'policy 五(1)'\n",
        encoding="utf-8",
    )
    with pytest.raises(ParameterError, match=r"equipment_upgrade\.cpa"):
        Parameters.load(folder)


def test_loading_rejects_an_undated_value(tmp_path: Path):
    folder = _copy(tmp_path)
    path = folder / "equipment_upgrade.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("2024-10-30:", "latest:", 1), encoding="utf-8")
    with pytest.raises(ParameterError, match="not keyed by a date"):
        Parameters.load(folder)


def test_loading_rejects_a_value_without_a_source(tmp_path: Path):
    folder = _copy(tmp_path)
    path = folder / "fund.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: text.index("      source:")], encoding="utf-8")
    with pytest.raises(ParameterError, match="value and source"):
        Parameters.load(folder)


def test_a_later_dated_value_applies_from_its_date_and_history_stays(tmp_path: Path):
    folder = _copy(tmp_path)
    path = folder / "equipment_upgrade.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace(
            '      source: "policy 五(1): 最高奖补 500 万元"',
            '      source: "policy 五(1): 最高奖补 500 万元"\n    2027-01-01:\n      value: 6000000\n'
            '      source: "assumption: a later amendment"',
        ),
        encoding="utf-8",
    )
    parameters = Parameters.load(folder)
    assert parameters.at(date(2026, 12, 31)).value("equipment_upgrade.cap") == 5_000_000
    assert parameters.at(date(2027, 1, 1)).value("equipment_upgrade.cap") == 6_000_000


def test_the_rulebook_version_changes_when_a_parameter_file_changes(tmp_path: Path):
    folder = _copy(tmp_path)
    before = Parameters.load(folder).version
    path = folder / "fund.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("200000000", "250000000"), encoding="utf-8")
    after = Parameters.load(folder).version
    assert before.startswith("rb-") and after.startswith("rb-") and before != after


def test_a_parameter_is_read_as_in_force_on_each_date_also_after_earlier_reads_and_in_a_what_if_copy():
    # Lookups are kept per date (rules/parameters.py): a later date, or a copy with one more dated value, must
    # never be answered from what an earlier read found.
    key, since = "equipment_upgrade.rate", date(2026, 6, 1)
    loaded = Parameters.load()
    before, after = loaded.at(date(2026, 5, 31)), loaded.at(since)
    assert before[key] is loaded.at(date(2026, 5, 31))[key]  # read once per date
    raised = loaded.with_value(key, Decimal("0.25"), since, "test: 新费率")
    assert raised.at(date(2026, 5, 31))[key] == before[key]
    assert raised.at(since)[key].value == Decimal("0.25")
    assert after[key].value == loaded.at(since)[key].value == before[key].value != Decimal("0.25")
    with pytest.raises(ParameterError, match="unknown parameter"):
        loaded.at(since)["no.such.key"]
    with pytest.raises(ParameterError, match="unknown parameter"):
        loaded.at(since)["no.such.key"]  # an unknown key is never remembered as found
