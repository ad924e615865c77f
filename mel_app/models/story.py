"""Most Significant Change: stories of change, and the selection rounds that choose among them.

A member of a project tells a story of change in one of the project's domains of change. A
specialist opens a selection round for a period and a domain; the members invited (each
constituency represented) read the stories, each proposes the most significant with a reason, and
the round records its discussion, its final choice and the reasons for it. The chosen story goes
up a level — project, then regional, then ACTRAV — where a round of the next level does the same
with the stories chosen below it.

Consent is recorded with each story: that the people it names agreed to be named, and whether the
storyteller agrees to its being read outside the project (on the public page of a published
project, in the rounds above the project's, in downloads for readers who are not members).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from mel_app.models.base import Base, OrgGroup, TimestampMixin, Versioned, str_enum, utcnow

if TYPE_CHECKING:
    from mel_app.models.project import Project, ReportingPeriod
    from mel_app.models.user import Organisation, User


class StoryLevel(enum.StrEnum):
    """Where a selection round sits, and how far up a story has been chosen."""

    project = "project"
    regional = "regional"
    actrav = "actrav"


# The level a story chosen at one level is read at next (None: chosen at the top).
NEXT_LEVEL: dict[StoryLevel, StoryLevel | None] = {
    StoryLevel.project: StoryLevel.regional,
    StoryLevel.regional: StoryLevel.actrav,
    StoryLevel.actrav: None,
}


class IloRegion(enum.StrEnum):
    """The ILO's regions, as its regional offices divide the world."""

    africa = "africa"
    americas = "americas"
    arab_states = "arab_states"
    asia_pacific = "asia_pacific"
    europe_central_asia = "europe_central_asia"


class RoundStatus(enum.StrEnum):
    open = "open"
    closed = "closed"


