"""A batch sent as a folder of CSVs reads like the same batch sent as a workbook, in every encoding operators use."""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Callable
from pathlib import Path

import pytest

from pipelines.intake import merge, read_batch
from schemas.sheets import BY_KEY
from tests.intake.conftest import valid_sheets
from tests.mutations import mutate_bytes


def _csv_folder(
    folder: Path, encoding: str, english: bool, names: Callable[[str], str] = lambda k: k
) -> Path:
    folder.mkdir(parents=True)
    for key, rows in valid_sheets().items():
        spec = BY_KEY[key]
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow([c.key if english else c.header for c in spec.columns])
        writer.writerow([])  # a blank line, as Excel leaves after deleting a row
        for row in rows:
            writer.writerow(["" if row.get(c.key) is None else str(row[c.key]) for c in spec.columns])
        (folder / f"{names(key)}.csv").write_bytes(out.getvalue().encode(encoding))
    return folder


def _simple(subs):
    return {k: f.drop(columns=["_file", "_row"]).to_dict("records") for k, f in subs.frames.items()}


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
@pytest.mark.parametrize("english", [False, True])
def test_a_csv_folder_in_any_encoding_gives_the_same_rows_as_the_workbook(
    tmp_path: Path, write: Callable[..., Path], encoding: str, english: bool
):
    folder = _csv_folder(tmp_path / "2026-04-01-csv", encoding, english)
    from_csv = merge([read_batch(folder)])
    from_xlsx = merge([read_batch(write())])
    assert from_csv.rejections == []
    assert _simple(from_csv) == _simple(from_xlsx)
    rows = from_csv.frames["applications"]["_row"].tolist()
    assert rows == [3, 4]  # header row 1, the blank line is row 2, as Excel shows the file


def test_csv_files_may_be_named_by_the_chinese_sheet_name(tmp_path: Path):
    folder = _csv_folder(tmp_path / "b", "gb18030", False, names=lambda k: BY_KEY[k].name)
    subs = merge([read_batch(folder)])
    assert subs.rejections == [] and len(subs.frames["applications"]) == 2


def test_a_stray_file_and_an_undecodable_csv_in_a_batch_folder_are_reported(tmp_path: Path):
    folder = _csv_folder(tmp_path / "c", "utf-8", False)
    (folder / "说明.txt").write_text("见附件", encoding="utf-8")
    (folder / "vat_claims.csv").write_bytes(b"\x81\x30\xff\xfe\x00")
    subs = merge([read_batch(folder)])
    assert sorted((r.sheet, r.value, r.code) for r in subs.rejections) == [
        ("vat_claims", "vat_claims.csv", "CSV_ENCODING"),
        ("workbook", "说明.txt", "UNKNOWN_SHEET"),
    ]


def test_a_bad_cell_in_a_csv_is_reported_at_its_excel_row(tmp_path: Path):
    folder = _csv_folder(tmp_path / "d", "utf-8-sig", False)
    text = (folder / "loans.csv").read_text(encoding="utf-8-sig").replace("3.85", "三点八五")
    (folder / "loans.csv").write_text(text, encoding="utf-8-sig")
    subs = merge([read_batch(folder)])
    assert [(r.file, r.sheet, r.row_number, r.column, r.value, r.code) for r in subs.rejections] == [
        ("d", "loans", 3, "年利率(%)", "三点八五", "NUMBER_FORMAT")
    ]


def test_no_mutation_of_a_good_csv_batch_stops_the_night(tmp_path: Path):
    # bytes of one sheet's file flipped, cut or inserted (quotes, commas, line ends, NUL, a BOM, a GB18030
    # character, huge numbers), in UTF-8 and GB18030: each batch is read or rejected (`read_batch` raising is what
    # the night would report as FILE_NOT_PROCESSED, its own failure), every sheet balancing
    inserts = [b'"', b",", b"\n", b"\r", b"\x00", b"\xef\xbb\xbf", "甲".encode("gb18030"), b"9" * 30, b"=1+1"]
    rng = random.Random(20261208)
    codes: set[str] = set()
    for i in range(60):
        folder = _csv_folder(tmp_path / f"2026-04-{i:03d}-csv", rng.choice(["utf-8", "gb18030"]), False)
        for _ in range(rng.randint(1, 4)):
            victim = rng.choice(sorted(folder.iterdir()))
            victim.write_bytes(mutate_bytes(victim.read_bytes(), rng, inserts, 1))
        subs = merge([read_batch(folder)])
        for c in subs.counts:
            assert c.accepted + c.rejected == c.received, (i, c)
        codes |= {r.code for r in subs.rejections}
    assert len(codes) >= 10, sorted(codes)  # the changes bite (17 codes with this seed)
