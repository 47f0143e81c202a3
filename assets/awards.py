"""Decisions for every application and the award ledger, written together in one transaction.

Each booking records the ledger's chain head (entry id and hash) on the `award_ledger` materialization, in the
Dagster instance and so outside the ledger database; the next booking and `ledger_chain_intact` require that the
ledger still holds it (pipelines/ledger_chain.py).
"""

import json
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from functools import cache
from typing import Any

import dagster as dg
from sqlalchemy import func, select

from assets._metadata import escape_markdown, rows_table, table_schema
from pipelines import decision_basis, tonight
from pipelines.collector import collector_paused
from pipelines.defs.resources import Evaluation, LedgerDatabase, Rulebook
from pipelines.intake import Submissions
from pipelines.ledger import (
    LOCK_TIMEOUT_SECONDS,
    BookingResult,
    LedgerBusy,
    LedgerTampered,
    book,
    from_fen,
    held_keys,
)
from pipelines.ledger_chain import ChainHead
from rules.decision import Decision
from rules.engine import decide_all_with_span
from rules.evaluation_span import Span
from rules.model import MeteredSaving
from rules.parameters import Parameters
from rules.review import Determination
from schemas.tables import ApplicationDecision, LedgerEntry

STABLE_CODE = re.compile(r"^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$")
CHINESE = re.compile(r"[\u4e00-\u9fff]")
# The metadata of an `award_ledger` materialization that records the chain head after its booking.
HEAD_ENTRY_ID = "chain_head_entry_id"
HEAD_HASH = "chain_head"
PREVIEW_ROWS = 20

LEDGER_COLUMNS = table_schema(
    [
        ("entry_id", "integer", "递增序号"),
        ("award_key", "text", "一次性奖励对象"),
        ("application_id", "text", "申报编号"),
        ("credit_code", "text", "统一社会信用代码"),
        ("enterprise_name", "text", "企业名称"),
        ("program", "text", "申报类别"),
        ("clause", "text", "条款"),
        ("entry_type", "text", "award | reversal"),
        ("reverses_entry_id", "integer", "冲销的分录"),
        ("amount_yuan", "decimal(14,2)", "金额（元），冲销为负"),
        ("lead_department", "text", "牵头部门"),
        ("rulebook_version", "text", "规则版本"),
        ("run_id", "text", "运行"),
        ("recorded_at", "timestamp", "UTC"),
        ("basis", "text (JSON)", "计算依据"),
    ]
)
DECISION_COLUMNS = table_schema(
    [
        ("application_id", "text", "申报编号"),
        ("program", "text", "申报类别"),
        ("credit_code", "text", "统一社会信用代码"),
        ("decision", "text", "awarded | eligible | compliant | non_compliant | rejected | needs_review"),
        ("amount_yuan", "decimal(14,2)", "奖补金额或增值税退税估算"),
        ("reasons", "text (JSON)", "理由"),
        ("rulebook_version", "text", "规则版本"),
        ("run_id", "text", "运行"),
        ("evaluated_at", "timestamp", "UTC"),
    ]
)


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            "application_decisions",
            deps=["submissions", "metered_savings", "review_determinations"],
            description="每个申报的当前决定（含逐项条件、比较值、参数及出处）。Table `application_decisions`.",
            metadata={"dagster/column_schema": DECISION_COLUMNS},
        ),
        dg.AssetSpec(
            "award_ledger",
            deps=["application_decisions"],
            description="专项资金奖补台账：只追加，更正以冲销加新分录记账。Table `award_ledger`.",
            metadata={"dagster/column_schema": LEDGER_COLUMNS},
        ),
    ],
    pool="ledger_db",
)
def awards(
    context: dg.AssetExecutionContext,
    submissions: Submissions,
    metered_savings: dict[str, MeteredSaving],
    review_determinations: dict[str, Determination],
    evaluation: Evaluation,
    ledger_db: LedgerDatabase,
    rulebook: Rulebook,
):
    with collector_paused():  # pipelines/collector.py: a third of the deciding time otherwise
        engine = ledger_db.engine()
        parameters = rulebook.parameters
        as_of = evaluation.date
        run_id = context.run.run_id
        inputs = decision_basis.inputs_digest(
            submissions, metered_savings, review_determinations, parameters.version
        )
        head = recorded_head(context.instance)
        try:
            # Nothing new since the decisions were made, and tonight inside their span: keep them (issue 13.16).
            kept = decision_basis.restamp(
                engine,
                inputs,
                as_of,
                run_id,
                parameters.version,
                datetime.now(UTC),
                head,
                LOCK_TIMEOUT_SECONDS,
            )
            if kept is not None:
                result = BookingResult(awards=0, reversals=0, net_fen=0, attempts=1, head=kept)
            else:
                result = _decide_and_book(
                    engine,
                    submissions,
                    metered_savings,
                    review_determinations,
                    as_of,
                    parameters,
                    run_id,
                    head,
                    inputs,
                )
        except (LedgerTampered, LedgerBusy) as refused:
            # Nothing was written (one transaction). Retrying cannot help: an operator must look first.
            raise dg.Failure(description=str(refused), allow_retries=False) from refused

        count, by_outcome, preview = _decisions_of(engine, run_id)
        yield dg.Output(
            None,
            output_name="application_decisions",
            metadata={
                "dagster/row_count": count,
                "by_decision": dg.MetadataValue.json(by_outcome),
                "as_of": as_of.isoformat(),
                "rulebook_version": parameters.version,
                # kept: nothing new since the run that made them, and tonight within the dates they hold for
                "decided": "kept" if kept is not None else "in full",
                "preview": rows_table(preview, total=count),
            },
        )
        total_entries, booked = _ledger_entries(engine, run_id)
        yield dg.Output(
            None,
            output_name="award_ledger",
            metadata={
                "dagster/row_count": total_entries,
                "awards_booked": result.awards,
                "reversals_booked": result.reversals,
                "net_booked_yuan": str(from_fen(result.net_fen)),
                "attempts": result.attempts,
                HEAD_ENTRY_ID: result.head.entry_id,
                HEAD_HASH: result.head.entry_hash,
                "booked_this_run": rows_table(booked, limit=50),
            },
        )


