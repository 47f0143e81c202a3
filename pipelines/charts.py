"""Native Excel charts of a written report table, placed below it across its printed columns, in 万元 with the
value axis from 0."""

from __future__ import annotations

import math
from collections.abc import Sequence

from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.drawing.spreadsheet_drawing import AnchorMarker, TwoCellAnchor

from pipelines.excel import ROW_PT, Table

_PT_PER_CM = 72 / 2.54


def chart_rows(bars: int, horizontal: bool = False) -> int:
    """The rows to leave below a table for a chart of `bars` bars (`write_table(chart_rows=...)`): none for fewer
    than two bars, since one bar says nothing a table cell does not. Columns get 8 cm; horizontal bars room for
    every category's name."""
    if bars < 2:
        return 0
    height_cm = max(8.0, 0.8 * bars) if horizontal else 8.0
    return math.ceil(height_cm * _PT_PER_CM / ROW_PT)


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
    """A native Excel bar chart of value columns of a written table, in the rows `write_table` left below it
    (none: no chart). The chart spans the printed columns, anchored to their cells, so it stays inside the print
    area whatever width an application gives a column."""
    if not table.chart_rows:
        return False
    last = table.last_row if last_row is None else last_row
    ws = wb[table.sheet]
    chart = BarChart()
    chart.type = "bar" if horizontal else "col"  # long names read better along horizontal bars
    chart.title = title
    chart.y_axis.title = y_title
    chart.y_axis.numFmt = "#,##0"
    chart.y_axis.scaling.min = 0
    chart.y_axis.delete = False
    chart.x_axis.delete = False
    chart.x_axis.tickLblSkip = 1  # every category named, not every other one
    if horizontal:
        chart.x_axis.scaling.orientation = "maxMin"  # the first row on top, as in the table
        chart.y_axis.crosses = "max"  # and the value axis still below the bars
    chart.legend = None if len(value_keys) < 2 else chart.legend
    for key in value_keys:
        chart.add_data(
            Reference(ws, min_col=table.column_index(key), min_row=table.header_row, max_row=last),
            titles_from_data=True,
        )
    category = table.column_index(category_key)
    chart.set_categories(Reference(ws, min_col=category, min_row=table.first_row, max_row=last))
    top = table.next_row - 1  # zero-based
    ws.add_chart(
        chart,
        TwoCellAnchor(
            _from=AnchorMarker(col=0, row=top),
            to=AnchorMarker(col=table.printed_columns, row=top + table.chart_rows),
        ),
    )
    return True
