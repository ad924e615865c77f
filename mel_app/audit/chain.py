"""Appending to and verifying the hash chain of audit events."""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mel_app.models.audit import GENESIS_HASH, AuditEvent
from mel_app.models.base import utcnow

AUDIT_TABLE = cast(sa.Table, AuditEvent.__table__)

# Every writer of the trail takes this transaction-scoped lock before reading the chain's head,
# so concurrent requests append one after the other and the chain never forks.
ADVISORY_LOCK_KEY = 0x4D454C_A0D17

# Who did what to which thing, when: the columns of an event that the hash and the downloaded
# trail both begin with.
EVENT_HEAD = (
    "id",
    "occurred_at",
    "actor_id",
    "actor_name",
    "remote_addr",
    "action",
    "entity_type",
    "entity_id",
    "project_id",
)
HASHED_FIELDS = (*EVENT_HEAD, "before", "after", "reason", "prev_hash")


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
    """Serialise writers of the trail until the end of the transaction.

    PostgreSQL: a transaction-scoped advisory lock. SQLite has one writer at a time anyway; a
    statement that writes nothing still takes the database's write lock, so the head read next
    cannot go stale before the insert (two writers would otherwise both claim the same id, and
    the second would fail instead of waiting).
    """
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
    elif connection.dialect.name == "sqlite":
        connection.execute(sa.text("UPDATE audit_event SET id = id WHERE 0"))


def head(connection: Connection) -> tuple[int, str]:
    row = connection.execute(
        sa.select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
    ).first()
    return (row.id, row.hash) if row else (0, GENESIS_HASH)


