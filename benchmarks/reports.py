"""How long the ten department workbooks and the fund summary take over 10,000 decided applications.

    .venv/bin/python benchmarks/reports.py [--applications 10000]

Builds a temporary SQLite ledger with synthetic decisions over all 19 programs (booked with the real
`pipelines.ledger.book`, so `award_ledger`, `award_balances` and `application_decisions` are the real thing), the
matching declared rows (project names, VAT claims, recognitions, gate metrics) and some rejected input rows, then
times what the two report assets do: read the database and write all eleven workbooks. Prints figures; asserts
nothing (the issue's target is at most 10 s).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pandas as pd
from sqlalchemy import create_engine, insert

# run as a script from the project root (`make bench`): the project's packages sit beside this folder
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipelines.department_report import load, project_names, write_all
from pipelines.fund_report import write_fund_summary
from pipelines.ledger import book
from pipelines.settings import SHANGHAI
from pipelines.sql import serialize_sqlite_writers
from rules.catalog import PROGRAMS
from rules.decision import Award, Condition, Decision, Outcome
from rules.parameters import Parameters
from schemas.credit_code import make
from schemas.migrate import upgrade
from schemas.sheets import LEAGUE_CITIES
from schemas.tables import SubmissionRejection

AS_OF = date(2026, 11, 24)
DIVISIONS = [
    "150100",
    "150200",
    "150300",
    "150400",
    "150500",
    "150600",
    "150700",
    "150800",
    "150900",
    "152200",
]


def _decision(i: int, program, credit_code: str, rng: random.Random) -> Decision:
    app_id = f"APP-{i:06d}"
    note = Condition("BENCH_NOTE", program.clause, True, f"第 {i} 号申报：条件满足（基准测试数据）", {"i": i})
    failed = Condition("BENCH_FAILED", program.clause, False, "未达到条件：请补充材料后重新提交", {"i": i})
    roll = rng.random()
    if program.kind == "fund":
        if roll < 0.6:
            amount = Decimal(rng.randrange(10_000_00, 5_000_000_00)) / 100
            award = Award(f"{program.code}:{app_id}", amount, {"bench": True})
            return Decision(
                app_id, program.code, credit_code, Outcome.AWARDED, program.clause, program.lead_department,
                (note,), awards=(award,),
            )  # fmt: skip
        outcome = Outcome.REJECTED if roll < 0.85 else Outcome.NEEDS_REVIEW
    elif program.kind == "vat":
        if roll < 0.7:
            estimate = Decimal(rng.randrange(1_000_00, 900_000_00)) / 100
            return Decision(
                app_id, program.code, credit_code, Outcome.ELIGIBLE, program.clause, program.lead_department,
                (note,), estimate=estimate,
            )  # fmt: skip
        outcome = Outcome.REJECTED
    elif program.kind == "gate":
        outcome = Outcome.COMPLIANT if roll < 0.6 else Outcome.NON_COMPLIANT
    else:
        outcome = Outcome.ELIGIBLE if roll < 0.9 else Outcome.REJECTED
    conditions = (note,) if outcome in (Outcome.COMPLIANT, Outcome.ELIGIBLE) else (failed, note)
    return Decision(
        app_id, program.code, credit_code, outcome, program.clause, program.lead_department, conditions
    )


def build(folder: Path, n: int) -> tuple[str, dict[str, pd.DataFrame]]:
    rng = random.Random(7)
    url = f"sqlite:///{folder / 'ledger.sqlite'}"
    engine = create_engine(url)
    serialize_sqlite_writers(engine)
    upgrade(engine)
    enterprises = [
        {
            "credit_code": make(DIVISIONS[i % len(DIVISIONS)], 30_000_000 + 7919 * i),
            "name": f"内蒙古第{i}铝业有限公司",
            "league_city": LEAGUE_CITIES[i % len(LEAGUE_CITIES)],
            "tax_credit_grade": "AB"[i % 2],
        }
        for i in range(n // 10)
    ]
    decisions, applications, vat, recognitions, gates = [], [], [], [], []
    for i in range(n):
        program = PROGRAMS[i % len(PROGRAMS)]
        ent = enterprises[rng.randrange(len(enterprises))]
        d = _decision(i, program, ent["credit_code"], rng)
        decisions.append(d)
        applications.append(
            {
                "application_id": d.application_id,
                "credit_code": d.credit_code,
                "program": program.code,
                "project_code": f"XM-{i:06d}",
                "project_name": f"年产 {i % 50 + 1} 万吨铝深加工项目（第 {i} 号）",
                "submitted_on": date(2026, 1, 1) + timedelta(days=i % 300),
            }
        )
        if program.kind == "vat":
            vat.append(
                {
                    "application_id": d.application_id,
                    "period_start": date(2025, 1, 1),
                    "period_end": date(2025, 12, 31),
                    "sales_wan": Decimal(rng.randrange(100, 50_000)),
                    "vat_paid_wan": Decimal(rng.randrange(10, 3_000)),
                    "waste_feed_share_pct": Decimal(rng.randrange(20, 100)),
                    "serious_violation_6m": False,
                    "restricted_or_eliminated": False,
                }
            )
        if program.code in ("FIRST_BATCH", "SCI_TECH_PROJECT"):
            recognitions.append(
                {
                    "application_id": d.application_id,
                    "recognition_type": program.code.lower(),
                    "level": "regional",
                    "recognized_on": date(2025, 6, 30),
                    "document_no": f"内工信材字〔2025〕{i}号",
                }
            )
        if program.kind == "gate":
            gates.append(
                {
                    "application_id": d.application_id,
                    "process": "bayer",
                    "unit_energy": Decimal(rng.randrange(300, 600)),
                    "meets_industry_norms": True,
                    "catalog_allowed": True,
                }
            )
    book(
        engine,
        decisions,
        run_id="benchmark",
        rulebook_version="benchmark",
        enterprise_names={e["credit_code"]: e["name"] for e in enterprises},
        league_cities={e["credit_code"]: e["league_city"] for e in enterprises},
        source_files={a["application_id"]: "2026-03-01-全区.xlsx" for a in applications},
        submitted_on={a["application_id"]: a["submitted_on"].isoformat() for a in applications},
    )
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            insert(SubmissionRejection),
            [
                {
                    "fingerprint": f"bench-{i}",
                    "file": "2026-03-02-包头市.xlsx",
                    "file_sha256": "0" * 64,
                    "sheet": "applications",
                    "row_number": i + 2,
                    "column": "申报日期",
                    "value": f"2026-13-{i % 40}",
                    "code": "DATE_INVALID",
                    "message": "日期无法识别：请填写 YYYY-MM-DD 格式的日期",
                    "run_id": "benchmark",
                    "recorded_at": now,
                }
                for i in range(n // 20)
            ],
        )
    engine.dispose()
    frames = {
        "enterprises": pd.DataFrame(enterprises),
        "applications": pd.DataFrame(applications),
        "vat_claims": pd.DataFrame(vat),
        "recognitions": pd.DataFrame(recognitions),
        "gate_metrics": pd.DataFrame(gates),
    }
    return url, frames


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--applications", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        url, frames = build(folder, args.applications)
        print(
            f"setup: {args.applications:,} decided applications booked in {time.perf_counter() - started:.1f} s"
        )
        engine = create_engine(url)
        out = folder / "reports"
        out.mkdir()

        started, cpu_started = time.perf_counter(), time.process_time()
        data = load(engine, AS_OF, frames, "benchmark", datetime.now(SHANGHAI))
        loaded = time.perf_counter()
        departments = write_all(data, out)
        written = time.perf_counter()
        now = datetime.now(SHANGHAI)
        write_fund_summary(engine, AS_OF, out, Parameters.load(), project_names(frames), now)
        finished, cpu = time.perf_counter(), time.process_time() - cpu_started

        rows = sum(r.applications for r in departments)
        size = sum(p.stat().st_size for p in out.glob("*.xlsx")) / 1e6
        print(f"read database:            {loaded - started:6.2f} s")
        print(f"10 department workbooks:  {written - loaded:6.2f} s  ({rows:,} detail rows)")
        print(f"fund summary workbook:    {finished - written:6.2f} s")
        print(
            f"total:                    {finished - started:6.2f} s  (target <= 10 s; {size:.1f} MB written)"
        )
        # On a shared machine the wall time includes waiting for a core; the CPU time is what the work costs.
        print(f"CPU time of this process: {cpu:6.2f} s  (load average {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
