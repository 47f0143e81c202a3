"""The policy's vocabulary: code -> the Chinese label officials read and enterprises type. One list each.

The rules name recognitions, standards, IP and processes with these labels; the sheet specs (`schemas.sheets`)
accept either the code or the label in a cell, and the reports print the label.
"""

from __future__ import annotations

RECOGNITION_TYPES = {
    "green_factory": "绿色工厂",
    "green_supply_chain": "绿色供应链",
    "energy_efficiency_leader": "能效领跑者",
    "water_efficiency_leader": "水效领跑者",
    "single_champion": "制造业单项冠军",
    "innovative_sme": "创新型中小企业",
    "specialized_sme": "专精特新中小企业",
    "little_giant": '专精特新"小巨人"',
    "first_batch": "首批次",
    "sci_tech_project": "科技重大专项",
}
LEVELS = {"national": "国家级", "regional": "自治区级"}
STANDARD_LEVELS = {"international": "国际", "national": "国家", "industry": "行业"}
ROLES = {"lead": "主导", "participate": "参与"}
IP_KINDS = {"invention_patent": "发明专利", "software_copyright": "软件著作权"}
ACQUISITIONS = {"own": "自有", "purchased": "购买"}
PROCESSES = {"bayer": "拜耳法", "other": "其他", "electrolysis": "电解"}
CAPACITY_SOURCES = {"local": "区内", "transferred": "区外转移"}

# A decision's outcome as officials read it (application_decisions.decision).
DECISION_ZH = {
    "awarded": "奖补",
    "eligible": "符合条件",
    "compliant": "合规",
    "non_compliant": "不合规",
    "rejected": "不予支持",
    "needs_review": "待人工审核",
}
