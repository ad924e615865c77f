"""The database keeps the domain's invariants, whatever the code does."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from mel_app.extensions import db
from mel_app.models import Project, Status, Submission, SubmissionKind, User


def _commit_fails(obj_or_stmt):
    with pytest.raises(sa.exc.IntegrityError):
        if isinstance(obj_or_stmt, sa.sql.Executable):
            db.session.execute(obj_or_stmt)
        else:
            db.session.add(obj_or_stmt)
        db.session.commit()
    db.session.rollback()


def test_project_reference_is_unique(app, make):
    make.project("RAF/22/11/NOR")
    with app.app_context():
        _commit_fails(Project(reference="RAF/22/11/NOR", title="again", funding_modality="XBDC"))


def test_one_live_progress_report_per_project_period_and_organisation(app, make):
    org, user, project = make.organisation(), make.user(), make.project()
    period = make.period(project)
    first = make.submission(project, org, user, period_id=period)
    with app.app_context():
        _commit_fails(
            Submission(
                project_id=project,
                organisation_id=org,
                author_id=user,
                period_id=period,
                kind=SubmissionKind.progress_report,
                narrative={},
            )
        )
        # Once the first is withdrawn, the organisation may start again.
        db.session.execute(
            sa.update(Submission).where(Submission.id == first).values(status=Status.withdrawn)
        )
        db.session.add(
            Submission(
                project_id=project,
                organisation_id=org,
                author_id=user,
                period_id=period,
                kind=SubmissionKind.progress_report,
                narrative={},
            )
        )
        db.session.commit()


def test_a_progress_report_needs_a_period_and_design_input_has_none(app, make):
    org, user, project = make.organisation(), make.user(), make.project()
    period = make.period(project)
    with app.app_context():
        _commit_fails(
            Submission(
                project_id=project,
                organisation_id=org,
                author_id=user,
                kind=SubmissionKind.progress_report,
                narrative={},
            )
        )
        _commit_fails(
            Submission(
                project_id=project,
                organisation_id=org,
                author_id=user,
                period_id=period,
                kind=SubmissionKind.design_input,
                narrative={},
            )
        )


def test_an_approved_submission_always_names_its_approver(app, make):
    org, user, project = make.organisation(), make.user(), make.project()
    period = make.period(project)
    sub = make.submission(project, org, user, period_id=period)
    now = datetime.now(UTC)
    with app.app_context():
        _commit_fails(
            sa.update(Submission)
            .where(Submission.id == sub)
            .values(status=Status.approved, submitted_at=now, approved_at=now)
        )
        db.session.execute(
            sa.update(Submission)
            .where(Submission.id == sub)
            .values(status=Status.approved, submitted_at=now, approved_at=now, approved_by_id=user)
        )
        db.session.commit()


def test_emails_are_unique_whatever_their_case(app, make):
    make.user("someone@example.org")
    with app.app_context():
        _commit_fails(User(email="someone@example.org", full_name="x", session_token="t"))
        # Mixed case cannot even be stored, so uniqueness is case-insensitive.
        _commit_fails(User(email="Someone@Example.org", full_name="x", session_token="t"))


def test_unknown_constituency_is_refused(app):
    with app.app_context():
        # Raw SQL, past the ORM's own validation: the CHECK constraint must refuse it.
        _commit_fails(
            sa.text(
                'INSERT INTO organisation (name, "group", is_fictional, created_at, updated_at) '
                "VALUES ('X', 'martians', false, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            )
        )


def test_sqlite_enforces_foreign_keys(app):
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite only")
        assert db.session.execute(sa.text("PRAGMA foreign_keys")).scalar() == 1


def test_demo_server_sqlite_runs_in_wal_mode(tmp_path):
    from config import DevelopmentConfig
    from mel_app import create_app

    app = create_app(DevelopmentConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'wal.sqlite'}")
    with app.app_context():
        assert db.session.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
        assert db.session.execute(sa.text("PRAGMA foreign_keys")).scalar() == 1
        db.session.remove()
        db.engine.dispose()
