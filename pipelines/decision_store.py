"""The `application_decisions` table: the current decision of each application, written in the booking's
transaction (`pipelines.ledger.book`), so that decisions and ledger entries are committed together."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from rules.decision import Decision, jsonable
from rules.money import as_fen
from schemas.tables import ApplicationDecision


def write_decisions(
    conn: Connection,
    decisions: Iterable[Decision],
    run_id: str,
    version: str,
    now: datetime,
    names: dict[str, str],
    cities: dict[str, str],
    files: dict[str, str],
    submitted: dict[str, str],
) -> None:
    """Every decision of the night as the current one of its application, in the booking's transaction."""
    rows: list[dict[str, Any]] = []
    for d in decisions:
        amount = d.amount
        reasons, explanation = stored_json(d)
        rows.append(
            {
                "application_id": d.application_id,
                "program": d.program,
                "credit_code": d.credit_code,
                "enterprise_name": names.get(d.credit_code),
                "league_city": cities.get(d.credit_code),
                "clause": d.clause,
                "lead_department": d.lead_department,
                "decision": str(d.outcome),
                "amount_yuan": amount,
                "amount_fen": None if amount is None else as_fen(amount),
                "reasons": reasons,
                "explanation": explanation,
                "source_file": files.get(d.application_id),
                "submitted_on": submitted.get(d.application_id),
                "rulebook_version": version,
                "run_id": run_id,
                "evaluated_at": now,
            }
        )
    # A night with nothing new re-reaches most decisions word for word: those only get tonight's run, time and
    # rulebook stamped on them; the rest are replaced whole.
    columns = [getattr(ApplicationDecision, c) for c in _DECISION_CONTENT]
    ids = [r["application_id"] for r in rows]
    current: dict[str, tuple[Any, ...]] = {}
    for start in range(0, len(ids), _CHUNK):
        for r in conn.execute(
            select(ApplicationDecision.application_id, *columns).where(
                ApplicationDecision.application_id.in_(ids[start : start + _CHUNK])
            )
        ):
            current[r[0]] = tuple(r[1:])
    same: list[str] = []
    changed: list[dict[str, Any]] = []
    for row in rows:
        if current.get(row["application_id"]) == _content(row):
            same.append(row["application_id"])
        else:
            changed.append(row)
    stamp = {"rulebook_version": version, "run_id": run_id, "evaluated_at": now}
    for start in range(0, len(same), _CHUNK):
        conn.execute(
            update(ApplicationDecision)
            .where(ApplicationDecision.application_id.in_(same[start : start + _CHUNK]))
            .values(stamp)
        )
    replaced = [r["application_id"] for r in changed if r["application_id"] in current]
    for start in range(0, len(replaced), _CHUNK):
        conn.execute(
            delete(ApplicationDecision).where(
                ApplicationDecision.application_id.in_(replaced[start : start + _CHUNK])
            )
        )
    for start in range(0, len(changed), _CHUNK):
        conn.execute(insert(ApplicationDecision), changed[start : start + _CHUNK])


# What a decision row says, apart from the run that last reached it.
_DECISION_CONTENT = (
    "program", "credit_code", "enterprise_name", "league_city", "clause", "lead_department", "decision",
    "amount_fen", "reasons", "explanation", "source_file", "submitted_on",
)  # fmt: skip
_CHUNK = 500  # ids per IN list


def _content(row: Mapping[str, Any]) -> tuple[Any, ...]:
    return tuple(row[c] for c in _DECISION_CONTENT)


def stored_json(decision: Decision) -> tuple[str, str]:
    """`json.dumps` of `decision.reasons()` and of `decision.explanation()`, with each condition made JSON-able
    once: the explanation lists every condition the reasons list (tests/ledger/test_decision_store.py)."""
    conditions = [c.as_json() for c in decision.conditions]
    # reasons(): failed conditions, then notes, then passed ones
    reasons = [c for wanted in (False, None, True) for c in conditions if c["passed"] is wanted]
    explanation = {
        "program": decision.program,
        "clause": decision.clause,
        "outcome": str(decision.outcome),
        "conditions": conditions,
        "parameters": [p.cite() for p in decision.parameters],
        **({"review": jsonable(decision.review)} if decision.review is not None else {}),
    }
    return _ENCODER.encode(reasons), _ENCODER.encode(explanation)


_ENCODER = json.JSONEncoder(ensure_ascii=False)  # json.dumps(value, ensure_ascii=False), one encoder for all
