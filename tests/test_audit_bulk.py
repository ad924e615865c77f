"""`audit.append_many`: events written in bulk join the one hash chain exactly as the capture's do."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from mel_app import audit
from mel_app.audit import chain
from mel_app.extensions import db
from mel_app.models import AuditEvent, Organisation
from tests import audit_helpers

unprotected_trail = audit_helpers.unprotected_trail

ROOT = Path(__file__).resolve().parent.parent
WHEN = datetime(2026, 11, 27, 5, 0, tzinfo=UTC)


def _bulk_events(count: int, first: int = 1) -> list[dict]:
    return [
        {
            "occurred_at": WHEN,
            "actor_name": "system",
            "action": "organisation.create",
            "entity_type": "organisation",
            "entity_id": str(1000 + n),
            "after": {"name": f"Syndicat n°{n} — Côte d’Ivoire", "acronym": None, "tags": [n, "x"]},
            "reason": "a bulk load",
        }
        for n in range(first, first + count)
    ]


def _verify(runner, *anchors):
    return runner.invoke(args=["audit", "verify", *[f"--anchor={a}" for a in anchors]])


def test_bulk_events_get_the_ids_and_hashes_the_normal_writer_gives_them(app, make, runner):
    make.organisation("Before the load")  # a chain that does not start empty
    with app.app_context():
        conn = db.session.connection()
        by_append = chain.append(conn, [{**e, "before": None} for e in _bulk_events(3)])
        db.session.rollback()
        conn = db.session.connection()
        by_bulk = audit.append_many(conn, _bulk_events(3))
        db.session.commit()
        assert [(r["id"], r["hash"]) for r in by_bulk] == [(r["id"], r["hash"]) for r in by_append]
        stored = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.id >= by_bulk[0]["id"]).order_by(AuditEvent.id)
        ).all()
        assert [e.hash for e in stored] == [r["hash"] for r in by_bulk]
        assert stored[0].after["name"] == "Syndicat n°1 — Côte d’Ivoire" and stored[0].before is None
    result = _verify(runner)
    assert result.exit_code == 0, result.output


def test_successive_bulk_calls_and_the_capture_continue_one_chain(app, make, runner):
    with app.app_context():
        conn = db.session.connection()
        first = audit.append_many(conn, _bulk_events(250))
        second = audit.append_many(conn, _bulk_events(250, first=251))
        db.session.commit()
        assert first[0]["id"] == 1 and second[0]["id"] == 251 and second[0]["prev_hash"] == first[-1]["hash"]
        head_id, head_hash = chain.head(db.session.connection())
        db.session.rollback()
    org = make.organisation("After the load")  # an ordinary, captured change after the bulk events
    with app.app_context():
        after = db.session.scalar(
            sa.select(AuditEvent).where(
                AuditEvent.entity_type == "organisation", AuditEvent.entity_id == str(org)
            )
        )
        assert after.id == head_id + 1 and after.prev_hash == head_hash
        assert db.session.get(Organisation, org).name == "After the load"
    result = _verify(runner, f"{head_id}:{head_hash}")
    assert result.exit_code == 0, result.output


def test_a_bulk_event_changed_afterwards_is_caught(app, runner, unprotected_trail):
    with app.app_context():
        audit.append_many(db.session.connection(), _bulk_events(5))
        db.session.commit()
        unprotected_trail()
        db.session.connection().execute(
            sa.update(AuditEvent).where(AuditEvent.id == 3).values(reason="another reason")
        )
        db.session.commit()
    result = _verify(runner)
    assert result.exit_code == 1 and "event 3 changed" in result.output


@pytest.mark.parametrize("field", ["id", "hash", "prev_hash", "colour"])
def test_the_chain_fields_are_computed_never_given(app, field):
    with app.app_context():
        with pytest.raises(ValueError, match=field):
            audit.append_many(db.session.connection(), [{**_bulk_events(1)[0], field: "given"}])
        db.session.rollback()
        assert audit.append_many(db.session.connection(), []) == []


def test_no_code_outside_the_audit_package_chains_or_inserts_audit_events():
    """One writer of the trail: whatever writes events in bulk goes through `append_many`."""
    writing = re.compile(
        r"compute_hash\(|_chained\(|insert\(AuditEvent|COPY\s+\"?audit_event|[\"']prev_hash[\"']\s*:"
    )
    offenders = []
    for folder in ("mel_app", "bench"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if relative.parts[:2] == ("mel_app", "audit") or relative.parts[:2] == ("mel_app", "models"):
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if writing.search(line):
                    offenders.append(f"{relative}:{number}: {line.strip()}")
    assert not offenders, "\n".join(offenders)
    assert not (ROOT / "mel_app" / "loadgen").exists(), "the load generator is a tool of the checkout"
