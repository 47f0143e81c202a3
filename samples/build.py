"""The bundled sample inbox: one realistic batch that exercises every program of docs/policy.md.

`python -m samples.build [folder]` rewrites `sample_inbox/2026-03-01-全区.xlsx`. Cells are typed the way
operators type them: Chinese enumeration labels, 是/否, some text dates and numbers with thousands separators.
Evaluate it with ALU_AS_OF=2026-11-24 for the figures the tests pin.
"""

from __future__ import annotations

import sys
from datetime import date
from decimal import Decimal as D
from pathlib import Path

from pipelines.settings import SAMPLE_INBOX
from samples.workbook import write_batch
from schemas.credit_code import make

SAMPLE_FILE = "2026-03-01-全区.xlsx"

# 盟市 -> administrative division code (GB/T 2260)
DIVISIONS = {
    "呼和浩特市": "150100", "包头市": "150200", "乌海市": "150300", "赤峰市": "150400", "通辽市": "150500",
    "鄂尔多斯市": "150600", "呼伦贝尔市": "150700", "巴彦淖尔市": "150800", "乌兰察布市": "150900",
    "兴安盟": "152200", "锡林郭勒盟": "152500", "阿拉善盟": "152900",
}  # fmt: skip

ENTERPRISES = [
    ("准格尔高铝粉煤灰新材料有限公司", "鄂尔多斯市", "A"),
    ("包头铝业高端板带有限公司", "包头市", "A"),
    ("霍林郭勒电解铝有限公司", "通辽市", "B"),
    ("乌兰察布再生铝科技有限公司", "乌兰察布市", "A"),
    ("呼和浩特铝合金材料有限公司", "呼和浩特市", "M"),
    ("赤峰铝业节能技术有限公司", "赤峰市", "B"),
    ("乌海氧化铝有限公司", "乌海市", "A"),
    ("巴彦淖尔铝箔制品有限公司", "巴彦淖尔市", "C"),
    ("阿拉善铝基新材料有限公司", "阿拉善盟", "A"),
    ("锡林郭勒绿色铝业有限公司", "锡林郭勒盟", "B"),
]


def credit_codes() -> list[str]:
    return [
        make(DIVISIONS[city], 10_000_000 + 7919 * i) for i, (_, city, _) in enumerate(ENTERPRISES, start=1)
    ]


