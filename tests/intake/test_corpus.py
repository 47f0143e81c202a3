"""A corpus of defective files, each generated here, each with the rejections it must produce.

None may crash the intake, and no row may vanish: for every file and sheet, accepted + rejected = received.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path

from openpyxl import Workbook

from pipelines import applications as building
from pipelines.intake import Submissions, merge, read_batch
from rules.engine import decide_all
from rules.parameters import Parameters
from schemas.sheets import APPLICATIONS
from tests.intake.conftest import CODE, valid_sheets

Write = Callable[..., Path]
FILES = Path(__file__).parent / "files"


def _intake(*paths: Path) -> Submissions:
    subs = merge([read_batch(p) for p in paths])
    for c in subs.counts:
        assert c.accepted + c.rejected == c.received, c
    return subs


def _found(subs: Submissions) -> set[tuple[object, ...]]:
    return {(r.sheet, r.row_number, r.column, r.code) for r in subs.rejections}


def test_the_applications_are_built_from_the_rows_pandas_holds_value_for_value(write: Write):
    # `build` reads the sheet frames column by column (pipelines/applications.py), not through `to_dict`.
    subs = _intake(write())
    for key, frame in subs.frames.items():
        ours, pandas = building._records(frame), frame.to_dict("records")
        assert ours == pandas, key
        assert [{k: type(v) for k, v in r.items()} for r in ours] == [
            {k: type(v) for k, v in r.items()} for r in pandas
        ], key
    assert len(building.build(subs)) == len(subs.frames["applications"]) > 0


def test_a_clean_batch_is_accepted_whole_with_exact_amounts(write: Write):
    subs = _intake(write())
    assert subs.rejections == []
    apps = {a.application_id: a for a in building.build(subs)}
    interest = apps["T-INT-1"]
    assert interest.total_investment == Decimal("520000000")  # "52,000" 万元
    assert interest.reference_price_yuan_per_t == Decimal("19000")  # full-width "１９,０００"
    assert interest.construction_start == date(2024, 11, 1)  # "2024年11月1日"
    assert interest.loans[0].annual_rate_pct == Decimal("3.85") and interest.intake_problems == ()
    assert apps["T-STD-1"].program == "STANDARD_SETTING"  # typed as its Chinese name


def test_a_truncated_workbook_is_reported_not_crashed_on(write: Write):
    path = write()
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    subs = _intake(path)
    assert _found(subs) == {("workbook", None, None, "FILE_UNREADABLE")}
    assert "另存为 .xlsx" in subs.rejections[0].message


def test_a_text_file_renamed_to_xlsx_and_an_empty_file_are_reported(tmp_path: Path):
    renamed = tmp_path / "2026-04-01-改名.xlsx"
    renamed.write_text("申报编号,统一社会信用代码\nA-1,x\n", encoding="utf-8")
    empty = tmp_path / "2026-04-02-空.xlsx"
    empty.write_bytes(b"")
    subs = _intake(renamed, empty)
    assert [(r.file, r.code) for r in subs.rejections] == [
        (renamed.name, "FILE_UNREADABLE"),
        (empty.name, "FILE_UNREADABLE"),
    ]


def test_a_password_protected_workbook_and_an_old_xls_renamed_are_told_what_to_do(tmp_path: Path):
    # Real files (tests/intake/files/README.md): neither is a zip, and "save it again as .xlsx" would not help
    # the sender of the first, whose Excel saves it encrypted again.
    protected = Path(shutil.copy(FILES / "password-protected.xlsx", tmp_path / "2026-04-01-加密.xlsx"))
    renamed = Path(shutil.copy(FILES / "old-format.xls", tmp_path / "2026-04-02-旧版.xlsx"))
    subs = _intake(protected, renamed)
    assert [(r.file, r.sheet, r.code) for r in subs.rejections] == [
        (protected.name, "workbook", "FILE_UNREADABLE"),
        (renamed.name, "workbook", "FILE_UNREADABLE"),
    ]
    encrypted, old = (r.message for r in subs.rejections)
    assert "设有打开密码" in encrypted and "取消密码" in encrypted
    assert "旧版 Excel（.xls）" in old and "另存为" in old


def test_a_csv_sheet_that_does_not_parse_is_refused_with_its_line_and_the_other_sheets_are_read(
    tmp_path: Path,
):
    # an unclosed quote runs the rest of the file into one field, past the csv module's limit: the intake used to
    # fail on the whole batch and call it its own error (FILE_NOT_PROCESSED)
    folder = tmp_path / "2026-04-01-包头市"
    folder.mkdir()
    rows = "".join(f"T-{i},{CODE},标准研制奖励,,2026-01-10\n" for i in range(20_000))
    (folder / "applications.csv").write_text(
        "application_id,credit_code,program,project_code,submitted_on\n"
        + f'T-0,{CODE},"标准研制奖励\n'
        + rows,
        encoding="utf-8",
    )
    (folder / "enterprises.csv").write_text(
        f"credit_code,name,league_city\n{CODE},包头示例铝业,包头市\n", encoding="utf-8"
    )
    subs = _intake(folder)
    refused = [r for r in subs.rejections if r.code == "CSV_MALFORMED"]
    assert [(r.sheet, r.row_number) for r in refused] == [("applications", None)]
    assert "第 2 行" in refused[0].message and "双引号" in refused[0].message
    assert len(subs.frames["enterprises"]) == 1


def test_a_workbook_without_any_template_sheet_is_reported(write: Write):
    def rename(wb: Workbook) -> None:
        for i, ws in enumerate(wb.worksheets):
            ws.title = f"Sheet{i + 1}"

    subs = _intake(write(edit=rename))
    assert {r.code for r in subs.rejections} == {"UNKNOWN_SHEET"}
    assert len(subs.rejections) == 4


def test_a_missing_detail_sheet_leaves_its_application_unevaluated_with_the_reason(write: Write):
    sheets = valid_sheets()
    del sheets["loans"]
    subs = _intake(write(sheets=sheets))
    app = next(a for a in building.build(subs) if a.application_id == "T-INT-1")
    assert [code for code, _ in app.intake_problems] == ["MISSING_DETAIL"]
    assert "贷款" in app.intake_problems[0][1]


def test_a_rejected_detail_row_makes_its_application_rejected_with_the_row_named(write: Write):
    sheets = valid_sheets()
    sheets["loans"][0]["principal_wan"] = "-12,000"
    subs = _intake(write(sheets=sheets))
    assert ("loans", 2, "贷款金额(万元)", "NOT_POSITIVE") in _found(subs)
    apps = building.build(subs)
    decision = next(
        d for d in decide_all(apps, date(2026, 11, 24), Parameters.load()) if d.application_id == "T-INT-1"
    )
    assert str(decision.outcome) == "rejected"
    assert decision.conditions[0].code == "DETAIL_REJECTED" and "第 2 行" in decision.conditions[0].message


def test_a_renamed_header_is_named_and_its_required_cells_reported_per_row(write: Write):
    def rename(wb: Workbook) -> None:
        wb["申报"]["F1"] = "提交日期"  # was 申报日期

    subs = _intake(write(edit=rename))
    assert {
        ("applications", 1, "提交日期", "UNKNOWN_COLUMN"),
        ("applications", 1, "申报日期", "MISSING_COLUMN"),
        ("applications", 2, "申报日期", "REQUIRED"),
        ("applications", 3, "申报日期", "REQUIRED"),
    } <= _found(subs)


def test_a_duplicated_header_rejects_every_row_of_its_sheet_and_their_details(write: Write):
    def duplicate(wb: Workbook) -> None:
        wb["申报"]["O1"] = "申报日期"

    subs = _intake(write(edit=duplicate))
    found = _found(subs)
    assert ("applications", 1, "申报日期", "DUPLICATE_COLUMN") in found
    assert {("applications", n, None, "DUPLICATE_COLUMN") for n in (2, 3)} <= found
    assert ("standards", 2, "申报编号", "APPLICATION_REJECTED") in found
    assert ("loans", 2, "申报编号", "APPLICATION_REJECTED") in found
    assert subs.frames["applications"].empty


def test_english_headers_a_title_line_and_blank_rows_read_like_the_template(write: Write):
    def english_with_title(wb: Workbook) -> None:
        ws = wb["申报"]
        for cell in ws[1]:
            cell.value = next(c.key for c in APPLICATIONS.columns if c.header == cell.value)
        ws.insert_rows(1)
        ws["A1"] = "2026 年第一批申报汇总表"
        ws.insert_rows(4)  # a blank line between the two applications

    subs = _intake(write(edit=english_with_title))
    assert subs.rejections == []
    rows = dict(
        zip(subs.frames["applications"]["application_id"], subs.frames["applications"]["_row"], strict=True)
    )
    assert rows == {"T-STD-1": 3, "T-INT-1": 5}  # the row numbers Excel shows


def test_text_in_number_columns_negative_amounts_and_implausible_years_are_all_reported_at_once(write: Write):
    sheets = valid_sheets()
    sheets["applications"][1] |= {"total_investment_wan": "五万二千", "equipment_investment_wan": "-5",
                                  "construction_start": "1900-01-01", "completion_date": "2099-12-31"}  # fmt: skip
    subs = _intake(write(sheets=sheets))
    assert {
        (r.row_number, r.column, r.code, r.value) for r in subs.rejections if r.sheet == "applications"
    } == {
        (3, "项目总投资(万元)", "NUMBER_FORMAT", "五万二千"),
        (3, "设备投资额(万元)", "NEGATIVE_VALUE", "-5"),
        (3, "开工日期", "DATE_IMPLAUSIBLE", "1900-01-01"),
        (3, "竣工日期", "DATE_IMPLAUSIBLE", "2099-12-31"),
    }
    assert ("loans", 2, "申报编号", "APPLICATION_REJECTED") in _found(subs)


def test_a_credit_code_from_outside_the_region_rejects_the_enterprise_and_its_applications(write: Write):
    from schemas.credit_code import make

    outside = make("110108", 20_000_001)
    sheets = valid_sheets()
    sheets["enterprises"][0]["credit_code"] = outside
    sheets["applications"][0]["credit_code"] = outside
    subs = _intake(write(sheets=sheets))
    assert {
        ("enterprises", 2, "统一社会信用代码", "CREDIT_CODE_REGION"),
        ("applications", 2, "统一社会信用代码", "CREDIT_CODE_REGION"),
        ("standards", 2, "申报编号", "APPLICATION_REJECTED"),
    } == _found(subs)


def test_duplicated_application_ids_and_details_of_unknown_applications_are_rejected(write: Write):
    sheets = valid_sheets()
    sheets["applications"].append(dict(sheets["applications"][0]))
    sheets["loans"].append(dict(sheets["loans"][0], application_id="T-NOPE", loan_contract_no="JK-9"))
    subs = _intake(write(sheets=sheets))
    assert {
        ("applications", 2, "申报编号", "DUPLICATE_IN_BATCH"),
        ("applications", 4, "申报编号", "DUPLICATE_IN_BATCH"),
        ("standards", 2, "申报编号", "APPLICATION_REJECTED"),
        ("loans", 3, "申报编号", "DETAIL_UNKNOWN_APPLICATION"),
    } == _found(subs)
    assert "另见第 4 行" in next(r.message for r in subs.rejections if r.row_number == 2)


def test_a_later_batch_corrects_an_application_whole_with_its_detail_rows(write: Write):
    first = write("2026-04-01-首批.xlsx")
    correction = {
        "applications": [dict(valid_sheets()["applications"][0], submitted_on="2026-04-05")],
        "standards": [{"application_id": "T-STD-1", "standard_code": "GB/T 3190-2025", "standard_level": "国家",
                       "role": "参与", "published_on": "2025/9/1"}],
    }  # fmt: skip
    second = write("2026-04-08-更正.xlsx", sheets=correction)  # its enterprise is in the first batch only
    subs = _intake(second, first)  # applied in file-name order, whatever order they are listed in
    assert subs.rejections == []
    standards = subs.frames["standards"]
    assert list(standards["standard_code"]) == ["GB/T 3190-2025"]
    app = subs.frames["applications"].set_index("application_id").loc["T-STD-1"]
    assert app["_file"] == second.name and app["submitted_on"] == date(2026, 4, 5)


def test_an_enterprise_that_only_appears_in_a_later_batch_is_unknown_to_an_earlier_one(write: Write):
    sheets = valid_sheets()
    enterprises = {"enterprises": sheets.pop("enterprises")}
    early = write("2026-04-01-申报.xlsx", sheets=sheets)
    late = write("2026-04-02-企业.xlsx", sheets=enterprises)
    subs = _intake(early, late)
    assert ("applications", 2, "统一社会信用代码", "ENTERPRISE_UNKNOWN") in _found(subs)
    assert CODE in set(subs.frames["enterprises"]["credit_code"])
