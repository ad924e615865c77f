"""Selection rounds of change stories (Most Significant Change), level by level.

A project's specialist opens a project-level round for one domain of change (and optionally one
reporting period) of the project; an administrator opens a regional round (for one ILO region) or
an ACTRAV round. The members invited speak for the constituencies: workers', employers' and the
ILO's (and the government's, when the project has government members) must all be there. The
stories a round reads are fixed when it opens:

- project level: the project's stories of the domain (and period) not yet read at project level;
- regional level: stories chosen at project level, whose storyteller agreed to their being shared
  outside the project, of projects with a country in the region, not yet read at regional level;
- ACTRAV level: stories chosen at regional level, not yet read at ACTRAV level.

Each member proposes the most significant story with a reason, and may change it while the round
is open. Whoever manages the round records the discussion, the choice and its reasons and closes
it; the chosen story is then "chosen at" the round's level and is read at the next one.

Everything here is checked whatever the form offered: the domain, the period, the people invited
and the story chosen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from mel_app import audit, locking, permissions
from mel_app.enum_labels import label
from mel_app.extensions import db
from mel_app.kit.errors import DomainError
from mel_app.models import (
    NEXT_LEVEL,
    ChangeStory,
    IloRegion,
    Membership,
    Organisation,
    OrgGroup,
    Project,
    ProjectCountry,
    ReportingPeriod,
    Role,
    RoundCandidate,
    RoundMember,
    RoundStatus,
    SelectionRound,
    StoryDomain,
    StoryLevel,
    StoryProposal,
    User,
    utcnow,
)
from mel_app.notifications import events as notification_events
from mel_app.projects.regions import countries_of

TITLE_MAX = 200
TEXT_MAX = 5000

# Who must be represented in every round; the government too when the project has government members.
REQUIRED = (OrgGroup.workers, OrgGroup.employers, OrgGroup.ilo)


class RoundError(DomainError):
    """What the user sent is refused (a story not read in the round, a constituency missing...)."""

    http_status = 422


class RoundClosed(DomainError):
    """The round is closed: nothing of it changes any more."""

    http_status = 409


@dataclass(frozen=True)
class Invitee:
    """A person who may be invited, with the constituency they would speak for."""

    user: User
    organisation: Organisation | None
    constituency: OrgGroup


@dataclass
class RoundSpec:
    title: str
    member_ids: list[int] = field(default_factory=list)
    domain_id: int | None = None
    period_id: int | None = None
    region: IloRegion | None = None


# --- who may be invited -------------------------------------------------------------------------


def project_invitees(project: Project) -> list[Invitee]:
    """The project's members who may take part in its rounds (observers excluded), each with the
    constituency of their organisation in the project: a reporter's organisation, else the
    person's own; the project's specialists speak for the ILO when they have no organisation."""
    rows = db.session.execute(
        sa.select(Membership, User)
        .join(User, User.id == Membership.user_id)
        .where(
            Membership.project_id == project.id,
            Membership.role != Role.observer,
            User.is_active.is_(True),
        )
        .options(selectinload(Membership.organisation), selectinload(User.organisation))
        .order_by(User.full_name, User.id, Membership.id)
    ).all()
    found: dict[int, Invitee] = {}
    for membership, user in rows:
        organisation = membership.organisation or user.organisation
        if organisation is not None:
            constituency = organisation.group
        elif membership.role == Role.specialist:
            constituency = OrgGroup.ilo
        else:
            constituency = OrgGroup.other
        # A reporter's organisation in the project says more than the person's own.
        if user.id not in found or membership.organisation is not None:
            found[user.id] = Invitee(user, organisation, constituency)
    return list(found.values())


def active_invitees() -> list[Invitee]:
    """Every active account, with the constituency of its organisation, for the rounds above projects."""
    users = db.session.scalars(
        sa.select(User)
        .where(User.is_active.is_(True), User.password_hash.is_not(None))
        .options(selectinload(User.organisation))
        .order_by(User.full_name, User.id)
    )
    return [
        Invitee(u, u.organisation, u.organisation.group if u.organisation else OrgGroup.other) for u in users
    ]


def invitees_for(selection_round: SelectionRound) -> list[Invitee]:
    if selection_round.level == StoryLevel.project:
        assert selection_round.project is not None
        return project_invitees(selection_round.project)
    return active_invitees()


def required_constituencies(invitees: list[Invitee], project: Project | None) -> list[OrgGroup]:
    return _required(project is not None and any(i.constituency == OrgGroup.government for i in invitees))


def _required(with_government: bool) -> list[OrgGroup]:
    """Workers, employers and the ILO; the government too where it takes part."""
    needed = list(REQUIRED)
    if with_government:
        needed.insert(2, OrgGroup.government)
    return needed


def _missing(present: set[OrgGroup], needed: list[OrgGroup]) -> str:
    """The constituencies of `needed` not in `present`, named for a message ("" when none)."""
    return ", ".join(str(label(group)) for group in needed if group not in present)


def _check_representation(members: list[Invitee], needed: list[OrgGroup]) -> None:
    missing = _missing({m.constituency for m in members}, needed)
    if missing:
        raise RoundError(
            _(
                "Every constituency takes part in choosing: invite someone for %(missing)s.",
                missing=missing,
            )
        )


def _chosen_members(member_ids: list[int], invitees: list[Invitee]) -> list[Invitee]:
    offered = {i.user.id: i for i in invitees}
    wanted = list(dict.fromkeys(member_ids))
    if any(user_id not in offered for user_id in wanted):
        raise RoundError(_("Only the people offered can be invited."))
    return [offered[user_id] for user_id in wanted]


# --- the stories a round reads ------------------------------------------------------------------


def _not_read_at(level: StoryLevel) -> sa.ColumnElement[bool]:
    return ~sa.exists().where(RoundCandidate.story_id == ChangeStory.id, RoundCandidate.level == level)


def candidates_query(
    level: StoryLevel,
    *,
    project: Project | None = None,
    domain_id: int | None = None,
    period_id: int | None = None,
    region: IloRegion | None = None,
) -> sa.Select[tuple[ChangeStory]]:
    """The stories a round of `level` would read if it opened now."""
    query = sa.select(ChangeStory).where(_not_read_at(level)).order_by(ChangeStory.id)
    if level == StoryLevel.project:
        assert project is not None
        query = query.where(ChangeStory.project_id == project.id, ChangeStory.domain_id == domain_id)
        if period_id is not None:
            query = query.where(ChangeStory.period_id == period_id)
        return query
    # Above the project, only what the storyteller agreed to share outside it.
    query = query.where(ChangeStory.share_consent.is_(True))
    if level == StoryLevel.regional:
        assert region is not None
        in_region = sa.select(ProjectCountry.project_id).where(
            ProjectCountry.country.in_(countries_of(region))
        )
        return query.where(ChangeStory.chosen_at == StoryLevel.project, ChangeStory.project_id.in_(in_region))
    return query.where(ChangeStory.chosen_at == StoryLevel.regional)


def _open(
    level: StoryLevel,
    spec: RoundSpec,
    members: list[Invitee],
    stories: list[ChangeStory],
    actor: Any,
    **where: Any,
) -> SelectionRound:
    if not stories and level == StoryLevel.project:
        raise RoundError(
            _(
                "There is no story to read: every story of this choice has been read in a round "
                "of this level already, or none has been told."
            )
        )
    if not stories:
        raise RoundError(
            _(
                "There is no story to read: no story chosen at the level below waits for a round "
                "of this level."
            )
        )
    selection_round = SelectionRound(
        level=level,
        title=spec.title.strip(),
        status=RoundStatus.open,
        opened_by_id=getattr(actor, "id", None),
        **where,
    )
    db.session.add(selection_round)
    selection_round.members = [RoundMember(user_id=m.user.id, constituency=m.constituency) for m in members]
    db.session.flush()
    db.session.add_all(
        RoundCandidate(round_id=selection_round.id, story_id=story.id, level=level) for story in stories
    )
    audit.record(db.session, "round.open", actor=actor, target=selection_round)
    db.session.flush()
    notification_events.round_invited(selection_round, [m.user.id for m in members], actor=actor)
    return selection_round


def _check_title(spec: RoundSpec) -> None:
    if not spec.title.strip():
        raise RoundError(_("Give the round a title."))
    if len(spec.title.strip()) > TITLE_MAX:
        raise RoundError(_("The title is too long."))


def open_project_round(project: Project, spec: RoundSpec, *, actor: Any) -> SelectionRound:
    _check_title(spec)
    domain = db.session.get(StoryDomain, spec.domain_id) if spec.domain_id is not None else None
    if domain is None or domain.project_id != project.id:
        raise RoundError(_("Choose one of the project's domains of change."))
    if spec.period_id is not None:
        period = db.session.get(ReportingPeriod, spec.period_id)
        if period is None or period.project_id != project.id:
            raise RoundError(_("Choose one of the project's reporting periods."))
    invitees = project_invitees(project)
    members = _chosen_members(spec.member_ids, invitees)
    _check_representation(members, required_constituencies(invitees, project))
    stories = list(
        db.session.scalars(
            candidates_query(
                StoryLevel.project, project=project, domain_id=domain.id, period_id=spec.period_id
            )
        )
    )
    return _open(
        StoryLevel.project,
        spec,
        members,
        stories,
        actor,
        project_id=project.id,
        domain_id=domain.id,
        period_id=spec.period_id,
    )


def open_higher_round(level: StoryLevel, spec: RoundSpec, *, actor: Any) -> SelectionRound:
    if level not in (StoryLevel.regional, StoryLevel.actrav):
        raise RoundError(_("Choose the regional or the ACTRAV level."))
    _check_title(spec)
    if level == StoryLevel.regional and spec.region is None:
        raise RoundError(_("Choose the region."))
    region = spec.region if level == StoryLevel.regional else None
    invitees = active_invitees()
    members = _chosen_members(spec.member_ids, invitees)
    _check_representation(members, required_constituencies(invitees, None))
    stories = list(db.session.scalars(candidates_query(level, region=region)))
    return _open(level, spec, members, stories, actor, region=region)


# --- while it is open ---------------------------------------------------------------------------


def _hold_open(selection_round: SelectionRound) -> None:
    """Refuse unless the round is still open, and keep it open until this transaction ends: one
    conditional UPDATE that changes nothing, which waits for (and then sees) a close in progress."""
    result = db.session.execute(
        sa.update(SelectionRound)
        .where(SelectionRound.id == selection_round.id, SelectionRound.status == RoundStatus.open)
        .values(status=RoundStatus.open)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        db.session.refresh(selection_round)
        raise RoundClosed(
            _("This round is closed: its choice is made, and nothing of it can be changed any more.")
        )


def propose(
    selection_round: SelectionRound, story_id: int | None, reason: str, *, actor: User
) -> StoryProposal:
    """The member's proposal of the most significant story, with their reason (a new one replaces
    their earlier one)."""
    _hold_open(selection_round)
    if not permissions.is_round_member(actor, selection_round):
        raise RoundError(_("Only the members of the round propose a story."))
    if story_id not in {c.story_id for c in selection_round.candidates}:
        raise RoundError(_("Choose one of the stories the round reads."))
    if not reason.strip():
        raise RoundError(_("Say why this change is the most significant."))
    proposal = db.session.get(StoryProposal, (selection_round.id, actor.id))
    if proposal is None:
        proposal = StoryProposal(round_id=selection_round.id, user_id=actor.id, story_id=story_id, reason="")
        db.session.add(proposal)
    proposal.story_id = story_id
    proposal.reason = reason.strip()
    proposal.proposed_at = utcnow()
    audit.record(db.session, "round.propose", actor=actor, target=proposal)
    db.session.flush()
    return proposal


def invite(selection_round: SelectionRound, member_ids: list[int], *, actor: Any) -> list[RoundMember]:
    _hold_open(selection_round)
    already = {m.user_id for m in selection_round.members}
    offered = [i for i in invitees_for(selection_round) if i.user.id not in already]
    chosen = _chosen_members(member_ids, offered)
    if not chosen:
        raise RoundError(_("Choose at least one person to invite."))
    added = [RoundMember(user_id=m.user.id, constituency=m.constituency) for m in chosen]
    selection_round.members.extend(added)
    db.session.flush()
    for member in added:
        audit.record(db.session, "round.invite", actor=actor, target=member)
    db.session.flush()
    notification_events.round_invited(selection_round, [m.user_id for m in added], actor=actor)
    return added


def remove_member(selection_round: SelectionRound, user_id: int, *, actor: Any) -> None:
    _hold_open(selection_round)
    member = next((m for m in selection_round.members if m.user_id == user_id), None)
    if member is None:
        raise RoundError(_("This person is not a member of the round."))
    if any(p.user_id == user_id for p in selection_round.proposals):
        raise RoundClosed(_("This member has proposed a story already: they stay in the round."))
    needed = _required(any(m.constituency == OrgGroup.government for m in selection_round.members))
    missing = _missing({m.constituency for m in selection_round.members if m.user_id != user_id}, needed)
    if missing:
        raise RoundClosed(
            _(
                "Invite someone else for %(missing)s first: every constituency takes part in choosing.",
                missing=missing,
            )
        )
    audit.record(db.session, "round.remove_member", actor=actor, target=member)
    selection_round.members.remove(member)
    db.session.flush()


# --- closing ------------------------------------------------------------------------------------


@dataclass
class Choice:
    story_id: int | None
    reason: str
    discussion: str = ""


def close(selection_round: SelectionRound, choice: Choice, loaded_version: int | None, *, actor: Any) -> None:
    """Record the discussion and the choice, and close the round; the chosen story goes up."""
    if choice.story_id not in {c.story_id for c in selection_round.candidates}:
        raise RoundError(_("Choose one of the stories the round reads."))
    if not choice.reason.strip():
        raise RoundError(_("Give the reasons for the choice."))
    locking.claim(
        selection_round,
        loaded_version,
        SelectionRound.status == RoundStatus.open,
        values={"status": RoundStatus.closed, "closed_at": utcnow()},
    )
    selection_round.discussion = choice.discussion.strip()
    selection_round.choice_reason = choice.reason.strip()
    selection_round.chosen_story_id = choice.story_id
    story = db.session.get(ChangeStory, choice.story_id)
    assert story is not None
    order = list(StoryLevel)
    if story.chosen_at is None or order.index(story.chosen_at) < order.index(selection_round.level):
        story.chosen_at = selection_round.level
    audit.record(db.session, "round.close", actor=actor, target=selection_round)
    db.session.flush()


# --- reading ------------------------------------------------------------------------------------


@dataclass
class StoryRead:
    story: ChangeStory
    readable: bool
    # The storyteller's name: only for members of the story's project.
    teller_named: bool
    # The project's reference: for those who may know the project; others read its countries.
    project_known: bool
    constituency: OrgGroup | None


@dataclass
class RoundPage:
    selection_round: SelectionRound
    stories: list[StoryRead]
    proposals: dict[int, StoryProposal]
    # Where the chosen story went: the round of the next level that reads it, when the viewer may see it.
    next_round: SelectionRound | None = None


def load_round(round_id: int) -> SelectionRound | None:
    return db.session.scalar(
        sa.select(SelectionRound)
        .where(SelectionRound.id == round_id)
        .options(
            selectinload(SelectionRound.project),
            selectinload(SelectionRound.domain),
            selectinload(SelectionRound.period),
            selectinload(SelectionRound.opened_by),
            selectinload(SelectionRound.members)
            .selectinload(RoundMember.user)
            .selectinload(User.organisation),
            selectinload(SelectionRound.candidates)
            .selectinload(RoundCandidate.story)
            .options(
                selectinload(ChangeStory.domain),
                selectinload(ChangeStory.period),
                selectinload(ChangeStory.organisation),
                selectinload(ChangeStory.told_by).selectinload(User.organisation),
                selectinload(ChangeStory.project).selectinload(Project.countries),
            ),
            selectinload(SelectionRound.proposals),
        )
    )


def round_page(selection_round: SelectionRound, viewer: Any) -> RoundPage:
    stories = []
    for candidate in selection_round.candidates:
        story = candidate.story
        organisation = story.organisation or (story.told_by.organisation if story.told_by else None)
        stories.append(
            StoryRead(
                story=story,
                readable=permissions.can_read_story_in_round(viewer, story, selection_round),
                teller_named=permissions.is_member(viewer, story.project_id),
                project_known=permissions.can_view_project(viewer, story.project_id),
                constituency=organisation.group if organisation else None,
            )
        )
    next_round = None
    chosen = selection_round.chosen_story
    following = NEXT_LEVEL[selection_round.level]
    if chosen is not None and following is not None:
        next_round = db.session.scalar(
            sa.select(SelectionRound)
            .join(RoundCandidate, RoundCandidate.round_id == SelectionRound.id)
            .where(RoundCandidate.story_id == chosen.id, RoundCandidate.level == following)
            .where(permissions.visible_round_filter(viewer))
        )
    return RoundPage(
        selection_round=selection_round,
        stories=stories,
        proposals={p.user_id: p for p in selection_round.proposals},
        next_round=next_round,
    )


def _listed(query: sa.Select[tuple[SelectionRound]]) -> sa.Select[tuple[SelectionRound]]:
    return query.options(
        selectinload(SelectionRound.project),
        selectinload(SelectionRound.domain),
        selectinload(SelectionRound.period),
        selectinload(SelectionRound.chosen_story),
        selectinload(SelectionRound.members),
        selectinload(SelectionRound.candidates),
    ).order_by(SelectionRound.status.desc(), SelectionRound.created_at.desc(), SelectionRound.id.desc())


def visible_rounds(viewer: Any) -> sa.Select[tuple[SelectionRound]]:
    """The rounds the viewer may see, open ones first, newest first."""
    return _listed(sa.select(SelectionRound).where(permissions.visible_round_filter(viewer)))


def project_rounds(project: Project, viewer: Any) -> list[SelectionRound]:
    return list(
        db.session.scalars(
            _listed(
                sa.select(SelectionRound).where(
                    SelectionRound.project_id == project.id, permissions.visible_round_filter(viewer)
                )
            )
        )
    )
