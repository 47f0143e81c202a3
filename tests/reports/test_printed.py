"""The reports as an official prints, signs and files them (issue 12): every workbook of a real run on the sample
inbox rendered by LibreOffice to PDF, as it honours each sheet's print setup, and every page's text measured (no
page blank or under 9 pt, no table header row alone above a chart); and, with openpyxl, the ruled tables, 序号, title frames, sign-off blocks, Chinese-only cells, the order of the lists
and the allocation tables tied to the ledger.

LibreOffice is slow to start: all workbooks are rendered by one `soffice` invocation, once for this module, with
its own profile directory. Without LibreOffice the rendering test is skipped, and under CI it fails (`.ci/run`
installs Debian's libreoffice-calc).
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from openpyxl.utils import column_index_from_string, get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import inspect

from pipelines import report_queries, whatif, whatif_workbook
from pipelines.allocation import ALLOCATION_SHEET, NOTICE_SHEET
from pipelines.charts import chart_rows
from pipelines.excel import Col, Frame, _lines_needed, _wrapped_height, new_workbook, save, write_table
from pipelines.fund_report import FILE_NAME, MONTH_SHEET, month_rows
from pipelines.report_readback import department_mismatches, read_table
from pipelines.report_text import official_order, plain_reason
from pipelines.settings import SAMPLE_INBOX
from rules.catalog import BY_CODE, DEPARTMENTS, PROGRAMS
from rules.parameters import Parameters
from rules.whatif import Override
from schemas.sheets import LEAGUE_CITIES, REVIEW_FOLDER
from tests.conftest import AS_OF, Nightly

MIN_POINTS = 9.0
# The review workbooks' 审核结论 sheet is a fifteen-column entry form (pipelines/review_workbook.py): it printed at 6 pt
# when its columns were fitted to their text; drawn narrower it prints at about 8.5.
REVIEW_FORM_MIN_POINTS = 8.0
SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
SUMMARY_SHEETS = {"汇总", "概况"}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nightly]:
    root = tmp_path_factory.mktemp("printed")
    shutil.copytree(SAMPLE_INBOX, root / "inbox")
    nightly = Nightly(
        inbox=root / "inbox", database_url=f"sqlite:///{root / 'ledger.sqlite'}", reports=root / "out"
    )
    assert nightly.run().success
    yield nightly


def _books(n: Nightly) -> list[Path]:
    return sorted((n.reports / AS_OF.isoformat()).glob("*.xlsx"))


def _printed_books(n: Nightly) -> list[Path]:
    """The reports, and the review workbooks (审核/) the departments print to sign their determinations."""
    return _books(n) + sorted((n.reports / AS_OF.isoformat() / REVIEW_FOLDER).glob("*.xlsx"))


@pytest.fixture(scope="module")
def pdfs(run: Nightly, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("pdf")
    books = _printed_books(run)
    _render(books, out, tmp_path_factory.mktemp("lo-profile"))
    rendered = {p.stem: p for p in out.glob("*.pdf")}
    assert set(rendered) == {b.stem for b in books}
    return rendered


def _page_sizes(pdf: Path) -> list[float]:
    """The median size of the text spans on each page, in points."""
    import pymupdf

    sizes = []
    with pymupdf.open(pdf) as doc:
        for page in doc:
            spans = [
                span["size"]
                for block in page.get_text("dict")["blocks"]
                for line in block.get("lines", [])
                for span in line["spans"]
                if span["text"].strip()
            ]
            sizes.append(statistics.median(spans) if spans else 0.0)
    return sizes


def test_every_printed_page_of_every_report_is_set_in_at_least_nine_point_text(run, pdfs):
    small = {}
    for name, pdf in pdfs.items():
        sizes = _page_sizes(pdf)
        book = next(b for b in _printed_books(run) if b.stem == name)
        sheets = load_workbook(book).sheetnames
        assert len(sizes) >= len(sheets), name  # every sheet prints
        least = REVIEW_FORM_MIN_POINTS if book.parent.name == REVIEW_FOLDER else MIN_POINTS
        small |= {f"{name} p.{i}": round(s, 1) for i, s in enumerate(sizes, start=1) if 0 < s < least}
    assert small == {}


def test_no_report_prints_a_blank_page(pdfs):
    """LibreOffice printed a page with nothing on it, not even the page header and footer, after every 退回行
    while the header and footer lines had more room than they need (pipelines/excel.py)."""
    import pymupdf

    blank = []
    for name, pdf in pdfs.items():
        with pymupdf.open(pdf) as doc:
            blank += [f"{name} p.{i}" for i, page in enumerate(doc, start=1) if not page.get_text().strip()]
    assert blank == []


def _render(books: list[Path], out: Path, profile: Path) -> None:
    if SOFFICE is None:
        message = "LibreOffice (soffice) is missing: apt-get install libreoffice-calc (.ci/run does)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    subprocess.run(
        [SOFFICE, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--convert-to", "pdf",
         "--outdir", str(out), *map(str, books)],
        check=True, capture_output=True, timeout=600,
    )  # fmt: skip


def test_the_what_if_workbook_prints_in_nine_point_text_with_every_figure_and_bracket_in_place(
    run: Nightly, tmp_path: Path
):
    """Its columns fitted to their text printed the side-by-side table at 8 pt, and "名称（CODE）" broke a
    program's code across lines with its "）" alone on the last."""
    import pymupdf

    comparison = whatif.run(
        run.inbox, run.engine(), AS_OF, [Override.parse("general.effective_date=2024-10-29")]
    )
    book = whatif_workbook.write(tmp_path / "what-if.xlsx", comparison)
    _render([book], tmp_path, tmp_path / "lo-profile")
    pdf = tmp_path / "what-if.pdf"
    assert [p for p, size in enumerate(_page_sizes(pdf), start=1) if size < MIN_POINTS] == []
    with pymupdf.open(pdf) as doc:
        text = "".join(page.get_text() for page in doc)
    assert "###" not in text
    assert not any(line.strip() and set(line.strip()) <= set(")）") for line in text.splitlines())
    assert (
        "FLYASH_ALUMINA_INTEREST" not in text
    )  # the code is on screen only, in 代码 after the printed columns
    # ... and never makes a row taller than its printed cells need: at 24 wide, 按类别's DEEP_PROCESSING_INTEREST
    # made its row two lines tall on paper, the second empty
    assert _taller_than_printed(load_workbook(book)["按类别"]) == {}


