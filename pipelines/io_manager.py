"""The code location's IO manager: Dagster's pickle files, and within one process the object itself.

Every asset value is pickled to `<DAGSTER_HOME>/storage/<asset>` as with Dagster's default, so a later run (an
operator materialising one asset from the UI, a run in another process) loads it from there. Within the process
that wrote it, a step loads the object it was written from instead of unpickling the file again: `nightly_awards`
runs in one process, and `submissions` (12,000 applications: some 4 MB) is read by eight steps a night.

The object is handed out only while the file is still the one written from it (same inode, size and mtime), and
consumers must not mutate what they load (tests/ops/test_io_manager.py runs the night and compares every value
held with its file).
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any

import dagster as dg
from dagster._core.storage.fs_io_manager import PickledObjectFilesystemIOManager

if TYPE_CHECKING:
    from upath import UPath

# path -> (the file's identity when written, the object written to it); one value per asset, the latest
_HELD: dict[str, tuple[tuple[int, int, int], Any]] = {}
_LOCK = threading.Lock()


def _identity(path: UPath | str) -> tuple[int, int, int] | None:
    try:
        st = os.stat(str(path))
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


class HeldPickles(PickledObjectFilesystemIOManager):
    def dump_to_path(self, context: dg.OutputContext, obj: Any, path: UPath) -> None:
        super().dump_to_path(context, obj, path)
        identity = _identity(path)
        with _LOCK:
            # a value whose file has gone or been rewritten since (another run, a test's instance) is let go
            for stale in [p for p, (was, _) in _HELD.items() if p != str(path) and _identity(p) != was]:
                del _HELD[stale]
            if identity is None:
                _HELD.pop(str(path), None)
            else:
                _HELD[str(path)] = (identity, obj)

    def load_from_path(self, context: dg.InputContext, path: UPath) -> Any:
        with _LOCK:
            held = _HELD.get(str(path))
        if held is not None and held[0] == _identity(path):
            return held[1]
        return super().load_from_path(context, path)


class PickleIOManager(dg.FilesystemIOManager):
    """`dg.FilesystemIOManager` (same files, same base directory) whose values are also held in the process."""

    @classmethod
    def _is_dagster_maintained(cls) -> bool:
        # Inherited as True from FilesystemIOManager; the code location's snapshot (and telemetry) should list ours
        # as our own code, not as a Dagster-maintained resource.
        return False

    def create_io_manager(self, context: dg.InitResourceContext) -> HeldPickles:
        base_dir = self.base_dir or context.instance.storage_directory()  # type: ignore[union-attr]
        return HeldPickles(base_dir=base_dir)


def held_values() -> dict[str, Any]:
    """What this process holds, by file path (for the test that no consumer mutates a value)."""
    with _LOCK:
        return {path: obj for path, (_, obj) in _HELD.items()}
