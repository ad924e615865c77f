"""Participatory evaluations: criteria sets, scales, evaluations, scorecards, recommendations.

Services flush and never commit; the view commits once. Every change is captured by the audit
trail automatically; the services name the action and give the reason with `audit.record`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import aliased, joinedload, selectinload

from mel_app import audit, locking, workflow
from mel_app.evaluations import stats
from mel_app.extensions import db
from mel_app.integers import to_int
from mel_app.kit.errors import DomainError
from mel_app.models import (
    ActionStatus,
    AuditEvent,
    CriteriaSet,
    Criterion,
    Evaluation,
    EvaluationKind,
    EvaluationStatus,
    Indicator,
    Membership,
    Organisation,
    OrgGroup,
    Partner,
    Project,
    Recommendation,
    ReportingPeriod,
    ResponseKind,
    Result,
    Role,
    Scale,
    ScalePoint,
    Score,
    Scorecard,
    ScorecardStatus,
    ScorerGroup,
    Status,
    Submission,
    SubmissionKind,
    User,
    utcnow,
)
from mel_app.notifications import events as notification_events
from mel_app.partners import partner_organisations
from mel_app.uniqueness import retry_on_duplicate

MIN_POINTS, MAX_POINTS = 4, 10
# The order in which constituencies appear in tables and charts.
GROUP_ORDER = [
    ScorerGroup.workers,
    ScorerGroup.employers,
    ScorerGroup.government,
    ScorerGroup.ilo,
    ScorerGroup.independent,
]
# A reporter scores for the constituency of the organisation they report for.
ORG_TO_SCORER_GROUP = {
    OrgGroup.workers: ScorerGroup.workers,
    OrgGroup.employers: ScorerGroup.employers,
    OrgGroup.government: ScorerGroup.government,
    OrgGroup.ilo: ScorerGroup.ilo,
}


class EvaluationError(DomainError):
    """A rule of the domain refuses the change; the message is for the user."""

    http_status = 422


class ConflictError(EvaluationError, locking.EditConflict):
    """Someone else changed the object since the user loaded it (optimistic lock, `mel_app.locking`)."""

    http_status = 409


class InUseError(EvaluationError):
    """A criteria set or scale used by an evaluation cannot change; it can be copied."""

    http_status = 409


# --- criteria sets and scales -------------------------------------------------------------------


def criteria_set_in_use(criteria_set_id: int) -> bool:
    return bool(
        db.session.scalar(sa.select(sa.exists().where(Evaluation.criteria_set_id == criteria_set_id)))
    )


def scale_in_use(scale_id: int) -> bool:
    return bool(db.session.scalar(sa.select(sa.exists().where(Evaluation.scale_id == scale_id))))


def in_use_ids(column: Any) -> set[int]:
    """The ids of criteria sets (or scales) used by at least one evaluation, in one query."""
    return set(db.session.scalars(sa.select(column).distinct()))


@dataclass
class CriterionInput:
    code: str
    name: str
    guiding_question: str = ""
    position: int = 0
    id: int | None = None


@dataclass
class PointInput:
    value: int
    label: str
    rubric: str = ""


def _name_taken(model: Any, name: str, own_id: int | None) -> bool:
    query = sa.select(model.id).where(sa.func.lower(model.name) == name.strip().lower())
    if own_id is not None:
        query = query.where(model.id != own_id)
    return db.session.scalar(query) is not None


@retry_on_duplicate
def save_criteria_set(
    criteria_set: CriteriaSet | None,
    *,
    actor: User,
    name: str,
    description: str,
    criteria: list[CriterionInput],
) -> CriteriaSet:
    """Create a criteria set (criteria_set=None) or change one not yet used by any evaluation."""
    name = name.strip()
    _check_criteria_set(criteria_set, name, criteria)
    creating = criteria_set is None
    if criteria_set is None:
        criteria_set = CriteriaSet(name=name, description=description.strip())
        db.session.add(criteria_set)
        existing: dict[int, Criterion] = {}
    else:
        criteria_set.name, criteria_set.description = name, description.strip()
        existing = {c.id: c for c in criteria_set.criteria}
    audit.record(
        db.session,
        "criteria_set.create" if creating else "criteria_set.update",
        actor=actor,
        target=criteria_set,
    )
    _write_criteria(criteria_set, existing, criteria)
    db.session.expire(criteria_set, ["criteria"])
    return criteria_set


def _check_criteria_set(criteria_set: CriteriaSet | None, name: str, criteria: list[CriterionInput]) -> None:
    """Refuse a set in use, a name taken, and criteria that are missing or share a code."""
    if criteria_set is not None and criteria_set_in_use(criteria_set.id):
        raise InUseError(
            _("This criteria set is used by an evaluation and cannot be changed. Make a copy instead.")
        )
    if _name_taken(CriteriaSet, name, criteria_set.id if criteria_set else None):
        raise EvaluationError(_("Another criteria set already has this name."))
    if not criteria:
        raise EvaluationError(_("A criteria set needs at least one criterion."))
    codes = [c.code.strip().upper() for c in criteria]
    duplicates = sorted(code for code, n in Counter(codes).items() if n > 1)
    if duplicates:
        raise EvaluationError(_("Each code may be used once: %(codes)s.", codes=", ".join(duplicates)))


def _write_criteria(
    criteria_set: CriteriaSet, existing: dict[int, Criterion], criteria: list[CriterionInput]
) -> None:
    """The set's criteria become `criteria`: those of `existing` not named are deleted, the
    others updated in place, new ones added, all numbered in the order of their positions."""
    kept_ids = {item.id for item in criteria if item.id in existing}
    for crit_id, crit in existing.items():
        if crit_id not in kept_ids:
            db.session.delete(crit)
    # Codes are unique per set: a kept criterion whose code moves to another row (a swap) gives
    # its code up first.
    new_codes = {item.code.strip().upper() for item in criteria}
    giving_up = [
        existing[item.id]
        for item in criteria
        if item.id in kept_ids
        and existing[item.id].code != item.code.strip().upper()
        and existing[item.id].code in new_codes
    ]
    for crit in giving_up:
        crit.code = f"~{crit.id}"
    db.session.flush()
    ordered = sorted(enumerate(criteria), key=lambda pair: (pair[1].position, pair[0]))
    for position, (_index, item) in enumerate(ordered):
        crit = existing.get(item.id) if item.id in kept_ids else None
        if crit is None:
            crit = Criterion(criteria_set=criteria_set)
            db.session.add(crit)
        crit.code = item.code.strip().upper()
        crit.name = item.name.strip()
        crit.guiding_question = item.guiding_question.strip()
        crit.position = position
    db.session.flush()


def _copy_name(model: Any, name: str) -> str:
    base = _("Copy of %(name)s", name=name)[:190]
    candidate, n = base, 2
    while _name_taken(model, candidate, None):
        candidate, n = f"{base} ({n})", n + 1
    return candidate


# What a copy of a criteria set takes over from each criterion of the original.
_CRITERION_COPIED = ("code", "name", "guiding_question", "position")


def copy_criteria_set(source: CriteriaSet, *, actor: User) -> CriteriaSet:
    copy = CriteriaSet(name=_copy_name(CriteriaSet, source.name), description=source.description)
    db.session.add(copy)
    for crit in source.criteria:
        db.session.add(Criterion(criteria_set=copy, **{key: getattr(crit, key) for key in _CRITERION_COPIED}))
    audit.record(db.session, "criteria_set.copy", actor=actor, target=copy, reason=f"copy of #{source.id}")
    db.session.flush()
    return copy


@retry_on_duplicate
def save_scale(scale: Scale | None, *, actor: User, name: str, points: list[PointInput]) -> Scale:
    """Create a scale (scale=None) or change one not yet used by any evaluation.

    Points are numbered 1..n without gaps (4 <= n <= 10); the highest is the best.
    """
    name = name.strip()
    if scale is not None and scale_in_use(scale.id):
        raise InUseError(_("This scale is used by an evaluation and cannot be changed. Make a copy instead."))
    if _name_taken(Scale, name, scale.id if scale else None):
        raise EvaluationError(_("Another scale already has this name."))
    values = sorted(p.value for p in points)
    if not MIN_POINTS <= len(values) <= MAX_POINTS:
        raise EvaluationError(
            _("A scale has from %(min)d to %(max)d points.", min=MIN_POINTS, max=MAX_POINTS)
        )
    if values != list(range(1, len(values) + 1)):
        raise EvaluationError(_("Label the points from 1 upwards, without gaps."))
    labels = [p.label.strip().lower() for p in points]
    if len(set(labels)) != len(labels):
        raise EvaluationError(_("Each point needs its own label."))

    creating = scale is None
    if scale is None:
        scale = Scale(name=name)
        db.session.add(scale)
        existing: dict[int, ScalePoint] = {}
    else:
        scale.name = name
        existing = {p.value: p for p in scale.points}
    audit.record(db.session, "scale.create" if creating else "scale.update", actor=actor, target=scale)
    # Update in place by value (unique per scale), add the new ones, remove those beyond the top.
    for item in points:
        point = existing.get(item.value)
        if point is None:
            point = ScalePoint(scale=scale, value=item.value)
            db.session.add(point)
        point.label, point.rubric = item.label.strip(), item.rubric.strip()
    for value, point in existing.items():
        if value > len(values):
            db.session.delete(point)
    db.session.flush()
    db.session.expire(scale, ["points"])
    return scale


def copy_scale(source: Scale, *, actor: User) -> Scale:
    copy = Scale(name=_copy_name(Scale, source.name))
    db.session.add(copy)
    for point in source.points:
        db.session.add(ScalePoint(scale=copy, value=point.value, label=point.label, rubric=point.rubric))
    audit.record(db.session, "scale.copy", actor=actor, target=copy, reason=f"copy of #{source.id}")
    db.session.flush()
    return copy


def make_default(obj: CriteriaSet | Scale, *, actor: User) -> None:
    """The set (or scale) proposed first when a specialist opens an evaluation."""
    model = type(obj)
    for other in db.session.scalars(sa.select(model).where(model.is_default, model.id != obj.id)):
        other.is_default = False
    obj.is_default = True
    audit.record(db.session, f"{model.__tablename__}.make_default", actor=actor, target=obj)
    db.session.flush()


# --- evaluations and invitations ----------------------------------------------------------------


@dataclass
class Candidates:
    """Who may be invited to score an evaluation of a project."""

    evaluators: list[User]
    organisations: list[Organisation]  # partner organisations with reporters, of a scoring group
    ilo_staff: list[User]
    reporters: dict[int, list[tuple[User, Organisation]]] = field(default_factory=dict)


def invitation_candidates(project: Project) -> Candidates:
    """Evaluators, ILO staff (specialists and members from ILO organisations) and the partner
    organisations whose reporters can score, in two queries."""
    member_org = aliased(Organisation)
    own_org = aliased(Organisation)
    rows = db.session.execute(
        sa.select(Membership.role, User, member_org, own_org.group)
        .join(User, Membership.user_id == User.id)
        .outerjoin(member_org, Membership.organisation_id == member_org.id)
        .outerjoin(own_org, User.organisation_id == own_org.id)
        .where(Membership.project_id == project.id, User.is_active)
        .order_by(User.full_name, User.id)
    ).all()
    partner_ids = set(
        db.session.scalars(sa.select(Partner.organisation_id).where(Partner.project_id == project.id))
    )
    evaluators: dict[int, User] = {}
    ilo_staff: dict[int, User] = {}
    reporters: dict[int, list[tuple[User, Organisation]]] = {}
    organisations: dict[int, Organisation] = {}
    for role, user, organisation, own_group in rows:
        if role is Role.evaluator:
            evaluators[user.id] = user
        if role is Role.specialist or own_group is OrgGroup.ilo:
            ilo_staff[user.id] = user
        if (
            role is Role.reporter
            and organisation is not None
            and organisation.id in partner_ids
            and organisation.group in ORG_TO_SCORER_GROUP
        ):
            organisations[organisation.id] = organisation
            reporters.setdefault(organisation.id, []).append((user, organisation))
    return Candidates(
        evaluators=list(evaluators.values()),
        organisations=sorted(organisations.values(), key=lambda o: o.name),
        ilo_staff=list(ilo_staff.values()),
        reporters=reporters,
    )


def open_evaluation(
    project: Project,
    *,
    actor: User,
    kind: EvaluationKind,
    title: str,
    criteria_set: CriteriaSet,
    scale: Scale,
    deadline: date | None,
    evaluator_ids: list[int],
    organisation_ids: list[int],
    ilo_staff_ids: list[int],
) -> Evaluation:
    if not criteria_set.criteria:
        raise EvaluationError(_("The criteria set has no criteria."))
    if not MIN_POINTS <= len(scale.points) <= MAX_POINTS:
        raise EvaluationError(_("The scale must have from 4 to 10 points."))
    evaluation = Evaluation(
        project=project,
        kind=kind,
        title=title.strip(),
        criteria_set=criteria_set,
        scale=scale,
        deadline=deadline,
        status=EvaluationStatus.open,
        opened_by_id=actor.id,
        opened_at=utcnow(),
    )
    db.session.add(evaluation)
    audit.record(db.session, "evaluation.open", actor=actor, target=evaluation)
    db.session.flush()
    cards = invite_scorers(
        evaluation,
        actor=actor,
        evaluator_ids=evaluator_ids,
        organisation_ids=organisation_ids,
        ilo_staff_ids=ilo_staff_ids,
    )
    if not cards:
        raise EvaluationError(_("Invite at least one person to score."))
    return evaluation


def invite_scorers(
    evaluation: Evaluation,
    *,
    actor: User,
    evaluator_ids: list[int],
    organisation_ids: list[int],
    ilo_staff_ids: list[int],
) -> list[Scorecard]:
    """A draft scorecard for each invitee not invited yet, in the right group.

    Evaluators score as independent, ILO staff as ILO, reporters for their organisation's
    constituency. Someone chosen twice gets one scorecard (evaluator first, then ILO staff).
    """
    if not workflow.takes_scores(evaluation.status):
        raise EvaluationError(_("This evaluation is closed."))
    candidates = invitation_candidates(evaluation.project)
    allowed_evaluators = {u.id: u for u in candidates.evaluators}
    allowed_ilo = {u.id: u for u in candidates.ilo_staff}
    if not set(evaluator_ids) <= set(allowed_evaluators) or not set(ilo_staff_ids) <= set(allowed_ilo):
        raise EvaluationError(_("Only members of the project can be invited."))
    if not set(organisation_ids) <= set(candidates.reporters):
        raise EvaluationError(_("Only partner organisations with reporters in the project can be invited."))

    wanted: dict[int, tuple[User, ScorerGroup]] = {}
    for user_id in evaluator_ids:
        wanted.setdefault(user_id, (allowed_evaluators[user_id], ScorerGroup.independent))
    for user_id in ilo_staff_ids:
        wanted.setdefault(user_id, (allowed_ilo[user_id], ScorerGroup.ilo))
    for org_id in organisation_ids:
        for user, organisation in candidates.reporters[org_id]:
            wanted.setdefault(user.id, (user, ORG_TO_SCORER_GROUP[organisation.group]))

    already = set(
        db.session.scalars(sa.select(Scorecard.scorer_id).where(Scorecard.evaluation_id == evaluation.id))
    )
    cards = []
    for user_id, (user, group) in wanted.items():
        if user_id in already:
            continue
        card = Scorecard(evaluation=evaluation, scorer=user, group=group, status=ScorecardStatus.draft)
        db.session.add(card)
        audit.record(db.session, "scorecard.invite", actor=actor, target=card)
        cards.append(card)
    db.session.flush()
    notification_events.scorers_invited(evaluation, cards, actor=actor)
    return cards


# For the invitation form: two specialists inviting the same people at once each get one scorecard
# per person (the second is told everyone chosen was invited already). `create_evaluation` calls
# invite_scorers itself, for an evaluation nobody else can see yet.
invite_more_scorers = retry_on_duplicate(invite_scorers)


@contextmanager
def _state_rules() -> Iterator[None]:
    """The workflow's refusals, as this feature's errors (the views answer them with 409)."""
    try:
        yield
    except workflow.StaleError as exc:
        raise ConflictError(str(exc)) from exc
    except workflow.WorkflowError as exc:
        raise EvaluationError(str(exc)) from exc


def close_evaluation(evaluation: Evaluation, *, actor: User, expected_version: int) -> None:
    with _state_rules():
        target = workflow.claim_evaluation(
            evaluation, workflow.EvaluationAction.close, expected_version=expected_version
        )
    evaluation.status = target
    evaluation.closed_by_id = actor.id
    evaluation.closed_at = utcnow()
    audit.record(db.session, "evaluation.close", actor=actor, target=evaluation)
    db.session.flush()
    notification_events.evaluation_closed(evaluation, actor=actor)


# --- scorecards -----------------------------------------------------------------------------------


@dataclass
class Answer:
    point: int | None = None
    cannot_assess: bool = False
    justification: str = ""
    evidence: list[dict[str, Any]] = field(default_factory=list)

    @property
    def is_answered(self) -> bool:
        return self.point is not None or self.cannot_assess


@dataclass(frozen=True)
class EvidenceChoice:
    key: str  # "indicator:12" or "submission:7"
    label: str


def evidence_choices(project_id: int) -> list[EvidenceChoice]:
    """Indicators and approved reports of the project, which a score may point at as evidence.

    Plain rows, not ORM objects: a long project has hundreds of approved reports, and only their
    labels are needed."""
    indicators = db.session.execute(
        sa.select(Indicator.id, Indicator.code, Indicator.title)
        .join(Result, Indicator.result_id == Result.id)
        .where(Indicator.project_id == project_id, Indicator.is_archived.is_(False))
        .order_by(Result.position, Result.code, Indicator.position, Indicator.code)
    ).all()
    reports = db.session.execute(
        sa.select(
            Submission.id, Submission.kind, Organisation.acronym, Organisation.name, ReportingPeriod.label
        )
        .join(Organisation, Organisation.id == Submission.organisation_id)
        .outerjoin(ReportingPeriod, ReportingPeriod.id == Submission.period_id)
        .where(Submission.project_id == project_id, Submission.status == Status.approved)
        .order_by(Submission.approved_at.desc(), Submission.id.desc())
    ).all()
    choices = [
        EvidenceChoice(f"indicator:{i.id}", _("Indicator %(code)s: %(title)s", code=i.code, title=i.title))
        for i in indicators
    ]
    for sub_id, kind, acronym, name, period_label in reports:
        org = acronym or name
        if kind is SubmissionKind.progress_report and period_label is not None:
            label = _("Approved report %(period)s, %(org)s", period=period_label, org=org)
        else:
            label = _("Approved design input, %(org)s", org=org)
        choices.append(EvidenceChoice(f"submission:{sub_id}", label))
    return choices


def parse_evidence(keys: list[str]) -> list[dict[str, Any]]:
    refs = []
    for key in keys:
        kind, _sep, raw_id = key.partition(":")
        ref_id = to_int(raw_id)
        if kind in ("indicator", "submission") and ref_id is not None:
            refs.append({"type": kind, "id": ref_id})
    return refs


def evidence_key(ref: dict[str, Any]) -> str:
    return f"{ref.get('type')}:{ref.get('id')}"


def load_scorecard(evaluation_id: int, scorer_id: int) -> Scorecard | None:
    return db.session.scalar(
        sa.select(Scorecard)
        .options(selectinload(Scorecard.scores))
        .where(Scorecard.evaluation_id == evaluation_id, Scorecard.scorer_id == scorer_id)
    )


def check_scorecard_state(card: Scorecard, *, submit: bool = False, reopen: bool = False) -> None:
    """Refuse (EvaluationError, 409) when the card's or its evaluation's state does not allow saving,
    submitting or reopening it now, before the user's input is even read."""
    if reopen:
        action = workflow.ScorecardAction.reopen
    else:
        action = workflow.ScorecardAction.submit if submit else workflow.ScorecardAction.save
    with _state_rules():
        workflow.scorecard_target(card.status, action, card.evaluation.status)