def test_figures_far_wider_than_their_columns_were_drawn_still_print_whole(tmp_path: Path):
    """The 12,000-application benchmark's fund summary printed its 合计 of 占年度预算, 1498.10 %, as ###; a
    register's narrow column would do the same with a large amount. Each figure column takes its widest
    figure's width, the bold 合计 row included."""
    import pymupdf

    columns = [
        Col("项目", "name", width=8),
        Col("金额(元)", "yuan", "yuan", width=6),
        Col("数量(吨)", "qty", "qty", width=6),
        Col("个数", "count", "int", width=4),
        Col("占年度预算", "share", "pct"),
    ]
    rows = [
        {
            "name": "甲",
            "yuan": Decimal("123456789012.34"),
            "qty": Decimal("182539"),
            "count": 1,
            "share": Decimal("0.855"),
        },
        {
            "name": "乙",
            "yuan": Decimal("-98765432109.87"),
            "qty": Decimal("1"),
            "count": 2,
            "share": Decimal("12.654"),
        },
    ]
    totals = {
        "name": "合计",
        "yuan": Decimal("24691356902.47"),
        "qty": Decimal("182540"),
        "count": 1234567,
        "share": Decimal("14.981"),
    }
    wb = new_workbook()
    frame = Frame("宽数字", "测试单位", AS_OF, "rb-test", datetime(2026, 11, 24, 2, 0))
    write_table(wb, "表", columns, rows, frame=frame, totals=totals)
    book = save(wb, tmp_path / "figures.xlsx")
    _render([book], tmp_path, tmp_path / "lo-profile")
    with pymupdf.open(tmp_path / "figures.pdf") as doc:
        text = "".join(page.get_text() for page in doc)
    assert "###" not in text
    for shown in ("123,456,789,012.34", "-98,765,432,109.87", "182,539.00", "1,234,567", "1498.10%"):
        assert shown in text, shown


