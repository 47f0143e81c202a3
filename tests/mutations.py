"""Random damage to a good input, the way senders cause it, for the tests that no damage may stop the night: bytes
of a text file flipped, inserted or cut (`mutate_bytes`), and a workbook's cells, headers, rows and sheets changed
(`mutate_workbook`). Seeded by the caller, so a failure names the same input every time."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.worksheet.worksheet import Worksheet


def mutate_bytes(data: bytes, rng: random.Random, inserts: Sequence[bytes], changes: int) -> bytes:
    """`changes` times: a byte replaced, one of `inserts` put in, up to 50 bytes cut, or the rest cut off."""
    out = bytearray(data)
    for _ in range(changes):
        at, op = rng.randrange(max(len(out), 1)), rng.random()
        if op < 0.35 and out:
            out[at] = rng.randrange(256)
        elif op < 0.7:
            out[at:at] = rng.choice(inserts)
        elif op < 0.9:
            del out[at : at + rng.randint(1, 50)]
        else:
            del out[at:]
    return bytes(out)


HOSTILE_CELLS: list[Any] = [
    "9" * 30,
    "-" + "9" * 20,
    "=1000*3",
    '=HYPERLINK("http://x","点我")',
    "+1",
    "@SUM(A1)",
    datetime(9999, 12, 31),
    date(1900, 1, 1),
    "0000-00-00",
    "２０２６年１月１日",
    "１２，０００",
    "1,2,3",
    "1e999",
    "NaN",
    1e308,
    -1.5,
    0,
    10**15,
    45000,  # an Excel date serial where a date belongs
    "是否",
    "   ",
    "",
    None,
    "甲" * 5000,
    "ISO 6361-9:2025",
    "９１１５０２００ＭＡ０Ｘ",
    "\u200b\u00a0",
    True,
]


def _cell(ws: Worksheet, rng: random.Random) -> None:
    row, col = rng.randint(1, max(ws.max_row, 1) + 1), rng.randint(1, max(ws.max_column, 1) + 1)
    ws.cell(row, col).value = rng.choice(HOSTILE_CELLS)


def _header(ws: Worksheet, rng: random.Random) -> None:
    ws.cell(1, rng.randint(1, max(ws.max_column, 1))).value = rng.choice(["", None, "金额", "申报编号", "X"])


def _duplicate_row(ws: Worksheet, rng: random.Random) -> None:
    if ws.max_row >= 2:
        ws.append([c.value for c in ws[rng.randint(2, ws.max_row)]])


def _delete_row(ws: Worksheet, rng: random.Random) -> None:
    ws.delete_rows(rng.randint(1, max(ws.max_row, 1)))


def _blank_row(ws: Worksheet, rng: random.Random) -> None:
    ws.insert_rows(rng.randint(1, max(ws.max_row, 1) + 1))


def _sheet(wb: Workbook, rng: random.Random) -> None:
    ws = rng.choice(wb.worksheets)
    choice = rng.random()
    if choice < 0.4 and len(wb.worksheets) > 1:
        wb.remove(ws)
    elif choice < 0.7:
        ws.title = rng.choice(["Sheet1", f"{ws.title} ", "申报 表"])
    else:
        wb.create_sheet(rng.choice(["说明", "Sheet2"])).append(["随便", "写点"])


_ON_SHEET: list[Callable[[Worksheet, random.Random], None]] = [
    _cell, _cell, _cell, _cell, _header, _duplicate_row, _delete_row, _blank_row,
]  # fmt: skip


def mutate_workbook(wb: Workbook, rng: random.Random, changes: int) -> None:
    """`changes` times: a cell typed over with something hostile (`HOSTILE_CELLS`, also just past the used range),
    a header renamed or blanked, a row duplicated, deleted or pushed down by a blank one; one time in ten a sheet
    removed, renamed or added instead."""
    for _ in range(changes):
        if rng.random() < 0.1:
            _sheet(wb, rng)
        else:
            rng.choice(_ON_SHEET)(rng.choice(wb.worksheets), rng)
