"""Reading a metering export: its bytes (hash, encoding, line endings), its header, and its data lines in
bounded batches with their line numbers. Whole-file problems are a `MeteringFileError`: one rejection, no rows."""

from __future__ import annotations

import codecs
import csv
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import polars as pl

from pipelines.cells import clean_text
from pipelines.metering_vocabulary import COLUMNS, EXTRA, SCALE, MeteringFileError


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


MAX_HEADER_BYTES = 64 << 10  # a header of seven columns is a few hundred bytes
MAX_COLUMNS = 200
SHOWN = 200  # characters of a value as given kept in a rejection


def shorten(text: str | None) -> str | None:
    """A value as given, cut to what a rejection row can show (a 100 MB line must not become a 100 MB cell)."""
    if text is None or len(text) <= SHOWN:
        return text
    return f"{text[:SHOWN]}…（共 {len(text)} 个字符）"


def display_name(path: Path) -> str:
    """The file's name as the operator's system spelled it: bytes that are not UTF-8 are read as GB18030."""
    raw = os.fsencode(path.name)
    for encoding in ("utf-8", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("utf-8", errors="replace")


def sniff(path: Path) -> tuple[str, str]:
    """The encoding (UTF-8 with or without BOM, or GB18030) and line ending of an export; the first megabyte
    decides. UTF-16 (or any text with NUL bytes) is not one the contract accepts: the file is rejected."""
    with path.open("rb") as f:
        head = f.read(1 << 20)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or b"\x00" in head:
        raise MeteringFileError(
            "METER_ENCODING",
            "能耗监测文件是 UTF-16 或含二进制内容，无法读取：请另存为 UTF-8 或 GB18030 编码的 CSV 后重新导出",
        )
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        encoding = "utf-8"
    except UnicodeDecodeError:
        encoding = "gb18030"
    line_ends = "\r" if b"\r" in head and b"\n" not in head else "\n"
    return encoding, line_ends


def to_utf8(path: Path, folder: Path, encoding: str, line_ends: str) -> Path:
    """A streaming UTF-8, LF copy (GB18030, or old Mac CR-only line endings): the fast reader reads UTF-8 lines
    ending in LF only, and a CR-only file would otherwise be one line."""
    target = folder / "utf8.csv"
    decoder = codecs.getincrementaldecoder(encoding)()
    with path.open("rb") as src, target.open("w", encoding="utf-8", newline="") as dst:
        for chunk in iter(lambda: src.read(1 << 22), b""):
            text = decoder.decode(chunk)
            dst.write(text.replace("\r", "\n") if line_ends == "\r" else text)
        dst.write(decoder.decode(b"", final=True))
    return target


def read_header(source: Path) -> tuple[list[str | None], str]:
    """The header line's column keys, and the line as given; a header too long or too wide is a rejection."""
    with source.open(encoding="utf-8-sig", newline="", errors="replace") as f:
        first = f.readline(MAX_HEADER_BYTES)
    line = first.rstrip("\r\n")
    if len(first) >= MAX_HEADER_BYTES and not first.endswith(("\n", "\r")):
        raise MeteringFileError(
            "METER_HEADER_TOO_LONG",
            f"能耗监测文件第一行超过 {MAX_HEADER_BYTES // 1024} KB，不是表头：第一行须为七个列名",
            shorten(line),
        )
    fields = line.count(",") + 1
    if fields > MAX_COLUMNS:
        raise MeteringFileError(
            "METER_HEADER_TOO_WIDE",
            f"能耗监测文件表头有 {fields} 列，超过 {MAX_COLUMNS} 列：请只导出规定的七列",
            shorten(line),
        )
    headers = next(csv.reader([line])) if line.strip() else []
    try:
        return header_keys(headers), line
    except MeteringFileError as exc:
        exc.given = shorten(line)
        raise


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
    # One column more than the header: a line with too many fields (an unquoted `1,000`) shows up there.
    schema = {n: (pl.String if n == "value" else pl.Categorical) for n in names} | {EXTRA: pl.String}
    query = pl.scan_csv(
        source,
        has_header=False,
        skip_lines=1,
        schema=schema,
        row_index_name="line",
        row_index_offset=2,
        truncate_ragged_lines=True,
        missing_columns="insert",  # a first line with too few fields is rejected line by line, not the file
        extra_columns="ignore",
    ).select(
        "line",
        *COLUMNS,
        EXTRA,
        # Exact micro-units as one integer (-1: empty, not a plain number, or beyond int64), on the engine's
        # threads; the text as given stays for rejections and for the few values typed with separators.
        value_e6=pl.col("value")
        .str.strip_chars()
        .cast(pl.Decimal(38, SCALE), strict=False)
        .to_physical()
        .cast(pl.Int64, strict=False)
        .fill_null(-1),
    )
    for batch in query.collect_batches(chunk_size=rows):
        # The engine may hand over more rows than asked: the bound on memory and on a batch is ours to keep.
        yield from batch.iter_slices(rows)