def test_every_printed_number_fits_its_column(pdfs):
    """A number too wide for its column prints as ### (LibreOffice and Excel alike): 工信厅's 再生铝基础数据库
    printed the sample recycler's 182,539.00 吨 of water so. Amount and quantity columns are as wide as their
    widest figure, their 合计 included, however narrow the column was drawn."""
    import pymupdf

    hashed = []
    for name, pdf in pdfs.items():
        with pymupdf.open(pdf) as doc:
            hashed += [f"{name} p.{i}" for i, page in enumerate(doc, start=1) if "###" in page.get_text()]
    assert hashed == []


def test_no_printed_line_is_a_closing_bracket_alone(pdfs):
    """A column narrower than its text wrapped "奖补金额(万元)" (the allocation tables) and the 退回行 sheet's 列
    (the header named, "项目总投资(万元)") so that the ")" printed on a line of its own, some fifty times across the sample's
    reports."""
    import pymupdf

    alone = []
    for name, pdf in pdfs.items():
        with pymupdf.open(pdf) as doc:
            for i, page in enumerate(doc, start=1):
                for block in page.get_text("dict")["blocks"]:
                    for line in block.get("lines", []):
                        text = "".join(span["text"] for span in line["spans"]).strip()
                        if text and set(text) <= set(")）]】」》"):
                            alone.append(f"{name} p.{i}: {text}")
    assert alone == []


def test_a_chart_on_a_page_of_its_own_is_not_headed_by_a_lone_table_header_row(run, pdfs):
    """The header row repeats on the pages of a long table, never above a chart that starts a page of its own."""
    import pymupdf

    titles = [str(chart.title.tx.rich.p[0].r[0].t) for _, ws in _sheets(run) for chart in ws._charts]
    own_pages = 0
    for pdf in pdfs.values():
        with pymupdf.open(pdf) as doc:
            for page in doc:
                text = page.get_text()
                if any(t in text for t in titles) and "编制单位" not in text:  # a chart, not under its table
                    own_pages += 1
                    assert "序号" not in text, text
    assert own_pages >= 2  # the sample's 按项目 and 按盟市 charts do not fit under their tables


def _sheets(n: Nightly, books: list[Path] | None = None) -> Iterator[tuple[str, Worksheet]]:
    for path in _books(n) if books is None else books:
        for ws in load_workbook(path).worksheets:
            yield f"{path.stem}/{ws.title}", ws


def _header_row(ws: Worksheet) -> int:
    return int(ws.freeze_panes[1:]) - 1


def _table_rows(ws: Worksheet) -> range:
    """The header, the data, subtotal and totals rows: up to the first blank row below the header."""
    top = _header_row(ws)
    bottom = top
    while any(c.value is not None for c in ws[bottom + 1]):
        bottom += 1
    return range(top, bottom + 1)


def _taller_than_printed(ws: Worksheet) -> dict[int, tuple[float | None, float | None]]:
    """Table rows whose height is not what their printed cells' text needs (row -> (height, needed))."""
    printed = column_index_from_string(_last_printed_column(ws))
    widths = [ws.column_dimensions[get_column_letter(c)].width for c in range(1, printed + 1)]
    taller = {}
    for r in _table_rows(ws)[1:]:
        cells = [ws.cell(r, c).value for c in range(1, printed + 1)]
        texts = [_lines_needed(v, w) for v, w in zip(cells, widths, strict=True) if isinstance(v, str)]
        lines = max(texts, default=1)
        needed = _wrapped_height(lines) if lines > 1 else None
        if ws.row_dimensions[r].height != needed:
            taller[r] = (ws.row_dimensions[r].height, needed)
    return taller


def test_no_row_is_taller_than_its_printed_text_needs(run):
    """Off the page, a screen-only column's text must not size a printed row (a blank line under it)."""
    for where, ws in _sheets(run, _printed_books(run)):
        assert _taller_than_printed(ws) == {}, where


def test_every_list_starts_with_a_serial_number_and_every_table_cell_is_ruled(run):
    for where, ws in _sheets(run):
        top = _header_row(ws)
        headers = [c.value for c in ws[top]]
        assert headers[0] == "序号", where
        serials = [ws.cell(r, 1).value for r in _table_rows(ws)[1:] if ws.cell(r, 1).value is not None]
        assert serials == list(range(1, len(serials) + 1)), where
        for r in _table_rows(ws):
            for c in range(1, len(headers) + 1):
                border = ws.cell(r, c).border
                sides = (border.left.style, border.right.style, border.top.style, border.bottom.style)
                assert sides == ("thin",) * 4, (where, ws.cell(r, c).coordinate)


