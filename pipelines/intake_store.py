"""Each inbox file is read once per content: its parsed, validated batch is kept in table `intake_files`.

Rejections and per-sheet counts are recorded here too, in the transaction that caches the parse (`record`).

A night parses only files whose (name, sha256) is new and loads every other batch from here, so its cost grows
with the new files, not with the history. The payload is JSON, one list per column, with exact values as text
(decimals, ISO dates), typed back through the sheet specs; a file whose content changed is parsed again and its
new content is used.

The payload ends with a digest of itself and of the schemas' source (`schemas/validation.py` and what it is built
from). A batch whose digest still matches was validated when it was parsed, under the schemas in force tonight,
and has not changed since: it comes back `trusted`, and `accepted_rows_match_schemas` validates only the other
rows (newly parsed batches, and any cache row edited or written under other schemas).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, select

import rules.labels
import schemas.credit_code
import schemas.sheets
import schemas.validation
from pipelines.intake import Batch, SheetCount, Submissions
from pipelines.sql import insert_new
from schemas.rejection import Rejection
from schemas.sheets import BY_KEY, FILE, ROW, SHEET
from schemas.tables import IntakeCount, IntakeFile, SubmissionRejection

# Bump when the payload's shape or the rules that made it change: older rows are then parsed again.
# 2: streaming reader with size limits; length and amount limits of schemas.sheets.
# 3: columns instead of row records; the digest that makes a batch `trusted`.
PAYLOAD_VERSION = 3
_DIGEST = ', "digest": "'  # how the payload's last member starts (json.dumps' own separators)


def _encode(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    return value


def _decode(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "decimal":
        return Decimal(value)
    if kind == "date":
        return date.fromisoformat(value)
    if kind == "meter_ids":
        return tuple(value)
    return value


def _rows_out(sheet_key: str, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    columns = BY_KEY[sheet_key].columns
    return [{ROW: int(r[ROW]), **{c.key: _encode(r[c.key]) for c in columns}} for r in records]


def _rows_in(file: str, sheet_key: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    columns = BY_KEY[sheet_key].columns
    return [
        {**{c.key: _decode(c.kind, r[c.key]) for c in columns}, FILE: file, SHEET: sheet_key, ROW: r[ROW]}
        for r in rows
    ]


def _columns_out(sheet_key: str, records: list[dict[str, Any]]) -> dict[str, list[Any]]:
    out = {ROW: [int(r[ROW]) for r in records]}
    for c in BY_KEY[sheet_key].columns:
        out[c.key] = [_encode(r[c.key]) for r in records]
    return out


def _column_in(kind: str, values: list[Any]) -> list[Any]:
    """One column typed back, a comprehension per kind (this runs for every cached cell every night)."""
    if kind == "decimal":
        return [None if v is None else Decimal(v) for v in values]
    if kind == "date":
        return [None if v is None else date.fromisoformat(v) for v in values]
    if kind == "meter_ids":
        return [None if v is None else tuple(v) for v in values]
    return values


def _columns_in(file: str, sheet_key: str, columns: dict[str, list[Any]]) -> list[dict[str, Any]]:
    specs = BY_KEY[sheet_key].columns
    keys = [*(c.key for c in specs), ROW, FILE, SHEET]
    n = len(columns[ROW])
    values = [*(_column_in(c.kind, columns[c.key]) for c in specs), columns[ROW], [file] * n, [sheet_key] * n]
    # Each row is as long as `keys` by construction; the outer zip checks that the columns are equally long.
    return [dict(zip(keys, row)) for row in zip(*values, strict=True)]  # noqa: B905


@cache
def _schemas_source() -> bytes:
    """What decides whether an accepted row is valid: a batch validated under other schemas is not trusted."""
    modules = (schemas.validation, schemas.sheets, schemas.credit_code, rules.labels)
    return b"".join(Path(str(m.__file__)).read_bytes() for m in modules)


def _digest(body: str) -> str:
    return hashlib.sha256(_schemas_source() + f"{PAYLOAD_VERSION}\0".encode() + body.encode()).hexdigest()


def dumps(batch: Batch) -> str:
    body = json.dumps(
        {
            "frames": {k: _columns_out(k, rows) for k, rows in batch.rows.items()},
            "rejections": [r.as_dict() for r in batch.rejections],
            "received_rows": batch.received_rows,
            "typed_app_ids": [[s, n, a] for (s, n), a in batch.typed_app_ids.items()],
            "typed_credit_codes": [[n, c] for n, c in batch.typed_credit_codes.items()],
        },
        ensure_ascii=False,
    )
    return f'{body[:-1]}{_DIGEST}{_digest(body)}"}}'


def loads(file: str, sha256: str, kind: str, text: str) -> Batch:
    data = json.loads(text)
    # The digest covers the text before it; an edited payload, even one dumped again whole, no longer matches.
    body, _, _ = text.rpartition(_DIGEST)
    trusted = data.pop("digest", None) == _digest(body + "}")
    return Batch(
        file=file,
        sha256=sha256,
        kind=kind,
        rows={k: _columns_in(file, k, columns) for k, columns in data["frames"].items()},
        rejections=[Rejection(**r) for r in data["rejections"]],
        received_rows={k: list(v) for k, v in data["received_rows"].items()},
        typed_app_ids={(s, n): a for s, n, a in data["typed_app_ids"]},
        typed_credit_codes={n: c for n, c in data["typed_credit_codes"]},
        trusted=trusted,
    )


class IntakeStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def load(self, file: str, sha256: str) -> Batch | None:
        """The batch parsed earlier from exactly this content, if any."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(IntakeFile.kind, IntakeFile.payload).where(
                    IntakeFile.file == file,
                    IntakeFile.sha256 == sha256,
                    IntakeFile.payload_version == PAYLOAD_VERSION,
                )
            ).first()
        return None if row is None else loads(file, sha256, row.kind, row.payload)

    def save(self, batch: Batch, run_id: str, conn: Connection) -> None:
        """Idempotent: a retried or concurrent run saving the same content leaves one row.

        Written on the caller's connection, in the transaction that records the batch's rejections and counts:
        a run killed in between leaves neither, and the next run parses the file again (never a cache whose
        rejections were lost)."""
        enterprises = _rows_out("enterprises", batch.rows.get("enterprises", []))
        row = {
            "file": batch.file,
            "sha256": batch.sha256,
            "kind": batch.kind,
            "payload_version": PAYLOAD_VERSION,
            "payload": dumps(batch),
            "enterprises": json.dumps(enterprises, ensure_ascii=False),
            "rows_received": sum(len(v) for v in batch.received_rows.values()),
            "rows_rejected": len({(r.sheet, r.row_number) for r in batch.rejections if r.row_number}),
            "run_id": run_id,
            "recorded_at": datetime.now(UTC),
        }
        insert_new(conn, IntakeFile, [row])

    def latest(self, file: str) -> Batch | None:
        """The newest content recorded under a file name (for a file that has left the inbox)."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(IntakeFile.sha256, IntakeFile.kind, IntakeFile.payload)
                .where(IntakeFile.file == file)
                .order_by(IntakeFile.file_id.desc())
                .limit(1)
            ).first()
        return None if row is None else loads(file, row.sha256, row.kind, row.payload)

    def files(self) -> set[str]:
        with self.engine.connect() as conn:
            return set(conn.execute(select(IntakeFile.file).distinct()).scalars())

    def record(self, subs: Submissions, run_id: str, parsed: list[Batch]) -> list[Rejection]:
        """Newly parsed batches' cache rows, every rejection not yet recorded for its file content, and the counts, in
        one transaction: a run killed midway leaves none of them, and the next run parses the files again. Returns the
        rejected rows that are still not in the table afterwards (what `rows_balance` reports)."""
        shas = dict(subs.files)
        now = datetime.now(UTC)
        rows = {
            _fingerprint(r, shas.get(r.file, "")): r.as_dict()
            | {"file_sha256": shas.get(r.file, ""), "run_id": run_id, "recorded_at": now}
            for r in subs.rejections
        }
        counts = count_rows(subs.counts, shas, run_id, now)
        table = SubmissionRejection
        with self.engine.begin() as conn:
            for batch in parsed:
                self.save(batch, run_id, conn)
            known = _recorded(conn, set(shas.values()), table.fingerprint)
            new = [row | {"fingerprint": f} for f, row in rows.items() if f not in known]
            insert_new(conn, table, new, "fingerprint")
            insert_new(conn, IntakeCount, counts, "file_sha256", "sheet")
        with self.engine.connect() as conn:
            recorded = _recorded(conn, set(shas.values()), table.file_sha256, table.sheet, table.row_number)
        return [
            r
            for r in subs.rejections
            if r.row_number is not None and (shas.get(r.file, ""), r.sheet, r.row_number) not in recorded
        ]

    def enterprises_except(self, files: set[str]) -> list[dict[str, Any]]:
        """Accepted 企业 rows of the latest stored content of every file not in `files` (archived batches),
        in file-name order so that a later file's row wins."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(IntakeFile.file, IntakeFile.enterprises, IntakeFile.file_id).order_by(
                    IntakeFile.file, IntakeFile.file_id
                )
            ).all()
        latest: dict[str, str] = {}
        for file, enterprises, _ in rows:
            if file not in files:
                latest[file] = enterprises  # the highest file_id, i.e. the newest content, comes last
        return [
            record
            for file in sorted(latest)
            for record in _rows_in(file, "enterprises", json.loads(latest[file]))
        ]


