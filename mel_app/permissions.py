"""Every access rule of the app, in one place (DESIGN.md §1–2).

Predicates `can_<verb>(user, obj) -> bool` are used by views, templates (to hide what a user may
not use) and tests alike. Deny by default. A non-member gets 404 for anything of a project, so
they cannot even learn that it exists; a member without the right role gets 403.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeAlias, TypeGuard

import sqlalchemy as sa
from flask import abort, current_app, g

from mel_app import workflow
from mel_app.audit.capture import project_id_of
from mel_app.extensions import db
from mel_app.models import (
    Attachment,
    AuditEvent,
    ChangeStory,
    Evaluation,
    EvaluationStatus,
    Membership,
    Phase,
    Project,
    Recommendation,
    Role,
    RoundCandidate,
    RoundMember,
    RoundStatus,
    Score,
    Scorecard,
    ScorecardStatus,
    SelectionRound,
    Status,
    StoryEvidence,
    StoryLevel,
    Submission,
    SubmissionKind,
    User,
)

if TYPE_CHECKING:
    from flask_login import AnonymousUserMixin

# Whom a rule is asked about: a signed-in user, the anonymous user, nobody (no request), or the
# command line's reader of exports (`SYSTEM_READER`). Only an active, signed-in `User` passes
# `_authenticated`.
Viewer: TypeAlias = "User | AnonymousUserMixin | _SystemReader | None"


def _authenticated(user: Viewer) -> TypeGuard[User]:
    """Signed in with an active account (the anonymous user and the command line's reader are not)."""
    return bool(user is not None and getattr(user, "is_authenticated", False) and user.is_active)


def roles_in(user: Viewer, project_id: int) -> frozenset[Role]:
    """The user's roles in a project, memoised for the request (one query per project)."""
    if not _authenticated(user):
        return frozenset()
    cache: dict[tuple[int, int], frozenset[Role]] = g.setdefault("_roles_cache", {})
    key = (user.id, project_id)
    if key not in cache:
        cache[key] = frozenset(
            db.session.scalars(
                sa.select(Membership.role).where(
                    Membership.user_id == user.id, Membership.project_id == project_id
                )
            )
        )
    return cache[key]


def roles_anywhere(user: Viewer) -> frozenset[Role]:
    """The roles the user holds in at least one project, memoised for the request (one query).

    Every "may use this feature somewhere" check (the navigation asks several) reads this set."""
    if not _authenticated(user):
        return frozenset()
    cache: dict[int, frozenset[Role]] = g.setdefault("_roles_anywhere_cache", {})
    if user.id not in cache:
        cache[user.id] = frozenset(
            db.session.scalars(sa.select(Membership.role).where(Membership.user_id == user.id).distinct())
        )
    return cache[user.id]


def has_role(user: Viewer, project: Project | int, *roles: Role) -> bool:
    project_id = project if isinstance(project, int) else project.id
    return bool(roles_in(user, project_id) & set(roles))


def is_member(user: Viewer, project: Project | int) -> bool:
    project_id = project if isinstance(project, int) else project.id
    return bool(roles_in(user, project_id))


def is_admin(user: Viewer) -> TypeGuard[User]:
    return _authenticated(user) and bool(user.is_admin)


def can_view_project(user: Viewer, project: Project | int) -> bool:
    return is_admin(user) or is_member(user, project)


def visible_project_ids(user: Viewer) -> sa.Select[tuple[int]]:
    """A subquery of the ids of projects the user may see, for filtering lists in SQL."""
    if is_admin(user):
        return sa.select(Project.id)
    return sa.select(Membership.project_id).where(
        Membership.user_id == (user.id if _authenticated(user) else -1)
    )


def require(allowed: bool, *, visible: bool = False) -> None:
    """Abort unless allowed: 403 when the user may see the object, else 404."""
    if not allowed:
        abort(403 if visible else 404)


def require_project_access(user: Viewer, project: Project) -> None:
    """404 for anyone who may not know that the project exists."""
    require(can_view_project(user, project))


# Functions templates may call, e.g. {% if can('view_project', project) %}.
TEMPLATE_PREDICATES: dict[str, Callable[[Viewer, Any], bool]] = {
    "view_project": can_view_project,
}


def can(user: Viewer, action: str, obj: Any = None) -> bool:
    """`obj` is whatever the template passes; each predicate states what it reads."""
    predicate = TEMPLATE_PREDICATES.get(action)
    if predicate is None:
        return False  # deny unknown actions rather than guess
    return bool(predicate(user, obj))


def template_can(user: Viewer) -> Callable[..., bool]:
    """The `can(action, obj=None)` of templates, for one request's user.

    The navigation of every page asks the same "may use this feature somewhere" questions (no
    object): their answers are kept for the rest of the request, keyed by user and action, so a
    page that renders several templates asks each rule once. Questions about an object are asked
    every time."""
    memo: dict[tuple[int | None, str], bool] = g.setdefault("_template_can", {})
    user_id = getattr(user, "id", None) if _authenticated(user) else None

    def template_can_(action: str, obj: Any = None) -> bool:
        if obj is not None:
            return can(user, action, obj)
        key = (user_id, action)
        if key not in memo:
            memo[key] = can(user, action)
        return memo[key]

    return template_can_


# --- evaluations ---
# Who may do what in participatory evaluations (DESIGN.md §2, issue #6). A scorer never sees
# anyone else's scores (nor figures derived from them) before their own scorecard is submitted,
# so nobody anchors on the first opinion.


def can_manage_criteria(user: Viewer, obj: object = None) -> bool:
    """Criteria sets and scales are managed by administrators."""
    return is_admin(user)


def can_open_evaluation(user: Viewer, project: Project) -> bool:
    return has_role(user, project, Role.specialist)


def can_view_evaluation(user: Viewer, evaluation: Evaluation) -> bool:
    return can_view_project(user, evaluation.project_id)


def visible_evaluation_filter(user: Viewer) -> sa.ColumnElement[bool]:
    """A WHERE clause on `Evaluation` keeping those the user may see (the SQL twin of
    `can_view_evaluation`), for lists built in SQL."""
    return Evaluation.project_id.in_(visible_project_ids(user))


def can_manage_evaluation(user: Viewer, evaluation: Evaluation) -> bool:
    """Close, invite, reopen scorecards, respond to recommendations: specialists of the project."""
    return has_role(user, evaluation.project_id, Role.specialist)


def own_scorecard_status(user: Viewer, evaluation: Evaluation) -> ScorecardStatus | None:
    """The status of the user's own scorecard in the evaluation (None if not invited), memoised."""
    if not _authenticated(user):
        return None
    cache: dict[tuple[int, int], ScorecardStatus | None] = g.setdefault("_own_scorecard_cache", {})
    key = (user.id, evaluation.id)
    if key not in cache:
        cache[key] = db.session.scalar(
            sa.select(Scorecard.status).where(
                Scorecard.evaluation_id == evaluation.id, Scorecard.scorer_id == user.id
            )
        )
    return cache[key]


def _not_anchored(user: Viewer, evaluation: Evaluation) -> bool:
    """True unless the user has a scorecard in this evaluation that is not submitted yet."""
    status = own_scorecard_status(user, evaluation)
    return status is None or status is ScorecardStatus.submitted


def can_view_individual_scores(user: Viewer, evaluation: Evaluation) -> bool:
    """Individual scores with names: evaluators and specialists of the project only."""
    return has_role(user, evaluation.project_id, Role.evaluator, Role.specialist) and _not_anchored(
        user, evaluation
    )


def can_view_results(user: Viewer, evaluation: Evaluation) -> bool:
    """The consolidated view (and the recommendations): evaluators and specialists; the other
    members of the project (constituents, observers) once the evaluation is closed."""
    if not can_view_evaluation(user, evaluation) or not _not_anchored(user, evaluation):
        return False
    if is_admin(user) or has_role(user, evaluation.project_id, Role.evaluator, Role.specialist):
        return True
    return evaluation.status is EvaluationStatus.closed


# --- blind scoring: one rule for every place a score appears -------------------------------------
# A scorecard's contents (its scores: points, "cannot assess", justifications, evidence) are read by
# its scorer, and by anyone else only once the card is submitted and the reader may read the
# submitted scores of its evaluation. A draft is never read by anyone but its scorer, administrators
# included. Pages, History tabs, the audit trail and its CSV, and every download apply this rule:
# objects through `can_view_scorecard_contents`, SQL through `visible_scorecard_filter` (and
# `visible_audit_event_filter` for the trail), both built from the same three parts below.
# (Aggregates of submitted scores on the consolidated view follow `can_view_results`; who may see
# the scorers' names follows `can_view_individual_scores` and `scorer_names_project_ids`.)

# Who reads the submitted scores of an evaluation, besides not being anchored: administrators,
# evaluators and specialists of the project; observers once it is closed (as in the downloads).
SCORE_READER_ROLES = (Role.evaluator, Role.specialist)


def can_read_submitted_scores(user: Viewer, evaluation: Evaluation) -> bool:
    """Whether the user may read the submitted scorecards of an evaluation, one by one."""
    if not _authenticated(user) or not _not_anchored(user, evaluation):
        return False
    if is_admin(user) or has_role(user, evaluation.project_id, *SCORE_READER_ROLES):
        return True
    return evaluation.status is EvaluationStatus.closed and has_role(
        user, evaluation.project_id, Role.observer
    )


def can_view_scorecard_contents(user: Viewer, scorecard: Scorecard) -> bool:
    """The blind-scoring rule for one scorecard (and each of its scores)."""
    if not _authenticated(user):
        return False
    if scorecard.scorer_id == user.id:
        return True
    return scorecard.status is ScorecardStatus.submitted and can_read_submitted_scores(
        user, scorecard.evaluation
    )


def anchored_evaluation_ids(user: Viewer) -> sa.Select[tuple[int]]:
    """Evaluations where the user has a scorecard not submitted (the SQL twin of `_not_anchored`):
    they read nobody's scores there, even once the evaluation is closed."""
    return sa.select(Scorecard.evaluation_id).where(
        Scorecard.scorer_id == (user.id if _authenticated(user) else -1),
        Scorecard.status != ScorecardStatus.submitted,
    )


def score_readable_evaluation_ids(user: Viewer) -> sa.Select[tuple[int]]:
    """Evaluations whose submitted scores the user may read (the SQL twin of
    `can_read_submitted_scores`)."""
    if not _authenticated(user):
        return sa.select(Evaluation.id).where(sa.false())
    query = sa.select(Evaluation.id).where(Evaluation.id.not_in(anchored_evaluation_ids(user)))
    if is_admin(user):
        return query
    readers = sa.select(Membership.project_id).where(
        Membership.user_id == user.id, Membership.role.in_(SCORE_READER_ROLES)
    )
    observers = sa.select(Membership.project_id).where(
        Membership.user_id == user.id, Membership.role == Role.observer
    )
    return query.where(
        sa.or_(
            Evaluation.project_id.in_(readers),
            sa.and_(Evaluation.status == EvaluationStatus.closed, Evaluation.project_id.in_(observers)),
        )
    )


def visible_scorecard_filter(user: Viewer) -> sa.ColumnElement[bool]:
    """A WHERE clause on `Scorecard` keeping the cards whose contents the user may read."""
    if not _authenticated(user):
        return sa.false()
    return sa.or_(
        Scorecard.scorer_id == user.id,
        sa.and_(
            Scorecard.status == ScorecardStatus.submitted,
            Scorecard.evaluation_id.in_(score_readable_evaluation_ids(user)),
        ),
    )


def visible_audit_event_filter(user: Viewer) -> sa.ColumnElement[bool]:
    """A WHERE clause on `AuditEvent` leaving out the events of scores the user may not read.

    A score's events (its creation, every change of its point or justification) carry its
    contents; they are kept only for scores of cards the user may read now, found through the
    score table (an update event names only the changed fields, not the card), so the events of
    a deleted score are left out. Events of a scorecard itself (invited, saved, submitted,
    reopened) hold no score and stay in the trail of those who read the project's trail, as the
    evaluation page shows them the cards' status."""
    # One primary-key lookup per score event (the CASE keeps other records' ids, which need not
    # be numbers, away from the cast), rather than a set of every readable score.
    score_id = sa.case((AuditEvent.entity_type == "score", sa.cast(AuditEvent.entity_id, sa.Integer)))
    readable = (
        sa.select(Score.id)
        .join(Scorecard, Scorecard.id == Score.scorecard_id)
        .where(Score.id == score_id, visible_scorecard_filter(user))
        .exists()
    )
    scores = sa.or_(AuditEvent.entity_type.is_(None), AuditEvent.entity_type != "score", readable)
    return sa.and_(scores, story_audit_filter(user))


def can_view_scorecard(user: Viewer, scorecard: Scorecard) -> bool:
    """Someone else's scorecard page: a submitted card for those who may read its contents with
    its scorer's name; a draft (only that it exists, never its scores) for the evaluation's managers."""
    if scorecard.status is ScorecardStatus.submitted:
        return can_view_named_scores(user, scorecard)
    return can_manage_evaluation(user, scorecard.evaluation)


def can_view_named_scores(user: Viewer, scorecard: Scorecard) -> bool:
    """A scorecard's scores beside its scorer's name: the blind-scoring rule and the names rule."""
    return can_view_scorecard_contents(user, scorecard) and can_view_individual_scores(
        user, scorecard.evaluation
    )


def can_view_scorers(user: Viewer, evaluation: Evaluation) -> bool:
    """The list of scorecards of an evaluation (who was invited, whose card is in)."""
    return can_manage_evaluation(user, evaluation) or can_view_individual_scores(user, evaluation)


# Who may act on a scorecard or an evaluation (`may_…`: 403/404 when not), and whether its state
# allows it now (the workflow's tables: 409 when not). `can_…` is both, for showing a button.


def may_score(user: Viewer, scorecard: Scorecard) -> bool:
    """One's own scorecard, in a project one belongs to."""
    return (
        _authenticated(user)
        and scorecard.scorer_id == user.id
        and is_member(user, scorecard.evaluation.project_id)
    )


def can_score(user: Viewer, scorecard: Scorecard) -> bool:
    """Fill one's own scorecard while it is a draft and the evaluation is open."""
    return may_score(user, scorecard) and workflow.scorecard_allowed(
        scorecard.status, workflow.ScorecardAction.save, scorecard.evaluation.status
    )


def can_reopen_scorecard(user: Viewer, scorecard: Scorecard) -> bool:
    return can_manage_evaluation(user, scorecard.evaluation) and workflow.scorecard_allowed(
        scorecard.status, workflow.ScorecardAction.reopen, scorecard.evaluation.status
    )


def can_close_evaluation(user: Viewer, evaluation: Evaluation) -> bool:
    return can_manage_evaluation(user, evaluation) and workflow.EVALUATION.allowed(
        evaluation.status, workflow.EvaluationAction.close
    )


def can_invite_scorers(user: Viewer, evaluation: Evaluation) -> bool:
    return can_manage_evaluation(user, evaluation) and workflow.takes_scores(evaluation.status)


def can_add_recommendation(user: Viewer, evaluation: Evaluation) -> bool:
    """Evaluators of the project, once their own scorecard (if they have one) is in: the
    recommendations sit beside the results, which they may not read before that."""
    return has_role(user, evaluation.project_id, Role.evaluator) and _not_anchored(user, evaluation)


def can_edit_recommendation(user: Viewer, recommendation: Recommendation) -> bool:
    """The evaluator who wrote it, until management has responded."""
    return (
        _authenticated(user)
        and recommendation.created_by_id == user.id
        and recommendation.response is None
        and has_role(user, recommendation.evaluation.project_id, Role.evaluator)
    )


def can_respond_to_recommendation(user: Viewer, recommendation: Recommendation) -> bool:
    return can_manage_evaluation(user, recommendation.evaluation)


def is_addressed_reporter(user: Any, recommendation: Any) -> bool:
    """A reporter, on the project, of the partner organisation the recommendation is addressed to
    (told of it and reminded of its planned action, once they may read the results)."""
    organisation_id = recommendation.addressed_organisation_id
    return organisation_id is not None and (
        reporter_organisation_id(user, recommendation.evaluation.project_id) == organisation_id
    )


# --- access (accounts, memberships, administration) ---


def can_manage_members(user: Viewer, project: Project | int) -> bool:
    """See a project's members, add, invite and remove them: its specialists, and administrators."""
    return is_admin(user) or has_role(user, project, Role.specialist)


def can_administer_users(user: Viewer, _obj: object = None) -> bool:
    return is_admin(user)


def can_administer_organisations(user: Viewer, _obj: object = None) -> bool:
    return is_admin(user)


def can_change_account_status(user: Viewer, account: User | None) -> bool:
    """Deactivate, reactivate or take the admin flag from an account; never one's own (no lock-out)."""
    return is_admin(user) and account is not None and account.id != user.id


def can_edit_own_account(user: Viewer, account: User | None = None) -> bool:
    """The profile page: only signed-in users, only their own account."""
    return _authenticated(user) and (account is None or account.id == user.id)


# --- two-factor sign-in ---
# Who must use a second factor (TWO_FACTOR_REQUIRED_ROLES), who may switch it off, who resets it.


def two_factor_exempt(user: Viewer) -> bool:
    """Demo accounts where the demo switch is on: their published password alone signs them in."""
    return bool(getattr(user, "is_demo", False)) and bool(current_app.config.get("DEMO_ACCOUNTS_SKIP_2FA"))


def two_factor_required(user: Viewer, _obj: object = None) -> bool:
    """Whether the user's roles oblige them to sign in with a second factor.

    "admin" stands for administrators; the other names are project roles held anywhere. The
    project roles are read only when the configuration needs them (one query, memoised)."""
    required = current_app.config.get("TWO_FACTOR_REQUIRED_ROLES") or frozenset()
    if not required or not _authenticated(user) or two_factor_exempt(user):
        return False
    if "admin" in required and user.is_admin:
        return True
    return any(role.value in required for role in roles_anywhere(user))


def asks_second_factor(user: Viewer) -> bool:
    """Whether a right password must be followed by a code before the user is signed in."""
    return bool(getattr(user, "two_factor_enabled", False)) and not two_factor_exempt(user)


def must_enrol_two_factor(user: Viewer) -> bool:
    """Signed in, obliged to use a second factor and without one yet: only its set-up is open."""
    return (
        _authenticated(user) and not getattr(user, "two_factor_enabled", False) and two_factor_required(user)
    )


def staff_for_two_factor(user: Viewer) -> bool:
    """Whether the user holds a role of TWO_FACTOR_REQUIRED_ROLES, demo account or not."""
    required = current_app.config.get("TWO_FACTOR_REQUIRED_ROLES") or frozenset()
    if not required or not _authenticated(user):
        return False
    if "admin" in required and user.is_admin:
        return True
    return any(role.value in required for role in roles_anywhere(user))


def can_create_api_token(user: Viewer, _obj: object = None) -> bool:
    """Personal access tokens: anyone signed in, but staff whose roles require two-factor sign-in
    only once it is on (a token outlives a session, so it is not created behind one password)."""
    if not _authenticated(user):
        return False
    return not staff_for_two_factor(user) or bool(getattr(user, "two_factor_enabled", False))


def can_turn_off_two_factor(user: Viewer, _obj: object = None) -> bool:
    """One's own second factor, unless one's role requires it."""
    return _authenticated(user) and not two_factor_required(user)


def can_reset_two_factor(user: Viewer, account: User | None) -> bool:
    """An administrator resets someone else's second factor (a lost phone); never their own,
    which would let a stolen session of theirs remove it."""
    return is_admin(user) and account is not None and account.id != user.id


TEMPLATE_PREDICATES.update(
    {
        "manage_criteria": can_manage_criteria,
        "open_evaluation": can_open_evaluation,
        "view_evaluation": can_view_evaluation,
        "manage_evaluation": can_manage_evaluation,
        "view_individual_scores": can_view_individual_scores,
        "view_results": can_view_results,
        "view_scorecard_contents": can_view_scorecard_contents,
        "score": can_score,
        "view_scorecard": can_view_scorecard,
        "view_scorers": can_view_scorers,
        "reopen_scorecard": can_reopen_scorecard,
        "close_evaluation": can_close_evaluation,
        "add_recommendation": can_add_recommendation,
        "edit_recommendation": can_edit_recommendation,
        "respond_to_recommendation": can_respond_to_recommendation,
        "manage_members": can_manage_members,
        "administer_users": can_administer_users,
        "administer_organisations": can_administer_organisations,
        "change_account_status": can_change_account_status,
        "edit_own_account": can_edit_own_account,
        "turn_off_two_factor": can_turn_off_two_factor,
        "reset_two_factor": can_reset_two_factor,
        "two_factor_required": two_factor_required,
        "create_api_token": can_create_api_token,
    }
)


# --- projects ---
def _has_any_role(user: Viewer, *roles: Role) -> bool:
    """Whether the user holds one of the roles in at least one project (memoised for the request)."""
    return bool(roles_anywhere(user) & set(roles))


def can_create_project(user: Viewer, _obj: object = None) -> bool:
    """Administrators, and specialists of at least one project. The creator becomes its specialist."""
    return is_admin(user) or _has_any_role(user, Role.specialist)


def can_edit_project(user: Viewer, project: Project) -> bool:
    """Project details, partners, results framework and reporting periods: the project's specialists."""
    return _authenticated(user) and has_role(user, project, Role.specialist)


def can_edit_framework(user: Viewer, project: Project) -> bool:
    return can_edit_project(user, project)


def can_manage_periods(user: Viewer, project: Project) -> bool:
    return can_edit_project(user, project)


def can_publish_project(user: Viewer, project: Project) -> bool:
    """Make the project's public dashboard and IATI activity visible, or withdraw them: whoever
    may edit the project (its specialists). What the public sees is approved data only."""
    return can_edit_project(user, project)


def can_view_outcomes(user: Viewer, project: Project) -> bool:
    """A project's outcome statements: whoever sees the project's own pages (its members, reporters
    included, and administrators)."""
    return can_view_project(user, project)


def can_record_outcome(user: Viewer, project: Project) -> bool:
    """Record or edit an outcome statement: the project's specialists, as for the rest of the
    project's record (administrators read it)."""
    return can_edit_project(user, project)


def public_project_ids() -> sa.Select[tuple[int]]:
    """Projects anyone may read without signing in: those published by their specialists."""
    return sa.select(Project.id).where(Project.published_at.is_not(None))


# --- change stories (Most Significant Change) ---
# Who reads a story: one rule, `can_read_story`, and its SQL twin `readable_story_filter`, used by
# the Stories tab, the story page and its evidence file, the public page, the downloads and the
# trail. A storyteller's words go outside the project only with their consent (`share_consent`):
# - members of the project (any role) read all its stories;
# - anyone else who may see the project (administrators) reads only the consented ones;
# - a member of a selection round that reads the story reads it when it is consented (or when
#   they are members of the project);
# - the public (and everyone) reads a consented story of a published project.
# The command line's reader of exports is no member: consented stories only.


def can_view_stories(user: Viewer, project: Project) -> bool:
    """A project's Stories tab (it lists only the stories the user may read)."""
    return can_view_project(user, project)


STORYTELLER_ROLES = (Role.reporter, Role.specialist, Role.evaluator)


def can_tell_story(user: Viewer, project: Project) -> bool:
    """Tell a story of change: the project's reporters, specialists and evaluators (not observers)."""
    return has_role(user, project, *STORYTELLER_ROLES)


def can_manage_story_domains(user: Viewer, project: Project) -> bool:
    """A project's domains of change: its specialists."""
    return can_edit_project(user, project)


def _round_reader_story_ids(user: User) -> sa.Select[tuple[int]]:
    """Stories read in a selection round the user is a member of."""
    return (
        sa.select(RoundCandidate.story_id)
        .join(RoundMember, RoundMember.round_id == RoundCandidate.round_id)
        .where(RoundMember.user_id == user.id)
    )


def can_read_story(user: Viewer, story: ChangeStory) -> bool:
    """Whether the user may read the story (its page, its evidence file, its row in a download)."""
    if user is SYSTEM_READER:
        return bool(story.share_consent)
    if is_member(user, story.project_id):
        return True
    if not story.share_consent:
        return False
    if is_admin(user):
        return True
    published = db.session.scalar(
        sa.select(sa.exists(public_project_ids().where(Project.id == story.project_id)))
    )
    if published:
        return True
    if not _authenticated(user):
        return False
    return bool(
        db.session.scalar(
            sa.select(sa.exists(_round_reader_story_ids(user).where(RoundCandidate.story_id == story.id)))
        )
    )


def can_read_story_in_round(user: Viewer, story: ChangeStory, selection_round: SelectionRound) -> bool:
    """`can_read_story` for a story the round reads, without a query per story on the round's page:
    the round's members read it when it is consented; anyone else as `can_read_story` says."""
    if story.share_consent and is_round_member(user, selection_round):
        return True
    return can_read_story(user, story)


def readable_story_filter(user: Viewer, story: Any = ChangeStory) -> sa.ColumnElement[bool]:
    """A WHERE clause on `ChangeStory` keeping the stories the user may read (the SQL twin of
    `can_read_story`), for lists, the public page and the downloads."""
    consented: sa.ColumnElement[bool] = story.share_consent.is_(True)
    if user is SYSTEM_READER:
        return consented
    clauses: list[sa.ColumnElement[bool]] = [sa.and_(consented, story.project_id.in_(public_project_ids()))]
    if _authenticated(user):
        clauses.append(
            story.project_id.in_(sa.select(Membership.project_id).where(Membership.user_id == user.id))
        )
        if is_admin(user):
            clauses.append(consented)
        else:
            clauses.append(sa.and_(consented, story.id.in_(_round_reader_story_ids(user))))
    return sa.or_(*clauses)


def may_edit_story(user: Viewer, story: ChangeStory) -> bool:
    """Who may change a story: its storyteller, while they may still tell stories in the project."""
    return (
        _authenticated(user) and story.told_by_id == user.id and can_tell_story(user, story.project_id)  # type: ignore[arg-type]
    )


def story_read_in_a_round(story: ChangeStory) -> bool:
    """Whether a selection round reads the story (it can then no longer be changed)."""
    cache: dict[int, bool] = g.setdefault("_story_in_round_cache", {})
    if story.id not in cache:
        cache[story.id] = bool(
            db.session.scalar(sa.select(sa.exists().where(RoundCandidate.story_id == story.id)))
        )
    return cache[story.id]


def can_edit_story(user: Viewer, story: ChangeStory) -> bool:
    """Change a story (a button): its storyteller, until a selection round reads it."""
    return may_edit_story(user, story) and not story_read_in_a_round(story)


def can_download_story_evidence(user: Viewer, evidence: StoryEvidence) -> bool:
    """A story's evidence file: whoever reads the story (never the public: its page has no file)."""
    return _authenticated(user) and can_read_story(user, evidence.story)


def story_audit_filter(user: Viewer) -> sa.ColumnElement[bool]:
    """A WHERE clause on `AuditEvent` leaving out the events of stories (and their evidence files)
    the user may not read: an administrator who is not a member of the project reads its History
    tab and the trail, but not the stories told without consent."""
    if not _authenticated(user):
        return sa.false()
    members_of = sa.select(Membership.project_id).where(Membership.user_id == user.id)
    story_id = sa.case((AuditEvent.entity_type == "change_story", sa.cast(AuditEvent.entity_id, sa.Integer)))
    evidence_id = sa.case(
        (AuditEvent.entity_type == "story_evidence", sa.cast(AuditEvent.entity_id, sa.Integer))
    )
    readable_story = (
        sa.select(ChangeStory.id).where(ChangeStory.id == story_id, readable_story_filter(user)).exists()
    )
    readable_evidence = (
        sa.select(StoryEvidence.id)
        .join(ChangeStory, ChangeStory.id == StoryEvidence.story_id)
        .where(StoryEvidence.id == evidence_id, readable_story_filter(user))
        .exists()
    )
    return sa.or_(
        AuditEvent.entity_type.is_(None),
        AuditEvent.entity_type.not_in(("change_story", "story_evidence")),
        AuditEvent.project_id.in_(members_of),
        readable_story,
        readable_evidence,
    )


def can_view_portfolio(user: Viewer, _obj: object = None) -> bool:
    return is_admin(user) or _has_any_role(user, Role.specialist, Role.evaluator)


def portfolio_project_ids(user: Viewer) -> sa.Select[tuple[int]]:
    """Projects on the user's portfolio: all for administrators, else where specialist or evaluator."""
    if is_admin(user):
        return sa.select(Project.id)
    return sa.select(Membership.project_id).where(
        Membership.user_id == (user.id if _authenticated(user) else -1),
        Membership.role.in_((Role.specialist, Role.evaluator)),
    )


def can_view_all_report_statuses(user: Viewer, project: Project) -> bool:
    """Every organisation's row of the status grid; reporters see only their own organisation's."""
    return is_admin(user) or has_role(user, project, Role.specialist, Role.evaluator, Role.observer)


TEMPLATE_PREDICATES.update(
    {
        "create_project": can_create_project,
        "edit_project": can_edit_project,
        "publish_project": can_publish_project,
        "edit_framework": can_edit_framework,
        "manage_periods": can_manage_periods,
        "view_outcomes": can_view_outcomes,
        "record_outcome": can_record_outcome,
        "view_stories": can_view_stories,
        "tell_story": can_tell_story,
        "manage_story_domains": can_manage_story_domains,
        "read_story": can_read_story,
        "edit_story": can_edit_story,
        "view_portfolio": can_view_portfolio,
        "view_all_report_statuses": can_view_all_report_statuses,
    }
)


# --- submissions ---
# Who may see and act on design input and progress reports (DESIGN.md §1, §3). Reporters see
# only their own organisation's submissions; evaluators and observers only approved ones;
# administrators read everything and change nothing.


def reporter_organisation_id(user: Viewer, project_id: int) -> int | None:
    """The organisation the user reports for in a project (memoised for the request)."""
    if not _authenticated(user):
        return None
    cache: dict[tuple[int, int], int | None] = g.setdefault("_reporter_org_cache", {})
    key = (user.id, project_id)
    if key not in cache:
        cache[key] = db.session.scalar(
            sa.select(Membership.organisation_id).where(
                Membership.user_id == user.id,
                Membership.project_id == project_id,
                Membership.role == Role.reporter,
            )
        )
    return cache[key]


def is_submission_reporter(user: Viewer, sub: Submission) -> bool:
    """A reporter of the project for the submission's organisation."""
    return (
        has_role(user, sub.project_id, Role.reporter)
        and reporter_organisation_id(user, sub.project_id) == sub.organisation_id
    )


def is_submission_reviewer(user: Viewer, sub: Submission) -> bool:
    """A specialist of the project, who is not the submission's author."""
    return (
        _authenticated(user) and has_role(user, sub.project_id, Role.specialist) and sub.author_id != user.id
    )


def can_view_submission(user: Viewer, sub: Submission) -> bool:
    if not _authenticated(user):
        return False
    if is_admin(user) or has_role(user, sub.project_id, Role.specialist):
        return True
    if is_submission_reporter(user, sub):
        return True
    return sub.status is Status.approved and has_role(user, sub.project_id, Role.evaluator, Role.observer)


def can_edit_submission(user: Viewer, sub: Submission) -> bool:
    return is_submission_reporter(user, sub) and workflow.is_editable(sub.status)


def can_submit_submission(user: Viewer, sub: Submission) -> bool:
    return is_submission_reporter(user, sub) and workflow.allowed(sub.status, workflow.Action.submit)


def can_return_submission(user: Viewer, sub: Submission) -> bool:
    return is_submission_reviewer(user, sub) and workflow.allowed(sub.status, workflow.Action.return_)


def can_approve_submission(user: Viewer, sub: Submission) -> bool:
    return is_submission_reviewer(user, sub) and workflow.allowed(sub.status, workflow.Action.approve)


def can_reopen_submission(user: Viewer, sub: Submission) -> bool:
    return is_submission_reviewer(user, sub) and workflow.allowed(sub.status, workflow.Action.reopen)


def may_withdraw_submission(user: Viewer, sub: Submission) -> bool:
    """Who may withdraw: its author, while a reporter for its organisation (whatever its state)."""
    return _authenticated(user) and sub.author_id == user.id and is_submission_reporter(user, sub)


def can_withdraw_submission(user: Viewer, sub: Submission) -> bool:
    return may_withdraw_submission(user, sub) and workflow.allowed(sub.status, workflow.Action.withdraw)


def may_respond_to_design_input(user: Viewer, sub: Submission) -> bool:
    """Who records the ILO's responses to design input: its reviewers (whatever its state)."""
    return sub.kind is SubmissionKind.design_input and is_submission_reviewer(user, sub)


def can_respond_to_design_input(user: Viewer, sub: Submission) -> bool:
    return may_respond_to_design_input(user, sub) and sub.status in workflow.RESPONDABLE


def can_see_comments(user: Viewer, sub: Submission) -> bool:
    """The conversation between the ILO and the organisation; not for evaluators or observers."""
    return (
        is_admin(user) or has_role(user, sub.project_id, Role.specialist) or is_submission_reporter(user, sub)
    )


def can_see_internal_comments(user: Viewer, sub: Submission) -> bool:
    """ILO-internal notes: never shown to constituents."""
    return is_admin(user) or has_role(user, sub.project_id, Role.specialist)


def can_comment_on_submission(user: Viewer, sub: Submission) -> bool:
    if sub.status is Status.withdrawn:
        return False
    return has_role(user, sub.project_id, Role.specialist) or is_submission_reporter(user, sub)


def can_comment_internally(user: Viewer, sub: Submission) -> bool:
    return has_role(user, sub.project_id, Role.specialist)


def can_download_attachment(user: Viewer, attachment: Attachment) -> bool:
    return can_view_submission(user, attachment.submission)


def can_start_report(user: Viewer, project: Project) -> bool:
    return (
        project.phase is not Phase.closed
        and has_role(user, project, Role.reporter)
        and reporter_organisation_id(user, project.id) is not None
    )


def can_start_design_input(user: Viewer, project: Project) -> bool:
    """New design input is collected while the project is in design (a reopened one stays open)."""
    return project.phase is Phase.design and can_start_report(user, project)


def can_use_review_queue(user: Viewer, _obj: object = None) -> bool:
    return Role.specialist in roles_anywhere(user)


def visible_submission_filter(user: Viewer) -> sa.ColumnElement[bool]:
    """A WHERE clause limiting submissions to those the user may see, for lists built in SQL."""
    if is_admin(user):
        return sa.true()
    uid = user.id if _authenticated(user) else -1
    specialist_projects = sa.select(Membership.project_id).where(
        Membership.user_id == uid, Membership.role == Role.specialist
    )
    reporter_pairs = sa.select(Membership.project_id, Membership.organisation_id).where(
        Membership.user_id == uid, Membership.role == Role.reporter
    )
    reader_projects = sa.select(Membership.project_id).where(
        Membership.user_id == uid, Membership.role.in_([Role.evaluator, Role.observer])
    )
    return sa.or_(
        Submission.project_id.in_(specialist_projects),
        sa.tuple_(Submission.project_id, Submission.organisation_id).in_(reporter_pairs),
        sa.and_(Submission.status == Status.approved, Submission.project_id.in_(reader_projects)),
    )


TEMPLATE_PREDICATES.update(
    {
        "view_submission": can_view_submission,
        "edit_submission": can_edit_submission,
        "submit_submission": can_submit_submission,
        "return_submission": can_return_submission,
        "approve_submission": can_approve_submission,
        "reopen_submission": can_reopen_submission,
        "withdraw_submission": can_withdraw_submission,
        "respond_to_design_input": can_respond_to_design_input,
        "see_comments": can_see_comments,
        "see_internal_comments": can_see_internal_comments,
        "comment_on_submission": can_comment_on_submission,
        "comment_internally": can_comment_internally,
        "download_attachment": can_download_attachment,
        "start_report": can_start_report,
        "start_design_input": can_start_design_input,
        "use_review_queue": can_use_review_queue,
    }
)


# --- audit ---
# Who reads which part of the audit trail. Conservative: a history shows every past value of a
# record, so only those who may see all of it today read it.


def _specialist_project_ids(user: Viewer) -> sa.Select[tuple[int]]:
    return sa.select(Membership.project_id).where(
        Membership.user_id == (user.id if _authenticated(user) else -1), Membership.role == Role.specialist
    )


def can_view_audit_trail(user: Viewer, obj: object = None) -> bool:
    """Administrators read the whole trail; specialists the trail of their projects."""
    if not _authenticated(user):
        return False
    if is_admin(user):
        return True
    return Role.specialist in roles_anywhere(user)


def audit_trail_project_ids(user: Viewer) -> sa.Select[tuple[int]] | None:
    """The projects whose events the user may read in the trail; None means every event."""
    return None if is_admin(user) else _specialist_project_ids(user)


def can_see_remote_addresses(user: Viewer) -> bool:
    # Addresses can identify a person: administrators only.
    return is_admin(user)


def _reports_for(user: User, project_id: int, organisation_id: int) -> bool:
    cache: dict[tuple[int, int, int], bool] = g.setdefault("_reporter_cache", {})
    key = (user.id, project_id, organisation_id)
    if key not in cache:
        cache[key] = bool(
            db.session.scalar(
                sa.select(
                    sa.exists().where(
                        Membership.user_id == user.id,
                        Membership.project_id == project_id,
                        Membership.role == Role.reporter,
                        Membership.organisation_id == organisation_id,
                    )
                )
            )
        )
    return cache[key]


def can_view_history(user: Viewer, obj: object) -> bool:
    """The History tab of a record: administrators; specialists of its project; reporters for
    their own organisation's submissions; a scorer for their own scorecard; a user for their own
    account. Records outside any project (organisations, criteria sets, scales): administrators.
    A score's history: those of its scorecard, when the blind-scoring rule lets them read it; a
    scorecard's shows its scores only to those the rule lets read them
    (`visible_audit_event_filter`)."""
    if not _authenticated(user) or obj is None:
        return False
    if isinstance(obj, Score):
        # A score's history is part of its card's, and holds nothing but its contents.
        return can_view_scorecard_contents(user, obj.scorecard) and can_view_history(user, obj.scorecard)
    if _unreadable_story(user, obj):
        return False
    if is_admin(user):
        return True
    if isinstance(obj, User):
        return obj.id == user.id
    project_id = project_id_of(obj) if getattr(type(obj), "__audited__", False) else None
    if project_id is None:
        return False
    if has_role(user, project_id, Role.specialist):
        return True
    if isinstance(obj, Submission):
        return _reports_for(user, project_id, obj.organisation_id)
    if isinstance(obj, Scorecard):
        return obj.scorer_id == user.id
    return False


def can_view_internal_history(user: Viewer, project_id: int | None) -> bool:
    """ILO-internal parts of a history (comments of every visibility): administrators, specialists."""
    return is_admin(user) or (project_id is not None and has_role(user, project_id, Role.specialist))


def _unreadable_story(user: Viewer, obj: object) -> bool:
    """A story (or its evidence file) the user may not read: its history is as hidden as its page."""
    if isinstance(obj, StoryEvidence):
        obj = obj.story
    return isinstance(obj, ChangeStory) and not can_read_story(user, obj)


def may_know_of_history(user: Viewer, obj: object) -> bool:
    """Whether a refused history is answered 403 (the user knows the record) rather than 404.

    Members of the project other than reporters know its records exist; reporters only know
    their own organisation's, and nobody learns of another user's account."""
    if not _authenticated(user) or obj is None or isinstance(obj, User) or _unreadable_story(user, obj):
        return False
    project_id = project_id_of(obj) if getattr(type(obj), "__audited__", False) else None
    if project_id is None:
        return True  # organisations, criteria sets and scales are known to every user
    roles = roles_in(user, project_id)
    return bool(roles - {Role.reporter}) or (bool(roles) and isinstance(obj, Project))


TEMPLATE_PREDICATES.update(
    {
        "view_audit_trail": can_view_audit_trail,
        "view_history": can_view_history,
    }
)


# --- exports ---
# Who may download consolidated results (issue 8), as SQL subqueries so that every export applies
# the rules inside its queries. Specialists, evaluators and observers of a project may export it;
# administrators may export everything (read-only). A membership as reporter alone gives no export:
# a reporter reads their own organisation's reports in the app, and an export of a whole project
# would put other organisations' data (and the names behind it) in a file that leaves the app.

EXPORT_ROLES = (Role.specialist, Role.evaluator, Role.observer)
# Roles that may include reports not yet approved, and roles that may see who gave which score.
UNAPPROVED_EXPORT_ROLES = (Role.specialist,)
SCORER_NAME_ROLES = (Role.specialist, Role.evaluator)


class _SystemReader:
    """The command line (`flask export`): reads everything, as the system actor."""

    is_authenticated = False
    is_active = False
    id = None

    def __repr__(self) -> str:
        return "<system reader>"


SYSTEM_READER = _SystemReader()


def _project_ids_with_roles(user: Viewer, roles: tuple[Role, ...]) -> sa.Select[tuple[int]]:
    return sa.select(Membership.project_id).where(
        Membership.user_id == (user.id if _authenticated(user) else -1),
        Membership.role.in_(roles),
        Membership.project_id.in_(visible_project_ids(user)),
    )


def exportable_project_ids(user: Viewer) -> sa.Select[tuple[int]]:
    """Projects whose data the user may download."""
    if user is SYSTEM_READER or is_admin(user):
        return sa.select(Project.id)
    return _project_ids_with_roles(user, EXPORT_ROLES)


def member_export_project_ids(user: Viewer) -> dict[str, tuple[int, ...]]:
    """For a reader who is not an administrator: the same four sets as `exportable_project_ids`,
    `unapproved_export_project_ids`, `scorer_names_project_ids` and `open_evaluation_project_ids`,
    as literal ids read in one query (an export builds all four at once)."""
    rows = db.session.execute(_project_ids_with_roles(user, EXPORT_ROLES).add_columns(Membership.role)).all()

    def having(roles: tuple[Role, ...]) -> tuple[int, ...]:
        return tuple(sorted({pid for pid, role in rows if role in roles}))

    return {
        "exportable": having(EXPORT_ROLES),
        "unapproved_ok": having(UNAPPROVED_EXPORT_ROLES),
        "names_ok": having(SCORER_NAME_ROLES),
        "open_evaluations_ok": having(SCORER_NAME_ROLES),
    }


def unapproved_export_project_ids(user: Viewer) -> sa.Select[tuple[int]]:
    """Projects where the user may include submitted and returned reports, not only approved ones."""
    if user is SYSTEM_READER or is_admin(user):
        return sa.select(Project.id)
    return _project_ids_with_roles(user, UNAPPROVED_EXPORT_ROLES)


def scorer_names_project_ids(user: Viewer) -> sa.Select[tuple[int]]:
    """Projects where the user may see who gave which score (evaluators and specialists)."""
    if user is SYSTEM_READER:
        return sa.select(Project.id)
    return _project_ids_with_roles(user, SCORER_NAME_ROLES)


def open_evaluation_project_ids(user: Viewer) -> sa.Select[tuple[int]]:
    """Projects where the user may read the scores of evaluations still open. Observers read only
    closed evaluations (their final results), as they read only approved reports."""
    if user is SYSTEM_READER or is_admin(user):
        return sa.select(Project.id)
    return _project_ids_with_roles(user, SCORER_NAME_ROLES)


def hidden_evaluation_ids(user: Viewer) -> sa.Select[tuple[int]]:
    """Evaluations the user scores and has not submitted a scorecard for: they see none of it, so
    nobody anchors on someone else's opinion (the blind-scoring rule, as on the pages: a card left
    as a draft when the evaluation closed still keeps its scorer from the others' scores)."""
    if user is SYSTEM_READER:
        return sa.select(Evaluation.id).where(sa.false())
    return anchored_evaluation_ids(user)


def can_export(user: Viewer, obj: object = None) -> bool:
    """May open the Downloads page: an administrator, or a specialist, evaluator or observer somewhere."""
    if is_admin(user):
        return True
    return bool(roles_anywhere(user) & set(EXPORT_ROLES))


def can_export_unapproved(user: Viewer, obj: object = None) -> bool:
    """May include reports that are not yet approved in some project (specialists, administrators)."""
    if is_admin(user):
        return True
    if not _authenticated(user):
        return False
    return bool(
        db.session.scalar(sa.select(sa.exists(_project_ids_with_roles(user, UNAPPROVED_EXPORT_ROLES))))
    )


TEMPLATE_PREDICATES.update({"export": can_export, "export_unapproved": can_export_unapproved})


# --- selection rounds of change stories (Most Significant Change) ---
# A project's specialists open and close its project-level rounds; administrators the regional
# and ACTRAV rounds. A round is seen by its members, whoever opened it, the project's specialists
# (a project round) and administrators; anyone else gets 404. Only a member proposes.


def can_open_round(
    user: Viewer, project: Project | None, level: StoryLevel | str = StoryLevel.project
) -> bool:
    if StoryLevel(level) is StoryLevel.project:
        return project is not None and _authenticated(user) and has_role(user, project, Role.specialist)
    return is_admin(user)


def can_open_project_round(user: Viewer, project: Project | None) -> bool:
    return can_open_round(user, project, StoryLevel.project)


def can_open_higher_round(user: Viewer, _obj: object = None) -> bool:
    """Regional and ACTRAV rounds: administrators."""
    return can_open_round(user, None, StoryLevel.regional)


def is_round_member(user: Viewer, selection_round: SelectionRound) -> bool:
    """Invited to the round (memoised for the request: the round page asks it several times)."""
    if not _authenticated(user):
        return False
    cache: dict[tuple[int, int], bool] = g.setdefault("_round_member_cache", {})
    key = (user.id, selection_round.id)
    if key not in cache:
        cache[key] = bool(
            db.session.scalar(
                sa.select(
                    sa.exists().where(
                        RoundMember.round_id == selection_round.id, RoundMember.user_id == user.id
                    )
                )
            )
        )
    return cache[key]


def may_manage_round(user: Viewer, selection_round: SelectionRound) -> bool:
    """Close the round, invite or remove members: the project's specialists for a project round,
    administrators for the rounds above."""
    if selection_round.level is StoryLevel.project:
        return (
            selection_round.project_id is not None
            and _authenticated(user)
            and has_role(user, selection_round.project_id, Role.specialist)
        )
    return is_admin(user)


def can_view_round(user: Viewer, selection_round: SelectionRound) -> bool:
    if not _authenticated(user):
        return False
    if selection_round.project_id is not None and not can_view_project(user, selection_round.project_id):
        return False  # someone who left the project no longer reads its rounds
    return (
        is_admin(user)
        or selection_round.opened_by_id == user.id
        or may_manage_round(user, selection_round)
        or is_round_member(user, selection_round)
    )


def visible_round_filter(user: Viewer) -> sa.ColumnElement[bool]:
    """A WHERE clause on `SelectionRound` keeping the rounds the user may see (the SQL twin of
    `can_view_round`), for lists built in SQL."""
    if is_admin(user):
        return sa.true()
    if not _authenticated(user):
        return sa.false()
    return sa.and_(
        sa.or_(SelectionRound.project_id.is_(None), SelectionRound.project_id.in_(visible_project_ids(user))),
        sa.or_(
            SelectionRound.id.in_(sa.select(RoundMember.round_id).where(RoundMember.user_id == user.id)),
            SelectionRound.opened_by_id == user.id,
            sa.and_(
                SelectionRound.level == StoryLevel.project,
                SelectionRound.project_id.in_(_specialist_project_ids(user)),
            ),
        ),
    )


def can_propose(user: Viewer, selection_round: SelectionRound) -> bool:
    """Propose the most significant story, or change one's proposal: a member, while it is open."""
    return selection_round.status is RoundStatus.open and is_round_member(user, selection_round)


def can_close_round(user: Viewer, selection_round: SelectionRound) -> bool:
    return selection_round.status is RoundStatus.open and may_manage_round(user, selection_round)


def can_view_rounds(user: Viewer, _obj: object = None) -> bool:
    """The "Selection rounds" page: every signed-in user (it lists the rounds they may see)."""
    return _authenticated(user)


TEMPLATE_PREDICATES.update(
    {
        "open_round": can_open_project_round,
        "open_higher_round": can_open_higher_round,
        "view_round": can_view_round,
        "propose": can_propose,
        "close_round": can_close_round,
        "manage_round": may_manage_round,
        "view_rounds": can_view_rounds,
    }
)
