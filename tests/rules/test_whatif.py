"""What-if: the inbox re-decided under modified parameters, side by side with the rulebook, ledger untouched."""

import ast
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from rules.parameters import ParameterError
from rules.whatif import Override, compare, header, modified
from tests.rules.builders import AS_OF, PARAMETERS, application, recognition

D = Decimal


def test_an_override_reads_a_number_a_date_or_a_switch_with_an_optional_start():
    assert Override.parse("equipment_upgrade.cap=6000000") == Override(
        "equipment_upgrade.cap", "6000000", None
    )
    assert Override.parse("general.effective_date=2024-10-01@2024-10-30") == Override(
        "general.effective_date", date(2024, 10, 1), date(2024, 10, 30)
    )
    assert Override.parse("recognitions.pay_difference_only=true").value is True
    with pytest.raises(ParameterError):
        Override.parse("equipment_upgrade.cap")


def test_an_override_of_an_unknown_parameter_is_refused():
    with pytest.raises(ParameterError, match="unknown parameter"):
        modified(PARAMETERS, [Override("equipment_upgrade.cpa", "1", None)])


def test_moving_the_effective_date_a_day_earlier_awards_the_recognition_of_the_day_before():
    app = application(
        "GREEN_MANUFACTURING",
        "GM-3",
        recognitions=(recognition("energy_efficiency_leader", "regional", date(2024, 10, 29)),),
    )
    whatif = modified(PARAMETERS, [Override.parse("general.effective_date=2024-10-29")])
    (row,) = compare([app], AS_OF, PARAMETERS, whatif)
    assert (row.base_decision, row.base_amount) == ("rejected", None)
    assert (row.whatif_decision, row.whatif_amount) == ("awarded", D("500000.00"))
    assert row.difference == D("500000.00") and row.changed


def test_the_header_states_from_which_date_a_changed_value_applies():
    dated = Override.parse("equipment_upgrade.cap=6000000@2026-02-21")
    undated = Override.parse("standard_setting.award.national.participate=150000")
    lines = header(AS_OF, PARAMETERS, modified(PARAMETERS, [dated, undated]), [dated, undated])
    cap = next(line for line in lines if "equipment_upgrade.cap" in line)
    assert "自 2026-02-21 起适用" in cap and "申报日期在 2026-02-21 及以后" in cap
    first = PARAMETERS.history("standard_setting.award.national.participate")[0].since.isoformat()
    award = next(line for line in lines if "participate" in line)
    assert f"自 {first} 起适用" in award and AS_OF.isoformat() not in award  # not "from the evaluation date"


def test_rules_import_nothing_of_pipelines_or_assets():
    # (rules/whatif.py used to import pipelines.whatif for `python -m rules.whatif`: an import cycle)
    rules = Path(__file__).resolve().parents[2] / "rules"
    found = []
    for path in sorted(rules.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            found += [f"{path.name}: {n}" for n in names if n.split(".")[0] in ("pipelines", "assets")]
    assert found == []
