"""The defects batch of the sample inbox: one workbook full of the mistakes operators really make.

`python -m samples.defects [folder]` writes `sample_inbox/2026-03-15-缺陷示例.xlsx`. Every application of it is
rejected at intake (ids `DEF-…`, never colliding with the main sample), so it changes no decision and no award;
`tests/intake/test_defects_batch.py` lists every rejection it must produce. Whole-file defects (a truncated file,
a renamed non-xlsx, missing sheets) cannot live in one workbook: the tests generate those in a temporary folder.
"""

from __future__ import annotations

import sys
from pathlib import Path

from pipelines.settings import SAMPLE_INBOX
from samples.workbook import batch_workbook
from schemas.credit_code import make

DEFECTS_FILE = "2026-03-15-缺陷示例.xlsx"

GOOD = make("150200", 90_000_001)  # 包头市: the one enterprise of this batch that is accepted
CITY_WRONG = make("150300", 90_000_002)  # valid code, but its 所属盟市 is not a league or city of the region
NAMELESS = make("150400", 90_000_003)
UNKNOWN = make("150500", 90_000_004)  # valid, in the region, but in no 企业 sheet of any batch
OUTSIDE = make("110108", 90_000_005)  # 北京市海淀区: not registered in Inner Mongolia
BAD_CHECK = GOOD[:-1] + ("0" if GOOD[-1] != "0" else "1")


def _app(app_id: str, program: str, **cells: object) -> dict[str, object]:
    return {
        "application_id": app_id,
        "credit_code": GOOD,
        "program": program,
        "submitted_on": "2026-03-10",
    } | cells


def _equipment(app_id: str, **cells: object) -> dict[str, object]:
    base = {
        "project_code": f"XM-{app_id}",
        "project_name": "熔铸线改造",
        "construction_start": "2025-01-01",
        "completion_date": "2025-10-31",
        "total_investment_wan": "2,500",
        "equipment_investment_wan": "1,500",
    }
    return _app(app_id, "EQUIPMENT_UPGRADE", **(base | cells))


def defect_sheets() -> dict[str, list[dict[str, object]]]:
    enterprises = [
        {
            "credit_code": GOOD,
            "name": "缺陷示例铝业有限公司",
            "league_city": "包头市",
            "tax_credit_grade": "A",
        },
        {"credit_code": BAD_CHECK, "name": "校验位错误铝业有限公司", "league_city": "包头市"},
        {"credit_code": OUTSIDE, "name": "区外铝业有限公司", "league_city": "呼和浩特市"},
        {"credit_code": CITY_WRONG, "name": "盟市填错铝业有限公司", "league_city": "北京市"},
        {"credit_code": "  ", "name": " "},  # a blank row with stray spaces: skipped, not counted
        {"credit_code": NAMELESS, "name": None, "league_city": "赤峰市"},
    ]
    applications = [
        _app("DEF-001", "STANDARD_SETTING"),
        _app("DEF-001", "STANDARD_SETTING"),  # the same id twice in one batch
        _app("DEF-002", "STANDARD_SETTING", credit_code=UNKNOWN),
        _app("DEF-003", "GREEN_MANUFACTURING", submitted_on="1900-01-01"),
        _equipment("DEF-004", completion_date="2099-12-31"),
        _equipment("DEF-005", total_investment_wan="一千万"),
        _equipment("DEF-006", total_investment_wan="-100"),
        _equipment("DEF-007", total_investment_wan="2,000", equipment_investment_wan="2,500"),
        _equipment("DEF-008", construction_start="2025-06-01", completion_date="2025-01-01"),
        _app("DEF-009", "设备补贴"),
        _equipment("DEF-010", total_investment_wan="=1000*3"),  # openpyxl writes "=…" as a formula
        _equipment("DEF-011", project_name="合并的项目名称"),  # merged with the next row below
        _equipment("DEF-012", project_name=None),
        _equipment("DEF-013", project_code=None),
        _app("DEF-014", "STANDARD_SETTING", credit_code=CITY_WRONG),
        _app("DEF-015", "STANDARD_SETTING", credit_code=None),  # a number cell, written in build()
    ]
    loans = [
        {"application_id": "DEF-404", "loan_contract_no": "JK-DEF-1", "lender": "某银行", "principal_wan": "100",
         "annual_rate_pct": "4.2", "drawdown_date": "2025-01-01", "interest_paid_wan": "1"},
        {"application_id": "DEF-007", "loan_contract_no": "JK-DEF-2", "lender": "某银行", "principal_wan": "100",
         "annual_rate_pct": "30", "drawdown_date": "2025-01-01", "interest_paid_wan": "1"},
        {"application_id": "DEF-001", "loan_contract_no": "JK-DEF-3", "lender": "某银行", "principal_wan": "100",
         "annual_rate_pct": "4.2", "drawdown_date": "2025-06-01", "repaid_date": "2025-01-01",
         "interest_paid_wan": "1"},
    ]  # fmt: skip
    recognitions = [
        {"application_id": "DEF-003", "recognition_type": "省级绿色工厂", "level": "国家级",
         "recognized_on": "2025-06-01", "document_no": "工信厅节函〔2025〕1号"},
    ]  # fmt: skip
    gate_metrics = [
        {"application_id": "DEF-006", "process": "拜耳法", "unit_energy": "330", "renewable_share_pct": "120",
         "meets_industry_norms": "可能", "catalog_allowed": "是"},
    ]  # fmt: skip
    savings = [
        {"application_id": "DEF-008", "claimed_saving": "2,500", "baseline_start": "2024-01-01",
         "baseline_end": "2024-06-30", "reporting_start": "2025-01-01", "reporting_end": "2025-12-31",
         "meter_ids": "DEF-E01；DEF-E02", "baseline_output_t": "100000", "reporting_output_t": "100000"},
    ]  # fmt: skip
    return {
        "enterprises": enterprises,
        "applications": applications,
        "loans": loans,
        "recognitions": recognitions,
        "gate_metrics": gate_metrics,
        "savings_claims": savings,
    }


def build(folder: Path = SAMPLE_INBOX) -> Path:
    wb = batch_workbook(defect_sheets())
    apps = wb["申报"]
    # DEF-015: an all-digit credit code typed into a number cell; Excel keeps 15 significant digits of it.
    apps.cell(17, 2).value = 911502009000000000.0
    # DEF-011 / DEF-012: 项目名称 merged over two rows, as operators do for two lines of one project.
    apps.merge_cells(start_row=13, start_column=5, end_row=14, end_column=5)
    # 知识产权 with a column that is not in the template.
    ip = wb.create_sheet("知识产权")
    ip.append(["申报编号", "成果类型", "登记号", "取得方式", "授权日期", "备注"])
    ip.append(["DEF-001", "发明专利", "ZL2024DEF0001.1", "自有", "2024-05-17", "另附证书"])
    notes = wb.create_sheet("备注")  # a sheet that is not in the template
    notes.append(["说明：本批次为缺陷示例"])
    path = folder / DEFECTS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


if __name__ == "__main__":
    print(build(Path(sys.argv[1]) if len(sys.argv) > 1 else SAMPLE_INBOX))
