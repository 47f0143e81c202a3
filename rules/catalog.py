"""The 19 programs of docs/policy.md: code, Chinese name, clause, responsible departments (lead first), kind.

This module is the only holder of each program's clause and lead department: a rule names its program by code
and its `Trail` takes the clause and the lead from here (a test guards that no rule module repeats them). Where
one program spans several paragraphs (二(1) and 二(2) for the smelter gate), `sub_clauses` lists them and each
condition carries its own. Which rule decides a program is `rules.engine.RULES`.
"""

from __future__ import annotations

from dataclasses import dataclass

DEPARTMENTS = (
    "工信厅",
    "发展改革委",
    "财政厅",
    "商务厅",
    "税务局",
    "能源局",
    "生态环境厅",
    "科技厅",
    "市场监督管理局",
    "新闻出版局",
)


@dataclass(frozen=True)
class Program:
    code: str
    name: str
    clause: str
    departments: tuple[str, ...]  # the first is the lead (牵头)
    kind: str  # "fund" (money from the special fund), "vat", "gate", "register"
    sub_clauses: tuple[str, ...] = ()  # the paragraphs a condition may cite instead of the whole clause

    @property
    def lead_department(self) -> str:
        return self.departments[0]


PROGRAMS: tuple[Program, ...] = (
    Program(
        "FLYASH_ALUMINA_INTEREST",
        "高铝粉煤灰提取氧化铝项目贴息",
        "一(1)",
        ("工信厅", "发展改革委", "商务厅", "财政厅"),
        "fund",
    ),
    Program(
        "FLYASH_ALUMINA_VAT",
        "高铝粉煤灰综合利用增值税即征即退",
        "一(2)",
        ("税务局", "工信厅", "财政厅"),
        "vat",
    ),
    Program(
        "ALUMINA_PROJECT_GATE",
        "氧化铝项目合规判定",
        "一(3)",
        ("发展改革委", "工信厅", "生态环境厅"),
        "gate",
    ),
    Program(
        "SMELTER_PROJECT_GATE",
        "电解铝项目合规判定",
        "二(1-2)",
        ("工信厅", "能源局", "发展改革委", "生态环境厅"),
        "gate",
        ("二(1)", "二(2)"),
    ),
    Program(
        "RENEWABLE_SHARE",
        "可再生能源消纳比例统计",
        "二(3)",
        ("能源局", "工信厅"),
        "register",
    ),
    Program(
        "DEEP_PROCESSING_INTEREST",
        "铝高端延伸加工项目贴息",
        "三(1)",
        ("工信厅", "发展改革委", "财政厅"),
        "fund",
    ),
    Program("FIRST_BATCH", "首批次新材料登记", "三(2)", ("工信厅",), "register"),
    Program(
        "RECYCLED_DATABASE",
        "再生铝基础数据库",
        "四(1)",
        ("工信厅", "财政厅", "税务局"),
        "register",
    ),
    Program(
        "RECYCLED_PROCESSING_INTEREST",
        "再生铝高端延伸加工项目贴息",
        "四(1)",
        ("工信厅", "财政厅", "税务局"),
        "fund",
    ),
    Program(
        "RECYCLED_VAT",
        "再生铝增值税即征即退",
        "四(1)",
        ("工信厅", "财政厅", "税务局"),
        "vat",
    ),
    Program(
        "EQUIPMENT_UPGRADE",
        "设备更新和技术改造奖补",
        "五(1)",
        ("工信厅", "财政厅"),
        "fund",
    ),
    Program("ENERGY_SAVING", "节能改造奖补", "五(2)", ("工信厅", "财政厅"), "fund"),
    Program("WATER_SAVING", "节水改造奖补", "五(2)", ("工信厅", "财政厅"), "fund"),
    Program(
        "GREEN_MANUFACTURING",
        "绿色制造奖励",
        "五(2)",
        ("工信厅", "财政厅"),
        "fund",
    ),
    Program(
        "SCI_TECH_PROJECT",
        "铝产业重大科技项目登记",
        "六(1)",
        ("科技厅",),
        "register",
    ),
    Program(
        "IP_COMMERCIALIZATION",
        "知识产权转化奖补",
        "六(2)",
        ("工信厅", "市场监督管理局", "财政厅", "新闻出版局"),
        "fund",
    ),
    Program(
        "STANDARD_SETTING",
        "标准研制奖励",
        "七",
        ("工信厅", "市场监督管理局", "财政厅"),
        "fund",
    ),
    Program(
        "SINGLE_CHAMPION",
        "制造业单项冠军奖励",
        "八",
        ("工信厅", "财政厅"),
        "fund",
    ),
    Program(
        "QUALITY_SME",
        "优质中小企业奖励",
        "八",
        ("工信厅", "财政厅"),
        "fund",
    ),
)

BY_CODE = {p.code: p for p in PROGRAMS}
BY_NAME = {p.name: p for p in PROGRAMS}


def program(code_or_name: str) -> Program | None:
    """A program by its code or its Chinese name, as the 申报类别 column may hold either."""
    text = code_or_name.strip()
    return BY_CODE.get(text.upper()) or BY_NAME.get(text)