def sample_sheets() -> dict[str, list[dict[str, object]]]:
    cc = credit_codes()
    ent = [
        {"credit_code": c, "name": n, "league_city": city, "tax_credit_grade": g}
        for c, (n, city, g) in zip(cc, ENTERPRISES, strict=True)
    ]
    FA, DP, SM, RC, AL, EN, AO, FO, AX, XG = cc

    def app(app_id: str, code: str, program: str, submitted: object = "2026-02-20", **kw: object) -> dict:
        return {
            "application_id": app_id,
            "credit_code": code,
            "program": program,
            "submitted_on": submitted,
            **kw,
        }

    applications = [
        # 一(1) fly-ash alumina interest: a large loan, the subsidy reaches the 500 万 cap.
        app(
            "FA-INT-001",
            FA,
            "FLYASH_ALUMINA_INTEREST",
            project_code="XM-FA-2024-01",
            project_name="30 万吨高铝粉煤灰提取氧化铝项目",
            construction_start="2024-03-01",
            completion_date="2025-08-31",
            production_start="2025-10-15",
            total_investment_wan="286,000",
        ),
        # 一(2) fly-ash VAT refund eligibility.
        app("FA-VAT-001", FA, "高铝粉煤灰综合利用增值税即征即退"),
        # 一(3) alumina gate: Bayer process at benchmark (compliant) / other process above it (non-compliant).
        app(
            "AO-GATE-001",
            AO,
            "ALUMINA_PROJECT_GATE",
            project_code="XM-AO-2026-01",
            project_name="氧化铝改扩建项目",
        ),
        app(
            "AO-GATE-002",
            AO,
            "ALUMINA_PROJECT_GATE",
            project_code="XM-AO-2026-02",
            project_name="氧化铝新建项目",
        ),
        # 二 smelter gate: transferred capacity with its paired project / without it.
        app(
            "SM-GATE-001",
            SM,
            "SMELTER_PROJECT_GATE",
            project_code="XM-SM-2026-01",
            project_name="电解铝产能置换项目",
        ),
        app(
            "SM-GATE-002",
            SM,
            "SMELTER_PROJECT_GATE",
            project_code="XM-SM-2026-02",
            project_name="承接区外电解铝项目",
        ),
        # 二(3) renewable share statistic.
        app("SM-RS-001", SM, "RENEWABLE_SHARE"),
        # 三(1) deep processing interest: ratio 2.0, one loan repaid during construction, one drawn before it.
        app(
            "DP-INT-001",
            DP,
            "DEEP_PROCESSING_INTEREST",
            project_code="XM-DP-2024-07",
            project_name="新能源汽车电池铝箔项目",
            construction_start="2024-11-01",
            completion_date="2025/12/31",
            production_start="2026年1月15日",
            total_investment_wan=D("52000"),
            product_price_yuan_per_t=D("38000"),
            reference_price_yuan_per_t=D("19000"),
        ),
        # 三(1) ratio 1.4: below 1.5, rejected (its loan would otherwise earn a subsidy).
        app(
            "DP-INT-002",
            AL,
            "DEEP_PROCESSING_INTEREST",
            project_code="XM-DP-2025-02",
            project_name="普通铝型材项目",
            construction_start="2025-01-01",
            completion_date="2025-12-01",
            production_start="2026-01-05",
            total_investment_wan=D("8000"),
            product_price_yuan_per_t=D("26600"),
            reference_price_yuan_per_t=D("19000"),
        ),
        # 三(2) first-batch register.
        app("DP-FB-001", DP, "FIRST_BATCH"),
        # 四 recycled aluminium: the database, processing interest at exactly 1.5, VAT eligible / not eligible.
        app("RC-DB-001", RC, "RECYCLED_DATABASE"),
        app(
            "RC-INT-001",
            RC,
            "RECYCLED_PROCESSING_INTEREST",
            project_code="XM-RC-2025-01",
            project_name="再生铝高端汽车零部件项目",
            construction_start="2025-01-10",
            completion_date="2025-11-30",
            production_start="2025-12-20",
            total_investment_wan=D("15000"),
            product_price_yuan_per_t=D("25500"),
            reference_price_yuan_per_t=D("17000"),
        ),
        app("RC-VAT-001", RC, "RECYCLED_VAT"),
        app("FO-VAT-001", FO, "RECYCLED_VAT"),
        # 五(1) equipment upgrade: exactly 2,000 万 total (awarded; 20 % of 12,000,000.025 yuan of equipment is
        # 2,400,000.005: half a fen, rounded up to 2,400,000.01), 1,999.99 万 (rejected), cap exceeded.
        app(
            "EQ-001",
            AL,
            "EQUIPMENT_UPGRADE",
            project_code="XM-EQ-2025-01",
            project_name="熔铸生产线智能化改造",
            construction_start="2025-03-01",
            completion_date="2025-10-31",
            total_investment_wan=D("2000"),
            equipment_investment_wan=D("1200.0000025"),
        ),
        app(
            "EQ-002",
            EN,
            "EQUIPMENT_UPGRADE",
            project_code="XM-EQ-2025-02",
            project_name="轧机更新项目",
            construction_start="2025-03-01",
            completion_date="2025-09-30",
            total_investment_wan=D("1999.99"),
            equipment_investment_wan=D("1500"),
        ),
        app(
            "EQ-003",
            DP,
            "EQUIPMENT_UPGRADE",
            project_code="XM-EQ-2025-03",
            project_name="冷轧产线技术改造",
            construction_start="2025-02-01",
            completion_date="2025-12-15",
            total_investment_wan="３６,０００",
            equipment_investment_wan=D("30000"),
        ),
        # 五(2) energy saving: verified from the metering export; below 2,000 tce; coverage too low (review).
        app(
            "ES-001",
            EN,
            "ENERGY_SAVING",
            project_code="XM-ES-2024-01",
            project_name="电解槽节能改造",
            construction_start="2024-11-01",
            completion_date="2024-12-31",
        ),
        app(
            "ES-002",
            AX,
            "ENERGY_SAVING",
            project_code="XM-ES-2024-02",
            project_name="余热回收改造",
            construction_start="2024-11-01",
            completion_date="2024-12-31",
        ),
        app(
            "ES-003",
            XG,
            "ENERGY_SAVING",
            project_code="XM-ES-2024-03",
            project_name="空压站节能改造",
            construction_start="2024-11-01",
            completion_date="2024-12-31",
        ),
        app(
            "WS-001",
            EN,
            "WATER_SAVING",
            project_code="XM-WS-2024-01",
            project_name="循环水系统节水改造",
            construction_start="2024-11-01",
            completion_date="2024-12-31",
        ),
        # 五(2) green manufacturing: national green factory, regional supply chain, one dated the day before.
        app("GM-001", XG, "GREEN_MANUFACTURING"),
        app("GM-002", AL, "绿色制造奖励"),
        app("GM-003", AX, "GREEN_MANUFACTURING"),
        # 六 S&T project register; IP commercialisation at 20 % of completed investment.
        app("ST-001", AX, "SCI_TECH_PROJECT"),
        app(
            "IP-001",
            AL,
            "IP_COMMERCIALIZATION",
            project_code="XM-IP-2025-01",
            project_name="高强铝合金专利产业化",
            construction_start="2025-01-01",
            completion_date="2025-11-30",
            completed_investment_wan=D("1800"),
        ),
        # 七 standards: lead international, participate national + lead industry, published before the policy,
        # and a second claim of an already claimed standard (one-time).
        app("STD-001", DP, "STANDARD_SETTING", submitted="2026-01-10"),
        app("STD-002", AL, "标准研制奖励", submitted="2026-01-12"),
        app("STD-003", EN, "STANDARD_SETTING", submitted="2026-01-15"),
        app("STD-004", DP, "STANDARD_SETTING", submitted="2026-02-01"),
        # 八 champions (regional then national) and quality SMEs.
        app("SC-001", SM, "SINGLE_CHAMPION", submitted="2025-03-01"),
        app("SC-002", SM, "SINGLE_CHAMPION", submitted="2026-02-15"),
        app("QS-001", AX, "QUALITY_SME"),
        app("QS-002", XG, "QUALITY_SME"),
        app("QS-003", FO, "QUALITY_SME"),
    ]
    loans = [
        {
            "application_id": "FA-INT-001",
            "loan_contract_no": "JK-2024-0088",
            "lender": "中国工商银行鄂尔多斯分行",
            "principal_wan": D("30000"),
            "annual_rate_pct": D("4.20"),
            "drawdown_date": "2024-04-01",
            "repaid_date": None,
            "interest_paid_wan": D("1800"),
        },
        {
            "application_id": "DP-INT-001",
            "loan_contract_no": "JK-2024-0311",
            "lender": "中国建设银行包头分行",
            "principal_wan": D("12000"),
            "annual_rate_pct": D("3.85"),
            "drawdown_date": "2024-09-15",
            "repaid_date": None,
            "interest_paid_wan": D("480"),
        },
        {
            "application_id": "DP-INT-001",
            "loan_contract_no": "JK-2025-0042",
            "lender": "内蒙古银行包头分行",
            "principal_wan": D("5000"),
            "annual_rate_pct": D("1.50"),
            "drawdown_date": "2025-01-20",
            "repaid_date": "2025-07-20",
            "interest_paid_wan": D("37.5"),
        },
        {
            "application_id": "DP-INT-002",
            "loan_contract_no": "JK-2025-0019",
            "lender": "中国银行呼和浩特分行",
            "principal_wan": D("3000"),
            "annual_rate_pct": D("3.60"),
            "drawdown_date": "2025-01-02",
            "repaid_date": None,
            "interest_paid_wan": D("99"),
        },
        {
            "application_id": "RC-INT-001",
            "loan_contract_no": "JK-2025-0107",
            "lender": "中国农业银行乌兰察布分行",
            "principal_wan": D("6000"),
            "annual_rate_pct": D("3.45"),
            "drawdown_date": "2025-02-01",
            "repaid_date": None,
            "interest_paid_wan": D("172.5"),
        },
    ]
    gate = {
        "renewable_share_pct": None,
        "environmental_grade": None,
        "capacity_source": None,
        "paired_project_code": None,
        "advanced_equipment": None,
    }
    gate_metrics = [
        gate
        | {
            "application_id": "AO-GATE-001",
            "process": "拜耳法",
            "unit_energy": D("335"),
            "meets_industry_norms": True,
            "catalog_allowed": True,
        },
        gate
        | {
            "application_id": "AO-GATE-002",
            "process": "其他",
            "unit_energy": D("600"),
            "meets_industry_norms": True,
            "catalog_allowed": True,
        },
        {
            "application_id": "SM-GATE-001",
            "process": "电解",
            "unit_energy": D("12950"),
            "renewable_share_pct": D("55"),
            "environmental_grade": "A",
            "capacity_source": "区外转移",
            "paired_project_code": "XM-DP-2024-07",
            "meets_industry_norms": True,
            "advanced_equipment": True,
            "catalog_allowed": True,
        },
        {
            "application_id": "SM-GATE-002",
            "process": "电解",
            "unit_energy": D("13000"),
            "renewable_share_pct": D("50"),
            "environmental_grade": "A",
            "capacity_source": "区外转移",
            "paired_project_code": None,
            "meets_industry_norms": True,
            "advanced_equipment": True,
            "catalog_allowed": True,
        },
    ]
    # every VAT claim covers 2025, without a violation, for a product neither restricted nor eliminated
    vat_2025 = {
        "period_start": "2025-01-01",
        "period_end": "2025-12-31",
        "serious_violation_6m": False,
        "restricted_or_eliminated": False,
    }
    vat = [
        vat_2025 | {"application_id": "FA-VAT-001", "sales_wan": D("12000"), "vat_paid_wan": D("800"),
                    "waste_feed_share_pct": D("40")},
        vat_2025 | {"application_id": "RC-VAT-001", "sales_wan": D("9000"), "vat_paid_wan": D("520"),
                    "waste_feed_share_pct": D("96")},
        vat_2025 | {"application_id": "FO-VAT-001", "sales_wan": D("3000"), "vat_paid_wan": D("150"),
                    "waste_feed_share_pct": D("90")},
    ]  # fmt: skip
    # every savings claim compares the year 2024 with the year 2025
    years = {
        "baseline_start": "2024-01-01",
        "baseline_end": "2024-12-31",
        "reporting_start": "2025-01-01",
        "reporting_end": "2025-12-31",
    }
    savings = [
        years | {"application_id": "ES-001", "claimed_saving": D("2500"), "meter_ids": "EN-E01;EN-E02",
                 "baseline_output_t": D("100000"), "reporting_output_t": D("100000")},
        years | {"application_id": "ES-002", "claimed_saving": D("1800"), "meter_ids": "AX-E01",
                 "baseline_output_t": D("50000"), "reporting_output_t": D("50000")},
        years | {"application_id": "ES-003", "claimed_saving": D("3000"), "meter_ids": "XG-E01",
                 "baseline_output_t": D("80000"), "reporting_output_t": D("80000")},
        years | {"application_id": "WS-001", "claimed_saving": D("60000"), "meter_ids": "EN-W01",
                 "baseline_output_t": D("100000"), "reporting_output_t": D("100000")},
    ]  # fmt: skip
    recognitions = [
        {
            "application_id": "DP-FB-001",
            "recognition_type": "首批次",
            "level": "自治区级",
            "recognized_on": "2025-06-30",
            "document_no": "内工信材字〔2025〕88号",
        },
        {
            "application_id": "GM-001",
            "recognition_type": "绿色工厂",
            "level": "国家级",
            "recognized_on": date(2025, 12, 20),
            "document_no": "工信厅节函〔2025〕321号",
        },
        {
            "application_id": "GM-002",
            "recognition_type": "绿色供应链",
            "level": "自治区级",
            "recognized_on": "2025-05-10",
            "document_no": "内工信节字〔2025〕45号",
        },
        {
            "application_id": "GM-003",
            "recognition_type": "能效领跑者",
            "level": "自治区级",
            "recognized_on": "2024-10-29",
            "document_no": "内工信节字〔2024〕99号",
        },
        {
            "application_id": "ST-001",
            "recognition_type": "科技重大专项",
            "level": "自治区级",
            "recognized_on": "2025-04-01",
            "document_no": "内科发〔2025〕12号",
        },
        {
            "application_id": "SC-001",
            "recognition_type": "制造业单项冠军",
            "level": "自治区级",
            "recognized_on": "2025-01-20",
            "document_no": "内工信规字〔2025〕3号",
        },
        {
            "application_id": "SC-002",
            "recognition_type": "制造业单项冠军",
            "level": "国家级",
            "recognized_on": "2026-01-28",
            "document_no": "工信部联政法〔2026〕15号",
        },
        {
            "application_id": "QS-001",
            "recognition_type": '专精特新"小巨人"',
            "level": "国家级",
            "recognized_on": "2025-07-15",
            "document_no": "工信厅企业函〔2025〕170号",
        },
        {
            "application_id": "QS-002",
            "recognition_type": "创新型中小企业",
            "level": "自治区级",
            "recognized_on": "2025-09-01",
            "document_no": "内工信中小字〔2025〕60号",
        },
        {
            "application_id": "QS-003",
            "recognition_type": "专精特新中小企业",
            "level": "自治区级",
            "recognized_on": "2024-06-01",
            "document_no": "内工信中小字〔2024〕31号",
        },
    ]
    ip_assets = [
        {
            "application_id": "IP-001",
            "ip_kind": "发明专利",
            "ip_number": "ZL202210345678.9",
            "acquisition": "自有",
            "granted_on": "2024-05-17",
        },
        {
            "application_id": "IP-001",
            "ip_kind": "软件著作权",
            "ip_number": "2024SR0123456",
            "acquisition": "购买",
            "granted_on": "2024-08-02",
        },
    ]
    standards = [
        {
            "application_id": "STD-001",
            "standard_code": "ISO 6361-6:2025",
            "standard_level": "国际",
            "role": "主导",
            "published_on": "2025-06-30",
        },
        {
            "application_id": "STD-002",
            "standard_code": "GB/T 3190-2025",
            "standard_level": "国家",
            "role": "参与",
            "published_on": "2025/9/1",
        },
        {
            "application_id": "STD-002",
            "standard_code": "YS/T 429-2025",
            "standard_level": "行业",
            "role": "主导",
            "published_on": "2025年11月20日",
        },
        {
            "application_id": "STD-003",
            "standard_code": "GB/T 6892-2023",
            "standard_level": "国家",
            "role": "主导",
            "published_on": "2023-12-01",
        },
        {
            "application_id": "STD-004",
            "standard_code": "ISO 6361-6:2025",
            "standard_level": "国际",
            "role": "主导",
            "published_on": "2025-06-30",
        },
    ]
    return {
        "enterprises": ent,
        "applications": applications,
        "loans": loans,
        "recognitions": recognitions,
        "standards": standards,
        "ip_assets": ip_assets,
        "savings_claims": savings,
        "gate_metrics": gate_metrics,
        "vat_claims": vat,
    }


def build(folder: Path = SAMPLE_INBOX) -> Path:
    return write_batch(folder / SAMPLE_FILE, sample_sheets())


if __name__ == "__main__":
    print(build(Path(sys.argv[1]) if len(sys.argv) > 1 else SAMPLE_INBOX))
