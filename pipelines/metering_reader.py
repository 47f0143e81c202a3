"""Reading a metering export: its bytes (hash, encoding, line endings), its header, and its data lines in
bounded batches with their line numbers. Whole-file problems are a `MeteringFileError`: one rejection, no rows."""

from __future__ import annotations

import codecs
import hashlib
from collections.abc import Iterator
from pathlib import Path

import polars as pl

from pipelines.cells import clean_text
from pipelines.metering_vocabulary import COLUMNS, SCALE, MeteringFileError


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def detect_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM) or GB18030: the first megabyte decides."""
    with path.open("rb") as f:
        head = f.read(1 << 20)
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        return "gb18030"


def to_utf8(path: Path, folder: Path) -> Path:
    """A streaming GB18030 -> UTF-8 copy: the fast reader reads UTF-8 only."""
    target = folder / "utf8.csv"
    decoder = codecs.getincrementaldecoder("gb18030")()
    with path.open("rb") as src, target.open("w", encoding="utf-8", newline="") as dst:
        for chunk in iter(lambda: src.read(1 << 22), b""):
            dst.write(decoder.decode(chunk))
        dst.write(decoder.decode(b"", final=True))
    return target


def header_keys(headers: list[str]) -> list[str | None]:
    """Each header's column key (Chinese header or English key), None for a column we do not read."""
    by_text = {k: k for k in COLUMNS} | {zh: k for k, zh in COLUMNS.items()}
    keys = [by_text.get((clean_text(h) or "").lower()) or by_text.get(clean_text(h) or "") for h in headers]
    missing = [f"{COLUMNS[k]}（{k}）" for k in COLUMNS if k not in keys]
    if missing:
        raise MeteringFileError(
            "METER_COLUMNS_MISSING",
            f"能耗监测文件缺少列：{'、'.join(missing)}。表头第一行须为中文列名或英文键",
        )
    return keys


def batches(source: Path, keys: list[str | None], rows: int) -> Iterator[pl.DataFrame]:
    """The data lines in batches of at most `rows`, each row with its line number (the header is line 1).

    Polars' streaming engine parses the next batches on its own threads while the caller works on this one.
    """
    names = [k or f"_ignored_{i}" for i, k in enumerate(keys)]
    schema = {n: (pl.Decimal(38, SCALE) if n == "value" else pl.Categorical) for n in names}
    query = pl.scan_csv(
        source,
        has_header=False,
        skip_lines=1,
        schema=schema,
        ignore_errors=True,  # a value that is not a number reads as null, and is rejected with its line
        row_index_name="line",
        row_index_offset=2,
        truncate_ragged_lines=True,
    ).select(
        "line",
        *COLUMNS,
        # Exact micro-units as one integer (-1: empty, not a number, or beyond int64), on the engine's threads.
        value_e6=pl.col("value").to_physical().cast(pl.Int64, strict=False).fill_null(-1),
    )
    for batch in query.collect_batches(chunk_size=rows):
        # The engine may hand over more rows than asked: the bound on memory and on a batch is ours to keep.
        yield from batch.iter_slices(rows)
