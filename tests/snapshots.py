"""Every row of a test's database, kept and put back into another test's empty database.

Loading the demo costs a second and a half of commands (every report through the workflow, the
audit chain hashed event by event); the authorization matrix's world a few tenths of a second on
PostgreSQL; dozens and hundreds of tests start from them. A worker builds each once, the real way,
keeps the rows, and gives every later test the same rows in its own empty database: a few
hundredths of a second. The rows are copied exactly — identifiers, hashes of the audit chain,
evidence files — so a test cannot tell a copy from a world it built.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa

from mel_app.extensions import db

T = TypeVar("T")


@dataclass(frozen=True)
class Snapshot:
    """The rows of every table, parents before children."""

    tables: list[tuple[sa.Table, list[dict[str, Any]]]]

    @property
    def rows(self) -> int:
        return sum(len(rows) for _table, rows in self.tables)


def _tables() -> list[sa.Table]:
    return [t for t in db.metadata.sorted_tables if t.name != "alembic_version"]


def take(engine: sa.Engine) -> Snapshot:
    with engine.connect() as conn:
        return Snapshot(
            [(table, [dict(row) for row in conn.execute(table.select()).mappings()]) for table in _tables()]
        )


def restore(engine: sa.Engine, snapshot: Snapshot) -> None:
    """Put the snapshot's rows into the (empty) database, and its counters after them."""
    postgres = engine.dialect.name == "postgresql"
    with engine.begin() as conn:
        if postgres:
            # The audit trail's triggers and the foreign keys' order checks are for the app's
            # writes; these rows were written by it already. This transaction only.
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        else:
            conn.exec_driver_sql("PRAGMA defer_foreign_keys = ON")
        for table, rows in snapshot.tables:
            if rows:
                conn.execute(table.insert(), rows)
        if postgres:
            # Explicit identifiers do not move a sequence (SQLite's counters follow by themselves).
            for table, rows in snapshot.tables:
                if rows and "id" in table.c and isinstance(table.c.id.type, sa.Integer):
                    conn.execute(
                        sa.text("SELECT setval(pg_get_serial_sequence(:table, 'id'), :last)"),
                        {"table": f'"{table.name}"', "last": max(row["id"] for row in rows)},
                    )


# What this worker built: key -> (the rows, what the builder returned).
_built: dict[str, tuple[Snapshot, Any]] = {}


def is_empty(engine: sa.Engine) -> bool:
    counts = [sa.select(sa.func.count()).select_from(table).scalar_subquery() for table in _tables()]
    with engine.connect() as conn:
        return not any(conn.execute(sa.select(*counts)).one())


def built_once(app, key: str, build: Callable[[], T]) -> T:
    """What `build()` returns, and its rows in the app's database.

    In an empty database, the first time, `build()` runs and its rows are kept; the next times
    the rows are put back and a copy of the first result returned. In a database that holds
    something already (a second world beside the first), `build()` runs every time."""
    with app.app_context():
        engine = db.engine
    if not is_empty(engine):
        return build()
    if key in _built:
        rows, result = _built[key]
        restore(engine, rows)
        return copy.deepcopy(result)
    result = build()
    _built[key] = (take(engine), copy.deepcopy(result))
    return result
