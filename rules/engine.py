"""Deciding a whole set of applications: one decision each, one-time award objects taken once.

一次性 (clauses.md): an award object is paid at most once, ever. When several applications claim one object,
the one submitted first (申报日期, then 申报编号) takes it; the others lose that object with a reason naming the
holder. Objects already held in the ledger by another application stay with it, unless that application is
re-decided now and no longer earns them: then they go, in the same night, to the first other claimant.

Which parameters: those in force on the application's 申报日期 (never later than the evaluation date, never
before the rulebook is complete). A value dated later applies to applications submitted from then on; it never
re-prices an application already submitted, and so never moves money already booked for it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import date

from rules import review as reviewing
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
    reviews: Mapping[str, reviewing.Determination] | None = None,
) -> list[Decision]:
    """Decide every application. `held` maps award keys booked in the ledger to the application holding them;
    `reviews` maps an application to the review determination in force for it (`rules.review.in_force`)."""
    ordered = sorted(applications, key=lambda a: (a.submitted_on or date.max, a.application_id))
    reserved = dict(held or {})
    decided_ids = {a.application_id for a in ordered}
    while True:
        decisions = _decide_in_order(ordered, as_of, parameters, reserved, reviews or {})
        earned = {(award.award_key, d.application_id) for d in decisions for award in d.awards}
        released = {
            key for key, holder in reserved.items() if holder in decided_ids and (key, holder) not in earned
        }
        if not released:
            return decisions
        # The holder was re-decided (corrected, now rejected) and no longer earns the object: free it for the
        # others in submission order instead of keeping them out until tomorrow's run.
        reserved = {k: v for k, v in reserved.items() if k not in released}


def _decide_in_order(
    ordered: list[Application],
    as_of: date,
    parameters: Parameters,
    reserved: Mapping[str, str],
    reviews: Mapping[str, reviewing.Determination],
) -> list[Decision]:
    taken: dict[str, str] = dict(reserved)
    projects = {a.project_code: a.program for a in ordered if a.project_code}
    complete_from = parameters.complete_from()
    contexts: dict[date, Context] = {}
    decisions = []
    for app in ordered:
        on = max(min(app.submitted_on or as_of, as_of), complete_from)
        if on not in contexts:
            contexts[on] = Context(
                as_of=as_of,
                params=parameters.at(on),
                rulebook_version=parameters.version,
                projects=projects,
                # The live map: a rule sees the objects taken by the applications decided before it (就高补差).
                taken=taken,
            )
        decision = decide(app, contexts[on])
        determination = reviews.get(app.application_id)
        if determination is not None:
            # Before the one-time objects are taken: a rejected review frees them, an approval claims them.
            decision = reviewing.settle(app, decision, determination, contexts[on], decide)
        decisions.append(_take_keys(decision, taken))
    return decisions


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
