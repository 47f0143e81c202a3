"""Verified savings: each ENERGY_SAVING / WATER_SAVING claim's boundary as the meters measured it, per meter and
period, and the checks an operator acts on (meters without readings, meters of another enterprise, coverage)."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import dagster as dg
from sqlalchemy import select

from assets._metadata import rows_table, table_schema, warning
from pipelines.defs.resources import LedgerDatabase, Rulebook
from pipelines.intake import Submissions
from pipelines.metering_boundary import Verification, verify
from rules.parameters import Parameters
from schemas.tables import meter_series

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
COVERAGE_KEY = "savings.min_metering_coverage"


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
def metered_savings(
    context: dg.AssetExecutionContext, submissions: Submissions, ledger_db: LedgerDatabase, rulebook: Rulebook
):
    verifications = verify(ledger_db.engine(), submissions, rulebook.parameters)
    yield dg.Output(
        {app_id: v.metered for app_id, v in verifications.items()},
        metadata={
            "dagster/row_count": len(verifications),
            "dagster/column_schema": SAVINGS_COLUMNS,
            "preview": rows_table(
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
    yield metering_coverage(verifications, claims, rulebook.parameters)


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
    a = f["applications"]
    apps = dict(zip(a["application_id"], zip(a["credit_code"], a["submitted_on"], strict=True), strict=True))
    out = {}
    for r in f["savings_claims"].to_dict("records"):
        app = apps.get(r["application_id"])
        if app is None or r["application_id"] in out:
            continue
        credit_code, submitted_on = app
        out[r["application_id"]] = ClaimContext(
            credit_code,
            names.get(credit_code) or "企业名称未知",
            submitted_on,
            f"{r['baseline_start']:%Y-%m-%d}至{r['baseline_end']:%Y-%m-%d}",
            f"{r['reporting_start']:%Y-%m-%d}至{r['reporting_end']:%Y-%m-%d}",
        )
    return out


def claimed_meters_found(
    verifications: dict[str, Verification], claims: dict[str, ClaimContext]
) -> dg.AssetCheckResult:
    missing: list[dict[str, Any]] = []
    lines: list[str] = []
    for app_id, v in verifications.items():
        claim = claims[app_id]
        for meter in v.metered.unknown_meters:
            missing.append({"申报编号": app_id, "企业": claim.enterprise, "计量点": meter,
                            "基期": claim.baseline, "报告期": claim.reporting})  # fmt: skip
            lines.append(f"补传{claim.who(app_id)}计量点 {meter} 在基期 {claim.baseline}、报告期 {claim.reporting} "
                         "的能耗在线监测数据，或核对「节能节水」表中的计量点编号后重新上传申报")  # fmt: skip
    metadata = {
        "applications": len(verifications),
        "meters_without_readings": len(missing),
        "preview": rows_table(missing, limit=50),
    }
    return _warning("claimed_meters_found", lines, "。补齐前这些申报转人工审核", metadata)


def claimed_meters_belong_to_applicant(
    ledger_db: LedgerDatabase, verifications: dict[str, Verification], claims: dict[str, ClaimContext]
) -> dg.AssetCheckResult:
    foreign = {m for v in verifications.values() for m in v.metered.foreign_meters}
    owners: dict[str, list[str]] = defaultdict(list)
    if foreign:
        with ledger_db.engine().connect() as conn:
            for cc, meter in conn.execute(
                select(meter_series.c.credit_code, meter_series.c.meter_id)
                .where(meter_series.c.meter_id.in_(sorted(foreign)))
                .distinct()
            ):
                owners[meter].append(cc)
    found: list[dict[str, Any]] = []
    lines: list[str] = []
    for app_id, v in verifications.items():
        claim = claims[app_id]
        for meter in v.metered.foreign_meters:
            owner = "、".join(sorted(owners.get(meter, []))) or "—"
            found.append(
                {"申报编号": app_id, "申报企业": claim.credit_code, "计量点": meter, "读数所属企业": owner}
            )
            lines.append(f"{claim.who(app_id)}所列计量点 {meter} 的读数属于企业 {owner}："
                         "请核对计量点编号，更正「节能节水」表后重新上传；确属共用计量点的，请补传本企业的分表数据")  # fmt: skip
    metadata = {"foreign_meter_claims": len(found), "preview": rows_table(found, limit=50)}
    then = "。这些计量点不计入申报企业的节约量，申报转人工审核"
    return _warning("claimed_meters_belong_to_applicant", lines, then, metadata)


def metering_coverage(
    verifications: dict[str, Verification], claims: dict[str, ClaimContext], parameters: Parameters
) -> dg.AssetCheckResult:
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
                    if m.get("counted", True) and _below(m[side], floor)
                ] + [*v.metered.unknown_meters, *v.metered.foreign_meters]
                short.append(
                    f"补传{claim.who(app_id)}{label} {period} 计量点 {'、'.join(gaps) or '—'} 的缺测读数"
                    f"（覆盖率 {measure.coverage:.2%}，低于 {floor:.0%}）"
                )
    metadata = {
        "threshold_parameter": COVERAGE_KEY,
        "periods_below_threshold": len(short),
        "coverage": rows_table(rows, limit=100),
    }
    then = "。覆盖率不足的申报不作推算，转人工审核；补传后下一次运行自动重新核定"
    return _warning("metering_coverage", short, then, metadata)


def _warning(check_name: str, lines: list[str], then: str, metadata: dict[str, Any]) -> dg.AssetCheckResult:
    """A warning of `metered_savings` (the decision already sends such an application to review): the first 20
    things to fix, then what happens meanwhile; green when there is nothing to fix."""
    description = "；".join(lines[:20]) + then if lines else None
    return warning(check_name, "metered_savings", not lines, metadata, description)


def _below(present_of_expected: str, floor: Decimal) -> bool:
    present, expected = (int(x) for x in present_of_expected.split("/"))
    return expected == 0 or Decimal(present) / Decimal(expected) < floor
