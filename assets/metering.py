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
from sqlalchemy import delete, func, insert, select, text

from assets._metadata import markdown_table, table_schema
from pipelines import metering_store as store
from pipelines.defs.resources import Inbox, LedgerDatabase
from pipelines.intake import Submissions
from pipelines.metering import file_sha256, ingest
from rules.model import MeteredSaving, SavingsClaim
from rules.parameters import Parameters
from schemas.tables import SubmissionRejection

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
SAVINGS_COLUMNS = table_schema(
    [
        ("application_id", "text", "申报编号（ENERGY_SAVING / WATER_SAVING）"),
        ("meter_ids", "text[]", "所申报且有本企业同介质读数的计量点"),
        ("baseline_consumption", "numeric", "基期综合能耗（吨标准煤）或取水量（吨）"),
        ("baseline_coverage", "numeric", "基期计量完整率 0..1"),
        ("reporting_consumption", "numeric", "报告期综合能耗（吨标准煤）或取水量（吨）"),
        ("reporting_coverage", "numeric", "报告期计量完整率 0..1"),
        ("foreign_meters", "text[]", "读数属于其他企业的计量点"),
        ("unknown_meters", "text[]", "没有任何读数的计量点"),
    ]
)
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
COVERAGE_KEY = "savings.min_metering_coverage"


@dg.asset(
    description="收件箱中的能耗在线监测 CSV：逐文件流式读取、校验、换算为标准单位，按计量点、介质、日和月汇总；"
    "只读新文件，同一文件重复入库不改变任何数据。Tables `meter_days`, `meter_months`, `metering_files`.",
    metadata={"dagster/column_schema": MONTH_COLUMNS},
    pool="ledger_db",
    deps=["run_settings"],  # ops (issue 13.9): nothing is read before the settings are checked
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
        latest = [
            dict(r._mapping)
            for r in conn.execute(
                select(
                    store.meter_months.c.credit_code,
                    store.meter_months.c.meter_id,
                    store.meter_months.c.medium,
                    store.meter_months.c.month,
                    store.meter_months.c.unit,
                    store.meter_months.c.consumption,
                    store.meter_months.c.readings_present,
                    store.meter_months.c.readings_expected,
                )
                .order_by(store.meter_months.c.month.desc(), store.meter_months.c.credit_code)
                .limit(20)
            )
        ]
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": int(months),
            "files_ingested": dg.MetadataValue.json([f["文件"] for f in files]),
            "files_already_ingested": dg.MetadataValue.json(skipped),
            "ingested": markdown_table(files),
            "preview": markdown_table(latest),
        }
    )


@dg.asset_check(
    asset=meter_readings,
    description="每个已入库的计量文件：接受行 + 退回行 = 收到行，且退回行数 = submission_rejections 中该文件记录的退回行",
)
def metering_files_balance(ledger_db: LedgerDatabase) -> dg.AssetCheckResult:
    f, r = store.metering_files.c, SubmissionRejection
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
        metadata={"files": len(files), "accounting": markdown_table(rows, limit=60)},
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
    description="（警告）后到文件中时间不晚于同一计量点此前最后读数的行（重发或迟到的数据）：按重叠忽略，未与原读数比对",
)
def overlapping_readings_ignored(ledger_db: LedgerDatabase) -> dg.AssetCheckResult:
    f = store.metering_files.c
    with ledger_db.engine().connect() as conn:
        files = conn.execute(
            select(f.file, f.rows_overlapping).where(f.rows_overlapping > 0).order_by(f.file)
        ).all()
    # Readings already covered by an earlier file are skipped, not compared: a corrected resend would otherwise
    # be dropped without anyone noticing.
    rows = [{"文件": x.file, "重叠忽略的行": int(x.rows_overlapping)} for x in files]
    return dg.AssetCheckResult(
        passed=not rows,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"files": len(rows), "overlapping": markdown_table(rows, limit=60)},
        description=None
        if not rows
        else "；".join(f"「{r['文件']}」{r['重叠忽略的行']} 行" for r in rows)
        + "：这些读数的时间不晚于同一计量点在此前文件中的最后读数，已按重叠忽略，未与原读数比对。"
        "如为更正后的重发数据，请联系系统管理员人工核对；如为迟到的旧数据，请按时间顺序重新导出",
    )


