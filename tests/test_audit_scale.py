"""The chain under load: concurrent writers never fork it, and a long chain verifies in one pass."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from config import TestingConfig
from mel_app import audit, create_app
from mel_app.audit import chain
from mel_app.extensions import db
from mel_app.models import AuditEvent, Organisation, OrgGroup, utcnow
from tests import audit_helpers
from tests.conftest import is_postgres

unprotected_trail = audit_helpers.unprotected_trail

THREADS = 20
ROUNDS = 3


@pytest.mark.skipif(not is_postgres(), reason="concurrent writers need a server database")
def test_twenty_concurrent_writers_leave_one_unbroken_chain(app, make):
    org_ids = [make.organisation(f"Union {i}") for i in range(THREADS)]
    # A pool large enough that all twenty really hold a transaction at once.
    busy = create_app(
        TestingConfig,
        SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
        SQLALCHEMY_ENGINE_OPTIONS={"pool_size": THREADS + 2, "max_overflow": 0},
    )
    start = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            with busy.app_context():
                audit.set_actor(db.session(), audit.Actor(None, f"worker {n}"))
                for round_ in range(ROUNDS):
                    org = db.session.get(Organisation, org_ids[n])  # a row change ...
                    db.session.add(
                        Organisation(name=f"Branch {n}.{round_}", group=OrgGroup.workers, parent_id=org.id)
                    )
                    org.acronym = f"W{n}R{round_}"
                    audit.record(
                        db.session, "export.download", after={"worker": n, "round": round_}
                    )  # ... a note
                    if round_ == 0:
                        start.wait(timeout=30)  # everyone commits at once
                    db.session.commit()
                db.session.remove()
        except BaseException as exc:  # reported below
            errors.append(exc)

    before = _count(app)
    threads = [threading.Thread(target=work, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    with busy.app_context():
        db.engine.dispose()
    assert not errors, errors[:3]
    with app.app_context():
        ids = db.session.scalars(sa.select(AuditEvent.id).order_by(AuditEvent.id)).all()
        assert ids == list(range(1, len(ids) + 1)), "ids contiguous: no gap, no fork"
        assert len(ids) - before == THREADS * ROUNDS * 3  # create + update + note per round
        result = chain.verify(db.session.connection())
        assert result.ok and result.count == len(ids)
        notes = db.session.scalars(
            sa.select(AuditEvent.after).where(AuditEvent.action == "export.download")
        ).all()
        assert sorted((n["worker"], n["round"]) for n in notes) == [
            (w, r) for w in range(THREADS) for r in range(ROUNDS)
        ]


def _count(app) -> int:
    with app.app_context():
        return audit_helpers.event_count()


LONG_CHAIN = 20_000


def _long_chain(app) -> None:
    """Twenty thousand events, appended in batches as the app appends them."""
    with app.app_context():
        start = utcnow() - timedelta(days=1)
        conn = db.session.connection()
        for batch in range(LONG_CHAIN // 1000):
            chain.append(
                conn,
                (
                    {
                        "occurred_at": start + timedelta(milliseconds=batch * 1000 + i),
                        "actor_id": 1,
                        "actor_name": "Load test",
                        "remote_addr": None,
                        "action": "organisation.update",
                        "entity_type": "organisation",
                        "entity_id": str(i % 50 + 1),
                        "project_id": None,
                        "before": {"acronym": f"A{i}"},
                        "after": {"acronym": f"B{i}"},
                        "reason": None,
                    }
                    for i in range(1000)
                ),
            )
        db.session.commit()


def test_a_long_chain_verifies_in_one_streaming_pass(app, runner, unprotected_trail):
    _long_chain(app)
    with app.app_context():
        result = chain.verify(db.session.connection(), batch=500)
        assert result.ok and result.count == LONG_CHAIN and result.head_id == LONG_CHAIN
        # Streaming was asked of that one statement, not of the connection the request goes on with.
        assert "stream_results" not in db.session.connection().get_execution_options()
        unprotected_trail()
        db.session.execute(
            sa.text("UPDATE audit_event SET actor_name = 'x' WHERE id = :id"), {"id": LONG_CHAIN - 1}
        )
        db.session.commit()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"event {LONG_CHAIN - 1} changed" in result.output
