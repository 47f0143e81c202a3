"""Checks on `award_ledger` after every booking: the invariants of docs/outputs.md §1 and the fund budget.

The database already refuses a second open award, a reversal of another key, an update or a delete (migrations
0001 and 0002), and the runtime role cannot switch those guards off (0007); the hash chain, held against the head
each night records in the Dagster instance, shows whether the owner did (`ledger_chain_intact`). These checks
re-verify the whole table from the outside, so a damaged database, a manual edit with the triggers disabled, or a
schema drift shows up in Dagster with what to do next. The four invariant checks block the department reports of
the same run: a report must not tie to a ledger that is wrong. The budget check only warns: the policy reports an
overrun and never prorates on its own.
"""

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import dagster as dg
from sqlalchemy import Connection, Engine, inspect
from sqlalchemy import types as sqltypes

from assets._metadata import rows_table
from assets.awards import recorded_head
from pipelines.defs.resources import Evaluation, LedgerDatabase, Rulebook
from pipelines.ledger import from_fen
from pipelines.ledger_chain import tampered_message, verify_ledger
from pipelines.ledger_invariants import broken_reversals, control_totals, unbalanced_keys
from pipelines.sql import rows
from rules import fund
from schemas.tables import PUBLISHED_COLUMNS

STOP_PAYING = (
    "在查明前请财政厅暂停拨付所列奖励对象，并将本检查结果转交系统管理员（台账分录不可修改，只能以冲销更正）"
)


# Every check but the budget's blocks the department reports of its run.
_blocking = partial(dg.asset_check, asset="award_ledger", blocking=True)


@_blocking(
    description="每个奖励对象的净额为 0 或其最后一笔奖励的金额，且有效奖励不超过一笔（一次性奖励不重复支付）",
)
def one_award_per_key(ledger_db: LedgerDatabase) -> dg.AssetCheckResult:
    problem = "个奖励对象的净额既不为 0 也不等于一笔奖励（可能重复支付）"
    return _offending(ledger_db, unbalanced_keys, "unbalanced_keys", problem)


@_blocking(
    description="台账未被改写：分录号从 1 起连续，每笔分录的哈希链（本分录内容 + 前一分录哈希）与记账时一致，"
    "且最近一次记账记录在 Dagster 中的链头分录仍在台账中、哈希未变",
)
def ledger_chain_intact(
    context: dg.AssetCheckExecutionContext, ledger_db: LedgerDatabase
) -> dg.AssetCheckResult:
    recorded = recorded_head(context.instance)
    with ledger_db.engine().connect() as conn:
        head, breaks = verify_ledger(conn, recorded)
    return dg.AssetCheckResult(
        passed=not breaks,
        metadata={
            "entries_verified": head.entry_id,
            "chain_head": head.entry_hash,
            "recorded_head_entry_id": recorded.entry_id if recorded else 0,
            "breaks": rows_table([{"分录": b.entry_id, "问题": b.problem} for b in breaks], limit=50),
        },
        description=None if not breaks else tampered_message(breaks),
    )


@_blocking(description="每笔冲销都指向同一奖励对象、同一版本的现有奖励分录，且金额正好相反")
def reversals_cancel_their_award(ledger_db: LedgerDatabase) -> dg.AssetCheckResult:
    return _offending(
        ledger_db, broken_reversals, "broken_reversals", "笔冲销没有对应的同一奖励对象的奖励分录"
    )


def _offending(
    ledger_db: LedgerDatabase, query: Callable[[Connection], list[dict[str, Any]]], count: str, problem: str
) -> dg.AssetCheckResult:
    """An invariant whose query lists the rows that break it: passed when there are none, else stop paying."""
    with ledger_db.engine().connect() as conn:
        bad = query(conn)
    return dg.AssetCheckResult(
        passed=not bad,
        metadata={count: len(bad), "preview": rows_table(bad)},
        description=None if not bad else f"{len(bad)} {problem}。{STOP_PAYING}",
    )


@_blocking(
    description="控制总额：各项目台账净额 = application_decisions 中 awarded 决定的金额合计",
)
def control_total(ledger_db: LedgerDatabase) -> dg.AssetCheckResult:
    with ledger_db.engine().connect() as conn:
        totals = control_totals(conn)
    by_program = [
        {"项目": program, "台账净额（元）": from_fen(ledger), "awarded 决定合计（元）": from_fen(decided)}
        for program, (ledger, decided) in totals.items()
    ]
    wrong = [program for program, (ledger, decided) in totals.items() if ledger != decided]
    ledger_net = sum(ledger for ledger, _ in totals.values())
    decided_net = sum(decided for _, decided in totals.values())
    return dg.AssetCheckResult(
        passed=not wrong,
        metadata={
            "ledger_net_yuan": str(from_fen(ledger_net)),
            "awarded_decisions_yuan": str(from_fen(decided_net)),
            "by_program": rows_table(by_program, limit=40),
        },
        description=None
        if not wrong
        else (
            f"项目 {'、'.join(wrong)} 的台账净额与 awarded 决定合计不一致：先重新运行 nightly_awards（记账与决定在同一"
            f"事务中写入，重跑会补齐）；仍不一致时暂停这些项目的拨付并联系系统管理员"
        ),
    )


