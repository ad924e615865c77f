"""Most Significant Change: a project's domains of change and the stories of change its members tell.

What a story may refer to is checked here, whatever the form offered: its domain is one of the
project's domains, its reporting period one of the project's periods; a story that names people is
kept only with their consent. Who reads a story is `permissions.readable_story_filter` (lists,
public page) and `permissions.can_read_story` (one story): never restated here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from mel_app import audit
from mel_app.extensions import db
from mel_app.kit.errors import DomainError
from mel_app.models import (
    ChangeStory,
    Membership,
    Project,
    ReportingPeriod,
    Role,
    SelectionRound,
    StoryDomain,
    StoryEvidence,
)
from mel_app.permissions import public_project_ids, readable_story_filter, story_read_in_a_round
from mel_app.submissions.files import Upload

DOMAIN_MAX = 120
TITLE_MAX = 200
TEXT_MAX = 5000

# The usual domains of change of an ACTRAV project, offered when a project has none (stored in the
# words of the specialist who accepts them).
SUGGESTED_DOMAINS = (
    _l("Organising"),
    _l("Collective bargaining"),
    _l("Gender equality"),
    _l("Social dialogue"),
)


class StoryError(DomainError):
    """What the user sent is refused; the message is for them."""

    http_status = 422


class DomainInUse(StoryError):
    http_status = 409


class StoryLocked(StoryError):
    """A selection round reads the story: it is kept as the round read it."""

    http_status = 409


@dataclass
class StorySpec:
    title: str
    what_happened: str
    why_significant: str
    domain_id: int | None
    who_involved: str = ""
    period_id: int | None = None
    names_people: bool = False
    people_consent: bool = False
    share_consent: bool = False


# --- domains of change ----------------------------------------------------------------------------


def project_domains(project: Project | int) -> list[StoryDomain]:
    project_id = project if isinstance(project, int) else project.id
    return list(
        db.session.scalars(
            sa.select(StoryDomain)
            .where(StoryDomain.project_id == project_id)
            .order_by(StoryDomain.position, StoryDomain.id)
        )
    )


def domain_uses(project: Project) -> dict[int, int]:
    """How many stories and selection rounds use each domain of the project (two queries)."""
    uses: dict[int, int] = {}
    for model in (ChangeStory, SelectionRound):
        for domain_id, count in db.session.execute(
            sa.select(model.domain_id, sa.func.count())
            .where(model.project_id == project.id, model.domain_id.is_not(None))
            .group_by(model.domain_id)
        ):
            uses[domain_id] = uses.get(domain_id, 0) + count
    return uses


def _domain_name(project_id: int, name: str, *, keep: StoryDomain | None = None) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise StoryError(_("Give the domain a name."))
    if len(name) > DOMAIN_MAX:
        raise StoryError(_("A domain's name has at most %(max)d characters.", max=DOMAIN_MAX))
    clash = db.session.scalar(
        sa.select(StoryDomain.id).where(
            StoryDomain.project_id == project_id,
            sa.func.lower(StoryDomain.name) == name.lower(),
            StoryDomain.id != (keep.id if keep is not None else -1),
        )
    )
    if clash is not None:
        raise StoryError(_("The project already has a domain called “%(name)s”.", name=name))
    return name


def add_domain(project: Project, name: str, *, actor: Any) -> StoryDomain:
    name = _domain_name(project.id, name)
    last = db.session.scalar(
        sa.select(sa.func.max(StoryDomain.position)).where(StoryDomain.project_id == project.id)
    )
    domain = StoryDomain(project_id=project.id, name=name, position=(last + 1) if last is not None else 0)
    db.session.add(domain)
    audit.record(db.session, "story_domain.create", actor=actor, target=domain)
    db.session.flush()
    return domain


def add_suggested_domains(project: Project, names: Iterable[str], *, actor: Any) -> list[StoryDomain]:
    """The suggested domains, in the accepting specialist's words, for a project that has none."""
    if project_domains(project):
        raise DomainInUse(_("The project has domains of change already."))
    return [add_domain(project, str(name), actor=actor) for name in names]


