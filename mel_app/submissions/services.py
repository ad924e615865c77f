"""Design input and progress reports: starting, saving, submitting, reviewing, and the task lists.

Services take the acting user as an argument, flush and never commit; the views commit once.
Every state change goes through `mel_app.workflow` (one conditional UPDATE each).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import aliased, contains_eager, joinedload, selectinload

from mel_app import audit, workflow
from mel_app.extensions import db
from mel_app.models import (
    NARRATIVE_SECTIONS,
    Attachment,
    Comment,
    DesignInputItem,
    DesignItemKind,
    Disposition,
    Indicator,
    IndicatorValue,
    Measure,
    Membership,
    Organisation,
    Partner,
    Phase,
    Project,
    ReportingPeriod,
    Result,
    Role,
    Status,
    Submission,
    SubmissionKind,
    SubmissionVersion,
    User,
    Visibility,
    utcnow,
)
from mel_app.notifications import events as notification_events
from mel_app.numbers import format_number
from mel_app.permissions import roles_anywhere
from mel_app.submissions import labels
from mel_app.submissions.files import Upload
from mel_app.submissions.snapshot import build_snapshot

# Sections a progress report must fill before it can be submitted.
REQUIRED_SECTIONS = NARRATIVE_SECTIONS


@dataclass
class ValueInput:
    """What the organisation entered for one indicator."""

    value: Decimal | None = None
    women: Decimal | None = None
    men: Decimal | None = None
    text_value: str = ""
    not_reported: bool = False
    comment: str = ""

    def is_empty(self) -> bool:
        return (
            self.value is None
            and self.women is None
            and self.men is None
            and not self.text_value
            and not self.not_reported
            and not self.comment
        )


@dataclass
class ItemInput:
    """One item of design input as entered; `id` is None for a new item."""

    id: int | None
    kind: DesignItemKind
    text: str
    result_id: int | None = None
    indicator_id: int | None = None
    remove: bool = False


@dataclass
class Problem:
    """Something that stops a submission from being complete, and where to fix it."""

    anchor: str
    message: str


class Incomplete(workflow.WorkflowError):
    def __init__(self, problems: list[Problem]):
        super().__init__(_("The submission is not complete yet."), http_status=422)
        self.problems = problems


# ---------------------------------------------------------------------------------------------
# Checking what the organisation entered: the page's forms and the API ask the same questions

# The longest text kept in a narrative section, and in an answer, comment or item of design input.
NARRATIVE_MAX = 20_000
TEXT_MAX = 5_000


def value_fields(indicator: Indicator) -> tuple[str, ...]:
    """The parts of an answer to `indicator` besides "not reported" and the comment: a text for a
    qualitative indicator, else a value, and women and men where the indicator counts them."""
    if indicator.measure is Measure.qualitative:
        return ("text_value",)
    if indicator.measure is Measure.number and indicator.disaggregate_by_sex:
        return ("value", "women", "men")
    return ("value",)


@dataclass
class ValueCheck:
    """An answer checked: the answer as it is saved, and what is wrong with it, by part."""

    entered: ValueInput
    errors: dict[str, list[str]] = field(default_factory=dict)


def check_value(
    indicator: Indicator, entered: ValueInput, *, unread: frozenset[str] = frozenset()
) -> ValueCheck:
    """What is wrong with `entered` as an answer to `indicator`, by part (`value`, `women`, `men`,
    `not_reported`, `comment`); nothing when it may be saved.

    `unread`: parts the caller could not read at all (text that is not a number), whose refusal
    says enough. The answer as saved has its texts trimmed, and the sum of women and men as its
    value when only they were given.
    """
    errors: dict[str, list[str]] = {}

    def refuse(part: str, message: str) -> None:
        errors.setdefault(part, []).append(message)

    measure = indicator.measure
    if "value" not in unread and entered.value is not None:
        if measure is Measure.percentage and not (0 <= entered.value <= 100):
            refuse("value", _("A percentage is between 0 and 100."))
        elif measure is Measure.yes_no and entered.value not in (0, 1):
            refuse("value", _("Answer yes or no."))
    for part in ("women", "men"):
        number = getattr(entered, part)
        if part not in unread and number is not None and number < 0:
            refuse(part, _("Cannot be negative."))
    if entered.not_reported:
        if any(n is not None for n in (entered.value, entered.women, entered.men)) or entered.text_value:
            refuse("not_reported", _("Leave the value empty when you mark the indicator as not reported."))
        if not entered.comment.strip():
            refuse("comment", _("Say why this indicator is not reported."))
    value = entered.value
    counted = entered.women is not None and entered.men is not None
    if counted and not (unread | set(errors)) & {"value", "women", "men"}:
        # Women and men add up to the value; a missing value is their sum.
        total = entered.women + entered.men
        if value is None:
            value = total
        elif value != total:
            refuse(
                "value",
                _(
                    "Women (%(women)s) and men (%(men)s) add up to %(sum)s, not %(total)s.",
                    women=format_number(entered.women),
                    men=format_number(entered.men),
                    sum=format_number(total),
                    total=format_number(value),
                ),
            )
    saved = replace(
        entered, value=value, text_value=entered.text_value.strip(), comment=entered.comment.strip()
    )
    return ValueCheck(entered=saved, errors=errors)


def item_problems(text: str, *, existing: bool, removed: bool) -> list[str]:
    """What is wrong with an item of design input as entered: an item kept must say something."""
    if existing and not removed and not text.strip():
        return [_("Write something, or tick “Remove this item”.")]
    return []


# ---------------------------------------------------------------------------------------------
# Reading


def active_indicators(project_id: int) -> list[Indicator]:
    """The indicators a report answers: not archived, under a result that is not archived."""
    return list(
        db.session.scalars(
            sa.select(Indicator)
            .join(Indicator.result)
            .where(Indicator.project_id == project_id, ~Indicator.is_archived, ~Result.is_archived)
            .options(contains_eager(Indicator.result))
            .order_by(Result.position, Result.code, Indicator.position, Indicator.code)
        )
    )


def active_results(project_id: int) -> list[Result]:
    return list(
        db.session.scalars(
            sa.select(Result)
            .where(Result.project_id == project_id, ~Result.is_archived)
            .order_by(Result.position, Result.code)
        )
    )


def load_submission(sub_id: int) -> Submission | None:
    """A submission with everything its page shows, in a fixed number of queries."""
    return db.session.scalar(
        sa.select(Submission)
        .where(Submission.id == sub_id)
        .options(
            joinedload(Submission.project),
            joinedload(Submission.organisation),
            joinedload(Submission.period),
            joinedload(Submission.author),
            joinedload(Submission.last_edited_by),
            joinedload(Submission.approved_by),
            joinedload(Submission.returned_by),
            joinedload(Submission.submitted_by),
            selectinload(Submission.values).joinedload(IndicatorValue.indicator),
            selectinload(Submission.attachments).joinedload(Attachment.uploaded_by),
            selectinload(Submission.design_items).options(
                joinedload(DesignInputItem.result),
                joinedload(DesignInputItem.indicator),
                joinedload(DesignInputItem.responded_by),
            ),
        )
    )


def live_attachments(sub: Submission) -> list[Attachment]:
    return [a for a in sub.attachments if not a.is_deleted]


def versions_of(sub: Submission) -> list[SubmissionVersion]:
    return list(
        db.session.scalars(
            sa.select(SubmissionVersion)
            .where(SubmissionVersion.submission_id == sub.id)
            .options(joinedload(SubmissionVersion.submitted_by))
            .order_by(SubmissionVersion.number)
        )
    )


def record_attachment_download(item: Attachment, *, actor: User) -> None:
    audit.record(
        db.session,
        "attachment.download",
        actor=actor,
        target=item,
        after={"filename": item.filename, "sha256": item.sha256},
    )


def attachment_in_a_version(attachment: Attachment) -> bool:
    """Whether a removed file was part of a submitted version (so readers of it may still open it)."""
    for content in db.session.scalars(
        sa.select(SubmissionVersion.content).where(
            SubmissionVersion.submission_id == attachment.submission_id
        )
    ):
        if any(a.get("id") == attachment.id for a in (content or {}).get("attachments", [])):
            return True
    return False


def visible_comments(sub: Submission, *, include_internal: bool) -> list[Comment]:
    """The comment thread; ILO-internal comments are filtered out in SQL for everyone else."""
    query = (
        sa.select(Comment)
        .where(Comment.submission_id == sub.id)
        .options(joinedload(Comment.author))
        .order_by(Comment.id)
    )
    if not include_internal:
        query = query.where(Comment.visibility == Visibility.shared)
    return list(db.session.scalars(query))


def completeness_problems(sub: Submission) -> list[Problem]:
    """What is missing before `sub` may be submitted (empty when it is complete)."""
    problems: list[Problem] = []
    if sub.kind is SubmissionKind.design_input:
        if not any(item.text.strip() for item in sub.design_items):
            problems.append(Problem("items", _("Add at least one item of design input.")))
        return problems
    narrative = sub.narrative or {}
    for key in REQUIRED_SECTIONS:
        if not (narrative.get(key) or "").strip():
            problems.append(Problem(key, _("“%(section)s” is empty.", section=labels.SECTIONS[key])))
    values = {v.indicator_id: v for v in sub.values}
    for indicator in active_indicators(sub.project_id):
        row = values.get(indicator.id)
        anchor = f"indicator-{indicator.id}"
        if row is not None and row.not_reported:
            if not row.comment.strip():
                problems.append(
                    Problem(anchor, _("Indicator %(code)s: say why it is not reported.", code=indicator.code))
                )
            continue
        answered = row is not None and (
            bool(row.text_value.strip())
            if indicator.measure is Measure.qualitative
            else row.value is not None
        )
        if not answered:
            problems.append(
                Problem(
                    anchor,
                    _(
                        "Indicator %(code)s has no value: give one, or mark it “not reported” with a reason.",
                        code=indicator.code,
                    ),
                )
            )
    return problems


# ---------------------------------------------------------------------------------------------
# Starting


def find_live_submission(
    project_id: int, organisation_id: int, kind: SubmissionKind, period_id: int | None = None
) -> Submission | None:
    return db.session.scalar(
        sa.select(Submission).where(
            Submission.project_id == project_id,
            Submission.organisation_id == organisation_id,
            Submission.kind == kind,
            Submission.period_id.is_(None) if period_id is None else Submission.period_id == period_id,
            Submission.status != Status.withdrawn,
        )
    )


def start_submission(
    project: Project,
    *,
    actor: User,
    organisation_id: int,
    kind: SubmissionKind,
    period: ReportingPeriod | None = None,
) -> tuple[Submission, bool]:
    """The live submission of the organisation, created as a draft when there is none.

    Returns (submission, created). Two people starting at once: the database's unique index lets
    one insert win; the caller rolls back on IntegrityError and finds the winner's.
    """
    period_id = period.id if period is not None else None
    existing = find_live_submission(project.id, organisation_id, kind, period_id)
    if existing is not None:
        return existing, False
    sub = Submission(
        project_id=project.id,
        kind=kind,
        organisation_id=organisation_id,
        period_id=period_id,
        author_id=actor.id,
        status=Status.draft,
        narrative={},
        last_edited_by_id=actor.id,
    )
    db.session.add(sub)
    audit.record(db.session, "submission.start", actor=actor, target=sub)
    db.session.flush()
    return sub, True


# ---------------------------------------------------------------------------------------------
# Saving (the organisation, while it holds the pen)


def _add_uploads(sub: Submission, uploads: list[Upload], actor: User) -> list[Attachment]:
    added = [
        Attachment(submission=sub, size=upload.size, uploaded_by_id=actor.id, **asdict(upload))
        for upload in uploads
    ]
    db.session.add_all(added)
    return added


def _remove_attachments(sub: Submission, ids: set[int]) -> None:
    for attachment in sub.attachments:
        if attachment.id in ids and not attachment.is_deleted:
            attachment.is_deleted = True


def _record_edit(
    sub: Submission,
    *,
    actor: User,
    version_before: int,
    event: str = "submission.save",
    **changed: tuple[Any, Any],
) -> None:
    """The audit record of an edit of the draft (or of the ILO's responses), then the flush: the
    version it moved from and to, and each other part given as its (before, after) pair."""
    before: dict[str, Any] = {"version": version_before}
    after: dict[str, Any] = {"version": sub.version}
    for key, (old, new) in changed.items():
        before[key], after[key] = old, new
    audit.record(db.session, event, actor=actor, target=sub, before=before, after=after)
    db.session.flush()


def save_report(
    sub: Submission,
    *,
    actor: User,
    expected_version: int,
    narrative: dict[str, str],
    values: dict[int, ValueInput],
    uploads: list[Upload] = (),
    remove_attachment_ids: set[int] = frozenset(),
) -> None:
    """Save the draft of a progress report. Raises WorkflowConflict if someone saved in between.

    `narrative` gives every section (one left out is saved empty), `values` the answers to save
    (as `check_value` returned them); other answers stay as they are.
    """
    old = dict(sub.narrative or {})
    new = {**old, **{key: (narrative.get(key) or "").strip() for key in NARRATIVE_SECTIONS}}
    changed = sorted(key for key in new if (old.get(key) or "") != (new.get(key) or ""))
    version_before = sub.version
    # The lock first: a request that loses here has written nothing.
    workflow.claim_edit(sub, actor=actor, expected_version=expected_version, values={"narrative": new})

    active = {i.id for i in active_indicators(sub.project_id)}
    existing = {v.indicator_id: v for v in sub.values}
    for indicator_id, entered in values.items():
        if indicator_id not in active:
            continue
        row = existing.get(indicator_id)
        if row is None:
            if entered.is_empty():
                continue
            row = IndicatorValue(submission=sub, indicator_id=indicator_id)
            db.session.add(row)
        row.value, row.women, row.men = entered.value, entered.women, entered.men
        row.text_value, row.not_reported, row.comment = (
            entered.text_value,
            entered.not_reported,
            entered.comment,
        )
    _remove_attachments(sub, set(remove_attachment_ids))
    _add_uploads(sub, list(uploads), actor)
    _record_edit(
        sub,
        actor=actor,
        version_before=version_before,
        narrative=({k: old.get(k, "") for k in changed}, {k: new.get(k, "") for k in changed}),
    )


def attach_evidence(
    sub: Submission,
    *,
    actor: User,
    uploads: list[Upload],
    expected_version: int | None = None,
    attempts: int = 50,
) -> list[Attachment]:
    """Add files to the draft, as a save that changes nothing else would; returns them.

    With `expected_version` (the API, which names the version it read): only on that version,
    else WorkflowConflict. Without it, on the draft as it is now, whichever version that is: when
    a save lost to another one on its text, a new file conflicts with nobody's words, so it is
    added rather than lost. Either way the version moves on (the draft changed), through the
    same conditional UPDATE as every edit, taken again if others save in the meantime.
    Raises WorkflowError when the submission can no longer be edited.
    """
    version_before = sub.version
    if expected_version is not None:
        workflow.claim_edit(sub, actor=actor, expected_version=expected_version)
    else:
        for _attempt in range(attempts):
            version_before = sub.version
            try:
                workflow.claim_edit(sub, actor=actor, expected_version=sub.version)
                break
            except workflow.WorkflowConflict:
                continue  # claim_edit has read the submission again: try on its new version
        else:
            raise workflow.last_change(sub)
    added = _add_uploads(sub, list(uploads), actor)
    # Only the version: the files themselves are in the trail as attachments.
    _record_edit(sub, actor=actor, version_before=version_before)
    return added


def remove_evidence(sub: Submission, *, actor: User, expected_version: int, attachment_ids: set[int]) -> None:
    """Take files off the draft, as a save with their "remove" boxes ticked does (the files are
    kept, marked removed: a submitted version may still show them)."""
    version_before = sub.version
    workflow.claim_edit(sub, actor=actor, expected_version=expected_version)
    _remove_attachments(sub, set(attachment_ids))
    _record_edit(sub, actor=actor, version_before=version_before)


def save_design_input(
    sub: Submission,
    *,
    actor: User,
    expected_version: int,
    items: list[ItemInput],
    uploads: list[Upload] = (),
    remove_attachment_ids: set[int] = frozenset(),
) -> None:
    """Save the draft of design input: items added, changed or removed, and evidence files."""
    version_before = sub.version
    workflow.claim_edit(sub, actor=actor, expected_version=expected_version)
    existing = {item.id: item for item in sub.design_items}
    kept_ids = set()
    position = 0
    for entered in items:
        row = existing.get(entered.id) if entered.id is not None else None
        if entered.id is not None and row is None:
            continue  # not an item of this submission: ignore rather than trust the form
        if row is not None and entered.remove:
            db.session.delete(row)
            continue
        if row is None:
            if not entered.text:
                continue
            row = DesignInputItem(submission=sub, kind=entered.kind, text=entered.text)
            db.session.add(row)
        else:
            kept_ids.add(row.id)
        row.kind, row.text = entered.kind, entered.text
        row.result_id, row.indicator_id = entered.result_id, entered.indicator_id
        row.position = position
        position += 1
    for item_id, row in existing.items():
        if item_id not in kept_ids and row in db.session and row not in db.session.deleted:
            row.position = position
            position += 1
    _remove_attachments(sub, set(remove_attachment_ids))
    _add_uploads(sub, list(uploads), actor)
    _record_edit(sub, actor=actor, version_before=version_before)


# ---------------------------------------------------------------------------------------------
# Transitions


def submit_submission(sub: Submission, *, actor: User, expected_version: int) -> SubmissionVersion:
    """Send the submission for review and keep an immutable snapshot of what was sent."""
    if sub.version == expected_version and workflow.allowed(sub.status, workflow.Action.submit):
        problems = completeness_problems(sub)
        if problems:
            raise Incomplete(problems)
    _transition(sub, workflow.Action.submit, actor=actor, expected_version=expected_version)
    number = (
        db.session.scalar(
            sa.select(sa.func.max(SubmissionVersion.number)).where(SubmissionVersion.submission_id == sub.id)
        )
        or 0
    ) + 1
    version = SubmissionVersion(
        submission=sub,
        number=number,
        content=build_snapshot(sub),
        submitted_by_id=actor.id,
        submitted_at=sub.submitted_at or utcnow(),
    )
    db.session.add(version)
    db.session.flush()
    return version


def _transition(
    sub: Submission,
    action: workflow.Action,
    *,
    actor: User,
    expected_version: int,
    reason: str | None = None,
) -> None:
    """Move the submission along the workflow, and tell who needs to know, in this transaction."""
    workflow.transition(sub, action, actor=actor, expected_version=expected_version, reason=reason)
    notification_events.submission_transition(sub, action.value, actor=actor, reason=reason)


def _shared_comment(sub: Submission, actor: User, body: str) -> None:
    db.session.add(Comment(submission=sub, author_id=actor.id, body=body, visibility=Visibility.shared))


def _give_back(
    sub: Submission, action: workflow.Action, reason: str, *, actor: User, expected_version: int
) -> None:
    """Return or reopen: a move that hands the pen back to the organisation must say why, and the
    organisation reads that reason as a shared comment."""
    reason = (reason or "").strip()
    if not reason:
        if action is workflow.Action.return_:
            raise workflow.WorkflowError(_("Say what needs to change before returning it."), http_status=422)
        raise workflow.WorkflowError(_("Give the reason for reopening it."), http_status=422)
    _transition(sub, action, actor=actor, expected_version=expected_version, reason=reason)
    _shared_comment(sub, actor, reason)
    db.session.flush()


def return_submission(sub: Submission, *, actor: User, expected_version: int, comment: str) -> None:
    """Send a submitted report back to its organisation, saying what needs to change."""
    _give_back(sub, workflow.Action.return_, comment, actor=actor, expected_version=expected_version)


def reopen_submission(sub: Submission, *, actor: User, expected_version: int, reason: str) -> None:
    """Give an approved submission back to its organisation for revision."""
    _give_back(sub, workflow.Action.reopen, reason, actor=actor, expected_version=expected_version)


def approve_submission(sub: Submission, *, actor: User, expected_version: int, comment: str = "") -> None:
    comment = (comment or "").strip()
    if (
        sub.version == expected_version
        and sub.kind is SubmissionKind.design_input
        and any(item.disposition is None for item in sub.design_items)
    ):
        raise workflow.WorkflowError(
            _("Record the ILO's response to every item before approving."), http_status=422
        )
    _transition(
        sub, workflow.Action.approve, actor=actor, expected_version=expected_version, reason=comment or None
    )
    if comment:
        _shared_comment(sub, actor, comment)
    db.session.flush()


def withdraw_submission(sub: Submission, *, actor: User, expected_version: int, reason: str = "") -> None:
    _transition(
        sub,
        workflow.Action.withdraw,
        actor=actor,
        expected_version=expected_version,
        reason=(reason or "").strip() or None,
    )
    db.session.flush()


def record_responses(
    sub: Submission,
    *,
    actor: User,
    expected_version: int,
    responses: dict[int, tuple[Disposition | None, str]],
) -> int:
    """The ILO's response to each item of design input. Returns how many responses changed."""
    version_before = sub.version
    workflow.claim_edit(
        sub,
        actor=actor,
        expected_version=expected_version,
        allowed_states=workflow.RESPONDABLE,
        touch_editor=False,
    )
    now, changed = utcnow(), 0
    for item in sub.design_items:
        if item.id not in responses:
            continue
        disposition, reason = responses[item.id]
        if disposition is None:
            continue  # a response once given is changed, not erased
        if (item.disposition, item.response_reason) == (disposition, reason):
            continue
        item.disposition, item.response_reason = disposition, reason
        item.responded_by_id, item.responded_at = actor.id, now
        changed += 1
    _record_edit(sub, actor=actor, version_before=version_before, event="submission.respond")
    if changed:
        notification_events.design_responses(sub, actor=actor)
    return changed


def add_comment(
    sub: Submission, *, actor: User, body: str, visibility: Visibility, section: str | None = None
) -> Comment:
    comment = Comment(
        submission=sub,
        author_id=actor.id,
        body=body.strip(),
        visibility=visibility,
        section=section or None,
    )
    db.session.add(comment)
    audit.record(db.session, "submission.comment", actor=actor, target=comment)
    db.session.flush()
    notification_events.comment_added(comment, actor=actor)
    return comment


# ---------------------------------------------------------------------------------------------
# Review queue


@dataclass
class QueueFilters:
    project_id: int | None = None
    kind: SubmissionKind | None = None
    organisation_id: int | None = None
    period_label: str | None = None
    min_age_days: int | None = None


def _specialist_projects(user: User) -> sa.Select:
    return sa.select(Membership.project_id).where(
        Membership.user_id == user.id, Membership.role == Role.specialist
    )


def _awaiting_review(user: User) -> sa.ColumnElement[bool]:
    return sa.and_(
        Submission.status == Status.submitted, Submission.project_id.in_(_specialist_projects(user))
    )


def review_queue_query(user: User, filters: QueueFilters, *, now: datetime | None = None) -> sa.Select:
    """Submissions awaiting review in the user's projects (as specialist), oldest first."""
    query = (
        sa.select(Submission)
        .where(_awaiting_review(user))
        .options(
            joinedload(Submission.project),
            joinedload(Submission.organisation),
            joinedload(Submission.period),
            joinedload(Submission.submitted_by),
        )
        .order_by(Submission.submitted_at, Submission.id)
    )
    if filters.project_id:
        query = query.where(Submission.project_id == filters.project_id)
    if filters.kind:
        query = query.where(Submission.kind == filters.kind)
    if filters.organisation_id:
        query = query.where(Submission.organisation_id == filters.organisation_id)
    if filters.period_label:
        query = query.where(
            Submission.period_id.in_(
                sa.select(ReportingPeriod.id).where(ReportingPeriod.label == filters.period_label)
            )
        )
    if filters.min_age_days:
        cutoff = (now or utcnow()) - timedelta(days=filters.min_age_days)
        query = query.where(Submission.submitted_at <= cutoff)
    return query


def review_filter_choices(user: User) -> dict[str, list[tuple[str, str]]]:
    """The projects, organisations and periods the queue can be narrowed to (three queries)."""
    projects = db.session.execute(
        sa.select(Project.id, Project.reference, Project.title)
        .where(Project.id.in_(_specialist_projects(user)))
        .order_by(Project.reference)
    ).all()
    organisations = db.session.execute(
        sa.select(Organisation.id, Organisation.name)
        .where(
            Organisation.id.in_(
                sa.select(Partner.organisation_id).where(Partner.project_id.in_(_specialist_projects(user)))
            )
            | Organisation.id.in_(
                sa.select(Submission.organisation_id).where(
                    Submission.project_id.in_(_specialist_projects(user))
                )
            )
        )
        .order_by(Organisation.name)
    ).all()
    periods = db.session.scalars(
        sa.select(ReportingPeriod.label)
        .where(ReportingPeriod.project_id.in_(_specialist_projects(user)))
        .distinct()
        .order_by(ReportingPeriod.label.desc())
    ).all()
    any_ = ("", _("Any"))
    return {
        "project": [any_] + [(str(p.id), f"{p.reference} — {p.title}") for p in projects],
        "organisation": [any_] + [(str(o.id), o.name) for o in organisations],
        "period": [any_] + [(label, label) for label in periods],
    }


# ---------------------------------------------------------------------------------------------
# My tasks


@dataclass(frozen=True, slots=True)
class TaskProject:
    id: int
    reference: str


@dataclass(frozen=True, slots=True)
class TaskPeriod:
    id: int
    label: str
    due_date: date


@dataclass(frozen=True, slots=True)
class TaskReport:
    id: int


@dataclass(frozen=True, slots=True)
class TaskOrganisation:
    name: str
    acronym: str | None


@dataclass(frozen=True, slots=True)
class ReviewTask:
    """A submission awaiting the specialist's review, as the home page lists it."""

    id: int
    kind: SubmissionKind
    period: TaskPeriod | None
    organisation: TaskOrganisation
    project: TaskProject
    submitted_at: datetime | None


@dataclass
class ReportTask:
    """A report to write: read as plain columns, as the home page shows only these few of them."""

    project: TaskProject
    period: TaskPeriod
    organisation_id: int
    submission: TaskReport | None
    state: str  # "due", "overdue" or "returned"


@dataclass
class SubmissionTasks:
    due: list[ReportTask] = field(default_factory=list)
    overdue: list[ReportTask] = field(default_factory=list)
    returned: list[Submission] = field(default_factory=list)
    drafts: list[Submission] = field(default_factory=list)
    awaiting_review: list[ReviewTask] = field(default_factory=list)
    awaiting_review_count: int = 0

    @property
    def is_empty(self) -> bool:
        return not (self.due or self.overdue or self.returned or self.drafts or self.awaiting_review)


TASK_LIMIT = 20


def submission_tasks(user: Any, today: date | None = None) -> SubmissionTasks:
    """A reporter's reports due, overdue and returned; a specialist's submissions awaiting review.

    A constant number of queries, however many projects and periods the user has.
    """
    tasks = SubmissionTasks()
    if not getattr(user, "is_authenticated", False):
        return tasks
    # The roles are read once a request for the navigation anyway: asking only for the tasks of
    # the roles the user holds saves the home page two to four queries.
    roles = roles_anywhere(user)
    if Role.reporter in roles:
        _reporter_tasks(user, tasks, today or utcnow().date())
    if Role.specialist in roles:
        tasks.awaiting_review_count = db.session.scalar(
            sa.select(sa.func.count(Submission.id)).where(_awaiting_review(user))
        )
        if tasks.awaiting_review_count:
            tasks.awaiting_review = _review_tasks(user)
    return tasks


def _review_tasks(user: Any) -> list[ReviewTask]:
    """The ten oldest submissions of the review queue, as plain rows (the queue's order)."""
    rows = db.session.execute(
        sa.select(
            Submission.id,
            Submission.kind,
            Submission.submitted_at,
            Project.id,
            Project.reference,
            Organisation.name,
            Organisation.acronym,
            ReportingPeriod.id,
            ReportingPeriod.label,
            ReportingPeriod.due_date,
        )
        .select_from(Submission)
        .join(Project, Project.id == Submission.project_id)
        .join(Organisation, Organisation.id == Submission.organisation_id)
        .outerjoin(ReportingPeriod, ReportingPeriod.id == Submission.period_id)
        .where(_awaiting_review(user))
        .order_by(Submission.submitted_at, Submission.id)
        .limit(10)
    )
    return [
        ReviewTask(
            id=sub_id,
            kind=kind,
            period=TaskPeriod(period_id, label, due_date) if period_id is not None else None,
            organisation=TaskOrganisation(name, acronym),
            project=TaskProject(project_id, reference),
            submitted_at=submitted_at,
        )
        for (
            sub_id,
            kind,
            submitted_at,
            project_id,
            reference,
            name,
            acronym,
            period_id,
            label,
            due_date,
        ) in rows
    ]


def _reporter_tasks(user: Any, tasks: SubmissionTasks, today: date) -> None:
    reporter = sa.and_(
        Membership.user_id == user.id,
        Membership.role == Role.reporter,
        Membership.organisation_id.is_not(None),
    )
    for task in _reports_to_write(reporter, today):
        (tasks.overdue if task.state == "overdue" else tasks.due).append(task)
    for sub in _returned_or_design_drafts(reporter):
        (tasks.returned if sub.status is Status.returned else tasks.drafts).append(sub)


def _reports_to_write(reporter: sa.ColumnElement[bool], today: date) -> list[ReportTask]:
    """Periods that have started, for each project the user reports on, with the organisation's
    live report if it has one — unless that report is already submitted or approved."""
    report = aliased(Submission)
    rows = db.session.execute(
        sa.select(
            Project.id,
            Project.reference,
            ReportingPeriod.id,
            ReportingPeriod.label,
            ReportingPeriod.due_date,
            Membership.organisation_id,
            report.id,
        )
        .select_from(ReportingPeriod)
        .join(Membership, sa.and_(Membership.project_id == ReportingPeriod.project_id, reporter))
        .join(Project, Project.id == ReportingPeriod.project_id)
        .outerjoin(
            report,
            sa.and_(
                report.project_id == ReportingPeriod.project_id,
                report.period_id == ReportingPeriod.id,
                report.organisation_id == Membership.organisation_id,
                report.kind == SubmissionKind.progress_report,
                report.status != Status.withdrawn,
            ),
        )
        .where(
            Project.phase != Phase.closed,
            ReportingPeriod.start_date <= today,
            sa.or_(report.id.is_(None), report.status == Status.draft),
        )
        .order_by(ReportingPeriod.due_date, Project.reference)
        .limit(TASK_LIMIT * 2)
    ).all()
    return [
        ReportTask(
            project=TaskProject(project_id, reference),
            period=TaskPeriod(period_id, label, due_date),
            organisation_id=organisation_id,
            submission=TaskReport(report_id) if report_id is not None else None,
            state="overdue" if due_date < today else "due",
        )
        for project_id, reference, period_id, label, due_date, organisation_id, report_id in rows
    ]


def _returned_or_design_drafts(reporter: sa.ColumnElement[bool]) -> Sequence[Submission]:
    """Returned submissions (and drafts of design input) of the user's organisations."""
    return db.session.scalars(
        sa.select(Submission)
        .join(
            Membership,
            sa.and_(
                Membership.project_id == Submission.project_id,
                Membership.organisation_id == Submission.organisation_id,
                reporter,
            ),
        )
        .where(
            sa.or_(
                Submission.status == Status.returned,
                sa.and_(Submission.kind == SubmissionKind.design_input, Submission.status == Status.draft),
            )
        )
        .options(
            joinedload(Submission.project), joinedload(Submission.period), joinedload(Submission.returned_by)
        )
        .order_by(Submission.updated_at.desc())
        .limit(TASK_LIMIT)
    ).all()
