"""A few kilobytes of workbook must not cost gigabytes: a lone far cell or a zip bomb is refused as
FILE_TOO_LARGE, in Chinese, by a reader whose memory stays bounded.

Each workbook is read in a child process whose address space is capped (so that a regression fails the test
instead of swapping the shared machine), and which reports its peak RSS (`resource.getrusage`): the bound below
is a generous sanity bound, not a measurement of speed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook

from samples.workbook import write_batch
from schemas.sheets import MAX_WORKBOOK_BYTES
from tests.intake.conftest import valid_sheets

READ = """
import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (3 * 1024**3, 3 * 1024**3))
from pipelines.intake import read_batch
batch = read_batch(__import__("pathlib").Path(sys.argv[1]))
peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"codes": [r.code for r in batch.rejections], "messages": [r.message for r in batch.rejections],
                  "rows": {k: len(v) for k, v in batch.received_rows.items()}, "peak_mib": peak_kib // 1024}))
"""
GIB_MIB = 1024


def _read_in_child(path: Path) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", READ, str(path)], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _with_cell(tmp_path: Path, coordinate: str) -> Path:
    path = write_batch(tmp_path / "2026-04-01-测试.xlsx", valid_sheets())
    wb = load_workbook(path)
    wb["申报"][coordinate] = "x"
    wb.save(path)
    return path


@pytest.mark.parametrize("coordinate", ["XFD1048576", "A1048576", "CW2"])
def test_a_small_workbook_with_one_far_cell_is_refused_as_too_large_with_bounded_memory(
    tmp_path: Path, coordinate: str
):
    path = _with_cell(tmp_path, coordinate)
    assert path.stat().st_size < 20_000
    read = _read_in_child(path)
    assert read["codes"] == ["FILE_TOO_LARGE"]
    message = str(read["messages"])
    assert "文件超出系统受理上限" in message and "「申报」" in message
    assert read["rows"] == {}  # nothing received from a refused file: nothing to balance
    assert int(str(read["peak_mib"])) < GIB_MIB


def test_a_zip_bomb_is_refused_from_its_declared_sizes_before_it_is_decompressed(tmp_path: Path):
    source = write_batch(tmp_path / "template.xlsx", valid_sheets())
    bomb = tmp_path / "2026-04-01-炸弹.xlsx"
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as out:
        for info in original.infolist():
            data = original.read(info)
            if info.filename.endswith("sheet2.xml"):  # the 申报 sheet, padded out with blank space
                head, tail = data.split(b"</sheetData>")
                with out.open(info.filename, "w", force_zip64=True) as member:
                    member.write(head)
                    blank = b" " * (1 << 20)
                    for _ in range(MAX_WORKBOOK_BYTES // len(blank) + 16):
                        member.write(blank)
                    member.write(b"</sheetData>" + tail)
            else:
                out.writestr(info, data)
    assert bomb.stat().st_size < 2_000_000
    read = _read_in_child(bomb)
    assert read["codes"] == ["FILE_TOO_LARGE"]
    assert "解压后" in str(read["messages"])
    assert int(str(read["peak_mib"])) < GIB_MIB


def test_a_workbook_within_the_limits_is_read_as_before(tmp_path: Path):
    path = _with_cell(tmp_path, "N30")  # the 14th column, inside the template's width
    read = _read_in_child(path)
    assert "FILE_TOO_LARGE" not in read["codes"]
    assert read["rows"] == {"enterprises": 2, "applications": 3, "standards": 1, "loans": 1}
