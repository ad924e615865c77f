"""Who is told what: one function per domain event, called by the services in the transaction
of the change (DESIGN.md §9).

Each event names its recipients from the project's memberships, then checks each of them again
with the rule of `mel_app.permissions` for the thing the message shows, as it is now, before the
message is built in the recipient's language. The actor is never told of their own action. Only
what every recipient may read goes into a message: shared comments, never ILO-internal ones.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import sqlalchemy as sa
from flask_babel import force_locale, format_date
from flask_babel import gettext as _

from mel_app import permissions
from mel_app.extensions import db
from mel_app.models import (
    DeliveryMode,
    Evaluation,
    Membership,
    Notification,
    NotificationKind,
    Recommendation,
    Role,
    Scorecard,
    Submission,
    SubmissionKind,
    User,
    Visibility,
)
from mel_app.notifications import preferences
from mel_app.notifications.compose import Content, language_of, path_for, queue

Builder = Callable[[User], Content]


def _members(project_id: int, role: Role, organisation_id: int | None = None) -> list[User]:
    query = (
        sa.select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.project_id == project_id, Membership.role == role, User.is_active.is_(True))
        .order_by(User.id)
    )
    if organisation_id is not None:
        query = query.where(Membership.organisation_id == organisation_id)
    return list(db.session.scalars(query).unique())


def specialists(project_id: int) -> list[User]:
    return _members(project_id, Role.specialist)


def reporters(project_id: int, organisation_id: int) -> list[User]:
    return _members(project_id, Role.reporter, organisation_id)


def notify(
    kind: NotificationKind,
    *,
    event_key: str,
    recipients: Iterable[User],
    actor: User | None,
    subject: tuple[str, Any],
    may_see: Callable[[User], bool],
    build: Builder,
) -> list[User]:
    """Record the notification of each recipient who may see the thing; queue their e-mail now,
    keep it for their daily digest, or neither, as they chose. Returns who was told."""
    told: list[User] = []
    seen: set[int] = set()
    for user in recipients:
        if user.id in seen or (actor is not None and user.id == actor.id) or not user.is_active:
            continue
        seen.add(user.id)
        if not may_see(user):  # checked again now, whoever the event named
            continue
        exists = db.session.scalar(
            sa.select(Notification.id).where(
                Notification.recipient_id == user.id, Notification.event_key == event_key
            )
        )
        if exists is not None:
            continue
        with force_locale(language_of(user)):
            content = build(user)
        mode = preferences.mode_for(user, kind)
        db.session.add(
            Notification(
                recipient_id=user.id,
                kind=kind,
                event_key=event_key,
                subject_type=subject[0],
                subject_id=str(subject[1]),
                title=content.subject[:500],
                link=content.link_path,
                digest_pending=mode is DeliveryMode.digest,
            )
        )
        if mode is DeliveryMode.immediate:
            queue(user, kind, f"{event_key}:u{user.id}", content)
        told.append(user)
    db.session.flush()
    return told


# --- submissions -----------------------------------------------------------------------------------


def _what(sub: Submission) -> str:
    """The submission as its readers name it, in the current language."""
    org = sub.organisation.acronym or sub.organisation.name
    if sub.kind is SubmissionKind.progress_report:
        return _(
            "the progress report %(period)s of %(organisation)s on %(project)s",
            period=sub.period.label,
            organisation=org,
            project=sub.project.reference,
        )
    return _(
        "the design input of %(organisation)s on %(project)s", organisation=org, project=sub.project.reference
    )


def _sub_link(sub: Submission) -> str:
    return path_for("submissions.detail", sub_id=sub.id)


def _texts(kind: NotificationKind, what: str, who: str) -> tuple[str, str, str]:
    """The subject, the line of news and the link's action of a message about a submission, in
    the current language."""
    subjects = {
        NotificationKind.submission_submitted: _("Submitted for review: %(what)s", what=what),
        NotificationKind.submission_returned: _("Returned for changes: %(what)s", what=what),
        NotificationKind.submission_approved: _("Approved: %(what)s", what=what),
        NotificationKind.submission_reopened: _("Reopened for revision: %(what)s", what=what),
        NotificationKind.comment_shared: _("New comment on %(what)s", what=what),
        NotificationKind.design_responses: _("The ILO responded to %(what)s", what=what),
    }
    lines = {
        NotificationKind.submission_submitted: _(
            "%(who)s submitted %(what)s. It awaits your review.", who=who, what=what
        ),
        NotificationKind.submission_returned: _(
            "%(who)s returned %(what)s. Their comment says what needs to change.", who=who, what=what
        ),
        NotificationKind.submission_approved: _("%(who)s approved %(what)s.", who=who, what=what),
        NotificationKind.submission_reopened: _(
            "%(who)s reopened %(what)s so that it can be revised.", who=who, what=what
        ),
        NotificationKind.comment_shared: _("%(who)s commented on %(what)s.", who=who, what=what),
        NotificationKind.design_responses: _(
            "%(who)s recorded the ILO's responses to %(what)s.", who=who, what=what
        ),
    }
    actions = {
        NotificationKind.submission_submitted: _("Review it"),
        NotificationKind.submission_returned: _("Revise it"),
        NotificationKind.submission_approved: _("Open it"),
        NotificationKind.submission_reopened: _("Revise it"),
        NotificationKind.comment_shared: _("Read it and reply"),
        NotificationKind.design_responses: _("Read the responses"),
    }
    return subjects[kind], lines[kind], actions[kind]


def _tell_about(
    sub: Submission,
    kind: NotificationKind,
    *,
    event_key: str,
    actor: User,
    recipients: Iterable[User],
    may_see: Callable[[User], bool],
    quote: str = "",
) -> None:
    """One line of news about the submission (its `_texts`), perhaps a quote, and the link to it."""

    def build(user: User) -> Content:
        subject, line, action = _texts(kind, _what(sub), actor.display_name)
        return Content(
            subject=subject, paragraphs=[line], quote=quote, link_path=_sub_link(sub), action=action
        )

    notify(
        kind,
        event_key=event_key,
        recipients=recipients,
        actor=actor,
        subject=("submission", sub.id),
        may_see=may_see,
        build=build,
    )


_DECISION_KINDS = {
    "return": NotificationKind.submission_returned,
    "approve": NotificationKind.submission_approved,
    "reopen": NotificationKind.submission_reopened,
}


def submission_transition(sub: Submission, action: str, *, actor: User, reason: str | None) -> None:
    """Called by the submissions service for every transition, whatever the path to it."""
    key = f"submission:{sub.id}:{action}:v{sub.version}"
    if action == "submit":
        # The project's specialists, who review it.
        _tell_about(
            sub,
            NotificationKind.submission_submitted,
            event_key=key,
            actor=actor,
            recipients=specialists(sub.project_id),
            may_see=lambda u: (
                permissions.can_view_submission(u, sub)
                and permissions.has_role(u, sub.project_id, Role.specialist)
            ),
        )
    elif action in _DECISION_KINDS:
        # The reporters of the organisation, told of the decision with the reviewer's reason,
        # which is the shared comment of the service.
        _tell_about(
            sub,
            _DECISION_KINDS[action],
            event_key=key,
            actor=actor,
            recipients=reporters(sub.project_id, sub.organisation_id),
            may_see=lambda u: (
                permissions.can_view_submission(u, sub) and permissions.is_submission_reporter(u, sub)
            ),
            quote=(reason or "").strip(),
        )
    # A withdrawal tells nobody: the organisation did it itself.


def comment_added(comment: Any, *, actor: User) -> None:
    """A shared comment tells the other side; an ILO-internal note tells no constituent, ever."""
    if comment.visibility is not Visibility.shared:
        return
    sub = comment.submission
    from_reporter = permissions.is_submission_reporter(actor, sub) and not permissions.has_role(
        actor, sub.project_id, Role.specialist
    )
    if from_reporter:
        recipients = specialists(sub.project_id)
        side = lambda u: permissions.has_role(u, sub.project_id, Role.specialist)  # noqa: E731
    else:
        recipients = reporters(sub.project_id, sub.organisation_id)
        side = lambda u: permissions.is_submission_reporter(u, sub)  # noqa: E731
    _tell_about(
        sub,
        NotificationKind.comment_shared,
        event_key=f"comment:{comment.id}",
        actor=actor,
        recipients=recipients,
        may_see=lambda u: side(u) and permissions.can_see_comments(u, sub),
        quote=comment.body,
    )


def design_responses(sub: Submission, *, actor: User) -> None:
    _tell_about(
        sub,
        NotificationKind.design_responses,
        event_key=f"responses:{sub.id}:v{sub.version}",
        actor=actor,
        recipients=reporters(sub.project_id, sub.organisation_id),
        may_see=lambda u: permissions.is_submission_reporter(u, sub),
    )


# --- evaluations ----------------------------------------------------------------------------------


def _card_link(evaluation: Evaluation) -> str:
    return path_for("evaluations.scorecard", evaluation_id=evaluation.id)


def tell_scorer(
    kind: NotificationKind, card: Scorecard, event_key: str, actor: User | None, build: Builder
) -> list[User]:
    """The scorecard's scorer, as long as they may still fill it in."""
    return notify(
        kind,
        event_key=event_key,
        recipients=[card.scorer],
        actor=actor,
        subject=("scorecard", card.id),
        may_see=lambda u: permissions.can_score(u, card),
        build=build,
    )