def rename_domain(domain: StoryDomain, name: str, *, actor: Any) -> None:
    domain.name = _domain_name(domain.project_id, name, keep=domain)
    audit.record(db.session, "story_domain.update", actor=actor, target=domain)
    db.session.flush()


def move_domain(domain: StoryDomain, step: int, *, actor: Any) -> None:
    """Move a domain up (-1) or down (+1) the project's list."""
    domains = project_domains(domain.project_id)
    at = next(i for i, d in enumerate(domains) if d.id == domain.id)
    to = at + (-1 if step < 0 else 1)
    if 0 <= to < len(domains):
        domains[at], domains[to] = domains[to], domains[at]
    for position, item in enumerate(domains):
        if item.position != position:
            item.position = position
    audit.record(db.session, "story_domain.move", actor=actor, target=domain)
    db.session.flush()


def remove_domain(domain: StoryDomain, *, actor: Any) -> None:
    used = db.session.scalar(sa.select(sa.exists().where(ChangeStory.domain_id == domain.id))) or (
        db.session.scalar(sa.select(sa.exists().where(SelectionRound.domain_id == domain.id)))
    )
    if used:
        raise DomainInUse(
            _(
                "“%(name)s” cannot be removed: stories or selection rounds use it. Rename it instead.",
                name=domain.name,
            )
        )
    audit.record(db.session, "story_domain.delete", actor=actor, target=domain)
    db.session.delete(domain)
    db.session.flush()


# --- reading stories ------------------------------------------------------------------------------


def stories_select(
    project: Project, reader: Any, *, domain_id: int | None = None, period_id: int | None = None
) -> sa.Select[tuple[ChangeStory]]:
    """The project's stories the reader may read, newest first (for the kit's `paginate`)."""
    query = (
        sa.select(ChangeStory)
        .where(ChangeStory.project_id == project.id, readable_story_filter(reader))
        .options(
            selectinload(ChangeStory.domain),
            selectinload(ChangeStory.period),
            selectinload(ChangeStory.organisation),
        )
        .order_by(ChangeStory.created_at.desc(), ChangeStory.id.desc())
    )
    if domain_id is not None:
        query = query.where(ChangeStory.domain_id == domain_id)
    if period_id is not None:
        query = query.where(ChangeStory.period_id == period_id)
    return query


def readable_story(project: Project, story_id: int, reader: Any) -> ChangeStory | None:
    """One story of the project, if the reader may read it (else None: the page answers 404)."""
    return db.session.scalar(
        sa.select(ChangeStory)
        .where(
            ChangeStory.id == story_id,
            ChangeStory.project_id == project.id,
            readable_story_filter(reader),
        )
        .options(
            selectinload(ChangeStory.domain),
            selectinload(ChangeStory.period),
            selectinload(ChangeStory.organisation),
            selectinload(ChangeStory.told_by),
            selectinload(ChangeStory.evidence),
        )
    )


def public_stories(project: Project) -> list[ChangeStory]:
    """The consented stories of a published project, for its public page (nobody's name)."""
    return list(
        db.session.scalars(
            sa.select(ChangeStory)
            .where(
                ChangeStory.project_id == project.id,
                ChangeStory.project_id.in_(public_project_ids()),
                ChangeStory.share_consent.is_(True),
            )
            .options(selectinload(ChangeStory.domain), selectinload(ChangeStory.period))
            .order_by(ChangeStory.created_at.desc(), ChangeStory.id.desc())
        )
    )


def record_evidence_download(evidence: StoryEvidence, *, actor: Any) -> None:
    audit.record(
        db.session,
        "story_evidence.download",
        actor=actor,
        target=evidence,
        after={"filename": evidence.filename, "sha256": evidence.sha256},
    )


# --- telling and changing a story -----------------------------------------------------------------


