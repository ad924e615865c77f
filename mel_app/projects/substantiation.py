"""Substantiation of outcome statements (outcome harvesting).

A specialist of the project asks a knowledgeable, independent person — who has no account —
whether they agree with an outcome statement. The person receives a single-use link by e-mail
(random, kept only as its SHA-256, expiring after SUBSTANTIATION_LIFETIME) and answers on a public
page: agree fully, partly or not at all, with a comment (required unless they agree fully).

A request is *waiting* until it is answered, withdrawn by a specialist, or expired; a new request
to the same address for the same statement withdraws the earlier one, whose link stops working.
The answer is recorded in the audit trail with the substantiator as its actor (they have no
account: the actor is their name, marked as the substantiator).
"""

from __future__ import annotations

import enum
import hashlib
import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from mel_app import audit
from mel_app.extensions import db
from mel_app.kit.errors import DomainError
from mel_app.models import (
    OutcomeStatement,
    OutcomeSubstantiation,
    Project,
    SubstantiationVerdict,
    utcnow,
)

NAME_MAX = 200
EMAIL_MAX = 254
MESSAGE_MAX = 2000
COMMENT_MAX = 5000
MAX_TOKEN_LENGTH = 100
# Verdicts that need a comment: saying what is not right is the point of disagreeing.
NEEDS_COMMENT = frozenset({SubstantiationVerdict.partly, SubstantiationVerdict.not_at_all})


class SubstantiationError(DomainError):
    """A request or an answer the rules refuse; the message is for the user."""

    http_status = 422


class LinkProblem(enum.StrEnum):
    unknown = "unknown"
    used = "used"
    expired = "expired"
    withdrawn = "withdrawn"


class LinkError(DomainError):
    """The link cannot be used; the page says why, and nothing of the statement."""

    http_status = 404

    def __init__(self, problem: LinkProblem):
        super().__init__(problem.value)
        self.problem = problem
        self.http_status = 404 if problem is LinkProblem.unknown else 410


class State(enum.StrEnum):
    waiting = "waiting"
    answered = "answered"
    expired = "expired"
    withdrawn = "withdrawn"


def state_of(request: OutcomeSubstantiation, now: datetime | None = None) -> State:
    if request.answered_at is not None:
        return State.answered
    if request.withdrawn_at is not None:
        return State.withdrawn
    if request.expires_at <= (now or utcnow()):
        return State.expired
    return State.waiting


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _waiting(now: datetime) -> tuple[sa.ColumnElement[bool], ...]:
    return (
        OutcomeSubstantiation.answered_at.is_(None),
        OutcomeSubstantiation.withdrawn_at.is_(None),
        OutcomeSubstantiation.expires_at > now,
    )


# --- reading ------------------------------------------------------------------------------------


def requests_of(outcome: OutcomeStatement) -> list[OutcomeSubstantiation]:
    """The statement's substantiation requests, the latest first."""
    return list(
        db.session.scalars(
            sa.select(OutcomeSubstantiation)
            .where(OutcomeSubstantiation.outcome_id == outcome.id)
            .options(selectinload(OutcomeSubstantiation.requested_by))
            .order_by(OutcomeSubstantiation.requested_at.desc(), OutcomeSubstantiation.id.desc())
        )
    )


@dataclass
class Summary:
    """What the list of outcomes says of a statement's substantiation."""

    verdicts: list[SubstantiationVerdict] = field(default_factory=list)
    waiting: int = 0


def summaries(project: Project) -> dict[int, Summary]:
    """Each statement's answers (oldest first) and waiting requests: one query for the project."""
    now = utcnow()
    found: dict[int, Summary] = defaultdict(Summary)
    rows = db.session.execute(
        sa.select(
            OutcomeSubstantiation.outcome_id,
            OutcomeSubstantiation.verdict,
            OutcomeSubstantiation.answered_at,
            OutcomeSubstantiation.withdrawn_at,
            OutcomeSubstantiation.expires_at,
        )
        .join(OutcomeStatement, OutcomeStatement.id == OutcomeSubstantiation.outcome_id)
        .where(OutcomeStatement.project_id == project.id)
        .order_by(OutcomeSubstantiation.answered_at, OutcomeSubstantiation.id)
    )
    for outcome_id, verdict, answered_at, withdrawn_at, expires_at in rows:
        if answered_at is not None and verdict is not None:
            found[outcome_id].verdicts.append(verdict)
        elif withdrawn_at is None and expires_at > now:
            found[outcome_id].waiting += 1
    return dict(found)


# --- asking -------------------------------------------------------------------------------------


