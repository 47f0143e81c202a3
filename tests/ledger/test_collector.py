"""The cyclic garbage collector: the loaded code location frozen, and the collector paused while a night decides
and books (pipelines/collector.py)."""

import gc
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.collector import collector_paused

ROOT = Path(__file__).resolve().parents[2]


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


def test_the_loaded_code_location_is_frozen_out_of_the_collectors_walks():
    # a fresh interpreter: this one's heap may have been frozen by whatever imported the definitions first
    code = "import gc; before = gc.get_freeze_count(); import pipelines.definitions; print(before, gc.get_freeze_count())"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout.split()
    before, after = map(int, out[-2:])
    assert before == 0
    assert after > 100_000  # the imported libraries' objects, not a handful
