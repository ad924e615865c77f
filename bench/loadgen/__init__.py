"""A realistic synthetic portfolio for load tests and benchmarks (`flask --app mel_app seed-load`).

At scale 1: about 50 projects, 300 organisations of every constituency in 70 countries, 1,000
users with memberships of every role, ten years of half-yearly reporting periods, 6,000
submissions in every state (with their versions, comments, narrative and about 60,000 indicator
values), 500 evaluations with about 10,000 scores and their recommendations. Scale 10 is ten
times that. The same seed and reference date always give the same database.

Rows are written in bulk (PostgreSQL COPY, executemany elsewhere), never one ORM object at a
time. The audit trail is still complete and valid: every row gets its `<table>.create` event,
whose `after` holds the row's audited columns exactly as the ORM capture would record them
(`chain.to_json_value`), chained by `mel_app.audit.append_many` (the trail has no other writer)
and inserted in bulk too.

This package is part of the checkout, not of the installed app: `flask seed-load` exists only where
bench/ is importable (a checkout, run from its top directory).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bench.loadgen.portfolio import Portfolio, counts_for
from bench.loadgen.writer import BulkWriter, LoadError
from mel_app.models import AuditEvent

# A documented credential of the synthetic accounts, like the demo's: never load this into a
# production database (the command refuses to).
LOAD_PASSWORD = "load-password-2026"  # noqa: S105  # nosec B105
LOAD_ACTION = "seed.load"


@dataclass
class LoadReport:
    counts: dict[str, int]
    seconds: float
    first_event_id: int
    last_event_id: int


def load_portfolio(
    session: Any,
    *,
    scale: float,
    seed: int,
    as_of: date,
    password_hash: str,
    progress: Callable[[str], None] | None = None,
) -> LoadReport:
    """Load the synthetic portfolio in the session's transaction (the caller commits)."""
    from mel_app.evaluations.defaults import ensure_defaults

    if scale <= 0:
        raise LoadError("the scale must be positive")
    started = time.perf_counter()
    ensure_defaults()  # through the ORM: audited by the automatic capture
    session.flush()
    connection = session.connection()
    writer = BulkWriter(
        connection,
        occurred_at=datetime(as_of.year, as_of.month, as_of.day, 5, 0, tzinfo=UTC),
        reason=f"synthetic data for load tests (seed-load --scale {scale:g} --seed {seed})",
    )
    Portfolio(writer, scale=scale, seed=seed, as_of=as_of, password_hash=password_hash).load(connection)
    counts = {name: writer.counts[name] for name in sorted(writer.counts) if name != "audit_event"}
    writer.record(
        LOAD_ACTION,
        {"scale": f"{scale:g}", "seed": seed, "as_of": as_of.isoformat(), "rows": counts},
    )
    counts["audit_event"] = writer.counts["audit_event"]
    if progress:
        progress(f"rows built and written in {time.perf_counter() - started:.1f} s")
    return LoadReport(counts, time.perf_counter() - started, writer.first_event_id, writer.last_id)


def loads_recorded(connection: Connection) -> list[dict[str, Any]]:
    """The `after` of every completed seed-load in this database (the marker of a complete load)."""
    return [
        row.after
        for row in connection.execute(
            sa.select(AuditEvent.after).where(AuditEvent.action == LOAD_ACTION).order_by(AuditEvent.id)
        )
    ]


__all__ = [
    "LOAD_ACTION",
    "LOAD_PASSWORD",
    "LoadError",
    "LoadReport",
    "counts_for",
    "load_portfolio",
    "loads_recorded",
]
