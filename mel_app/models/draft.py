"""What a user posted after their session had expired, kept until they sign in again."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from mel_app.models.base import Base, utcnow


class DraftStash(Base):
    """A form posted when its sender was no longer signed in: stored, never acted on.

    Only the hash of the random token (carried in the sign-in's `next` address) is stored; the
    text goes back only to the same user, signed in again, who may still edit the submission.
    Not audited: it is an unsent draft, nobody's record. Files are never kept.
    """

    __tablename__ = "draft_stash"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    submission_id: Mapped[int] = mapped_column(sa.ForeignKey("submission.id", ondelete="CASCADE"), index=True)
    # [[name, value], ...] as posted (every value of a repeated name), token and files left out.
    fields: Mapped[list[list[str]]] = mapped_column(sa.JSON)
    had_files: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
