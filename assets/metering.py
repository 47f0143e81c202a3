"""Metering: exports from the inbox -> daily and monthly consumption per meter -> verified savings and registers.

Energy- and water-saving awards are paid on savings the meters confirm, not on what an enterprise claims
(五(2), GB/T 13234-2018 product method). `.csv` files in the inbox are 能耗在线监测 exports (inputs.md §2).
"""

import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import dagster as dg
from sqlalchemy import delete, insert, text

from assets._metadata import markdown_table, table_schema
from pipelines import metering_store as store
from pipelines.defs.resources import Inbox, LedgerDatabase
from pipelines.intake import Submissions
from pipelines.metering import file_sha256, ingest
from rules.model import MeteredSaving, SavingsClaim
from rules.parameters import Parameters

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
RECYCLED_PROGRAMS = ("RECYCLED_DATABASE", "RECYCLED_VAT", "RECYCLED_PROCESSING_INTEREST")


@dg.asset(
    description="收件箱中的能耗在线监测 CSV：逐文件流式读取、校验、换算为标准单位，按计量点、介质、日和月汇总；"
    "只读新文件，同一文件重复入库不改变任何数据。Tables `meter_days`, `meter_months`, `metering_files`.",
    metadata={"dagster/column_schema": MONTH_COLUMNS},
    pool="ledger_db",
)
def meter_readings(context: dg.AssetExecutionContext, inbox: Inbox, ledger_db: LedgerDatabase):
    engine = ledger_db.engine()
    folder = inbox.folder
    paths = (
        sorted((p for p in folder.glob("*.csv") if p.is_file()), key=lambda p: p.name)
        if folder.exists()
        else []
    )
    parameters = Parameters.load()
    with engine.connect() as conn:
        done = store.ingested(conn)
    files, skipped = [], []
    for path in paths:
        sha = file_sha256(path)
        if sha in done:
            skipped.append(path.name)
            continue
        with engine.connect() as conn:
            previous = store.previous_states(conn)
        started = time.perf_counter()
        result = ingest(path, previous, sha256=sha)
        store.store(engine, result, context.run.run_id, parameters)
        done.add(sha)
        files.append(
            {
                "文件": result.file,
                "编码": result.encoding,
                "收到行": result.received,
                "接受": result.accepted,
                "退回": result.rejected,
                "已入库重叠": result.overlapping,
                "重复": result.duplicates,
                "冲突": result.conflicts,
                "回零": result.resets,
                "秒": round(time.perf_counter() - started, 2),
            }
        )
    with engine.connect() as conn:
        months = conn.execute(text("SELECT COUNT(*) FROM meter_months")).scalar_one()
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": int(months),
            "files_ingested": dg.MetadataValue.json([f["文件"] for f in files]),
            "files_already_ingested": dg.MetadataValue.json(skipped),
            "ingested": markdown_table(files),
        }
    )


@dataclass(frozen=True)
class Verification:
    """A savings application's metered boundary, and the per-meter figures its explanation shows."""

    metered: MeteredSaving
    detail: dict[str, Any]


@dg.asset(
    deps=["meter_readings"],
    description="每个节能、节水申报（ENERGY_SAVING、WATER_SAVING）在基期与报告期内的计量数据：所申报计量点的综合能耗"
    "（吨标准煤，GB/T 2589）或取水量（吨）、覆盖率、不属于本企业的计量点。供 GB/T 13234 产品法核定节约量。",
)
def metered_savings(
    context: dg.AssetExecutionContext, submissions: Submissions, ledger_db: LedgerDatabase
) -> dict[str, MeteredSaving]:
    verifications = verify(ledger_db, submissions)
    context.add_output_metadata(
        {
            "dagster/row_count": len(verifications),
            "preview": markdown_table(
                [
                    {
                        "申报编号": app_id,
                        "计量点": "、".join(v.metered.meter_ids) or "—",
                        "基期": v.metered.baseline.consumption.quantize(Decimal("0.001")),
                        "基期覆盖率": v.metered.baseline.coverage,
                        "报告期": v.metered.reporting.consumption.quantize(Decimal("0.001")),
                        "报告期覆盖率": v.metered.reporting.coverage,
                        "他企计量点": "、".join(v.metered.foreign_meters) or "—",
                        "无读数计量点": "、".join(v.metered.unknown_meters) or "—",
                    }
                    for app_id, v in verifications.items()
                ]
            ),
        }
    )
    return {app_id: v.metered for app_id, v in verifications.items()}


