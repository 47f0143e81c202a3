"""The invariants of docs/outputs.md §1 as queries: the asset checks run them after every booking, the tests after
every crash. Each returns the offending rows; none means the invariant holds."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from pipelines.sql import pairs, rows


def unbalanced_keys(conn: Connection) -> list[dict[str, Any]]:
    """Keys whose net is neither 0 nor their latest award's amount, or that have more than one open award."""
    return rows(
        conn,
        """
        WITH per_key AS (
          SELECT award_key, SUM(amount_fen) AS net_fen,
                 MAX(CASE WHEN entry_type = 'award' THEN award_version END) AS last_version
          FROM award_ledger GROUP BY award_key
        ),
        open_awards AS (
          SELECT a.award_key, COUNT(*) AS open_count FROM award_ledger a
          WHERE a.entry_type = 'award'
            AND NOT EXISTS (SELECT 1 FROM award_ledger r WHERE r.reverses_entry_id = a.entry_id)
          GROUP BY a.award_key
        )
        SELECT k.award_key, k.net_fen, last.amount_fen AS last_award_fen,
               COALESCE(o.open_count, 0) AS open_awards
        FROM per_key k
        LEFT JOIN award_ledger last
          ON last.award_key = k.award_key AND last.entry_type = 'award'
         AND last.award_version = k.last_version
        LEFT JOIN open_awards o ON o.award_key = k.award_key
        WHERE (k.net_fen <> 0 AND (last.amount_fen IS NULL OR k.net_fen <> last.amount_fen))
           OR COALESCE(o.open_count, 0) > 1
        ORDER BY k.award_key
        """,
    )


def broken_reversals(conn: Connection) -> list[dict[str, Any]]:
    """Reversals that do not cancel, to the fen, an existing award entry of their own key and version."""
    return rows(
        conn,
        """
        SELECT r.entry_id, r.award_key, r.reverses_entry_id, a.award_key AS reversed_key,
               a.entry_type AS reversed_type, r.amount_fen, a.amount_fen AS reversed_fen
        FROM award_ledger r
        LEFT JOIN award_ledger a ON a.entry_id = r.reverses_entry_id
        WHERE r.entry_type = 'reversal'
          AND (a.entry_id IS NULL OR a.award_key <> r.award_key OR a.entry_type <> 'award'
               OR a.award_version <> r.award_version OR a.amount_fen <> -r.amount_fen)
        ORDER BY r.entry_id
        """,
    )


def control_totals(conn: Connection) -> dict[str, tuple[int, int]]:
    """Program -> (ledger net fen, sum of `awarded` decisions in fen): the two must be equal."""
    ledger = pairs(conn, "SELECT program, SUM(amount_fen) FROM award_ledger GROUP BY program")
    decided = pairs(
        conn,
        "SELECT program, SUM(amount_fen) FROM application_decisions "
        "WHERE decision = 'awarded' AND amount_fen IS NOT NULL GROUP BY program",
    )
    return {
        p: (int(ledger.get(p) or 0), int(decided.get(p) or 0)) for p in sorted(set(ledger) | set(decided))
    }
