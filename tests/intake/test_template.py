"""The blank template is built from the sheet specs and reads back through the intake like any batch."""

from pathlib import Path

from openpyxl import load_workbook

from pipelines.intake import merge, read_batch
from samples.template import write
from samples.workbook import _cell
from schemas.sheets import SHEETS
from tests.intake.conftest import valid_sheets


def test_the_empty_template_has_every_sheet_and_header_and_yields_no_rejection(tmp_path: Path):
    path = write(tmp_path / "申报模板.xlsx")
    wb = load_workbook(path)
    assert wb.sheetnames == ["填写说明", "选项", *(s.name for s in SHEETS)]
    for sheet in SHEETS:
        assert [c.value for c in wb[sheet.name][1]] == [c.header for c in sheet.columns]
    subs = merge([read_batch(path)])
    assert subs.rejections == [] and all(f.empty for f in subs.frames.values())


def test_the_template_offers_drop_downs_for_enumerations_and_text_format_for_credit_codes(tmp_path: Path):
    wb = load_workbook(write(tmp_path / "t.xlsx"))
    standards = wb["标准"]
    lists = [dv for dv in standards.data_validations.dataValidation if dv.type == "list"]
    choices = wb["选项"]
    offered = {tuple(c.value for c in choices[dv.formula1.split("!")[1].replace("$", "").split(":")[0][0]]
                     if c.value is not None) for dv in lists}  # fmt: skip
    assert ("国际", "国家", "行业") in offered and ("主导", "参与") in offered
    assert wb["企业"].column_dimensions["A"].number_format == "@"
    assert wb["申报"].column_dimensions["F"].number_format == "yyyy-mm-dd"
    assert "必填" in [c.value for c in wb["填写说明"][6]]


def test_a_filled_in_template_is_accepted_whole(tmp_path: Path):
    path = write(tmp_path / "2026-04-01-模板填写.xlsx")
    wb = load_workbook(path)
    by_key = {s.key: s for s in SHEETS}
    for key, rows in valid_sheets().items():
        ws = wb[by_key[key].name]
        for row in rows:
            ws.append([_cell(row.get(c.key)) for c in by_key[key].columns])
    wb.save(path)
    subs = merge([read_batch(path)])
    assert subs.rejections == []
    assert len(subs.frames["applications"]) == 2 and len(subs.frames["loans"]) == 1
