"""What-if: the same applications decided under the rulebook and under modified parameters, side by side.

Pure: it takes applications and two parameter sets and returns rows; it never reads or writes the ledger (the
command line is `python -m rules.whatif`, a thin entry point to `pipelines.whatif`, which reads the inbox).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from rules.decision import Decision, yuan
from rules.engine import decide_all
from rules.model import Application
from rules.parameters import ParameterError, Parameters


@dataclass(frozen=True)
class Override:
    """One `--set key=value[@since]`: a dated value added to a copy of the parameters."""

    key: str
    value: Any
    since: date | None

    @classmethod
    def parse(cls, text: str) -> Override:
        key, sep, rest = text.partition("=")
        if not sep or not key.strip() or not rest.strip():
            raise ParameterError(f"--set {text!r}: expected key=value[@YYYY-MM-DD]")
        raw, at, since = rest.rpartition("@") if "@" in rest else (rest, "", "")
        return cls(key.strip(), _value(raw.strip()), date.fromisoformat(since.strip()) if at else None)


def _value(text: str) -> Any:
    """A date, a switch or a number as the parameter files would hold it; never a float."""
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    try:
        return date.fromisoformat(text)
    except ValueError:
        return text  # Parameters.with_value turns numbers into Decimal, text stays text


def modified(parameters: Parameters, overrides: Iterable[Override]) -> Parameters:
    """A copy of `parameters` with each override in force from its date (default: from its first value on)."""
    changed = parameters
    for o in overrides:
        # Without @since the value replaces the parameter's first value, so it applies to every application
        # (applications are decided with the parameters in force on their 申报日期).
        since = o.since or changed.history(o.key)[0].since
        changed = changed.with_value(o.key, o.value, since, f"what-if: --set {o.key}")
    return changed


@dataclass(frozen=True)
class Row:
    application_id: str
    program: str
    base_decision: str
    base_amount: Decimal | None
    whatif_decision: str
    whatif_amount: Decimal | None

    @property
    def difference(self) -> Decimal:
        return (self.whatif_amount or Decimal("0.00")) - (self.base_amount or Decimal("0.00"))

    @property
    def changed(self) -> bool:
        return self.base_decision != self.whatif_decision or self.difference != 0


def compare(
    applications: Sequence[Application],
    as_of: date,
    base: Parameters,
    whatif: Parameters,
    held: Mapping[str, str] | None = None,
) -> list[Row]:
    before = {d.application_id: d for d in decide_all(applications, as_of, base, held)}
    after = decide_all(applications, as_of, whatif, held)
    return [_row(before[d.application_id], d) for d in after]


def _row(before: Decision, after: Decision) -> Row:
    return Row(
        before.application_id,
        before.program,
        str(before.outcome),
        before.amount,
        str(after.outcome),
        after.amount,
    )


HEADERS = ("申报编号", "申报类别", "现行决定", "现行金额(元)", "模拟决定", "模拟金额(元)", "差额(元)")


def table(rows: Sequence[Row]) -> str:
    """A plain-text side-by-side table, changed rows marked with `*`, totals at the bottom."""
    lines = [
        (
            r.application_id + (" *" if r.changed else ""),
            r.program,
            r.base_decision,
            _money(r.base_amount),
            r.whatif_decision,
            _money(r.whatif_amount),
            _signed(r.difference),
        )
        for r in rows
    ]
    base_total = sum(
        (r.base_amount or Decimal(0) for r in rows if r.base_decision == "awarded"), Decimal("0.00")
    )
    whatif_total = sum(
        (r.whatif_amount or Decimal(0) for r in rows if r.whatif_decision == "awarded"), Decimal("0.00")
    )
    lines.append(
        ("合计（奖补）", "", "", yuan(base_total), "", yuan(whatif_total), _signed(whatif_total - base_total))
    )
    widths = [max(_width(str(x)) for x in column) for column in zip(HEADERS, *lines, strict=True)]
    out = [_line(HEADERS, widths), _line(tuple("-" * w for w in widths), widths)]
    out += [_line(line, widths) for line in lines]
    return "\n".join(out)


def _money(amount: Decimal | None) -> str:
    return "" if amount is None else yuan(amount)


def _signed(amount: Decimal) -> str:
    return "" if amount == 0 else ("+" if amount > 0 else "") + yuan(amount)


def _width(text: str) -> int:
    # A CJK character takes two columns in a terminal.
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _line(cells: tuple[str, ...], widths: list[int]) -> str:
    return "  ".join(cell + " " * (w - _width(cell)) for cell, w in zip(cells, widths, strict=True)).rstrip()


if __name__ == "__main__":
    from pipelines.whatif import main

    raise SystemExit(main())