def _decide_and_book(
    engine: Any,
    submissions: Submissions,
    metered_savings: dict[str, MeteredSaving],
    review_determinations: dict[str, Determination],
    as_of: date,
    parameters: Parameters,
    run_id: str,
    head: ChainHead | None,
    inputs: str | None,
) -> BookingResult:
    """Decide every application and book the decisions, recording what they were made from."""
    # Savings applications are decided on what the meters confirm (issue 5), not on the claim alone.
    applications = tonight.applications(submissions, metered_savings)  # the what-if builds them the same way
    held = held_keys(engine)
    ents = submissions.frames["enterprises"]
    names = dict(zip(ents["credit_code"], ents["name"], strict=True))
    cities = dict(zip(ents["credit_code"], ents["league_city"], strict=True))
    apps = submissions.frames["applications"]
    files = dict(zip(apps["application_id"], apps["_file"], strict=True))
    submitted: dict[str, str] = {
        a: d.isoformat() for a, d in zip(apps["application_id"], apps["submitted_on"], strict=True)
    }

    def decide(held: Mapping[str, str]) -> tuple[list[Decision], Span]:
        # The lead departments' determinations in force settle or reject what the data left open (issue 15).
        return decide_all_with_span(applications, as_of, parameters, held=held, reviews=review_determinations)

    decisions, span = decide(held)
    return book(
        engine,
        decisions,
        run_id=run_id,
        rulebook_version=parameters.version,
        enterprise_names=names,
        league_cities=cities,
        source_files=files,
        submitted_on=submitted,
        decided_with=held,
        recorded_head=head,
        recorder=decision_basis.Recorder(inputs, decisions, span, held, decide),
    )


def _decisions_of(engine: Any, run_id: str) -> tuple[int, dict[str, int], list[dict[str, Any]]]:
    """The decisions this run stamped: how many, by outcome, and the first in submission order."""
    stamped = ApplicationDecision.run_id == run_id
    with engine.connect() as conn:
        by_outcome = dict(
            conn.execute(
                select(ApplicationDecision.decision, func.count())
                .where(stamped)
                .group_by(ApplicationDecision.decision)
                .order_by(ApplicationDecision.decision)
            ).all()
        )
        first = conn.execute(
            select(
                ApplicationDecision.application_id,
                ApplicationDecision.program,
                ApplicationDecision.decision,
                ApplicationDecision.amount_fen,
            )
            .where(stamped)
            .order_by(
                ApplicationDecision.submitted_on.is_(None),
                ApplicationDecision.submitted_on,
                ApplicationDecision.application_id,
            )
            .limit(PREVIEW_ROWS)
        ).all()
    preview = [
        {
            "申报编号": r.application_id,
            "类别": r.program,
            "决定": r.decision,
            "金额": None if r.amount_fen is None else from_fen(int(r.amount_fen)),
        }
        for r in first
    ]
    return sum(by_outcome.values()), {str(k): int(v) for k, v in by_outcome.items()}, preview


