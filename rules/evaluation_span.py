"""Over which evaluation dates a night's decisions hold word for word.

The rules read the evaluation date only by comparing dates with it (竣工 on or before it, 认定日期 after it, the
parameters in force on it). `Watched` is that date noting, for every comparison, the first date on which its
result would change; once the decisions are made, any other evaluation date between the same two such dates gives
the same comparisons, hence the same decisions. A rule that reads the date any other way (its year, an arithmetic
difference, its text) makes the span that one day, so a night never reuses decisions it cannot show would come out
the same (tests/test_evaluation_span.py decides the sample on every day of four years and holds each span to it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any


@dataclass(frozen=True)
class Span:
    """Evaluation dates from `first` to `last`, both included."""

    first: date
    last: date

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.first <= day <= self.last


class Watched(date):
    """An evaluation date that notes, of every comparison with it, the first date on which its result would
    change (`boundaries`), and whether it was read any other way."""

    boundaries: set[date]
    read_otherwise: bool

    def __new__(cls, day: date) -> Watched:
        self = super().__new__(cls, day.year, day.month, day.day)
        self.boundaries = set()
        self.read_otherwise = False
        return self

    def plain(self) -> date:
        return date(super().year, super().month, super().day)

    def span(self) -> Span:
        """The evaluation dates on which every noted comparison comes out as on this one."""
        plain = self.plain()
        if self.read_otherwise:
            return Span(plain, plain)
        reached = [b for b in self.boundaries if b <= plain]
        ahead = [b for b in self.boundaries if b > plain]
        return Span(
            max(reached) if reached else date.min,
            date.fromordinal(min(ahead).toordinal() - 1) if ahead else date.max,
        )

    def _note(self, other: Any, *after: int) -> None:
        """`other` is compared with this date; the result changes on `other` plus each of `after` days."""
        if isinstance(other, Watched):
            if other is not self:
                self.read_otherwise = other.read_otherwise = True
        elif isinstance(other, date):
            day = date(other.year, other.month, other.day).toordinal()
            self.boundaries.update(date.fromordinal(min(day + n, date.max.toordinal())) for n in after)

    # Python asks a subclass's reflected comparison first, so `x <= as_of` comes here as `as_of >= x`.
    def __lt__(self, other: Any) -> bool:
        self._note(other, 0)  # true up to the day before `other`
        return date.__lt__(self, other)

    def __le__(self, other: Any) -> bool:
        self._note(other, 1)  # true up to `other` itself
        return date.__le__(self, other)

    def __gt__(self, other: Any) -> bool:
        self._note(other, 1)  # true from the day after `other`
        return date.__gt__(self, other)

    def __ge__(self, other: Any) -> bool:
        self._note(other, 0)  # true from `other` on
        return date.__ge__(self, other)

    def __eq__(self, other: Any) -> bool:
        self._note(other, 0, 1)  # true on `other` alone
        return date.__eq__(self, other)

    def __ne__(self, other: Any) -> bool:
        self._note(other, 0, 1)
        return date.__ne__(self, other)

    def __hash__(self) -> int:
        self.read_otherwise = True  # a dict or set keyed by the date could tell it from any other
        return date.__hash__(self)

    def _read(self) -> None:
        self.read_otherwise = True

    # Every other way of reading the date: the span is then this day alone.
    @property
    def year(self) -> int:
        self._read()
        return super().year

    @property
    def month(self) -> int:
        self._read()
        return super().month

    @property
    def day(self) -> int:
        self._read()
        return super().day

    def __sub__(self, other: Any) -> Any:
        self._read()
        return self.plain() - other

    def __rsub__(self, other: Any) -> Any:
        self._read()
        return other - self.plain()

    def __add__(self, other: Any) -> Any:
        self._read()
        return self.plain() + other

    __radd__ = __add__

    def __format__(self, spec: str) -> str:
        self._read()
        return date.__format__(self, spec)

    def __str__(self) -> str:
        self._read()
        return date.isoformat(self)

    def __repr__(self) -> str:
        self._read()
        return date.__repr__(self)

    def __reduce__(self) -> Any:
        self._read()
        return date.__reduce__(self)

    def __reduce_ex__(self, protocol: Any) -> Any:
        self._read()
        return (date, (super().year, super().month, super().day))

    def isoformat(self) -> str:
        self._read()
        return date.isoformat(self)

    def strftime(self, fmt: str) -> str:
        self._read()
        return date.strftime(self, fmt)

    def toordinal(self) -> int:
        self._read()
        return date.toordinal(self)

    def weekday(self) -> int:
        self._read()
        return date.weekday(self)

    def isoweekday(self) -> int:
        self._read()
        return date.isoweekday(self)

    def isocalendar(self) -> Any:
        self._read()
        return date.isocalendar(self)

    def timetuple(self) -> Any:
        self._read()
        return date.timetuple(self)

    def ctime(self) -> str:
        self._read()
        return date.ctime(self)

    def replace(self, *args: Any, **kwargs: Any) -> date:  # type: ignore[override]
        self._read()
        return self.plain().replace(*args, **kwargs)
