"""Metering: the exports of the inbox -> every reading kept, daily and monthly consumption per meter.

`.csv` files in the inbox are 能耗在线监测 exports (docs/inputs.md §2). Each is read once (by content), compared with
the readings already stored, and booked in one transaction; an export another run booked meanwhile is skipped.
"""

import time
from pathlib import Path

import dagster as dg
from sqlalchemy import func, select

from assets._metadata import rows_table, table_schema
from pipelines import metering_store as store
from pipelines.defs.resources import Evaluation, Inbox, LedgerDatabase, Rulebook
from pipelines.inbox_history import run_listing
from pipelines.metering import ingest
from pipelines.metering_reader import display_name
from pipelines.metering_readings import folder_for
from rules.parameters import Parameters
from schemas.tables import meter_months

MONTH_COLUMNS = table_schema(
    [
        ("credit_code", "text", "统一社会信用代码"),
        ("meter_id", "text", "计量点编号"),
        ("medium", "text", "介质"),
        ("month", "text", "YYYY-MM（北京时间，区间量按区间结束时刻前一刻归属）"),
        ("unit", "text", "标准单位 kWh / kg / m3 / MJ"),
        ("consumption", "numeric", "消耗量（标准单位）"),
        ("tce", "numeric", "折标准煤（吨），水与可再生电力为空"),
        ("readings_present", "integer", "有效读数"),
        ("readings_expected", "integer", "应有读数（按计量点常用间隔）"),
        ("resets", "integer", "累计示数回零次数"),
        ("conflicts", "integer", "同一时刻读数冲突次数（该区间按缺测计）"),
    ]
)


@dg.asset(
    description="收件箱中的能耗在线监测 CSV：逐文件流式读取、校验、换算为标准单位，保存每个有效读数，与已入库读数比对"
    "（重发相同值为一个读数，不同值为冲突并按缺测计），按计量点、介质、日和月汇总；只读新文件，同一文件重复入库不改变"
    "任何数据。Tables `meter_days`, `meter_months`, `meter_conflicts`, `metering_files`.",
    metadata={"dagster/column_schema": MONTH_COLUMNS},
    pool="ledger_db",
    deps=["run_settings"],  # ops (issue 13.9): nothing is read before the settings are checked
)
def meter_readings(
    context: dg.AssetExecutionContext,
    inbox: Inbox,
    ledger_db: LedgerDatabase,
    evaluation: Evaluation,
    rulebook: Rulebook,
):
    # The one inbox listing (pipelines/inbox.py): no link out of the inbox, nothing dated after the evaluation day.
    listing, engine = run_listing(inbox.folder, evaluation.date, ledger_db)
    paths = listing.metering
    parameters = rulebook.parameters
    readings = folder_for(engine)
    with engine.connect() as conn:
        done, known = store.ingested(conn), store.seen(conn)
    files, skipped, not_compared = [], [], []
    for path in paths:
        info = path.stat()
        stat = (info.st_size, info.st_mtime_ns)
        # An export booked before, lying unchanged where it lay, is not read again (the night's cost follows what
        # is new, not the inbox). Any other file is judged by its content, hashed while it is parsed.
        if (display_name(path), *stat) in known:
            skipped.append({"文件": display_name(path), "原因": "该文件此前已入库，未重复读取"})
            continue
        started = time.perf_counter()
        outcome, result = _book(engine, path, done, context.run.run_id, parameters, readings, stat)
        done.add(result.sha256)
        if outcome != "booked":
            skipped.append({"文件": result.file, "原因": SKIPPED[outcome]})
            continue
        for cc, meter, medium, lost in result.not_compared:
            not_compared.append(
                {"文件": result.file, "企业": cc, "计量点": meter, "介质": medium, "缺读数的文件": lost}
            )
            context.log.warning(
                f"{result.file}: 计量点 {meter}（{cc}，{medium}）的重发读数未比对，原有数据保持不变："
                f"此前文件「{lost}」的读数不在读数库中（读数库是否随台账一起备份恢复？）"
            )
        files.append(
            {
                "文件": result.file,
                "编码": result.encoding,
                "收到行": result.received,
                "接受": result.accepted,
                "退回": result.rejected,
                "与已入库读数比对": result.overlapping,
                "重复": result.duplicates,
                "冲突": result.conflicts,
                "回零": result.resets,
                "秒": round(time.perf_counter() - started, 2),
            }
        )
    with engine.connect() as conn:
        months = conn.execute(select(func.count()).select_from(meter_months)).scalar_one()
        m = meter_months.c
        latest = [
            dict(r._mapping)
            for r in conn.execute(
                select(m.credit_code, m.meter_id, m.medium, m.month, m.unit, m.consumption,
                       m.readings_present, m.readings_expected)
                .order_by(m.month.desc(), m.credit_code)
                .limit(20)
            )
        ]  # fmt: skip
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": int(months),
            "files_ingested": dg.MetadataValue.json([f["文件"] for f in files]),
            "files_skipped": rows_table(skipped),
            "resends_not_compared": rows_table(not_compared),
            "ingested": rows_table(files),
            "preview": rows_table(latest),
        }
    )


SKIPPED = {
    "same_content": "与此前已入库的文件内容相同（文件名不同），未重复计入",
    "other_run": "另一次运行在此期间已将该文件入库，本次跳过，数据不重复计入",
}


def _book(engine, path: Path, done: set[str], run_id: str, parameters: Parameters, readings: Path, stat):
    """Ingest and book one export: "booked", "same_content" (its content was booked under another name) or
    "other_run". Read again (at most three times) if another run moved its meters meanwhile."""
    sha = None
    for attempt in range(3):
        with engine.connect() as conn:
            previous = store.previous_states(conn)
        result = ingest(path, previous, sha256=sha, readings=readings)
        sha = result.sha256
        if sha in done:
            if result.sink is not None:
                result.sink.discard()
            return "same_content", result
        try:
            booked = store.store(engine, result, run_id, parameters, previous, readings, stat)
            return ("booked" if booked else "other_run"), result
        except store.StaleStates:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")