def _checked(project_id: int, spec: StorySpec) -> StorySpec:
    if not spec.title.strip():
        raise StoryError(_("Give the story a title."))
    if not spec.what_happened.strip():
        raise StoryError(_("Say what happened."))
    if not spec.why_significant.strip():
        raise StoryError(_("Say why this change matters to you."))
    domain = db.session.get(StoryDomain, spec.domain_id) if spec.domain_id is not None else None
    if domain is None or domain.project_id != project_id:
        raise StoryError(_("Choose one of the project's domains of change."))
    if spec.period_id is not None:
        period = db.session.get(ReportingPeriod, spec.period_id)
        if period is None or period.project_id != project_id:
            raise StoryError(_("Choose one of the project's reporting periods."))
    if spec.names_people and not spec.people_consent:
        raise StoryError(
            _(
                "The story names people who have not agreed to be named. Ask them first, or tell "
                "the story without their names."
            )
        )
    return spec


def _apply(story: ChangeStory, spec: StorySpec) -> None:
    story.title = spec.title.strip()
    story.what_happened = spec.what_happened.strip()
    story.who_involved = spec.who_involved.strip()
    story.why_significant = spec.why_significant.strip()
    story.domain_id = spec.domain_id  # type: ignore[assignment]  # checked
    story.period_id = spec.period_id
    story.names_people = spec.names_people
    story.people_consent = spec.people_consent if spec.names_people else False
    story.share_consent = spec.share_consent


def _storyteller_organisation(project_id: int, actor: Any) -> int | None:
    """The organisation the storyteller belongs to in the project (a reporter's organisation)."""
    user_id = getattr(actor, "id", None)
    if user_id is None:
        return None
    return db.session.scalar(
        sa.select(Membership.organisation_id)
        .where(
            Membership.user_id == user_id,
            Membership.project_id == project_id,
            Membership.organisation_id.is_not(None),
        )
        .order_by(sa.case((Membership.role == Role.reporter, 0), else_=1))
        .limit(1)
    )


def _attach(story: ChangeStory, upload: Upload, actor: Any) -> None:
    old = story.evidence
    if old is not None:
        audit.record(
            db.session, "story_evidence.replace", actor=actor, target=old, before={"filename": old.filename}
        )
        db.session.delete(old)
        db.session.flush()
        db.session.expire(story, ["evidence"])
    db.session.add(
        StoryEvidence(
            story_id=story.id,
            filename=upload.filename,
            media_type=upload.media_type,
            size=upload.size,
            sha256=upload.sha256,
            data=upload.data,
            uploaded_by_id=getattr(actor, "id", None),
        )
    )


def _remove_evidence(story: ChangeStory, actor: Any) -> None:
    old = story.evidence
    if old is None:
        return
    audit.record(
        db.session, "story_evidence.remove", actor=actor, target=old, before={"filename": old.filename}
    )
    db.session.delete(old)
    db.session.flush()
    db.session.expire(story, ["evidence"])


def tell_story(project: Project, spec: StorySpec, *, actor: Any, upload: Upload | None = None) -> ChangeStory:
    _checked(project.id, spec)
    story = ChangeStory(
        project_id=project.id,
        told_by_id=getattr(actor, "id", None),
        organisation_id=_storyteller_organisation(project.id, actor),
    )
    _apply(story, spec)
    db.session.add(story)
    audit.record(db.session, "change_story.create", actor=actor, target=story)
    db.session.flush()
    if upload is not None:
        _attach(story, upload, actor)
        db.session.flush()
    return story


def update_story(
    story: ChangeStory,
    spec: StorySpec,
    *,
    actor: Any,
    upload: Upload | None = None,
    remove_evidence: bool = False,
) -> None:
    """Change a story. Call `locking.claim` first; refused once a selection round reads it."""
    if story_read_in_a_round(story):
        raise StoryLocked(
            _(
                "This story can no longer be changed: a selection round has read it, and the "
                "round's choice must rest on the story as it was read."
            )
        )
    _checked(story.project_id, spec)
    _apply(story, spec)
    audit.record(db.session, "change_story.update", actor=actor, target=story)
    db.session.flush()
    if upload is not None:
        _attach(story, upload, actor)
    elif remove_evidence:
        _remove_evidence(story, actor)
    db.session.flush()
