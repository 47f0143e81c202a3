"""Registers and statistics, no money: 二(3) RENEWABLE_SHARE, 三(2) FIRST_BATCH, 四(1) RECYCLED_DATABASE,
六(1) SCI_TECH_PROJECT. An application is recorded (`eligible`) or rejected with what to fix.

二(3) RENEWABLE_SHARE:
> 支持电解铝企业参与以消纳可再生能源为主的微电网建设，通过绿色电力交易、购买绿色电力证书等方式消纳可再生能源。
> ……提高铝产业可再生能源消纳比例。（责任单位：自治区能源局、工信厅）

三(2) FIRST_BATCH:
> 开展自治区铝深加工关键零部件首批（次）、新材料首批（次）产品认定，支持铝深加工关键零部件、新材料申报国家首批次
> 应用示范。（责任单位：自治区工信厅）

四(1) RECYCLED_DATABASE:
> 推动建立再生铝资源消耗、回收利用、处理处置、再生原料消费等基础数据库。（责任单位：自治区工信厅、财政厅、税务局）

六(1) SCI_TECH_PROJECT:
> 支持企业联合高等院校、科研院所等，通过揭榜挂帅、赛马制等方式，承担自治区铝产业科技重大专项项目。（责任单位：
> 自治区科技厅）

None of these names an amount or a threshold, so no parameter is read: a register records what happened.
六(1) names 自治区铝产业科技重大专项项目, so its register holds regional (自治区级) projects only; a national project
is rejected with that reason. 三(2)'s register holds both levels (自治区 recognitions and national 首批次 pilots).
"""

from __future__ import annotations

from rules.context import Context
from rules.decision import Decision, Outcome
from rules.labels import LEVELS, RECOGNITION_TYPES
from rules.model import Application
from rules.recognitions import facts, label
from rules.trail import Trail


def evaluate_renewable_share(app: Application, ctx: Context) -> Decision:
    message = "已登记；可再生能源消纳比例由计量数据（可再生电力 / 全部电力）统计，不涉及奖补资金"
    return _recorded(app, ctx, "RENEWABLE_SHARE", "STATISTIC_FROM_METERING", message)


def evaluate_recycled_database(app: Application, ctx: Context) -> Decision:
    message = "已纳入再生铝基础数据库（资源消耗、回收利用、处理处置、再生原料消费），不涉及奖补资金"
    return _recorded(app, ctx, "RECYCLED_DATABASE", "RECORDED_IN_DATABASE", message)


def _recorded(app: Application, ctx: Context, program: str, code: str, message: str) -> Decision:
    """Every application of the program is recorded, with a note of what the register does with it."""
    t = Trail(app, ctx, program)
    t.note(code, message)
    return t.decide(Outcome.ELIGIBLE)


def evaluate_first_batch(app: Application, ctx: Context) -> Decision:
    return _register(app, ctx, "FIRST_BATCH", "first_batch", tuple(LEVELS))


def evaluate_sci_tech_project(app: Application, ctx: Context) -> Decision:
    return _register(app, ctx, "SCI_TECH_PROJECT", "sci_tech_project", ("regional",))


def _register(app: Application, ctx: Context, program: str, wanted: str, levels: tuple[str, ...]) -> Decision:
    t = Trail(app, ctx, program)
    recorded = 0
    if not app.recognitions:
        t.check("RECOGNITION_REQUIRED", False, f"未填写{RECOGNITION_TYPES[wanted]}认定明细（认定表），请补充")
    for rec in app.recognitions:
        name, values = label(rec), facts(rec)
        if rec.recognition_type != wanted:
            t.check(
                "RECOGNITION_TYPE_NOT_COVERED", False, f"{name} 不是{RECOGNITION_TYPES[wanted]}认定", **values
            )
        elif rec.level not in levels:
            allowed = "、".join(LEVELS[level] for level in levels)
            t.check(
                "RECOGNITION_LEVEL_NOT_COVERED",
                False,
                f"{name} 不属于本登记的级别：只登记{allowed}{RECOGNITION_TYPES[wanted]}",
                **values,
            )
        elif rec.recognized_on > ctx.as_of:
            t.check(
                "RECOGNIZED_AFTER_EVALUATION_DATE",
                False,
                f"{name} 认定日期晚于评审日期，请认定后再登记",
                **values,
            )
        else:
            t.check("REGISTERED", True, f"{name} 已登记，不涉及奖补资金", **values)
            recorded += 1
    return t.decide(Outcome.ELIGIBLE if recorded else Outcome.REJECTED)
