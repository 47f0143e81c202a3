"""One-time awards for recognitions: 五(2) GREEN_MANUFACTURING, 八 SINGLE_CHAMPION, 八 QUALITY_SME.

五(2) GREEN_MANUFACTURING:
> 对新认定为国家级和自治区级绿色工厂、绿色供应链、能效领跑者、水效领跑者的，分别给予 100 万元、50 万元一次性奖补。
> （责任单位：自治区工信厅、财政厅）

八 SINGLE_CHAMPION:
> 对认定为自治区级制造业单项冠军的铝企业奖励 100 万元，对认定为国家级制造业单项冠军的铝企业奖励 200 万元。

八 QUALITY_SME:
> 对自治区认定的创新型中小铝企业、“专精特新”中小铝企业和“小巨人”铝企业，分别给予 20 万元、50 万元、100 万元
> 一次性奖励。（责任单位：自治区工信厅、财政厅）

Readings (docs/policy.md): a recognition counts when dated on or after the effective date (新认定; *assumption* for 八)
and on or before the evaluation date. Each (enterprise, recognition type, level) is one award object,
`<PROGRAM>:<credit_code>:<recognition_type>:<level>` (`SINGLE_CHAMPION:<credit_code>:<level>`). Two recognitions
of one ladder (regional then national; innovative, specialised, little giant) are each paid in full, unless
`recognitions.pay_difference_only` (就高补差) is on: then a higher one pays the difference to the highest lower
one already awarded, and a lower one after a higher one pays nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from rules.context import Context
from rules.decision import Award, Decision, Outcome
from rules.labels import LEVELS, RECOGNITION_TYPES
from rules.model import Application, Recognition
from rules.money import round_to_fen, yuan_text
from rules.parameters import declare
from rules.trail import Trail, day


def label(rec: Recognition) -> str:
    """国家级绿色工厂（工信厅节函〔2025〕321号，2025-12-20）: how a recognition is named in every message."""
    text = f"{LEVELS.get(rec.level, rec.level)}{RECOGNITION_TYPES.get(rec.recognition_type, rec.recognition_type)}"
    return text + f"（{rec.document_no or '无文号'}，{day(rec.recognized_on)}）"


def facts(rec: Recognition) -> dict[str, object]:
    """What every condition on a recognition records among its values."""
    return {"recognition_type": rec.recognition_type, "level": rec.level, "recognized_on": rec.recognized_on}


PARAMETERS = declare(
    "general.effective_date",
    "recognitions.pay_difference_only",
    "green_manufacturing.award.national",
    "green_manufacturing.award.regional",
    "single_champion.award.regional",
    "single_champion.award.national",
    "quality_sme.award.innovative_sme",
    "quality_sme.award.specialized_sme",
    "quality_sme.award.little_giant",
)


@dataclass(frozen=True)
class Rung:
    """One recognition's place in its ladder: its award key, its parameter, and the rungs below and above it."""

    key: str
    parameter: str
    lower: tuple[tuple[str, str], ...]  # (award key, parameter) of the lower rungs
    higher: tuple[str, ...]  # award keys of the higher rungs


@dataclass(frozen=True)
class Scheme:
    program: str
    types: tuple[str, ...]
    rung: Callable[[str, Recognition], Rung]

    def evaluate(self, app: Application, ctx: Context) -> Decision:
        """The rule of this scheme's program (`rules.engine.RULES`)."""
        return _evaluate(self, app, ctx)


def _two_levels(key: str, parameter: str, level: str) -> Rung:
    """A regional / national ladder: `<key>:<level>` paid `<parameter>.<level>`, the regional rung below."""
    if level == "national":
        return Rung(
            f"{key}:national", f"{parameter}.national", ((f"{key}:regional", f"{parameter}.regional"),), ()
        )
    return Rung(f"{key}:regional", f"{parameter}.regional", (), (f"{key}:national",))


def _green_rung(credit_code: str, rec: Recognition) -> Rung:
    key = f"GREEN_MANUFACTURING:{credit_code}:{rec.recognition_type}"
    return _two_levels(key, "green_manufacturing.award", rec.level)


def _champion_rung(credit_code: str, rec: Recognition) -> Rung:
    return _two_levels(f"SINGLE_CHAMPION:{credit_code}", "single_champion.award", rec.level)


_SME_LADDER = ("innovative_sme", "specialized_sme", "little_giant")


