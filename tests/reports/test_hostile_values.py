"""Nothing an enterprise typed can become a formula or a link in any report: hostile names, project names and
rejected values reach every workbook as plain string cells."""

from datetime import date, datetime
from pathlib import Path
from typing import Any

from openpyxl import load_workbook

from pipelines.excel import Col, Frame, new_workbook, save, write_table
from samples.workbook import batch_workbook
from schemas.credit_code import make
from tests.conftest import Nightly

HOSTILE = [
    '=HYPERLINK("http://x","y")',
    "+1",
    "-2",
    "@SUM(A1)",
    "\t=1+1",
    "\r=2+2",
]


def _write_as_text(path: Path, sheets: dict[str, list[dict[str, Any]]]) -> None:
    """A batch workbook whose text cells are string cells, as an operator gets by typing '= or pasting text."""
    wb = batch_workbook(sheets)
    for ws in wb.worksheets:
        for row in ws.iter_rows(min_row=2):
            for cell in row:
                if isinstance(cell.value, str):
                    cell.data_type = "s"
    wb.save(path)


def _cells(path: Path):
    for ws in load_workbook(path).worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.value is not None:
                    yield ws.title, cell


def test_the_writer_keeps_every_dangerous_start_a_plain_string_cell(tmp_path: Path):
    wb = new_workbook()
    rows = [{"name": v, "amount": None} for v in HOSTILE]
    frame = Frame(HOSTILE[0], "测试单位", date(2026, 11, 24), "rb-test", datetime(2026, 11, 24, 2, 0))
    write_table(wb, "表", [Col("企业名称", "name"), Col("金额(元)", "amount", "yuan")], rows, frame=frame)
    path = save(wb, tmp_path / "hostile.xlsx")
    cells = [cell for _, cell in _cells(path)]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    # XML readers turn a carriage return into a line feed; it is still the same text, and still text
    written = {c.value.replace("\n", "\r"): c for c in cells if c.row >= 6 and isinstance(c.value, str)}
    for value in HOSTILE:
        cell = written[value]
        assert cell.data_type == "s" and cell.quotePrefix, value
    assert not any(c.hyperlink for c in cells)


def test_hostile_names_projects_and_rejected_values_stay_text_in_every_report(nightly: Nightly):
    codes = [make("150200", 20_000_000 + 7919 * i) for i in range(len(HOSTILE))]
    enterprises = [
        {"credit_code": code, "name": value, "league_city": "包头市"}
        for code, value in zip(codes, HOSTILE, strict=True)
    ]
    applications = [
        {
            "application_id": f"HOSTILE-{i}",
            "credit_code": code,
            # a register program with no detail sheet, so every application is decided and listed
            "program": "RENEWABLE_SHARE",
            "project_name": value,
            "submitted_on": "2026-02-25",
        }
        for i, (code, value) in enumerate(zip(codes, HOSTILE, strict=True))
    ]
    # a credit code that is itself hostile: rejected, and its value quoted in every 退回行 sheet
    bad = {"credit_code": '=HYPERLINK("http://evil","点我")', "name": "校验失败企业", "league_city": "包头市"}
    _write_as_text(
        nightly.inbox / "2026-03-05-包头市.xlsx",
        {"enterprises": [*enterprises, bad], "applications": applications},
    )
    result = nightly.run()
    assert result.success

    stored_names = {r["enterprise_name"] for r in nightly.rows(
        "SELECT enterprise_name FROM application_decisions WHERE application_id LIKE 'HOSTILE-%'"
    )}  # fmt: skip
    rejected = {r["value"] for r in nightly.rows("SELECT value FROM submission_rejections") if r["value"]}
    assert bad["credit_code"] in rejected
    dangerous = {v for v in stored_names | rejected if v.startswith(("=", "+", "-", "@", "\t", "\r"))}
    # the names reach the database as typed; the intake trims the leading tab and carriage return
    assert set(HOSTILE[:4]) | {"=1+1", "=2+2"} <= stored_names
    assert stored_names <= dangerous

    folder = nightly.reports / nightly.as_of.isoformat()
    books = sorted(folder.glob("*.xlsx"))
    assert len(books) == 11
    for path in books:
        found = set()
        for sheet, cell in _cells(path):
            assert cell.data_type != "f", (path.name, sheet, cell.coordinate, cell.value)
            assert not cell.hyperlink, (path.name, sheet, cell.coordinate)
            if isinstance(cell.value, str) and cell.value in dangerous:
                assert cell.data_type == "s" and cell.quotePrefix, (path.name, sheet, cell.coordinate)
                found.add(cell.value)
        if path.stem != "专项资金汇总":
            # every department workbook quotes the rejected value (退回行)
            assert bad["credit_code"] in found, path.name
    # the hostile names and project names are listed where RENEWABLE_SHARE is reported
    for department in ("能源局", "工信厅"):
        found = {c.value for _, c in _cells(folder / f"{department}.xlsx") if isinstance(c.value, str)}
        assert dangerous <= found, department
