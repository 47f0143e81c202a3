"""Nights that grow with new data only: an empty night, the first night over 12,000 applications, and a night
with nothing new on top of it, side by side, repeated (issue 13.16; goals: nothing-new <= 1.5x empty, first
<= 3x empty). The night with nothing new is the next night (ALU_AS_OF one day later, as the schedule runs it:
new report folders; the decisions kept when nothing they depend on changed, pipelines/decision_basis.py, and the
reports' large tables written from the rows the first night kept, pipelines/row_cache.py); a re-run of the same
night is printed beside it. Every night
runs with Python's bytecode cached, as deployed (the session's PYTHONDONTWRITEBYTECODE is dropped): otherwise each
night compiles Dagster, pandas and ours again, which adds some 15 s to every night and flatters the ratios.

    .venv/bin/python benchmarks/nights.py [--applications 12000] [--repeat 3] [--steps] [--profile]

Each night is what the schedule starts: `dagster job execute -m pipelines.definitions -j nightly_awards` in a new
process, on a SQLite ledger and a temporary DAGSTER_HOME of its round that an untimed empty night the day before
has installed (created Dagster's storage and the ledger's tables), as every night but a deployment's first finds
them. The empty night and the first night have a home and ledger each. The inbox is the bundled sample's main batch
copied over and over (new application ids, project, standard and IP codes), 1,000 applications per workbook,
plus the sample's metering export. Each night's CPU seconds (user + system, its forked writers included) are
printed too, and their ratio beside the wall ratios, to tell a round slowed by the machine from one doing more
work; on 2026-12-06 it moved with the wall ratio (that VM's contention slowed the work itself, not only the wait).
`--steps` also prints each step's median time in the empty night and in the next night, largest difference first
(Dagster's step stats), and their sum per 1,000 unchanged applications. `--profile` also runs one nothing-new
night under cProfile and prints the top functions by cumulative time. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import cProfile
import logging
import os
import pstats
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipelines.settings import SAMPLE_INBOX
from samples.build import sample_sheets
from samples.workbook import write_batch

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
METERING = "2026-01-05-能耗在线监测.csv"
PER_FILE = 1000
INSTALLED, AS_OF, NEXT_NIGHT = "2026-11-23", "2026-11-24", "2026-11-25"  # an untimed empty night first
CODES = (
    "application_id",
    "project_code",
    "standard_code",
    "ip_number",
    "loan_contract_no",
    "paired_project_code",
)


def build_inbox(folder: Path, applications: int) -> int:
    """Copies of the sample's batch, every code made unique per copy; returns the applications written."""
    folder.mkdir(parents=True)
    shutil.copy(SAMPLE_INBOX / METERING, folder / METERING)
    sheets = sample_sheets()
    per_copy = len(sheets["applications"])
    copies = max(1, applications // per_copy)
    batch: dict[str, list[dict[str, object]]] = {k: [] for k in sheets}
    written = file_no = 0

    def flush() -> None:
        nonlocal batch, file_no
        if batch["applications"]:
            file_no += 1
            write_batch(folder / f"2026-04-{file_no:02d}-基准.xlsx", batch)
            batch = {k: [] for k in sheets}

    for copy in range(copies):
        for key, rows in sheets.items():
            if key == "enterprises":
                if not batch[key]:
                    batch[key] = [dict(r) for r in rows]
                continue
            for row in rows:
                batch[key].append(
                    {
                        k: (f"{v}-B{copy:04d}" if k in CODES and v not in (None, "") else v)
                        for k, v in row.items()
                    }
                )
        written += per_copy
        if len(batch["applications"]) >= PER_FILE:
            flush()
    flush()
    return written


class Night(NamedTuple):
    wall: float  # seconds, what the goals are about
    cpu: float  # user + system seconds of the night's processes (forked writers included)


def night(home: Path, env: dict[str, str], as_of: str = AS_OF) -> Night:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        [str(BIN / "dagster"), "job", "execute", "-m", "pipelines.definitions", "-j", "nightly_awards",
         "-c", "pipelines/run_config/quiet.yaml"],
        cwd=ROOT, env=env | {"DAGSTER_HOME": str(home), "ALU_AS_OF": as_of}, check=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    wall = time.perf_counter() - start
    now = resource.getrusage(resource.RUSAGE_CHILDREN)
    return Night(wall, now.ru_utime - used.ru_utime + now.ru_stime - used.ru_stime)


def decided(home: Path) -> str:
    """How the latest night in `home` decided: `kept` (nothing new) or `in full` (pipelines/decision_basis.py)."""
    import dagster as dg

    with dg.DagsterInstance.from_config(str(home)) as instance:
        event = instance.get_latest_materialization_event(dg.AssetKey("application_decisions"))
    assert event is not None and event.asset_materialization is not None
    return str(event.asset_materialization.metadata["decided"].value)


def step_seconds(home: Path) -> dict[str, float]:
    """Each step of the latest night in `home` and how long it took (Dagster's step stats)."""
    import dagster as dg

    with dg.DagsterInstance.from_config(str(home)) as instance:
        (run,) = instance.get_runs(limit=1)
        return {
            s.step_key: (s.end_time or 0) - (s.start_time or 0)
            for s in instance.get_run_step_stats(run.run_id)
        }


def print_steps(
    empty: list[dict[str, float]], nothing_new: list[dict[str, float]], applications: int
) -> None:
    """Where a night with nothing new spends its time beyond an empty night: each step's median over the rounds."""

    def median(rounds: list[dict[str, float]], step: str) -> float:
        return statistics.median(r.get(step, 0.0) for r in rounds)

    steps = {k for r in nothing_new for k in r}
    extra = {k: median(nothing_new, k) - median(empty, k) for k in steps}
    print(f"\n{'step (medians over the rounds)':<58} {'empty s':>8} {'next s':>8} {'extra s':>8}")
    for step in sorted(steps, key=lambda k: -extra[k]):
        if extra[step] >= 0.01:
            print(
                f"{step:<58} {median(empty, step):>8.2f} {median(nothing_new, step):>8.2f} {extra[step]:>8.2f}"
            )
    print(f"{'all steps':<58} {'':>8} {'':>8} {sum(extra.values()):>8.2f}")
    # the same as a slope: what each 1,000 applications that did not change cost a night in step time
    print(f"{'all steps per 1,000 unchanged applications':<58} {'':>8} {'':>8} "
          f"{sum(extra.values()) / (applications / 1000):>8.2f}")  # fmt: skip


def _cached_bytecode() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def environment(work: Path, inbox: Path) -> dict[str, str]:
    home = work / "home"
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    return _cached_bytecode() | {
        "ALU_INBOX_DIR": str(inbox),
        "ALU_DATABASE_URL": f"sqlite:///{work / 'ledger.sqlite'}",
        "ALU_REPORTS_DIR": str(work / "reports"),
        "ALU_AS_OF": AS_OF,
    }


def profile_nothing_new(work: Path, inbox: Path) -> None:
    """One nothing-new night in this process under cProfile (the imports are paid before it starts)."""
    import dagster as dg

    import assets as asset_package
    from pipelines.defs.resources import resources_from_env

    env = environment(work, inbox)
    os.environ.update(env)
    everything = [
        *dg.load_assets_from_package_module(asset_package),
        *dg.load_asset_checks_from_package_module(asset_package),
    ]
    with dg.instance_for_test() as instance:
        dg.materialize(everything, resources=resources_from_env(), instance=instance)  # the first night
        profiler = cProfile.Profile()
        start = time.perf_counter()
        profiler.enable()
        dg.materialize(everything, resources=resources_from_env(), instance=instance)
        profiler.disable()
        print(f"\nnothing-new night in process: {time.perf_counter() - start:.1f} s (under cProfile)")
        print("the project's functions by cumulative time:")
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(r"/(assets|pipelines|rules|schemas)/", 30)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--applications", type=int, default=12_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument(
        "--steps", action="store_true", help="also print each step's time, empty against next night"
    )
    args = parser.parse_args()
    logging.disable(logging.INFO)  # the in-process profile run's DEBUG log
    subprocess.run(  # the bytecode the nights import, compiled before the first one is timed
        [sys.executable, "-m", "compileall", "-q", str(ROOT / "pipelines"), str(ROOT / "assets"),
         str(ROOT / "rules"), str(ROOT / "schemas"), str(BIN.parent / "lib")],
        env=_cached_bytecode(), stdout=subprocess.DEVNULL, check=False,
    )  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="alu-nights-") as tmp:
        tmp_path = Path(tmp)
        full = tmp_path / "inbox"
        count = build_inbox(full, args.applications)
        empty = tmp_path / "empty_inbox"
        empty.mkdir()
        print(f"{count} applications in {len(list(full.glob('*.xlsx')))} workbooks + 1 metering export")
        print(
            f"{'round':>5} {'empty s':>8} {'first s':>8} {'next night s':>13} {'re-run s':>9}"
            f" {'first/empty':>12} {'next night/empty':>17} {'re-run/empty':>13} {'CPU: next/empty':>16}"
        )
        ratios: list[tuple[float, float, float]] = []
        cpu_ratios: list[float] = []
        empty_steps: list[dict[str, float]] = []
        next_steps: list[dict[str, float]] = []
        for i in range(1, args.repeat + 1):
            work = tmp_path / f"round{i}"
            # Each night runs on an installed system: Dagster's storage and the ledger's tables exist already, as
            # on every night but a deployment's very first (which also creates them, some 0.3 s more).
            for kind in ("empty", "full"):
                night(work / kind / "home", environment(work / kind, empty), INSTALLED)
            e = night(work / "empty" / "home", environment(work / "empty", empty))
            env = environment(work / "full", full)
            f = night(work / "full" / "home", env)
            n = night(work / "full" / "home", env, NEXT_NIGHT)
            how = decided(work / "full" / "home")
            if args.steps:  # read between the timed nights
                empty_steps.append(step_seconds(work / "empty" / "home"))
                next_steps.append(step_seconds(work / "full" / "home"))
            r = night(work / "full" / "home", env, NEXT_NIGHT)
            ratios.append((f.wall / e.wall, n.wall / e.wall, r.wall / e.wall))
            cpu_ratios.append(n.cpu / e.cpu)
            print(
                f"{i:>5} {e.wall:>8.1f} {f.wall:>8.1f} {n.wall:>13.1f} {r.wall:>9.1f} {f.wall / e.wall:>12.2f}"
                f" {n.wall / e.wall:>17.2f} {r.wall / e.wall:>13.2f} {n.cpu / e.cpu:>16.2f}"
                f"   next night's decisions: {how}"
            )
        if ratios:
            firsts, nexts, reruns = zip(*ratios, strict=True)
            print(
                f"first/empty {min(firsts):.2f}–{max(firsts):.2f} (goal <= 3); "
                f"next night with nothing new/empty {min(nexts):.2f}–{max(nexts):.2f} (goal <= 1.5); "
                f"same-night re-run/empty {min(reruns):.2f}–{max(reruns):.2f}; "
                f"CPU seconds, next night/empty {min(cpu_ratios):.2f}–{max(cpu_ratios):.2f}"
            )
        if args.steps:
            print_steps(empty_steps, next_steps, count)
        if args.profile:
            profile_nothing_new(tmp_path / "profile", full)


if __name__ == "__main__":
    main()
