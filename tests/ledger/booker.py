"""A child process that books a generated batch: `python -m tests.ledger.booker URL --seed N --size M`.

It prints "ready" once imported and connected, waits for a line on stdin, books, and prints
"<awards> <reversals> <attempts>": the parent releases two children at the same instant.
"""

from __future__ import annotations

import argparse
import sys

from sqlalchemy import text

from tests.ledger.batches import batch, book_batch, ledger_engine


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("--run-id", default="child")
    parser.add_argument("--no-lock", action="store_true")
    args = parser.parse_args()

    engine = ledger_engine(args.url, migrate=False)
    decisions = batch(args.size, args.seed)
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))  # connected before the start signal, so both start booking at once
    print("ready", flush=True)
    sys.stdin.readline()
    result = book_batch(engine, decisions, args.run_id, lock=not args.no_lock)
    print(result.awards, result.reversals, result.attempts)


if __name__ == "__main__":
    main()
