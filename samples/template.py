"""The blank submission template, generated from the sheet specs, so enterprises fill in exactly what we read.

`python -m samples.template out.xlsx` writes: a 填写说明 sheet (every column, its type, whether required, its
choices), then the nine sheets with their Chinese headers, drop-down lists for enumerations, 是/否 and programs,
date and number formats, text format for codes (an 18-character credit code must never become a number), and a
frozen header row. The drop-down choices live on a hidden 选项 sheet; the reader ignores both helper sheets.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.datavalidation import DataValidation

from pipelines.cells import EARLIEST, LATEST
from pipelines.workbooks import CHOICES_SHEET, INSTRUCTIONS_SHEET
from rules.catalog import PROGRAMS
from schemas.sheets import SHEETS, Column

_EXCEL_EPOCH = date(1899, 12, 30)  # Excel date validations compare serial numbers
ROWS = 2000  # rows prepared with drop-downs and checks; operators rarely send more per sheet
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
REQUIRED_FONT = Font(bold=True, color="C00000")
KINDS = {
    "text": "文本",
    "credit_code": "18 位统一社会信用代码（文本）",
    "program": "申报类别（下拉选择中文名称，或填写代码）",
    "date": "日期，如 2025-06-30",
    "decimal": "数值（可含小数，不要填写单位）",
    "bool": "是 / 否",
    "enum": "下拉选择",
    "meter_ids": "计量点编号，多个以分号分隔",
}
NUMBER_FORMATS = {"date": "yyyy-mm-dd", "decimal": "#,##0.00##", "text": "@", "credit_code": "@"}


def _choices(column: Column) -> list[str]:
    if column.kind == "bool":
        return ["是", "否"]
    if column.kind == "program":
        return [p.name for p in PROGRAMS]
    return list((column.enum or {}).values())


def _rule(column: Column) -> str:
    parts = []
    if column.min_value is not None:
        parts.append(f"{'>' if column.min_exclusive else '>='} {column.min_value}")
    if column.max_value is not None:
        parts.append(f"{'<' if column.max_exclusive else '<='} {column.max_value}")
    choices = _choices(column) if column.kind in ("enum", "bool") else []
    return "；".join([*parts, *(["可选：" + "、".join(choices)] if choices else [])])


def template() -> Workbook:
    wb = Workbook()
    guide = wb.active
    guide.title = INSTRUCTIONS_SHEET
    guide.append(["申报模板填写说明"])
    guide["A1"].font = Font(bold=True, size=14)
    guide.append(["每个工作表第 1 行是表头，请勿修改或删除；从第 2 行起每行填写一条记录。红色表头为必填项。"])
    guide.append(["明细表（贷款、认定、标准……）的申报编号须与同一文件「申报」表中的申报编号一致。"])
    guide.append(
        ["金额单位以表头为准（万元或元）；日期填写 2025-06-30；公式请“粘贴为数值”；不要合并单元格。"]
    )
    guide.append([])
    guide.append(["工作表", "表头", "英文键（CSV 可用）", "类型", "必填", "规则"])
    for cell in guide[guide.max_row]:
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
    for sheet in SHEETS:
        for column in sheet.columns:
            guide.append([sheet.name, column.header, column.key, KINDS[column.kind],
                          "是" if column.required else "", _rule(column)])  # fmt: skip
    for letter, width in zip("ABCDEF", (12, 26, 28, 36, 6, 60), strict=True):
        guide.column_dimensions[letter].width = width

    choices = wb.create_sheet(CHOICES_SHEET)
    choices.sheet_state = "hidden"
    lists: dict[tuple[str, ...], str] = {}

    def choice_range(values: list[str]) -> str:
        key = tuple(values)
        if key not in lists:
            col = get_column_letter(len(lists) + 1)
            for i, value in enumerate(values, start=1):
                choices[f"{col}{i}"] = value
            lists[key] = f"{quote_sheetname(CHOICES_SHEET)}!${col}$1:${col}${len(values)}"
        return lists[key]

    for sheet in SHEETS:
        ws = wb.create_sheet(sheet.name)
        ws.append([c.header for c in sheet.columns])
        ws.freeze_panes = "A2"
        for index, column in enumerate(sheet.columns, start=1):
            letter = get_column_letter(index)
            cell = ws.cell(1, index)
            cell.fill = HEADER_FILL
            cell.font = REQUIRED_FONT if column.required else Font(bold=True)
            cell.alignment = Alignment(horizontal="center")
            ws.column_dimensions[letter].width = max(14, 2 * len(column.header) + 2)
            if column.kind in NUMBER_FORMATS:
                ws.column_dimensions[letter].number_format = NUMBER_FORMATS[column.kind]
            target = f"{letter}2:{letter}{ROWS + 1}"
            validation = _validation(column, choice_range)
            if validation is not None:
                ws.add_data_validation(validation)
                validation.add(target)
    return wb


def _validation(column: Column, choice_range: Callable[[list[str]], str]) -> DataValidation | None:
    title = column.header
    if column.kind in ("enum", "bool", "program"):
        return DataValidation(
            type="list", formula1=choice_range(_choices(column)), allow_blank=True,
            showErrorMessage=column.kind != "program",  # a program may also be typed as its code
            errorTitle=title, error=f"请从下拉列表中选择{title}", promptTitle=title, prompt=KINDS[column.kind],
        )  # fmt: skip
    if column.kind == "date":
        low = (EARLIEST - _EXCEL_EPOCH).days
        high = (LATEST - _EXCEL_EPOCH).days
        return DataValidation(
            type="date", operator="between", formula1=str(low), formula2=str(high), allow_blank=True,
            errorTitle=title, error=f"请填写 {EARLIEST.year}–{LATEST.year} 年之间的日期，如 2025-06-30",
        )  # fmt: skip
    if column.kind == "decimal" and column.min_value is not None:
        operator = "greaterThan" if column.min_exclusive else "greaterThanOrEqual"
        return DataValidation(
            type="decimal", operator=operator, formula1=column.min_value, allow_blank=True,
            errorTitle=title, error=f"{title}应{'大于' if column.min_exclusive else '不小于'} {column.min_value}",
        )  # fmt: skip
    return None


def write(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    template().save(path)
    return path


if __name__ == "__main__":
    print(write(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("申报模板.xlsx")))
