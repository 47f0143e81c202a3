"""The IO manager hands a step the object an earlier step of the same process wrote, never a stale or changed one."""

import pickle
from pathlib import Path

import dagster as dg
from upath import UPath

from pipelines.io_manager import HeldPickles, held_values
from tests.conftest import Nightly


def test_no_step_of_the_night_changes_a_value_it_was_handed(nightly: Nightly):
    # Every consumer shares one object; the file holds it as written. A consumer that mutated what it loaded
    # would make the two differ (and would change what the next consumer sees, unlike a load from the file).
    with dg.instance_for_test() as instance:
        assert nightly.run(instance=instance).success
        storage = Path(instance.storage_directory())
        held = {p: v for p, v in held_values().items() if Path(p).parent == storage}
        assert {Path(p).name for p in held} == {"submissions", "metered_savings", "review_determinations"}
        for path, value in held.items():
            # both through one pickle round trip, so objects the step shared between fields compare as copies
            as_held = pickle.dumps(pickle.loads(pickle.dumps(value)))
            assert as_held == pickle.dumps(pickle.loads(Path(path).read_bytes())), path


def test_a_file_rewritten_by_another_process_is_loaded_from_the_file(tmp_path: Path):
    manager = HeldPickles(base_dir=str(tmp_path))
    path = UPath(tmp_path / "submissions")
    mine = {"applications": ["A-1"]}
    manager.dump_to_path(None, mine, path)  # type: ignore[arg-type]
    assert manager.load_from_path(None, path) is mine  # type: ignore[arg-type]
    theirs = {"applications": ["A-1", "A-2"]}
    path.write_bytes(pickle.dumps(theirs))  # another run, in another process
    loaded = manager.load_from_path(None, path)  # type: ignore[arg-type]
    assert loaded == theirs and loaded is not mine
