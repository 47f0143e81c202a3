"""Python's cyclic garbage collector: the code location's own heap frozen once loaded, and the collector paused
while a night decides and books.

Loading the code location (Dagster, pandas, SQLAlchemy, pandera, openpyxl, our modules) leaves some 260,000
objects that live as long as the process, and every full collection of a night walked them all again. Frozen,
a night with nothing new over 12,000 applications went from 8.3–8.5 s to 7.3–7.6 s and an empty night from
4.3–4.5 s to 3.7–4.0 s (`dagster job execute`, three each, alternated).
`freeze_loaded` moves them out of the collector's sight (`gc.freeze`); they were never going to be freed anyway.
It also keeps the forked report writers (`pipelines.department_report.write_all`) from touching the pages those
objects share with their parent.

Deciding ~12,000 applications allocates several hundred thousand small objects (conditions, their values, the
decisions' JSON) that hold no reference cycles. The collector nevertheless walks the whole heap again and again
while they pile up, each full pass through every object of the night's submissions: measured on the benchmark
inbox, a third of the deciding time. Paused, nothing is freed any later than it would be by reference counting;
a cycle made meanwhile waits for the next collection, which runs as soon as the block ends.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Run the block with the cyclic garbage collector off; it is on again after it as it was before."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def freeze_loaded() -> None:
    """Everything alive now is never walked by the collector again (`gc.freeze`); call once the code location
    has loaded. What is alive then and dropped later (a module reloaded in the same process) is never collected:
    the code location is loaded once per process (a run, a code server)."""
    gc.collect()  # what import left behind as garbage goes first, so that only live objects are frozen
    gc.freeze()
