"""Per-connection database settings."""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.engine import Engine


def configure_engine_events(engine: Engine, *, sqlite_wal: bool = False) -> None:
    if engine.dialect.name != "sqlite":
        return
    file_backed = engine.url.database not in (None, "", ":memory:")

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection, connection_record):
        # SQLite ignores foreign keys unless told otherwise, on every connection.
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        if sqlite_wal and file_backed:
            # Readers do not block the writer: the demo server runs several gunicorn workers.
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()
