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
        return asdict(self)
