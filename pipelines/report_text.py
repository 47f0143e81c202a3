"""What the reports say in Chinese: decision and program labels, the order officials read lists in, the
sign-off block, and the reasons of a decision with every internal name said in Chinese.

The rules write their reasons for the audit trail, and some name a parameter (`green_manufacturing.award.national
= 1,000,000.00 元`), an award object (`STANDARD_SETTING:<信用代码>:<标准号>`) or a program code. A printed report
names none of them: `plain_reason` says the parameter as what it is ("国家级绿色制造奖励标准（政策条款五(2)）"),
the award object as its program and what it is about, and a program code as the program's name.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import cache, lru_cache
from typing import Any

from rules.catalog import BY_CODE, PROGRAMS
from rules.parameters import Parameters
from schemas.sheets import LEAGUE_CITIES, LEVELS, RECOGNITION_TYPES

DECISIONS = ("awarded", "eligible", "compliant", "non_compliant", "rejected", "needs_review")
# the restrained fills of pipelines.excel, by decision
DECISION_FILL = {"rejected": "rejected", "non_compliant": "rejected", "needs_review": "review"}
KIND_ZH = {"fund": "专项资金", "vat": "增值税即征即退", "gate": "合规判定", "register": "登记统计"}
SIGN_OFF = ("制表人：__________", "审核人：__________", "负责人：__________", "日期：____年__月__日")
SIGN_OFF_SEALED = (*SIGN_OFF, "单位（盖章）：")
BUDGET_LABEL = "年度预算（暂定，待财政厅下达）"
UNKNOWN_CITY = "未填盟市"

_CITY_ORDER = {c: i for i, c in enumerate(LEAGUE_CITIES)}
_PROGRAM_ORDER = {p.code: i for i, p in enumerate(PROGRAMS)}  # the catalog lists programs in clause order

# The award amounts the rules cite in their reasons, as a reader names them.
PARAMETER_LABELS = {
    "green_manufacturing.award.national": "国家级绿色制造奖励标准",
    "green_manufacturing.award.regional": "自治区级绿色制造奖励标准",
    "single_champion.award.national": "国家级制造业单项冠军奖励标准",
    "single_champion.award.regional": "自治区级制造业单项冠军奖励标准",
    "quality_sme.award.innovative_sme": "创新型中小企业奖励标准",
    "quality_sme.award.specialized_sme": "“专精特新”中小企业奖励标准",
    "quality_sme.award.little_giant": "“小巨人”企业奖励标准",
}
_PARAMETER_PROGRAM = {
    "green_manufacturing": "GREEN_MANUFACTURING",
    "single_champion": "SINGLE_CHAMPION",
    "quality_sme": "QUALITY_SME",
}
_PARAMETER_KEY = re.compile(r"\b([a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+)(\s*=\s*)?")
# an award key: a program code, a colon, then ASCII up to where the Chinese text resumes
_AWARD_KEY = re.compile(r"\b([A-Z][A-Z0-9_]{2,}):([ -~]+?)(?=\s*[^ -~]|\s*$)")
_PROGRAM_CODE = re.compile(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b")
_CREDIT_CODE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{18}$")
_WORDS = {**RECOGNITION_TYPES, **LEVELS}


def city_order(city: str | None) -> int:
    return _CITY_ORDER.get(city or "", len(_CITY_ORDER))


def official_order(row: dict[str, Any]) -> tuple[Any, ...]:
    """盟市 in the region's order, then enterprise, then clause order: how officials read a list."""
    return (
        city_order(row.get("league_city")),
        row.get("league_city") or "",
        row.get("enterprise_name") or "",
        _PROGRAM_ORDER.get(row.get("program") or "", len(_PROGRAM_ORDER)),
        row.get("application_id") or "",
    )


def clause_zh(clause: str | None) -> str:
    return f"政策条款{clause}" if clause else ""


def program_name(code: str) -> str:
    program = BY_CODE.get(code)
    return program.name if program else "已停用的申报类别"


@cache
def _descriptions() -> dict[str, str]:
    """Every parameter's Chinese description, without the program code it starts with."""
    parameters = Parameters.load()
    return {
        key: _PROGRAM_CODE.sub("", parameters.description(key)).strip(" /") or "政策规定标准"
        for key in sorted(parameters.keys())
    }


def _parameter(match: re.Match[str]) -> str:
    key, equals = match.group(1), match.group(2)
    label = PARAMETER_LABELS.get(key) or _descriptions().get(key)
    if label is None:
        return match.group(0)  # not a parameter key (a decimal, a file extension): leave the text as it is
    program = BY_CODE.get(_PARAMETER_PROGRAM.get(key.split(".")[0], ""))
    cited = f"{label}（{clause_zh(program.clause)}）" if program and key in PARAMETER_LABELS else label
    return cited + (" " if equals else "")


def _award_object(match: re.Match[str]) -> str:
    code, rest = match.group(1), match.group(2).strip()
    if code not in BY_CODE:
        return match.group(0)
    parts = [p for p in rest.split(":") if not _CREDIT_CODE.match(p)]
    if parts and all(p in _WORDS for p in parts):
        what = "".join(_WORDS[p] for p in reversed(parts))  # type then level in the key; 国家级绿色工厂 read
    else:
        what = ":".join(parts)
    return f"{program_name(code)}（{what}）" if what else program_name(code)


@lru_cache(maxsize=1 << 16)  # the rules word most reasons alike
def plain_reason(message: str) -> str:
    """One reason with every award key, parameter key and program code said in Chinese."""
    text = _AWARD_KEY.sub(_award_object, message)
    text = _PARAMETER_KEY.sub(_parameter, text)
    return _PROGRAM_CODE.sub(
        lambda m: program_name(m.group(0)) if m.group(0) in BY_CODE else m.group(0), text
    )


def reasons(reasons_json: str | None, say: Callable[[str], str] = plain_reason) -> tuple[str, str]:
    """(reasons shown in 明细, what is missing for 待审核): the messages of failed and noted conditions; an
    application whose conditions all passed shows them all, so an official sees why it succeeded."""
    trail = json.loads(reasons_json or "[]")
    open_ = [say(r["message"]) for r in trail if r.get("passed") is not True]
    return "；".join(open_ or [say(r["message"]) for r in trail]), "；".join(open_)
