"""The reading store: every accepted metering reading, kept as Parquet partitioned by month.

Why Parquet beside the ledger, not a table in it: a region's year at 15 minutes is ~10^8 readings; written as
columnar files they cost seconds and ~10 bytes a reading, inserted into SQLite or PostgreSQL they would cost
minutes a night. The database stays the commit point: an export's parts are named by its content hash and written
(temporary name, then an atomic rename) *before* the transaction that books the export; a reader only ever reads
the parts of exports booked in `metering_files`. So a crash leaves at most unbooked parts that nobody reads and
the next run rewrites byte for byte; a re-run, a retry or a concurrent run never reads half an export. This works
alike for a SQLite and a PostgreSQL ledger.

Layout: `<folder>/month=YYYY-MM/<sha256>.parquet` (columns `sid`, `ts`, `value_e6`: the export's series number,
Asia/Shanghai wall-clock seconds, canonical micro-units as read: an interval's consumption or a counter reading)
and `<folder>/series/<sha256>.parquet` (each series number's credit code, meter, medium and reading kind). The
month is the day the reading belongs to (the instant just before its timestamp). The folder is
`ALU_READINGS_DIR`, else `readings/` next to a SQLite ledger file, else `data/readings/` in the project.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Engine

from pipelines.settings import DATA_DIR

DAY = 86_400
_SCHEMA = pa.schema([("sid", pa.int64()), ("ts", pa.int64()), ("value_e6", pa.int64())])
SERIES_COLUMNS = ("credit_code", "meter_id", "medium", "reading_kind")


def folder_for(engine: Engine) -> Path:
    """Where the readings of this ledger are kept."""
    configured = os.environ.get("ALU_READINGS_DIR")
    if configured:
        return Path(configured)
    url = engine.url
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database).resolve().parent / "readings"
    return DATA_DIR / "readings" / (url.database or "default")


def _month_of_day(day: np.ndarray) -> np.ndarray:
    """Months since 1970-01 of day numbers since 1970-01-01."""
    return day.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)


def month_text(month: int) -> str:
    return f"{1970 + month // 12:04d}-{month % 12 + 1:02d}"


class ReadingSink:
    """Writes one export's accepted readings, batch by batch, into per-month parts under temporary names;
    `publish` renames them into place (before the export is booked), `discard` removes them."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.token = uuid.uuid4().hex  # parts are written under a temporary name until the hash is known
        self._writers: dict[int, pq.ParquetWriter] = {}
        self._paths: dict[int, Path] = {}
        self.rows = 0
        # Parquet encodes and writes on its own thread (pyarrow releases the GIL) while the next batch is parsed
        # and aggregated; one batch in flight at most, so memory stays bounded.
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="readings")
        self._pending: Future[None] | None = None

    def add(self, sid: np.ndarray, ts: np.ndarray, value_e6: np.ndarray) -> None:
        if len(sid) == 0:
            return
        month = _month_of_day((ts - 1) // DAY)
        lo, hi = int(month.min()), int(month.max())
        parts = []
        for m in range(lo, hi + 1):
            if lo == hi:
                part = (sid, ts, value_e6)
            else:
                at = np.flatnonzero(month == m)
                if len(at) == 0:
                    continue
                part = (np.take(sid, at), np.take(ts, at), np.take(value_e6, at))
            batch = pa.record_batch([pa.array(a, type=pa.int64()) for a in part], schema=_SCHEMA)
            parts.append((self._writer(m), batch))
        self._wait()
        self._pending = self._pool.submit(_write, parts)
        self.rows += len(sid)

    def _wait(self) -> None:
        if self._pending is not None:
            self._pending.result()  # a write error surfaces here, before the export is booked
            self._pending = None

    def _writer(self, month: int) -> pq.ParquetWriter:
        writer = self._writers.get(month)
        if writer is None:
            tmp = self.folder / f"month={month_text(month)}" / f".{self.token}.parquet.tmp"
            tmp.parent.mkdir(parents=True, exist_ok=True)
            # lz4 and no dictionary for the integer columns: written at memory speed, still ~10 bytes a reading.
            writer = pq.ParquetWriter(tmp, _SCHEMA, compression="lz4", use_dictionary=["sid"])
            self._writers[month] = writer
            self._paths[month] = tmp
        return writer

    def publish(self, sha256: str, series: pl.DataFrame) -> None:
        """Close the parts and rename them into place, with the export's series table (`sid` + names)."""
        self._wait()
        self._pool.shutdown()
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()
        target = self.folder / "series" / f"{sha256}.parquet"
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{self.token}.parquet.tmp")
        series.select("sid", *SERIES_COLUMNS).write_parquet(tmp)
        os.replace(tmp, target)
        for tmp_part in self._paths.values():
            os.replace(tmp_part, tmp_part.with_name(f"{sha256}.parquet"))
        self._paths.clear()

    def discard(self) -> None:
        try:
            self._wait()
        finally:
            self._pool.shutdown()
        for writer in self._writers.values():
            writer.close()
        for tmp_part in self._paths.values():
            tmp_part.unlink(missing_ok=True)
        self._writers.clear()
        self._paths.clear()


def has(folder: Path, sha256: str) -> bool:
    """Whether a booked export's readings are in the store (its parts are all in place before it is booked)."""
    return (folder / "series" / f"{sha256}.parquet").exists()


def _write(parts: list[tuple[pq.ParquetWriter, pa.RecordBatch]]) -> None:
    for writer, batch in parts:
        writer.write_batch(batch)


def read(
    folder: Path, shas: Iterable[str], series: pl.DataFrame, from_day: int | None = None
) -> pl.DataFrame:
    """The stored readings of the given series (`credit_code`, `meter_id`, `medium`, `reading_kind`) in the
    given exports: columns of `SERIES_COLUMNS`, `ts`, `value_e6`, `file_sha256`. `from_day` (days since
    1970-01-01): only the months from the one before that day's on (the month before holds a counter's previous
    reading), so a resend of yesterday reads two months, not the whole history."""
    wanted = set(shas)
    frames = []
    for sha in sorted(wanted):
        names_path = folder / "series" / f"{sha}.parquet"
        if not names_path.exists():
            continue
        names = pl.read_parquet(names_path).join(series.select(SERIES_COLUMNS), on=list(SERIES_COLUMNS))
        if names.height == 0:
            continue
        parts = sorted(folder.glob(f"month=*/{sha}.parquet"))
        if from_day is not None:
            first_month = month_text(int(_month_of_day(np.array([from_day]))[0]))
            parts = [p for p in parts if p.parent.name[6:] >= _previous_month(first_month)]
        if not parts:
            continue
        scan = pl.scan_parquet(parts).filter(pl.col("sid").is_in(names["sid"].implode()))
        frames.append(scan.collect().join(names, on="sid").drop("sid").with_columns(file_sha256=pl.lit(sha)))
    if not frames:
        return pl.DataFrame(
            schema={**dict.fromkeys(SERIES_COLUMNS, pl.String), "ts": pl.Int64, "value_e6": pl.Int64,
                    "file_sha256": pl.String}
        )  # fmt: skip
    return pl.concat(frames, how="vertical_relaxed")


def _previous_month(month: str) -> str:
    year, mon = int(month[:4]), int(month[5:7])
    return f"{year - (mon == 1):04d}-{12 if mon == 1 else mon - 1:02d}"