def _fingerprint(r: Rejection, sha: str) -> str:
    text = "|".join(str(x) for x in (sha, r.sheet, r.row_number, r.column, r.code, r.value))
    return hashlib.sha256(text.encode()).hexdigest()


def _recorded(conn: Connection, shas: set[str], *columns: Any) -> set[Any]:
    """What submission_rejections holds for these file contents: one column's values, or tuples of several."""
    found: set[Any] = set()
    ordered = sorted(shas)
    for start in range(0, len(ordered), 500):
        query = select(*columns).where(SubmissionRejection.file_sha256.in_(ordered[start : start + 500]))
        for row in conn.execute(query.distinct()):
            found.add(row[0] if len(columns) == 1 else tuple(row))
    return found


def count_rows(
    counts: Iterable[SheetCount], shas: Mapping[str, str], run_id: str, now: datetime
) -> list[dict[str, Any]]:
    """`intake_counts` rows of balanced sheets: the table refuses others, and `rows_balance` reports them."""
    return [
        {
            "file": c.file,
            "file_sha256": shas.get(c.file, ""),
            "sheet": c.sheet,
            "received": c.received,
            "accepted": c.accepted,
            "rejected": c.rejected,
            "run_id": run_id,
            "recorded_at": now,
        }
        for c in counts
        if c.accepted + c.rejected == c.received
    ]