def save_scorecard(
    card: Scorecard,
    *,
    actor: User,
    expected_version: int,
    answers: dict[int, Answer],
    submit: bool,
) -> None:
    """Save the scorer's answers as a draft, or submit them (every criterion answered and justified).

    Refused when the evaluation is closed, the scorecard was submitted, or it changed since the
    scorer loaded it.
    """
    evaluation = card.evaluation
    if card.scorer_id != actor.id:
        raise EvaluationError(_("Only the person invited can fill this scorecard."))
    action = workflow.ScorecardAction.submit if submit else workflow.ScorecardAction.save
    with _state_rules():
        workflow.scorecard_target(card.status, action, evaluation.status)
    criteria = list(evaluation.criteria_set.criteria)
    valid_points = {p.value for p in evaluation.scale.points}
    allowed_evidence = {c.key for c in evidence_choices(evaluation.project_id)}
    for criterion in criteria:
        answer = answers.get(criterion.id, Answer())
        if answer.point is not None and (answer.cannot_assess or answer.point not in valid_points):
            raise EvaluationError(_("Choose a point of the scale or “cannot assess”."))
        if any(evidence_key(ref) not in allowed_evidence for ref in answer.evidence):
            raise EvaluationError(_("Evidence must be an indicator or an approved report of the project."))
        if submit and not (answer.is_answered and answer.justification.strip()):
            raise EvaluationError(
                _("Give every criterion a point or “cannot assess”, and a justification, before submitting.")
            )

    with _state_rules():
        target = workflow.claim_scorecard(
            card, action, evaluation=evaluation, expected_version=expected_version
        )
    existing = {score.criterion_id: score for score in card.scores}
    for criterion in criteria:
        answer = answers.get(criterion.id, Answer())
        score = existing.get(criterion.id)
        if score is None:
            if not answer.is_answered and not answer.justification.strip() and not answer.evidence:
                continue
            score = Score(scorecard=card, criterion=criterion)
            db.session.add(score)
        score.point = None if answer.cannot_assess else answer.point
        score.cannot_assess = answer.cannot_assess
        score.justification = answer.justification.strip()
        score.evidence = answer.evidence
    if action is workflow.ScorecardAction.submit:
        card.status = target
        card.submitted_at = utcnow()
    audit.record(db.session, "scorecard.submit" if submit else "scorecard.save", actor=actor, target=card)
    db.session.flush()