def test_every_sheet_opens_with_its_title_frame_and_each_summary_ends_with_the_sign_off_block(run):
    version = run.scalar("SELECT MIN(rulebook_version) FROM application_decisions")
    for where, ws in _sheets(run):
        title = ws["A1"]
        assert title.value and title.font.b and title.alignment.horizontal == "center", where
        printed = _last_printed_column(ws)
        assert f"A1:{printed}1" in {str(m) for m in ws.merged_cells.ranges}, where  # centred over the table
        frame = f"{ws['A2'].value} {ws['A3'].value}"
        for part in (
            "编制单位：",
            "单位：",
            f"数据截至：{AS_OF.isoformat()}",
            f"规则版本：{version}",
            "生成时间：",
        ):
            assert part in frame, (where, part)
        assert ("单位：万元" in frame) or ("单位：元" in frame), where
        texts = [
            str(c.value) for row in ws.iter_rows(min_row=_table_rows(ws)[-1] + 1) for c in row if c.value
        ]
        if ws.title in SUMMARY_SHEETS:
            sign_off = texts[-1]
            for part in ("制表人", "审核人", "负责人", "日期"):
                assert part in sign_off, (where, part)
            assert ("单位（盖章）" in sign_off) == (ws.title == "概况"), where


def test_the_printed_columns_come_first_and_the_screen_columns_stay_outside_the_print_area(run):
    for where, ws in _sheets(run):
        headers = [c.value for c in ws[_header_row(ws)]]
        printed = headers[: ws[f"{_last_printed_column(ws)}1"].column]
        assert not {"代码", "统一社会信用代码", "来源文件", "申报编号", "错误代码"} & set(printed), where
        assert "代码" not in headers or headers[-1] == "代码", where
        if {"盟市", "企业名称"} <= set(printed):
            assert printed[1:3] == ["盟市", "企业名称"], where
        assert (
            ws.page_margins.left == pytest.approx(1 / 2.54)
            and ws.oddFooter.center.text == "第 &P 页 共 &N 页"
        )


def _last_printed_column(ws: Worksheet) -> str:
    """The last column of the print area ('明细'!$A$1:$I$30 -> I)."""
    return str(ws.print_area).split(":")[-1].split("$")[1]


def _internal_names(n: Nightly) -> list[tuple[str, re.Pattern[str]]]:
    names = inspect(n.engine())
    tables = [*names.get_table_names(), *names.get_view_names()]
    words = [
        *(("parameter key", k) for k in sorted(Parameters.load().keys())),
        *(("program code", code) for code in BY_CODE),
        *(("table name", t) for t in tables),
    ]
    patterns = [(kind, re.compile(rf"(?<![A-Za-z0-9_.]){re.escape(w)}(?![A-Za-z0-9_])")) for kind, w in words]
    patterns.append(("award key", re.compile(r"\b[A-Z]+(?:_[A-Z0-9]+)+:\S")))
    patterns.append(
        ("repository file", re.compile(r"\b[\w/]+\.(py|yaml|md)\b|\b(rules|pipelines|schemas|assets)/"))
    )
    return patterns


def test_no_cell_outside_a_code_column_names_a_parameter_award_key_table_or_file_of_the_repository(run):
    patterns = _internal_names(run)
    found = []
    for where, ws in _sheets(run):
        code_columns = {c.column for c in ws[_header_row(ws)] if c.value == "代码"}
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.column not in code_columns:
                    found += [
                        (where, cell.coordinate, kind, cell.value)
                        for kind, p in patterns
                        if p.search(cell.value)
                    ]
    assert found == []