def _chained(connection: Connection, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The events as rows continuing the chain's head: id, prev_hash, occurred_at and hash set.

    Takes the chain's lock first; every writer of the trail goes through here.
    """
    lock_chain(connection)
    last_id, last_hash = head(connection)
    now = utcnow()
    rows = []
    for event in events:
        last_id += 1
        row = {**event, "id": last_id, "prev_hash": last_hash}
        row["occurred_at"] = row.get("occurred_at") or now
        row["hash"] = last_hash = compute_hash(row)
        rows.append(row)
    return rows


def append(connection: Connection, events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Chain and insert events in the connection's transaction; returns the rows written.

    The lock is taken here, as the last thing a transaction does before it commits, and held
    only until that commit. Events without an `occurred_at` get the time at which they join the
    chain, so timestamps never go backwards along it.
    """
    events = list(events)
    if not events:
        return []
    rows = _chained(connection, events)
    connection.execute(sa.insert(AUDIT_TABLE), rows)
    return rows


# What a caller of `append_many` gives; the chain's own columns are computed.
EVENT_FIELDS = frozenset(HASHED_FIELDS) - {"id", "prev_hash"}


def append_many(connection: Connection, events: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Append many events at once (tens of thousands), chained exactly as `append` chains them.

    For bulk loads: a field an event leaves out is NULL, and on PostgreSQL the rows are written
    with COPY rather than one INSERT each. `before` and `after` must already be JSON values
    (`to_json_value`). The chain's lock is held until the transaction ends, so successive calls
    in one transaction continue one another. Returns the rows written, with their ids and hashes.
    """
    rows = []
    for event in events:
        unknown = event.keys() - EVENT_FIELDS
        if unknown:
            raise ValueError(f"not fields an audit event is given: {', '.join(sorted(unknown))}")
        rows.append({name: event.get(name) for name in EVENT_FIELDS})
    if not rows:
        return []
    rows = _chained(connection, rows)
    if connection.dialect.name == "postgresql":
        _copy_events(connection, rows)
    else:
        connection.execute(sa.insert(AUDIT_TABLE), rows)
    return rows


def _copy_events(connection: Connection, rows: list[dict[str, Any]]) -> None:
    """COPY the rows into audit_event through the connection's psycopg connection."""
    columns = [column.name for column in AUDIT_TABLE.columns]
    names = ", ".join(f'"{name}"' for name in columns)
    raw = connection.connection.driver_connection
    assert raw is not None, "a connection in a transaction has its driver's connection"
    with raw.cursor() as cursor, cursor.copy(f"COPY audit_event ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(
                [
                    json.dumps(row[name], ensure_ascii=False)
                    if name in ("before", "after") and row[name] is not None
                    else row[name]
                    for name in columns
                ]
            )


# What `verify` found, in words an auditor uses.
CHANGED = "changed"
DELETED = "deleted"
INSERTED = "inserted"
REORDERED = "reordered"
BROKEN = "broken link"
ANCHOR = "anchor mismatch"


@dataclass
class VerifyResult:
    count: int
    head_hash: str
    first_bad_id: int | None = None
    problem: str | None = None
    kind: str | None = None
    head_id: int = 0

    @property
    def ok(self) -> bool:
        return self.problem is None


def verify(
    connection: Connection, batch: int = 2000, anchors: Iterable[tuple[int, str]] = ()
) -> VerifyResult:
    """Recompute the whole chain, streaming (a server-side cursor), and name the first bad event.

    `anchors` are (id, hash) pairs published earlier (e.g. in an export's About sheet): each must
    still be in the chain, which catches what the chain alone cannot — a consistent rewrite of
    the whole chain, or a truncated tail.
    """
    columns = [getattr(AuditEvent, name) for name in HASHED_FIELDS] + [AuditEvent.hash]
    # Options on the statement: Connection.execution_options() would change the connection itself
    # for the rest of the transaction.
    stream = connection.execute(
        sa.select(*columns).order_by(AuditEvent.id).execution_options(stream_results=True, yield_per=batch)
    )
    with stream:
        return _verify_rows((row._asdict() for row in stream), dict(anchors))


def _peekable(rows: Iterable[dict[str, Any]]) -> Iterator[tuple[dict[str, Any], dict[str, Any] | None]]:
    """Each row with the one after it (None at the end): enough to tell a swap from a rewrite."""
    iterator = iter(rows)
    current = next(iterator, None)
    while current is not None:
        following = next(iterator, None)
        yield current, following
        current = following


# What is wrong with the chain: the first bad event's id, the kind of problem, and its description.
Finding = tuple[int, str, str]


def _verify_rows(rows: Iterable[dict[str, Any]], anchors: dict[int, str] | None = None) -> VerifyResult:
    anchors = dict(anchors or {})
    expected_id, count = 1, 0
    # The hashes of the previous two events: an event chained to the one before its predecessor
    # means its predecessor was slipped in.
    prev_hash, prev_prev_hash = GENESIS_HASH, None
    for event, following in _peekable(rows):
        event_id = event["id"]
        finding = _misnumbered(event_id, expected_id)
        if finding is None and event["prev_hash"] != prev_hash:
            finding = _unlinked(event, following, prev_prev_hash)
        if finding is None:
            finding = _altered(event, anchors.pop(event_id, None))
        if finding is not None:
            first_bad_id, kind, message = finding
            return VerifyResult(count, prev_hash, first_bad_id, message, kind, expected_id - 1)
        prev_prev_hash, prev_hash = prev_hash, event["hash"]
        expected_id, count = expected_id + 1, count + 1
    if anchors:
        first = min(anchors)
        return VerifyResult(
            count,
            prev_hash,
            first,
            f"event {first} was published earlier but is no longer in the chain: its tail was cut off",
            DELETED,
            expected_id - 1,
        )
    return VerifyResult(count, prev_hash, head_id=expected_id - 1)


def _misnumbered(event_id: int, expected_id: int) -> Finding | None:
    """Events missing before this one, or this one slipped in before the first."""
    if event_id == expected_id:
        return None
    if event_id > expected_id:
        missing = (
            f"event {expected_id}"
            if event_id == expected_id + 1
            else f"events {expected_id} to {event_id - 1}"
        )
        return expected_id, DELETED, f"{missing} deleted: the chain jumps to event {event_id}"
    return event_id, INSERTED, f"event {event_id} inserted: the chain starts at event 1"


def _unlinked(event: dict[str, Any], following: dict[str, Any] | None, prev_prev_hash: str | None) -> Finding:
    """Why an event is not chained to the one before it, told from its neighbours' hashes."""
    event_id = event["id"]
    if following is not None and event["prev_hash"] == following["hash"]:
        return (
            event_id,
            REORDERED,
            f"events {event_id} and {event_id + 1} swapped: event {event_id} was written after "
            f"event {event_id + 1}",
        )
    if prev_prev_hash is not None and event["prev_hash"] == prev_prev_hash:
        return (
            event_id - 1,
            INSERTED,
            f"event {event_id - 1} inserted: event {event_id} was chained directly to event {event_id - 2}",
        )
    if compute_hash({**event, "id": event_id + 1}) == event["hash"]:
        return (
            event_id,
            DELETED,
            f"event {event_id} deleted: the events after it were renumbered to close the gap",
        )
    if compute_hash(event) != event["hash"]:
        return event_id, CHANGED, f"event {event_id} changed: its content no longer matches its hash"
    if event_id == 1:
        return 1, BROKEN, "event 1 does not start the chain: events before it were removed"
    return (
        event_id - 1,
        BROKEN,
        f"event {event_id} does not follow event {event_id - 1}: event {event_id - 1} was "
        f"replaced, or events were removed or inserted before event {event_id}",
    )


def _altered(event: dict[str, Any], published: str | None) -> Finding | None:
    """A well-linked event whose content no longer matches its hash, or whose hash is not the
    one published for it earlier."""
    event_id = event["id"]
    if compute_hash(event) != event["hash"]:
        return event_id, CHANGED, f"event {event_id} changed: its content no longer matches its hash"
    if published is not None and published != event["hash"]:
        return (
            event_id,
            ANCHOR,
            f"event {event_id} differs from the head published earlier: the chain was rewritten",
        )
    return None
