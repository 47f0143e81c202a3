"""A report workbook is written whole or not at all, also when two runs write the same one at once (a sensor run
and the schedule's, say) or the disk fills up: a department never opens half a file, and no half-written
temporary file is left beside the reports."""

from __future__ import annotations

import threading
from datetime import date, datetime
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

import pipelines.excel as excel
from pipelines.excel import Col, Frame, new_workbook, save, write_table

FRAME = Frame("标题", "测试单位", date(2026, 11, 24), "rb-test", datetime(2026, 11, 24, 2, 0))


def _workbook(label: str):
    wb = new_workbook()
    write_table(wb, "明细", [Col("申报编号", "id")], [{"id": f"{label}-{i}"} for i in range(50)], frame=FRAME)
    return wb


def _ids(path: Path) -> set[str]:
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("明细").to_python()
    return {str(r[1]) for r in rows if len(r) > 1 and "-" in str(r[1])}


def test_two_runs_saving_the_same_report_at_once_both_finish_and_leave_one_whole_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    path = tmp_path / "工信厅.xlsx"
    written = threading.Event()
    go_on = threading.Event()
    real = excel.write_workbook

    def first_writer_pauses(wb, target: Path) -> None:
        real(wb, target)
        if threading.current_thread().name == "first":
            written.set()
            go_on.wait(10)  # its file complete, not yet renamed: the other run writes meanwhile

    monkeypatch.setattr(excel, "write_workbook", first_writer_pauses)
    errors: list[BaseException] = []

    def first() -> None:
        try:
            save(_workbook("A"), path)
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=first, name="first")
    thread.start()
    assert written.wait(10)
    save(_workbook("B"), path)  # the other run, start to finish
    go_on.set()
    thread.join(10)
    assert errors == []  # with one shared temporary name, the first run's rename found nothing to rename
    assert _ids(path) in ({f"A-{i}" for i in range(50)}, {f"B-{i}" for i in range(50)})
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_a_save_that_fails_leaves_neither_a_temporary_file_nor_a_changed_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    path = save(_workbook("A"), tmp_path / "财政厅.xlsx")
    before = path.read_bytes()

    real = excel.write_workbook

    def disk_full(wb, target: Path) -> None:
        real(wb, target)
        with target.open("r+b") as f:
            f.truncate(100)  # what reached the disk before it filled up
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(excel, "write_workbook", disk_full)
    with pytest.raises(OSError):
        save(_workbook("B"), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
