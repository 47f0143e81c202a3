"""One pandera schema per sheet, built from its spec, validated lazily so every failure is reported at once.

Typed cells come from `pipelines.cells`; this module decides what is acceptable: required, in range, unique in
the batch, a valid credit code, and the row rules (equipment <= total investment, completion >= start ...).
Failures become `Rejection`s that name the file, the Excel row, the column and what to fix.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any

import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from schemas import credit_code
from schemas.rejection import Rejection
from schemas.sheets import BY_KEY, FILE, ROW, SHEET, Column, Sheet


@dataclass(frozen=True)
class RowRule:
    code: str
    column: str  # the column the operator should look at
    message: str
    test: Callable[[pd.DataFrame], pd.Series]


def _le(a: str, b: str) -> Callable[[pd.DataFrame], pd.Series]:
    """a <= b where both are present (a missing side is another check's business)."""

    def test(df: pd.DataFrame) -> pd.Series:
        return pd.Series(
            [
                x is None or y is None or pd.isna(x) or pd.isna(y) or x <= y
                for x, y in zip(df[a], df[b], strict=True)
            ],
            index=df.index,
        )

    return test


def _about_a_year(start: str, end: str) -> Callable[[pd.DataFrame], pd.Series]:
    def test(df: pd.DataFrame) -> pd.Series:
        return pd.Series(
            [355 <= (e - s).days <= 375 for s, e in zip(df[start], df[end], strict=True)], index=df.index
        )

    return test


ROW_RULES: dict[str, tuple[RowRule, ...]] = {
    "applications": (
        RowRule("EQUIPMENT_EXCEEDS_TOTAL", "equipment_investment_wan", "设备投资额大于项目总投资，请核对两项金额",
                _le("equipment_investment_wan", "total_investment_wan")),
        RowRule("COMPLETION_BEFORE_START", "completion_date", "竣工日期早于开工日期，请核对",
                _le("construction_start", "completion_date")),
    ),
    "loans": (
        RowRule("REPAID_BEFORE_DRAWDOWN", "repaid_date", "还款日期早于放款日期，请核对",
                _le("drawdown_date", "repaid_date")),
    ),
    "savings_claims": (
        RowRule("BASELINE_NOT_12_MONTHS", "baseline_end", "基期应为连续 12 个月，请核对基期开始和结束日期",
                _about_a_year("baseline_start", "baseline_end")),
        RowRule("REPORTING_NOT_12_MONTHS", "reporting_end", "报告期应为连续 12 个月，请核对报告期开始和结束日期",
                _about_a_year("reporting_start", "reporting_end")),
        RowRule("REPORTING_BEFORE_BASELINE", "reporting_start", "报告期应在基期结束之后",
                _le("baseline_end", "reporting_start")),
    ),
    "vat_claims": (
        RowRule("PERIOD_END_BEFORE_START", "period_end", "所属期止早于所属期起，请核对",
                _le("period_start", "period_end")),
    ),
}  # fmt: skip


def _column_checks(column: Column) -> list[pa.Check]:
    checks: list[pa.Check] = []
    if column.kind == "credit_code":
        checks.append(
            pa.Check(lambda v: credit_code.problem(v) is None, element_wise=True, name="CREDIT_CODE")
        )
    if column.kind == "enum" and column.enum:
        checks.append(pa.Check.isin(list(column.enum), name="ENUM_VALUE"))
    if column.min_value is not None:
        low = Decimal(column.min_value)
        if low == 0 and not column.min_exclusive:
            checks.append(pa.Check(lambda v: v >= 0, element_wise=True, name="NEGATIVE_VALUE"))
        elif column.min_exclusive:
            checks.append(pa.Check(lambda v, lo=low: v > lo, element_wise=True, name="NOT_POSITIVE"))
        else:
            checks.append(pa.Check(lambda v, lo=low: v >= lo, element_wise=True, name="BELOW_MINIMUM"))
    if column.max_value is not None:
        high = Decimal(column.max_value)
        if column.max_exclusive:
            checks.append(pa.Check(lambda v, hi=high: v < hi, element_wise=True, name="ABOVE_MAXIMUM"))
        else:
            checks.append(pa.Check(lambda v, hi=high: v <= hi, element_wise=True, name="ABOVE_MAXIMUM"))
    return checks


def schema_for(sheet: Sheet) -> pa.DataFrameSchema:
    """The pandera schema of one sheet."""
    return _schema(sheet.key)


@cache
def _schema(sheet_key: str) -> pa.DataFrameSchema:
    sheet = BY_KEY[sheet_key]
    columns = {
        c.key: pa.Column(
            object, checks=_column_checks(c), nullable=not c.required, required=True, title=c.header
        )
        for c in sheet.columns
    }
    for meta in (FILE, SHEET):
        columns[meta] = pa.Column(str)
    columns[ROW] = pa.Column(int, pa.Check.ge(2))
    checks = [pa.Check(rule.test, name=rule.code) for rule in ROW_RULES.get(sheet.key, ())]
    return pa.DataFrameSchema(
        columns,
        checks=checks,
        unique=list(sheet.unique) or None,
        report_duplicates="all",
        name=sheet.key,
        title=sheet.name,
        strict=True,
        coerce=False,
    )


def empty_frame(sheet: Sheet) -> pd.DataFrame:
    return pd.DataFrame(
        {
            **{c.key: pd.Series(dtype=object) for c in sheet.columns},
            FILE: pd.Series(dtype=str),
            SHEET: pd.Series(dtype=str),
            ROW: pd.Series(dtype=int),
        }
    )


def validate(sheet: Sheet, frame: pd.DataFrame) -> tuple[pd.DataFrame, list[Rejection]]:
    """Split a typed frame into accepted rows and the rejections of the others."""
    if frame.empty:
        return frame, []
    try:
        schema_for(sheet).validate(frame, lazy=True)
        return frame, []
    except SchemaErrors as errors:
        rejections = _rejections(sheet, frame, errors.failure_cases)
    bad_rows = {r.row_number for r in rejections}
    accepted = frame[~frame[ROW].isin(bad_rows)]
    return accepted, rejections


_MESSAGES = {
    "not_nullable": ("REQUIRED", "{header} 为必填项，不能为空"),
    "NEGATIVE_VALUE": ("NEGATIVE_VALUE", "{header} 不能为负数（填写值 {value}）"),
    "NOT_POSITIVE": ("NOT_POSITIVE", "{header} 应大于 {low}（填写值 {value}）"),
    "BELOW_MINIMUM": ("OUT_OF_RANGE", "{header} 不应小于 {low}（填写值 {value}）"),
    "ABOVE_MAXIMUM": ("OUT_OF_RANGE", "{header} 超出上限 {high}（填写值 {value}）"),
    "ENUM_VALUE": ("ENUM_VALUE", "{header}「{value}」不是可选值"),
    "field_uniqueness": ("DUPLICATE_IN_BATCH", "{header}「{value}」在本批次中重复出现，请保留一行"),
    "multiple_fields_uniqueness": ("DUPLICATE_IN_BATCH", "{header}「{value}」在本批次中重复出现，请保留一行"),
}


def _rejections(sheet: Sheet, frame: pd.DataFrame, failures: pd.DataFrame) -> list[Rejection]:
    rules = {r.code: r for r in ROW_RULES.get(sheet.key, ())}
    out: dict[tuple[Any, ...], Rejection] = {}
    for failure in failures.itertuples(index=False):
        index = failure.index
        if index is None or pd.isna(index) or index not in frame.index:
            continue
        row = frame.loc[index]
        check = str(failure.check)
        column_key = failure.column if isinstance(failure.column, str) else None
        if check in rules:
            rule = rules[check]
            column_key, code, message = rule.column, rule.code, rule.message
        if column_key in (FILE, SHEET, ROW):
            continue
        spec = sheet.column(column_key) if column_key in {c.key for c in sheet.columns} else None
        header = spec.header if spec else (column_key or "")
        value = row[column_key] if column_key in row.index else None
        shown = "" if value is None or (not isinstance(value, tuple) and pd.isna(value)) else _show(value)
        if check == "CREDIT_CODE":
            code, message = credit_code.problem(str(value)) or ("CREDIT_CODE", "统一社会信用代码无效")
        elif check not in rules:
            if check.startswith("multiple_fields_uniqueness") or check.startswith("field_uniqueness"):
                check = "field_uniqueness"
                keys = [k for k in sheet.unique]
                header = "+".join(sheet.column(k).header for k in keys)
                column_key = keys[0]
                shown = " / ".join(_show(row[k]) for k in keys)
            code, template = _MESSAGES.get(check, (check.upper(), "{header}「{value}」未通过校验 " + check))
            message = template.format(
                header=header,
                value=shown,
                low=spec.min_value if spec else "",
                high=spec.max_value if spec else "",
            )
        out[(int(row[ROW]), column_key, code)] = Rejection(
            file=str(row[FILE]),
            sheet=sheet.key,
            row_number=int(row[ROW]),
            column=sheet.column(column_key).header
            if column_key in {c.key for c in sheet.columns}
            else column_key,
            value=shown,
            code=code,
            message=message,
        )
    return sorted(out.values(), key=lambda r: (r.row_number or 0, r.column or "", r.code))


def _show(value: Any) -> str:
    if isinstance(value, tuple):
        return ";".join(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, bool):
        return "是" if value else "否"
    return str(value)