def verify(ledger_db: LedgerDatabase, submissions: Submissions) -> dict[str, Verification]:
    apps = submissions.frames["applications"]
    programs = dict(zip(apps["application_id"], apps["program"], strict=True))
    codes = dict(zip(apps["application_id"], apps["credit_code"], strict=True))
    parameters = Parameters.load()
    out: dict[str, Verification] = {}
    with ledger_db.engine().connect() as conn:
        for r in submissions.frames["savings_claims"].to_dict("records"):
            app_id = r["application_id"]
            program = programs.get(app_id)
            if program not in ("ENERGY_SAVING", "WATER_SAVING") or app_id in out:
                continue
            claim = SavingsClaim(
                r["claimed_saving"],
                r["baseline_start"],
                r["baseline_end"],
                r["reporting_start"],
                r["reporting_end"],
                tuple(r["meter_ids"]),
                r["baseline_output_t"],
                r["reporting_output_t"],
            )
            metered, detail = store.metered_saving(conn, program, codes[app_id], claim, parameters)
            out[app_id] = Verification(metered, detail)
    return out


@dg.asset(
    deps=["meter_readings"],
    description="四(1) 再生铝基础数据库：每家再生铝企业（有 RECYCLED_* 申报）的逐月电力、综合能耗、取水量，"
    "及其增值税申报所载再生原料占比与销售额（工信厅）。二(3) 可再生能源消纳比例见视图 `renewable_shares`（能源局）。"
    " Table `recycled_database`.",
    pool="ledger_db",
)
def metering_registers(
    context: dg.AssetExecutionContext, submissions: Submissions, ledger_db: LedgerDatabase
) -> dg.MaterializeResult:
    engine = ledger_db.engine()
    rows = recycled_rows(engine, submissions, context.run.run_id)
    with engine.begin() as conn:
        conn.execute(delete(store.recycled_database))
        if rows:
            conn.execute(insert(store.recycled_database), rows)
        shares = [
            dict(r._mapping)
            for r in conn.execute(
                text("SELECT credit_code, month, electricity_kwh, renewable_kwh, share FROM renewable_shares "
                     "ORDER BY credit_code, month")
            )
        ]  # fmt: skip
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(rows),
            "recycled_enterprises": len({r["credit_code"] for r in rows}),
            "renewable_share_rows": len(shares),
            "renewable_shares": markdown_table(shares, limit=24),
        }
    )


def recycled_rows(engine: Any, submissions: Submissions, run_id: str) -> list[dict[str, Any]]:
    """One row per recycled-aluminium enterprise and metered month, with the VAT claim covering that month."""
    f = submissions.frames
    apps = f["applications"]
    recycled = apps[apps["program"].isin(RECYCLED_PROGRAMS)]
    enterprises = sorted(set(recycled["credit_code"]))
    names = dict(zip(f["enterprises"]["credit_code"], f["enterprises"]["name"], strict=True))
    vat_apps = dict(zip(recycled["application_id"], recycled["credit_code"], strict=True))
    claims: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in f["vat_claims"].to_dict("records"):
        if r["application_id"] in vat_apps:
            claims[vat_apps[r["application_id"]]].append(r)
    with engine.connect() as conn:
        totals = store.monthly_totals(conn, enterprises, Parameters.load())
    now = datetime.now(UTC)
    rows = []
    for cc in enterprises:
        months: list[str | None] = [*sorted(m for c, m in totals if c == cc)] or [None]
        for month in months:
            t = totals.get((cc, month), {}) if month else {}
            claim = _covering(claims.get(cc, []), month)
            rows.append(
                {
                    "credit_code": cc,
                    "enterprise_name": names.get(cc),
                    "month": month,
                    "electricity_kwh": t.get("electricity"),
                    "energy_tce": t.get("tce"),
                    "water_m3": t.get("water"),
                    "vat_application_id": claim["application_id"] if claim else None,
                    "vat_period_start": claim["period_start"] if claim else None,
                    "vat_period_end": claim["period_end"] if claim else None,
                    "waste_feed_share_pct": claim["waste_feed_share_pct"] if claim else None,
                    "sales_yuan": claim["sales_wan"] * 10000 if claim else None,
                    "run_id": run_id,
                    "recorded_at": now,
                }
            )
    return rows


def _covering(claims: list[dict[str, Any]], month: str | None) -> dict[str, Any] | None:
    """The VAT claim whose period covers the month (the latest one), or the latest claim without metering."""
    ordered = sorted(claims, key=lambda c: c["period_end"], reverse=True)
    if month is None:
        return ordered[0] if ordered else None
    first = date(int(month[:4]), int(month[5:7]), 1)
    return next((c for c in ordered if c["period_start"] <= first <= c["period_end"]), None)
