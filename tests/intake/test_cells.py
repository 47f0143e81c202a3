"""Cell parsers, property-based: whatever way an operator types a valid value, the same value comes out."""

import unicodedata
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelines.cells import EARLIEST, LATEST, CellError, parse_bool, parse_cell, parse_date, parse_decimal
from schemas import credit_code
from schemas.sheets import SHEETS, Column

FULL_WIDTH = str.maketrans("0123456789,.-/", "０１２３４５６７８９，．－／")
spaces = st.sampled_from(["", " ", "  ", "\u3000", "\t"])
plausible_dates = st.dates(min_value=EARLIEST, max_value=LATEST)


def _thousands(value: Decimal) -> str:
    sign = "-" if value < 0 else ""
    whole, _, fraction = f"{abs(value):f}".partition(".")
    grouped = f"{int(whole):,}"
    return sign + grouped + (f".{fraction}" if fraction else "")


@given(plausible_dates, st.sampled_from(["{y}-{m:02d}-{d:02d}", "{y}/{m}/{d}", "{y}年{m}月{d}日", "{y}.{m}.{d}"]),
       st.booleans(), spaces, spaces)  # fmt: skip
def test_a_date_typed_in_any_accepted_form_reads_as_that_date(
    day: date, form: str, wide: bool, lead: str, tail: str
):
    text = form.format(y=day.year, m=day.month, d=day.day)
    if wide:
        text = text.translate(FULL_WIDTH)
    assert parse_date(lead + text + tail, "申报日期") == day


@given(plausible_dates)
def test_an_excel_date_cell_and_its_bare_serial_number_read_as_the_same_date(day: date):
    serial = (day - date(1899, 12, 30)).days
    assert parse_date(serial, "申报日期") == parse_date(day, "申报日期") == day


@given(st.dates(max_value=date(1989, 12, 31)) | st.dates(min_value=date(2061, 1, 1)))
def test_a_date_outside_the_plausible_years_is_sent_back(day: date):
    with pytest.raises(CellError) as error:
        parse_date(day.isoformat(), "竣工日期")
    assert error.value.code == "DATE_IMPLAUSIBLE" and "竣工日期" in error.value.message


@pytest.mark.parametrize("text", ["1900-01-01", "2099-12-31", "1900/1/1", "2099年1月1日"])
def test_the_years_1900_and_2099_are_both_rejected(text: str):
    with pytest.raises(CellError, match="不在合理范围"):
        parse_date(text, "申报日期")


@pytest.mark.parametrize(("text", "code"), [("2025-02-30", "DATE_INVALID"), ("去年六月", "DATE_FORMAT"),
                                            ("30/06/2025", "DATE_FORMAT"), (45838.5, "DATE_FORMAT")])  # fmt: skip
def test_a_text_that_is_not_a_date_says_which_forms_are_accepted(text: object, code: str):
    with pytest.raises(CellError) as error:
        parse_date(text, "申报日期")
    assert error.value.code == code


@given(st.decimals(min_value=-(10**12), max_value=10**12, places=4, allow_nan=False, allow_infinity=False),
       st.booleans(), st.booleans(), spaces)  # fmt: skip
def test_a_decimal_typed_with_separators_or_full_width_digits_is_read_exactly(
    value: Decimal, grouped: bool, wide: bool, pad: str
):
    text = _thousands(value) if grouped else f"{value:f}"
    if wide:
        text = text.translate(FULL_WIDTH)
    parsed = parse_decimal(pad + text + pad, "项目总投资(万元)")
    assert parsed == value and isinstance(parsed, Decimal)


@given(st.decimals(min_value=0, max_value=10**9, places=3, allow_nan=False))
def test_a_numeric_excel_cell_reads_as_the_decimal_excel_displays(value: Decimal):
    # Excel keeps the double nearest to what was typed; the reader gives back the typed decimal, not the double.
    assert parse_decimal(float(value), "设备投资额(万元)") == value


def test_a_numeric_cell_never_becomes_a_binary_fraction():
    assert parse_decimal(1200.005, "设备投资额(万元)") == Decimal("1200.005")
    assert parse_decimal(0.1, "年利率(%)") == Decimal("0.1")


