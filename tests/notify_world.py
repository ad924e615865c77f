"""Helpers for the notification tests: the demo world, its people, and what reached the SMTP server."""

from __future__ import annotations

import sqlalchemy as sa

from mel_app import audit
from mel_app.demo import DEMO_ACCOUNTS, load_demo
from mel_app.extensions import db
from mel_app.models import (
    Evaluation,
    Organisation,
    OrgGroup,
    Project,
    Scorecard,
    Status,
    Submission,
    SubmissionKind,
    User,
)
from mel_app.notifications.delivery import drain

DEMO_EMAILS = [account[0] for account in DEMO_ACCOUNTS]


def load(app) -> None:
    with app.app_context():
        audit.set_actor(db.session(), audit.SYSTEM_ACTOR)
        load_demo()
        db.session.commit()
        deliver(app)  # whatever loading the demo queued (the evaluator's invitation)


def deliver(app):
    with app.app_context():
        result = drain()
        db.session.remove()
        return result


def user(email: str) -> User:
    return db.session.scalar(sa.select(User).where(User.email == email))


def project(reference: str) -> Project:
    return db.session.scalar(sa.select(Project).where(Project.reference == reference))


def organisation(acronym: str) -> Organisation:
    return db.session.scalar(sa.select(Organisation).where(Organisation.acronym == acronym))


def report(reference: str, acronym: str, status: Status) -> Submission:
    return db.session.scalar(
        sa.select(Submission).where(
            Submission.project_id == project(reference).id,
            Submission.organisation_id == organisation(acronym).id,
            Submission.kind == SubmissionKind.progress_report,
            Submission.status == status,
        )
    )


def evaluation(title: str) -> Evaluation:
    return db.session.scalar(sa.select(Evaluation).where(Evaluation.title == title))


def scorecard(title: str, email: str) -> Scorecard:
    return db.session.scalar(
        sa.select(Scorecard).where(
            Scorecard.evaluation_id == evaluation(title).id, Scorecard.scorer_id == user(email).id
        )
    )


__all__ = ["DEMO_EMAILS", "OrgGroup"]
