"""VAT immediate refund (增值税即征即退): 一(2) FLYASH_ALUMINA_VAT and 四(1) RECYCLED_VAT.

一(2) FLYASH_ALUMINA_VAT:
> 对利用高铝粉煤灰提取氧化铝或铝硅氧化物企业，产品列入《资源综合利用产品和劳务增值税优惠目录》的，按照《财政部
> 税务总局关于完善资源综合利用增值税政策的公告》（财政部税务总局公告 2021 年第 40 号）规定，享受国家增值税即征即退
> 相关政策。（责任单位：自治区税务局、工信厅、财政厅）

四(1) RECYCLED_VAT:
> 对符合条件的再生铝加工企业，按照《财政部税务总局关于完善资源综合利用增值税政策的公告》（财政部税务总局公告
> 2021 年第 40 号）规定，享受增值税即征即退政策。（责任单位：自治区工信厅、财政厅、税务局）

The tax bureau grants the refund; this rule only determines eligibility and estimates the refund (VAT paid × the
catalog's refund ratio). It is never an `Award`: the ledger holds special-fund money only. Conditions (公告第三条 and
the catalog row): waste share of raw material at least the catalog's, tax credit grade not C or D, product not
restricted or eliminated, no serious tax or environmental violation in the 6 months before the period.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from rules.context import Context
from rules.decision import Decision, Outcome
from rules.model import Application
from rules.money import round_to_fen, yuan_text
from rules.parameters import declare
from rules.trail import Trail, day


@dataclass(frozen=True)
class Scheme:
    program: str
    prefix: str
    waste_zh: str

    def evaluate(self, app: Application, ctx: Context) -> Decision:
        """The rule of this scheme's program (`rules.engine.RULES`)."""
        return _evaluate(self, app, ctx)


FLYASH_ALUMINA_VAT = Scheme("FLYASH_ALUMINA_VAT", "flyash_alumina_vat", "粉煤灰、煤矸石")
RECYCLED_VAT = Scheme("RECYCLED_VAT", "recycled_vat", "目录所列废旧金属")

PARAMETERS = declare(
    "vat.excluded_tax_credit_grades",
    "flyash_alumina_vat.refund_ratio",
    "flyash_alumina_vat.min_waste_share_pct",
    "recycled_vat.refund_ratio",
    "recycled_vat.min_waste_share_pct",
)


def _evaluate(scheme: Scheme, app: Application, ctx: Context) -> Decision:
    t = Trail(app, ctx, scheme.program)
    excluded = [g.strip() for g in str(t.param("vat.excluded_tax_credit_grades")).split(";") if g.strip()]
    grade = app.enterprise.tax_credit_grade if app.enterprise else None
    if grade is None:
        t.check(
            "TAX_CREDIT_GRADE_EXCLUDED",
            False,
            "企业未填写纳税信用级别，无法判断是否为 C、D 级，请在企业表补填",
            tax_credit_grade=None,
        )
    else:
        ok = grade not in excluded
        t.check(
            "TAX_CREDIT_GRADE_EXCLUDED",
            ok,
            f"纳税信用级别 {grade}，"
            + ("不属于" if ok else "属于")
            + f" {'、'.join(excluded)} 级"
            + ("" if ok else "，不得享受即征即退"),
            tax_credit_grade=grade,
            excluded=excluded,
        )
    if not app.vat_claims:
        t.check("VAT_CLAIM_REQUIRED", False, "未填写增值税明细，无法判断资格和估算退税，请补充")
        return t.decide(Outcome.REJECTED)
    minimum = t.param(f"{scheme.prefix}.min_waste_share_pct")
    for claim in app.vat_claims:
        period = f"所属期 {day(claim.period_start)} 至 {day(claim.period_end)}"
        t.reached(
            "WASTE_SHARE_BELOW_MINIMUM",
            claim.waste_feed_share_pct >= minimum,
            f"{period}：{scheme.waste_zh}占原料比重 {claim.waste_feed_share_pct}%",
            f" {minimum}% 以上",
            period_start=claim.period_start,
            waste_feed_share_pct=claim.waste_feed_share_pct,
            minimum_pct=minimum,
        )
        # The two facts the enterprise declares 是/否: either one 是 fails the claim. (code, 是, message: 是 / 否)
        declared = (
            ("RESTRICTED_OR_ELIMINATED", claim.restricted_or_eliminated,
             "产品{}《产业结构调整指导目录》限制类、淘汰类", ("属于", "不属于")),
            ("SERIOUS_VIOLATION_6M", claim.serious_violation_6m, "前 6 个月内{}重大税收、环保违法行为", ("有", "无")),
        )  # fmt: skip
        for code, yes, message, (said_yes, said_no) in declared:
            t.check(
                code,
                not yes,
                f"{period}：" + message.format(said_yes if yes else said_no),
                period_start=claim.period_start,
            )
    if t.failed:
        return t.decide(Outcome.REJECTED)
    ratio = t.param(f"{scheme.prefix}.refund_ratio")
    paid = sum((c.vat_paid for c in app.vat_claims), Decimal(0))
    estimate = round_to_fen(paid * ratio)
    t.check(
        "VAT_REFUND_ESTIMATE",
        True,
        f"符合即征即退条件；估算退税 = 已缴增值税 {yuan_text(paid)} 元 × 退税比例 {ratio} = {yuan_text(estimate)} 元"
        "（由税务部门核定退付，不从专项资金列支）",
        vat_paid_yuan=paid,
        refund_ratio=ratio,
        estimate_yuan=estimate,
    )
    return t.decide(Outcome.ELIGIBLE, estimate=estimate)