def _sme_rung(credit_code: str, rec: Recognition) -> Rung:
    # The amount depends on the tier only; the level stays in the key as for every recognition (docs/outputs.md).
    def key(tier: str, level: str) -> str:
        return f"QUALITY_SME:{credit_code}:{tier}:{level}"

    at = _SME_LADDER.index(rec.recognition_type)
    levels = tuple(LEVELS)
    return Rung(
        key(rec.recognition_type, rec.level),
        f"quality_sme.award.{rec.recognition_type}",
        tuple(
            (key(tier, level), f"quality_sme.award.{tier}") for tier in _SME_LADDER[:at] for level in levels
        ),
        tuple(key(tier, level) for tier in _SME_LADDER[at + 1 :] for level in levels),
    )


GREEN_MANUFACTURING = Scheme(
    "GREEN_MANUFACTURING",
    ("green_factory", "green_supply_chain", "energy_efficiency_leader", "water_efficiency_leader"),
    _green_rung,
)
SINGLE_CHAMPION = Scheme("SINGLE_CHAMPION", ("single_champion",), _champion_rung)
QUALITY_SME = Scheme("QUALITY_SME", _SME_LADDER, _sme_rung)


def _evaluate(scheme: Scheme, app: Application, ctx: Context) -> Decision:
    t = Trail(app, ctx, scheme.program)
    effective = t.param("general.effective_date")
    difference_only = bool(t.param("recognitions.pay_difference_only"))
    awards: list[Award] = []
    # Who holds an award object: the objects taken so far, plus this application's own earlier recognitions, for
    # 就高补差 (kept apart rather than copying everything taken so far for each application).
    own: dict[str, str] = {}

    def holder(key: str) -> str | None:
        return own.get(key, ctx.taken.get(key))

    if not app.recognitions:
        t.check("RECOGNITION_REQUIRED", False, "未填写认定明细（认定表），无法核定奖励，请补充")
    for rec in app.recognitions:
        name, values = label(rec), facts(rec)
        if rec.recognition_type not in scheme.types:
            allowed = "、".join(RECOGNITION_TYPES[x] for x in scheme.types)
            t.check(
                "RECOGNITION_TYPE_NOT_COVERED",
                False,
                f"{name} 不属于本项目的认定类型（{allowed}）",
                **values,
            )
            continue
        if rec.recognized_on < effective:
            t.check(
                "RECOGNIZED_BEFORE_EFFECTIVE_DATE",
                False,
                f"{name} 认定日期早于政策实施日期 {day(effective)}，不属于新认定，不予奖励",
                **values,
                effective_date=effective,
            )
            continue
        if rec.recognized_on > ctx.as_of:
            t.check(
                "RECOGNIZED_AFTER_EVALUATION_DATE",
                False,
                f"{name} 认定日期晚于评审日期，请认定后再申报",
                **values,
            )
            continue
        rung = scheme.rung(app.credit_code, rec)
        full = Decimal(t.param(rung.parameter))
        amount, steps = full, [f"{name}：{rung.parameter} = {yuan_text(full)} 元"]
        if difference_only:
            higher = [k for k in rung.higher if holder(k) is not None]
            paid_lower = [(k, Decimal(t.param(p))) for k, p in rung.lower if holder(k) is not None]
            if higher:
                t.check(
                    "HIGHER_RECOGNITION_ALREADY_AWARDED",
                    False,
                    f"{name}：已获更高等级认定奖励（{higher[0]}，申报 {holder(higher[0])}），按就高补差不再奖励",
                    **values,
                    higher_award_key=higher[0],
                )
                continue
            if paid_lower:
                lower_key, lower_amount = max(paid_lower, key=lambda pair: pair[1])
                amount = full - lower_amount
                steps.append(
                    f"就高补差：减去已奖励的 {lower_key}（申报 {holder(lower_key)}）{yuan_text(lower_amount)} 元"
                )
        amount = round_to_fen(amount)
        if holder(rung.key) is None:
            own[rung.key] = app.application_id
        steps.append(f"奖励 {yuan_text(amount)} 元")
        t.check("RECOGNITION_AWARD", True, "；".join(steps), **values, amount_yuan=amount)
        awards.append(
            Award(
                award_key=rung.key,
                amount=amount,
                basis={
                    "recognition": values | {"document_no": rec.document_no},
                    "parameters": [
                        t.cite(rung.parameter),
                        t.cite("recognitions.pay_difference_only"),
                        t.cite("general.effective_date"),
                    ],
                    "steps": steps,
                },
            )
        )
    return t.decide(Outcome.AWARDED if awards else Outcome.REJECTED, awards)
