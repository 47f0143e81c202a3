"""The metering stage: one 能耗在线监测 CSV export (docs/inputs.md §2) to exact daily consumption per meter.

Streaming: polars' streaming engine parses the file (multi-threaded) into batches of rows with their line numbers,
and parses the next batches while this one is aggregated, so memory follows the batch size, not the file. The
repetitive text columns (credit code, meter, medium, unit, reading kind, timestamp) are read as categoricals and
each distinct text is parsed and validated once, in Python, with Chinese messages; the columns naming a series
are looked up once per run of one series' rows, not per row. Per-row work is vectorised integer arithmetic in
numpy on the batch as it lies: an export lists each meter's readings in runs in time order, so a batch is
aggregated run by run without sorting or copying it (a batch interleaving meters row by row, or going back in time,
is sorted first). Line numbers assume one record per line (no quoted line breaks). The file's SHA-256 is computed
on another thread while it is parsed.
Values are decimals read at six places (digits beyond the sixth are rounded by the reader: a millionth of the unit
given) and kept as integer micro-units of the canonical unit (kWh, kg, m3, MJ) from the cell to the database: no
float touches a reading.

Semantics (docs/inputs.md §2 and the issue):
- an interval reading stamped T is the consumption of the interval ending at T, so it belongs to the day (Asia/
  Shanghai) of the instant just before T; a timestamp without an offset is Asia/Shanghai time;
- a cumulative reading's consumption is the difference from the meter's previous reading in time order; a counter
  that goes down was reset or replaced, and that step's consumption is the new reading (the reset is counted);
- the same meter and timestamp twice with the same value is one reading; with different values it is a conflict,
  counted, and that interval is missing (no consumption, no reading present);
- a meter whose readings reach back to or before its last stored reading (a resend, a late older file) is not
  booked from this file alone: it is set aside (`revisited`) and the store recomputes its days from every stored
  reading (`pipelines.metering_resends`), so resends are compared across files exactly as within one;
- every accepted reading is written to the reading store (`pipelines.metering_readings`) as it is read;
- bad lines are rejected with their line, value as given and a Chinese reason (`pipelines.metering_validation`);
  a file that cannot be read at all (UTF-16, a header too long or too wide) is one rejection.

Within a file, rows are expected in time order per meter (any interleaving of meters). A meter whose readings
go back in time across batches is set aside and re-read on its own in a second, exact pass.

Modules: vocabulary (`metering_vocabulary`), the file's bytes and lines (`metering_reader`), validation
(`metering_validation`), roll-up of a batch (`metering_rollup`), the result (`metering_result`), the reading store
(`metering_readings`), resends (`metering_resends`), booking (`metering_store`), months (`metering_months`), and
what the rules read back (`metering_boundary`).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import numpy as np
import polars as pl

from pipelines.metering_reader import batches, display_name, file_sha256, read_header, sniff, to_utf8
from pipelines.metering_readings import ReadingSink
from pipelines.metering_result import (
    MeteringResult,
    SeriesKey,
    SeriesState,
    empty,
    finish,
    series_key,
    series_table,
    to_decimal,
)
from pipelines.metering_rollup import Partial, State, process
from pipelines.metering_validation import Lookups, Rows, typed
from pipelines.metering_vocabulary import (
    CANONICAL_UNIT,
    CHUNK_BYTES,
    DAY,
    ROW_BYTES,
    SHEET,
    MeteringFileError,
)
from pipelines.settings import SHANGHAI
from schemas.rejection import Rejection

__all__ = [
    "CANONICAL_UNIT",
    "DAY",
    "MeteringResult",
    "SeriesKey",
    "SeriesState",
    "file_sha256",
    "ingest",
    "to_decimal",
]


# --- the stage ----------------------------------------------------------------------------------------------


def ingest(
    path: Path,
    previous: dict[SeriesKey, tuple[str, SeriesState]] | None = None,
    chunk_bytes: int = CHUNK_BYTES,
    sha256: str | None = None,
    readings: Path | None = None,
    not_after: datetime | None = None,
) -> MeteringResult:
    """Read one export: daily aggregates per series, steps, where each series ends, and rejected lines.

    `previous` is where each series stood after the files ingested before (its reading kind and last reading).
    `readings`: the reading store's folder, where every accepted reading is written (unpublished until the store
    books the export). `not_after`: a reading stamped later is rejected (default: now, and the file's own time).
    """
    name = display_name(path)
    limit = not_after or min(datetime.now(SHANGHAI), datetime.fromtimestamp(path.stat().st_mtime, SHANGHAI))
    limit_ts = int((limit.astimezone(SHANGHAI).replace(tzinfo=None) - datetime(1970, 1, 1)).total_seconds())
    sink = ReadingSink(readings) if readings is not None else None
    with ThreadPoolExecutor(max_workers=1) as pool:
        # hashlib releases the GIL: the file is hashed on another thread while it is parsed.
        digest = pool.submit(file_sha256, path) if sha256 is None else None
        try:
            result = _ingest_file(
                path, name, previous or {}, max(1, chunk_bytes // ROW_BYTES), limit_ts, sink
            )
        except BaseException:
            if sink is not None:
                sink.discard()
            raise
        result.sha256 = sha256 or (digest.result() if digest else "")
    if sink is not None and result.series is None:
        sink.discard()  # the file as a whole was rejected: no reading of it is kept
    else:
        result.sink = sink
    return result


def _ingest_file(
    path: Path,
    name: str,
    previous: dict[SeriesKey, tuple[str, SeriesState]],
    batch_rows: int,
    limit_ts: int,
    sink: ReadingSink | None,
) -> MeteringResult:
    sha = ""  # filled in by the caller
    try:
        encoding, line_ends = sniff(path)
    except MeteringFileError as exc:
        return _file_rejected(name, None, exc)
    with tempfile.TemporaryDirectory(prefix="metering-") as tmp:
        # The fast reader wants UTF-8 text with LF line ends at a path it can name: anything else is copied so.
        plain = (encoding, line_ends) == ("utf-8", "\n") and name == path.name
        try:
            source = path if plain else to_utf8(path, Path(tmp), encoding, line_ends)
        except UnicodeDecodeError:  # neither UTF-8 nor GB18030 somewhere (a damaged byte)
            return _file_rejected(name, None, _undecodable(path, encoding, line_ends))
        try:
            keys, _ = read_header(source)
        except MeteringFileError as exc:
            return _file_rejected(name, 1, exc)
        try:
            return _ingest(source, name, sha, keys, previous, batch_rows, encoding, limit_ts, sink)
        except MeteringFileError as exc:
            return _file_rejected(name, None, exc)
        except pl.exceptions.PolarsError as exc:
            # The CSV itself does not parse (a quote never closed: no later field has an end; bytes past the first
            # megabyte that are not the encoding it began in): the file is rejected, none of its readings kept,
            # and the rest of the night goes on.
            return _file_rejected(name, None, _unparsable(source, exc))


def _first_bad_line(path: Path, encoding: str, end: bytes, quotes: bool) -> tuple[int, str, str] | None:
    """(number, "encoding" or "quote", text as given, shortened) of the file's first line that is not text in
    `encoding`, or, with `quotes`, that holds an odd number of double quotes (a field's quote never closed)."""
    with path.open("rb") as f:
        for number, raw in enumerate(_split(f, end), start=1):
            given = raw[:120].decode(encoding, "replace").rstrip("\r\n")
            try:
                raw.decode(encoding)
            except UnicodeDecodeError:
                return number, "encoding", given
            if quotes and raw.count(b'"') % 2:
                return number, "quote", given
    return None


def _undecodable(path: Path, encoding: str, line_ends: str) -> MeteringFileError:
    """Why the file is rejected: its first line that is not text in `encoding` (what the first megabyte said),
    named in the message, its text as the value given. The rejection is the whole file's, not that line's."""
    found = _first_bad_line(path, encoding, line_ends.encode(), quotes=False)
    if found is None:
        return MeteringFileError(
            "METER_ENCODING",
            "能耗监测文件不是 UTF-8 或 GB18030 编码的文字：请重新导出为 UTF-8 或 GB18030 编码的 CSV",
        )
    number, _, given = found
    return MeteringFileError(
        "METER_ENCODING",
        f"能耗监测文件第 {number} 行既不是 UTF-8 也不是 GB18030 编码的文字（文件可能已损坏）：整个文件未受理，"
        "其中的读数都不计入。请重新导出为 UTF-8 或 GB18030 编码的 CSV",
        given,
    )


def _split(f: BinaryIO, end: bytes) -> Iterator[bytes]:
    """The lines of a file, streamed, by its line ending (a CR-only file has no LF to iterate by). Neither byte
    occurs inside a UTF-8 or GB18030 character."""
    rest = b""
    for chunk in iter(lambda: f.read(1 << 22), b""):
        *lines, rest = (rest + chunk).split(end)
        yield from lines
    yield rest


def _unparsable(source: Path, exc: Exception) -> MeteringFileError:
    """Why the parser gave up on `source` (UTF-8, LF, as read): the first line that is not UTF-8, else the first
    line holding an odd number of double quotes, named in the message, its text as given. The rejection is the
    whole file's."""
    found = _first_bad_line(source, "utf-8", b"\n", quotes=True)
    if found is None:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:120]
        return MeteringFileError(
            "METER_CSV_MALFORMED",
            "能耗监测文件无法按 CSV 读取：整个文件未受理，其中的读数都不计入。请用 Excel 或导出程序重新导出为 CSV",
            first,
        )
    number, kind, given = found
    if kind == "encoding":
        return MeteringFileError(
            "METER_ENCODING",
            f"能耗监测文件第 {number} 行起的编码与文件开头不同（开头是 UTF-8，这一行不是）：整个文件未受理，其中的读数"
            "都不计入。请把整个文件另存为 UTF-8 或 GB18030 后重新导出",
            given,
        )
    return MeteringFileError(
        "METER_CSV_MALFORMED",
        f'能耗监测文件无法按 CSV 读取：第 {number} 行有一个英文双引号（"）没有闭合，其后的字段都无法分开；整个'
        '文件未受理，其中的读数都不计入。请检查后重新导出（字段里的双引号要成对，或写成两个双引号 ""）',
        given,
    )


def _file_rejected(name: str, line: int | None, exc: MeteringFileError) -> MeteringResult:
    rejection = Rejection(name, SHEET, line, None, exc.given, exc.code, exc.message)
    return MeteringResult(name, "", empty("days"), empty("steps"), {}, [rejection], 0)


def _ingest(
    source: Path,
    name: str,
    sha: str,
    keys: list[str | None],
    previous: dict[SeriesKey, tuple[str, SeriesState]],
    batch_rows: int,
    encoding: str,
    limit_ts: int,
    sink: ReadingSink | None,
) -> MeteringResult:
    lookups = Lookups(limit_ts)
    partial = Partial()
    rejections: list[Rejection] = []
    late: set[int] = set()
    received = 0
    state: State = {}
    start: State = {}
    for frame in batches(source, keys, batch_rows):
        received += frame.height
        rows, bad = typed(frame, lookups, name)
        rejections.extend(bad)
        if sink is not None:
            sink.add(rows.sid, rows.ts, rows.v)
        for sid in _new_series(rows, lookups, previous, start):
            state[sid] = start[sid]
        if late:
            rows = rows.take(np.flatnonzero(~np.isin(rows.sid, np.array(sorted(late), dtype=np.int64))))
        late |= process(rows, state, partial)
    received -= lookups.blank  # a blank line is not a reading
    if late:
        # The exact pass: those series' rows all at once, from where they stood before this file.
        wanted = np.array(sorted(late), dtype=np.int64)
        parts = []
        for frame in batches(source, keys, batch_rows):
            rows, _ = typed(frame, lookups, name)
            parts.append(rows.take(np.flatnonzero(np.isin(rows.sid, wanted))))
        late_rows = Rows(*(np.concatenate([getattr(p, a) for p in parts]) for a in ("sid", "ts", "v")))
        # A meter reaching back to or before its last stored reading is judged against the stored readings
        # themselves (pipelines.metering_resends), not here: set aside, with the day its recomputation starts.
        revisited = _revisited(late_rows, start)
        if revisited:
            again = np.array(sorted(revisited), dtype=np.int64)
            inside = np.isin(late_rows.sid, again)
            partial.overlapping += int(
                (late_rows.ts[inside] <= np.array([start[int(x)][0] for x in late_rows.sid[inside]])).sum()
            )
            late_rows = late_rows.take(np.flatnonzero(~inside))
        late_state = {sid: start[sid] for sid in late if sid in start and sid not in revisited}
        late_partial = Partial()
        process(late_rows, late_state, late_partial)
        partial.days = [d.filter(~pl.col("sid").is_in(wanted)) for d in partial.days] + late_partial.days
        partial.steps = [s.filter(~pl.col("sid").is_in(wanted)) for s in partial.steps] + late_partial.steps
        partial.conflicting = [c.filter(~pl.col("sid").is_in(wanted)) for c in partial.conflicting]
        partial.conflicting += late_partial.conflicting
        partial.duplicates += late_partial.duplicates
        for sid in late:
            state.pop(sid, None)
        state.update(late_state)
        partial.revisited = revisited
    result = finish(name, sha, partial, state, start, rejections, received, len(late), encoding, lookups)
    # every series id of the file that got as far as a reading, with its names (the reading store's key)
    result.series = series_table(sorted(lookups.sids), lookups)
    return result


def _revisited(rows: Rows, start: State) -> dict[int, int]:
    """Series whose rows in this file reach back to or before their last stored reading: series -> the first
    day (since 1970-01-01) their figures must be recomputed from."""
    out: dict[int, int] = {}
    if len(rows.sid) == 0:
        return out
    frame = pl.DataFrame({"sid": rows.sid, "ts": rows.ts}).group_by("sid").agg(pl.col("ts").min())
    for sid, first in frame.iter_rows():
        if sid in start and first <= start[sid][0]:
            out[sid] = (first - 1) // DAY
    return out


def _new_series(
    rows: Rows, lookups: Lookups, previous: dict[SeriesKey, tuple[str, SeriesState]], start: State
) -> list[int]:
    """Series met for the first time in this file that earlier files left somewhere: where they stood."""
    if not previous or len(rows.sid) == 0:
        return []
    found = []
    heads = np.flatnonzero(rows.sid[1:] != rows.sid[:-1]) + 1
    for sid in np.unique(np.append(rows.sid[heads], rows.sid[0])).tolist():
        if sid in start or sid in lookups.checked:
            continue
        lookups.checked.add(sid)
        key, kind = series_key(sid, lookups)
        before = previous.get(key)
        if before is not None and before[0] == kind:
            start[sid] = (before[1].last_ts, before[1].last_counter_e6)
            found.append(sid)
    return found