@pytest.mark.parametrize(
    "text", ["一千万", "2000万元", "1,2,3", "12,34", "1.2.3", "¥100", "(100)", "NaN", "1e5", ""]
)
def test_text_that_is_not_a_plain_number_is_sent_back(text: str):
    with pytest.raises(CellError) as error:
        parse_decimal(text, "项目总投资(万元)")
    assert error.value.code == "NUMBER_FORMAT" and "项目总投资(万元)" in error.value.message


@given(st.sampled_from(["是", "否", "Y", "n", "TRUE", "false", "√", "×"]), spaces, spaces)
def test_yes_and_no_read_as_booleans_in_any_of_their_spellings(text: str, lead: str, tail: str):
    assert parse_bool(lead + text + tail, "符合规范条件") is (text.lower() in {"是", "y", "true", "√"})


# (normalised as the reader normalises every cell, NFKC: a superscript "¹" is the "1" that means yes)
@given(st.text(min_size=1, max_size=6).filter(lambda t: unicodedata.normalize("NFKC", t).strip().lower() not in
       {"是", "否", "y", "n", "yes", "no", "true", "false", "1", "0", "t", "f", "√", "×", "✓", "✗"}))  # fmt: skip
def test_anything_else_in_a_yes_no_column_asks_for_yes_or_no(text: str):
    with pytest.raises(CellError) as error:
        parse_bool(text, "符合规范条件")
    assert error.value.code == "BOOL_FORMAT" and "“是”或“否”" in error.value.message


ENUM_COLUMNS = [c for s in SHEETS for c in s.columns if c.kind == "enum"]


@given(st.sampled_from(ENUM_COLUMNS).flatmap(lambda c: st.tuples(st.just(c), st.sampled_from(sorted(c.enum or {})))),
       st.booleans(), spaces)  # fmt: skip
def test_an_enumeration_reads_the_same_from_its_chinese_label_or_its_key(
    pick: tuple[Column, str], by_label: bool, pad: str
):
    column, key = pick
    typed = (column.enum or {})[key] if by_label else key.upper()
    assert parse_cell(pad + typed + pad, column) == key


def test_an_unknown_enumeration_value_lists_the_choices():
    column = next(c for c in ENUM_COLUMNS if c.key == "role")
    with pytest.raises(CellError) as error:
        parse_cell("牵头", column)
    assert error.value.code == "ENUM_VALUE" and "主导、参与" in error.value.message


divisions = st.sampled_from(["150100", "150200", "150600", "152900"])
serials = st.integers(min_value=0, max_value=99_999_999)


@given(divisions, serials)
def test_a_code_built_to_gb_32100_in_the_region_is_valid(division: str, serial: int):
    assert credit_code.problem(credit_code.make(division, serial)) is None


@given(divisions, serials, st.integers(min_value=0, max_value=17), st.sampled_from(credit_code.CHARSET))
def test_any_single_mistyped_character_of_a_credit_code_is_caught(
    division: str, serial: int, at: int, char: str
):
    code = credit_code.make(division, serial)
    typo = code[:at] + char + code[at + 1 :]
    if typo != code:
        assert credit_code.problem(typo) is not None


@given(serials)
def test_a_valid_code_registered_outside_inner_mongolia_is_rejected_for_its_region(serial: int):
    problem = credit_code.problem(credit_code.make("110108", serial))
    assert problem is not None and problem[0] == "CREDIT_CODE_REGION"


def test_a_wrong_organisation_code_inside_a_credit_code_is_named_as_such():
    code = credit_code.make("150200", 12345678)
    body = code[:16] + ("0" if code[16] != "0" else "1")  # break the GB 11714 check digit of positions 9-17
    fixed = body + credit_code.check_digit(body)  # ... and repair the GB 32100 one, so only GB 11714 fails
    problem = credit_code.problem(fixed)
    assert problem is not None and problem[0] == "CREDIT_CODE_ORG_CHECK"


def test_a_credit_code_excel_stored_as_a_number_is_sent_back_as_such():
    column = next(c for s in SHEETS for c in s.columns if c.kind == "credit_code")
    with pytest.raises(CellError) as error:
        parse_cell(9.11502009e17, column)
    assert error.value.code == "CREDIT_CODE_AS_NUMBER" and "911502009000000000" in error.value.message