def scorers_invited(evaluation: Evaluation, cards: list[Scorecard], *, actor: User) -> None:
    """An evaluation opened, or more people invited: each new scorer is asked to score."""
    for card in cards:

        def build(user: User, card: Scorecard = card) -> Content:
            paragraphs = [
                _(
                    "%(who)s invites you to score %(project)s in the evaluation “%(title)s”.",
                    who=actor.display_name,
                    project=evaluation.project.reference,
                    title=evaluation.title,
                )
            ]
            if evaluation.deadline:
                paragraphs.append(
                    _(
                        "Please submit your scorecard by %(date)s.",
                        date=format_date(evaluation.deadline, "long"),
                    )
                )
            return Content(
                subject=_("Your scorecard for “%(title)s”", title=evaluation.title),
                paragraphs=paragraphs,
                link_path=_card_link(evaluation),
                action=_("Fill in your scorecard"),
            )

        tell_scorer(NotificationKind.scorecard_invited, card, f"scorecard:{card.id}:invite", actor, build)


def scorecard_reopened(card: Scorecard, *, actor: User, reason: str) -> None:
    evaluation = card.evaluation

    def build(user: User) -> Content:
        return Content(
            subject=_("Your scorecard for “%(title)s” was reopened", title=evaluation.title),
            paragraphs=[
                _("%(who)s reopened your scorecard so that you can change it.", who=actor.display_name)
            ],
            quote=reason.strip(),
            link_path=_card_link(evaluation),
            action=_("Open your scorecard"),
        )

    key = f"scorecard:{card.id}:reopen:v{card.version}"
    tell_scorer(NotificationKind.scorecard_reopened, card, key, actor, build)


