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
from schemas.sheets import BY_KEY, FILE, PROJECT_PROGRAMS, ROW, SHEET, Column, Sheet


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
    """Twelve months give or take the month lengths (355-375 days); a missing side is another check's business."""

    def test(df: pd.DataFrame) -> pd.Series:
        return pd.Series(
            [
                s is None or e is None or 355 <= (e - s).days <= 375
                for s, e in zip(df[start], df[end], strict=True)
            ],
            index=df.index,
        )

    return test


def _project_code_present(df: pd.DataFrame) -> pd.Series:
    return pd.Series(
        [
            p not in PROJECT_PROGRAMS or bool(c)
            for p, c in zip(df["program"], df["project_code"], strict=True)
        ],
        index=df.index,
    )


def _opinion_for_rejection(df: pd.DataFrame) -> pd.Series:
    return pd.Series(
        [o != "reject" or bool(t) for o, t in zip(df["outcome"], df["opinion"], strict=True)], index=df.index
    )


ROW_RULES: dict[str, tuple[RowRule, ...]] = {
    "applications": (
        RowRule("EQUIPMENT_EXCEEDS_TOTAL", "equipment_investment_wan", "设备投资额大于项目总投资，请核对两项金额",
                _le("equipment_investment_wan", "total_investment_wan")),
        RowRule("COMPLETION_BEFORE_START", "completion_date", "竣工日期早于开工日期，请核对",
                _le("construction_start", "completion_date")),
        RowRule("PROJECT_CODE_REQUIRED", "project_code",
                "该申报类别是项目类奖补（贴息、设备更新、节能节水、知识产权、项目合规判定），须填写项目编号",
                _project_code_present),
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
    "reviews": (
        RowRule("OPINION_REQUIRED", "opinion", "审核结论为“不通过”时须填写审核意见（即告知企业的理由），请补充",
                _opinion_for_rejection),
    ),
    "vat_claims": (
        RowRule("PERIOD_END_BEFORE_START", "period_end", "所属期止早于所属期起，请核对",
                _le("period_start", "period_end")),
    ),
}  # fmt: skip


def _column_checks(column: Column) -> list[pa.Check]:
    checks: list[pa.Check] = []
    if column.kind == "credit_code":  # GB 32100 has no built-in check: the one element-wise check left
        checks.append(
            pa.Check(lambda v: credit_code.problem(v) is None, element_wise=True, name="CREDIT_CODE")
        )
    if column.kind == "enum" and column.enum:
        checks.append(pa.Check.isin(list(column.enum), name="ENUM_VALUE"))
    # Built-in checks report their `error` as the failing check's name; it is the code the rejection carries.
    if column.kind == "text":
        checks.append(
            pa.Check.str_length(max_value=column.max_length, name="TEXT_TOO_LONG", error="TEXT_TOO_LONG")
        )
    if column.min_value is not None:
        low = Decimal(column.min_value)
        if low == 0 and not column.min_exclusive:
            checks.append(pa.Check.ge(low, name="NEGATIVE_VALUE", error="NEGATIVE_VALUE"))
        elif column.min_exclusive:
            checks.append(pa.Check.gt(low, name="NOT_POSITIVE", error="NOT_POSITIVE"))
        else:
            checks.append(pa.Check.ge(low, name="BELOW_MINIMUM", error="BELOW_MINIMUM"))
    if column.max_value is not None:
        high = Decimal(column.max_value)
        if column.max_exclusive:
            checks.append(pa.Check.lt(high, name="ABOVE_MAXIMUM", error="ABOVE_MAXIMUM"))
        else:
            checks.append(pa.Check.le(high, name="ABOVE_MAXIMUM", error="ABOVE_MAXIMUM"))
    if column.limit is not None:
        checks.append(pa.Check.le(column.limit, name="VALUE_TOO_LARGE", error="VALUE_TOO_LARGE"))
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


def validate(
    sheet: Sheet, frame: pd.DataFrame, skip: frozenset[tuple[int, str]] = frozenset()
) -> tuple[pd.DataFrame, list[Rejection]]:
    """Split a typed frame into accepted rows and the rejections of the others.

    `skip` holds (row, column key) cells already rejected upstream (unparseable, merged, formula); they are None
    in the frame, and a "required" failure on them would only repeat what the operator has been told.
    """
    if frame.empty:
        return frame, []
    try:
        schema_for(sheet).validate(frame, lazy=True)
        return frame, []
    except SchemaErrors as errors:
        rejections = _rejections(sheet, frame, errors.failure_cases, skip)
    bad_rows = {r.row_number for r in rejections}
    return frame[~frame[ROW].isin(bad_rows)], rejections


_MESSAGES = {
    "not_nullable": ("REQUIRED", "{header} 为必填项，不能为空，请补充"),
    "NEGATIVE_VALUE": ("NEGATIVE_VALUE", "{header} 不能为负数（填写值 {value}），请核对"),
    "NOT_POSITIVE": ("NOT_POSITIVE", "{header} 应大于 {low}（填写值 {value}），请核对"),
    "BELOW_MINIMUM": ("OUT_OF_RANGE", "{header} 不应小于 {low}（填写值 {value}），请核对"),
    "ABOVE_MAXIMUM": ("OUT_OF_RANGE", "{header} 应{below}{high}（填写值 {value}），请核对"),
    "ENUM_VALUE": ("ENUM_VALUE", "{header}「{value}」不是可选值"),
    "VALUE_TOO_LARGE": (
        "VALUE_TOO_LARGE",
        "{header} 超出系统可受理的上限 {limit}（填写值 {value}），请核对数值和单位（万元还是元）",
    ),
    "TEXT_TOO_LONG": (
        "TEXT_TOO_LONG",
        "{header} 超过 {length} 个字符（填写了 {size} 个），请核对是否填错列或多复制了内容",
    ),
}


def _rejections(
    sheet: Sheet, frame: pd.DataFrame, failures: pd.DataFrame, skip: frozenset[tuple[int, str]]
) -> list[Rejection]:
    rules = {r.code: r for r in ROW_RULES.get(sheet.key, ())}
    keys = {c.key for c in sheet.columns}
    out: dict[tuple[Any, ...], Rejection] = {}
    for failure in failures.itertuples(index=False):
        index = failure.index
        if index is None or pd.isna(index) or index not in frame.index:
            continue
        row = frame.loc[index]
        row_number = int(row[ROW])
        check = str(failure.check)
        column_key = failure.column if isinstance(failure.column, str) else None
        if check in rules:
            column_key = rules[check].column
        if column_key not in keys or (row_number, column_key) in skip:
            continue
        spec = sheet.column(column_key)
        value = row[column_key]
        shown = _show(value)
        if check in rules:
            code, message = rules[check].code, rules[check].message
        elif check == "CREDIT_CODE":
            code, message = credit_code.problem(str(value)) or (
                "CREDIT_CODE",
                "统一社会信用代码无效，请核对营业执照",
            )
        elif "uniqueness" in check:
            found = _duplicate(sheet, frame, row)
            if found is None:
                continue  # a blank key cell is reported as required, not as a duplicate
            column_key, shown, message = found
            code = "DUPLICATE_IN_BATCH"
        else:
            code, template = _MESSAGES.get(check, (check.upper(), "{header}「{value}」未通过校验，请核对"))
            message = template.format(
                header=spec.header,
                value=shown,
                low=spec.min_value,
                high=spec.max_value,
                below="小于" if spec.max_exclusive else "不大于",
                limit=spec.limit,
                length=spec.max_length,
                size=len(shown),
            )
        out[(row_number, column_key, code)] = Rejection(
            file=str(row[FILE]),
            sheet=sheet.key,
            row_number=row_number,
            column=sheet.column(column_key).header,
            value=shown or None,
            code=code,
            message=message,
        )
    return sorted(out.values(), key=lambda r: (r.row_number or 0, r.column or "", r.code))


def _duplicate(sheet: Sheet, frame: pd.DataFrame, row: pd.Series) -> tuple[str, str, str] | None:
    """(column key, value shown, message) for a row whose key repeats in the batch; None if a key cell is blank."""
    keys = list(sheet.unique)
    if any(row[k] is None for k in keys):
        return None
    same = frame[[all(_same(a, row[k]) for a, k in zip(vals, keys, strict=True))
                  for vals in zip(*(frame[k] for k in keys), strict=True)]]  # fmt: skip
    others = sorted(int(r) for r in same[ROW] if int(r) != int(row[ROW]))
    header = "+".join(sheet.column(k).header for k in keys)
    shown = " / ".join(_show(row[k]) for k in keys)
    message = (
        f"{header}「{shown}」在本批次中重复出现（另见第 {'、'.join(map(str, others))} 行）；"
        "同一批次内只能出现一次，请删除多余的行或更正编号"
    )
    return keys[-1], shown, message  # the last key column is the one that tells the rows apart


def _same(a: Any, b: Any) -> bool:
    return a is not None and a == b


def _show(value: Any) -> str:
    if value is None or (not isinstance(value, tuple | list) and pd.isna(value)):
        return ""
    if isinstance(value, tuple | list):
        return ";".join(value)
    if isinstance(value, bool):
        return "是" if value else "否"
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)
