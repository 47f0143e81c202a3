"""What-if: the same applications decided under the rulebook and under modified parameters, side by side.

Pure: it takes the applications, the awards held and the review determinations exactly as the nightly job has
them, and two parameter sets, and returns rows; it never reads or writes anything. `pipelines.whatif` (the
command line `python -m pipelines.whatif` and the Dagster job `what_if`) reads those inputs the job's way.

A changed value applies from its date (`--set key=value@YYYY-MM-DD`; without a date, from the parameter's first
dated value, i.e. to every application). Since each application is decided with the parameters in force on its
申报日期, a value from date X changes the applications submitted on or after X, and only those.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from rules.decision import Decision
from rules.engine import decide_all
from rules.model import Application
from rules.money import yuan_text
from rules.parameters import ParameterError, Parameters
from rules.review import Determination


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


def since(parameters: Parameters, override: Override) -> date:
    """The date a changed value applies from: its own, or the parameter's first dated value (every application)."""
    return override.since or parameters.history(override.key)[0].since


def modified(parameters: Parameters, overrides: Iterable[Override]) -> Parameters:
    """A copy of `parameters` with each override in force from `since(...)`."""
    changed = parameters
    for o in overrides:
        changed = changed.with_value(o.key, o.value, since(changed, o), f"what-if: --set {o.key}")
    return changed


def header(as_of: date, base: Parameters, whatif: Parameters, overrides: Sequence[Override]) -> list[str]:
    """What the comparison is, stated so that nobody misreads from when a changed value counts."""
    lines = [
        f"评审日期 {as_of.isoformat()}；现行规则 {base.version}；调整后 {whatif.version}",
        "两列按夜间作业的同一路径评审：同一收件箱、计量数据、台账已获奖励、现行审核结论，只有下列参数不同；不记账。",
    ]
    for o in overrides:
        start = since(base, o).isoformat()
        lines.append(
            f"  {o.key} = {o.value}：自 {start} 起适用——申报日期在 {start} 及以后的申报按此值评审，"
            "此前申报的仍按原值（每个申报按其申报日期当天有效的参数评审）"
        )
    return lines


@dataclass(frozen=True)
class Row:
    application_id: str
    program: str
    enterprise_name: str
    league_city: str
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
    reviews: Mapping[str, Determination] | None = None,
) -> list[Row]:
    before = {d.application_id: d for d in decide_all(applications, as_of, base, held, reviews)}
    after = decide_all(applications, as_of, whatif, held, reviews)
    by_id = {a.application_id: a for a in applications}
    return [_row(by_id[d.application_id], before[d.application_id], d) for d in after]


def _row(app: Application, before: Decision, after: Decision) -> Row:
    enterprise = app.enterprise
    return Row(
        before.application_id,
        before.program,
        enterprise.name if enterprise else "",
        enterprise.league_city if enterprise else "",
        str(before.outcome),
        before.amount,
        str(after.outcome),
        after.amount,
    )


@dataclass(frozen=True)
class Total:
    """One group's awards (special-fund money: `awarded` decisions only) under both parameter sets."""

    group: str
    applications: int
    changed: int
    base: Decimal
    whatif: Decimal

    @property
    def difference(self) -> Decimal:
        return self.whatif - self.base


def awarded(amount: Decimal | None, decision: str) -> Decimal:
    return (amount or Decimal("0.00")) if decision == "awarded" else Decimal("0.00")


def totals(rows: Sequence[Row], group: Callable[[Row], str]) -> list[Total]:
    out: dict[str, list[Row]] = {}
    for r in rows:
        out.setdefault(group(r), []).append(r)
    return [
        Total(
            key,
            len(members),
            sum(1 for r in members if r.changed),
            sum((awarded(r.base_amount, r.base_decision) for r in members), Decimal("0.00")),
            sum((awarded(r.whatif_amount, r.whatif_decision) for r in members), Decimal("0.00")),
        )
        for key, members in sorted(out.items())
    ]


HEADERS = ("申报编号", "申报类别", "现行决定", "现行金额(元)", "调整后决定", "调整后金额(元)", "差额(元)")


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
        (
            "合计（奖补）",
            "",
            "",
            yuan_text(base_total),
            "",
            yuan_text(whatif_total),
            _signed(whatif_total - base_total),
        )
    )
    widths = [max(_width(str(x)) for x in column) for column in zip(HEADERS, *lines, strict=True)]
    out = [_line(HEADERS, widths), _line(tuple("-" * w for w in widths), widths)]
    out += [_line(line, widths) for line in lines]
    return "\n".join(out)


def _money(amount: Decimal | None) -> str:
    return "" if amount is None else yuan_text(amount)


def _signed(amount: Decimal) -> str:
    return "" if amount == 0 else ("+" if amount > 0 else "") + yuan_text(amount)


def _width(text: str) -> int:
    # A CJK character takes two columns in a terminal.
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _line(cells: tuple[str, ...], widths: list[int]) -> str:
    return "  ".join(cell + " " * (w - _width(cell)) for cell, w in zip(cells, widths, strict=True)).rstrip()
