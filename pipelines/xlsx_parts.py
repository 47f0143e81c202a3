"""openpyxl's own readers of a workbook's parts, with plain strings read without openpyxl's rich-text objects.

Building a `Text` object per string cell (`Text.from_tree`) was most of the cost of reading a batch. A string that
is plain text (`<t>` only, no runs, phonetics or attributes) is read here to the very value openpyxl gives; any
other string, and every other cell, is still read by openpyxl itself.
"""

from __future__ import annotations

from typing import Any

from openpyxl.cell.text import Text
from openpyxl.reader.excel import ExcelReader
from openpyxl.utils import coordinate_to_tuple
from openpyxl.worksheet._reader import FORMULA_TAG, INLINE_STRING, WorkSheetParser
from openpyxl.xml.constants import SHARED_STRINGS, SHEET_MAIN_NS
from openpyxl.xml.functions import iterparse

_TEXT_TAG = f"{{{SHEET_MAIN_NS}}}t"
_STRING_TAG = f"{{{SHEET_MAIN_NS}}}si"


def _plain_text(element: Any) -> str | None:
    """`Text.from_tree(element).content` of a plain string (`<is>` or `<si>` holding `<t>` only), without
    building openpyxl's rich-text objects, which cost most of the reading; None for anything else (runs,
    phonetics, attributes), which openpyxl reads itself."""
    if element.attrib:
        return None
    text = None
    for child in element:
        if child.tag != _TEXT_TAG:
            return None
        text = child.text  # openpyxl keeps the last <t>
    return text or ""


def _string_table(source: Any) -> list[str]:
    """openpyxl's `read_string_table` (`openpyxl.reader.strings`), plain strings read by `_plain_text`."""
    strings = []
    for _, node in iterparse(source):
        if node.tag == _STRING_TAG:
            text = _plain_text(node)
            if text is None:
                text = Text.from_tree(node).content
            strings.append(text.replace("x005F_", ""))
            node.clear()
    return strings


class WorkbookReader(ExcelReader):
    """openpyxl's workbook reader (what `load_workbook` runs), its shared strings read by `_string_table`."""

    def read_strings(self) -> None:
        ct = self.package.find(SHARED_STRINGS)
        if ct is not None:
            with self.archive.open(ct.PartName[1:]) as src:
                self.shared_strings = _string_table(src)


class SheetParser(WorkSheetParser):
    """openpyxl's streaming sheet parser, an inline plain string read by `_plain_text`."""

    def parse_cell(self, element: Any) -> dict[str, Any]:
        child = element.find(INLINE_STRING) if element.get("t") == "inlineStr" else None
        text = None if child is None or element.find(FORMULA_TAG) is not None else _plain_text(child)
        if text is None:
            return super().parse_cell(element)
        coordinate = element.get("r")
        if coordinate:
            row, column = coordinate_to_tuple(coordinate)
            self.col_counter = column
        else:
            self.col_counter += 1
            row, column = self.row_counter, self.col_counter
        style_id = element.get("s", 0)
        style_id = int(style_id) if style_id else style_id
        return {"row": row, "column": column, "value": text, "data_type": "s", "style_id": style_id}