def evaluation_closed(evaluation: Evaluation, *, actor: User) -> None:
    """Everyone who took part (its scorers and the project's specialists), each with a link to
    the results they may see — the evaluation's page when they may not see the results."""
    scorers = list(
        db.session.scalars(
            sa.select(User)
            .join(Scorecard, Scorecard.scorer_id == User.id)
            .where(Scorecard.evaluation_id == evaluation.id)
            .order_by(User.id)
        )
    )

    def build(user: User) -> Content:
        results = permissions.can_view_results(user, evaluation)
        return Content(
            subject=_("Evaluation closed: “%(title)s”", title=evaluation.title),
            paragraphs=[
                _(
                    "%(who)s closed the evaluation “%(title)s” of %(project)s.",
                    who=actor.display_name,
                    title=evaluation.title,
                    project=evaluation.project.reference,
                )
            ],
            link_path=path_for("evaluations.consolidated", evaluation_id=evaluation.id)
            if results
            else path_for("evaluations.detail", evaluation_id=evaluation.id),
            action=_("See the results") if results else _("Open the evaluation"),
        )

    notify(
        NotificationKind.evaluation_closed,
        event_key=f"evaluation:{evaluation.id}:close",
        recipients=scorers + specialists(evaluation.project_id),
        actor=actor,
        subject=("evaluation", evaluation.id),
        may_see=lambda u: permissions.can_view_evaluation(u, evaluation),
        build=build,
    )
    # Its results, recommendations included, are now open to the project's other members: the
    # reporters of each organisation a recommendation is addressed to are told of it now.
    for rec in evaluation.recommendations:
        recommendation_addressed(rec, actor=actor)


