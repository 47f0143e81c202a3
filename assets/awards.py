"""Decisions for every application and the award ledger, written together in one transaction."""

from collections import Counter

import dagster as dg
from sqlalchemy import text

from assets._metadata import markdown_table, table_schema
from pipelines import applications as building
from pipelines.defs.resources import Evaluation, LedgerDatabase
from pipelines.intake import Submissions
from pipelines.ledger import book, from_fen, held_keys
from rules.engine import decide_all
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
            deps=["submissions"],
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
    check_specs=[
        dg.AssetCheckSpec(
            "one_award_per_key", asset="award_ledger", description="每个奖励对象净额为 0 或一笔奖励"
        ),
        dg.AssetCheckSpec(
            "control_total", asset="award_ledger", description="台账净额 = awarded 决定金额合计"
        ),
    ],
    pool="ledger_db",
)
def awards(
    context: dg.AssetExecutionContext,
    submissions: Submissions,
    evaluation: Evaluation,
    ledger_db: LedgerDatabase,
):
    engine = ledger_db.engine()
    parameters = Parameters.load()
    applications = building.build(submissions)
    decisions = decide_all(applications, evaluation.date, parameters, held=held_keys(engine))
    ents = submissions.frames["enterprises"]
    names = dict(zip(ents["credit_code"], ents["name"], strict=True))
    cities = dict(zip(ents["credit_code"], ents["league_city"], strict=True))
    apps = submissions.frames["applications"]
    files = dict(zip(apps["application_id"], apps["_file"], strict=True))
    submitted: dict[str, str] = {
        a: d.isoformat()
        for a, d in zip(apps["application_id"], apps["submitted_on"], strict=True)
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
    with engine.connect() as conn:
        bad_keys = conn.execute(
            text(
                "SELECT b.award_key, b.net_fen FROM award_balances b WHERE b.net_fen <> 0 AND b.net_fen NOT IN "
                "(SELECT l.amount_fen FROM award_ledger l WHERE l.award_key = b.award_key AND l.entry_type = 'award')"
            )
        ).all()
        ledger_net = conn.execute(text("SELECT COALESCE(SUM(amount_fen), 0) FROM award_ledger")).scalar_one()
        decided_net = conn.execute(
            text("SELECT COALESCE(SUM(amount_fen), 0) FROM application_decisions WHERE decision = 'awarded'")
        ).scalar_one()
    yield dg.AssetCheckResult(
        check_name="one_award_per_key",
        asset_key="award_ledger",
        passed=not bad_keys,
        metadata={"bad_keys": dg.MetadataValue.json([list(map(str, r)) for r in bad_keys])},
    )
    yield dg.AssetCheckResult(
        check_name="control_total",
        asset_key="award_ledger",
        passed=int(ledger_net) == int(decided_net),
        metadata={
            "ledger_net_yuan": str(from_fen(int(ledger_net))),
            "awarded_decisions_yuan": str(from_fen(int(decided_net))),
        },
        description=None
        if int(ledger_net) == int(decided_net)
        else "台账净额与 awarded 决定合计不一致：检查是否有申报不在本次收件箱中（其奖励未被重新评审），再重新运行 nightly_awards",
    )
