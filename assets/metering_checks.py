"""Checks on the metering tables: each export's accounting, conflicting readings, months against days."""

import dagster as dg
from sqlalchemy import func, select

from assets._metadata import rows_table
from assets.metering import meter_readings
from pipelines.defs.resources import LedgerDatabase
from schemas.tables import SubmissionRejection, meter_conflicts, meter_days, meter_months, metering_files


@dg.asset_check(
    asset=meter_readings,
    description="每个已入库的计量文件：接受行 + 退回行 = 收到行，且退回行数 = submission_rejections 中该文件记录的退回行",
)
def metering_files_balance(ledger_db: LedgerDatabase) -> dg.AssetCheckResult:
    f, r = metering_files.c, SubmissionRejection
    with ledger_db.engine().connect() as conn:
        recorded = dict(
            conn.execute(
                select(r.file_sha256, func.count(func.distinct(r.row_number)))
                .where(r.sheet == "metering", r.row_number > 1)
                .group_by(r.file_sha256)
            ).all()
        )
        files = conn.execute(
            select(f.file, f.file_sha256, f.rows_received, f.rows_accepted, f.rows_rejected).order_by(f.file)
        ).all()
    rows, wrong = [], []
    for x in files:
        lines = int(recorded.get(x.file_sha256, 0))
        row = {"文件": x.file, "收到": x.rows_received, "接受": x.rows_accepted, "退回": x.rows_rejected,
               "记录的退回行": lines}  # fmt: skip
        rows.append(row)
        if x.rows_accepted + x.rows_rejected != x.rows_received or x.rows_rejected != lines:
            wrong.append(row)
    return dg.AssetCheckResult(
        passed=not wrong,
        metadata={"files": len(files), "accounting": rows_table(rows, limit=60)},
        description=None
        if not wrong
        else "；".join(
            f"「{w['文件']}」收到 {w['收到']} 行，接受 {w['接受']} + 退回 {w['退回']}，记录的退回行 {w['记录的退回行']}"
            for w in wrong
        )
        + "：计量文件的计数与记录不一致（入库是单个事务，说明表被手工改动）。请系统管理员核对 metering_files 与"
        "submission_rejections 中这些文件的记录；查明前，涉及这些文件的节能节水核定以人工审核为准",
    )


@dg.asset_check(
    asset=meter_readings,
    description="（警告）同一计量点同一时刻读数不一致（同一文件内或前后文件之间）：列出每个给出的值与文件，该区间按缺测计",
)
def conflicting_readings(ledger_db: LedgerDatabase) -> dg.AssetCheckResult:
    c = meter_conflicts.c
    with ledger_db.engine().connect() as conn:
        total = conn.execute(select(func.count()).select_from(meter_conflicts)).scalar_one()
        rows = [
            {"企业": r.credit_code, "计量点": r.meter_id, "介质": r.medium, "时刻": r.reading_at,
             "单位": r.unit, "给出的值（文件）": r.values_given}
            for r in conn.execute(
                select(c.credit_code, c.meter_id, c.medium, c.reading_at, c.values_given, c.unit)
                .order_by(c.credit_code, c.meter_id, c.ts)
                .limit(200)
            )
        ]  # fmt: skip
    return dg.AssetCheckResult(
        passed=not total,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"conflicts": int(total), "preview": rows_table(rows, limit=60)},
        description=None
        if not total
        else f"{total} 个计量点时刻的读数前后不一致，已按缺测计（不取任何一个值）："
        + "；".join(
            f"{r['企业']} 计量点 {r['计量点']} {r['时刻']} 给出（{r['单位']}）{r['给出的值（文件）']}"
            for r in rows[:10]
        )
        + "。请企业核实正确读数后重新导出更正文件；在此之前涉及这些区间的节能节水核定可能转人工审核",
    )


@dg.asset_check(
    asset=meter_readings,
    description="meter_months 的每个计量点、介质、月份的消耗量（微单位）= meter_days 逐日之和",
)
def meter_months_match_days(ledger_db: LedgerDatabase) -> dg.AssetCheckResult:
    engine = ledger_db.engine()
    d, m = meter_days.c, meter_months.c
    month = (
        func.to_char(d.day, "YYYY-MM")
        if engine.dialect.name == "postgresql"
        else func.strftime("%Y-%m", d.day)
    )
    with engine.connect() as conn:
        days = {
            (cc, meter, medium, mon): int(total)
            for cc, meter, medium, mon, total in conn.execute(
                select(d.credit_code, d.meter_id, d.medium, month, func.sum(d.consumption_e6)).group_by(
                    d.credit_code, d.meter_id, d.medium, month
                )
            )
        }
        months = {
            (cc, meter, medium, mon): int(total or 0)
            for cc, meter, medium, mon, total in conn.execute(
                select(m.credit_code, m.meter_id, m.medium, m.month, m.consumption_e6)
            )
        }
    wrong = [
        {"企业": k[0], "计量点": k[1], "介质": k[2], "月份": k[3],
         "逐日合计(e6)": days.get(k, 0), "月度(e6)": months.get(k, 0)}
        for k in sorted(set(days) | set(months))
        if days.get(k, 0) != months.get(k, 0)
    ]  # fmt: skip
    return dg.AssetCheckResult(
        passed=not wrong,
        metadata={"months": len(months), "mismatches": rows_table(wrong, limit=50)},
        description=None
        if not wrong
        else f"{len(wrong)} 个计量点月份的月度汇总与逐日数据不一致："
        + "；".join(f"企业 {w['企业']} 计量点 {w['计量点']}（{w['介质']}）{w['月份']}" for w in wrong[:10])
        + "。请系统管理员对所列计量点和月份重建月度汇总（pipelines.metering_months.rebuild_months）；在此之前能源局"
        "可再生能源消纳比例和工信厅再生铝月度能耗不可签发",
    )
