"""One input row that could not be accepted, pointing at the cell an operator can fix."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Rejection:
    file: str
    sheet: (
        str  # sheet key (e.g. "applications"), "workbook" for whole-file problems, "metering" for CSV lines
    )
    row_number: int | None  # as the operator sees it in Excel (header is row 1), or the CSV line number
    column: str | None  # Chinese header as the operator sees it
    value: str | None  # the cell as given
    code: str  # stable error code
    message: str  # Chinese: what is wrong and what to fix

    def as_dict(self) -> dict[str, Any]:
        """As stored: a NUL, which PostgreSQL refuses in any text (SQLite keeps it), is shown as `\\x00`, so that
        one corrupt cell is recorded alike on both backends instead of failing the whole insert."""
        out = asdict(self)
        for key in ("file", "column", "value", "message"):
            if isinstance(out[key], str) and "\x00" in out[key]:
                out[key] = out[key].replace("\x00", "\\x00")
        return out
