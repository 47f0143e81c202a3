"""The rows of a report table as last written, kept to be written again when nothing in them has changed.

Each night writes every report afresh, into a folder of its own date, and most of a night's writing is the rows
of the large tables (明细: one row per decision): their cells' XML, their heights and the columns' widths fitted to
them. On a night with nothing new those rows are the same as the night before; the title lines above them (the
date, the time written) are not kept, and a table whose values changed (the days an application has waited, in
待审核) is computed again. `pipelines.excel.write_table` looks a table up here by a digest of everything its rows
and widths are made from, and writes the kept XML when it is found: the same bytes it would have computed.

The digest covers the code that writes them (`code_digest`, our every source file), the sheet, its columns
(header, key, kind, width), the totals row, the workbook's date system and each row's value of every column,
pickled without the memo (which tells Decimal('1.0') from Decimal('1.00'), a str from a date, True from 1, and
pickles equal values to equal bytes however they share objects; twice as fast as their `repr`). The XML also holds the
ids of the workbook's registered styles and the first row's number: a kept table records them and is used only
where they are the same. Anything else differing makes another digest, and the rows are computed and kept anew.
A kept file that cannot be read is a miss.

Kept under the reports folder in `.row-cache/`, away from the dated folders the departments read, as data only
(a JSON line and the XML: reading one never runs code, as unpickling would); each file is written to a temporary
name and renamed, so two nights at once never read half of one. Only the pipeline's account should be able to
write there, as in the dated folders (docs/runbook.md). Files no night has read
for `KEEP_DAYS` days are removed after the department reports are written; deleting the folder is always safe.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.release import code_digest

FOLDER = ".row-cache"
KEEP_DAYS = 2  # a night reads what the night before wrote; older tables would only fill the disk
CACHED_FROM = 200  # rows: below this, computing them is cheaper than a file


@dataclass(frozen=True)
class Kept:
    """A table's rows as written: the columns' fitted widths, the rows' XML (`sheet_rows.rows_xml`) and each one's
    height, and the context that XML holds (the styles' ids, the first row's number)."""

    context: str
    widths: list[int]
    xml: bytes  # UTF-8, as it goes into the archive
    heights: list[float | None]


class RowCache:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @classmethod
    def under(cls, reports: Path) -> RowCache:
        return cls(reports / FOLDER)

    @staticmethod
    def key(parts: Sequence[Any], rows: Sequence[Sequence[Any]]) -> str | None:
        """The digest a table is kept under; None when a value cannot be pickled (the table is not kept)."""
        buffer = io.BytesIO()
        pickler = pickle.Pickler(buffer, protocol=5)
        pickler.fast = True  # no memo: equal values, equal bytes
        try:
            pickler.dump((code_digest(), tuple(parts), rows))
        except (pickle.PicklingError, TypeError, ValueError, RecursionError):
            return None
        return hashlib.sha256(buffer.getbuffer()).hexdigest()

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / key

    def get(self, key: str) -> Kept | None:
        path = self._path(key)
        try:
            kept = _read(path.read_bytes())
            os.utime(path)  # read tonight: kept another KEEP_DAYS
        except Exception:  # missing, half-pruned, unreadable or not ours: computed again
            return None
        return kept

    def put(self, key: str, kept: Kept) -> None:
        path = self._path(key)
        tmp = path.with_name(f".{key}.{os.getpid()}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(_written(kept))
            tmp.replace(path)
        except OSError:
            tmp.unlink(missing_ok=True)  # a full disk costs the next night its reuse, never a report

    def prune(self, keep_days: int = KEEP_DAYS) -> int:
        """Remove what no night has read for `keep_days` days; the number removed."""
        cutoff = time.time() - keep_days * 86_400
        removed = 0
        for path in self.folder.glob("*/*"):
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
            except OSError:
                continue
        return removed


# A kept file: this line, a JSON line of the context, widths and heights, then the rows' XML. Data only: the file
# lies in the reports folder, and reading it must never run anything (as unpickling would).
MAGIC = b"alu-kept-rows 1\n"


def _written(kept: Kept) -> bytes:
    header = {"context": kept.context, "widths": kept.widths, "heights": kept.heights, "size": len(kept.xml)}
    return MAGIC + json.dumps(header, ensure_ascii=False).encode() + b"\n" + kept.xml


def _read(data: bytes) -> Kept | None:
    if not data.startswith(MAGIC):
        return None
    line, _, xml = data[len(MAGIC) :].partition(b"\n")
    header = json.loads(line)
    context, widths, heights = header["context"], header["widths"], header["heights"]
    numbers = (int, float)
    if (
        header["size"] == len(xml)  # a file cut short is not written into a report
        and isinstance(context, str)
        and isinstance(widths, list)
        and all(isinstance(w, numbers) and not isinstance(w, bool) for w in widths)
        and isinstance(heights, list)
        and heights
        and all(h is None or (isinstance(h, numbers) and not isinstance(h, bool)) for h in heights)
    ):
        return Kept(context, widths, xml, heights)
    return None
