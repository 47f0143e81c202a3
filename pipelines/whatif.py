"""The what-if command line: re-decide an inbox's applications under modified parameters, ledger untouched.

    python -m rules.whatif --set equipment_upgrade.cap=6000000 --set general.effective_date=2025-01-01 \
        [--inbox DIR] [--as-of YYYY-MM-DD]

Reads the submission batches of the inbox (default: ALU_INBOX_DIR, else the bundled sample) the way the nightly
job does, decides them under the rulebook and under the rulebook with each `--set key=value[@since]` added, and
prints both side by side. It opens no database: nothing is booked, nothing is held.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from pipelines.applications import build
from pipelines.intake import is_submission, merge, read_batch
from pipelines.settings import Settings, parse_as_of
from rules.model import Application
from rules.parameters import ParameterError, Parameters
from rules.whatif import Override, compare, modified, table


def inbox_applications(folder: Path) -> list[Application]:
    paths = sorted((p for p in folder.iterdir() if is_submission(p)), key=lambda p: p.name)
    return build(merge([read_batch(p) for p in paths]))


def main(argv: Sequence[str] | None = None) -> int:
    settings = Settings.from_env()
    parser = argparse.ArgumentParser(
        prog="python -m rules.whatif",
        description="在修改后的参数下重新评审申报，与现行规则并列对比（不记账）",
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE[@YYYY-MM-DD]",
        help="修改一个参数，可选生效日期（默认评审日期）；可重复",
    )
    parser.add_argument(
        "--inbox", default=settings.inbox_dir, help="收件箱目录（默认 ALU_INBOX_DIR 或示例收件箱）"
    )
    parser.add_argument(
        "--as-of", default=settings.as_of, help="评审日期 YYYY-MM-DD（默认 ALU_AS_OF 或今天）"
    )
    parser.add_argument("--changed-only", action="store_true", help="只列出决定或金额有变化的申报")
    args = parser.parse_args(argv)

    try:
        as_of = parse_as_of(args.as_of)
        overrides = [Override.parse(text) for text in args.overrides]
        base = Parameters.load()
        whatif = modified(base, overrides)
    except (ParameterError, ValueError) as error:
        print(f"参数错误：{error}", file=sys.stderr)
        return 2
    folder = Path(args.inbox)
    if not folder.is_dir():
        print(f"收件箱目录不存在：{folder}", file=sys.stderr)
        return 2
    rows = compare(inbox_applications(folder), as_of, base, whatif)
    if args.changed_only:
        rows = [r for r in rows if r.changed]
    print(f"评审日期 {as_of.isoformat()}；现行规则 {base.version}；模拟 {whatif.version}")
    for o in overrides:
        since = o.since.isoformat() if o.since else as_of.isoformat()
        print(f"  {o.key} = {o.value}（自 {since} 起）")
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
