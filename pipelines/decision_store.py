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
from rules.parameters import ParameterValue
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
    cited: dict[int, tuple[ParameterValue, str]] = {}  # the decisions share a few dozen parameter values
    for d in decisions:
        amount = d.amount
        reasons, explanation = stored_json(d, cited)
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


def stored_json(
    decision: Decision, cited: dict[int, tuple[ParameterValue, str]] | None = None
) -> tuple[str, str]:
    """`json.dumps` of `decision.reasons()` and of `decision.explanation()`, text for text
    (tests/ledger/test_decision_store.py), put together from pieces encoded once: each condition's text serves the
    reasons and the explanation alike, and `cited` keeps each parameter's text for the decisions citing it again."""
    encode = _ENCODER.encode
    conditions = [(c.passed, encode(c.as_json())) for c in decision.conditions]
    # reasons(): failed conditions, then notes, then passed ones
    reasons = "[" + ", ".join(t for wanted in (False, None, True) for p, t in conditions if p is wanted) + "]"
    cited = {} if cited is None else cited
    parameters = []
    for p in decision.parameters:
        found = cited.get(id(p))
        if found is None:
            # Keyed by identity (a lookup without hashing every field); holding the value keeps its id its own.
            found = cited[id(p)] = (p, encode(p.cite()))
        parameters.append(found[1])
    head = encode({"program": decision.program, "clause": decision.clause, "outcome": str(decision.outcome)})
    review = "" if decision.review is None else ', "review": ' + encode(jsonable(decision.review))
    explanation = (
        f'{head[:-1]}, "conditions": [{", ".join(t for _, t in conditions)}], '
        f'"parameters": [{", ".join(parameters)}]{review}}}'
    )
    return reasons, explanation


_ENCODER = json.JSONEncoder(ensure_ascii=False)  # json.dumps(value, ensure_ascii=False), one encoder for all