def test_a_reason_that_names_a_parameter_or_an_award_object_is_said_in_chinese():
    said = plain_reason(
        "国家级绿色工厂（工信厅节函〔2025〕321号，2025-12-20）：green_manufacturing.award.national = 1,000,000.00 元；"
        "奖励 1,000,000.00 元"
    )
    assert said.startswith(
        "国家级绿色工厂（工信厅节函〔2025〕321号，2025-12-20）：国家级绿色制造奖励标准（政策条款五(2)）"
    )
    assert "green_manufacturing" not in said and "1,000,000.00 元" in said
    said = plain_reason(
        "奖励对象 STANDARD_SETTING:911502001001583827:ISO 6361-6:2025 已由申报 STD-001 获得（一次性奖励）"
    )
    assert said == "奖励对象 标准研制奖励（ISO 6361-6:2025） 已由申报 STD-001 获得（一次性奖励）"
    said = plain_reason(
        "已获更高等级认定奖励（GREEN_MANUFACTURING:911502001001583827:green_factory:national，申报 G-1）"
    )
    assert "GREEN_MANUFACTURING" not in said and "national" not in said and "绿色制造奖励（国家级" in said
    assert plain_reason("配套深加工项目 XM-7 已申报（DEEP_PROCESSING_INTEREST）") == (
        f"配套深加工项目 XM-7 已申报（{BY_CODE['DEEP_PROCESSING_INTEREST'].name}）"
    )


def _ledger_by_application(n: Nightly, codes: set[str]) -> dict[str, Decimal]:
    rows = n.rows(
        "SELECT application_id, program, SUM(amount_fen) AS net FROM award_ledger GROUP BY application_id, program"
    )
    return {
        r["application_id"]: Decimal(int(r["net"])) / 100 for r in rows if r["program"] in codes and r["net"]
    }


def _table(path: Path, sheet: str) -> tuple[list[str], list[dict[str, Any]], Any]:
    t = read_table(path, sheet)
    return t.header, [dict(zip(t.header, r, strict=True)) for r in t.rows], t


def test_the_allocation_tables_list_what_the_ledger_owes_by_league_city_with_subtotals_and_the_ledger_total(
    run,
):
    folder = run.reports / AS_OF.isoformat()
    books = {"专项资金汇总": {p.code for p in PROGRAMS if p.kind == "fund"}} | {
        d: {p.code for p in PROGRAMS if d in p.departments and p.kind == "fund"} for d in DEPARTMENTS
    }
    checked = 0
    for book, codes in books.items():
        if not codes:
            assert ALLOCATION_SHEET not in load_workbook(folder / f"{book}.xlsx").sheetnames
            continue
        header, rows, table = _table(folder / f"{book}.xlsx", ALLOCATION_SHEET)
        assert header[:8] == [
            "序号",
            "盟市",
            "企业名称",
            "项目名称",
            "奖补项目",
            "政策条款",
            "奖补金额(元)",
            "奖补金额(万元)",
        ]
        owed = _ledger_by_application(run, codes)
        assert {r["申报编号"]: Decimal(str(r["奖补金额(元)"])) for r in rows} == owed, book
        assert all(Decimal(str(r["奖补金额(万元)"])) * 10000 == Decimal(str(r["奖补金额(元)"])) for r in rows)
        cities = [r["盟市"] for r in rows]
        assert cities == sorted(cities, key=LEAGUE_CITIES.index), book
        assert [s[1] for s in table.subtotals] == list(dict.fromkeys(cities)), book
        for sub in table.subtotals:
            mine = sum(Decimal(str(r["奖补金额(元)"])) for r in rows if r["盟市"] == sub[1])
            assert Decimal(str(sub[header.index("奖补金额(元)")])) == mine
        assert Decimal(str(table.total[header.index("奖补金额(元)")])) == sum(owed.values()), book
        checked += 1
    assert checked >= 2


def test_the_public_notice_list_shows_only_what_may_be_published_in_official_order(run):
    path = run.reports / AS_OF.isoformat() / FILE_NAME
    header, rows, _ = _table(path, NOTICE_SHEET)
    assert header == ["序号", "盟市", "企业名称", "项目名称", "奖补项目", "奖补金额(元)"]
    owed = _ledger_by_application(run, {p.code for p in PROGRAMS if p.kind == "fund"})
    assert sum(Decimal(str(r["奖补金额(元)"])) for r in rows) == sum(owed.values()) and len(rows) == len(owed)


