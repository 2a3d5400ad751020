"""The audit trail: who changed what, when, with before and after; hash-chained.

Each entry's hash covers its content and the previous entry's hash, so deleting or editing
an entry breaks the chain from there on and ``verify_chain`` finds where. Entries are
written in the same transaction as the change they describe.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, UTCDateTime, utcnow
from server.identity import Principal

GENESIS = "0" * 64
# Any constant; only has to be the same in every process that writes audit entries.
PG_AUDIT_LOCK = 0x61756474


class AuditEntry(Base):
    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_kind: Mapped[str] = mapped_column(String(16))  # user, point, system
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor_name: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))  # e.g. meeting.create
    entity: Mapped[str] = mapped_column(String(32))  # e.g. meeting, invitation
    entity_id: Mapped[int | None] = mapped_column(Integer)
    # No foreign key: the trail outlives what it describes and must never be rewritten.
    meeting_id: Mapped[int | None] = mapped_column(Integer, index=True)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


def _json_safe(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_json_safe(v) for v in value]
    if hasattr(value, "value") and isinstance(value.value, str | int):  # enums
        return value.value
    return value


def entry_hash(entry: AuditEntry) -> str:
    content = {
        "at": entry.at.isoformat(),
        "actor": [entry.actor_kind, entry.actor_id, entry.actor_name],
        "action": entry.action,
        "entity": [entry.entity, entry.entity_id],
        "meeting_id": entry.meeting_id,
        "before": entry.before,
        "after": entry.after,
    }
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256((entry.prev_hash + canonical).encode()).hexdigest()


async def record(
    db: AsyncSession,
    actor: Principal | None,
    action: str,
    entity: str,
    entity_id: int | None,
    *,
    meeting_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append an entry in the caller's transaction (which must be a write transaction)."""
    if db.get_bind().dialect.name == "postgresql":
        # Two transactions appending at once would both chain onto the same last entry.
        await db.execute(text(f"SELECT pg_advisory_xact_lock({PG_AUDIT_LOCK})"))
    last = (
        await db.execute(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1))
    ).scalar_one_or_none()
    entry = AuditEntry(
        at=utcnow(),
        actor_kind=actor.kind.value if actor else "system",
        actor_id=actor.id if actor else None,
        actor_name=actor.name if actor else "system",
        action=action,
        entity=entity,
        entity_id=entity_id,
        meeting_id=meeting_id,
        before=_json_safe(before) if before is not None else None,
        after=_json_safe(after) if after is not None else None,
        prev_hash=last or GENESIS,
    )
    entry.hash = entry_hash(entry)
    db.add(entry)
    await db.flush()
    return entry


async def verify_chain(db: AsyncSession) -> int | None:
    """The id of the first entry that does not chain, or None if the whole trail holds."""
    previous = GENESIS
    result = await db.stream_scalars(select(AuditEntry).order_by(AuditEntry.id))
    async for entry in result:
        if entry.prev_hash != previous or entry_hash(entry) != entry.hash:
            return entry.id
        previous = entry.hash
    return None


def changes(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the fields that differ, as (before, after)."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}
