"""The defects batch of the sample inbox yields exactly the rejections listed here, and loses no row."""

from functools import cache
from pathlib import Path

from pipelines.intake import merge, read_batch
from pipelines.settings import SAMPLE_INBOX
from samples import defects
from samples.build import SAMPLE_FILE

A, E, L = "applications", "enterprises", "loans"
EXPECTED = sorted([
    ("workbook", None, None, "UNKNOWN_SHEET"),
    (E, 3, "统一社会信用代码", "CREDIT_CODE_CHECKSUM"),
    (E, 4, "统一社会信用代码", "CREDIT_CODE_REGION"),
    (E, 5, "所属盟市", "ENUM_VALUE"),
    (E, 7, "企业名称", "REQUIRED"),
    (A, 2, "申报编号", "DUPLICATE_IN_BATCH"),
    (A, 3, "申报编号", "DUPLICATE_IN_BATCH"),
    (A, 4, "统一社会信用代码", "ENTERPRISE_UNKNOWN"),
    (A, 5, "申报日期", "DATE_IMPLAUSIBLE"),
    (A, 6, "竣工日期", "DATE_IMPLAUSIBLE"),
    (A, 7, "项目总投资(万元)", "NUMBER_FORMAT"),
    (A, 8, "项目总投资(万元)", "NEGATIVE_VALUE"),
    (A, 8, "设备投资额(万元)", "EQUIPMENT_EXCEEDS_TOTAL"),  # 1,500 against a total of -100
    (A, 9, "设备投资额(万元)", "EQUIPMENT_EXCEEDS_TOTAL"),
    (A, 10, "竣工日期", "COMPLETION_BEFORE_START"),
    (A, 11, "申报类别", "PROGRAM_UNKNOWN"),
    (A, 12, "项目总投资(万元)", "FORMULA_CELL"),
    (A, 13, "项目名称", "MERGED_CELL"),
    (A, 14, "项目名称", "MERGED_CELL"),
    (A, 15, "项目编号", "PROJECT_CODE_REQUIRED"),
    (A, 16, "统一社会信用代码", "ENTERPRISE_REJECTED"),
    (A, 17, "统一社会信用代码", "CREDIT_CODE_AS_NUMBER"),
    (L, 2, "申报编号", "DETAIL_UNKNOWN_APPLICATION"),
    (L, 3, "年利率(%)", "OUT_OF_RANGE"),
    (L, 3, "申报编号", "APPLICATION_REJECTED"),
    (L, 4, "还款日期", "REPAID_BEFORE_DRAWDOWN"),
    (L, 4, "申报编号", "APPLICATION_REJECTED"),
    ("recognitions", 2, "认定类型", "ENUM_VALUE"),
    ("recognitions", 2, "申报编号", "APPLICATION_REJECTED"),
    ("ip_assets", 1, "备注", "UNKNOWN_COLUMN"),
    ("ip_assets", 2, "申报编号", "APPLICATION_REJECTED"),
    ("gate_metrics", 2, "可再生能源比例(%)", "OUT_OF_RANGE"),
    ("gate_metrics", 2, "符合规范条件", "BOOL_FORMAT"),
    ("gate_metrics", 2, "申报编号", "APPLICATION_REJECTED"),
    ("savings_claims", 2, "基期结束", "BASELINE_NOT_12_MONTHS"),
    ("savings_claims", 2, "申报编号", "APPLICATION_REJECTED"),
], key=str)  # fmt: skip


@cache
def _intake(folder: Path):
    return merge([read_batch(folder / SAMPLE_FILE), read_batch(folder / defects.DEFECTS_FILE)])


def test_the_bundled_defects_batch_is_rejected_exactly_as_listed():
    subs = _intake(SAMPLE_INBOX)
    got = sorted(
        (
            (r.sheet, r.row_number, r.column, r.code)
            for r in subs.rejections
            if r.file == defects.DEFECTS_FILE
        ),
        key=str,
    )
    assert got == EXPECTED


def test_every_row_of_the_defects_batch_is_accounted_for_and_none_of_its_applications_is_evaluated():
    subs = _intake(SAMPLE_INBOX)
    counts = {c.sheet: c for c in subs.counts if c.file == defects.DEFECTS_FILE}
    assert {k: (c.received, c.accepted, c.rejected) for k, c in counts.items()} == {
        "enterprises": (5, 1, 4),  # the row of stray spaces is blank, not received
        "applications": (16, 0, 16),
        "loans": (3, 0, 3),
        "recognitions": (1, 0, 1),
        "ip_assets": (1, 0, 1),
        "savings_claims": (1, 0, 1),
        "gate_metrics": (1, 0, 1),
    }
    assert not any(a.startswith("DEF-") for a in subs.frames["applications"]["application_id"])
    assert list(subs.frames["enterprises"]["credit_code"]).count(defects.GOOD) == 1


def test_every_rejection_tells_the_operator_in_chinese_what_to_fix():
    subs = _intake(SAMPLE_INBOX)
    for r in subs.rejections:
        assert any("\u4e00" <= ch <= "\u9fff" for ch in r.message), r
        assert r.code.isupper() and " " not in r.code


def test_the_generator_reproduces_the_bundled_defects_batch(tmp_path: Path):
    defects.build(tmp_path)
    fresh = read_batch(tmp_path / defects.DEFECTS_FILE)
    bundled = read_batch(SAMPLE_INBOX / defects.DEFECTS_FILE)
    assert fresh.rejections == bundled.rejections
    assert fresh.received_rows == bundled.received_rows
