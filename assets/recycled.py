"""四(1) 再生铝基础数据库 from the meters: each recycled-aluminium enterprise's monthly electricity, energy and
water, with the VAT claim covering the month; and the renewable-share view 二(3) reads."""

from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import dagster as dg
from sqlalchemy import delete, insert, select, text

from assets._metadata import rows_table, table_schema
from pipelines.defs.resources import LedgerDatabase, Rulebook
from pipelines.intake import Submissions
from pipelines.metering_boundary import monthly_totals
from rules.parameters import Parameters
from schemas.tables import recycled_database

RECYCLED_COLUMNS = table_schema(
    [
        ("credit_code", "text", "统一社会信用代码"),
        ("enterprise_name", "text", "企业名称"),
        ("month", "text", "YYYY-MM；空表示该企业没有计量数据"),
        ("electricity_kwh", "numeric", "用电量（千瓦时）"),
        ("energy_tce", "numeric", "综合能耗（吨标准煤）"),
        ("water_m3", "numeric", "取水量（立方米）"),
        ("vat_application_id", "text", "覆盖该月的增值税申报"),
        ("vat_period_start", "date", "增值税所属期起"),
        ("vat_period_end", "date", "增值税所属期止"),
        ("waste_feed_share_pct", "numeric", "废弃物原料占比(%)"),
        ("sales_yuan", "numeric", "综合利用产品销售额（元）"),
        ("run_id", "text", "运行"),
        ("recorded_at", "timestamp", "UTC"),
    ]
)
RECYCLED_PROGRAMS = ("RECYCLED_DATABASE", "RECYCLED_VAT", "RECYCLED_PROCESSING_INTEREST")


@dg.asset(
    deps=["meter_readings"],
    description="四(1) 再生铝基础数据库：每家再生铝企业（有 RECYCLED_* 申报）的逐月电力、综合能耗、取水量，"
    "及其增值税申报所载再生原料占比与销售额（工信厅）。二(3) 可再生能源消纳比例见视图 `renewable_shares`（能源局）。"
    " Table `recycled_database`.",
    pool="ledger_db",
)
def metering_registers(
    context: dg.AssetExecutionContext, submissions: Submissions, ledger_db: LedgerDatabase, rulebook: Rulebook
) -> dg.MaterializeResult:
    engine = ledger_db.engine()
    rows = recycled_rows(engine, submissions, context.run.run_id, rulebook.parameters)
    with engine.begin() as conn:
        conn.execute(delete(recycled_database))
        if rows:
            conn.execute(insert(recycled_database), rows)
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
            "dagster/column_schema": RECYCLED_COLUMNS,
            "preview": rows_table(
                [
                    {
                        "企业": r["enterprise_name"] or r["credit_code"],
                        "月份": r["month"] or "—",
                        "用电量(千瓦时)": _shown(r["electricity_kwh"]),
                        "综合能耗(吨标准煤)": _shown(r["energy_tce"], "0.001"),
                        "取水量(立方米)": _shown(r["water_m3"]),
                        "增值税申报": r["vat_application_id"] or "—",
                    }
                    for r in rows
                ]
            ),
            "recycled_enterprises": len({r["credit_code"] for r in rows}),
            "renewable_share_rows": len(shares),
            "renewable_shares": rows_table(shares, limit=24),
        }
    )


def _shown(value: Decimal | None, places: str = "0.01") -> object:
    return "—" if value is None else Decimal(value).quantize(Decimal(places))


@dg.asset_check(
    asset=metering_registers,
    description="再生铝基础数据库（四(1)）中每家有 RECYCLED_* 申报的企业都有月度计量数据",
)
def recycled_enterprises_metered(ledger_db: LedgerDatabase) -> dg.AssetCheckResult:
    t = recycled_database.c
    with ledger_db.engine().connect() as conn:
        rows = conn.execute(select(t.credit_code, t.enterprise_name, t.month)).all()
    metered = {r.credit_code for r in rows if r.month is not None}
    missing = sorted(
        {(r.credit_code, r.enterprise_name or "企业名称未知") for r in rows if r.credit_code not in metered}
    )
    return dg.AssetCheckResult(
        passed=not missing,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "recycled_enterprises": len({r.credit_code for r in rows}),
            "without_metering": rows_table([{"企业": n, "统一社会信用代码": c} for c, n in missing]),
        },
        description=None
        if not missing
        else "；".join(f"补传{n}（{c}）的能耗在线监测数据（电、能源、水）" for c, n in missing)
        + "：再生铝基础数据库中这些企业没有任何月度能耗，工信厅报表该企业的能耗与用水为空",
    )


def recycled_rows(
    engine: Any, submissions: Submissions, run_id: str, parameters: Parameters
) -> list[dict[str, Any]]:
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
        totals = monthly_totals(conn, enterprises, parameters)
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
