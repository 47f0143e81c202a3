"""Reading one cell as operators type it: dates, exact decimals, 是/否, Chinese enumeration labels.

Each parser returns the value, or raises `CellError(code, message)`. Decimals never pass through a float:
numeric Excel cells are read through `repr`, which gives the shortest text that round-trips the stored double,
i.e. exactly what Excel displays.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from rules.catalog import program as find_program
from schemas.sheets import Column

EARLIEST = date(1990, 1, 1)
LATEST = date(2060, 12, 31)


class CellError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def clean_text(raw: Any) -> str | None:
    """Full-width to half-width (NFKC), stray spaces trimmed; blank is None."""
    if raw is None:
        return None
    text = unicodedata.normalize("NFKC", str(raw)).strip()
    return text or None


_DATE_PATTERNS = (
    re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$"),
    re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日$"),
    re.compile(r"^(\d{4})\.(\d{1,2})\.(\d{1,2})$"),
)


def parse_date(raw: Any, header: str) -> date:
    if isinstance(raw, datetime):
        value = raw.date()
    elif isinstance(raw, date):
        value = raw
    else:
        text = clean_text(raw) or ""
        text = text.split(" ")[0] if re.match(r"^\d{4}-\d{1,2}-\d{1,2} 00:00(:00)?$", text) else text
        for pattern in _DATE_PATTERNS:
            match = pattern.match(text)
            if match:
                try:
                    value = date(*(int(g) for g in match.groups()))
                except ValueError:
                    raise CellError("DATE_INVALID", f"{header}「{raw}」不是有效日期") from None
                break
        else:
            raise CellError(
                "DATE_FORMAT",
                f"{header}「{raw}」无法识别为日期，请填写 2025-06-30、2025/6/30 或 2025年6月30日",
            )
    if not EARLIEST <= value <= LATEST:
        raise CellError(
            "DATE_IMPLAUSIBLE",
            f"{header} {value.isoformat()} 不在合理范围（{EARLIEST.year}–{LATEST.year} 年）内，请核对",
        )
    return value


def parse_decimal(raw: Any, header: str) -> Decimal:
    if isinstance(raw, bool):
        raise CellError("NUMBER_FORMAT", f"{header}「{raw}」不是数字")
    if isinstance(raw, int):
        return Decimal(raw)
    if isinstance(raw, float):
        # The cell is an IEEE double; repr gives the shortest decimal that round-trips, i.e. what Excel shows.
        text = repr(raw)
    elif isinstance(raw, Decimal):
        return raw
    else:
        text = (clean_text(raw) or "").replace(",", "").replace(" ", "")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise CellError(
            "NUMBER_FORMAT", f"{header}「{raw}」不是数字，请只填写数值（可含千分位逗号）"
        ) from None
    if not value.is_finite():
        raise CellError("NUMBER_FORMAT", f"{header}「{raw}」不是有限数值")
    return value


_TRUE = {"是", "y", "yes", "true", "1", "t", "√"}
_FALSE = {"否", "n", "no", "false", "0", "f", "×"}


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
    raise CellError("ENUM_VALUE", f"{column.header}「{raw}」不是可选值，请填写：{allowed}")


def parse_credit_code(raw: Any, header: str) -> str:
    """Normalised only; the GB 32100 check is part of the pandera schema (schemas.validation)."""
    return (clean_text(raw) or "").upper().replace(" ", "")


def parse_program(raw: Any, header: str) -> str:
    text = clean_text(raw) or ""
    found = find_program(text)
    if found is None:
        raise CellError("PROGRAM_UNKNOWN", f"{header}「{raw}」不是本政策的申报类别，请填写项目代码或中文名称")
    return found.code


def parse_meter_ids(raw: Any, header: str) -> tuple[str, ...]:
    text = clean_text(raw) or ""
    ids = tuple(part.strip() for part in re.split(r"[;；]", text) if part.strip())
    if not ids:
        raise CellError("METER_IDS_EMPTY", f"{header} 为空，请填写计量点编号，多个以分号分隔")
    return ids


def parse_cell(raw: Any, column: Column) -> Any:
    """The typed value of one cell, None for a blank cell; raises CellError when the text has the wrong type.

    Whether a value is required, in range or unique is the pandera schema's business (schemas.validation).
    """
    if isinstance(raw, str) and raw.startswith("=") and column.kind != "text":
        raise CellError("FORMULA_CELL", f"{column.header}「{raw}」是公式，请粘贴为数值后重新提交")
    if clean_text(raw) is None:
        return None
    kind = column.kind
    if kind == "text":
        return clean_text(raw)
    if kind == "date":
        return parse_date(raw, column.header)
    if kind == "decimal":
        return parse_decimal(raw, column.header)
    if kind == "bool":
        return parse_bool(raw, column.header)
    if kind == "enum":
        return parse_enum(raw, column)
    if kind == "credit_code":
        return parse_credit_code(raw, column.header)
    if kind == "program":
        return parse_program(raw, column.header)
    if kind == "meter_ids":
        return parse_meter_ids(raw, column.header)
    raise AssertionError(f"unknown column kind {kind}")
