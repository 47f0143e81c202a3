"""The metering step as the nightly job runs it, side by side with DuckDB's plain group-by of the same export.

    .venv/bin/python benchmarks/metering.py --file /tmp/year.csv     # an existing export (the issue's: 35M rows)
    .venv/bin/python benchmarks/metering.py --days 30                # generate a smaller one in a temporary folder
    .venv/bin/python -m samples.metering --enterprises 100 --meters 10 --days 365 --step-minutes 15 /tmp/year.csv

Contenders, each in a fresh subprocess (so its peak memory, VmHWM, is its own), repeated `--repeat` times (at
least 3) in turns, and printed as min–max ranges:
- job: `dg.materialize([meter_readings])` over an inbox holding the export, into a fresh SQLite ledger, minus the
  same over an empty inbox (measured in the same subprocess): hash, parse, validate, convert, de-duplicate,
  compare with stored readings, difference counters, aggregate, write every reading to the reading store, and
  book days, months and series;
- duckdb: `SELECT credit_code, meter_id, medium, month, SUM(value), COUNT(*) ... GROUP BY ALL`, nothing else.
Then three nights of one day's export each (96,000 rows), booked into a ledger already holding the export,
against the same day into an empty ledger: a night costs in proportion to its own size, not to stored history.
Prints the machine and its load average at start and end; asserts nothing (goal: job / duckdb <= 1.0, peak
<= 1 GB). The machine is shared: quote the ranges, not the best run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

# run as a script from the project root: the project's packages sit beside this folder
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ROWS_PER_DAY = 100 * 10 * 96


def _peak_mb() -> float:
    status = Path("/proc/self/status").read_text().splitlines()
    return next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) / 1024


def _materialize(inbox: Path, ledger: Path) -> float:
    import dagster as dg

    from assets.metering import meter_readings
    from pipelines.defs.resources import resources_for

    resources = resources_for(str(inbox), f"sqlite:///{ledger}")
    with dg.instance_for_test() as instance:
        started = time.perf_counter()
        assert dg.materialize([meter_readings], resources=resources, instance=instance).success
        return time.perf_counter() - started


def _job(path: str, work: str) -> dict[str, object]:
    """The metering step of the nightly job over the export, minus the same job over an empty inbox."""
    root = Path(work)
    empty, full = root / "empty", root / "full"
    for folder in (empty / "inbox", full / "inbox"):
        folder.mkdir(parents=True)
    os.link(path, full / "inbox" / Path(path).name)  # the export itself, not a copy
    baseline = _materialize(empty / "inbox", empty / "ledger.sqlite")
    seconds = _materialize(full / "inbox", full / "ledger.sqlite")
    stored = sum(p.stat().st_size for p in (full / "readings").rglob("*.parquet"))
    return {"seconds": seconds - baseline, "empty_job_s": baseline, "readings_store_mb": stored / 1e6}


def _duckdb(path: str, work: str) -> dict[str, object]:
    import duckdb

    started = time.perf_counter()
    rows = duckdb.sql(
        f"SELECT credit_code, meter_id, medium, date_trunc('month', timestamp) AS month, SUM(value), COUNT(*) "
        f"FROM read_csv('{path}') GROUP BY ALL"
    ).fetchall()
    return {"seconds": time.perf_counter() - started, "groups": len(rows)}


def _nightly(path: str, work: str) -> dict[str, object]:
    """Three nights, each one day's export, after the whole export is stored; and each same day into an empty
    ledger."""
    from samples.metering import generate

    root = Path(work)
    history = root / "history"
    (history / "inbox").mkdir(parents=True)
    os.link(path, history / "inbox" / "2025.csv")
    _materialize(history / "inbox", history / "ledger.sqlite")
    after, empty = [], []
    for night in range(3):
        day = root / f"day-{night}.csv"
        generate(day, days=1, start=date(2025, 1, 1) + timedelta(days=365 + night))
        os.link(day, history / "inbox" / f"2026-01-0{night + 1}.csv")
        after.append(_materialize(history / "inbox", history / "ledger.sqlite"))
        fresh = root / f"fresh-{night}"
        (fresh / "inbox").mkdir(parents=True)
        os.link(day, fresh / "inbox" / day.name)
        empty.append(_materialize(fresh / "inbox", fresh / "ledger.sqlite"))
    return {"after_history_s": after, "into_empty_ledger_s": empty}


CONTENDERS = {"job": _job, "duckdb": _duckdb, "nightly day": _nightly}


def measure(name: str, path: str) -> None:
    with tempfile.TemporaryDirectory(prefix="metering-bench-", dir=Path(path).parent) as work:
        os.environ["ALU_READINGS_DIR"] = ""  # the reading store beside each ledger
        figures = CONTENDERS[name](path, work)
    print(json.dumps({**figures, "peak_mb": _peak_mb()}))


def _machine() -> str:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        platform.processor(),
    )  # fmt: skip
    mem = next(
        line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if "MemTotal" in line
    )
    return f"{cpu}, {os.cpu_count()} cores, {int(mem) // 1024 // 1024} GB RAM, Python {platform.python_version()}"


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f}"


def _run(name: str, path: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--measure", name, "--file", str(path)],
        check=True,
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _range(values: list[float], unit: str = "s") -> str:
    return f"{min(values):.2f}–{max(values):.2f} {unit}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--file", help="an existing export to read instead of generating one")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-nightly", action="store_true", help="skip the one-day increment")
    parser.add_argument("--measure", choices=sorted(CONTENDERS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(args.measure, args.file)
        return
    repeat = max(3, args.repeat)
    with tempfile.TemporaryDirectory(prefix="metering-export-") as tmp:
        path = Path(args.file) if args.file else Path(tmp) / "export.csv"
        if not args.file:
            command = [sys.executable, "-m", "samples.metering", "--days", str(args.days), str(path)]
            subprocess.run(command, check=True, cwd=Path(__file__).resolve().parent.parent)
        print(f"{path.name}: {path.stat().st_size / 1e9:.2f} GB; {_machine()}; {_load()} at start")
        runs: dict[str, list[dict[str, float]]] = {"job": [], "duckdb": []}
        for _ in range(repeat):
            for name in runs:
                runs[name].append(_run(name, path))
                print(f"  {name}: {json.dumps(runs[name][-1])}  ({_load()})", flush=True)
        job = [r["seconds"] for r in runs["job"]]
        duck = [r["seconds"] for r in runs["duckdb"]]
        print(f"job    {_range(job)}, peak {_range([r['peak_mb'] for r in runs['job']], 'MB')}")
        print(f"duckdb {_range(duck)}, peak {_range([r['peak_mb'] for r in runs['duckdb']], 'MB')}")
        print(f"job / duckdb (each run against the DuckDB run beside it): "
              f"{_range([j / d for j, d in zip(job, duck, strict=True)], '×')}; "
              f"upper end {max(job) / min(duck):.2f} × (goal <= 1.0, peak <= 1024 MB)")  # fmt: skip
        if not args.no_nightly:
            nights = _run("nightly day", path)
            print(
                f"one day's export (whole job) after the export is stored: {_range(nights['after_history_s'])}; "
                f"the same days into an empty ledger: {_range(nights['into_empty_ledger_s'])} "
                f"(peak {nights['peak_mb']:.0f} MB)"
            )
        print(f"{_load()} at the end (figures taken on a busy machine are not comparable)")
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