def reopen_scorecard(card: Scorecard, *, actor: User, expected_version: int, reason: str) -> None:
    """A specialist sends a submitted scorecard back to its scorer (reason required)."""
    if not reason.strip():
        raise EvaluationError(_("Say why the scorecard is reopened."))
    with _state_rules():
        card.status = workflow.claim_scorecard(
            card,
            workflow.ScorecardAction.reopen,
            evaluation=card.evaluation,
            expected_version=expected_version,
        )
    card.submitted_at = None
    audit.record(db.session, "scorecard.reopen", actor=actor, target=card, reason=reason.strip())
    db.session.flush()
    notification_events.scorecard_reopened(card, actor=actor, reason=reason)


def last_reopening(card: Scorecard) -> AuditEvent | None:
    """Who reopened the scorecard last and why (shown to its scorer), from the audit trail."""
    if card.status is not ScorecardStatus.draft:
        return None
    return db.session.scalar(
        sa.select(AuditEvent)
        .where(
            AuditEvent.entity_type == Scorecard.__tablename__,
            AuditEvent.entity_id == str(card.id),
            AuditEvent.action == "scorecard.reopen",
        )
        .order_by(AuditEvent.id.desc())
        .limit(1)
    )


def open_scorecards(user: Any, limit: int = 20) -> list[Scorecard]:
    """The user's scorecards still to fill: drafts of open evaluations of projects they belong to."""
    if not getattr(user, "is_authenticated", False):
        return []
    return list(
        db.session.scalars(
            sa.select(Scorecard)
            .join(Evaluation, Scorecard.evaluation_id == Evaluation.id)
            .options(joinedload(Scorecard.evaluation).joinedload(Evaluation.project))
            .where(
                Scorecard.scorer_id == user.id,
                Scorecard.status == ScorecardStatus.draft,
                Evaluation.status.in_(workflow.TAKES_SCORES),
                Evaluation.project_id.in_(
                    sa.select(Membership.project_id).where(Membership.user_id == user.id)
                ),
            )
            .order_by(Evaluation.deadline.is_(None), Evaluation.deadline, Evaluation.id)
            .limit(limit)
        )
    )


