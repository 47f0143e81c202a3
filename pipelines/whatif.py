"""What-if: re-decide tonight's applications under modified parameters, side by side with the rulebook, and
book nothing.

    python -m pipelines.whatif --set equipment_upgrade.cap=6000000 [--set key=value@YYYY-MM-DD ...] \
        [--inbox DIR] [--as-of YYYY-MM-DD] [--changed-only] [--workbook FILE.xlsx]

Both columns are decided the nightly job's way (`pipelines.tonight`): the same inbox reading, the metered savings,
the awards already held in the ledger, the review determinations in force; the only difference is the parameter
values. So the 现行 column is what the job books. The ledger database (ALU_DATABASE_URL) is read, never written:
it holds the metering and the held awards, so the what-if needs the database a nightly run has filled. The
Dagster job `what_if` (pipelines/defs/what_if.py) runs the same comparison from the launchpad.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine, text

from pipelines import tonight
from pipelines.ledger import from_fen
from pipelines.settings import Settings, parse_as_of
from pipelines.whatif_workbook import Budget
from rules.fund import annual_budget
from rules.parameters import ParameterError, Parameters
from rules.whatif import Override, Row, compare, header, modified, table


@dataclass(frozen=True)
class Comparison:
    header: list[str]
    rows: list[Row]
    budget: Budget
    as_of: date
    rulebook_version: str


def run(
    folder: Path, engine: Engine, as_of: date, overrides: Sequence[Override], base: Parameters | None = None
) -> Comparison:
    """`base` is the rulebook in force (loaded when not given). Raises ParameterError for an override the
    parameter files do not allow."""
    base = base or Parameters.load()
    whatif = modified(base, overrides)
    inputs = tonight.read(folder, engine, as_of, base)
    rows = compare(inputs.applications, as_of, base, whatif, inputs.held, inputs.reviews)
    budget = Budget(as_of.year, Decimal(annual_budget(base, as_of).value), _committed(engine, as_of.year))
    return Comparison(header(as_of, base, whatif, overrides), rows, budget, as_of, base.version)


def _committed(engine: Engine, year: int) -> Decimal:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT fund_year, SUM(committed_fen) FROM fund_usage GROUP BY fund_year")
        ).all()
    return from_fen(sum(int(fen or 0) for y, fen in rows if str(y) == str(year)))


def _engine(url: str) -> Engine:
    from pipelines.defs.resources import LedgerDatabase

    return LedgerDatabase(url=url).engine()


def main(argv: Sequence[str] | None = None) -> int:
    settings = Settings.from_env()
    parser = argparse.ArgumentParser(
        prog="python -m pipelines.whatif",
        description="按夜间作业的同一路径、在修改后的参数下重新评审申报，与现行规则并列对比（不记账）",
    )
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE[@YYYY-MM-DD]",
                        help="修改一个参数，可选生效日期（默认自该参数第一个取值日期起，即适用于全部申报）；可重复")  # fmt: skip
    parser.add_argument(
        "--inbox", default=settings.inbox_dir, help="收件箱目录（默认 ALU_INBOX_DIR 或示例收件箱）"
    )
    parser.add_argument(
        "--as-of", default=settings.as_of, help="评审日期 YYYY-MM-DD（默认 ALU_AS_OF 或今天）"
    )
    parser.add_argument(
        "--database", default=settings.database_url, help="台账数据库（默认 ALU_DATABASE_URL），只读"
    )
    parser.add_argument("--changed-only", action="store_true", help="只列出决定或金额有变化的申报")
    parser.add_argument("--workbook", type=Path, help="另写一份对比工作簿（逐项、按类别、按盟市、预算影响）")
    args = parser.parse_args(argv)

    try:
        as_of = parse_as_of(args.as_of)
        overrides = [Override.parse(t) for t in args.overrides]
        modified(Parameters.load(), overrides)  # refuse a bad override before reading anything
    except (ParameterError, ValueError) as error:
        print(f"参数错误：{error}", file=sys.stderr)
        return 2
    folder = Path(args.inbox)
    if not folder.is_dir():
        print(f"收件箱目录不存在：{folder}", file=sys.stderr)
        return 2
    prefix = "sqlite:///"
    if args.database.startswith(prefix) and not Path(args.database[len(prefix) :]).exists():
        print(f"台账数据库不存在：{args.database}。模拟按夜间作业的计量数据与台账评审，请先运行一次 nightly_awards（make run）",
              file=sys.stderr)  # fmt: skip
        return 2
    comparison = run(folder, _engine(args.database), as_of, overrides)
    rows = [r for r in comparison.rows if r.changed] if args.changed_only else comparison.rows
    print("\n".join(comparison.header))
    print(table(rows))
    if args.workbook:
        from pipelines.whatif_workbook import write

        print(f"对比工作簿：{write(args.workbook, comparison)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
