"""The cyclic garbage collector, paused while a night decides and books (pipelines/collector.py)."""

import gc

import pytest

from pipelines.collector import collector_paused


def test_the_collector_is_paused_inside_and_as_it_was_afterwards_also_when_the_block_fails():
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("booking refused")
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()  # left off by whoever turned it off
    finally:
        gc.enable()
