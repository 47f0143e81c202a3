"""What-if: the inbox re-decided under modified parameters, side by side with the rulebook, ledger untouched."""

import os
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from pipelines.settings import PROJECT_ROOT
from pipelines.whatif import main
from rules.parameters import ParameterError
from rules.whatif import Override, compare, modified
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


def test_the_command_line_prints_the_sample_side_by_side_and_opens_no_database(
    sample_inbox: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
):
    database = tmp_path / "ledger.sqlite"
    monkeypatch.setenv("ALU_DATABASE_URL", f"sqlite:///{database}")
    code = main(
        ["--inbox", str(sample_inbox), "--as-of", "2026-11-24", "--set", "equipment_upgrade.cap=6000000"]
    )
    out = capsys.readouterr().out
    assert code == 0
    eq3 = next(line for line in out.splitlines() if line.startswith("EQ-003"))
    assert "5,000,000.00" in eq3 and "6,000,000.00" in eq3 and "+1,000,000.00" in eq3
    eq1 = next(line for line in out.splitlines() if line.startswith("EQ-001"))
    assert "*" not in eq1 and "2,400,000.01" in eq1  # unchanged rows show the same amount on both sides
    assert not database.exists()


def test_python_dash_m_rules_whatif_runs_from_the_shell(sample_inbox: Path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "rules.whatif",
            "--inbox",
            str(sample_inbox),
            "--as-of",
            "2026-11-24",
            "--set",
            "general.effective_date=2024-10-29",
            "--changed-only",
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        env=os.environ | {"PYTHONPATH": str(PROJECT_ROOT)},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if line.startswith(("GM-", "EQ-", "STD-"))]
    assert [row.split()[:2] for row in rows] == [["GM-003", "*"]]  # only the day-before recognition changes


def test_a_bad_override_exits_with_a_chinese_message(sample_inbox: Path, capsys: pytest.CaptureFixture[str]):
    assert main(["--inbox", str(sample_inbox), "--as-of", "2026-11-24", "--set", "no.such.key=1"]) == 2
    assert "参数错误" in capsys.readouterr().err
