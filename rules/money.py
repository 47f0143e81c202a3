"""Money, in one place: yuan as exact `Decimal`, integer fen in the ledger, 万元 as typed in the workbooks.

Amounts are computed exactly (a `Fraction` where a formula divides, such as interest's `/ 360`) and rounded
half-up (四舍五入) to the fen once, at the end of each award (docs/policy.md). The ledger stores integer fen, and a
yuan amount that is not a whole number of fen is refused there rather than rounded a second time.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

FEN = Decimal("0.01")
FEN_PER_YUAN = 100
WAN = Decimal(10000)  # 万元 -> yuan


def round_to_fen(amount: Decimal | Fraction) -> Decimal:
    """Round half-up (四舍五入, halves away from zero) to the fen: once, at the end of each award's computation.

    A `Fraction` is rounded exactly, never through a truncated decimal expansion: 1/360 of a sum that ends in half
    a fen rounds up, where a 28-digit quotient would end in …4999 and round down.
    """
    if isinstance(amount, Decimal):
        return amount.quantize(FEN, rounding=ROUND_HALF_UP)
    fen = math.floor(abs(amount) * FEN_PER_YUAN + Fraction(1, 2))
    return (Decimal(fen if amount >= 0 else -fen) / FEN_PER_YUAN).quantize(FEN)


def as_fen(amount: Decimal) -> int:
    """An amount already rounded to the fen, as the ledger's integer fen; anything finer is a bug upstream."""
    fen = amount * FEN_PER_YUAN
    if fen != fen.to_integral_value():
        raise ValueError(f"amount {amount} is not a whole number of fen")
    return int(fen)


def from_fen(fen: int) -> Decimal:
    """Integer fen -> yuan with two decimals."""
    return (Decimal(fen) / FEN_PER_YUAN).quantize(FEN)


def from_wan(amount: Decimal) -> Decimal:
    """万元 as typed -> yuan, exactly."""
    return amount * WAN


def yuan_text(amount: Decimal) -> str:
    """1234567.5 -> '1,234,567.50' for Chinese messages."""
    return f"{amount:,.2f}"


def wan_text(amount: Decimal) -> str:
    """A yuan amount as 万元 text: 19999900 -> '1,999.99' (exact: dividing by 10^4 always terminates)."""
    return f"{(amount / WAN).normalize():,f}"


def exact_text(amount: Fraction) -> str:
    """An exact intermediate for the trail: its decimal form when it terminates, else 10 places and '…'."""
    digits = Decimal(amount.numerator) / Decimal(amount.denominator)
    if Fraction(digits) == amount:
        return f"{digits:f}"
    return f"{digits:.10f}…"
