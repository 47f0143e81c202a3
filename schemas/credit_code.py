"""统一社会信用代码 (GB 32100-2015) and its embedded organisation code (GB 11714-1997)."""

from __future__ import annotations

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_CHARSET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
# 内蒙古自治区: administrative division codes 15xxxx (GB/T 2260).
REGION_PREFIX = "15"


def check_digit(first17: str) -> str:
    total = sum(CHARSET.index(c) * w for c, w in zip(first17, _WEIGHTS, strict=True))
    return CHARSET[(31 - total % 31) % 31]


def org_check_digit(first8: str) -> str:
    total = sum(_ORG_CHARSET.index(c) * w for c, w in zip(first8, _ORG_WEIGHTS, strict=True))
    value = 11 - total % 11
    return {10: "X", 11: "0"}.get(value, str(value))


def problem(code: str) -> tuple[str, str] | None:
    """None if the code is valid for this region, else (error code, Chinese message)."""
    if len(code) != 18:
        return "CREDIT_CODE_LENGTH", f"统一社会信用代码应为 18 位，实际 {len(code)} 位"
    bad = sorted({c for c in code if c not in CHARSET})
    if bad:
        return "CREDIT_CODE_CHARSET", f"统一社会信用代码含非法字符 {''.join(bad)}（不得使用 I、O、Z、S、V）"
    org = code[8:17]
    if any(c not in _ORG_CHARSET for c in org[:8]) or org_check_digit(org[:8]) != org[8]:
        return "CREDIT_CODE_ORG_CHECK", "统一社会信用代码第 9-17 位（组织机构代码）校验码错误，请核对营业执照"
    if check_digit(code[:17]) != code[17]:
        return "CREDIT_CODE_CHECKSUM", "统一社会信用代码校验位（第 18 位）错误，请核对营业执照"
    if not code[2:8].startswith(REGION_PREFIX):
        return (
            "CREDIT_CODE_REGION",
            f"统一社会信用代码登记管理机关行政区划码 {code[2:8]} 不属于内蒙古自治区（15 开头）",
        )
    return None


def make(division: str, serial: int) -> str:
    """A valid code for tests and samples: 91 (enterprise) + division + organisation code + check digit."""
    body8 = f"{serial:08d}"
    org = body8 + org_check_digit(body8)
    first17 = "91" + division + org
    return first17 + check_digit(first17)