# --- consolidated results -------------------------------------------------------------------------


@dataclass
class IndividualScore:
    criterion_id: int
    scorecard_id: int
    scorer_name: str
    group: ScorerGroup
    point: int | None
    cannot_assess: bool
    justification: str


@dataclass
class Results:
    evaluation: Evaluation
    criteria: list[Criterion]
    groups: list[ScorerGroup]  # the groups with at least one submitted scorecard, in GROUP_ORDER
    summaries: dict[int, stats.CriterionSummary]  # by criterion id; groups keyed by ScorerGroup
    invited: dict[ScorerGroup, int]
    submitted: dict[ScorerGroup, int]
    individuals: list[IndividualScore] | None = None

    def summary(self, criterion_id: int) -> stats.CriterionSummary:
        return self.summaries.get(criterion_id) or stats.CriterionSummary(overall=stats.describe([]))

    @property
    def divergent_criteria(self) -> list[Criterion]:
        return [c for c in self.criteria if self.summary(c.id).is_divergent]

    @property
    def scorers(self) -> list[tuple[int, str, ScorerGroup, dict[int, IndividualScore]]]:
        """Individual scores as a matrix: (scorecard id, name, group, {criterion id: score})."""
        rows: dict[int, tuple[int, str, ScorerGroup, dict[int, IndividualScore]]] = {}
        for score in self.individuals or []:
            row = rows.setdefault(
                score.scorecard_id, (score.scorecard_id, score.scorer_name, score.group, {})
            )
            row[3][score.criterion_id] = score
        return list(rows.values())


