"""From accepted sheet rows to the typed `rules.model.Application`s the rules read (万元 -> yuan, exactly)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import pandas as pd

from pipelines.intake import Submissions, columns
from rules import model
from rules.money import from_wan
from schemas.sheets import SHEETS

# Which detail sheet each program needs before it can be evaluated at all.
REQUIRED_DETAIL = {program: sheet.key for sheet in SHEETS for program in sheet.programs}
# The application columns the rules read as they are (the 万元 figures become yuan).
_AS_TYPED = ("application_id", "program", "credit_code", "project_code", "project_name", "submitted_on",
             "construction_start", "completion_date", "production_start", "product_price_yuan_per_t",
             "reference_price_yuan_per_t")  # fmt: skip


def _wan(value: Any) -> Decimal | None:
    return None if value is None else from_wan(value)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """`frame.to_dict("records")`, read column by column: the sheet frames are object columns of typed cells (and
    the str/int bookkeeping columns, which `tolist` gives as Python values too), so the cells are the same
    objects, without pandas boxing each of them on its way."""
    keys = list(frame.columns)
    columns = [frame[k].tolist() for k in keys]
    return [dict(zip(keys, values, strict=True)) for values in zip(*columns, strict=True)]


def _rows(frame: pd.DataFrame) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for record in _records(frame):
        out.setdefault(record["application_id"], []).append(record)
    return out


def build(
    subs: Submissions, metered: Mapping[str, model.MeteredSaving] | None = None
) -> list[model.Application]:
    """Every accepted application, each with what its meters say when `metered` has it (issue 5)."""
    f = subs.frames
    metered = metered or {}
    enterprises = {r["credit_code"]: r for r in _records(f["enterprises"])}
    loans, recs, stds, ips, savings, gates, vats = (
        _rows(f[k])
        for k in (
            "loans",
            "recognitions",
            "standards",
            "ip_assets",
            "savings_claims",
            "gate_metrics",
            "vat_claims",
        )
    )
    detail_by_sheet = {
        "loans": loans,
        "recognitions": recs,
        "standards": stds,
        "ip_assets": ips,
        "savings_claims": savings,
        "gate_metrics": gates,
        "vat_claims": vats,
    }
    out = []
    for a in _records(f["applications"]):
        app_id = a["application_id"]
        problems = list(subs.problems.get(app_id, []))
        needed = REQUIRED_DETAIL.get(a["program"])
        if needed and not detail_by_sheet[needed].get(app_id) and not problems:
            name = next(s.name for s in SHEETS if s.key == needed)
            problems.append(
                (
                    "MISSING_DETAIL",
                    f"申报类别 {a['program']} 须在「{name}」表中填写明细，本批次未提供，请补充后重新提交",
                )
            )
        e = enterprises.get(a["credit_code"])
        out.append(
            model.Application(
                **columns(a, *_AS_TYPED),
                enterprise=model.Enterprise(
                    e["credit_code"], e["name"], e["league_city"], e["tax_credit_grade"]
                )
                if e
                else None,
                total_investment=_wan(a["total_investment_wan"]),
                equipment_investment=_wan(a["equipment_investment_wan"]),
                completed_investment=_wan(a["completed_investment_wan"]),
                loans=tuple(
                    model.Loan(
                        r["loan_contract_no"],
                        r["lender"],
                        from_wan(r["principal_wan"]),
                        r["annual_rate_pct"],
                        r["drawdown_date"],
                        r["repaid_date"],
                        from_wan(r["interest_paid_wan"]),
                    )
                    for r in loans.get(app_id, [])
                ),
                recognitions=tuple(
                    model.Recognition(
                        r["recognition_type"], r["level"], r["recognized_on"], r["document_no"] or ""
                    )
                    for r in recs.get(app_id, [])
                ),
                standards=tuple(
                    model.Standard(r["standard_code"], r["standard_level"], r["role"], r["published_on"])
                    for r in stds.get(app_id, [])
                ),
                ip_assets=tuple(
                    model.IpAsset(r["ip_kind"], r["ip_number"], r["acquisition"], r["granted_on"])
                    for r in ips.get(app_id, [])
                ),
                savings_claims=tuple(savings_claim(r) for r in savings.get(app_id, [])),
                gate_metrics=tuple(
                    model.GateMetrics(
                        r["process"],
                        r["unit_energy"],
                        r["renewable_share_pct"],
                        r["environmental_grade"],
                        r["capacity_source"],
                        r["paired_project_code"],
                        r["meets_industry_norms"],
                        r["advanced_equipment"],
                        r["catalog_allowed"],
                    )
                    for r in gates.get(app_id, [])
                ),
                vat_claims=tuple(
                    model.VatClaim(
                        r["period_start"],
                        r["period_end"],
                        from_wan(r["sales_wan"]),
                        from_wan(r["vat_paid_wan"]),
                        r["waste_feed_share_pct"],
                        r["serious_violation_6m"],
                        r["restricted_or_eliminated"],
                    )
                    for r in vats.get(app_id, [])
                ),
                intake_problems=tuple(problems),
                metered=metered.get(app_id),
            )
        )
    return out


def savings_claim(r: dict[str, Any]) -> model.SavingsClaim:
    """One accepted 节能节水 row as the rules read it."""
    return model.SavingsClaim(
        r["claimed_saving"],
        r["baseline_start"],
        r["baseline_end"],
        r["reporting_start"],
        r["reporting_end"],
        tuple(r["meter_ids"]),
        r["baseline_output_t"],
        r["reporting_output_t"],
    )
