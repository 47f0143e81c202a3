"""The evaluation dates over which a night's decisions hold (rules/evaluation_span.py): a later night reuses
decisions only inside their span, so every day inside a span must decide word for word alike."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from functools import cache

from pipelines import applications as building
from pipelines.intake import merge, read_batch
from pipelines.settings import SAMPLE_INBOX
from rules.engine import decide_all_with_span
from rules.evaluation_span import Span, Watched
from rules.model import Application
from rules.parameters import Parameters


@cache
def _sample_applications() -> tuple[Application, ...]:
    return tuple(building.build(merge([read_batch(p) for p in sorted(SAMPLE_INBOX.glob("*.xlsx"))])))


def test_every_day_inside_a_span_decides_the_sample_word_for_word_as_the_day_that_found_it():
    applications = _sample_applications()
    parameters = Parameters.load()
    first, last = date(2024, 1, 1), date(2027, 12, 31)
    days = [first + timedelta(n) for n in range((last - first).days + 1)]
    decided = [decide_all_with_span(applications, d, parameters) for d in days]
    # changed_before[n]: how many days up to day n decide otherwise than the day before them
    changed_before = [0]
    for n in range(1, len(days)):
        changed_before.append(changed_before[-1] + (decided[n][0] != decided[n - 1][0]))
    assert changed_before[-1] > 3, "the sample's decisions change with its 竣工, 认定 and 报告期 dates"
    longest = 0
    for day, (_, span) in zip(days, decided, strict=True):
        assert day in span
        lo = max(span.first, first) - first
        hi = min(span.last, last) - first
        longest = max(longest, hi.days - lo.days + 1)
        # every day of the span decides as its neighbour does, so as this day does
        assert changed_before[hi.days] == changed_before[lo.days], (day, span)
    # The spans are not all one day: a night with nothing new does get to reuse its decisions.
    assert longest > 60


def test_a_rule_that_reads_the_date_other_than_by_comparing_gets_a_one_day_span():
    for read in (
        lambda d: d.year,
        lambda d: d - date(2026, 1, 1),
        lambda d: d.isoformat(),
        lambda d: f"{d}",
        lambda d: {d: 1},
        lambda d: d + timedelta(1),
    ):
        watched = Watched(date(2026, 11, 24))
        read(watched)
        assert watched.span() == Span(date(2026, 11, 24), date(2026, 11, 24))


def test_comparisons_either_way_round_bound_the_span_on_both_sides():
    watched = Watched(date(2026, 11, 24))
    assert date(2026, 3, 1) <= watched
    assert not watched > date(2027, 1, 10)
    assert watched.span() == Span(date(2026, 3, 1), date(2027, 1, 10))
    assert date(2026, 11, 24) in Span(date(2026, 3, 1), date(2027, 1, 10))
    assert watched < date(2026, 11, 30)
    assert watched.span() == Span(date(2026, 3, 1), date(2026, 11, 29))
    watched == date(2026, 11, 24)  # noqa: B015  (a comparison with the day itself: only that day)
    assert watched.span() == Span(date(2026, 11, 24), date(2026, 11, 24))


def test_a_value_taking_effect_ends_the_span_of_an_application_priced_on_the_evaluation_date():
    # An application without a 申报日期, or dated after the evaluation, is priced with the parameters in force on
    # the evaluation date: a value taking effect on 2027-01-01 must end its span on 2026-12-31.
    parameters = Parameters.load().with_value("equipment_upgrade.rate", "0.10", date(2027, 1, 1), "test")
    (equipment,) = [a for a in _sample_applications() if a.application_id == "EQ-001"]
    for submitted in (None, date(2027, 3, 1)):
        app = replace(equipment, submitted_on=submitted)
        before, span = decide_all_with_span([app], date(2026, 12, 31), parameters)
        after, _ = decide_all_with_span([app], date(2027, 1, 1), parameters)
        assert before[0].amount != after[0].amount, "the new rate applies from 2027-01-01"
        assert span.last == date(2026, 12, 31)
    # Submitted before the evaluation date, it keeps the 申报日期's parameters: the new value does not end its span.
    before, span = decide_all_with_span([equipment], date(2026, 12, 31), parameters)
    assert span.last > date(2027, 1, 1)
    assert decide_all_with_span([equipment], date(2027, 1, 1), parameters)[0] == before