def recorded_head(instance: dg.DagsterInstance) -> ChainHead | None:
    """The chain head recorded by the latest materialization of `award_ledger`, if it recorded one.

    Runs that interleave may record in another order than they booked; the chain only grows, so whichever head
    is the latest recorded must still be in it. A materialization without a head (before heads were recorded, or
    one an operator reported after restoring the ledger, docs/runbook.md §7) asks for the chain alone.
    """
    event = instance.get_latest_materialization_event(dg.AssetKey("award_ledger"))
    materialization = event.asset_materialization if event is not None else None
    if materialization is None:
        return None
    metadata = materialization.metadata
    if HEAD_ENTRY_ID not in metadata or HEAD_HASH not in metadata:
        return None
    return ChainHead(int(str(metadata[HEAD_ENTRY_ID].value)), str(metadata[HEAD_HASH].value))


def _ledger_entries(engine: Any, run_id: str) -> tuple[int, list[dict[str, Any]]]:
    """All entries in the ledger after this run, and the ones this run booked (for the preview)."""
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(LedgerEntry)).scalar_one()
        rows = conn.execute(
            select(
                LedgerEntry.entry_id,
                LedgerEntry.entry_type,
                LedgerEntry.award_key,
                LedgerEntry.application_id,
                LedgerEntry.enterprise_name,
                LedgerEntry.program,
                LedgerEntry.amount_fen,
            )
            .where(LedgerEntry.run_id == run_id)
            .order_by(LedgerEntry.entry_id)
        ).all()
    booked = [
        {
            "分录": r.entry_id,
            "类型": "冲销" if r.entry_type == "reversal" else "奖补",
            "奖励对象": r.award_key,
            "申报编号": r.application_id,
            "企业名称": r.enterprise_name or "—",
            "类别": r.program,
            "金额(元)": from_fen(int(r.amount_fen)),
        }
        for r in rows
    ]
    return int(total), booked


@dg.asset_check(
    asset="application_decisions",
    additional_ins={"submissions": dg.AssetIn("submissions")},
    description="每个已接受的申报在 application_decisions 中恰有一条当前决定（类别、企业一致），"
    "且每条决定至少有一条理由，理由代码为稳定的大写代码、说明为中文",
)
def every_application_decided(ledger_db: LedgerDatabase, submissions: Submissions) -> dg.AssetCheckResult:
    apps = submissions.frames["applications"]
    accepted = {
        a: (p, c)
        for a, p, c in zip(apps["application_id"], apps["program"], apps["credit_code"], strict=True)
    }
    with ledger_db.engine().connect() as conn:
        rows = conn.execute(
            select(
                ApplicationDecision.application_id,
                ApplicationDecision.program,
                ApplicationDecision.credit_code,
                ApplicationDecision.reasons,
            )
        ).all()
    decided = {r.application_id: r for r in rows}
    problems: list[dict[str, str]] = []
    for app_id, (program, code) in sorted(accepted.items()):
        row = decided.get(app_id)
        if row is None:
            problems.append(
                {"申报编号": app_id, "问题": "没有决定", "怎么办": "重新运行 nightly_awards 重新评审"}
            )
        elif (row.program, row.credit_code) != (program, code):
            problems.append(
                {
                    "申报编号": app_id,
                    "问题": f"决定记的是 {row.program}/{row.credit_code}，申报是 {program}/{code}",
                    "怎么办": "重新运行 nightly_awards，以最新申报重新评审",
                }
            )
    judge = cache(_reason_problem)  # the rules word many decisions alike: each text is judged once tonight
    for row in rows:
        wrong = judge(row.reasons)
        if wrong:
            problems.append(
                {
                    "申报编号": row.application_id,
                    "问题": wrong,
                    "怎么办": "理由由规则生成：请把该申报编号转交规则维护人员修正对应规则后重新运行",
                }
            )
    return dg.AssetCheckResult(
        passed=not problems,
        metadata={
            "accepted_applications": len(accepted),
            "decisions": len(rows),
            # decisions of applications whose files have left the inbox stay current: reported, not wrong
            "decisions_without_current_application": len(set(decided) - set(accepted)),
            "problems": rows_table(problems, limit=50),
        },
        description=None
        if not problems
        else f"{len(problems)} 个申报的决定缺失或不完整："
        + escape_markdown("；".join(f"{p['申报编号']} {p['问题']}（{p['怎么办']}）" for p in problems[:10]))
        + "。在补齐前，这些申报不会出现在部门报表的明细中，请勿据此签发",
    )


def _reason_problem(reasons_json: str) -> str | None:
    """Why a decision's reasons fall short (in Chinese), or None when they are complete."""
    try:
        reasons = json.loads(reasons_json or "[]")
    except ValueError:
        return "理由不是有效的 JSON"
    if not isinstance(reasons, list) or not reasons:
        return "没有任何理由"
    for r in reasons:
        code, message = str(r.get("code") or ""), str(r.get("message") or "")
        if not STABLE_CODE.match(code):
            return f"理由代码「{code}」不是稳定的大写代码"
        if not CHINESE.search(message):
            return f"理由 {code} 的说明不是中文"
    return None