def load_evaluation(evaluation_id: int) -> Evaluation | None:
    """An evaluation with its project, criteria and scale points, in a fixed number of queries."""
    return db.session.scalar(
        sa.select(Evaluation)
        .options(
            joinedload(Evaluation.project),
            joinedload(Evaluation.criteria_set).selectinload(CriteriaSet.criteria),
            joinedload(Evaluation.scale).selectinload(Scale.points),
        )
        .where(Evaluation.id == evaluation_id)
    )


def consolidated_results(evaluation: Evaluation, *, with_individuals: bool) -> Results:
    """Statistics of the submitted scorecards only, overall and per group; a fixed number of queries."""
    rows = db.session.execute(
        sa.select(Score.criterion_id, Scorecard.group, Score.point, Score.cannot_assess)
        .join(Scorecard, Score.scorecard_id == Scorecard.id)
        .where(Scorecard.evaluation_id == evaluation.id, Scorecard.status == ScorecardStatus.submitted)
    ).all()
    summaries = stats.consolidate(
        (criterion_id, group, None if cannot_assess else point)
        for criterion_id, group, point, cannot_assess in rows
    )
    invited: dict[ScorerGroup, int] = {}
    submitted: dict[ScorerGroup, int] = {}
    for group, status, count in db.session.execute(
        sa.select(Scorecard.group, Scorecard.status, sa.func.count())
        .where(Scorecard.evaluation_id == evaluation.id)
        .group_by(Scorecard.group, Scorecard.status)
    ):
        invited[group] = invited.get(group, 0) + count
        if status is ScorecardStatus.submitted:
            submitted[group] = submitted.get(group, 0) + count
    individuals = None
    if with_individuals:
        individuals = [
            IndividualScore(*row)
            for row in db.session.execute(
                sa.select(
                    Score.criterion_id,
                    Scorecard.id,
                    User.full_name,
                    Scorecard.group,
                    Score.point,
                    Score.cannot_assess,
                    Score.justification,
                )
                .join(Scorecard, Score.scorecard_id == Scorecard.id)
                .join(User, Scorecard.scorer_id == User.id)
                .where(
                    Scorecard.evaluation_id == evaluation.id,
                    Scorecard.status == ScorecardStatus.submitted,
                )
                .order_by(Scorecard.group, User.full_name, Scorecard.id)
            )
        ]
    return Results(
        evaluation=evaluation,
        criteria=list(evaluation.criteria_set.criteria),
        groups=[g for g in GROUP_ORDER if submitted.get(g)],
        summaries=summaries,
        invited=invited,
        submitted=submitted,
        individuals=individuals,
    )


