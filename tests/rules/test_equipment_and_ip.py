"""五(1) 设备更新和技术改造（设备投资额的 20%）与 六(2) 科技成果转化（实际完成投资额的 20%），各最高 500 万元。"""

from datetime import date
from decimal import Decimal

import pytest

from rules.decision import Outcome
from rules.model import IpAsset
from tests.rules.builders import application, codes, one, outcome_and_amount, wan

D = Decimal


def equipment_project(total: str, equipment: str, **kw):
    fields = dict(
        project_code="XM-EQ",
        construction_start=date(2025, 3, 1),
        completion_date=date(2025, 10, 31),
        total_investment=wan(total),
        equipment_investment=wan(equipment),
    )
    return application("EQUIPMENT_UPGRADE", **(fields | kw))


@pytest.mark.parametrize(
    ("total", "equipment", "outcome", "amount"),
    [
        pytest.param(
            "2000",
            "1200",
            Outcome.AWARDED,
            D("2400000.00"),
            id="一个总投资恰好2000万元的已完工项目获得设备投资额20%的奖补",
        ),
        pytest.param(
            "1999.99", "1500", Outcome.REJECTED, None, id="总投资1999.99万元的项目未达到2000万元以上不予奖补"
        ),
        pytest.param(
            "3000",
            "2500",
            Outcome.AWARDED,
            D("5000000.00"),
            id="设备投资2500万元的20%恰好达到最高奖补500万元",
        ),
        pytest.param(
            "36000",
            "30000",
            Outcome.AWARDED,
            D("5000000.00"),
            id="设备投资3亿元的20%超过最高奖补按500万元奖补",
        ),
        pytest.param(
            "2000",
            "1200.0000025",
            Outcome.AWARDED,
            D("2400000.01"),
            id="奖补2400000.005元四舍五入为2400000.01元",
        ),
    ],
)
def test_equipment_upgrade_pays_twenty_percent_of_equipment_investment(total, equipment, outcome, amount):
    assert outcome_and_amount(equipment_project(total, equipment)) == (outcome, amount)


def test_a_rejected_equipment_project_is_told_the_total_in_wan_and_the_threshold():
    decision = one(equipment_project("1999.99", "1500"))
    (failed,) = [c for c in decision.conditions if c.passed is False]
    assert failed.code == "TOTAL_INVESTMENT_BELOW_MINIMUM"
    assert failed.message == "项目总投资 1,999.99 万元，未达到 2,000 万元以上"
    assert failed.values["total_investment_yuan"] == D("19999900")


@pytest.mark.parametrize(
    ("completion", "outcome"),
    [
        pytest.param(date(2026, 11, 24), Outcome.AWARDED, id="评审当日竣工的设备更新项目已完工"),
        pytest.param(date(2026, 11, 25), Outcome.REJECTED, id="评审次日竣工的设备更新项目尚未完工"),
    ],
)
def test_equipment_upgrade_needs_a_completed_project(completion, outcome):
    assert one(equipment_project("2000", "1000", completion_date=completion)).outcome == outcome


def test_an_equipment_project_without_equipment_investment_is_rejected():
    decision = one(equipment_project("2000", "0"))
    assert decision.outcome == Outcome.REJECTED and "EQUIPMENT_INVESTMENT_REQUIRED" in codes(decision)


def test_the_equipment_award_object_is_the_project():
    (award,) = one(equipment_project("2000", "1000")).awards
    assert award.award_key == "EQUIPMENT_UPGRADE:XM-EQ"
    assert [p["key"] for p in award.basis["parameters"]] == [
        "equipment_upgrade.min_total_investment",
        "equipment_upgrade.rate",
        "equipment_upgrade.cap",
    ]


PATENT = IpAsset("invention_patent", "ZL202210345678.9", "own", date(2024, 5, 17))


def ip_project(completed: str, ips=(PATENT,), **kw):
    fields = dict(
        project_code="XM-IP",
        completion_date=date(2025, 11, 30),
        completed_investment=wan(completed),
        ip_assets=ips,
    )
    return application("IP_COMMERCIALIZATION", **(fields | kw))


@pytest.mark.parametrize(
    ("completed", "ips", "outcome", "amount"),
    [
        pytest.param(
            "1800",
            (PATENT,),
            Outcome.AWARDED,
            D("3600000.00"),
            id="自有发明专利转化项目完成投资1800万元奖补360万元",
        ),
        pytest.param(
            "2500",
            (IpAsset("software_copyright", "2024SR0123456", "purchased", date(2024, 8, 2)),),
            Outcome.AWARDED,
            D("5000000.00"),
            id="购买的软件著作权转化项目完成投资2500万元恰好达到最高奖补500万元",
        ),
        pytest.param(
            "4000",
            (PATENT,),
            Outcome.AWARDED,
            D("5000000.00"),
            id="完成投资4000万元的20%超过上限按500万元奖补",
        ),
        pytest.param("1800", (), Outcome.REJECTED, None, id="没有授权发明专利或软件著作权的项目不予奖补"),
        pytest.param(
            "1800",
            (IpAsset("invention_patent", "ZL1", "own", date(2026, 12, 1)),),
            Outcome.REJECTED,
            None,
            id="评审日期后才授权的专利不计入",
        ),
    ],
)
def test_ip_commercialization_pays_twenty_percent_of_completed_investment(completed, ips, outcome, amount):
    assert outcome_and_amount(ip_project(completed, ips)) == (outcome, amount)


def test_an_ip_project_not_yet_completed_is_rejected():
    decision = one(ip_project("1800", completion_date=date(2026, 12, 31)))
    assert decision.outcome == Outcome.REJECTED and "PROJECT_COMPLETED" in codes(decision)
