"""The release running: a digest of our source files and parameter files and of the Python running them.

Whatever is kept from one night for the next (the decisions, `pipelines.decision_basis`; report rows,
`pipelines.row_cache`) is kept under this digest: another release makes it anew."""

from __future__ import annotations

import hashlib
import sys
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("rules", "pipelines", "assets", "schemas")


@cache
def code_digest() -> str:
    """Every source file of ours that can change a decision, its row or a report, and the Python running them
    (its `decimal` and `json`)."""
    digest = hashlib.sha256(sys.version.encode())
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            digest.update(path.relative_to(ROOT).as_posix().encode())
            digest.update(path.read_bytes())
    for path in sorted((ROOT / "rules" / "parameters").glob("*")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()
