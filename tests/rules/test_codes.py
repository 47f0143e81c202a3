"""One object, one key however it is typed (rules/codes.py), decided by the engine."""

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules.codes import canonical, identity
from rules.decision import Outcome
from rules.model import Standard
from tests.rules.builders import CC, application, codes, decide, one, wan


@pytest.mark.parametrize(
    "typed",
    [
        "ISO 6361-9:2025",
        "ISO6361-9:2025",
        "iso 6361-9:2025",
        "ＩＳＯ　６３６１－９：２０２５",
        "ISO 6361–9:2025",
        "ISO\u200b 6361-9:2025",
    ],
)
def test_every_spelling_of_one_standard_has_one_canonical_form(typed):
    assert canonical(typed) == "ISO6361-9:2025"


@given(st.text())
def test_the_canonical_form_is_its_own_canonical_form(text):
    assert canonical(canonical(text)) == canonical(text)


@given(st.text(alphabet=st.characters(max_codepoint=127)))
def test_an_ascii_code_has_the_canonical_form_of_the_general_way(text):
    # `canonical` answers ASCII codes without NFKC; a full-width É at the end takes the general way, and no
    # ASCII character composes with it, so both ways must agree on the rest.
    assert canonical(text + "é") == canonical(text) + "É"


def test_a_key_booked_with_a_space_is_the_same_object_as_its_canonical_key():
    assert identity(f"STANDARD_SETTING:{CC}:ISO 6361-6:2025") == identity(
        f"STANDARD_SETTING:{CC}:ISO6361-6:2025"
    )
    assert identity("EQUIPMENT_UPGRADE:XM-1") != identity("EQUIPMENT_UPGRADE:XM-2")


def _standard(code: str) -> Standard:
    return Standard(code, "international", "lead", date(2025, 6, 30))


def test_one_application_naming_one_standard_twice_is_paid_for_it_once():
    decision = one(
        application("STANDARD_SETTING", standards=(_standard("ISO 6361-9:2025"), _standard("iso6361-9:2025")))
    )
    assert decision.outcome == Outcome.AWARDED
    assert [a.award_key for a in decision.awards] == [f"STANDARD_SETTING:{CC}:ISO6361-9:2025"]
    assert "DUPLICATE_AWARD_KEY" in codes(decision)


def _equipment(app_id: str, code: str, on: date):
    return application(
        "EQUIPMENT_UPGRADE",
        app_id,
        project_code=code,
        submitted_on=on,
        completion_date=date(2025, 10, 31),
        total_investment=wan("5000"),
        equipment_investment=wan("1000"),
    )


def test_two_applications_typing_one_project_differently_share_one_award():
    first = _equipment("EQ-1", "XM-DUP-2025-01", date(2026, 2, 1))
    second = _equipment("EQ-2", "xm-dup-2025-01", date(2026, 2, 2))
    by_id = {d.application_id: d for d in decide(first, second)}
    assert [a.award_key for a in by_id["EQ-1"].awards] == ["EQUIPMENT_UPGRADE:XM-DUP-2025-01"]
    assert by_id["EQ-2"].outcome == Outcome.REJECTED and "DUPLICATE_AWARD_KEY" in codes(by_id["EQ-2"])
    notes = [c for c in by_id["EQ-2"].conditions if c.code == "CODE_AS_TYPED"]
    assert [(n.values["typed"], n.values["canonical"]) for n in notes] == [
        ("xm-dup-2025-01", "XM-DUP-2025-01")
    ]
