"""How report rows reach the file: written as text where openpyxl left a mark for them, each column's cells
looked up by value, and the frames read column by column. Each test fails if a mechanism put a row in the wrong
place or handed back the cell of another, equal-comparing value."""

import zipfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl import load_workbook
from python_calamine import CalamineWorkbook

from pipelines.department_report import _value, records
from pipelines.excel import Col, Frame, new_workbook, save, write_table
from pipelines.sheet_rows import Row, encoder, install, register

FRAME = Frame("标题", "测试单位", date(2026, 11, 24), "rb-test", datetime(2026, 11, 24, 2, 0))
MARK = "<?alu-rows ?>"  # the text of the mark, typed into cells: it must stay text


def _sheet_xml(path: Path, n: int = 1) -> str:
    with zipfile.ZipFile(path) as z:
        return z.read(f"xl/worksheets/sheet{n}.xml").decode()


def test_rows_written_as_text_land_between_openpyxl_rows_in_order(tmp_path: Path):
    wb = new_workbook()
    ws = wb.create_sheet("表")
    ws.append(["openpyxl 1"])
    install(ws)
    style = register(wb, ws.parent._cell_styles[0])
    cell = encoder("text", style, wb.epoch)
    ws.append(Row(cell["text 2"]))
    ws.append(Row(cell[MARK], height=30))
    ws.append([MARK])  # openpyxl's own row between two runs of text rows
    ws.append(Row(cell["text 5"]))
    ws.append(["openpyxl 6"])
    path = save(wb, tmp_path / "runs.xlsx")

    values = [r[0] for r in load_workbook(path)["表"].iter_rows(values_only=True)]
    assert values == ["openpyxl 1", "text 2", MARK, MARK, "text 5", "openpyxl 6"]
    xml = _sheet_xml(path)
    assert "<?alu-rows" not in xml  # every mark replaced, and the typed ones escaped
    assert '<row r="3" ht="30" customHeight="1">' in xml


def test_a_column_of_equal_but_different_values_keeps_each_ones_own_cell(tmp_path: Path):
    # 1, True and 1.0 are one key of a dict, as are Decimal("1.0") and Decimal("1.00"): a cell looked up by
    # value must never be the cell of the equal value written before it
    rows = [
        {"text": 1, "amount": Decimal("1.0"), "count": 1},
        {"text": True, "amount": Decimal("1.00"), "count": True},
        {"text": "1", "amount": 1, "count": Decimal("1.0")},
        {"text": 1.0, "amount": Decimal("1.000"), "count": 1.0},
        {"text": False, "amount": None, "count": None},
    ]
    columns = [Col("文字", "text"), Col("金额", "amount", "yuan"), Col("个数", "count", "int")]
    wb = new_workbook()
    write_table(wb, "表", columns, rows, frame=FRAME, numbered=False)
    path = save(wb, tmp_path / "equal.xlsx")

    table = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("表").to_python()[5:10]
    assert [r[0] for r in table] == ["1", "是", "1", "1.0", "否"]
    assert [r[2] for r in table] == [1, 1, 1, 1, ""]
    xml = _sheet_xml(path)
    amounts = [v for v in ("<v>1.0</v>", "<v>1.00</v>", "<v>1</v>", "<v>1.000</v>") if v in xml]
    assert amounts == ["<v>1.0</v>", "<v>1.00</v>", "<v>1</v>", "<v>1.000</v>"]


def test_records_read_column_by_column_equal_the_frames_own_rows():
    frame = pd.DataFrame(
        {
            "application_id": ["A-1", "A-2", "A-3"],
            "project_name": ["项目", None, float("nan")],
            "amount": [Decimal("1.50"), np.nan, Decimal("0")],
            "n": np.array([1, 2, 3], dtype="int64"),
            "submitted_on": [date(2026, 1, 1), None, date(2026, 2, 1)],
        }
    )
    every = [{k: _value(v) for k, v in r.items()} for r in frame.to_dict("records")]
    assert records(frame) == every
    assert records(frame, ("project_name", "application_id", "absent")) == [
        {"project_name": r["project_name"], "application_id": r["application_id"]} for r in every
    ]
    assert records(frame.iloc[:0]) == [] and records(None) == []
