"""The run's settings, checked before anything is read or written (issue 13.9).

Each problem is one line, Chinese then English, naming the environment variable (and the resource field the UI's
Launchpad shows), the value and what to do. The `run_settings` asset raises them all at once before any other
asset of the night runs: a read-only reports folder used to fail the night after the awards were booked.
"""

from __future__ import annotations

import os
import re
import tempfile
from datetime import date
from pathlib import Path

from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import ArgumentError

from pipelines.settings import today_in_shanghai

STRICT_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def as_of_problem(as_of: str) -> str | None:
    if not as_of:
        return None  # today in Asia/Shanghai
    try:
        if STRICT_DATE.match(as_of):
            return _future_problem(as_of, date.fromisoformat(as_of), today_in_shanghai())
    except ValueError:
        pass
    return (
        f"评审日 ALU_AS_OF（resources.evaluation.config.as_of）「{as_of}」不是 YYYY-MM-DD 格式的日期，例如 2026-11-24；"
        f"不设则为上海时间今天。 / ALU_AS_OF {as_of!r} is not a date in YYYY-MM-DD form (e.g. 2026-11-24); leave it "
        "unset for today in Asia/Shanghai."
    )


def _future_problem(text: str, as_of: date, today: date) -> str | None:
    """A night books what it decides: a typo (2062 for 2026) would book awards decided on a day not yet reached
    into the append-only ledger, and read every file dated up to it. What-if (`pipelines.whatif`) books nothing
    and takes any date."""
    if as_of <= today:
        return None
    return (
        f"评审日 ALU_AS_OF（resources.evaluation.config.as_of）「{text}」晚于今天（上海时间 {today}）：夜间任务按评审日"
        "读取文件并入账，不能评审尚未到来的日期；重新评审过去的某一晚请用过去的日期，不设则为今天；试算将来的情形请用"
        f"模拟测算 what-if（不入账）。 / ALU_AS_OF {text!r} is after today in Asia/Shanghai ({today}): the night books "
        "what it decides and cannot evaluate a day not yet reached; use a past date to re-run a night, leave it unset "
        "for today, or use what-if (which books nothing) for a future date."
    )


def database_problem(url: str, variable: str = "ALU_DATABASE_URL") -> str | None:
    """`variable` is the setting the URL came from: the job's (shown with its Launchpad field) or the owner's, with
    which `pipelines.migrate` upgrades the schema."""
    field = "（resources.ledger_db.config.url）" if variable == "ALU_DATABASE_URL" else ""
    where = f"台账数据库 {variable}{field}"
    try:
        parsed = make_url(url)
        shown = parsed.render_as_string(hide_password=True)
    except (ArgumentError, ValueError) as exc:
        return (
            f"{where}不是有效的 SQLAlchemy URL（例如 sqlite:///data/ledger.sqlite 或 "
            f"postgresql+psycopg://用户@主机/库）：{exc}。 / {variable} is not a valid SQLAlchemy URL: {exc}"
        )
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        folder = Path(parsed.database).parent
        problem = _writable_problem(folder)
        if problem:
            return f"{where} {shown} 所在目录 {folder} 不可写（{problem}）。 / the folder of {shown} is not writable: {problem}"
        if not Path(parsed.database).exists():
            return None  # SQLite creates it there; connecting now would write the file before the night may start
    args = {"connect_timeout": 10} if parsed.get_backend_name() == "postgresql" else {}
    try:
        engine = create_engine(parsed, connect_args=args)
    except Exception as exc:  # unknown driver, bad option: all the operator can act on is the URL
        return f"{where} {shown} 无法使用：{_first_line(exc)}。 / {variable} {shown} cannot be used: {_first_line(exc)}"
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        return (
            f"{where} {shown} 连接失败：{_first_line(exc)}。请核对主机、端口、库名和账号，或数据库是否已启动。"
            f" / cannot connect to {variable} {shown}: {_first_line(exc)}"
        )
    finally:
        engine.dispose()
    return None


