"""The ledger's hash chain: every entry carries a running SHA-256 over itself and the entry before it.

The database refuses updates and deletes (triggers of migrations 0001/0002), and the runtime role cannot disable
them (migration 0007). The table's owner still can: with the triggers disabled it can delete an entry or change an
amount and leave the award chain and the balances consistent. The running hash makes that visible afterwards:
entry n's `entry_hash` is sha256(entry n-1's hash, entry n's own fields), entry ids run 1, 2, 3, ... without a
gap, so a deleted, altered, inserted or renumbered entry breaks the chain from that entry on.

The hash is unkeyed, so an owner who edits an entry and then recomputes every hash after it leaves a chain that
verifies, and so does deleting the newest entries. Both are caught against the head recorded outside the ledger
database: every booking night records its chain head (entry id and hash) on the `award_ledger` materialization
in the Dagster instance, and the next night requires that the ledger still holds that entry with that hash
(`verify(rows, recorded)`). The chain only grows, so any head recorded earlier, also by a run that interleaved
with another, must still be in it. `book()` verifies before booking anything and the `ledger_chain_intact` check
after every booking: a night never books on top of a ledger that was rewritten.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select

from schemas.tables import LedgerEntry

GENESIS = "0" * 64
CENT = Decimal("0.01")

# The fields an entry's hash covers, in this order. `amount_yuan` is tied to `amount_fen` by a CHECK constraint
# and compared separately (on SQLite it is a float and has no exact text form).
HASHED = (
    "entry_id", "award_key", "award_version", "application_id", "credit_code", "enterprise_name", "program",
    "clause", "entry_type", "reverses_entry_id", "amount_fen", "lead_department", "rulebook_version", "run_id",
    "recorded_at", "basis",
)  # fmt: skip


def _text(value: Any) -> Any:
    if isinstance(value, datetime):
        utc = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return utc.isoformat(timespec="microseconds")
    return value


def entry_hash(previous: str, row: Mapping[str, Any]) -> str:
    return _chained(previous, [row[f] for f in HASHED])


def _chained(previous: str, values: Sequence[Any]) -> str:
    """The hash of an entry whose `HASHED` fields are `values`, after the entry whose hash is `previous`."""
    payload = _PAYLOAD.encode([_text(v) if isinstance(v, datetime) else v for v in values])
    return hashlib.sha256(f"{previous}\n{payload}".encode()).hexdigest()


# json.dumps(..., ensure_ascii=False, separators=(",", ":")), one encoder for every entry of a chain
_PAYLOAD = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class ChainHead:
    """The newest entry of an intact chain: what the next entry links to, and what a booking night records."""

    entry_id: int
    entry_hash: str


@dataclass(frozen=True)
class ChainBreak:
    entry_id: int
    problem: str  # Chinese, for the check and the booking's refusal


_COLUMNS = [getattr(LedgerEntry, f) for f in HASHED] + [LedgerEntry.amount_yuan, LedgerEntry.entry_hash]


def read_chain(conn: Connection) -> Iterable[Mapping[Any, Any]]:
    for row in conn.execute(select(*_COLUMNS).order_by(LedgerEntry.entry_id)):
        yield row._mapping


def verify(
    rows: Iterable[Mapping[Any, Any]], recorded: ChainHead | None = None
) -> tuple[ChainHead, list[ChainBreak]]:
    """Walk the chain from the first entry: the head it ends at, and every place it is broken.

    `recorded` is a head written down outside the database after an earlier booking: the chain must still hold
    that entry with that hash (an owner can recompute an unkeyed chain, not what was recorded elsewhere).
    """
    head = ChainHead(0, GENESIS)
    breaks: list[ChainBreak] = []
    recorded_hash: str | None = None
    for row in rows:
        entry_id = int(row["entry_id"])
        if entry_id != head.entry_id + 1:
            missing = (
                f"{head.entry_id + 1}"
                if entry_id == head.entry_id + 2
                else f"{head.entry_id + 1}–{entry_id - 1}"
            )
            breaks.append(ChainBreak(entry_id, f"分录号不连续：缺少分录 {missing}（分录被删除）"))
        expected = entry_hash(head.entry_hash, row)
        if row["entry_hash"] != expected:
            breaks.append(
                ChainBreak(entry_id, "分录内容或前序分录与记账时不一致（分录被改动、删除或插入）：哈希链断裂")
            )
        if Decimal(str(row["amount_yuan"])).quantize(CENT) * 100 != int(row["amount_fen"]):
            breaks.append(ChainBreak(entry_id, "amount_yuan 与 amount_fen 不一致（金额被改动）"))
        head = ChainHead(entry_id, str(row["entry_hash"]))
        if recorded is not None and entry_id == recorded.entry_id:
            recorded_hash = head.entry_hash
    if recorded is not None and recorded.entry_id > 0:
        if recorded_hash is None:
            breaks.append(
                ChainBreak(
                    recorded.entry_id,
                    f"上次记账后在 Dagster 中记录的链头分录已不在台账中（台账只到分录 {head.entry_id}：最新的"
                    "分录被删除，或台账被换成了较早的备份）",
                )
            )
        elif recorded_hash != recorded.entry_hash:
            breaks.append(
                ChainBreak(
                    recorded.entry_id,
                    f"哈希 {recorded_hash[:12]}… 与上次记账后在 Dagster 中记录的链头 {recorded.entry_hash[:12]}… "
                    "不一致（之前的分录被改动后，整条哈希链被重新计算）",
                )
            )
    return head, breaks


def verify_ledger(conn: Connection, recorded: ChainHead | None = None) -> tuple[ChainHead, list[ChainBreak]]:
    return verify(read_chain(conn), recorded)


def link(head: ChainHead, row: dict[str, Any]) -> tuple[ChainHead, dict[str, Any]]:
    """`row` as the next entry after `head`: its entry id and running hash."""
    linked = row | {"entry_id": head.entry_id + 1}
    linked["entry_hash"] = entry_hash(head.entry_hash, linked)
    return ChainHead(linked["entry_id"], linked["entry_hash"]), linked


def tampered_message(breaks: list[ChainBreak]) -> str:
    shown = "；".join(f"分录 {b.entry_id}：{b.problem}" for b in breaks[:10])
    more = f"（另有 {len(breaks) - 10} 处）" if len(breaks) > 10 else ""
    return (
        f"台账 award_ledger 已被改写，本次不记账：{shown}{more}。请财政厅暂停拨付，由系统管理员从备份核对台账"
        "并查明是谁以表所有者身份改动了分录；核实恢复前每晚都会拒绝记账。"
        " / The award ledger was rewritten outside the pipeline; nothing was booked. An operator must investigate "
        "and restore it from a backup before any night books again."
    )
