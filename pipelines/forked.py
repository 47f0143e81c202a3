"""Pure-Python work spread over forked processes, one per core: the first night's workbooks parsed
(`pipelines.submission_intake`), each night's department workbooks written (`pipelines.department_report`)."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_all_start_methods, get_context
from typing import Any, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

# What the forked children read: set just before the pool forks, so each child inherits the work and its items
# (loaded data, open imports) instead of unpickling them; only the results travel back.
_WORK: tuple[Callable[[Any], Any], Sequence[Any]] | None = None


def _run(index: int) -> Any:
    assert _WORK is not None
    work, items = _WORK
    return work(items[index])


def forked_map(
    work: Callable[[Item], Result], items: Sequence[Item], workers: int | None = None
) -> list[Result]:
    """`[work(item) for item in items]`, by up to `workers` forked processes (default: the cores this process may
    use), each taking the next item in the order given (largest first is the caller's to arrange). Without fork,
    with one worker or one item: here, one after another. A child that dies (killed, out of memory) leaves what
    it had not returned to be done here, one by one; an exception `work` raises is raised here."""
    global _WORK
    workers = min(workers or len(os.sched_getaffinity(0)), len(items))
    if workers < 2 or "fork" not in get_all_start_methods():
        return [work(item) for item in items]
    results: dict[int, Result] = {}
    _WORK = (work, items)
    try:
        with ProcessPoolExecutor(workers, mp_context=get_context("fork")) as pool:
            futures = {pool.submit(_run, i): i for i in range(len(items))}
            for future in as_completed(futures):
                results[futures[future]] = future.result()
    except BrokenProcessPool:
        pass
    finally:
        _WORK = None
    return [results[i] if i in results else work(items[i]) for i in range(len(items))]
