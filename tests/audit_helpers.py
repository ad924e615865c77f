"""Helpers shared by the audit tests: dropping the trail's protection as a database owner could."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from mel_app.extensions import db
from mel_app.models import AuditEvent
from mel_app.models.audit import immutability_ddl


@pytest.fixture
def unprotected_trail(app):
    """Drop the append-only triggers, as a database owner could; put them back afterwards."""

    def drop():
        conn = db.session.connection()
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("DROP TRIGGER audit_event_append_only ON audit_event")
            conn.exec_driver_sql("DROP TRIGGER audit_event_no_truncate ON audit_event")
        else:
            conn.exec_driver_sql("DROP TRIGGER audit_event_no_update")
            conn.exec_driver_sql("DROP TRIGGER audit_event_no_delete")

    yield drop
    with app.app_context():
        conn = db.session.connection()
        existing = trigger_names(conn)
        for statement in immutability_ddl(conn.dialect.name):
            name = statement.split("TRIGGER", 1)[1].split()[0] if "CREATE TRIGGER" in statement else None
            if name is None or name not in existing:
                conn.execute(sa.text(statement))
        db.session.commit()


def trigger_names(conn) -> set[str]:
    if conn.dialect.name == "postgresql":
        sql = "SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit_event'::regclass AND NOT tgisinternal"
    else:
        sql = "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_event'"
    return set(conn.scalars(sa.text(sql)))


def events(entity_type: str | None = None, entity_id=None, action_prefix: str = "") -> list[AuditEvent]:
    query = sa.select(AuditEvent).where(AuditEvent.action.startswith(action_prefix)).order_by(AuditEvent.id)
    if entity_type is not None:
        query = query.where(AuditEvent.entity_type == entity_type)
    if entity_id is not None:
        query = query.where(AuditEvent.entity_id == str(entity_id))
    return list(db.session.scalars(query))


def event_count() -> int:
    return db.session.scalar(sa.select(sa.func.count(AuditEvent.id)))


def changed(values: dict) -> dict:
    """An update event's values without the `updated_at` stamp that every update also records."""
    assert "updated_at" in values, values
    return {key: value for key, value in values.items() if key != "updated_at"}
