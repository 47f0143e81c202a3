"""Metadata every asset records: row counts, column schema, a Markdown preview."""

from collections.abc import Sequence
from typing import Any

import dagster as dg


def table_schema(columns: Sequence[tuple[str, str, str]]) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[dg.TableColumn(name, type_, description=desc) for name, type_, desc in columns]
    )


def markdown_table(rows: Sequence[dict[str, Any]], limit: int = 20) -> dg.MetadataValue:
    if not rows:
        return dg.MetadataValue.md("_（无）_")
    headers = list(rows[0])
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for row in rows[:limit]:
        lines.append(
            "| " + " | ".join(str(row[h]).replace("|", "/").replace("\n", " ") for h in headers) + " |"
        )
    if len(rows) > limit:
        lines.append(f"\n… {len(rows) - limit} more")
    return dg.MetadataValue.md("\n".join(lines))