def summary_source_rows(evaluation: Evaluation) -> list[tuple[Any, ...]]:
    """The points of the submitted scorecards, shaped as the downloads' score summary reads them
    (mel_app.exports.tables.summary_rows), so both CSV files of the statistics are one file."""
    head = (evaluation.id, evaluation.project.reference, evaluation.title, evaluation.status.value)
    rows = db.session.execute(
        sa.select(
            Criterion.id, Criterion.code, Criterion.name, Scorecard.group, Score.point, Score.cannot_assess
        )
        .join(Scorecard, Score.scorecard_id == Scorecard.id)
        .join(Criterion, Score.criterion_id == Criterion.id)
        .where(Scorecard.evaluation_id == evaluation.id, Scorecard.status == ScorecardStatus.submitted)
        .order_by(Criterion.position, Criterion.id)
    )
    return [
        (*head, criterion_id, code, name, group.value, None if cannot_assess else point)
        for criterion_id, code, name, group, point, cannot_assess in rows
    ]


# --- recommendations and management response ------------------------------------------------------


def _addressee(evaluation: Evaluation, organisation_id: int | None) -> Organisation | None:
    if organisation_id is None:
        return None
    for organisation in partner_organisations(evaluation.project_id):
        if organisation.id == organisation_id:
            return organisation
    raise EvaluationError(
        _(
            "A recommendation can be addressed only to a partner organisation of this project. "
            "Choose one of its partners, or write to whom it is addressed."
        )
    )


