"""Helpers of the API tests: tokens made through the service, requests with a bearer header."""

from __future__ import annotations

from mel_app.api import tokens
from mel_app.extensions import db
from mel_app.models import User


def make_token(app, user_id: int, *, scopes=("read",), days: int = 90, name: str = "script") -> str:
    with app.test_request_context():
        created = tokens.create_token(
            db.session.get(User, user_id), name=name, scopes=list(scopes), days=days
        )
        db.session.commit()
        return created.secret


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}
