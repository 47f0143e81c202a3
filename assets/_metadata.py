"""Metadata every asset and check records: row counts, column schemas, tables of rows, safe descriptions; and
the result of a check that only warns.

Lists of rows are `dg.MetadataValue.table` (the UI shows a sortable table, not one Markdown paragraph), and any
text that came from an input is escaped before it goes into a description, which the UI renders as Markdown: an
enterprise's `=1000*3` must read `=1000*3`, not `=10003` with half of it in italics.
"""

import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import dagster as dg

# CommonMark lets a backslash escape any ASCII punctuation; these are the ones that change how text renders.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~^=&$])")


def escape_markdown(text: object) -> str:
    """`text` as literal Markdown: every character that could format, link or break a table is escaped."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(text))


def markdown_list(lines: Iterable[str]) -> str:
    """One bullet per line, each escaped: a list an operator can scan, not one run-on paragraph."""
    return "\n".join(f"- {escape_markdown(line)}" for line in lines)


def warning(
    check_name: str, asset_key: str, passed: bool, metadata: dict[str, Any], description: str | None
) -> dg.AssetCheckResult:
    """The result of one of an asset's own check specs that only warns: the night goes on, the UI shows it."""
    return dg.AssetCheckResult(
        check_name=check_name,
        asset_key=asset_key,
        passed=passed,
        severity=dg.AssetCheckSeverity.WARN,
        metadata=metadata,
        description=description,
    )


def table_schema(columns: Sequence[tuple[str, str, str]]) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[dg.TableColumn(name, type_, description=desc) for name, type_, desc in columns]
    )


def _cell(value: Any) -> str | int | float | bool | None:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Decimal | date | datetime):
        return str(value)  # exact: a Decimal never becomes a float on its way to the UI
    if isinstance(value, float):
        return value
    return str(value)


def _kind(values: list[Any]) -> str:
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return "int"
    if present and all(isinstance(v, bool) for v in present):
        return "bool"
    return "string"


def rows_table(rows: Sequence[dict[str, Any]], limit: int = 20, total: int | None = None) -> dg.MetadataValue:
    """The first `limit` rows as a metadata table (column names from the first row); a last row says how many
    more there are (of `total` rows, when `rows` holds only the first ones)."""
    total = len(rows) if total is None else total
    headers = list(rows[0]) if rows else ["（无）"]
    shown: list[dict[str, str | int | float | bool | None]] = [
        {h: _cell(row.get(h)) for h in headers} for row in rows[:limit]
    ]
    kinds = {h: _kind([r[h] for r in shown]) for h in headers}
    if total > limit:
        first = headers[0]
        kinds[first] = "string"
        shown = [{**r, first: None if r[first] is None else str(r[first])} for r in shown]
        more: dict[str, str | int | float | bool | None] = {h: None for h in headers}
        more[first] = f"…另有 {total - limit} 行 ({total - limit} more)"
        shown.append(more)
    return dg.MetadataValue.table(
        records=[dg.TableRecord(r) for r in shown],
        schema=dg.TableSchema(columns=[dg.TableColumn(h, kinds[h]) for h in headers]),
    )
