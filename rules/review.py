"""Review determinations (审核结论, docs/inputs.md §3): the lead department settles what the data left open.

> 通过 settles a `needs_review` application: the award is computed from the smaller of the claimed and the
> determined figure, with every other condition and cap as usual. 通过 on an application the data already decided
> changes nothing and is reported as such. 不通过 rejects any application, with the opinion as the reason; an
> award already booked for it is reversed. A later determination supersedes an earlier one.

A review can take money away, never add it: an approval only replaces the one figure the data could not
establish (the verified saving, the verified investment) by the smaller of the claim and the determination, and
the program's own rule then decides as it always does — thresholds, caps and one-time award objects included.
Which decision needs a review is the rule's business (`Outcome.NEEDS_REVIEW`); this module never looks at why.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any

from rules.catalog import BY_CODE
from rules.context import Context
from rules.decision import Condition, Decision, Outcome
from rules.labels import DECISION_ZH
from rules.model import Application
from rules.money import WAN, from_wan

APPROVE, REJECT = "approve", "reject"
OUTCOME_ZH = {APPROVE: "通过", REJECT: "不通过"}


@dataclass(frozen=True)
class Determination:
    """One accepted row of a 审核结论 workbook. `determined_value` is as the official typed it: tce or t for
    savings, 万元 for investments (see `FIGURES`)."""

    application_id: str
    outcome: str  # APPROVE | REJECT
    determined_value: Decimal | None
    opinion: str | None
    department: str
    reviewer: str
    reviewed_on: date
    document_no: str
    source_file: str
    source_row: int
    sequence: int = 0  # the order received, for a file re-sent under the same name

    @property
    def order(self) -> tuple[str, int, int]:
        return (self.source_file, self.source_row, self.sequence)

    def said(self) -> str:
        """Who determined what, when, under which document: part of every reason and ledger basis it produced."""
        return (
            f"{self.department}审核{OUTCOME_ZH[self.outcome]}（审核人 {self.reviewer}，审核日期 "
            f"{self.reviewed_on.isoformat()}，文号 {self.document_no}）"
        )

    def cite(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "determined_value": self.determined_value,
            "opinion": self.opinion,
            "department": self.department,
            "reviewer": self.reviewer,
            "reviewed_on": self.reviewed_on,
            "document_no": self.document_no,
            "source_file": self.source_file,
            "source_row": self.source_row,
        }


def in_force(determinations: Iterable[Determination]) -> dict[str, Determination]:
    """Per application, the determination in force: the last in file-name, row, received order."""
    out: dict[str, Determination] = {}
    for d in sorted(determinations, key=lambda d: d.order):
        out[d.application_id] = d
    return out


@dataclass(frozen=True)
class Figure:
    """The one figure of a program a review may determine, and how an approval puts it into the application."""

    name_zh: str
    unit_zh: str
    claimed: Callable[[Application], Decimal | None]
    settle: Callable[[Application, Decimal], Application]
    to_basis: Callable[[Decimal], Decimal]  # the typed value in the rule's unit (万元 -> yuan)
    # notes of the rule that the review answers (the figure was not verified; now it is)
    answered: tuple[str, ...] = ()


def _claimed_saving(app: Application) -> Decimal | None:
    return app.savings_claims[0].claimed_saving if app.savings_claims else None


def _settle_saving(app: Application, saving: Decimal) -> Application:
    # The review established the saving: the rule computes on it, the meters' gap no longer stands in the way.
    claim = replace(app.savings_claims[0], claimed_saving=saving)
    return replace(app, savings_claims=(claim, *app.savings_claims[1:]), metered=None)


def _identity(value: Decimal) -> Decimal:
    return value


def _wan(value: Decimal) -> Decimal:
    return from_wan(value)


SAVING = Figure(
    "年节约量", "吨标准煤（节水为吨）", _claimed_saving, _settle_saving, _identity, ("SAVING_UNVERIFIED",)
)
FIGURES: dict[str, Figure] = {
    "ENERGY_SAVING": replace(SAVING, unit_zh="吨标准煤"),
    "WATER_SAVING": replace(SAVING, unit_zh="吨"),
    "EQUIPMENT_UPGRADE": Figure(
        "设备投资额",
        "万元",
        lambda a: a.equipment_investment,
        lambda a, v: replace(a, equipment_investment=v),
        _wan,
    ),
    "IP_COMMERCIALIZATION": Figure(
        "实际完成投资额",
        "万元",
        lambda a: a.completed_investment,
        lambda a, v: replace(a, completed_investment=v),
        _wan,
    ),
}
"""Programs whose review may determine a value (docs/inputs.md §3 核定值); every other program takes none."""

# Programs whose needs_review can only be settled with a determined value: the rules had no verified figure.
VALUE_REQUIRED = frozenset({"ENERGY_SAVING", "WATER_SAVING"})


def settle(
    app: Application, decision: Decision, review: Determination, ctx: Context, decide: Callable[..., Decision]
) -> Decision:
    """The decision after the review in force: `decide(app, ctx)` is the program's rule, re-run on an approval."""
    program = BY_CODE.get(app.program)
    cite = review.cite()
    if review.reviewed_on > ctx.as_of:
        return _noted(
            decision,
            "REVIEW_DATED_AFTER_EVALUATION",
            f"{review.said()}晚于评审日期，本次评审不采用",
            cite,
        )
    if program is None or review.department != program.lead_department:
        lead = program.lead_department if program else "—"
        return _noted(
            decision,
            "REVIEW_NOT_LEAD_DEPARTMENT",
            f"{review.said()}不是本类别牵头部门（{lead}）的审核结论，不采用",
            cite,
        )
    if review.outcome == REJECT:
        condition = Condition(
            "REVIEW_REJECTED",
            decision.clause,
            False,
            f"{review.said()}：{review.opinion}",
            cite | {"decision_before_review": str(decision.outcome)},
        )
        return replace(
            decision,
            outcome=Outcome.REJECTED,
            conditions=(condition, *decision.conditions),
            awards=(),
            estimate=None,
            review=cite | {"effect": "rejected"},
        )
    if decision.outcome != Outcome.NEEDS_REVIEW:
        return _noted(
            decision,
            "REVIEW_APPROVAL_NO_EFFECT",
            f"{review.said()}不改变本决定（{DECISION_ZH[str(decision.outcome)]}）：规则已据数据作出决定，"
            "审核只能核定数据未能确定的数值，不能突破门槛、上限或已获得的一次性奖励",
            cite,
        )
    figure = FIGURES.get(app.program)
    if figure is None:
        return _noted(
            decision,
            "REVIEW_CANNOT_SETTLE",
            f"{review.said()}：本类别的审核结论不含核定值，规则无法据此作出决定，仍待人工审核",
            cite,
        )
    claimed = figure.claimed(app)
    if review.determined_value is None and (app.program in VALUE_REQUIRED or claimed is None):
        return _noted(
            decision,
            "REVIEW_VALUE_REQUIRED",
            f"{review.said()}未填写核定{figure.name_zh}，规则没有经核实的数值，仍待人工审核；请补填核定值后重新报送",
            cite,
        )
    determined = None if review.determined_value is None else figure.to_basis(review.determined_value)
    used = min(x for x in (claimed, determined) if x is not None)
    redecided = decide(figure.settle(app, used), ctx)
    shown = (lambda v: v / WAN) if figure.unit_zh == "万元" else (lambda v: v)
    parts = [
        f"申报{figure.name_zh} {_plain(shown(claimed)) if claimed is not None else '（未填写）'} {figure.unit_zh}"
    ]
    if determined is not None:
        parts.append(f"核定 {_plain(shown(determined))} {figure.unit_zh}")
    parts.append(f"按较小值 {_plain(shown(used))} {figure.unit_zh}评审")
    message = (
        f"{review.said()}："
        + "，".join(parts)
        + "；其他条件、上限与一次性奖励照常适用，审核不会使奖补多于规则允许的金额"
    )
    if determined is not None and claimed is not None and determined > claimed:
        message += "（核定值高于申报值，按申报值计算）"
    approved = Condition(
        "REVIEW_APPROVED",
        decision.clause,
        True,
        message,
        cite | {"claimed": claimed, "determined": determined, "used": used},
    )
    basis_review = cite | {"effect": "settled", "claimed": claimed, "determined": determined, "used": used}
    kept = tuple(c for c in redecided.conditions if c.code not in figure.answered)
    awards = tuple(replace(a, basis={**a.basis, "review": basis_review}) for a in redecided.awards)
    return replace(redecided, conditions=(approved, *kept), awards=awards, review=basis_review)


def _noted(decision: Decision, code: str, message: str, cite: dict[str, Any]) -> Decision:
    note = Condition(code, decision.clause, None, message, cite)
    return replace(decision, conditions=(*decision.conditions, note), review=cite | {"effect": "none"})


def _plain(value: Decimal) -> str:
    return f"{value.normalize():f}"