def _blank(zh: str, variable: str, field: str) -> str:
    return (
        f"{zh} {variable}（{field}）为空：空路径会被当作当前目录（项目本身）；请设为实际的文件夹。"
        f" / {variable} is empty, which would mean the current folder: set it to the folder itself."
    )


def reports_problem(folder: str) -> str | None:
    if not folder.strip():
        return _blank("报表目录", "ALU_REPORTS_DIR", "resources.reports.config.path")
    problem = _writable_problem(Path(folder))
    if problem is None:
        return None
    return (
        f"报表目录 ALU_REPORTS_DIR（resources.reports.config.path）{folder} 不可写（{problem}）：请创建该目录并授予运行"
        f"账号写权限，或改设到可写的目录。 / ALU_REPORTS_DIR {folder} is not writable: {problem}"
    )


def inbox_problem(folder: str) -> str | None:
    if not folder.strip():
        return _blank("收件箱", "ALU_INBOX_DIR", "resources.inbox.config.path")
    path = Path(folder)
    try:
        if not path.is_dir():
            reason = "不存在" if not path.exists() else "不是文件夹"
            english = "does not exist" if not path.exists() else "is not a folder"
            return (
                f"收件箱 ALU_INBOX_DIR（resources.inbox.config.path）{folder} {reason}：请核对路径（空收件箱也必须是一个"
                f"存在的文件夹）。 / ALU_INBOX_DIR {folder} {english}."
            )
        with os.scandir(path) as entries:
            for _ in entries:
                break
    except OSError as exc:
        return (
            f"收件箱 ALU_INBOX_DIR（resources.inbox.config.path）{folder} 不可读（{exc.strerror or exc}）：请授予运行账号"
            f"读权限。 / ALU_INBOX_DIR {folder} is not readable: {exc.strerror or exc}"
        )
    return None


def inside_inbox_problems(inbox: str, database_url: str, reports: str) -> list[str]:
    """What the night writes must not lie in the inbox it reads: the next night would list a dated report folder
    as a submission batch, and a SQLite ledger (and its journal) as unsupported files in every report."""
    if not inbox.strip():
        return []  # inbox_problem says so
    root = Path(inbox).resolve()
    written = [("报表目录 ALU_REPORTS_DIR", "ALU_REPORTS_DIR", Path(reports))]
    try:
        parsed = make_url(database_url)
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
            written.append(("台账数据库 ALU_DATABASE_URL", "ALU_DATABASE_URL", Path(parsed.database)))
    except (ArgumentError, ValueError):
        pass  # database_problem says so
    return [
        f"{zh} {path} 在收件箱 {inbox} 里：夜间任务会把自己写的文件当作收到的文件读取；请改设到收件箱以外。"
        f" / {variable} {path} is inside the inbox {inbox}: the night would read what it writes; move it out."
        for zh, variable, path in written
        if path.resolve().is_relative_to(root)
    ]


def settings_problems(*, inbox: str, database_url: str, reports: str, as_of: str) -> list[str]:
    found = [
        as_of_problem(as_of),
        database_problem(database_url),
        reports_problem(reports),
        inbox_problem(inbox),
        *inside_inbox_problems(inbox, database_url, reports),
    ]
    return [p for p in found if p]


def _writable_problem(folder: Path) -> str | None:
    """Why a file cannot be created in `folder`, by trying (permission bits lie to root and to read-only mounts).
    A folder that does not exist yet is judged by the nearest one that does, where it would be created: the check
    leaves nothing behind, so a run that stops here has written nothing."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return f"{existing} 不是文件夹 / {existing} is not a folder"
    try:
        with tempfile.NamedTemporaryFile(dir=existing, prefix=".alu-write-test-"):
            pass
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def _first_line(exc: Exception) -> str:
    orig = getattr(exc, "orig", None) or exc
    return str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
