"""The inbox folder as a boundary: the one listing of what is in it, used by submission and metering intake.

What is what (docs/inputs.md, and the choices written in docs/runbook.md §1):
- a top-level `.xlsx` file or a sub-folder is a submission batch, except the sub-folder `审核/`, which holds the
  departments' review determinations (`list_reviews`: its `.xlsx` workbooks, by the same rules) and is never a
  batch;
- a top-level `.csv` file is a metering export;
- Excel's lock files (`~$…`), hidden entries (`.…`) and Windows Explorer's own files (`Thumbs.db`,
  `desktop.ini`) are nobody's and are left alone silently (`is_nobodys`);
- anything else (`.xls`, `.xlsm`, `.txt`, a socket …) is `FILE_UNSUPPORTED`: a rejection row, so it reaches the
  reports' 退回行 and the `rejections_to_fix` check instead of only the metadata.

Symlinks are followed only to a regular file that lies inside the inbox; a symlink that leads outside it (or
nowhere), and every directory symlink, is `FILE_OUTSIDE_INBOX` and is not read: a link must not publish a private
file's lines into every department's report, nor make the listing walk a loop.

A file is *dated* by the `YYYY-MM-DD` its name starts with (operators name batches and exports by date); a name
without one is dated by the day, in Shanghai, its content was first taken in (`first_seen`), and a file never seen
before by today. A run evaluating a past day (`ALU_AS_OF`) leaves out every file dated after it.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from pipelines.workbooks import WORKBOOK
from schemas.rejection import Rejection
from schemas.sheets import REVIEW_FOLDER

# What Windows Explorer writes into a shared folder by itself (thumbnail caches, folder settings): nobody sent it.
SYSTEM_FILES = frozenset({"thumbs.db", "ehthumbs.db", "ehthumbs_vista.db", "desktop.ini"})


def is_nobodys(name: str) -> bool:
    """Excel's lock files (`~$…`), hidden entries (`.…`, macOS's `._…` and `.DS_Store` among them) and what
    Windows Explorer leaves in a folder: left alone in silence, by the night and by the inbox sensor."""
    return name.startswith(("~$", ".")) or name.lower() in SYSTEM_FILES


_DATE_PREFIX = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")


class InboxUnavailable(RuntimeError):
    """ALU_INBOX_DIR is missing, not a folder, or unreadable: the run must stop before it writes anything."""


def display_name(path: Path) -> str:
    """The file name as the operator sees it, and as it can be stored and printed.

    A name that is not UTF-8 (a Windows share's GB18030 bytes) reaches Python with surrogate escapes, which no
    database or log accepts; it is read as GB18030, and failing that its undecodable bytes are shown as \\xNN.
    """
    name = path.name
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        raw = os.fsencode(name)
    try:
        return raw.decode("gb18030")
    except UnicodeDecodeError:
        return raw.decode("utf-8", "backslashreplace")


def name_date(name: str) -> date | None:
    match = _DATE_PREFIX.match(name)
    if match is None:
        return None
    try:
        return date(*(int(g) for g in match.groups()))
    except ValueError:
        return None


@dataclass
class ReviewListing:
    files: list[Path] = field(default_factory=list)  # 审核/*.xlsx to read, in file-name order
    later: list[Path] = field(default_factory=list)  # left out: dated after as_of
    rejections: list[Rejection] = field(default_factory=list)  # unsupported and outside-the-inbox entries
    names: dict[Path, str] = field(default_factory=dict)  # path -> 审核/<display name>

    def name(self, path: Path) -> str:
        return self.names[path]


@dataclass
class InboxListing:
    folder: Path
    batches: list[Path] = field(default_factory=list)  # .xlsx files and sub-folders, in file-name order
    metering: list[Path] = field(default_factory=list)  # top-level .csv files, in file-name order
    reviews: ReviewListing = field(default_factory=ReviewListing)  # what 审核/ holds
    as_of: date | None = None  # files dated after it are left out
    rejections: list[Rejection] = field(default_factory=list)  # unsupported and outside-the-inbox entries
    names: dict[Path, str] = field(default_factory=dict)  # path -> display name
    later: list[Path] = field(default_factory=list)  # files left out because they are dated after as_of

    def name(self, path: Path) -> str:
        return self.names.get(path) or display_name(path)


LINK_REFUSED = (
    "收件箱中的链接（快捷方式）指向收件箱以外、指向文件夹或已失效，系统不跟随读取；"
    "请把文件本身复制到收件箱后重新提交"
)


def check_folder(folder: Path) -> None:
    """Raise `InboxUnavailable` with one Chinese and one English line when the inbox cannot be listed."""
    if not folder.is_dir():
        why, en = ("不是文件夹", "is not a folder") if folder.exists() else ("不存在", "does not exist")
        raise InboxUnavailable(
            f"收件箱 ALU_INBOX_DIR={folder} {why}；本次运行未读取、未写入任何数据。请改正 ALU_INBOX_DIR 后重新运行。\n"
            f"Inbox ALU_INBOX_DIR={folder} {en}; nothing was read or written. Fix ALU_INBOX_DIR and run again."
        )
    if not os.access(folder, os.R_OK | os.X_OK):
        raise InboxUnavailable(
            f"收件箱 ALU_INBOX_DIR={folder} 无读取权限；本次运行未写入任何数据。请授予运行账户读取权限后重新运行。\n"
            f"Inbox ALU_INBOX_DIR={folder} is not readable; nothing was written. Grant read access and run again."
        )


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve(strict=True).relative_to(root)
        return True
    except (OSError, RuntimeError, ValueError):  # dangling, a loop, or outside
        return False


def entry_sha256(rejection: Rejection) -> str:
    """What identifies an entry the listing refused: its content is never read (a link outside the inbox must
    not be), so its name and the refusal."""
    return hashlib.sha256(f"inbox-entry\0{rejection.file}\0{rejection.code}".encode()).hexdigest()


def _rejection(name: str, code: str, message: str) -> Rejection:
    return Rejection(name, WORKBOOK, None, None, None, code, message)


def list_inbox(
    folder: Path,
    as_of: date | None = None,
    first_seen: dict[str, date] | None = None,
    today: date | None = None,
) -> InboxListing:
    """Everything at the top of the inbox, sorted into batches, exports and rejections (see the module doc).

    With `as_of`, files dated after it are left out (named in `later`); `first_seen` dates the files whose
    name has no date, and `today` the ones never seen before.
    """
    check_folder(folder)
    root = folder.resolve()
    listing = InboxListing(folder, as_of=as_of)
    for path in sorted(folder.iterdir(), key=lambda p: display_name(p)):
        name = display_name(path)
        listing.names[path] = name
        if is_nobodys(name):
            continue
        try:
            mode = path.lstat().st_mode
        except OSError:
            continue  # removed while we looked
        if _refused_link(path, mode, root):
            listing.rejections.append(_rejection(name, "FILE_OUTSIDE_INBOX", LINK_REFUSED))
            continue
        if path.is_dir():
            if name == REVIEW_FOLDER:
                listing.reviews = list_reviews(folder, as_of, first_seen, today)
            elif _dated_after(name, as_of, first_seen, today):
                listing.later.append(path)
            else:
                listing.batches.append(path)
            continue
        suffix = path.suffix.lower()
        if path.is_file() and suffix in (".xlsx", ".csv"):
            if _dated_after(name, as_of, first_seen, today):
                listing.later.append(path)
            else:
                (listing.batches if suffix == ".xlsx" else listing.metering).append(path)
            continue
        listing.rejections.append(
            _rejection(name, "FILE_UNSUPPORTED",
                       f"「{name}」不是可受理的文件类型（申报只受理 .xlsx 工作簿或 CSV 文件夹，计量只受理 .csv），"
                       "未读取；请用 Excel 另存为 .xlsx 后重新提交")
        )  # fmt: skip
    return listing


def list_reviews(
    folder: Path,
    as_of: date | None = None,
    first_seen: dict[str, date] | None = None,
    today: date | None = None,
) -> ReviewListing:
    """The determination workbooks in the inbox's `审核/` folder, by the inbox's own rules (the module doc): a
    `审核` that is itself a link is never read (the listing refuses it), a link inside it is followed only to a
    regular file inside the inbox, anything but an `.xlsx` is `FILE_UNSUPPORTED`, and with `as_of` a workbook
    dated after it is left out. Names are as stored: `审核/<file name>`."""
    out = ReviewListing()
    reviews = folder / REVIEW_FOLDER
    try:
        if not stat.S_ISDIR(reviews.lstat().st_mode):
            return out
        entries = sorted(reviews.iterdir(), key=lambda p: display_name(p))
    except OSError:  # no 审核 folder (or it went meanwhile): nothing determined
        return out
    root = folder.resolve()
    for path in entries:
        base = display_name(path)
        name = f"{REVIEW_FOLDER}/{base}"
        if is_nobodys(base):
            continue
        try:
            mode = path.lstat().st_mode
        except OSError:
            continue
        if _refused_link(path, mode, root):
            out.rejections.append(_rejection(name, "FILE_OUTSIDE_INBOX", LINK_REFUSED))
        elif path.is_file() and path.suffix.lower() == ".xlsx":
            dated = name_date(base) or (first_seen or {}).get(name) or today
            (out.later if as_of is not None and dated is not None and dated > as_of else out.files).append(
                path
            )
            out.names[path] = name
        else:
            out.rejections.append(
                _rejection(name, "FILE_UNSUPPORTED",
                           f"「{name}」不是可受理的审核结论文件（审核结论只受理 .xlsx 工作簿，工作表「审核结论」），"
                           "未读取；请用 Excel 另存为 .xlsx 后重新放入「审核」文件夹")
            )  # fmt: skip
    return out


def _refused_link(path: Path, mode: int, root: Path) -> bool:
    """A link that leads outside the inbox, nowhere or to a folder: never followed."""
    return stat.S_ISLNK(mode) and (path.is_dir() or not path.is_file() or not _inside(path, root))


def _dated_after(
    name: str, as_of: date | None, first_seen: dict[str, date] | None, today: date | None
) -> bool:
    if as_of is None:
        return False
    dated = name_date(name) or (first_seen or {}).get(name) or today
    return dated is not None and dated > as_of
