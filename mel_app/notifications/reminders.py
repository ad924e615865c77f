"""The daily run of the worker: reminders, the specialists' weekly summary, the daily digests.

Idempotent: every reminder has a key (the thing, its due date, the offset), recorded with its
notification, so running twice on a day sends once. Reminders are computed from the state of
things when they run, so they stop as soon as the report is submitted or the scorecard is in.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, timedelta

import sqlalchemy as sa
from flask import current_app, has_request_context
from flask_babel import force_locale, format_date, ngettext
from flask_babel import gettext as _
from sqlalchemy.orm import aliased

from mel_app import permissions
from mel_app.extensions import db
from mel_app.integers import to_int
from mel_app.models import (
    ActionStatus,
    Evaluation,
    EvaluationStatus,
    Membership,
    Notification,
    NotificationKind,
    Organisation,
    Phase,
    Project,
    Recommendation,
    ReportingPeriod,
    Role,
    Scorecard,
    ScorecardStatus,
    Status,
    Submission,
    SubmissionKind,
    User,
    utcnow,
)
from mel_app.notifications import compose
from mel_app.notifications.compose import Content, path_for
from mel_app.notifications.events import Builder, notify, reporters, specialists, tell_scorer

CHUNK = 500  # reminders written per transaction: memory stays flat however large the portfolio


def _offsets(value: str | None = None) -> list[int]:
    """The days before the due date, from the project's setting or else the default."""
    raw = value or current_app.config["NOTIFY_REPORT_REMINDER_DAYS"]
    days = (to_int(part, minimum=1, maximum=365) for part in str(raw).split(","))
    return sorted({day for day in days if day is not None}, reverse=True)


def run_daily(today: date | None = None) -> dict[str, int]:
    """Everything the worker does once a day; returns how many people were told of what."""
    today = today or utcnow().date()
    if not has_request_context():
        # Links are built on PUBLIC_BASE_URL (see compose.base_url), outside any request.
        with current_app.test_request_context(base_url=compose.base_url()):
            return run_daily(today)
    counts = {
        "report_due": report_reminders(today),
        "response_due": response_reminders(today),
        "scorecard_due": scorecard_reminders(today),
        "review_digest": review_summaries(today)
        if today.weekday() == current_app.config["NOTIFY_WEEKLY_DAY"]
        else 0,
    }
    counts["digest"] = daily_digests(today)
    return counts


# --- reports ---------------------------------------------------------------------------------------


def _report_offset(due: date, today: date, offsets: list[int]) -> str | None:
    """Which reminder a report due on `due` gets today: "14", "3", "0" (due today), "overdue-N"
    (every 7 days while overdue), or None."""
    days = (due - today).days
    if days in offsets or days == 0:
        return str(days)
    if days < 0 and -days % 7 == 0:
        return f"overdue-{-days // 7}"
    return None


def _report_in(report: type[Submission]) -> sa.ColumnElement[bool]:
    """The join condition to the progress report (`report`, an alias of Submission) that the
    reporting organisation of a `Membership` has submitted for a `ReportingPeriod`: outer-joined,
    `report.id IS NULL` means that report is not in yet (neither submitted nor approved)."""
    return sa.and_(
        report.project_id == ReportingPeriod.project_id,
        report.period_id == ReportingPeriod.id,
        report.organisation_id == Membership.organisation_id,
        report.kind == SubmissionKind.progress_report,
        report.status.in_([Status.submitted, Status.approved]),
    )


def report_reminders(today: date) -> int:
    report = aliased(Submission)
    # Every offset some project uses (or the default), to find the periods in SQL; each
    # project's own offsets are applied below.
    settings = set(
        db.session.scalars(
            sa.select(Project.report_reminder_days).where(Project.phase != Phase.closed).distinct()
        )
    )
    offsets_in_use = {d for value in settings for d in _offsets(value)}
    wanted_dates = [today + timedelta(days=d) for d in offsets_in_use] + [today]
    rows = db.session.execute(
        sa.select(
            ReportingPeriod.id,
            ReportingPeriod.due_date,
            Membership.organisation_id,
            Project.report_reminder_days,
        )
        .join(Project, Project.id == ReportingPeriod.project_id)
        .join(
            Membership,
            sa.and_(Membership.project_id == ReportingPeriod.project_id, Membership.role == Role.reporter),
        )
        .outerjoin(report, _report_in(report))
        .where(
            Project.phase != Phase.closed,
            report.id.is_(None),
            sa.or_(ReportingPeriod.due_date.in_(wanted_dates), ReportingPeriod.due_date < today),
        )
        .distinct()
        .order_by(ReportingPeriod.id, Membership.organisation_id)
    ).all()
    due = [
        (pid, org, offset)
        for pid, when, org, setting in rows
        if (offset := _report_offset(when, today, _offsets(setting)))
    ]
    told = 0
    for start in range(0, len(due), CHUNK):
        for period_id, organisation_id, offset in due[start : start + CHUNK]:
            told += _remind_report(period_id, organisation_id, offset, today)
        db.session.commit()
        db.session.expunge_all()
    return told


