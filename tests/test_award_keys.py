"""One object, one payment, however its code is typed: a real nightly run over a batch that names one standard
and one project in several spellings books one award each, and keeps what was typed in the decisions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from samples.build import sample_sheets
from samples.workbook import write_batch
from tests.conftest import Nightly
from tests.ledger.batches import insert_raw, ledger_engine

STANDARD_SPELLINGS = (
    "ISO 6361-9:2025",
    "ISO6361-9:2025",
    "iso 6361-9:2025",
    "ＩＳＯ　６３６１－９：２０２５",
)
PROJECT_SPELLINGS = ("XM-DUP-2025-01", "xm-dup-2025-01", " XM—DUP—2025—01")


def _batch(inbox: Path, standard_ids: tuple[str, ...] = ("STD-A", "STD-B", "STD-C", "STD-D")) -> str:
    enterprise = sample_sheets()["enterprises"][0]
    cc = str(enterprise["credit_code"])
    applications = [
        {
            "application_id": app_id,
            "credit_code": cc,
            "program": "STANDARD_SETTING",
            "submitted_on": f"2026-02-0{i + 1}",
        }
        for i, app_id in enumerate(standard_ids)
    ] + [
        {
            "application_id": f"EQ-{i}",
            "credit_code": cc,
            "program": "EQUIPMENT_UPGRADE",
            "submitted_on": f"2026-02-1{i}",
            "project_code": code,
            "project_name": "重复申报的技改项目",
            "construction_start": "2025-03-01",
            "completion_date": "2025-10-31",
            "total_investment_wan": "5000",
            "equipment_investment_wan": "1000",
        }
        for i, code in enumerate(PROJECT_SPELLINGS)
    ]
    standards = [
        {
            "application_id": app_id,
            "standard_code": code,
            "standard_level": "国际",
            "role": "主导",
            "published_on": "2025-06-30",
        }
        for app_id, code in zip(standard_ids, STANDARD_SPELLINGS, strict=False)
    ]
    write_batch(
        inbox / "2026-02-20-重复编号.xlsx",
        {"enterprises": [enterprise], "applications": applications, "standards": standards},
    )
    return cc


@pytest.fixture
def night(tmp_path: Path, sqlite_url: str) -> Nightly:
    (tmp_path / "inbox").mkdir()
    return Nightly(inbox=tmp_path / "inbox", database_url=sqlite_url, reports=tmp_path / "reports")


def test_one_standard_and_one_project_typed_several_ways_are_each_paid_once(night: Nightly):
    cc = _batch(night.inbox)
    assert night.run().success
    balances = {r["award_key"]: int(r["net_fen"]) for r in night.rows("SELECT * FROM award_balances")}
    assert balances == {
        f"STANDARD_SETTING:{cc}:ISO6361-9:2025": 300_000_00,  # 主导 国际: 30 万元, once
        "EQUIPMENT_UPGRADE:XM-DUP-2025-01": 2_000_000_00,  # 20 % of 1,000 万, once
    }
    decided = {r["application_id"]: r for r in night.rows("SELECT * FROM application_decisions")}
    assert [a for a, r in sorted(decided.items()) if r["decision"] == "awarded"] == ["EQ-0", "STD-A"]
    for later in ("STD-B", "STD-C", "STD-D", "EQ-1", "EQ-2"):
        reasons = json.loads(decided[later]["reasons"])
        assert decided[later]["decision"] == "rejected"
        assert reasons[0]["code"] == "DUPLICATE_AWARD_KEY"
    # The record keeps what the enterprise typed next to the form the key uses (the intake has already made
    # full-width characters half-width and trimmed the cell; ISO6361-9:2025 is the canonical form itself).
    typed = {
        a: c["values"]["typed"]
        for a, r in decided.items()
        for c in json.loads(r["reasons"])
        if c["code"] == "CODE_AS_TYPED"
    }
    assert typed == {
        "STD-A": "ISO 6361-9:2025",
        "STD-C": "iso 6361-9:2025",
        "STD-D": "ISO 6361-9:2025",
        "EQ-1": "xm-dup-2025-01",
        "EQ-2": "XM—DUP—2025—01",
    }
    (entry,) = night.rows("SELECT basis FROM award_ledger WHERE application_id = 'STD-A'")
    notes = json.loads(entry["basis"])["explanation"]["conditions"]
    assert any(c["code"] == "CODE_AS_TYPED" and c["values"]["typed"] == "ISO 6361-9:2025" for c in notes)


def test_an_award_booked_under_an_older_spelling_keeps_it_and_is_not_paid_again(night: Nightly):
    enterprise = sample_sheets()["enterprises"][0]
    cc = str(enterprise["credit_code"])
    old_key = f"STANDARD_SETTING:{cc}:ISO 6361-9:2025"  # as keys were built before the canonical form
    ledger_engine(night.database_url).dispose()
    insert_raw(
        night.engine(), award_key=old_key, application_id="STD-A", credit_code=cc, amount_fen=300_000_00
    )
    _batch(night.inbox, ("STD-A", "STD-B"))
    assert night.run().success
    entries = night.rows(
        "SELECT award_key, entry_type, application_id FROM award_ledger WHERE program = :p",
        p="STANDARD_SETTING",
    )
    assert entries == [{"award_key": old_key, "entry_type": "award", "application_id": "STD-A"}]
    decided = {r["application_id"]: r for r in night.rows("SELECT * FROM application_decisions")}
    assert decided["STD-A"]["decision"] == "awarded"
    assert json.loads(decided["STD-B"]["reasons"])[0]["code"] == "DUPLICATE_AWARD_KEY"
