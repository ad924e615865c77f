"""`flask seed-load`: a realistic portfolio in bulk, deterministic, with an intact audit trail."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from bench.loadgen import LOAD_ACTION, LOAD_PASSWORD, loads_recorded
from bench.loadgen.writer import WRITE_ORDER
from config import ProductionConfig, TestingConfig
from mel_app import create_app
from mel_app.audit import chain
from mel_app.audit.capture import snapshot
from mel_app.extensions import db
from mel_app.models import (
    AuditEvent,
    Evaluation,
    IndicatorValue,
    Membership,
    Organisation,
    Role,
    Status,
    Submission,
    SubmissionKind,
    User,
)
from tests.conftest import _migrate

AS_OF = "2026-11-27"


def seed_load(runner, scale="0.02", seed="1"):
    result = runner.invoke(args=["seed-load", "--scale", scale, "--seed", seed, "--as-of", AS_OF])
    assert result.exit_code == 0, result.output
    return result


def _count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_a_small_portfolio_has_every_state_role_and_constituency(app, runner):
    seed_load(runner)
    with app.app_context():
        states = set(db.session.scalars(sa.select(Submission.status).distinct()))
        assert states == set(Status)
        assert set(db.session.scalars(sa.select(Submission.kind).distinct())) == set(SubmissionKind)
        assert set(db.session.scalars(sa.select(Membership.role).distinct())) == set(Role)
        groups = set(db.session.scalars(sa.select(Organisation.group).distinct()))
        assert groups == {"workers", "employers", "government", "ilo", "donor", "other"}
        assert {e.value for e in db.session.scalars(sa.select(Evaluation.status).distinct())} <= {
            "open",
            "closed",
        }
        assert db.session.scalar(sa.select(sa.func.count()).where(User.is_admin)) >= 1
        assert _count(IndicatorValue) > 10 * _count(Evaluation)
        # The reports of a progress period are only for the project's own indicators.
        stray = db.session.scalar(
            sa.text(
                "SELECT count(*) FROM indicator_value v JOIN submission s ON s.id = v.submission_id"
                " JOIN indicator i ON i.id = v.indicator_id WHERE i.project_id <> s.project_id"
            )
        )
        assert stray == 0


def test_every_row_has_its_create_event_as_the_orm_capture_would_write_it(app, runner):
    seed_load(runner)
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0
    with app.app_context():
        for model in WRITE_ORDER:
            name = model.__tablename__
            events = db.session.scalar(
                sa.select(sa.func.count()).where(AuditEvent.action == f"{name}.create")
            )
            assert events == _count(model), name
            rows = db.session.scalars(sa.select(model).limit(3)).all()
            for obj in rows:
                event = db.session.scalar(
                    sa.select(AuditEvent).where(
                        AuditEvent.action == f"{name}.create",
                        AuditEvent.entity_id
                        == ":".join(str(v) for v in sa.inspect(model).primary_key_from_instance(obj)),
                    )
                )
                expected = snapshot(obj)
                # A column a new object never set is left out of `after`, as by the ORM capture.
                assert {k: v for k, v in expected.items() if k in event.after} == event.after, name
                assert all(expected[k] is None for k in expected.keys() - event.after.keys()), name
                assert event.actor_name == "system" and event.reason.startswith("synthetic data")
        (marker,) = loads_recorded(db.session.connection())
        assert marker["seed"] == 1 and marker["scale"] == "0.02" and marker["as_of"] == AS_OF


def test_the_loaded_trail_verifies_and_the_app_chains_on_from_it(app, runner, make):
    """The portfolio's events were chained by `audit.append_many`: the ordinary verification
    accepts all of them, and the next captured change continues from the load's last event."""
    make.organisation("Before the load")
    seed_load(runner)
    with app.app_context():
        result = chain.verify(db.session.connection())
        assert result.ok, result.problem
        assert result.count == db.session.scalar(sa.select(sa.func.count(AuditEvent.id)))
        head_id, head_hash = result.head_id, result.head_hash
        db.session.rollback()
    make.organisation("After the load")
    with app.app_context():
        after = db.session.get(AuditEvent, head_id + 1)
        assert after.action == "organisation.create" and after.prev_hash == head_hash
        assert chain.verify(db.session.connection()).ok


def test_events_carry_the_project_they_belong_to(app, runner):
    seed_load(runner)
    with app.app_context():
        mismatched = db.session.scalar(
            sa.text(
                "SELECT count(*) FROM audit_event e JOIN indicator_value v"
                " ON e.entity_type = 'indicator_value' AND e.entity_id = CAST(v.id AS VARCHAR(64))"
                " JOIN submission s ON s.id = v.submission_id"
                " WHERE e.project_id IS NULL OR e.project_id <> s.project_id"
            )
        )
        assert mismatched == 0


def _digest(url: str) -> list[tuple]:
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        rows = db.session.execute(
            sa.select(AuditEvent.entity_type, AuditEvent.entity_id, AuditEvent.after)
            .where(AuditEvent.reason.startswith("synthetic data"))
            .order_by(AuditEvent.id)
        ).all()
        db.session.remove()
        db.engine.dispose()
    return [tuple(r) for r in rows]


def test_the_same_seed_gives_the_same_data(app, runner, tmp_path):
    seed_load(runner)
    other = f"sqlite:///{tmp_path / 'again.sqlite'}"
    _migrate(other)
    again = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=other).test_cli_runner()
    seed_load(again)
    assert _digest(app.config["SQLALCHEMY_DATABASE_URI"]) == _digest(other)


def test_a_second_load_adds_to_the_first_and_the_app_keeps_working(app, runner, make):
    seed_load(runner)
    seed_load(runner, scale="0.03", seed="2")
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0
    with app.app_context():
        assert len(loads_recorded(db.session.connection())) == 2
        assert _count(User) == 160
    # The id sequences moved past the loaded rows: ordinary inserts still work.
    assert make.organisation("Added after the load")
    assert make.user("after.load@example.org")


def test_the_loaded_accounts_sign_in_with_the_published_password(app, runner, client, login):
    seed_load(runner)
    with app.app_context():
        email = db.session.scalar(
            sa.select(User.email)
            .join(Membership)
            .where(Membership.role == Role.reporter, User.is_active)
            .limit(1)
        )
    login(email, LOAD_PASSWORD)
    assert client.get("/").status_code == 200


def test_seed_load_is_refused_in_production(tmp_path):
    url = f"sqlite:///{tmp_path / 'prod.sqlite'}"
    _migrate(url)
    app = create_app(
        ProductionConfig,
        SECRET_KEY="x" * 40,
        PUBLIC_BASE_URL="https://mel.example.org",
        SQLALCHEMY_DATABASE_URI=url,
    )
    result = app.test_cli_runner().invoke(args=["seed-load", "--scale", "0.02"])
    assert result.exit_code != 0 and "never in production" in result.output
    with app.app_context():
        assert not db.session.scalar(
            sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.action == LOAD_ACTION)
        )
        db.session.remove()
        db.engine.dispose()


@pytest.mark.parametrize("scale", ["0", "-1"])
def test_a_scale_must_be_positive(runner, scale):
    result = runner.invoke(args=["seed-load", "--scale", scale])
    assert result.exit_code != 0 and "positive" in result.output
