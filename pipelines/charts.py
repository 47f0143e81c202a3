"""Native Excel charts of a written report table, placed below it, in 万元 with the value axis from 0."""

from __future__ import annotations

from collections.abc import Sequence

from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference

from pipelines.excel import Table


def add_bar_chart(
    wb: Workbook,
    table: Table,
    category_key: str,
    value_keys: Sequence[str],
    title: str,
    y_title: str = "万元",
    last_row: int | None = None,
    horizontal: bool = False,
) -> bool:
    """A native Excel column chart of value columns of a written table, below the table, value axis from 0.
    No chart is drawn for fewer than two bars: one bar says nothing a table cell does not."""
    last = table.last_row if last_row is None else last_row
    if last - table.first_row + 1 < 2 and len(value_keys) < 2:
        return False
    ws = wb[table.sheet]
    chart = BarChart()
    chart.type = "bar" if horizontal else "col"  # long program names read better along horizontal bars
    chart.title = title
    chart.y_axis.title = y_title
    chart.y_axis.numFmt = "#,##0"
    chart.y_axis.scaling.min = 0
    chart.y_axis.delete = False
    chart.x_axis.delete = False
    chart.x_axis.tickLblSkip = 1  # every category named, not every other one
    chart.legend = None if len(value_keys) < 2 else chart.legend
    bars = last - table.first_row + 1
    # horizontal bars: room for every category's name; columns: 8 cm
    chart.height = max(8.0, 0.8 * bars) if horizontal else 8.0
    chart.width = 24
    for key in value_keys:
        chart.add_data(
            Reference(ws, min_col=table.column_index(key), min_row=table.header_row, max_row=last),
            titles_from_data=True,
        )
    category = table.column_index(category_key)
    chart.set_categories(Reference(ws, min_col=category, min_row=table.first_row, max_row=last))
    ws.add_chart(chart, f"A{table.next_row}")
    return True
