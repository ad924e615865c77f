"""The audit trail's core: automatic capture, the hash chain, and the database's refusal to rewrite it."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from mel_app import audit
from mel_app.extensions import db
from mel_app.models import AuditEvent, Organisation
from tests import audit_helpers

unprotected_trail = audit_helpers.unprotected_trail


def _events(action_prefix: str = ""):
    return db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action.startswith(action_prefix)).order_by(AuditEvent.id)
    ).all()


def test_every_change_is_captured_with_before_and_after(app, make):
    org = make.organisation("Fictional Union")
    with app.app_context():
        o = db.session.get(Organisation, org)
        o.acronym = "FU"
        audit.record(db.session, "organisation.rename", target=o, reason="acronym agreed")
        db.session.commit()
        create, update = _events("organisation.")
        assert create.action == "organisation.create" and create.after["name"] == "Fictional Union"
        assert update.action == "organisation.rename"
        assert update.before["acronym"] == create.after["acronym"] and update.after["acronym"] == "FU"
        # What `onupdate` writes is part of the change too, so a replay reproduces the row exactly.
        assert set(update.after) == {"acronym", "updated_at"}
        assert update.reason == "acronym agreed"
        assert update.entity_type == "organisation" and update.entity_id == str(org)
        assert update.prev_hash == create.hash


def test_secrets_never_reach_the_trail(app, make):
    make.user("someone@example.org")
    with app.app_context():
        (event,) = _events("user.create")
        assert "password_hash" not in event.after and "session_token" not in event.after
        assert event.after["email"] == "someone@example.org"


def test_an_event_without_a_row_change_is_recorded_at_commit(app):
    with app.app_context():
        audit.record(
            db.session, "export.download", actor=audit.Actor(7, "Evaluator"), after={"format": "csv"}
        )
        db.session.commit()
        (event,) = _events("export.")
        assert event.actor_id == 7 and event.actor_name == "Evaluator" and event.after == {"format": "csv"}


def test_a_rolled_back_change_leaves_no_event(app, make):
    org = make.organisation()
    with app.app_context():
        before = db.session.scalar(sa.select(sa.func.count(AuditEvent.id)))
        o = db.session.get(Organisation, org)
        o.acronym = "NEW"
        audit.record(db.session, "organisation.rename", target=o)
        db.session.flush()
        db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id))) == before
        db.session.commit()
        assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id))) == before


def test_the_database_refuses_update_and_delete(app, make):
    make.organisation()
    with app.app_context():
        for statement in (sa.update(AuditEvent).values(action="x"), sa.delete(AuditEvent)):
            with pytest.raises(sa.exc.DatabaseError, match="append-only"):
                db.session.execute(statement)
            db.session.rollback()


def test_verify_passes_on_an_intact_chain_and_names_a_changed_event(app, make, runner, unprotected_trail):
    for _ in range(3):
        make.organisation()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "events: 3" in result.output and "intact" in result.output
    with app.app_context():
        unprotected_trail()
        db.session.execute(sa.update(AuditEvent).where(AuditEvent.id == 2).values(reason="rewritten"))
        db.session.commit()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert "event 2" in result.output


def test_steps_of_one_transaction_written_in_turn_keep_their_own_names(app, make):
    """Without `write_pending` between them, the second change would be taken for what the first
    note names (the first change to the record after the note); with it, each is named as a
    commit after each step would name it."""
    org = make.organisation("Steps Union")
    with app.app_context():
        o = db.session.get(Organisation, org)
        audit.record(db.session, "organisation.rename", target=o, reason="first step")
        o.acronym = "SU"
        audit.write_pending(db.session())
        o.acronym = "SU2"
        audit.record(db.session, "organisation.renumber", target=o, reason="second step")
        db.session.commit()
        first, second = _events("organisation.ren")
        assert [(e.action, e.reason, e.after["acronym"]) for e in (first, second)] == [
            ("organisation.rename", "first step", "SU"),
            ("organisation.renumber", "second step", "SU2"),
        ]
        assert audit.chain.verify(db.session.connection()).ok