def recommendation_added(rec: Recommendation, *, actor: User) -> None:
    """Those responsible for the management response: the project's specialists."""
    evaluation = rec.evaluation

    def build(user: User) -> Content:
        paragraphs = [
            _(
                "%(who)s made a recommendation in the evaluation “%(title)s”.",
                who=actor.display_name,
                title=evaluation.title,
            )
        ]
        if rec.addressees:
            paragraphs.append(_("Addressed to: %(whom)s", whom="; ".join(rec.addressees)))
        return Content(
            subject=_("New recommendation: “%(title)s”", title=evaluation.title),
            paragraphs=paragraphs,
            quote=rec.text,
            link_path=path_for("evaluations.consolidated", evaluation_id=evaluation.id),
            action=_("Record the management response"),
        )

    notify(
        NotificationKind.recommendation_added,
        event_key=f"recommendation:{rec.id}:create",
        recipients=specialists(evaluation.project_id),
        actor=actor,
        subject=("recommendation", rec.id),
        may_see=lambda u: (
            permissions.can_respond_to_recommendation(u, rec) and permissions.can_view_results(u, evaluation)
        ),
        build=build,
    )


def recommendation_addressed(rec: Recommendation, *, actor: User | None) -> None:
    """A recommendation addressed to a partner organisation (made so, or changed to it): that
    organisation's reporters on the project, once they may read the results. Called again when
    the evaluation closes, so that those who could not read it before are told then, once."""
    organisation = rec.addressed_organisation
    if organisation is None:
        return
    evaluation = rec.evaluation

    def build(user: User) -> Content:
        return Content(
            subject=_(
                "A recommendation to %(organisation)s: “%(title)s”",
                organisation=organisation.acronym or organisation.name,
                title=evaluation.title,
            ),
            paragraphs=[
                _(
                    "The evaluation “%(title)s” of %(project)s makes a recommendation addressed to "
                    "%(organisation)s.",
                    title=evaluation.title,
                    project=evaluation.project.reference,
                    organisation=organisation.name,
                )
            ],
            quote=rec.text,
            link_path=path_for("evaluations.detail", evaluation_id=evaluation.id, _anchor="recommendations"),
            action=_("Read the recommendation"),
        )

    notify(
        NotificationKind.recommendation_addressed,
        event_key=f"recommendation:{rec.id}:addressed:{organisation.id}",
        recipients=reporters(evaluation.project_id, organisation.id),
        actor=actor,
        subject=("recommendation", rec.id),
        may_see=lambda u: (
            permissions.is_addressed_reporter(u, rec) and permissions.can_view_results(u, evaluation)
        ),
        build=build,
    )


# --- selection rounds of change stories -----------------------------------------------------------


def round_invited(selection_round: Any, user_ids: Iterable[int], *, actor: User | None) -> list[User]:
    """People invited to a selection round (when it opens, or later): each is asked to read the
    stories and propose the most significant, with a link to the round."""
    ids = list(user_ids)
    if not ids:
        return []
    recipients = db.session.scalars(sa.select(User).where(User.id.in_(ids)).order_by(User.id))

    def build(user: User) -> Content:
        return Content(
            subject=_(
                "You are invited to choose the most significant change: “%(title)s”",
                title=selection_round.title,
            ),
            paragraphs=[
                _(
                    "%(who)s invites you to the selection round “%(title)s”: read the stories of change, "
                    "propose the most significant and say why.",
                    who=getattr(actor, "display_name", ""),
                    title=selection_round.title,
                )
            ],
            link_path=path_for("projects.selection_round", round_id=selection_round.id),
            action=_("Read the stories"),
        )

    return notify(
        NotificationKind.round_invited,
        event_key=f"round:{selection_round.id}:invite",
        recipients=recipients,
        actor=actor,
        subject=("selection_round", selection_round.id),
        may_see=lambda u: permissions.can_view_round(u, selection_round),
        build=build,
    )
