"""六(2) 加强科技成果转化 — IP_COMMERCIALIZATION.

> 加强科技成果转化，对企业自有发明专利或购买的国内外授权发明专利、软件著作权等成果转化为本企业项目，按实际完成
> 投资额的 20%给予一次性奖补，最高奖补 500 万元。（责任单位：自治区工信厅、市场监督管理局、财政厅、新闻出版局）

At least one granted invention patent (own or purchased) or software copyright, granted on or before the
evaluation date, and a project completed on or before it (docs/policy.md). Award object:
`IP_COMMERCIALIZATION:<project_code>`.
"""

from __future__ import annotations

from rules.context import Context
from rules.decision import Decision
from rules.labels import ACQUISITIONS, IP_KINDS
from rules.model import Application
from rules.parameters import declare
from rules.projects import Share, completed_project, share_award
from rules.trail import day

PROGRAM = "IP_COMMERCIALIZATION"

SHARE = Share(
    "ip_commercialization",
    "实际完成投资额",
    "completed_investment_yuan",
    "COMPLETED_INVESTMENT_REQUIRED",
    "未填写实际完成投资额或为零，无法计算奖补，请补填",
    "IP_AWARD",
)

PARAMETERS = declare("ip_commercialization.rate", "ip_commercialization.cap")


def evaluate(app: Application, ctx: Context) -> Decision:
    t = completed_project(app, ctx, PROGRAM)
    granted = [ip for ip in app.ip_assets if ip.ip_kind in IP_KINDS and ip.granted_on <= ctx.as_of]
    for ip in app.ip_assets:
        if ip.granted_on > ctx.as_of:
            t.note(
                "IP_NOT_YET_GRANTED",
                f"{IP_KINDS.get(ip.ip_kind, ip.ip_kind)} {ip.ip_number} 授权日期 {day(ip.granted_on)} 晚于评审日期，不计入",
                ip_number=ip.ip_number,
                granted_on=ip.granted_on,
            )
    t.check(
        "IP_ASSET_REQUIRED",
        bool(granted),
        "已授权成果："
        + "、".join(
            f"{ACQUISITIONS.get(ip.acquisition, ip.acquisition)}{IP_KINDS[ip.ip_kind]} {ip.ip_number}"
            for ip in granted
        )
        if granted
        else "未附评审日期前已授权的发明专利或软件著作权，不符合成果转化奖补条件",
        ip_numbers=[ip.ip_number for ip in granted],
    )
    return share_award(t, app.completed_investment, SHARE, ip_numbers=[ip.ip_number for ip in granted])
