"""The metering stage against DuckDB and polars doing only a plain group-by of the same export.

    .venv/bin/python benchmarks/metering.py                 # the issue's size: 100 enterprises x 10 meters x 1 year
    .venv/bin/python benchmarks/metering.py --days 30       # smaller (or --rows 3000000)
    .venv/bin/python benchmarks/metering.py --file big.csv  # an existing export

Generates a synthetic 15-minute export (`samples.metering.generate`), then runs each contender in a fresh
subprocess so its peak memory (max RSS) is its own:
- ours: `pipelines.metering.ingest` + `months`, the stage the issue names — parse, validate every cell, convert
  units exactly, drop identical duplicates and flag conflicting ones, difference cumulative counters, aggregate
  per meter and day, then month, with the coverage of each month (the file's identity is given, as the nightly
  job gives it after checking whether the file was ingested before);
- ours + hash: the same stage computing the file's SHA-256 itself on a second thread while it parses — what a
  first-time ingest costs in all;
- DuckDB and polars: `GROUP BY credit_code, meter_id, medium, month` with `SUM(value)` and `COUNT(*)`, nothing else.
Prints the figures and the machine; asserts nothing (target: ours / DuckDB <= 1.0 with peak memory <= 1 GB).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# run as a script from the project root (`make bench`): the project's packages sit beside this folder
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ROWS_PER_DAY = 100 * 10 * 96


def _ours(path: str, sha256: str | None = "0" * 64) -> dict[str, object]:
    from pipelines.metering import ingest, months

    result = ingest(Path(path), sha256=sha256)
    monthly = months(result)
    return {"rows": result.received, "groups": monthly.height, "rejected": result.rejected}


def _ours_with_hash(path: str) -> dict[str, object]:
    return _ours(path, sha256=None)


def _duckdb(path: str) -> dict[str, object]:
    import duckdb

    rows = duckdb.sql(
        f"SELECT credit_code, meter_id, medium, date_trunc('month', timestamp) AS month, SUM(value), COUNT(*) "
        f"FROM read_csv('{path}') GROUP BY ALL"
    ).fetchall()
    return {"groups": len(rows)}


def _polars(path: str) -> dict[str, object]:
    import polars as pl

    frame = (
        pl.scan_csv(path)
        .group_by("credit_code", "meter_id", "medium", month=pl.col("timestamp").str.slice(0, 7))
        .agg(pl.col("value").sum(), pl.len())
        .collect()
    )
    return {"groups": frame.height}


CONTENDERS = {"ours": _ours, "ours + hash": _ours_with_hash, "duckdb": _duckdb, "polars": _polars}


def measure(name: str, path: str) -> None:
    started = time.perf_counter()
    extra = CONTENDERS[name](path)
    seconds = time.perf_counter() - started
    # VmHWM is this process's own peak (ru_maxrss would include the parent's peak inherited across exec).
    status = Path("/proc/self/status").read_text().splitlines()
    peak_mb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) / 1024
    print(json.dumps({"seconds": seconds, "peak_mb": peak_mb, **extra}))


def _machine() -> str:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        platform.processor(),
    )  # fmt: skip
    mem = next(
        line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if "MemTotal" in line
    )
    load = os.getloadavg()
    return (
        f"{cpu}, {os.cpu_count()} cores, {int(mem) // 1024 // 1024} GB RAM, Python {platform.python_version()}, "
        f"load average {load[0]:.2f} at start"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--rows", type=int, help="approximate rows (overrides --days)")
    parser.add_argument("--file", help="an existing export to read instead of generating one")
    parser.add_argument("--measure", choices=sorted(CONTENDERS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(args.measure, args.file)
        return

    with tempfile.TemporaryDirectory(prefix="metering-bench-") as tmp:
        path = Path(args.file) if args.file else Path(tmp) / "export.csv"
        if not args.file:
            days = max(1, args.rows // ROWS_PER_DAY) if args.rows else args.days
            started = time.perf_counter()
            # In a subprocess too: this process stays small, so nothing skews the contenders' memory.
            command = [sys.executable, "-m", "samples.metering", "--days", str(days), str(path)]
            subprocess.run(command, check=True, cwd=Path(__file__).resolve().parent.parent)
            print(f"generated {path.stat().st_size / 1e9:.2f} GB in {time.perf_counter() - started:.0f} s")
        print(_machine())
        figures = {}
        for name in CONTENDERS:
            out = subprocess.run(
                [sys.executable, __file__, "--measure", name, "--file", str(path)],
                check=True,
                capture_output=True,
                text=True,
            )
            figures[name] = json.loads(out.stdout.strip().splitlines()[-1])
            f = figures[name]
            print(f"{name:>11}: {f['seconds']:7.2f} s  peak {f['peak_mb']:6.0f} MB  {json.dumps(f)}")
        ratio = figures["ours"]["seconds"] / figures["duckdb"]["seconds"]
        with_hash = figures["ours + hash"]["seconds"] / figures["duckdb"]["seconds"]
        print(
            f"ours / duckdb = {ratio:.2f} (target <= 1.0; with the hash {with_hash:.2f}); "
            f"ours peak {figures['ours']['peak_mb']:.0f} MB (<= 1024); "
            f"load average {os.getloadavg()[0]:.2f} at the end (figures taken on a busy machine are not comparable)"
        )


if __name__ == "__main__":
    main()
