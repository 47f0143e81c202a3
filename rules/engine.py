"""Deciding a whole set of applications: one decision each, one-time award objects taken once.

一次性 (clauses.md): an award object is paid at most once, ever. When several applications claim one object,
the one submitted first (申报日期, then 申报编号) takes it; the others lose that object with a reason naming the
holder. Objects already held in the ledger by another application stay with it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import date

from rules.catalog import BY_CODE
from rules.context import Context
from rules.decision import Condition, Decision, Outcome
from rules.model import Application
from rules.parameters import Parameters


def decide_all(
    applications: Iterable[Application],
    as_of: date,
    parameters: Parameters,
    held: Mapping[str, str] | None = None,
) -> list[Decision]:
    """Decide every application. `held` maps award keys booked in the ledger to the application holding them."""
    taken: dict[str, str] = dict(held or {})
    ordered = sorted(applications, key=lambda a: (a.submitted_on or date.max, a.application_id))
    ctx = Context(
        as_of=as_of,
        params=parameters.at(as_of),
        rulebook_version=parameters.version,
        projects={a.project_code: a.program for a in ordered if a.project_code},
        # The live map: a rule sees the objects taken by the applications decided before it (就高补差).
        taken=taken,
    )
    return [_take_keys(decide(app, ctx), taken) for app in ordered]


def decide(app: Application, ctx: Context) -> Decision:
    program = BY_CODE.get(app.program)
    if program is None:
        return _plain(
            app,
            Outcome.REJECTED,
            "",
            "工信厅",
            Condition("UNKNOWN_PROGRAM", "", False, f"申报类别 {app.program} 不是本政策的奖补项目"),
        )
    if app.intake_problems:
        conditions = tuple(
            Condition(code, program.clause, False, message) for code, message in app.intake_problems
        )
        return Decision(
            app.application_id,
            program.code,
            app.credit_code,
            Outcome.REJECTED,
            program.clause,
            program.lead_department,
            conditions,
        )
    if program.rule is None:
        return _plain(
            app,
            Outcome.NEEDS_REVIEW,
            program.clause,
            program.lead_department,
            Condition(
                "PROGRAM_NOT_IMPLEMENTED",
                program.clause,
                None,
                f"{program.name}（{program.code}）的规则尚未实现，本申报暂不评审、不奖补，待人工审核",
            ),
        )
    return program.rule(app, ctx)


def _plain(app: Application, outcome: Outcome, clause: str, lead: str, condition: Condition) -> Decision:
    return Decision(app.application_id, app.program, app.credit_code, outcome, clause, lead, (condition,))


def _take_keys(decision: Decision, taken: dict[str, str]) -> Decision:
    if not decision.awards:
        return decision
    kept, lost = [], []
    for award in decision.awards:
        holder = taken.get(award.award_key)
        if holder is not None and holder != decision.application_id:
            lost.append(
                Condition(
                    "DUPLICATE_AWARD_KEY",
                    decision.clause,
                    False,
                    f"奖励对象 {award.award_key} 已由申报 {holder} 获得（一次性奖励），本申报不再奖励",
                    {"award_key": award.award_key, "held_by": holder},
                )
            )
        else:
            taken[award.award_key] = decision.application_id
            kept.append(award)
    if not lost:
        return decision
    outcome = decision.outcome if kept else Outcome.REJECTED
    return replace(
        decision, awards=tuple(kept), outcome=outcome, conditions=decision.conditions + tuple(lost)
    )
