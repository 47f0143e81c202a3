"""Reading one cell as operators type it: dates, exact decimals, 是/否, Chinese enumeration labels.

Each parser returns the value, or raises `CellError(code, message)` whose Chinese message says what to fix.
Decimals never pass through a float of our own making: a numeric Excel cell already is a double, and it is read
through `repr`, the shortest text that round-trips that double, i.e. exactly what Excel displays.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from openpyxl.utils.datetime import from_excel

from rules.catalog import program as find_program
from schemas.sheets import ID_MAX_LENGTH, Column

# Plausible dates for anything in a submission (projects, loans, recognitions, standards). An Excel serial 0/1
# (1900-01-00/01) or a typo such as 2099 falls outside and is sent back instead of being evaluated.
EARLIEST = date(1990, 1, 1)
LATEST = date(2060, 12, 31)

# What operators type for "not applicable"; in a typed column it means the cell is blank.
BLANK_MARKS = frozenset({"/", "-", "—", "——", "无", "n/a"})


class CellError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def clean_text(raw: Any) -> str | None:
    """Full-width to half-width (NFKC), stray spaces trimmed; blank is None.

    An integral number typed into a text column (an application id 1001) reads as "1001", not "1001.0".
    """
    if raw is None:
        return None
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    text = unicodedata.normalize("NFKC", str(raw)).replace("\u200b", "").strip()
    return text or None


def _is_blank(raw: Any, kind: str) -> bool:
    text = clean_text(raw)
    return text is None or (kind != "text" and text.lower() in BLANK_MARKS)


_DATE_PATTERNS = (
    re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]00:00(?::00)?)?$"),
    re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日$"),
    re.compile(r"^(\d{4})\.(\d{1,2})\.(\d{1,2})$"),
)


def parse_date(raw: Any, header: str) -> date:
    if isinstance(raw, datetime):
        value = raw.date()
    elif isinstance(raw, date):
        value = raw
    elif isinstance(raw, int | float) and not isinstance(raw, bool):
        # A date cell whose format was lost shows its serial number; read it as Excel would.
        if not float(raw).is_integer() or not 1 <= raw <= 2958465:
            raise CellError("DATE_FORMAT", f"{header}「{raw}」不是日期，请填写 2025-06-30 或设置为日期格式")
        value = from_excel(int(raw)).date()  # openpyxl's reading, with Excel's 1900 leap-year bug
    else:
        text = (clean_text(raw) or "").replace(" ", "")
        for pattern in _DATE_PATTERNS:
            match = pattern.match(text)
            if match:
                try:
                    value = date(*(int(g) for g in match.groups()))
                except ValueError:
                    raise CellError(
                        "DATE_INVALID", f"{header}「{raw}」不是日历上存在的日期，请核对年月日"
                    ) from None
                break
        else:
            raise CellError(
                "DATE_FORMAT",
                f"{header}「{raw}」无法识别为日期，请填写 2025-06-30、2025/6/30 或 2025年6月30日",
            )
    if not EARLIEST <= value <= LATEST:
        raise CellError(
            "DATE_IMPLAUSIBLE",
            f"{header} {value.isoformat()} 不在合理范围（{EARLIEST.year}–{LATEST.year} 年）内，请核对年份",
        )
    return value


# Plain digits, or digits grouped by thousands with commas; an optional sign and fraction.
_NUMBER = re.compile(r"^[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$|^[+-]?\.\d+$")


def parse_decimal(raw: Any, header: str) -> Decimal:
    if isinstance(raw, bool):
        raise CellError("NUMBER_FORMAT", f"{header}「{raw}」不是数字，请填写数值")
    if isinstance(raw, int):
        return Decimal(raw)
    if isinstance(raw, Decimal):
        if not raw.is_finite():
            raise CellError("NUMBER_FORMAT", f"{header}「{raw}」不是有限数值，请填写数值")
        return raw
    if isinstance(raw, float):
        text = repr(raw)  # the double Excel stored; repr is the shortest text that gives it back
        if not re.match(r"^-?\d+(\.\d+)?(e[+-]?\d+)?$", text):
            raise CellError("NUMBER_FORMAT", f"{header}「{raw}」不是有限数值，请填写数值")
        return Decimal(text)
    text = (clean_text(raw) or "").replace(" ", "")
    if not _NUMBER.match(text):
        raise CellError(
            "NUMBER_FORMAT",
            f"{header}「{raw}」不是数字，请只填写阿拉伯数字（可含小数点和千分位逗号，不要填写单位或文字）",
        )
    try:
        return Decimal(text.replace(",", ""))
    except InvalidOperation:  # pragma: no cover — the pattern admits only valid decimal text
        raise CellError("NUMBER_FORMAT", f"{header}「{raw}」不是数字") from None


_TRUE = {"是", "y", "yes", "true", "1", "t", "√", "✓"}
_FALSE = {"否", "n", "no", "false", "0", "f", "×", "✗"}


def parse_bool(raw: Any, header: str) -> bool:
    if isinstance(raw, bool):
        return raw
    text = (clean_text(raw) or "").lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise CellError("BOOL_FORMAT", f"{header}「{raw}」应填写“是”或“否”")


def _enum_key(text: str) -> str:
    return text.replace("“", '"').replace("”", '"').replace(" ", "").lower()


def parse_enum(raw: Any, column: Column) -> str:
    text = clean_text(raw) or ""
    options = column.enum or {}
    wanted = _enum_key(text)
    for key, label in options.items():
        if wanted in (_enum_key(key), _enum_key(label)):
            return key
    allowed = "、".join(options.values())
    raise CellError("ENUM_VALUE", f"{column.header}「{raw}」不是可选值，请从下列选项中选择：{allowed}")


def parse_credit_code(raw: Any, header: str) -> str:
    """Normalised only; the GB 32100 check is part of the pandera schema (schemas.validation)."""
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        # 18 digits do not survive a double: the code the operator typed is already lost.
        raise CellError(
            "CREDIT_CODE_AS_NUMBER",
            f"{header}被 Excel 存成了数字（{clean_text(raw)}），末几位已丢失；请将该列设置为文本格式后重新填写",
        )
    return (clean_text(raw) or "").upper().replace(" ", "").replace("-", "")


def parse_program(raw: Any, header: str) -> str:
    text = clean_text(raw) or ""
    found = find_program(text)
    if found is None:
        raise CellError(
            "PROGRAM_UNKNOWN",
            f"{header}「{raw}」不是本政策的申报类别，请填写申报类别的中文名称（如 标准研制奖励），见模板“选项”表",
        )
    return found.code


def parse_meter_ids(raw: Any, header: str) -> tuple[str, ...]:
    text = clean_text(raw) or ""
    ids = tuple(part.strip() for part in re.split(r"[;；]", text) if part.strip())
    if not ids:
        raise CellError("METER_IDS_EMPTY", f"{header} 为空，请填写计量点编号，多个以分号分隔")
    long = next((i for i in ids if len(i) > ID_MAX_LENGTH), None)
    if long is not None:
        raise CellError(
            "TEXT_TOO_LONG", f"{header} 中的计量点编号超过 {ID_MAX_LENGTH} 个字符（{long[:20]}…），请核对"
        )
    return ids


# The parser of each column kind that needs only the header for its messages.
_PARSERS: dict[str, Callable[[Any, str], Any]] = {
    "date": parse_date,
    "decimal": parse_decimal,
    "bool": parse_bool,
    "credit_code": parse_credit_code,
    "program": parse_program,
    "meter_ids": parse_meter_ids,
}


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # what no cell holds; tab and line breaks may


def parse_cell(raw: Any, column: Column) -> Any:
    """The typed value of one cell, None for a blank cell; raises CellError when the text has the wrong type.

    Whether a value is required, in range or unique is the pandera schema's business (schemas.validation).
    """
    if _is_blank(raw, column.kind):
        return None
    if isinstance(raw, str) and _CONTROL.search(raw):
        # Only a CSV can hold one (an .xlsx cannot): PostgreSQL refuses NUL in any text, and none of them is
        # anything a person typed.
        raise CellError(
            "CONTROL_CHARACTER",
            f"「{column.header}」含有不可见的控制字符（如 NUL），多半是复制或导出时带入的；请删除后重新提交",
        )
    if column.kind == "text":
        return clean_text(raw)
    if column.kind == "enum":
        return parse_enum(raw, column)
    parse = _PARSERS.get(column.kind)
    if parse is None:
        raise AssertionError(f"unknown column kind {column.kind}")
    return parse(raw, column.header)
