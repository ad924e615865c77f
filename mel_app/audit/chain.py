"""Appending to and verifying the hash chain of audit events."""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mel_app.models.audit import GENESIS_HASH, AuditEvent

# Every writer of the trail takes this transaction-scoped lock before reading the chain's head,
# so concurrent requests append one after the other and the chain never forks.
ADVISORY_LOCK_KEY = 0x4D454C_A0D17

HASHED_FIELDS = (
    "id",
    "occurred_at",
    "actor_id",
    "actor_name",
    "remote_addr",
    "action",
    "entity_type",
    "entity_id",
    "project_id",
    "before",
    "after",
    "reason",
    "prev_hash",
)


def to_json_value(value: Any) -> Any:
    """A JSON-safe, stable representation of a column value for before/after."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Decimal):
        # Normalised so 1.5 and 1.5000 (as read back from NUMERIC(18,4)) are the same value.
        text = format(value.normalize(), "f")
        return text
    if isinstance(value, datetime):
        return format_timestamp(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dict):
        return {str(k): to_json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json_value(v) for v in value]
    if isinstance(value, bytes):
        return {"sha256": hashlib.sha256(value).hexdigest(), "size": len(value)}
    return str(value)


def format_timestamp(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(event: dict[str, Any]) -> bytes:
    payload = {name: event.get(name) for name in HASHED_FIELDS}
    payload["occurred_at"] = format_timestamp(event["occurred_at"])
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def compute_hash(event: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(event)).hexdigest()


def lock_chain(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})


def head(connection: Connection) -> tuple[int, str]:
    row = connection.execute(
        sa.select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
    ).first()
    return (row.id, row.hash) if row else (0, GENESIS_HASH)


def append(connection: Connection, events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Chain and insert events in the connection's transaction; returns the rows written."""
    events = list(events)
    if not events:
        return []
    lock_chain(connection)
    last_id, last_hash = head(connection)
    rows = []
    for event in events:
        last_id += 1
        row = {**event, "id": last_id, "prev_hash": last_hash}
        row["hash"] = last_hash = compute_hash(row)
        rows.append(row)
    connection.execute(sa.insert(AuditEvent.__table__), rows)
    return rows


@dataclass
class VerifyResult:
    count: int
    head_hash: str
    first_bad_id: int | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def verify(connection: Connection, batch: int = 2000) -> VerifyResult:
    """Recompute the whole chain, streaming (a server-side cursor), and name the first bad event."""
    columns = [getattr(AuditEvent, name) for name in HASHED_FIELDS] + [AuditEvent.hash]
    stream = connection.execution_options(stream_results=True, yield_per=batch).execute(
        sa.select(*columns).order_by(AuditEvent.id)
    )
    with stream:
        return _verify_rows(stream)


def _verify_rows(rows: Iterable[Any]) -> VerifyResult:
    expected_id, expected_prev, count = 1, GENESIS_HASH, 0
    for row in rows:
        event = row._asdict()
        if event["id"] != expected_id:
            what = "missing event(s) before it" if event["id"] > expected_id else "out of sequence"
            return VerifyResult(count, expected_prev, event["id"], f"event {event['id']}: {what}")
        if event["prev_hash"] != expected_prev:
            return VerifyResult(
                count, expected_prev, event["id"], f"event {event['id']}: does not follow the previous event"
            )
        if compute_hash(event) != event["hash"]:
            return VerifyResult(
                count, expected_prev, event["id"], f"event {event['id']}: content does not match its hash"
            )
        expected_id, expected_prev, count = expected_id + 1, event["hash"], count + 1
    return VerifyResult(count, expected_prev)