@dg.asset_check(
    asset=meter_readings,
    description="meter_months 的每个计量点、介质、月份的消耗量（微单位）= meter_days 逐日之和",
)
def meter_months_match_days(ledger_db: LedgerDatabase) -> dg.AssetCheckResult:
    engine = ledger_db.engine()
    d, m = store.meter_days.c, store.meter_months.c
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
        metadata={"months": len(months), "mismatches": markdown_table(wrong, limit=50)},
        description=None
        if not wrong
        else f"{len(wrong)} 个计量点月份的月度汇总与逐日数据不一致："
        + "；".join(f"企业 {w['企业']} 计量点 {w['计量点']}（{w['介质']}）{w['月份']}" for w in wrong[:10])
        + "。请系统管理员对所列计量点和月份重建月度汇总（pipelines.metering_store.rebuild_months）；在此之前能源局"
        "可再生能源消纳比例和工信厅再生铝月度能耗不可签发",
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
    # Warnings only: the decision already sends such an application to 待人工审核; the night must go on.
    check_specs=[
        dg.AssetCheckSpec(
            "claimed_meters_found",
            asset="metered_savings",
            description="每个节能节水申报所列的计量点在在线监测数据中都有读数",
        ),
        dg.AssetCheckSpec(
            "claimed_meters_belong_to_applicant",
            asset="metered_savings",
            description="申报所列计量点的读数属于申报企业本身，没有企业申报其他企业的计量点",
        ),
        dg.AssetCheckSpec(
            "metering_coverage",
            asset="metered_savings",
            description="每个节能节水申报的基期、报告期计量完整率不低于 savings.min_metering_coverage（按申报日期取值）",
        ),
    ],
)
def metered_savings(context: dg.AssetExecutionContext, submissions: Submissions, ledger_db: LedgerDatabase):
    verifications = verify(ledger_db, submissions)
    yield dg.Output(
        {app_id: v.metered for app_id, v in verifications.items()},
        metadata={
            "dagster/row_count": len(verifications),
            "dagster/column_schema": SAVINGS_COLUMNS,
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
        },
    )
    claims = _claims(submissions)
    yield claimed_meters_found(verifications, claims)
    yield claimed_meters_belong_to_applicant(ledger_db, verifications, claims)
    yield metering_coverage(verifications, claims)


@dataclass(frozen=True)
class ClaimContext:
    """Who claimed, when, and over which periods: what a check message needs to say what to fix."""

    credit_code: str
    enterprise: str
    submitted_on: date
    baseline: str
    reporting: str

    def who(self, app_id: str) -> str:
        return f"申报 {app_id}（{self.enterprise}，{self.credit_code}）"


def _claims(submissions: Submissions) -> dict[str, ClaimContext]:
    f = submissions.frames
    names = dict(zip(f["enterprises"]["credit_code"], f["enterprises"]["name"], strict=True))
    apps = {r["application_id"]: r for r in f["applications"].to_dict("records")}
    out = {}
    for r in f["savings_claims"].to_dict("records"):
        app = apps.get(r["application_id"])
        if app is None or r["application_id"] in out:
            continue
        out[r["application_id"]] = ClaimContext(
            app["credit_code"],
            names.get(app["credit_code"]) or "企业名称未知",
            app["submitted_on"],
            f"{r['baseline_start']:%Y-%m-%d}至{r['baseline_end']:%Y-%m-%d}",
            f"{r['reporting_start']:%Y-%m-%d}至{r['reporting_end']:%Y-%m-%d}",
        )
    return out


def claimed_meters_found(
    verifications: dict[str, Verification], claims: dict[str, ClaimContext]
) -> dg.AssetCheckResult:
    missing = [
        {"申报编号": app_id, "企业": claims[app_id].enterprise, "计量点": meter,
         "基期": claims[app_id].baseline, "报告期": claims[app_id].reporting}
        for app_id, v in verifications.items()
        for meter in v.metered.unknown_meters
    ]  # fmt: skip
    lines = [
        f"补传{claims[m['申报编号']].who(m['申报编号'])}计量点 {m['计量点']} 在基期 {m['基期']}、报告期 {m['报告期']} "
        "的能耗在线监测数据，或核对「节能节水」表中的计量点编号后重新上传申报"
        for m in missing
    ]
    return dg.AssetCheckResult(
        check_name="claimed_meters_found",
        asset_key="metered_savings",
        passed=not missing,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "applications": len(verifications),
            "meters_without_readings": len(missing),
            "preview": markdown_table(missing, limit=50),
        },
        description="；".join(lines[:20]) + "。补齐前这些申报转人工审核" if missing else None,
    )