def test_lists_read_in_league_city_order_then_enterprise_then_clause_and_refusals_are_shaded(run):
    wb = load_workbook(run.reports / AS_OF.isoformat() / "工信厅.xlsx")
    ws = wb["明细"]
    top = _header_row(ws)
    headers = [c.value for c in ws[top]]
    rows = [
        dict(zip(headers, r, strict=True)) for r in ws.iter_rows(min_row=top + 1, values_only=True) if r[0]
    ]
    keyed = [
        {
            "league_city": r["盟市"],
            "enterprise_name": r["企业名称"],
            "program": r["代码"],
            "application_id": r["申报编号"],
        }
        for r in rows
    ]
    assert keyed == sorted(keyed, key=official_order)
    fills = {}
    for r in range(top + 1, top + 1 + len(rows)):
        decision = ws.cell(r, headers.index("决定") + 1).value
        fills.setdefault(decision, set()).add(ws.cell(r, 2).fill.fgColor.rgb)
    assert {"奖补", "不予支持"} <= set(fills)
    assert fills["奖补"] == {"00000000"} and "00000000" not in fills["不予支持"]


def test_every_chart_is_in_wan_yuan_from_zero_with_more_than_one_bar_below_its_table_inside_the_print_area(
    run,
):
    charts = 0
    for where, ws in _sheets(run):
        for chart in ws._charts:
            charts += 1
            assert chart.y_axis.scaling.min == 0, where
            assert "万元" in str(chart.y_axis.title.tx.rich.p[0].r[0].t), where
            anchor = chart.anchor
            assert anchor._from.col == 0 and anchor._from.row + 1 > _table_rows(ws)[-1], where
            # anchored to the printed columns' cells, it is as wide as the table in any application: never cut
            # off at the print area's edge (a fixed 24 cm was, under 按盟市's narrower table)
            last_printed = ws[f"{_last_printed_column(ws)}1"].column
            print_rows = int(str(ws.print_area).split("$")[-1])
            foot = anchor.to.row  # zero-based: the row its foot sits on top of
            assert anchor.to.col == last_printed and foot <= print_rows, where
            ref = chart.series[0].val.numRef.f
            first, last = (int(x) for x in re.findall(r"\$(\d+)", ref))
            assert last > first or len(chart.series) > 1, where
    assert charts >= 3  # 概况, 按项目, 按盟市; the sample books in one month, so 按月份 has no chart


def test_the_month_sheet_lists_the_months_with_entries_and_charts_them_from_two_months_on(run):
    booked = sorted({e.month for e in report_queries.entries(run.engine())})
    _, rows, _ = _table(run.reports / AS_OF.isoformat() / FILE_NAME, MONTH_SHEET)
    assert [r["月份"] for r in rows] == booked and len(booked) == 1  # one night, one month
    assert not load_workbook(run.reports / AS_OF.isoformat() / FILE_NAME)[MONTH_SHEET]._charts
    # Two months with entries and eleven without: two rows, and room for a chart of two bars.
    book = [
        report_queries.Entry("K1", "P", "C", None, 100_00, f"{AS_OF.year}-03"),
        report_queries.Entry("K2", "P", "C", None, 250_00, f"{AS_OF.year}-09"),
    ]
    months = month_rows(book, AS_OF, Decimal("1000.00"))
    assert [m["month"] for m in months] == [f"{AS_OF.year}-03", f"{AS_OF.year}-09"]
    assert [m["year_to_date_yuan"] for m in months] == [Decimal("100.00"), Decimal("350.00")]
    assert chart_rows(len(months)) > 0 == chart_rows(1)


def test_a_tampered_allocation_subtotal_fails_the_departments_tie_to_the_ledger(run, tmp_path: Path):
    folder = tmp_path / "copy"
    shutil.copytree(run.reports / AS_OF.isoformat(), folder)
    wb = load_workbook(folder / "工信厅.xlsx")
    ws = wb[ALLOCATION_SHEET]
    headers = [c.value for c in ws[_header_row(ws)]]
    row = next(r for r in _table_rows(ws) if str(ws.cell(r, 3).value or "").startswith("小计"))
    ws.cell(row, headers.index("奖补金额(元)") + 1).value += 1
    wb.save(folder / "工信厅.xlsx")
    problems = department_mismatches(run.engine(), folder)
    assert [(p["department"], p["sheet"]) for p in problems] == [("工信厅", ALLOCATION_SHEET)]
