"""The review workbook of one department: its pending applications, with the 审核结论 columns to fill.

Written every night beside the department's report, in `<as-of>/审核/<as-of>-<department>-审核结论.xlsx` (the date first, so
that workbooks dropped into `审核/` as they are apply in date order). The sheet 审核结论 is exactly what
`pipelines.reviews` reads back: the columns an official fills carry drop-downs (审核结论, 审核单位) and typed
validations (核定值 a number >= 0, 审核日期 a date); 审核单位 is filled in with the department, the only one whose
determination is taken. The other columns say what is pending and why; they are read back but never used.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from pipelines.excel import Col, Frame, new_workbook, save, write_table
from pipelines.settings import SHANGHAI
from rules.review import FIGURES, OUTCOME_ZH, VALUE_REQUIRED
from schemas.sheets import REVIEWS

INFO = ("application_id", "enterprise_name", "project_code", "project_name", "program_name",
        "pending_reason", "rule_figures", "pending_since")  # fmt: skip
TO_FILL = ("outcome", "determined_value", "opinion", "department", "reviewer", "reviewed_on", "document_no")
# Drawn widths, not fitted ones: fifteen columns fitted to their text (up to 24 each, 203 in all) printed on an
# A4 landscape page at 6 pt; at these (144) about 8.5 pt. Long text wraps within its column (rows are sized for
# it). Nine-point print, as the reports have, would leave the reasons some ten characters a line.
WIDTHS = {
    "application_id": 9, "enterprise_name": 10, "project_code": 10, "project_name": 10, "program_name": 9,
    "pending_reason": 18, "rule_figures": 13, "pending_since": 11,
    "outcome": 8, "determined_value": 7, "opinion": 8, "department": 7, "reviewer": 6, "reviewed_on": 11,
    "document_no": 7,
}  # fmt: skip
COLUMNS = [
    Col(
        REVIEWS.column(k).header,
        k,
        "date" if k == "reviewed_on" else "qty" if k == "determined_value" else "text",
        width=WIDTHS[k],
    )
    for k in (*INFO, *TO_FILL)
]


@dataclass(frozen=True)
class PendingRow:
    application_id: str
    program: str
    enterprise_name: str | None
    project_code: str | None
    project_name: str | None
    program_name: str
    pending_reason: str
    rule_figures: str
    pending_since: date | None


def file_name(as_of: date, department: str) -> str:
    return f"{as_of.isoformat()}-{department}-审核结论.xlsx"


def _instructions(department: str) -> list[dict[str, Any]]:
    lines = [
        f"本工作簿列出{department}牵头、规则无法据数据作出决定（待人工审核）的申报。",
        "请在「审核结论」表逐行填写：审核结论（通过 / 不通过）、审核意见（不通过时必填，即告知企业的理由）、"
        "审核人、审核日期、审核文号（必填）；审核单位已填好，请勿改动。",
        "核定值：节能（吨标准煤）、节水（吨）审核通过时必填经核实的年节约量；设备更新、知识产权转化可填核定的投资额（万元），"
        "不填按申报值；其他类别不填。奖补按申报值与核定值中较小者计算，门槛、上限与一次性奖励照常适用。",
        "未填写的行视为尚未审核，不作处理。填好后请原样放入收件箱的「审核」文件夹（文件名以日期开头，按文件名顺序处理；"
        "同一申报以后报送的结论为准）。",
        "审核日期不得晚于评审日；申报编号须为已受理的申报；只有牵头部门的结论被采用。",
    ]
    return [{"text": line} for line in lines]


def write(
    folder: Path, department: str, as_of: date, rulebook_version: str, rows: Sequence[PendingRow]
) -> Path:
    now = datetime.now(SHANGHAI)
    # An input form the official fills and sends back: no 序号 column for the reader to refuse.
    wb = new_workbook()
    records = [
        {
            **row.__dict__,
            "pending_since": row.pending_since.isoformat() if row.pending_since else None,
            "department": department,
        }
        for row in rows
    ]
    frame = Frame(f"{department}待审核申报的审核结论", department, as_of, rulebook_version, now)
    table = write_table(wb, REVIEWS.name, COLUMNS, records, frame=frame, numbered=False)
    ws = wb[table.sheet]
    last = max(table.last_row, table.first_row) + 200  # room for rows an official adds by hand
    first = table.first_row

    def cells(key: str) -> str:
        letter = get_column_letter(table.column_index(key))
        return f"{letter}{first}:{letter}{last}"

    validations = [
        ("outcome", DataValidation(type="list", formula1=f'"{",".join(OUTCOME_ZH.values())}"', allow_blank=True)),
        ("department", DataValidation(type="list", formula1=f'"{department}"', allow_blank=False)),
        ("determined_value", DataValidation(type="decimal", operator="greaterThanOrEqual", formula1="0", allow_blank=True)),
        # a date, any date: the review is done after this workbook was written, and the night that reads it
        # rejects a date after its own evaluation date
        ("reviewed_on", DataValidation(type="date", operator="greaterThan", formula1="DATE(2000,1,1)", allow_blank=True)),
    ]  # fmt: skip
    for key, dv in validations:
        dv.error = f"{REVIEWS.column(key).header}的填写值不符合要求"
        dv.errorTitle = "审核结论"
        dv.showErrorMessage = True
        dv.add(cells(key))
        ws.data_validations.append(dv)
    write_table(wb, "填写说明", [Col("填写说明", "text", width=100)], _instructions(department),
                frame=replace(frame, title=f"{department}审核结论填写说明"), numbered=False)  # fmt: skip
    return save(wb, folder / file_name(as_of, department))


# How the values a condition compared are named for an official (the rest keep their key).
LABELS = {
    "meter_id": "计量点", "period": "时段", "coverage": "完整率", "present_intervals": "有读数区间", "expected_intervals": "应有区间",
    "minimum": "下限", "claimed_saving": "申报节约量", "saving": "节约量", "unknown_meters": "无读数计量点",
    "total_investment_yuan": "项目总投资(元)", "equipment_investment_yuan": "设备投资额(元)",
}  # fmt: skip
SKIP = frozenset({"as_of"})


def figures_text(program: str, claimed: Any, reasons: Sequence[dict[str, Any]]) -> str:
    """The figures the rules had: the claimed figure and the values each open condition compared."""
    parts = []
    figure = FIGURES.get(program)
    if figure is not None and claimed is not None:
        parts.append(f"申报{figure.name_zh} {claimed} {figure.unit_zh}")
        if program in VALUE_REQUIRED:
            parts.append("通过须填核定值")
    for r in reasons:
        if r.get("passed") is True:
            continue
        values = r.get("values") or {}
        shown = "，".join(
            f"{LABELS.get(k, k)} {v}"
            for k, v in values.items()
            if not isinstance(v, dict | list) and k not in SKIP
        )
        if shown:
            parts.append(shown)
    return "；".join(parts)
