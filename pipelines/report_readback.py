"""Reading written report workbooks back from their files, for the two report checks: what a department workbook
and the fund summary show, compared with the ledger to the fen.

A report table starts at the header row whose first cell is 序号 and ends at the first blank row; a data row has
its 序号, a 小计 row (the 盟市 subtotal of the allocation table) and the 合计 row have none.

The files are read with calamine (a Rust xlsx reader) rather than openpyxl: the check reads every department's
workbook each night, and openpyxl re-parses a workbook's shared strings for each sheet it opens (26 s of a
12,000-application night against about 2 s; benchmarks/nights.py). Numbers come back as the same IEEE doubles
openpyxl gives; blank cells as "" (read here as None).
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from python_calamine import CalamineWorkbook
from sqlalchemy import Engine

from pipelines.allocation import ALLOCATION_SHEET, AMOUNT_HEADER, NOTICE_SHEET
from pipelines.department_report import LEDGER_HEADER, SUMMARY_SHEET
from pipelines.excel import CODE_HEADER, SEQ_HEADER, SUBTOTAL, TOTAL
from pipelines.fund_report import CITY_SHEET, MONTH_SHEET, PROGRAM_SHEET, TOTAL_HEADER
from pipelines.report_queries import ledger_totals
from rules.catalog import DEPARTMENTS, PROGRAMS

ZERO = Decimal("0.00")


@dataclass
class SheetTable:
    header: list[str]
    rows: list[tuple[Any, ...]] = field(default_factory=list)  # data rows (with a 序号)
    subtotals: list[tuple[Any, ...]] = field(default_factory=list)
    total: tuple[Any, ...] | None = None

    def at(self, header: str) -> int:
        return self.header.index(header)

    def sum(self, header: str, rows: Iterable[tuple[Any, ...]] | None = None) -> Decimal:
        i = self.at(header)
        return sum((_money(r[i]) for r in (self.rows if rows is None else rows)), ZERO)


def _money(value: Any) -> Decimal:
    return ZERO if value is None else Decimal(str(value))


def open_workbook(path: Path) -> CalamineWorkbook:
    return CalamineWorkbook.from_path(str(path))


def read_table(book: Path | CalamineWorkbook, sheet: str) -> SheetTable:
    """The table of one sheet; `book` is a path or a workbook already open (to read several of its sheets)."""
    wb = open_workbook(book) if isinstance(book, Path) else book
    values = wb.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
    rows = iter([tuple(None if v == "" else v for v in row) for row in values])
    header = next(row for row in rows if row and row[0] == SEQ_HEADER)
    table = SheetTable([str(h) for h in header])
    for row in rows:
        if not row or all(v is None for v in row):
            break  # the notes below the table start after a blank row
        if row[0] is not None:
            table.rows.append(row)
        elif TOTAL in row:
            table.total = row
        elif any(isinstance(v, str) and v.startswith(SUBTOTAL) for v in row):
            table.subtotals.append(row)
    return table


def _problem(sheet: str, row: str, shown: Any, ledger: Decimal, **where: str) -> dict[str, str]:
    return {**where, "sheet": sheet, "row": row, "workbook": str(shown), "ledger": str(ledger)}


def allocation_mismatches(
    book: CalamineWorkbook, sheet: str, expected: Decimal, **where: str
) -> list[dict[str, str]]:
    """The allocation table (or public-notice list): its rows, each 盟市 subtotal and its total against the ledger."""
    t = read_table(book, sheet)
    problems = []
    shown_total = None if t.total is None else _money(t.total[t.at(AMOUNT_HEADER)])
    if t.sum(AMOUNT_HEADER) != expected or shown_total != expected:
        problems.append(_problem(sheet, TOTAL, shown_total, expected, **where))
    city = t.at("盟市")
    for sub in t.subtotals:
        mine = [r for r in t.rows if r[city] == sub[city]]
        if _money(sub[t.at(AMOUNT_HEADER)]) != t.sum(AMOUNT_HEADER, mine):
            problems.append(
                _problem(
                    sheet,
                    f"{sub[city]}{SUBTOTAL}",
                    sub[t.at(AMOUNT_HEADER)],
                    t.sum(AMOUNT_HEADER, mine),
                    **where,
                )
            )
    return problems


def department_mismatches(engine: Engine, folder: Path) -> list[dict[str, str]]:
    """Every difference between a department workbook's control totals (汇总, by program and 合计, and the
    allocation table) and the ledger. The workbooks are read two at a time: calamine parses without holding
    the interpreter, so a second thread reads on the other core."""
    ledger = ledger_totals(engine)
    with ThreadPoolExecutor(READERS) as pool:
        found = pool.map(lambda department: _department_mismatches(ledger, folder, department), DEPARTMENTS)
        return [problem for problems in found for problem in problems]


READERS = 2


def _department_mismatches(ledger: dict[str, Decimal], folder: Path, department: str) -> list[dict[str, str]]:
    path = folder / f"{department}.xlsx"
    if not path.exists():
        return [{"department": department, "problem": "报表文件不存在"}]
    problems: list[dict[str, str]] = []
    book = open_workbook(path)
    summary = read_table(book, SUMMARY_SHEET)
    code, amount = summary.at(CODE_HEADER), summary.at(LEDGER_HEADER)
    shown = {str(r[code]): _money(r[amount]) for r in summary.rows}
    mine = [p for p in PROGRAMS if department in p.departments]
    for p in mine:
        if shown.get(p.code) != ledger.get(p.code, ZERO):
            problems.append(
                _problem(
                    SUMMARY_SHEET,
                    p.code,
                    shown.get(p.code),
                    ledger.get(p.code, ZERO),
                    department=department,
                    program=p.code,
                )
            )
    expected = sum((ledger.get(p.code, ZERO) for p in mine), ZERO)
    total = None if summary.total is None else _money(summary.total[amount])
    if total != expected:
        problems.append(_problem(SUMMARY_SHEET, TOTAL, total, expected, department=department, program=TOTAL))
    fund = [p for p in mine if p.kind == "fund"]
    if fund:
        owed = sum((ledger.get(p.code, ZERO) for p in fund), ZERO)
        problems += allocation_mismatches(book, ALLOCATION_SHEET, owed, department=department)
    return problems


def fund_mismatches(engine: Engine, path: Path) -> list[dict[str, str]]:
    """Every difference between the fund workbook's cumulative totals and the ledger: by program, the 合计 of
    按项目, 按盟市 and 按月份, the allocation table and the public-notice list."""
    if not path.exists():
        return [{"problem": "报表文件不存在"}]
    ledger = ledger_totals(engine)
    total = sum(ledger.values(), ZERO)
    problems = []
    book = open_workbook(path)
    programs = read_table(book, PROGRAM_SHEET)
    code, amount = programs.at(CODE_HEADER), programs.at(TOTAL_HEADER)
    shown = {str(r[code]): _money(r[amount]) for r in programs.rows}
    for program in sorted(set(ledger) | {p.code for p in PROGRAMS if p.kind == "fund"}):
        if shown.get(program, ZERO) != ledger.get(program, ZERO):
            problems.append(_problem(PROGRAM_SHEET, program, shown.get(program), ledger.get(program, ZERO)))
    for sheet, header in (
        (PROGRAM_SHEET, TOTAL_HEADER),
        (CITY_SHEET, TOTAL_HEADER),
        (MONTH_SHEET, "净承诺(元)"),
    ):
        t = read_table(book, sheet)
        shown_total = None if t.total is None else _money(t.total[t.at(header)])
        if shown_total != total or t.sum(header) != total:
            problems.append(_problem(sheet, TOTAL, shown_total, total))
    problems += allocation_mismatches(book, ALLOCATION_SHEET, total)
    problems += allocation_mismatches(book, NOTICE_SHEET, total)
    return problems