def _remind_report(period_id: int, organisation_id: int, offset: str, today: date) -> int:
    period = db.session.get(ReportingPeriod, period_id)
    organisation = db.session.get(Organisation, organisation_id)
    project = period.project
    recipients = db.session.scalars(
        sa.select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(
            Membership.project_id == project.id,
            Membership.role == Role.reporter,
            Membership.organisation_id == organisation_id,
            User.is_active.is_(True),
        )
        .order_by(User.id)
    ).all()

    def build(user: User) -> Content:
        days = (period.due_date - today).days
        what = _(
            "the progress report %(period)s of %(organisation)s on %(project)s",
            period=period.label,
            organisation=organisation.acronym or organisation.name,
            project=project.reference,
        )
        if days > 0:
            subject = ngettext(
                "Due in %(num)d day: %(what)s", "Due in %(num)d days: %(what)s", days, what=what
            )
        elif days == 0:
            subject = _("Due today: %(what)s", what=what)
        else:
            subject = _("Overdue: %(what)s", what=what)
        return Content(
            subject=subject,
            paragraphs=[_("The report is due on %(date)s.", date=format_date(period.due_date, "long"))],
            link_path=path_for("submissions.start_report", project_id=project.id, period_id=period.id),
            action=_("Write the report"),
        )

    return len(
        notify(
            NotificationKind.report_due,
            event_key=f"report-due:{period.id}:{organisation_id}:{period.due_date.isoformat()}:{offset}",
            recipients=recipients,
            actor=None,
            subject=("reporting_period", period.id),
            may_see=lambda u: (
                permissions.reporter_organisation_id(u, project.id) == organisation_id
                and permissions.can_start_report(u, project)
            ),
            build=build,
        )
    )


# --- scorecards ------------------------------------------------------------------------------------


def scorecard_reminders(today: date) -> int:
    deadline = today + timedelta(days=current_app.config["NOTIFY_SCORECARD_REMINDER_DAYS"])
    cards = db.session.scalars(
        sa.select(Scorecard)
        .join(Evaluation, Evaluation.id == Scorecard.evaluation_id)
        .where(
            Evaluation.status == EvaluationStatus.open,
            Evaluation.deadline == deadline,
            Scorecard.status == ScorecardStatus.draft,
        )
        .order_by(Scorecard.id)
    ).all()
    told = 0
    for card in cards:
        evaluation = card.evaluation

        def build(user: User, evaluation: Evaluation = evaluation) -> Content:
            return Content(
                subject=_(
                    "Your scorecard for “%(title)s” is due on %(date)s",
                    title=evaluation.title,
                    date=format_date(evaluation.deadline, "long"),
                ),
                paragraphs=[_("You have not submitted your scorecard yet.")],
                link_path=path_for("evaluations.scorecard", evaluation_id=evaluation.id),
                action=_("Fill in your scorecard"),
            )

        key = f"scorecard-due:{card.id}:{evaluation.deadline.isoformat()}"
        told += len(tell_scorer(NotificationKind.scorecard_due, card, key, None, build))
    db.session.commit()
    return told


# --- management responses -------------------------------------------------------------------------

RESPONSE_REMINDER_DAYS = 7


def response_reminders(today: date) -> int:
    """A planned action of a management response: 7 days before its due date, then weekly while
    overdue, to those responsible for it (the project's specialists, and the reporters of the
    partner organisation the recommendation is addressed to), until it is completed."""
    told = 0
    for rec in _actions_due(today):
        days = (rec.due_date - today).days
        if days < 0 and -days % 7 != 1:
            continue  # overdue: the day after, then weekly
        told += len(
            notify(
                NotificationKind.response_due,
                event_key=f"response-due:{rec.id}:{rec.due_date.isoformat()}:{days}",
                recipients=_responsible_for(rec),
                actor=None,
                subject=("recommendation", rec.id),
                may_see=lambda u, rec=rec: (
                    permissions.can_respond_to_recommendation(u, rec)
                    or (
                        permissions.is_addressed_reporter(u, rec)
                        and permissions.can_view_results(u, rec.evaluation)
                    )
                ),
                build=_action_due_builder(rec, days),
            )
        )
    db.session.commit()
    return told


def _actions_due(today: date) -> list[Recommendation]:
    """The planned actions not completed nor cancelled that are due in a week or overdue."""
    return list(
        db.session.scalars(
            sa.select(Recommendation)
            .where(
                Recommendation.due_date.is_not(None),
                Recommendation.response.is_not(None),
                Recommendation.action_status.not_in([ActionStatus.completed, ActionStatus.cancelled]),
                sa.or_(
                    Recommendation.due_date == today + timedelta(days=RESPONSE_REMINDER_DAYS),
                    Recommendation.due_date < today,
                ),
            )
            .order_by(Recommendation.id)
        )
    )


def _responsible_for(rec: Recommendation) -> list[User]:
    """Those who respond (the project's specialists), and the reporters of the partner
    organisation it is addressed to, who are told once they may read the results."""
    project_id = rec.evaluation.project_id
    recipients = specialists(project_id)
    if rec.addressed_organisation_id is not None:
        recipients += reporters(project_id, rec.addressed_organisation_id)
    return recipients