def request_substantiation(
    outcome: OutcomeStatement,
    *,
    name: str,
    email: str,
    language: str,
    message: str = "",
    actor: Any,
) -> tuple[OutcomeSubstantiation, str]:
    """Ask `name` at `email` to substantiate `outcome`: the new request and its link's token (to be
    mailed after the commit; only its hash is stored). A waiting request to the same address for
    the same statement is withdrawn: its link stops working. Flushes."""
    name, email, message = name.strip(), (email or "").strip().lower(), (message or "").strip()
    if not name:
        raise SubstantiationError(_("Give the name of the person you ask."))
    if "@" not in email:
        raise SubstantiationError(_("Give the e-mail address of the person you ask."))
    if language not in current_app.config["LANGUAGES"]:
        raise SubstantiationError(_("Choose one of the languages offered."))
    now = utcnow()
    earlier = db.session.scalars(
        sa.select(OutcomeSubstantiation).where(
            OutcomeSubstantiation.outcome_id == outcome.id,
            OutcomeSubstantiation.email == email,
            *_waiting(now),
        )
    )
    for old in earlier:
        old.withdrawn_at = now
        audit.record(
            db.session,
            "outcome_substantiation.withdraw",
            actor=actor,
            target=old,
            reason="a new request was sent to the same address",
        )
    token = secrets.token_urlsafe(32)
    request = OutcomeSubstantiation(
        outcome_id=outcome.id,
        name=name[:NAME_MAX],
        email=email[:EMAIL_MAX],
        language=language,
        message=message[:MESSAGE_MAX],
        token_hash=_hash(token),
        requested_by_id=getattr(actor, "id", None),
        requested_at=now,
        expires_at=now + current_app.config["SUBSTANTIATION_LIFETIME"],
        comment="",
    )
    db.session.add(request)
    audit.record(db.session, "outcome_substantiation.request", actor=actor, target=request)
    db.session.flush()
    return request, token


def withdraw(request: OutcomeSubstantiation, *, actor: Any) -> None:
    """A specialist takes back a waiting request: its link stops working. One conditional UPDATE."""
    now = utcnow()
    won = db.session.execute(
        sa.update(OutcomeSubstantiation)
        .where(OutcomeSubstantiation.id == request.id, *_waiting(now))
        .values(withdrawn_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(request)
    if won != 1:
        raise SubstantiationError(_("This request is no longer waiting for an answer."))
    audit.record(db.session, "outcome_substantiation.withdraw", actor=actor, target=request)
    db.session.flush()


# --- answering (no account) ---------------------------------------------------------------------


def open_link(token: str) -> OutcomeSubstantiation:
    """The waiting request of a link, or LinkError saying what is wrong with it."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise LinkError(LinkProblem.unknown)
    request = db.session.scalar(
        sa.select(OutcomeSubstantiation)
        .where(OutcomeSubstantiation.token_hash == _hash(token))
        .options(selectinload(OutcomeSubstantiation.outcome).selectinload(OutcomeStatement.project))
    )
    if request is None:
        raise LinkError(LinkProblem.unknown)
    state = state_of(request)
    if state is State.answered:
        raise LinkError(LinkProblem.used)
    if state is State.withdrawn:
        raise LinkError(LinkProblem.withdrawn)
    if state is State.expired:
        raise LinkError(LinkProblem.expired)
    return request


def substantiator(request: OutcomeSubstantiation, remote_addr: str | None = None) -> audit.Actor:
    """Who answers in the audit trail: the person asked, who has no account, named as such."""
    return audit.Actor(None, f"{request.name} (substantiator)"[:200], remote_addr)


def answer(
    token: str, verdict: SubstantiationVerdict, comment: str, *, remote_addr: str | None = None
) -> OutcomeSubstantiation:
    """Record the answer given through the link and end the link. One conditional UPDATE: of two
    answers sent at once, one wins; the other is told the link was used."""
    request = open_link(token)
    comment = (comment or "").strip()
    if verdict in NEEDS_COMMENT and not comment:
        raise SubstantiationError(_("Say what is not right in the statement."))
    now = utcnow()
    won = db.session.execute(
        sa.update(OutcomeSubstantiation)
        .where(OutcomeSubstantiation.id == request.id, *_waiting(now))
        .values(answered_at=now, verdict=verdict, comment=comment[:COMMENT_MAX])
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(request)
    if won != 1:
        raise LinkError(LinkProblem.used if request.answered_at else LinkProblem.expired)
    audit.record(
        db.session,
        "outcome_substantiation.answer",
        actor=substantiator(request, remote_addr),
        target=request,
        reason="answered through the e-mailed link",
    )
    db.session.flush()
    return request
