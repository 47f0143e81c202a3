"""The department reports and the fund summary of a real nightly run on the sample inbox, opened with openpyxl:
sheets, print and filter setup, yuan formats, and every total tied to `award_balances`."""

import re
import zipfile
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import text

from pipelines.excel import MAX_ROW_PT, YUAN_FORMAT
from pipelines.fund_report import FILE_NAME
from pipelines.report_readback import department_mismatches, fund_mismatches
from pipelines.settings import SAMPLE_INBOX
from rules.catalog import DEPARTMENTS, PROGRAMS
from rules.parameters import Parameters
from samples.build import sample_sheets
from samples.workbook import write_batch
from tests.conftest import AS_OF, Nightly

EXTRA_SHEETS = {
    "工信厅": ["项目合规判定", "再生铝基础数据库", "再生铝月度能耗", "首批次登记"],
    "发展改革委": ["项目合规判定"],
    "财政厅": [],
    "商务厅": [],
    "税务局": ["增值税即征即退"],
    "能源局": ["项目合规判定", "可再生能源消纳比例"],
    "生态环境厅": ["项目合规判定"],
    "科技厅": ["科技重大专项登记"],
    "市场监督管理局": [],
    "新闻出版局": [],
}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Nightly, dg.ExecuteInProcessResult]]:
    """One real run of the whole graph on a private copy of the sample inbox, shared by this module's tests."""
    import shutil

    root = tmp_path_factory.mktemp("reports")
    shutil.copytree(SAMPLE_INBOX, root / "inbox")
    nightly = Nightly(
        inbox=root / "inbox", database_url=f"sqlite:///{root / 'ledger.sqlite'}", reports=root / "out"
    )
    yield nightly, nightly.run()


def _folder(n: Nightly) -> Path:
    return n.reports / AS_OF.isoformat()


def _header_row(ws: Worksheet) -> int:
    return int(ws.freeze_panes[1:]) - 1


