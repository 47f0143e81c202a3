"""SQLite has one writer: `make run` and `make dev` give the Dagster instance a limit of 1 on pool `ledger_db`.

(That every asset writing the database is in that pool is tests/test_definitions.py.)
"""

import subprocess
from pathlib import Path

import dagster as dg

ROOT = Path(__file__).resolve().parents[2]


def _make_instance_config(home: Path) -> Path:
    target = home / "dagster.yaml"
    subprocess.run(["make", "-s", f"DAGSTER_HOME={home}", str(target)], cwd=ROOT, check=True)
    return target


def test_the_makefile_instance_limits_the_ledger_pool_to_one(tmp_path: Path):
    _make_instance_config(tmp_path / "home")
    instance = dg.DagsterInstance.from_config(str(tmp_path / "home"))
    try:
        assert instance.event_log_storage.get_concurrency_info("ledger_db").limit == 1
    finally:
        instance.dispose()


def test_an_operators_own_dagster_yaml_is_left_alone(tmp_path: Path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text("concurrency:\n  pools:\n    default_limit: 3\n")
    _make_instance_config(home)
    assert "default_limit: 3" in (home / "dagster.yaml").read_text()