@_blocking(
    description="财政厅读取的发布表和视图（award_ledger、award_balances、application_decisions、submission_rejections、"
    "fund_usage）的列都存在且类型正确",
)
def published_columns(ledger_db: LedgerDatabase) -> dg.AssetCheckResult:
    problems = schema_problems(ledger_db.engine())
    return dg.AssetCheckResult(
        passed=not problems,
        metadata={"problems": dg.MetadataValue.json(problems)},
        description=None
        if not problems
        else (
            "发布接口与数据库结构不一致："
            + "；".join(problems)
            + "。请运行 `python -m pipelines.migrate` 将数据库升级到"
            "最新迁移（make run 会自动执行）；若已是最新，说明有人手工改动了表结构，请联系系统管理员"
        ),
    )


@dg.asset_check(
    asset="award_ledger",
    description="本评审年度（上海时间）各项目已承诺净额合计不超过专项资金年度预算 fund.annual_budget",
)
def fund_within_budget(
    ledger_db: LedgerDatabase, evaluation: Evaluation, rulebook: Rulebook
) -> dg.AssetCheckResult:
    as_of = evaluation.date
    with ledger_db.engine().connect() as conn:
        usage = rows(
            conn,
            "SELECT program, committed_fen FROM fund_usage WHERE fund_year = :year ORDER BY program",
            {"year": as_of.year},
        )
    committed = from_fen(sum(int(r["committed_fen"]) for r in usage))
    state = fund.status(rulebook.parameters, as_of, committed)
    budget = state.budget
    metadata: dict[str, Any] = {
        "fund_year": as_of.year,
        "committed_yuan": str(committed),
        "budget_yuan": str(budget.value),
        "budget_source": f"{budget.source}（自 {budget.since.isoformat()} 起）",
        "remaining_yuan": str(state.remaining),
        "by_program": rows_table(
            [{"项目": r["program"], "已承诺（元）": from_fen(int(r["committed_fen"]))} for r in usage],
            limit=40,
        ),
    }
    return dg.AssetCheckResult(
        passed=not state.overrun,
        severity=dg.AssetCheckSeverity.WARN,
        metadata=metadata,
        description=None
        if not state.overrun
        else (
            f"{as_of.year} 年已承诺 {committed:,.2f} 元，超出年度预算 {state.budget.value:,.2f} 元 "
            f"{-state.remaining:,.2f} 元。系统不会按比例压减奖补：请财政厅决定追加预算（在 rules/parameters/fund.yaml "
            "增加新的日期值）或暂缓拨付超出部分"
        ),
    )


def schema_problems(engine: Engine, only: Sequence[str] | None = None) -> list[str]:
    """Each published column that is missing or has another type than docs/outputs.md promises, in Chinese
    (`only`: the tables and views to look at; all published ones by default)."""
    inspector = inspect(engine)
    relations = set(inspector.get_table_names()) | set(inspector.get_view_names())
    problems = []
    for relation, columns in PUBLISHED_COLUMNS.items():
        if only is not None and relation not in only:
            continue
        if relation not in relations:
            problems.append(f"缺少表或视图 {relation}")
            continue
        found = {c["name"]: c["type"] for c in inspector.get_columns(relation)}
        for column, kind in columns.items():
            if column not in found:
                problems.append(f"{relation} 缺少列 {column}")
            elif kind and not _is_kind(found[column], kind, engine.dialect.name):
                problems.append(f"{relation}.{column} 的类型是 {found[column]}，应为 {kind}")
    return problems


def _is_kind(column_type: Any, kind: str, dialect: str) -> bool:
    if kind == "integer":
        return isinstance(column_type, sqltypes.Integer)
    if kind == "text":
        return isinstance(column_type, sqltypes.String)
    if kind == "decimal(14,2)":
        return (
            isinstance(column_type, sqltypes.Numeric)
            and not isinstance(column_type, sqltypes.Float)
            and (column_type.precision, column_type.scale) == (14, 2)
        )
    if kind == "timestamp":
        # PostgreSQL must keep the instant (timestamptz); SQLite has no zone type and stores UTC by convention.
        return isinstance(column_type, sqltypes.DateTime) and (
            dialect != "postgresql" or column_type.timezone
        )
    raise ValueError(f"unknown column kind {kind}")