def _action_due_builder(rec: Recommendation, days: int) -> Builder:
    evaluation = rec.evaluation

    def build(user: User) -> Content:
        subject = (
            _(
                "Planned action due on %(date)s: “%(title)s”",
                date=format_date(rec.due_date, "long"),
                title=evaluation.title,
            )
            if days > 0
            else _("Planned action overdue: “%(title)s”", title=evaluation.title)
        )
        if permissions.can_respond_to_recommendation(user, rec):
            link = path_for("evaluations.consolidated", evaluation_id=evaluation.id)
            action = _("Update the management response")
        else:  # a reporter of the organisation it is addressed to
            link = path_for("evaluations.detail", evaluation_id=evaluation.id, _anchor="recommendations")
            action = _("Read the recommendation")
        return Content(
            subject=subject, paragraphs=[rec.planned_action or rec.text], link_path=link, action=action
        )

    return build


# --- the specialists' weekly summary ---------------------------------------------------------------


def review_summaries(today: date) -> int:
    week = today.isocalendar()
    told = 0
    specialist_ids = db.session.scalars(
        sa.select(Membership.user_id)
        .where(Membership.role == Role.specialist)
        .distinct()
        .order_by(Membership.user_id)
    ).all()
    for user_id in specialist_ids:
        user = db.session.get(User, user_id)
        projects = sa.select(Membership.project_id).where(
            Membership.user_id == user_id, Membership.role == Role.specialist
        )
        awaiting = db.session.scalar(
            sa.select(sa.func.count(Submission.id)).where(
                Submission.project_id.in_(projects), Submission.status == Status.submitted
            )
        )
        overdue = _overdue_by_organisation(projects, today)
        if not awaiting and not overdue:
            continue

        def build(user: User, awaiting: int = awaiting, overdue: Counter = overdue) -> Content:
            paragraphs = [
                ngettext("%(num)d submission awaits review.", "%(num)d submissions await review.", awaiting)
            ]
            for name, count in overdue.most_common(10):
                paragraphs.append(
                    ngettext(
                        "%(name)s: %(num)d report overdue",
                        "%(name)s: %(num)d reports overdue",
                        count,
                        name=name,
                    )
                )
            return Content(
                subject=_("This week: %(num)d awaiting review", num=awaiting),
                paragraphs=paragraphs,
                link_path=path_for("submissions.review_queue"),
                action=_("Open the review queue"),
            )

        told += len(
            notify(
                NotificationKind.review_digest,
                event_key=f"review-digest:{week.year}-W{week.week}",
                recipients=[user],
                actor=None,
                subject=("user", user_id),
                may_see=lambda u: permissions.can_use_review_queue(u),
                build=build,
            )
        )
        db.session.commit()
    return told


def _overdue_by_organisation(projects: sa.Select, today: date) -> Counter:
    report = aliased(Submission)
    rows = db.session.execute(
        sa.select(Organisation.acronym, Organisation.name, sa.func.count())
        .select_from(ReportingPeriod)
        .join(Project, Project.id == ReportingPeriod.project_id)
        .join(
            Membership,
            sa.and_(Membership.project_id == ReportingPeriod.project_id, Membership.role == Role.reporter),
        )
        .join(Organisation, Organisation.id == Membership.organisation_id)
        .outerjoin(report, _report_in(report))
        .where(
            ReportingPeriod.project_id.in_(projects),
            Project.phase != Phase.closed,
            ReportingPeriod.due_date < today,
            report.id.is_(None),
        )
        .group_by(Organisation.acronym, Organisation.name)
    ).all()
    # A report is overdue once per (period, organisation) whatever the number of its reporters.
    return Counter({acronym or name: count for acronym, name, count in rows})


# --- daily digests ---------------------------------------------------------------------------------


def daily_digests(today: date) -> int:
    """One e-mail per person who chose the digest for some kinds, listing what waited."""
    pending: dict[int, list[Notification]] = defaultdict(list)
    for note in db.session.scalars(
        sa.select(Notification)
        .where(Notification.digest_pending.is_(True))
        .order_by(Notification.recipient_id, Notification.id)
    ):
        pending[note.recipient_id].append(note)
    sent = 0
    for user_id, notes in pending.items():
        user = db.session.get(User, user_id)
        if user.is_active:
            with force_locale(compose.language_of(user)):
                content = Content(
                    subject=ngettext(
                        "Your daily digest: %(num)d notification",
                        "Your daily digest: %(num)d notifications",
                        len(notes),
                    ),
                    paragraphs=[_("Here is what happened since your last digest.")],
                    items=[(n.title, path_for("notifications.open", notification_id=n.id)) for n in notes],
                    link_path=path_for("notifications.index"),
                    action=_("See all your notifications"),
                )
            compose.queue(user, compose.DIGEST, f"digest:{user_id}:{notes[-1].id}", content)
            sent += 1
        for note in notes:
            note.digest_pending = False
        db.session.commit()
    return sent
