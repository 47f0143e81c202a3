"""A small valid batch to break one way at a time, written as a real workbook; a night over an empty inbox."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from samples.workbook import batch_workbook
from schemas.credit_code import make
from tests.conftest import Nightly

CODE = make("150200", 20_000_001)
OTHER = make("150600", 20_000_002)


def valid_sheets() -> dict[str, list[dict[str, Any]]]:
    return {
        "enterprises": [
            {"credit_code": CODE, "name": "包头示例铝业有限公司", "league_city": "包头市", "tax_credit_grade": "A"},
            {"credit_code": OTHER, "name": "鄂尔多斯示例铝业有限公司", "league_city": "鄂尔多斯市"},
        ],
        "applications": [
            {"application_id": "T-STD-1", "credit_code": CODE, "program": "标准研制奖励", "submitted_on": "2026-01-10"},
            {"application_id": "T-INT-1", "credit_code": OTHER, "program": "DEEP_PROCESSING_INTEREST",
             "project_code": "XM-T-1", "submitted_on": "2026/1/12", "construction_start": "2024年11月1日",
             "completion_date": "2025-12-31", "total_investment_wan": "52,000", "product_price_yuan_per_t": "38000",
             "reference_price_yuan_per_t": "１９,０００"},
        ],
        "standards": [
            {"application_id": "T-STD-1", "standard_code": "YS/T 429-2025", "standard_level": "行业", "role": "主导",
             "published_on": "2025-11-20"},
        ],
        "loans": [
            {"application_id": "T-INT-1", "loan_contract_no": "JK-1", "lender": "内蒙古银行", "principal_wan": "12,000",
             "annual_rate_pct": "3.85", "drawdown_date": "2024-09-15", "interest_paid_wan": "480"},
        ],
    }  # fmt: skip


@pytest.fixture
def night(tmp_path: Path, sqlite_url: str) -> Nightly:
    """A night over an empty inbox of its own: the test puts its batches there."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    return Nightly(inbox=inbox, database_url=sqlite_url, reports=tmp_path / "reports")


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    """write(name, sheets=None, edit=None): a workbook from `sheets` (default: the valid batch), optionally
    changed by `edit(workbook)` before saving, as an operator would in Excel."""

    def _write(
        name: str = "2026-04-01-测试.xlsx",
        sheets: dict[str, list[dict[str, Any]]] | None = None,
        edit: Callable[[Workbook], None] | None = None,
    ) -> Path:
        wb = batch_workbook(valid_sheets() if sheets is None else sheets)
        if edit is not None:
            edit(wb)
        path = tmp_path / name
        wb.save(path)
        return path

    return _write
