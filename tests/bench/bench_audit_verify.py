"""Benchmark: `audit verify` over a long chain runs in constant memory.

    .venv/bin/python -m tests.bench.bench_audit_verify --events 200000
    .venv/bin/python -m tests.bench.bench_audit_verify --events 200000 \
        --url postgresql+psycopg://postgres@127.0.0.1:5432/postgres

Builds a throw-away database (a temporary SQLite file, or a new PostgreSQL database next to the
one named by --url, dropped at the end), appends the events in batches as the app does, then
verifies the chain twice — with half and with all of the events — and prints the time and the
peak Python memory of each pass. Constant memory means the two peaks are about equal.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import tracemalloc
import uuid
from datetime import timedelta

import sqlalchemy as sa

from mel_app.audit import chain
from mel_app.models import AuditEvent, utcnow


def _database(url: str | None):
    if not url:
        folder = tempfile.TemporaryDirectory()
        return f"sqlite:///{folder.name}/bench.sqlite", folder.cleanup
    admin = sa.engine.make_url(url)
    name = f"mel_bench_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')

    def drop():
        with engine.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        engine.dispose()

    return admin.set(database=name).render_as_string(hide_password=False), drop


def _fill(engine: sa.Engine, events: int, batch: int = 5000) -> None:
    start = utcnow() - timedelta(days=30)
    with engine.begin() as conn:
        AuditEvent.__table__.create(conn)  # with its append-only triggers
    for offset in range(0, events, batch):
        with engine.begin() as conn:
            chain.append(
                conn,
                (
                    {
                        "occurred_at": start + timedelta(milliseconds=offset + i),
                        "actor_id": (offset + i) % 300,
                        "actor_name": f"User {(offset + i) % 300}",
                        "remote_addr": "192.0.2.10",
                        "action": "submission.update",
                        "entity_type": "submission",
                        "entity_id": str((offset + i) % 5000),
                        "project_id": (offset + i) % 40,
                        "before": {"narrative": {"achievements": "x" * 200}, "version": 1},
                        "after": {"narrative": {"achievements": "y" * 200}, "version": 2},
                        "reason": None,
                    }
                    for i in range(min(batch, events - offset))
                ),
            )


def _verify(engine: sa.Engine, upto: int | None, *, trace: bool) -> tuple[float, float, int]:
    """One verify pass: its time (untraced, as in production) or its peak memory (traced)."""
    if trace:
        tracemalloc.start()
    began = time.perf_counter()
    with engine.connect() as conn:
        if upto is None:
            result = chain.verify(conn)
        else:
            columns = [getattr(AuditEvent, n) for n in chain.HASHED_FIELDS] + [AuditEvent.hash]
            query = sa.select(*columns).where(AuditEvent.id <= upto).order_by(AuditEvent.id)
            stream = conn.execute(query.execution_options(stream_results=True, yield_per=2000))
            with stream:
                result = chain._verify_rows(row._asdict() for row in stream)
    elapsed = time.perf_counter() - began
    peak = 0
    if trace:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert result.ok, result.problem
    return elapsed, peak / 1024 / 1024, result.count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--url", help="a PostgreSQL server URL; default: a temporary SQLite file")
    args = parser.parse_args()
    url, drop = _database(args.url)
    engine = sa.create_engine(url)
    try:
        began = time.perf_counter()
        _fill(engine, args.events)
        print(f"{engine.dialect.name}: appended {args.events} events in {time.perf_counter() - began:.1f} s")
        for upto in (args.events // 2, None):
            elapsed, _, count = _verify(engine, upto, trace=False)
            _, peak, _ = _verify(engine, upto, trace=True)
            rate = count / elapsed
            print(f"verify {count:>9} events: {elapsed:6.1f} s ({rate:.0f} events/s), peak {peak:.1f} MB")
    finally:
        engine.dispose()
        drop()


if __name__ == "__main__":
    main()