def add_recommendation(
    evaluation: Evaluation,
    *,
    actor: User,
    text: str,
    addressed_to: str,
    addressed_organisation_id: int | None = None,
) -> Recommendation:
    if not text.strip():
        raise EvaluationError(_("Write the recommendation."))
    organisation = _addressee(evaluation, addressed_organisation_id)
    position = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.max(Recommendation.position), -1)).where(
            Recommendation.evaluation_id == evaluation.id
        )
    )
    rec = Recommendation(
        evaluation=evaluation,
        position=position + 1,
        text=text.strip(),
        addressed_to=addressed_to.strip(),
        addressed_organisation=organisation,
        created_by_id=actor.id,
    )
    db.session.add(rec)
    audit.record(db.session, "recommendation.create", actor=actor, target=rec)
    db.session.flush()
    notification_events.recommendation_added(rec, actor=actor)
    notification_events.recommendation_addressed(rec, actor=actor)
    return rec


def update_recommendation(
    rec: Recommendation,
    *,
    actor: User,
    text: str,
    addressed_to: str,
    addressed_organisation_id: int | None = None,
) -> None:
    if rec.response is not None:
        raise EvaluationError(_("Management has responded to this recommendation: it can no longer change."))
    if not text.strip():
        raise EvaluationError(_("Write the recommendation."))
    organisation = _addressee(rec.evaluation, addressed_organisation_id)
    changed = organisation is not None and organisation.id != rec.addressed_organisation_id
    rec.text, rec.addressed_to = text.strip(), addressed_to.strip()
    rec.addressed_organisation = organisation
    audit.record(db.session, "recommendation.update", actor=actor, target=rec)
    db.session.flush()
    if changed:
        notification_events.recommendation_addressed(rec, actor=actor)


def respond_to_recommendation(
    rec: Recommendation,
    *,
    actor: User,
    response: ResponseKind,
    planned_action: str,
    due_date: date | None,
    action_status: ActionStatus,
) -> None:
    """Record (or update) the management response, as the ILO publishes it."""
    if response is not ResponseKind.rejected and not planned_action.strip():
        raise EvaluationError(_("Say what action is planned."))
    rec.response = response
    rec.planned_action = planned_action.strip()
    rec.due_date = due_date
    rec.action_status = action_status
    rec.responded_by_id = actor.id
    rec.responded_at = utcnow()
    audit.record(db.session, "recommendation.respond", actor=actor, target=rec)
    db.session.flush()
