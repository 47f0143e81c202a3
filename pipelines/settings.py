"""The four run settings of docs/outputs.md §3, read from the environment, each with a fresh-clone default."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_ROOT / "data"
SAMPLE_INBOX = PROJECT_ROOT / "sample_inbox"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def today_in_shanghai() -> date:
    return datetime.now(SHANGHAI).date()


@dataclass(frozen=True)
class Settings:
    inbox_dir: str
    database_url: str
    reports_dir: str
    as_of: str  # YYYY-MM-DD, or "" for today in Asia/Shanghai

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            inbox_dir=os.environ.get("ALU_INBOX_DIR") or str(SAMPLE_INBOX),
            database_url=os.environ.get("ALU_DATABASE_URL") or f"sqlite:///{DATA_DIR / 'ledger.sqlite'}",
            reports_dir=os.environ.get("ALU_REPORTS_DIR") or str(DATA_DIR / "reports"),
            as_of=os.environ.get("ALU_AS_OF") or "",
        )


def parse_as_of(text: str) -> date:
    return date.fromisoformat(text) if text else today_in_shanghai()


def ensure_sqlite_folder(url: str) -> None:
    """A SQLite URL's folder must exist before the first connection."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and url != "sqlite:///:memory:":
        Path(url[len(prefix) :]).parent.mkdir(parents=True, exist_ok=True)