class StoryDomain(Base):
    """A domain of change of a project (e.g. organising, collective bargaining, gender equality)."""

    __tablename__ = "story_domain"
    __audited__ = True
    __table_args__ = (
        sa.UniqueConstraint("project_id", "name"),
        # The target of the composite keys that keep a story's or a round's domain in its project.
        sa.UniqueConstraint("id", "project_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("project.id"))
    name: Mapped[str] = mapped_column(sa.String(120))
    position: Mapped[int] = mapped_column(default=0)

    project: Mapped[Project] = relationship()


class ChangeStory(Versioned, TimestampMixin, Base):
    """A story of change told by a member of the project."""

    __tablename__ = "change_story"
    __audited__ = True
    __table_args__ = (
        sa.ForeignKeyConstraint(
            ["domain_id", "project_id"],
            ["story_domain.id", "story_domain.project_id"],
            name="fk_change_story_domain_project",
        ),
        # Consent of the people named is recorded before a story naming people is kept.
        sa.CheckConstraint("NOT names_people OR people_consent", name="named_people_consented"),
        sa.Index("ix_change_story_project_domain", "project_id", "domain_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("project.id"))
    domain_id: Mapped[int] = mapped_column(index=True)
    # The reporting period the change happened in (a period of the same project: the service checks).
    period_id: Mapped[int | None] = mapped_column(sa.ForeignKey("reporting_period.id"), index=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    what_happened: Mapped[str] = mapped_column(sa.Text)
    who_involved: Mapped[str] = mapped_column(sa.Text, default="")
    why_significant: Mapped[str] = mapped_column(sa.Text)
    told_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"), index=True)
    # The organisation the storyteller belongs to in the project, when they have one there.
    organisation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisation.id"), index=True)
    names_people: Mapped[bool] = mapped_column(default=False)
    people_consent: Mapped[bool] = mapped_column(default=False)
    share_consent: Mapped[bool] = mapped_column(default=False)
    # The highest level at which a round chose this story (None: not chosen yet).
    chosen_at: Mapped[StoryLevel | None] = mapped_column(str_enum(StoryLevel), index=True)

    project: Mapped[Project] = relationship()
    domain: Mapped[StoryDomain] = relationship(overlaps="project")
    period: Mapped[ReportingPeriod | None] = relationship()
    told_by: Mapped[User | None] = relationship()
    organisation: Mapped[Organisation | None] = relationship()
    # A replaced file is deleted by the service, by name (the audit trail records it like any deletion).
    evidence: Mapped[StoryEvidence | None] = relationship(back_populates="story", uselist=False)


class StoryEvidence(Base):
    """The optional evidence file of a story, kept in the database like a report's files."""

    __tablename__ = "story_evidence"
    __audited__ = True
    __audit_project__ = "story.project_id"
    __audit_exclude__ = frozenset({"data"})
    __table_args__ = (sa.CheckConstraint("size >= 0", name="size_non_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    story_id: Mapped[int] = mapped_column(sa.ForeignKey("change_story.id"), unique=True)
    filename: Mapped[str] = mapped_column(sa.String(255))
    media_type: Mapped[str] = mapped_column(sa.String(120))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    data: Mapped[bytes] = deferred(mapped_column(sa.LargeBinary))
    uploaded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    story: Mapped[ChangeStory] = relationship(back_populates="evidence")


class SelectionRound(Versioned, TimestampMixin, Base):
    """A round of selection: at the project level for one domain and period of a project; at the
    regional level for a region; at ACTRAV's level for the whole portfolio."""

    __tablename__ = "selection_round"
    __audited__ = True
    __table_args__ = (
        sa.ForeignKeyConstraint(
            ["domain_id", "project_id"],
            ["story_domain.id", "story_domain.project_id"],
            name="fk_selection_round_domain_project",
        ),
        sa.CheckConstraint(
            "level <> 'project' OR (project_id IS NOT NULL AND domain_id IS NOT NULL)",
            name="project_round_has_project_and_domain",
        ),
        sa.CheckConstraint(
            "level = 'project' OR (project_id IS NULL AND domain_id IS NULL AND period_id IS NULL)",
            name="higher_round_has_no_project",
        ),
        sa.CheckConstraint("level <> 'regional' OR region IS NOT NULL", name="regional_round_has_region"),
        sa.CheckConstraint("level = 'regional' OR region IS NULL", name="region_only_for_regional"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    level: Mapped[StoryLevel] = mapped_column(str_enum(StoryLevel), index=True)
    project_id: Mapped[int | None] = mapped_column(sa.ForeignKey("project.id"), index=True)
    domain_id: Mapped[int | None] = mapped_column(index=True)
    period_id: Mapped[int | None] = mapped_column(sa.ForeignKey("reporting_period.id"), index=True)
    region: Mapped[IloRegion | None] = mapped_column(str_enum(IloRegion))
    title: Mapped[str] = mapped_column(sa.String(200))
    status: Mapped[RoundStatus] = mapped_column(str_enum(RoundStatus), default=RoundStatus.open, index=True)
    opened_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"), index=True)
    closed_at: Mapped[datetime | None]
    discussion: Mapped[str] = mapped_column(sa.Text, default="")
    chosen_story_id: Mapped[int | None] = mapped_column(sa.ForeignKey("change_story.id"), index=True)
    choice_reason: Mapped[str] = mapped_column(sa.Text, default="")

    project: Mapped[Project | None] = relationship()
    domain: Mapped[StoryDomain | None] = relationship(overlaps="project")
    period: Mapped[ReportingPeriod | None] = relationship()
    opened_by: Mapped[User | None] = relationship()
    chosen_story: Mapped[ChangeStory | None] = relationship()
    members: Mapped[list[RoundMember]] = relationship(
        back_populates="round", cascade="all, delete-orphan", order_by="RoundMember.user_id"
    )
    # The stories read are fixed when the round opens; a member changes a proposal, never removes it.
    candidates: Mapped[list[RoundCandidate]] = relationship(
        back_populates="round", order_by="RoundCandidate.story_id"
    )
    proposals: Mapped[list[StoryProposal]] = relationship(
        back_populates="round", order_by="StoryProposal.user_id"
    )


class RoundMember(Base):
    """A person invited to a round, with the constituency they speak for in it."""

    __tablename__ = "round_member"
    __audited__ = True
    __audit_project__ = "round.project_id"

    round_id: Mapped[int] = mapped_column(sa.ForeignKey("selection_round.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"), primary_key=True, index=True)
    constituency: Mapped[OrgGroup] = mapped_column(str_enum(OrgGroup))

    round: Mapped[SelectionRound] = relationship(back_populates="members")
    user: Mapped[User] = relationship()


class RoundCandidate(Base):
    """A story read in a round. A story is read in at most one round of each level."""

    __tablename__ = "round_candidate"
    __audited__ = True
    __audit_project__ = "round.project_id"
    __table_args__ = (sa.UniqueConstraint("story_id", "level"),)

    round_id: Mapped[int] = mapped_column(sa.ForeignKey("selection_round.id"), primary_key=True)
    story_id: Mapped[int] = mapped_column(sa.ForeignKey("change_story.id"), primary_key=True, index=True)
    # The round's level, repeated so that the database keeps a story to one round per level.
    level: Mapped[StoryLevel] = mapped_column(str_enum(StoryLevel))

    round: Mapped[SelectionRound] = relationship(back_populates="candidates")
    story: Mapped[ChangeStory] = relationship()


class StoryProposal(Base):
    """A member's proposal of the most significant story of a round, with their reason."""

    __tablename__ = "story_proposal"
    __audited__ = True
    __audit_project__ = "round.project_id"
    __table_args__ = (
        # Only a member proposes, and only a story read in the round.
        sa.ForeignKeyConstraint(
            ["round_id", "user_id"],
            ["round_member.round_id", "round_member.user_id"],
            name="fk_story_proposal_member",
        ),
        sa.ForeignKeyConstraint(
            ["round_id", "story_id"],
            ["round_candidate.round_id", "round_candidate.story_id"],
            name="fk_story_proposal_candidate",
        ),
    )

    round_id: Mapped[int] = mapped_column(sa.ForeignKey("selection_round.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"), primary_key=True, index=True)
    story_id: Mapped[int] = mapped_column(sa.ForeignKey("change_story.id"), index=True)
    reason: Mapped[str] = mapped_column(sa.Text)
    proposed_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    round: Mapped[SelectionRound] = relationship(back_populates="proposals")
    user: Mapped[User] = relationship()
    story: Mapped[ChangeStory] = relationship()
