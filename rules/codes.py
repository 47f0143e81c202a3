"""One object, one payment, however its code is typed: the canonical form of project and standard codes.

`ISO 6361-9:2025`, `ISO6361-9:2025`, `iso 6361-9：2025` and `ＩＳＯ６３６１－９:2025` name one standard;
`XM-DUP-2025-01` and `xm—dup—2025—01` one project. The canonical form is the code after NFKC (full-width letters,
digits, colon, slash, hyphen and space become ASCII), every dash variant made `-`, every whitespace removed, upper
case. Award keys and the paired-project lookup use it; each decision keeps the code as typed in a
`CODE_AS_TYPED` note, so the record shows both.

Inner spaces are removed rather than normalised to one because no rule can say where a space belongs
(`ISO 6361` but `ASTM B209`): the key is for identity, the typed form is for reading.

Keys booked before this form existed may carry another spelling (the sample books `ISO 6361-6:2025` with its
space). `identity()` compares keys in the canonical form, so the engine keeps such an object with its holder and
under its booked spelling: nothing is re-keyed, reversed and booked again, and no differently typed claimant is
paid for it a second time.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace

from rules.model import Application

# Hyphen, non-breaking hyphen, figure dash, en dash, em dash, horizontal bar, minus sign, small and full-width
# hyphen-minus (NFKC already maps the last two; listed so the table says what counts as a dash).
_DASHES = re.compile("[\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d]")
_SPACE = re.compile(r"\s+")
# Code characters that are invisible or formatting only: zero-width space/joiners, BOM.
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")


def canonical(code: str) -> str:
    """The one spelling of a code that award keys are built from."""
    if code.isascii():
        # As nearly every code is: NFKC leaves ASCII as it is and no dash variant or invisible is ASCII.
        return _SPACE.sub("", code).upper()
    text = unicodedata.normalize("NFKC", code)
    text = _INVISIBLE.sub("", text)
    text = _DASHES.sub("-", text)
    text = _SPACE.sub("", text)
    # Removing a space or upper-casing can leave a sequence NFKC composes (`A´` -> `A` + U+0301 -> `Á`): normalise
    # again, so the form is its own canonical form.
    return unicodedata.normalize("NFKC", text.upper())


def identity(award_key: str) -> str:
    """What two award keys must share to be one object (compares whole keys; never stored)."""
    return canonical(award_key)


@dataclass(frozen=True)
class Retyped:
    """A code the enterprise typed otherwise than its canonical form."""

    field: str  # the sheet column's Chinese header
    typed: str
    canonical: str


def canonical_application(app: Application) -> tuple[Application, tuple[Retyped, ...]]:
    """The application with its codes in canonical form, and what was typed otherwise."""
    retyped: list[Retyped] = []

    def code(header: str, typed: str | None) -> str | None:
        if typed is None:
            return None
        form = canonical(typed)
        if form != typed:
            retyped.append(Retyped(header, typed, form))
        return form

    project_code = code("项目编号", app.project_code)
    standard_codes = [code("标准编号", s.standard_code) or "" for s in app.standards]
    paired_codes = [code("配套深加工项目编号", g.paired_project_code) for g in app.gate_metrics]
    if (
        project_code == app.project_code
        and all(c == s.standard_code for s, c in zip(app.standards, standard_codes, strict=True))
        and all(c == g.paired_project_code for g, c in zip(app.gate_metrics, paired_codes, strict=True))
    ):
        return app, ()  # every code already canonical, as nearly all are: nothing to copy
    changed = replace(
        app,
        project_code=project_code,
        standards=tuple(
            replace(s, standard_code=c) for s, c in zip(app.standards, standard_codes, strict=True)
        ),
        gate_metrics=tuple(
            replace(g, paired_project_code=c) for g, c in zip(app.gate_metrics, paired_codes, strict=True)
        ),
    )
    return changed, tuple(retyped)
