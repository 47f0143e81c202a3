"""Deciding a whole set of applications: one decision each, one-time award objects taken once.

一次性 (docs/policy.md): an award object is paid at most once, ever. When several applications claim one object,
the one submitted first (申报日期, then 申报编号) takes it; the others lose that object with a reason naming the
holder. Objects already held in the ledger by another application stay with it, unless that application is
re-decided now and no longer earns them: then they go, in the same night, to the first other claimant.

One object, one key, however it is typed (rules/codes.py): the rules see project and standard codes in their
canonical form, each decision notes a code typed otherwise (`CODE_AS_TYPED`), and a key already booked under
another spelling of the same object keeps that spelling (`AWARD_KEY_AS_BOOKED`), so it is neither re-keyed nor
paid again.

Which parameters: those in force on the application's 申报日期 (never later than the evaluation date, never
before the rulebook is complete). A value dated later applies to applications submitted from then on; it never
re-prices an application already submitted, and so never moves money already booked for it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import date

from rules import equipment, gates, interest, ip, recognitions, registers, savings, standards, vat
from rules import review as reviewing
from rules.catalog import BY_CODE, DEPARTMENTS
from rules.codes import Retyped, canonical_application, identity
from rules.context import Context
from rules.decision import Condition, Decision, Outcome
from rules.evaluation_span import Span, Watched
from rules.model import Application
from rules.parameters import Parameters

Rule = Callable[[Application, Context], Decision]

# The rule that decides each program of rules.catalog (one module per clause of the policy). A program missing
# here is decided `needs_review` with the code `PROGRAM_NOT_IMPLEMENTED`, never dropped and never awarded.
RULES: dict[str, Rule] = {
    "FLYASH_ALUMINA_INTEREST": interest.FLYASH_ALUMINA_INTEREST.evaluate,
    "FLYASH_ALUMINA_VAT": vat.FLYASH_ALUMINA_VAT.evaluate,
    "ALUMINA_PROJECT_GATE": gates.evaluate_alumina,
    "SMELTER_PROJECT_GATE": gates.evaluate_smelter,
    "RENEWABLE_SHARE": registers.evaluate_renewable_share,
    "DEEP_PROCESSING_INTEREST": interest.DEEP_PROCESSING_INTEREST.evaluate,
    "FIRST_BATCH": registers.evaluate_first_batch,
    "RECYCLED_DATABASE": registers.evaluate_recycled_database,
    "RECYCLED_PROCESSING_INTEREST": interest.RECYCLED_PROCESSING_INTEREST.evaluate,
    "RECYCLED_VAT": vat.RECYCLED_VAT.evaluate,
    "EQUIPMENT_UPGRADE": equipment.evaluate,
    "ENERGY_SAVING": savings.ENERGY_SAVING.evaluate,
    "WATER_SAVING": savings.WATER_SAVING.evaluate,
    "GREEN_MANUFACTURING": recognitions.GREEN_MANUFACTURING.evaluate,
    "SCI_TECH_PROJECT": registers.evaluate_sci_tech_project,
    "IP_COMMERCIALIZATION": ip.evaluate,
    "STANDARD_SETTING": standards.evaluate,
    "SINGLE_CHAMPION": recognitions.SINGLE_CHAMPION.evaluate,
    "QUALITY_SME": recognitions.QUALITY_SME.evaluate,
}


def decide_all(
    applications: Iterable[Application],
    as_of: date,
    parameters: Parameters,
    held: Mapping[str, str] | None = None,
    reviews: Mapping[str, reviewing.Determination] | None = None,
) -> list[Decision]:
    """Decide every application. `held` maps award keys booked in the ledger to the application holding them;
    `reviews` maps an application to the review determination in force for it (`rules.review.in_force`)."""
    return decide_all_with_span(applications, as_of, parameters, held, reviews)[0]


def decide_all_with_span(
    applications: Iterable[Application],
    as_of: date,
    parameters: Parameters,
    held: Mapping[str, str] | None = None,
    reviews: Mapping[str, reviewing.Determination] | None = None,
) -> tuple[list[Decision], Span]:
    """`decide_all`, and the evaluation dates on which the same inputs give these decisions word for word
    (rules/evaluation_span.py)."""
    watched = Watched(as_of)
    canonical = [canonical_application(a) for a in applications]
    ordered = sorted(canonical, key=lambda pair: (pair[0].submitted_on or date.max, pair[0].application_id))
    reserved = dict(held or {})
    # identity -> the spelling a key is booked under; sorted, so two spellings booked before (a double payment
    # of the old days) resolve to one of them every night and the other is reversed when its holder is re-decided.
    booked: dict[str, str] = {}
    for key in sorted(reserved):
        booked.setdefault(identity(key), key)
    decided_ids = {a.application_id for a, _ in ordered}
    while True:
        decisions = _decide_in_order(ordered, watched, parameters, reserved, booked, reviews or {})
        earned = {(award.award_key, d.application_id) for d in decisions for award in d.awards}
        released = {
            key for key, holder in reserved.items() if holder in decided_ids and (key, holder) not in earned
        }
        if not released:
            return decisions, watched.span()
        # The holder was re-decided (corrected, now rejected) and no longer earns the object: free it for the
        # others in submission order instead of keeping them out until tomorrow's run.
        reserved = {k: v for k, v in reserved.items() if k not in released}


def _decide_in_order(
    ordered: list[tuple[Application, tuple[Retyped, ...]]],
    as_of: Watched,
    parameters: Parameters,
    reserved: Mapping[str, str],
    booked: Mapping[str, str],
    reviews: Mapping[str, reviewing.Determination],
) -> list[Decision]:
    taken: dict[str, str] = dict(reserved)
    projects: dict[str, frozenset[str]] = {}
    for a, _ in ordered:
        if a.project_code:
            projects[a.project_code] = projects.get(a.project_code, frozenset()) | {a.program}
    complete_from = parameters.complete_from()
    dates_in_force = parameters.effective_dates()
    day = as_of.plain()  # to key the parameter sets by
    contexts: dict[date, Context] = {}
    decisions = []
    for app, retyped in ordered:
        # Which parameters: those of the 申报日期, or of the evaluation date when it comes first (then they
        # change with it on every date a value takes effect).
        on = max(min(app.submitted_on or day, day), complete_from)
        if app.submitted_on is None or not app.submitted_on <= as_of:
            as_of.boundaries.update(dates_in_force)
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
        decision = _as_booked(_with_typed_codes(decision, retyped), booked)
        decisions.append(_take_keys(decision, taken))
    return decisions


def _with_typed_codes(decision: Decision, retyped: tuple[Retyped, ...]) -> Decision:
    """The record keeps each code as the enterprise typed it, beside the form its award key uses."""
    notes = tuple(
        Condition(
            "CODE_AS_TYPED",
            decision.clause,
            None,
            f"{r.field}填报为“{r.typed}”，按规范写法 {r.canonical} 认定一次性奖励对象"
            "（不区分大小写、空格、全角半角和连字符写法）",
            {"field": r.field, "typed": r.typed, "canonical": r.canonical},
        )
        for r in retyped
    )
    return replace(decision, conditions=decision.conditions + notes) if notes else decision


def _as_booked(decision: Decision, booked: Mapping[str, str]) -> Decision:
    """An award whose object is already booked under another spelling takes that spelling."""
    awards, notes = [], []
    for award in decision.awards:
        spelling = booked.get(identity(award.award_key), award.award_key)
        if spelling != award.award_key:
            notes.append(
                Condition(
                    "AWARD_KEY_AS_BOOKED",
                    decision.clause,
                    None,
                    f"奖励对象 {award.award_key} 在台账中已记为 {spelling}，沿用台账写法",
                    {"award_key": award.award_key, "booked_as": spelling},
                )
            )
            award = replace(award, award_key=spelling)
        awards.append(award)
    if not notes:
        return decision
    return replace(decision, awards=tuple(awards), conditions=decision.conditions + tuple(notes))


def decide(app: Application, ctx: Context) -> Decision:
    program = BY_CODE.get(app.program)
    if program is None:
        # 工信厅 leads the policy as a whole: it answers for a program that does not exist.
        return _plain(
            app,
            Outcome.REJECTED,
            "",
            DEPARTMENTS[0],
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
    rule = RULES.get(program.code)
    if rule is None:
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
    return rule(app, ctx)


def _plain(app: Application, outcome: Outcome, clause: str, lead: str, condition: Condition) -> Decision:
    return Decision(app.application_id, app.program, app.credit_code, outcome, clause, lead, (condition,))


def _take_keys(decision: Decision, taken: dict[str, str]) -> Decision:
    if not decision.awards:
        return decision
    kept, lost = [], []
    mine: set[str] = set()
    for award in decision.awards:
        holder = taken.get(award.award_key)
        if award.award_key in mine:
            # One application naming one object twice (ISO 6361-9:2025 and iso 6361-9:2025 in its 标准 sheet).
            lost.append(
                Condition(
                    "DUPLICATE_AWARD_KEY",
                    decision.clause,
                    False,
                    f"奖励对象 {award.award_key} 在本申报中重复填报（一次性奖励），只奖励一次",
                    {"award_key": award.award_key, "held_by": decision.application_id},
                )
            )
        elif holder is not None and holder != decision.application_id:
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
            mine.add(award.award_key)
            kept.append(award)
    if not lost:
        return decision
    outcome = decision.outcome if kept else Outcome.REJECTED
    return replace(
        decision, awards=tuple(kept), outcome=outcome, conditions=decision.conditions + tuple(lost)
    )
