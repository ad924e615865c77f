"""Helpers of the API tests: tokens made through the service, requests with a bearer header,
members of a project and submitted reports."""

from __future__ import annotations

from mel_app.api import tokens
from mel_app.extensions import db
from mel_app.models import Role, Status, User, utcnow


def make_token(app, user_id: int, *, scopes=("read",), days: int = 90, name: str = "script") -> str:
    with app.test_request_context():
        created = tokens.create_token(
            db.session.get(User, user_id), name=name, scopes=list(scopes), days=days
        )
        db.session.commit()
        return created.secret


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def member(make, email: str, project_id: int, role: Role, organisation_id: int | None = None) -> int:
    """A new user who is a member of the project in `role` (for `organisation_id`, if given)."""
    user = make.user(email, organisation_id=organisation_id)
    make.member(user, project_id, role, organisation_id=organisation_id)
    return user


def submitted_report(make, project_id: int, organisation_id: int, reporter: int, **kw) -> int:
    """A report that `reporter` has submitted and that waits for review."""
    return make.submission(
        project_id,
        organisation_id,
        reporter,
        status=Status.submitted,
        submitted_at=utcnow(),
        submitted_by_id=reporter,
        **kw,
    )
