"""Whatever a department's 审核结论 workbook holds, each row is a determination or a rejection, never an exception.

Determinations for the sample's applications, typed as a department would, are changed at random the way the
submission batches are (`tests.mutations`: hostile cells, headers, rows and sheets). Each
workbook goes through what the night does with it (read, check against the accepted applications, put in force,
decide with it): nothing may raise, and accepted + rejected = received.
"""

from __future__ import annotations

import random
from datetime import date
from pathlib import Path

from openpyxl import Workbook

from pipelines import applications as building
from pipelines.intake import merge, read_batch
from pipelines.reviews import check, read_review_file
from rules.engine import decide_all
from rules.parameters import Parameters
from rules.review import in_force
from samples.build import sample_sheets
from samples.workbook import write_batch
from schemas.sheets import REVIEWS
from tests.mutations import mutate_workbook
from tests.reviews.test_nightly_reviews import HEADERS, approve, reject

AS_OF = date(2026, 11, 24)


def _determinations() -> Workbook:
    """Four good determinations (the unmutated workbook is accepted whole)."""
    wb = Workbook()
    ws = wb.active
    ws.title = REVIEWS.name
    ws.append([REVIEWS.column(k).header for k in HEADERS])
    for row in (approve("ES-003", 2600), reject("ES-001"), approve("STD-001", None),
                approve("ES-003", "2,100.5", reviewed_on="2026年11月21日")):  # fmt: skip
        ws.append([row.get(k) for k in HEADERS])
    return wb


def test_no_mutation_of_a_determinations_workbook_stops_the_night(tmp_path: Path):
    subs = merge([read_batch(write_batch(tmp_path / "2026-03-01-全区.xlsx", sample_sheets()))])
    applications = building.build(subs)
    programs = {a.application_id: a.program for a in applications}
    assert {"ES-003", "ES-001", "STD-001"} <= set(programs)
    good = tmp_path / "审核" / "2026-11-20-工信厅.xlsx"
    good.parent.mkdir()
    _determinations().save(good)
    unmutated = check([read_review_file(good)], programs, AS_OF)
    assert unmutated.rejections == [] and len(unmutated.new) == 4
    parameters = Parameters.load()
    rng = random.Random(20261207)
    seen: set[str] = set()
    applied = 0
    for i in range(60):
        wb = _determinations()
        mutate_workbook(wb, rng, rng.randint(1, 4))
        path = tmp_path / "审核" / f"2026-11-{i % 20 + 1:02d}-工信厅-{i}.xlsx"
        wb.save(path)
        intake = check([read_review_file(path)], programs, AS_OF)
        for c in intake.counts:
            assert c.accepted + c.rejected == c.received, (i, c)
        seen |= {r.code for r in intake.rejections}
        reviews = in_force(d for _, d in intake.new)
        applied += len(reviews)
        decided = decide_all(applications, AS_OF, parameters, reviews=reviews)
        assert len(decided) == len(applications), i
    # the changes bite, and what survives them is still applied
    assert len(seen) >= 8 and applied > 0, (sorted(seen), applied)
