"""Decisions for every application and the award ledger, written together in one transaction."""

from collections import Counter
from dataclasses import replace

import dagster as dg

from assets._metadata import markdown_table, table_schema
from pipelines import applications as building
from pipelines.defs.resources import Evaluation, LedgerDatabase
from pipelines.intake import Submissions
from pipelines.ledger import book, from_fen, held_keys
from rules.engine import decide_all
from rules.model import MeteredSaving
from rules.parameters import Parameters

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
            deps=["submissions", "metered_savings"],
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
    evaluation: Evaluation,
    ledger_db: LedgerDatabase,
):
    engine = ledger_db.engine()
    parameters = Parameters.load()
    # Savings applications are decided on what the meters confirm (issue 5), not on the claim alone.
    applications = [
        replace(a, metered=metered_savings.get(a.application_id)) for a in building.build(submissions)
    ]
    held = held_keys(engine)
    decisions = decide_all(applications, evaluation.date, parameters, held=held)
    ents = submissions.frames["enterprises"]
    names = dict(zip(ents["credit_code"], ents["name"], strict=True))
    cities = dict(zip(ents["credit_code"], ents["league_city"], strict=True))
    apps = submissions.frames["applications"]
    files = dict(zip(apps["application_id"], apps["_file"], strict=True))
    submitted: dict[str, str] = {
        a: d.isoformat() for a, d in zip(apps["application_id"], apps["submitted_on"], strict=True)
    }
    result = book(
        engine,
        decisions,
        run_id=context.run.run_id,
        rulebook_version=parameters.version,
        enterprise_names=names,
        league_cities=cities,
        source_files=files,
        submitted_on=submitted,
        decided_with=held,
    )

    by_outcome = Counter(str(d.outcome) for d in decisions)
    yield dg.Output(
        None,
        output_name="application_decisions",
        metadata={
            "dagster/row_count": len(decisions),
            "by_decision": dg.MetadataValue.json(dict(by_outcome)),
            "as_of": evaluation.date.isoformat(),
            "rulebook_version": parameters.version,
            "preview": markdown_table(
                [
                    {
                        "申报编号": d.application_id,
                        "类别": d.program,
                        "决定": str(d.outcome),
                        "金额": d.amount,
                    }
                    for d in decisions
                ]
            ),
        },
    )
    yield dg.Output(
        None,
        output_name="award_ledger",
        metadata={
            "awards_booked": result.awards,
            "reversals_booked": result.reversals,
            "net_booked_yuan": str(from_fen(result.net_fen)),
            "attempts": result.attempts,
        },
    )
