"""Tampering with the trail is refused, and where the protection is dropped, detected and named.

The tampering is done as a database owner could: with the append-only triggers dropped.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from mel_app import audit
from mel_app.audit import chain
from mel_app.extensions import db
from mel_app.models import AuditEvent, Organisation
from tests import audit_helpers
from tests.conftest import is_postgres

unprotected_trail = audit_helpers.unprotected_trail


@pytest.fixture
def trail(app, make):
    """A chain of ten events."""
    org = make.organisation("Fictional Union")
    with app.app_context():
        for i in range(8):
            db.session.get(Organisation, org).acronym = f"FU{i}"
            audit.record(
                db.session, "organisation.rename", target=db.session.get(Organisation, org), reason=f"r{i}"
            )
            db.session.commit()
        audit.record(db.session, "export.download", after={"format": "csv"})
        db.session.commit()
        assert audit_helpers.event_count() == 10
    return org


def _verify(runner, *anchors):
    args = ["audit", "verify"] + [f"--anchor={a}" for a in anchors]
    return runner.invoke(args=args)


def _hash_of(event_id: int) -> str:
    return db.session.scalar(sa.select(AuditEvent.hash).where(AuditEvent.id == event_id))


def _row(event_id: int) -> dict:
    columns = [getattr(AuditEvent, name) for name in chain.HASHED_FIELDS] + [AuditEvent.hash]
    return dict(db.session.execute(sa.select(*columns).where(AuditEvent.id == event_id)).one()._mapping)


def _shift(from_id: int, by: int) -> None:
    """Renumber events from `from_id` on (in two steps, so the primary key never collides)."""
    conn = db.session.connection()
    conn.execute(
        sa.text("UPDATE audit_event SET id = -id - :by WHERE id >= :from_id"), {"by": by, "from_id": from_id}
    )
    conn.execute(sa.text("UPDATE audit_event SET id = -id WHERE id < 0"))


def _tampered(app, unprotected_trail, change) -> None:
    with app.app_context():
        unprotected_trail()
        change(db.session.connection())
        db.session.commit()


def test_an_intact_chain_verifies(runner, trail):
    result = _verify(runner)
    assert result.exit_code == 0, result.output
    assert "events: 10" in result.output and "intact" in result.output


def test_a_changed_field_is_named(app, runner, trail, unprotected_trail):
    _tampered(
        app,
        unprotected_trail,
        lambda c: c.execute(sa.text("UPDATE audit_event SET reason = 'nothing' WHERE id = 5")),
    )
    result = _verify(runner)
    assert result.exit_code == 1
    assert "TAMPERED (changed): event 5 changed" in result.output


def test_a_changed_value_inside_the_json_is_named(app, runner, trail, unprotected_trail):
    def change(conn):
        event = _row(6)
        conn.execute(
            sa.update(AuditEvent.__table__)
            .where(AuditEvent.__table__.c.id == 6)
            .values(after={**event["after"], "acronym": "FORGED"})
        )

    _tampered(app, unprotected_trail, change)
    assert "event 6 changed" in _verify(runner).output


def test_a_deleted_event_is_named(app, runner, trail, unprotected_trail):
    _tampered(app, unprotected_trail, lambda c: c.execute(sa.text("DELETE FROM audit_event WHERE id = 5")))
    result = _verify(runner)
    assert result.exit_code == 1
    assert "TAMPERED (deleted): event 5 deleted" in result.output


def test_a_deleted_event_is_named_even_when_the_gap_is_closed(app, runner, trail, unprotected_trail):
    def change(conn):
        conn.execute(sa.text("DELETE FROM audit_event WHERE id = 5"))
        _shift(6, -1)

    _tampered(app, unprotected_trail, change)
    result = _verify(runner)
    assert result.exit_code == 1
    assert "TAMPERED (deleted): event 5 deleted" in result.output


def test_an_inserted_event_is_named(app, runner, trail, unprotected_trail):
    """A forged event slipped in at position 5, well chained and hashed; the events after move up."""

    def change(conn):
        previous = _row(4)
        forged = {**_row(5), "id": 5, "reason": "forged", "prev_hash": previous["hash"]}
        forged["hash"] = chain.compute_hash(forged)
        _shift(5, 1)
        conn.execute(sa.insert(AuditEvent.__table__).values(**forged))

    _tampered(app, unprotected_trail, change)
    result = _verify(runner)
    assert result.exit_code == 1
    assert "TAMPERED (inserted): event 5 inserted" in result.output


def test_two_swapped_events_are_named(app, runner, trail, unprotected_trail):
    def change(conn):
        conn.execute(sa.text("UPDATE audit_event SET id = -4 WHERE id = 4"))
        conn.execute(sa.text("UPDATE audit_event SET id = 4 WHERE id = 5"))
        conn.execute(sa.text("UPDATE audit_event SET id = 5 WHERE id = -4"))

    _tampered(app, unprotected_trail, change)
    result = _verify(runner)
    assert result.exit_code == 1
    assert "TAMPERED (reordered): events 4 and 5 swapped" in result.output


def test_a_replaced_event_with_a_recomputed_hash_breaks_the_next_link(app, runner, trail, unprotected_trail):
    def change(conn):
        event = {**_row(5), "reason": "rewritten"}
        event["hash"] = chain.compute_hash(event)
        conn.execute(
            sa.update(AuditEvent.__table__)
            .where(AuditEvent.__table__.c.id == 5)
            .values(reason="rewritten", hash=event["hash"])
        )

    _tampered(app, unprotected_trail, change)
    result = _verify(runner)
    assert result.exit_code == 1
    assert "event 6 does not follow event 5" in result.output and "first bad event: 5" in result.output


def test_a_chain_rewritten_consistently_is_caught_by_a_published_head(app, runner, trail, unprotected_trail):
    """The chain alone cannot tell (that is the limit docs/AUDIT.md explains); a head published
    elsewhere before the rewrite can."""
    with app.app_context():
        published = f"7:{_hash_of(7)}"

    def change(conn):
        rows = [_row(i) for i in range(1, 11)]
        conn.execute(sa.text("DELETE FROM audit_event"))
        prev = chain.GENESIS_HASH
        for row in rows:
            row = {
                **row,
                "prev_hash": prev,
                "reason": "history rewritten" if row["id"] == 3 else row["reason"],
            }
            row["hash"] = prev = chain.compute_hash(row)
            conn.execute(sa.insert(AuditEvent.__table__).values(**row))

    _tampered(app, unprotected_trail, change)
    assert _verify(runner).exit_code == 0, "a consistent rewrite passes the chain check"
    result = _verify(runner, published)
    assert result.exit_code == 1
    assert "TAMPERED (anchor mismatch): event 7 differs from the head published earlier" in result.output


def test_a_cut_off_tail_is_caught_by_a_published_head(app, runner, trail, unprotected_trail):
    with app.app_context():
        published = f"10:{_hash_of(10)}"
    _tampered(app, unprotected_trail, lambda c: c.execute(sa.text("DELETE FROM audit_event WHERE id > 8")))
    assert _verify(runner).exit_code == 0
    result = _verify(runner, published)
    assert result.exit_code == 1
    assert "event 10 was published earlier but is no longer in the chain" in result.output


def test_the_head_command_prints_what_to_publish(runner, trail, app):
    result = runner.invoke(args=["audit", "head"])
    assert result.exit_code == 0
    with app.app_context():
        assert result.output.startswith(f"10:{_hash_of(10)} ")
    assert _verify(runner, result.output.split()[0]).exit_code == 0
    assert runner.invoke(args=["audit", "verify", "--anchor", "nonsense"]).exit_code == 2


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_event SET reason = 'x' WHERE id = 3",
        "DELETE FROM audit_event WHERE id = 10",
        "DELETE FROM audit_event",
    ],
)
def test_with_the_triggers_in_place_rewriting_is_refused(app, trail, statement):
    with app.app_context():
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):
            db.session.execute(sa.text(statement))
        db.session.rollback()
        assert audit_helpers.event_count() == 10
        assert chain.verify(db.session.connection()).ok


@pytest.mark.skipif(not is_postgres(), reason="TRUNCATE is PostgreSQL's")
def test_with_the_triggers_in_place_truncate_is_refused(app, trail):
    with app.app_context():
        with pytest.raises(sa.exc.DatabaseError, match="append-only: TRUNCATE refused"):
            db.session.execute(sa.text("TRUNCATE audit_event"))
        db.session.rollback()
        assert audit_helpers.event_count() == 10
