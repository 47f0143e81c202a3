"""Whatever an enterprise's workbook holds, its rows are accepted or rejected and decided, never an exception.

A good batch is changed at random, several changes per workbook, the way senders damage them: any cell typed
over with something hostile (a 30-digit number, a formula, a date in year 9999, full-width digits, a long text,
a float, a negative, an Excel date serial, a blank), a header renamed or blanked, a row duplicated, deleted or
pushed down by a blank one, a sheet removed, renamed or added. Each workbook goes through what the night does
with it (read, merge, build, decide): nothing may raise, and for every sheet accepted + rejected = received.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from pipelines import applications as building
from pipelines.intake import merge, read_batch
from rules.engine import decide_all
from rules.parameters import Parameters
from samples.workbook import batch_workbook
from tests.intake.conftest import valid_sheets

HOSTILE: list[Any] = [
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


def _cells(ws: Worksheet, rng: random.Random) -> None:
    row, col = rng.randint(1, max(ws.max_row, 1) + 1), rng.randint(1, max(ws.max_column, 1) + 1)
    ws.cell(row, col).value = rng.choice(HOSTILE)


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


ON_SHEET: list[Callable[[Worksheet, random.Random], None]] = [
    _cells, _cells, _cells, _cells, _header, _duplicate_row, _delete_row, _blank_row,
]  # fmt: skip


def test_no_mutation_of_a_good_batch_stops_the_night(tmp_path: Path):
    parameters = Parameters.load()
    rng = random.Random(20261206)
    seen: set[str] = set()
    for i in range(60):
        wb = batch_workbook(valid_sheets())
        for _ in range(rng.randint(1, 5)):
            if rng.random() < 0.1:
                _sheet(wb, rng)
            else:
                rng.choice(ON_SHEET)(rng.choice(wb.worksheets), rng)
        path = tmp_path / f"2026-04-{i:03d}-变形.xlsx"
        wb.save(path)
        subs = merge([read_batch(path)])
        for c in subs.counts:
            assert c.accepted + c.rejected == c.received, (i, c)
        seen |= {r.code for r in subs.rejections}
        for r in subs.rejections:
            assert r.code and r.code.isupper() and any("\u4e00" <= ch <= "\u9fff" for ch in r.message), (i, r)
        applications = building.build(subs)
        decided = decide_all(applications, date(2026, 11, 24), parameters)
        assert {d.application_id for d in decided} == {a.application_id for a in applications}, i
    # the changes bite: the batches were refused in many different ways (21 codes with this seed), not accepted
    assert len(seen) >= 12, sorted(seen)
