"""Whatever an enterprise's workbook holds, its rows are accepted or rejected and decided, never an exception.

A good batch is changed at random, several changes per workbook, the way senders damage them (`tests.mutations`:
any cell typed over with something hostile — a 30-digit number, a formula, a date in year 9999, full-width
digits, a long text, a date serial, a blank —, a header renamed or blanked, a row duplicated, deleted or pushed
down by a blank one, a sheet removed, renamed or added). Each workbook goes through what the night does
with it (read, merge, build, decide): nothing may raise, and for every sheet accepted + rejected = received.
"""

from __future__ import annotations

import random
from datetime import date
from pathlib import Path

from pipelines import applications as building
from pipelines.intake import merge, read_batch
from rules.engine import decide_all
from rules.parameters import Parameters
from samples.workbook import batch_workbook
from tests.intake.conftest import valid_sheets
from tests.mutations import mutate_workbook


def test_no_mutation_of_a_good_batch_stops_the_night(tmp_path: Path):
    parameters = Parameters.load()
    rng = random.Random(20261206)
    seen: set[str] = set()
    for i in range(60):
        wb = batch_workbook(valid_sheets())
        mutate_workbook(wb, rng, rng.randint(1, 5))
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
