"""The append-only audit trail: one hash-chained row per recorded change or security event."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, mapped_column

from mel_app.models.base import Base

GENESIS_HASH = "0" * 64


class AuditEvent(Base):
    __tablename__ = "audit_event"
    __table_args__ = (
        sa.Index("ix_audit_event_entity", "entity_type", "entity_id"),
        sa.Index("ix_audit_event_project_id_id", "project_id", "id"),
        sa.Index("ix_audit_event_actor_id_id", "actor_id", "id"),
        sa.Index("ix_audit_event_action_id", "action", "id"),
        sa.Index("ix_audit_event_occurred_at", "occurred_at"),
    )

    # The position in the chain: each event takes the previous id + 1, so the primary key itself
    # refuses a fork (two events claiming the same predecessor) on every database.
    id: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    occurred_at: Mapped[datetime]
    # No foreign key: the trail must outlive and never block changes to the rows it describes.
    actor_id: Mapped[int | None]
    actor_name: Mapped[str] = mapped_column(sa.String(200))
    remote_addr: Mapped[str | None] = mapped_column(sa.String(64))
    action: Mapped[str] = mapped_column(sa.String(80))
    entity_type: Mapped[str | None] = mapped_column(sa.String(50))
    entity_id: Mapped[str | None] = mapped_column(sa.String(64))
    project_id: Mapped[int | None]
    before: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    reason: Mapped[str | None] = mapped_column(sa.Text)
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    hash: Mapped[str] = mapped_column(sa.String(64), unique=True)


# The database itself refuses to rewrite history. The initial migration creates the same triggers;
# these run when the schema is built with metadata.create_all() (throw-away test databases).
POSTGRES_IMMUTABILITY_DDL = (
    """
    CREATE OR REPLACE FUNCTION audit_event_refuse_change() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'audit_event is append-only: % refused', TG_OP;
    END
    $$
    """,
    """
    CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event
    FOR EACH ROW EXECUTE FUNCTION audit_event_refuse_change()
    """,
    """
    CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event
    FOR EACH STATEMENT EXECUTE FUNCTION audit_event_refuse_change()
    """,
)
SQLITE_IMMUTABILITY_DDL = (
    """
    CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event
    BEGIN SELECT RAISE(ABORT, 'audit_event is append-only: UPDATE refused'); END
    """,
    """
    CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event
    BEGIN SELECT RAISE(ABORT, 'audit_event is append-only: DELETE refused'); END
    """,
)


def immutability_ddl(dialect_name: str) -> tuple[str, ...]:
    return POSTGRES_IMMUTABILITY_DDL if dialect_name == "postgresql" else SQLITE_IMMUTABILITY_DDL


@sa.event.listens_for(AuditEvent.__table__, "after_create")
def _create_immutability_triggers(target: sa.Table, connection: Connection, **kw: Any) -> None:
    for statement in immutability_ddl(connection.dialect.name):
        connection.execute(sa.text(statement))