def claimed_meters_belong_to_applicant(
    ledger_db: LedgerDatabase, verifications: dict[str, Verification], claims: dict[str, ClaimContext]
) -> dg.AssetCheckResult:
    foreign = {m for v in verifications.values() for m in v.metered.foreign_meters}
    owners: dict[str, list[str]] = defaultdict(list)
    if foreign:
        with ledger_db.engine().connect() as conn:
            for cc, meter in conn.execute(
                select(store.meter_series.c.credit_code, store.meter_series.c.meter_id)
                .where(store.meter_series.c.meter_id.in_(sorted(foreign)))
                .distinct()
            ):
                owners[meter].append(cc)
    found = [
        {"申报编号": app_id, "申报企业": claims[app_id].credit_code, "计量点": meter,
         "读数所属企业": "、".join(sorted(owners.get(meter, []))) or "—"}
        for app_id, v in verifications.items()
        for meter in v.metered.foreign_meters
    ]  # fmt: skip
    lines = [
        f"{claims[f['申报编号']].who(f['申报编号'])}所列计量点 {f['计量点']} 的读数属于企业 {f['读数所属企业']}："
        "请核对计量点编号，更正「节能节水」表后重新上传；确属共用计量点的，请补传本企业的分表数据"
        for f in found
    ]
    return dg.AssetCheckResult(
        check_name="claimed_meters_belong_to_applicant",
        asset_key="metered_savings",
        passed=not found,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"foreign_meter_claims": len(found), "preview": markdown_table(found, limit=50)},
        description="；".join(lines[:20]) + "。这些计量点不计入申报企业的节约量，申报转人工审核"
        if found
        else None,
    )


def metering_coverage(
    verifications: dict[str, Verification], claims: dict[str, ClaimContext]
) -> dg.AssetCheckResult:
    parameters = Parameters.load()
    rows, short = [], []
    for app_id, v in verifications.items():
        claim = claims[app_id]
        floor = Decimal(str(parameters.at(claim.submitted_on).value(COVERAGE_KEY)))
        for label, measure, period, side in (
            ("基期", v.metered.baseline, claim.baseline, "baseline_coverage"),
            ("报告期", v.metered.reporting, claim.reporting, "reporting_coverage"),
        ):
            row = {"申报编号": app_id, "企业": claim.enterprise, "期间": f"{label} {period}",
                   "有读数/应有": f"{measure.present_intervals}/{measure.expected_intervals}",
                   "覆盖率": f"{measure.coverage:.2%}", "下限": f"{floor:.0%}"}  # fmt: skip
            rows.append(row)
            if measure.coverage < floor:
                gaps = [
                    f"{m['meter_id']}（{m[side]}）"
                    for m in v.detail.get("meters", [])
                    if _below(m[side], floor)
                ] + [*v.metered.unknown_meters, *v.metered.foreign_meters]
                short.append(
                    f"补传{claim.who(app_id)}{label} {period} 计量点 {'、'.join(gaps) or '—'} 的缺测读数"
                    f"（覆盖率 {measure.coverage:.2%}，低于 {floor:.0%}）"
                )
    return dg.AssetCheckResult(
        check_name="metering_coverage",
        asset_key="metered_savings",
        passed=not short,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "threshold_parameter": COVERAGE_KEY,
            "periods_below_threshold": len(short),
            "coverage": markdown_table(rows, limit=100),
        },
        description="；".join(short[:20])
        + "。覆盖率不足的申报不作推算，转人工审核；补传后下一次运行自动重新核定"
        if short
        else None,
    )


def _below(present_of_expected: str, floor: Decimal) -> bool:
    present, expected = (int(x) for x in present_of_expected.split("/"))
    return expected == 0 or Decimal(present) / Decimal(expected) < floor


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
            "dagster/column_schema": RECYCLED_COLUMNS,
            "preview": markdown_table(
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
            "renewable_shares": markdown_table(shares, limit=24),
        }
    )


def _shown(value: Decimal | None, places: str = "0.01") -> object:
    return "—" if value is None else Decimal(value).quantize(Decimal(places))


@dg.asset_check(
    asset=metering_registers,
    description="再生铝基础数据库（四(1)）中每家有 RECYCLED_* 申报的企业都有月度计量数据",
)
def recycled_enterprises_metered(ledger_db: LedgerDatabase) -> dg.AssetCheckResult:
    t = store.recycled_database.c
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
            "without_metering": markdown_table([{"企业": n, "统一社会信用代码": c} for c, n in missing]),
        },
        description=None
        if not missing
        else "；".join(f"补传{n}（{c}）的能耗在线监测数据（电、能源、水）" for c, n in missing)
        + "：再生铝基础数据库中这些企业没有任何月度能耗，工信厅报表该企业的能耗与用水为空",
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