def _table(ws: Worksheet) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Header and data rows of a report sheet (the rows inside its autofilter)."""
    header_row = _header_row(ws)
    last = int(ws.auto_filter.ref.split(":")[1].lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    header = [c.value for c in ws[header_row]]
    rows = [r for r in ws.iter_rows(min_row=header_row + 1, max_row=last, values_only=True) if any(r)]
    return header, rows


def _books(n: Nightly) -> dict[str, Path]:
    return {p.stem: p for p in _folder(n).glob("*.xlsx")}


def _ledger_by_program(n: Nightly) -> dict[str, Decimal]:
    rows = n.rows("SELECT program, SUM(net_fen) AS net FROM award_balances GROUP BY program")
    return {r["program"]: Decimal(int(r["net"])) / 100 for r in rows}


def test_each_department_gets_its_workbook_with_its_own_sheets_and_finance_gets_the_fund_summary(run):
    n, result = run
    assert result.success
    books = _books(n)
    assert set(books) == {*DEPARTMENTS, Path(FILE_NAME).stem}
    for department in DEPARTMENTS:
        wb = load_workbook(books[department])
        funds = any(p.kind == "fund" for p in PROGRAMS if department in p.departments)
        allocation = ["资金分配表"] if funds else []
        assert wb.sheetnames == [
            "汇总",
            "明细",
            "待审核",
            "退回行",
            *allocation,
            *EXTRA_SHEETS[department],
        ], department
    assert load_workbook(books[Path(FILE_NAME).stem]).sheetnames == [
        "概况",
        "按项目",
        "按盟市",
        "按月份",
        "资金分配表",
        "拟奖补名单",
    ]


def test_every_sheet_has_a_frozen_filtered_header_and_prints_landscape_one_page_wide(run):
    n, _ = run
    for name, path in _books(n).items():
        for ws in load_workbook(path).worksheets:
            where = f"{name}/{ws.title}"
            header_row = _header_row(ws)
            assert ws.freeze_panes == f"A{header_row + 1}", where
            assert ws.auto_filter.ref.startswith(f"A{header_row}:"), where
            # the header row repeats on every page of a table; tests/reports/test_printed.py: not above a chart
            if not ws._charts:
                assert ws.print_title_rows == f"${header_row}:${header_row}", where
            assert ws.page_setup.orientation == "landscape", where
            assert (ws.page_setup.fitToWidth, ws.page_setup.fitToHeight) == (1, 0), where
            assert ws.sheet_properties.pageSetUpPr.fitToPage, where
            header = ws[header_row]
            assert all(c.value and c.font.b and c.alignment.wrap_text for c in header), where
            for cell in header:
                # a header wraps onto at most two lines of its column
                width = ws.column_dimensions[cell.column_letter].width
                shown = sum(2 if ord(ch) > 0x2E80 else 1 for ch in str(cell.value))
                assert width >= min(shown / 2, 60), (where, cell.value, width)


def test_every_amount_in_yuan_is_a_number_with_thousands_separators_and_two_decimals(run):
    n, _ = run
    seen = 0
    for name, path in _books(n).items():
        for ws in load_workbook(path).worksheets:
            header_row = _header_row(ws)
            yuan_columns = [c.column for c in ws[header_row] if "(元)" in str(c.value)]
            for col in yuan_columns:
                for (cell,) in ws.iter_rows(min_row=header_row + 1, min_col=col, max_col=col):
                    if cell.value is None:
                        continue
                    assert isinstance(cell.value, int | float), (name, ws.title, cell.coordinate, cell.value)
                    assert cell.number_format == YUAN_FORMAT, (name, ws.title, cell.coordinate)
                    seen += 1
    assert seen > 100


def test_each_department_summary_ties_program_by_program_to_award_balances(run):
    n, _ = run
    ledger = _ledger_by_program(n)
    assert sum(ledger.values()) > 0
    for department in DEPARTMENTS:
        wb = load_workbook(_books(n)[department])
        header, rows = _table(wb["汇总"])
        code, decided, ledger_at = (
            header.index("代码"),
            header.index("奖补决定金额(元)"),
            header.index("台账净额(元)"),
        )
        shown = {r[code]: r for r in rows}
        mine = [p for p in PROGRAMS if department in p.departments]
        assert [r[code] for r in rows] == [p.code for p in mine]
        for p in mine:
            assert Decimal(str(shown[p.code][ledger_at])) == ledger.get(p.code, 0), (department, p.code)
            if p.kind == "fund":
                assert Decimal(str(shown[p.code][decided])) == ledger.get(p.code, 0), (department, p.code)
        total = next(
            r for r in wb["汇总"].iter_rows(values_only=True) if r[header.index("申报类别")] == "合计"
        )
        assert Decimal(str(total[ledger_at])) == sum(ledger.get(p.code, Decimal(0)) for p in mine)

        # the detail lists every application of the department's programs, and its awards add up to the same
        d_header, detail = _table(wb["明细"])
        awarded: dict[str, Decimal] = defaultdict(Decimal)
        for r in detail:
            amount = r[d_header.index("奖补金额(元)")]
            if amount is not None:
                awarded[r[d_header.index("代码")]] += Decimal(str(amount))
        for p in mine:
            if p.kind == "fund":
                assert awarded[p.code] == ledger.get(p.code, 0), (department, p.code)
        expected = n.scalar(
            "SELECT COUNT(*) FROM application_decisions WHERE program IN ("
            + ",".join(f"'{p.code}'" for p in mine)
            + ")"
        )
        assert len(detail) == expected


def test_the_needs_review_sheet_says_what_is_missing_for_each_application_under_review(run):
    n, _ = run
    review = n.rows(
        "SELECT application_id, program FROM application_decisions WHERE decision = 'needs_review'"
    )
    for department in DEPARTMENTS:
        codes = {p.code for p in PROGRAMS if department in p.departments}
        header, rows = _table(load_workbook(_books(n)[department])["待审核"])
        assert sorted(r[header.index("申报编号")] for r in rows) == sorted(
            a["application_id"] for a in review if a["program"] in codes
        )
        assert all(r[header.index("需补充或核实的内容")] for r in rows)


def test_the_tax_bureau_list_carries_each_vat_applications_estimated_refund(run):
    n, _ = run
    decided = {
        r["application_id"]: r
        for r in n.rows(
            "SELECT application_id, decision, amount_fen FROM application_decisions "
            "WHERE program IN ('FLYASH_ALUMINA_VAT', 'RECYCLED_VAT')"
        )
    }
    header, rows = _table(load_workbook(_books(n)["税务局"])["增值税即征即退"])
    app = header.index("申报编号")
    assert {r[app] for r in rows} == set(decided)
    for r in rows:
        estimate = r[header.index("退税估算(元)")]
        d = decided[r[app]]
        if d["decision"] == "eligible":
            assert Decimal(str(estimate)) == Decimal(int(d["amount_fen"])) / 100
        else:
            assert estimate is None
    # VAT refunds never enter the special-fund ledger
    assert not n.scalar("SELECT COUNT(*) FROM award_ledger WHERE program LIKE '%VAT'")


def test_the_fund_summary_ties_by_program_city_and_month_to_the_ledger_against_the_budget(run):
    n, _ = run
    wb = load_workbook(_books(n)[Path(FILE_NAME).stem])
    ledger = _ledger_by_program(n)
    total = sum(ledger.values(), Decimal(0))

    header, rows = _table(wb["按项目"])
    by_program = {r[header.index("代码")]: Decimal(str(r[header.index("累计承诺(元)")])) for r in rows}
    assert by_program == {p.code: ledger.get(p.code, Decimal(0)) for p in PROGRAMS if p.kind == "fund"}
    for sheet, key in (("按盟市", "累计承诺(元)"), ("按月份", "净承诺(元)")):
        header, rows = _table(wb[sheet])
        assert sum(Decimal(str(r[header.index(key)] or 0)) for r in rows) == total, sheet
    cities = {r[1] for r in _table(wb["按盟市"])[1]}
    assert {"包头市", "阿拉善盟"} <= cities

    budget = Parameters.load().at(AS_OF).value("fund.annual_budget")
    overview = {r[1]: r for r in wb["概况"].iter_rows(values_only=True) if r[1]}
    assert Decimal(str(overview[f"{AS_OF.year} 年度预算（暂定，待财政厅下达）"][2])) == budget
    assert len(wb["按项目"]._charts) == 1 and len(wb["按盟市"]._charts) == 1


def test_each_report_asset_records_its_files_and_a_table_preview_and_its_ledger_check_passes(run):
    _, result = run
    for key in ("department_reports", "fund_summary"):
        (event,) = result.asset_materializations_for_node(key)
        metadata = event.metadata
        paths = [v.path for v in metadata.values() if isinstance(v, dg.PathMetadataValue)]
        assert paths and all(Path(p).exists() for p in paths), key
        assert isinstance(metadata["summary"], dg.TableMetadataValue), key
    (department_paths,) = [
        [
            v.path
            for v in e.metadata.values()
            if isinstance(v, dg.PathMetadataValue) and str(v.path).endswith(".xlsx")
        ]
        for e in result.asset_materializations_for_node("department_reports")
    ]
    assert len(department_paths) == len(DEPARTMENTS)
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks["department_reports_tie_to_ledger"] is True
    assert checks["fund_summary_ties_to_ledger"] is True


def test_a_workbook_whose_totals_no_longer_match_the_ledger_fails_the_tie(run, tmp_path: Path):
    n, _ = run
    import shutil

    folder = tmp_path / "copy"
    shutil.copytree(_folder(n), folder)
    assert department_mismatches(n.engine(), folder) == []
    assert fund_mismatches(n.engine(), folder / FILE_NAME) == []

    wb = load_workbook(folder / "财政厅.xlsx")
    ws = wb["汇总"]
    header_row = _header_row(ws)
    headers = [c.value for c in ws[header_row]]
    ledger_col, code_col = headers.index("台账净额(元)") + 1, headers.index("代码") + 1
    cell = next(
        ws.cell(row=r, column=ledger_col)
        for r in range(header_row + 1, ws.max_row + 1)
        if ws.cell(row=r, column=code_col).value == "STANDARD_SETTING"
    )
    cell.value = cell.value + 1
    wb.save(folder / "财政厅.xlsx")
    problems = department_mismatches(n.engine(), folder)
    assert [(p["department"], p["program"]) for p in problems] == [("财政厅", "STANDARD_SETTING")]

    wb = load_workbook(folder / FILE_NAME)
    ws = wb["按盟市"]
    total_col = [c.value for c in ws[_header_row(ws)]].index("累计承诺(元)") + 1
    ws.cell(row=_header_row(ws) + 1, column=total_col).value = 1
    wb.save(folder / FILE_NAME)
    assert [p["sheet"] for p in fund_mismatches(n.engine(), folder / FILE_NAME)] == ["按盟市"]


def test_the_energy_bureau_gets_every_metered_renewable_share_and_miit_the_recycled_enterprises_months(run):
    n, _ = run
    header, rows = _table(load_workbook(_books(n)["能源局"])["可再生能源消纳比例"])
    shares = n.rows("SELECT credit_code, month, share FROM renewable_shares")
    assert shares, "the sample's metering export yields renewable shares"
    code, month = header.index("统一社会信用代码"), header.index("月份")
    assert sorted((r[code], r[month]) for r in rows) == sorted((s["credit_code"], s["month"]) for s in shares)
    assert all(
        r[header.index("可再生能源消纳比例")] is None or 0 <= r[header.index("可再生能源消纳比例")] <= 1
        for r in rows
    )

    recycled = {
        r["credit_code"]
        for r in n.rows("SELECT credit_code FROM application_decisions WHERE program LIKE 'RECYCLED_%'")
    }
    months = {
        (r["credit_code"], r["month"])
        for r in n.rows("SELECT DISTINCT credit_code, month FROM meter_months")
        if r["credit_code"] in recycled
    }
    m_header, monthly = _table(load_workbook(_books(n)["工信厅"])["再生铝月度能耗"])
    at = m_header.index("统一社会信用代码"), m_header.index("月份")
    assert {(r[at[0]], r[at[1]]) for r in monthly} == months
    e_header, extract = _table(load_workbook(_books(n)["工信厅"])["再生铝基础数据库"])
    assert {r[e_header.index("统一社会信用代码")] for r in extract} == recycled


def test_no_row_of_any_report_is_taller_than_excel_can_show(run):
    """Excel keeps rows up to 409 points; the energy-saving reasons of the sample wrap to some 30 lines, which
    sized their 明细 rows at 435 points. A longer text stays whole in its cell."""
    n, _ = run
    books = sorted(_folder(n).rglob("*.xlsx"))
    assert len(books) == 11 + 5  # ten departments, the fund summary and the review workbooks (审核/)
    tallest = {}
    for book in books:
        with zipfile.ZipFile(book) as z:
            for part in z.namelist():
                if part.startswith("xl/worksheets/sheet"):
                    heights = re.findall(r'<row [^>]*?ht="([0-9.]+)"', z.read(part).decode())
                    tallest[f"{book.name} {part}"] = max(map(float, heights), default=0.0)
    assert max(tallest.values()) <= MAX_ROW_PT, {k: v for k, v in tallest.items() if v > MAX_ROW_PT}
    header, rows = _table(load_workbook(_books(n)["工信厅"])["明细"])
    reasons = [r[header.index("理由")] for r in rows if r[header.index("申报编号")] == "ES-001"]
    assert len(reasons) == 1 and "EN-E02" in reasons[0] and reasons[0].endswith("（含本数）")


def test_the_recycled_database_names_each_vat_periods_own_application_and_counts_a_long_list(tmp_path: Path):
    """One row per VAT period: it names that period's VAT application and the enterprise's other recycled
    applications, never the VAT applications of the other periods; beyond five, the rest are counted."""
    sheets = sample_sheets()
    recycler = "911509001003167664"  # 乌兰察布再生铝科技有限公司: RC-DB-001, RC-INT-001, RC-VAT-001
    claim = next(c for c in sheets["vat_claims"] if c["application_id"] == "RC-VAT-001")
    vat = next(a for a in sheets["applications"] if a["application_id"] == "RC-VAT-001")
    for year in (2022, 2023, 2024):
        app_id = f"RC-VAT-{year}"
        sheets["applications"].append(vat | {"application_id": app_id})
        sheets["vat_claims"].append(
            claim | {"application_id": app_id, "period_start": f"{year}-01-01", "period_end": f"{year}-12-31"}
        )
    register = next(a for a in sheets["applications"] if a["application_id"] == "RC-DB-001")
    sheets["applications"] += [register | {"application_id": f"RC-DB-{i:03d}"} for i in range(2, 12)]
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_batch(inbox / "2026-03-01-再生铝.xlsx", sheets)
    n = Nightly(inbox=inbox, database_url=f"sqlite:///{tmp_path / 'l.sqlite'}", reports=tmp_path / "out")
    assert n.run().success
    header, rows = _table(load_workbook(_books(n)["工信厅"])["再生铝基础数据库"])
    mine = {
        r[header.index("增值税所属期起")].year: r[header.index("再生铝申报")]
        for r in rows
        if r[header.index("统一社会信用代码")] == recycler
    }
    assert sorted(mine) == [2022, 2023, 2024, 2025]
    for year, listed in mine.items():
        own = "RC-VAT-001" if year == 2025 else f"RC-VAT-{year}"
        named = re.findall(r"(RC-[A-Z]+-\d+)（", listed)
        assert own in named and not {x for x in named if x.startswith("RC-VAT")} - {own}, listed
        assert len(named) == 5 and listed.endswith("等 13 项（其余 8 项见「明细」表）"), listed
    ws = load_workbook(_books(n)["工信厅"])["再生铝基础数据库"]
    assert max(d.height or 0 for d in ws.row_dimensions.values()) < MAX_ROW_PT  # every line of it prints


def test_workbooks_written_by_two_processes_are_cell_for_cell_those_written_by_one(run, tmp_path: Path):
    """An official gets the same workbook whether the night wrote the departments side by side or in turn."""
    from datetime import datetime

    from python_calamine import CalamineWorkbook
    from sqlalchemy import create_engine

    from pipelines.department_report import load, write_all
    from pipelines.settings import SHANGHAI

    n, result = run
    submissions = result.asset_value("submissions")
    data = load(create_engine(n.database_url), n.as_of, submissions.frames, "rb-test", datetime.now(SHANGHAI))
    alone, side_by_side = tmp_path / "one", tmp_path / "two"
    alone.mkdir(), side_by_side.mkdir()
    one, two = write_all(data, alone, workers=1), write_all(data, side_by_side, workers=2)
    assert [(r.department, r.applications, r.ledger_yuan) for r in one] == [
        (r.department, r.applications, r.ledger_yuan) for r in two
    ]
    assert {r.path.parent for r in two} == {side_by_side}
    for department in DEPARTMENTS:
        a = CalamineWorkbook.from_path(str(alone / f"{department}.xlsx"))
        b = CalamineWorkbook.from_path(str(side_by_side / f"{department}.xlsx"))
        assert a.sheet_names == b.sheet_names
        for sheet in a.sheet_names:
            assert a.get_sheet_by_name(sheet).to_python() == b.get_sheet_by_name(sheet).to_python(), sheet


def test_a_ledger_entry_is_counted_under_its_applications_city_else_its_enterprises(nightly: Nightly):
    from pipelines.report_queries import entries

    nightly.run()
    engine = nightly.engine()
    booked = nightly.rows("SELECT application_id, credit_code FROM award_ledger ORDER BY entry_id")
    city = {
        r["application_id"]: r["league_city"]
        for r in nightly.rows("SELECT application_id, league_city FROM application_decisions")
    }
    assert [e.city for e in entries(engine)] == [city[b["application_id"]] for b in booked]
    # An application whose decision row is gone, and one decided with no 盟市: the enterprise's (any other
    # decision of it that has one) is used.
    gone, blank = booked[0], next(b for b in booked[1:] if b["credit_code"] == booked[0]["credit_code"])
    with engine.begin() as conn:
        conn.execute(
            text("DELETE FROM application_decisions WHERE application_id = :a"), {"a": gone["application_id"]}
        )
        conn.execute(
            text("UPDATE application_decisions SET league_city = '' WHERE application_id = :a"),
            {"a": blank["application_id"]},
        )
    enterprise_city = nightly.scalar(
        "SELECT MIN(league_city) FROM application_decisions WHERE credit_code = :c AND league_city <> ''",
        c=gone["credit_code"],
    )
    cities = [e.city for e in entries(engine)]
    assert enterprise_city and cities[0] == enterprise_city == cities[booked.index(blank)]
