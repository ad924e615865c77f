"""Personal access tokens for the JSON API (docs/API.md)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mel_app.models.base import Base, utcnow
from mel_app.models.user import User

# What a token may be used for; a token never grants more than its owner has.
TOKEN_SCOPES = ("read", "report", "review")


class ApiToken(Base):
    """A token a person creates for a script or another tool, stored only as a SHA-256 hash.

    Not audited row by row: the services record one event when a token is created, one when it
    is revoked, and one per day on which it is used (see mel_app/api/tokens.py).
    """

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    # Space-separated names among TOKEN_SCOPES.
    scopes: Mapped[str] = mapped_column(sa.String(100))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # The first characters after the prefix, shown in the list so a person can tell tokens apart.
    hint: Mapped[str] = mapped_column(sa.String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()

    @property
    def scope_set(self) -> frozenset[str]:
        return frozenset(self.scopes.split())

    def is_usable(self, now: datetime) -> bool:
        return self.revoked_at is None and self.expires_at > now
