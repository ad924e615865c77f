"""Replaying the trail reproduces the database: a property-based test over random work sequences.

Hypothesis runs random sequences of what services do — create and edit projects (their countries,
sectors and tags too, rows left out deleted as orphans of their collection), manage members,
start, edit, submit, return, approve, reopen and withdraw reports, score evaluations — through
the ORM unit of work and through the workflow's conditional UPDATEs, with rollbacks, failed
savepoints and edits of expired rows in between. After each sequence, every audited row's
current values must equal what its events say, from its creation on, and the chain must verify.
The services here are the test's own (the real ones live in their features); they change rows
the way those do.
"""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any, ClassVar

import sqlalchemy as sa
from flask import Flask
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    precondition,
    rule,
    run_state_machine_as_test,
)

from mel_app import audit
from mel_app.audit.capture import UNCAPTURED
from mel_app.audit.chain import to_json_value
from mel_app.audit.history import audited_models
from mel_app.auth.passwords import hash_password
from mel_app.evaluations.defaults import ensure_defaults
from mel_app.extensions import db
from mel_app.models import (
    AuditEvent,
    Base,
    Comment,
    Criterion,
    Evaluation,
    EvaluationKind,
    Indicator,
    IndicatorValue,
    Measure,
    Membership,
    Organisation,
    OrgGroup,
    Phase,
    Project,
    ProjectCountry,
    ProjectSector,
    ProjectTag,
    ReportingPeriod,
    Result,
    ResultTag,
    ResultType,
    Role,
    Score,
    Scorecard,
    ScorecardStatus,
    ScorerGroup,
    Status,
    Submission,
    SubmissionKind,
    SubmissionVersion,
    TagScheme,
    User,
    utcnow,
)

_unique = itertools.count(1)
TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=40)
AMOUNT = st.decimals(min_value=0, max_value=10_000, places=2, allow_nan=False, allow_infinity=False)


# --- the test's services: each changes rows as a real service would, and names the action -----------


def create_project(title: str, *, actor: User) -> Project:
    n = next(_unique)
    project = Project(
        reference=f"RAF/{n % 100:02d}/{n:03d}/NOR", title=title or "Untitled", funding_modality="XBDC"
    )
    project.countries = [ProjectCountry(country="KE")]
    db.session.add(project)
    db.session.add(Membership(user=actor, project=project, role=Role.specialist))
    result = Result(project=project, type=ResultType.outcome, code="1", title="Workers organised")
    db.session.add(result)
    db.session.flush()
    db.session.add(
        Indicator(
            result_id=result.id, project_id=project.id, code="1.a", title="Members", measure=Measure.number
        )
    )
    db.session.add(
        ReportingPeriod(
            project=project,
            label="2026 H1",
            start_date=utcnow().date().replace(month=1, day=1),
            end_date=utcnow().date().replace(month=6, day=30),
            due_date=utcnow().date().replace(month=7, day=31),
        )
    )
    audit.record(db.session, "project.create", target=project, actor=actor)
    return project


def edit_project(project: Project, *, title: str, phase: Phase, actor: User) -> None:
    project.title = title or project.title
    project.phase = phase
    audit.record(db.session, "project.edit", target=project, actor=actor, reason="kept up to date")


def reshape_project(
    project: Project, *, countries: list[str], sectors: list[str], tags: list[str], fresh: bool, actor: User
) -> None:
    """The project form's way with the lists of a project (and its first result's tags): rows left
    out are orphans of their collection, which the flush deletes. `fresh` builds every row anew,
    so a row kept is deleted and added again with the same key in one flush."""

    def rows(collection: list[Any], key: str, wanted: list[str], build: Any) -> list[Any]:
        have = {} if fresh else {getattr(row, key): row for row in collection}
        return [have.get(value) or build(value) for value in wanted]

    project.countries = rows(project.countries, "country", countries, lambda c: ProjectCountry(country=c))
    share = Decimal(100) / len(sectors) if sectors else Decimal(0)
    project.sectors = rows(
        project.sectors,
        "code",
        sectors,
        lambda c: ProjectSector(code=c, percentage=share.quantize(Decimal("0.01"))),
    )
    project.tags = rows(project.tags, "code", tags, lambda c: ProjectTag(scheme=TagScheme.sdg, code=c))
    if project.results:
        result = project.results[0]
        result.tags = rows(result.tags, "code", tags, lambda c: ResultTag(scheme=TagScheme.sdg, code=c))
    audit.record(db.session, "project.edit", target=project, actor=actor)


def add_member(project: Project, user: User, role: Role, *, actor: User) -> Membership | None:
    exists = db.session.scalar(
        sa.select(
            sa.exists().where(
                Membership.user_id == user.id, Membership.project_id == project.id, Membership.role == role
            )
        )
    )
    if exists:
        return None
    membership = Membership(
        user_id=user.id,
        project_id=project.id,
        role=role,
        organisation_id=user.organisation_id if role is Role.reporter else None,
    )
    db.session.add(membership)
    audit.record(db.session, "membership.add", target=membership, actor=actor)
    return membership


def remove_member(membership: Membership, *, actor: User) -> None:
    db.session.delete(membership)
    audit.record(db.session, "membership.remove", target=membership, actor=actor, reason="left the project")


def start_report(project: Project, organisation: Organisation, *, author: User) -> Submission | None:
    period = db.session.scalar(sa.select(ReportingPeriod).where(ReportingPeriod.project_id == project.id))
    live = db.session.scalar(
        sa.select(
            sa.exists().where(
                Submission.project_id == project.id,
                Submission.period_id == period.id,
                Submission.organisation_id == organisation.id,
                Submission.status != Status.withdrawn,
            )
        )
    )
    if live:
        return None
    sub = Submission(
        project_id=project.id,
        organisation_id=organisation.id,
        period_id=period.id,
        kind=SubmissionKind.progress_report,
        author_id=author.id,
    )
    db.session.add(sub)
    return sub


def edit_report(sub: Submission, *, text: str, amount: Decimal, split: bool, author: User) -> bool:
    if sub.status not in (Status.draft, Status.returned):
        return False
    sub.narrative = {**sub.narrative, "achievements": text}
    sub.last_edited_by_id = author.id
    indicator = db.session.scalar(sa.select(Indicator).where(Indicator.project_id == sub.project_id))
    value = db.session.scalar(
        sa.select(IndicatorValue).where(
            IndicatorValue.submission_id == sub.id, IndicatorValue.indicator_id == indicator.id
        )
    )
    if value is None:
        value = IndicatorValue(submission=sub, indicator=indicator)
        db.session.add(value)
    value.value = amount
    value.women, value.men = (amount, Decimal(0)) if split else (None, None)
    audit.record(db.session, "submission.edit", target=sub, actor=author)
    return True


def clear_values(sub: Submission, *, author: User) -> None:
    """A bulk DELETE, as a 'clear the table' button would do."""
    if sub.status in (Status.draft, Status.returned):
        db.session.execute(sa.delete(IndicatorValue).where(IndicatorValue.submission_id == sub.id))


def _conditional(sub: Submission, expected: tuple[Status, ...], **values: Any) -> bool:
    """The workflow's one conditional UPDATE: of two reviewers acting at once, one wins."""
    done = db.session.execute(
        sa.update(Submission)
        .where(Submission.id == sub.id, Submission.status.in_(expected), Submission.version == sub.version)
        .values(version=Submission.version + 1, **values)
    ).rowcount
    return bool(done)


def submit_report(sub: Submission, *, author: User) -> None:
    if _conditional(
        sub,
        (Status.draft, Status.returned),
        status=Status.submitted,
        submitted_at=utcnow(),
        submitted_by_id=author.id,
    ):
        number = len(sub.versions) + 1
        db.session.add(
            SubmissionVersion(
                submission_id=sub.id, number=number, content=dict(sub.narrative), submitted_by_id=author.id
            )
        )
        audit.record(db.session, "submission.submit", target=sub, actor=author)


def return_report(sub: Submission, *, comment: str, reviewer: User) -> None:
    if _conditional(
        sub, (Status.submitted,), status=Status.returned, returned_at=utcnow(), returned_by_id=reviewer.id
    ):
        db.session.add(Comment(submission_id=sub.id, author_id=reviewer.id, body=comment or "Please revise"))
        audit.record(
            db.session, "submission.return", target=sub, actor=reviewer, reason=comment or "Please revise"
        )


def approve_report(sub: Submission, *, reviewer: User) -> None:
    if sub.status is Status.submitted:
        audit.record(db.session, "submission.approve", target=sub, actor=reviewer)
        sub.status, sub.approved_by_id, sub.approved_at = Status.approved, reviewer.id, utcnow()
        sub.version += 1


def reopen_report(sub: Submission, *, reason: str, reviewer: User) -> None:
    if _conditional(
        sub,
        (Status.approved,),
        status=Status.returned,
        approved_by_id=None,
        approved_at=None,
        returned_at=utcnow(),
        returned_by_id=reviewer.id,
    ):
        audit.record(
            db.session, "submission.reopen", target=sub, actor=reviewer, reason=reason or "A figure is wrong"
        )


def withdraw_report(sub: Submission, *, author: User) -> None:
    if sub.status in (Status.draft, Status.returned):
        sub.status = Status.withdrawn
        audit.record(db.session, "submission.withdraw", target=sub, actor=author)


def open_evaluation(project: Project, *, actor: User) -> Evaluation:
    criteria_set, scale = ensure_defaults()
    evaluation = Evaluation(
        project_id=project.id,
        kind=EvaluationKind.mid_term,
        title="Mid-term review",
        criteria_set_id=criteria_set.id,
        scale_id=scale.id,
        opened_by_id=actor.id,
    )
    db.session.add(evaluation)
    return evaluation


def score(evaluation: Evaluation, scorer: User, *, point: int | None, justification: str) -> None:
    card = db.session.scalar(
        sa.select(Scorecard).where(Scorecard.evaluation_id == evaluation.id, Scorecard.scorer_id == scorer.id)
    )
    if card is None:
        card = Scorecard(evaluation=evaluation, scorer=scorer, group=ScorerGroup.workers)
        db.session.add(card)
    if card.status is ScorecardStatus.submitted:
        return
    criterion = db.session.scalar(
        sa.select(Criterion)
        .where(Criterion.criteria_set_id == evaluation.criteria_set_id)
        .order_by(Criterion.position)
    )
    existing = next((s for s in card.scores if s.criterion_id == criterion.id), None)
    target = existing or Score(scorecard=card, criterion=criterion)
    target.point, target.cannot_assess = point, point is None
    target.justification = justification or "Seen in the reports"
    db.session.add(target)


def submit_scorecard(card: Scorecard, *, scorer: User) -> None:
    if card.status is ScorecardStatus.draft:
        card.status, card.submitted_at = ScorecardStatus.submitted, utcnow()
        card.version += 1
        audit.record(db.session, "scorecard.submit", target=card, actor=scorer)


def reopen_scorecard(card: Scorecard, *, reason: str, actor: User) -> None:
    if card.status is ScorecardStatus.submitted:
        card.status, card.submitted_at = ScorecardStatus.draft, None
        audit.record(db.session, "scorecard.reopen", target=card, actor=actor, reason=reason or "Reconsider")


# --- the replay -----------------------------------------------------------------------------------------

DELETED = object()
STEPS = ["submit", "return", "approve", "reopen", "withdraw"]
# Journeys that go somewhere (random steps mostly bounce off the workflow's rules).
CYCLES = [
    ["submit", "approve", "reopen", "submit", "approve"],
    ["submit", "return", "submit", "approve"],
    ["submit", "return", "withdraw"],
    ["approve", "reopen"],
]


def replay_mismatches() -> list[str]:
    """Rebuild every audited row from the trail and compare it with the database."""
    replayed: dict[tuple[str, str], Any] = {}
    rows = db.session.execute(
        sa.select(AuditEvent.entity_type, AuditEvent.entity_id, AuditEvent.before, AuditEvent.after)
        .where(AuditEvent.entity_type.is_not(None))
        .order_by(AuditEvent.id)
    )
    for entity_type, entity_id, before, after in rows:
        key = (entity_type, entity_id)
        if before is None and after is not None:
            replayed[key] = dict(after)
        elif after is None and before is not None:
            replayed[key] = DELETED
        elif before is not None and after is not None:
            state = replayed.get(key)
            if not isinstance(state, dict):
                return [f"{key}: a change without a creation"]
            state.update(after)
    problems = []
    for table, cls in audited_models().items():
        skipped = cls.__audit_exclude__ | UNCAPTURED
        attrs = [a for a in sa.inspect(cls).column_attrs if a.key not in skipped]
        pk = [sa.inspect(cls).get_property_by_column(c).key for c in sa.inspect(cls).primary_key]
        seen = set()
        for obj in db.session.scalars(sa.select(cls)):
            entity_id = ":".join(str(getattr(obj, k)) for k in pk)
            seen.add(entity_id)
            state = replayed.get((table, entity_id))
            if not isinstance(state, dict):
                problems.append(f"{table} {entity_id}: in the database, not (or deleted) in the trail")
                continue
            for attr in attrs:
                current = to_json_value(getattr(obj, attr.key))
                if state.get(attr.key) != current:
                    problems.append(
                        f"{table} {entity_id}.{attr.key}: trail {state.get(attr.key)!r} != row {current!r}"
                    )
        for (t, entity_id), state in replayed.items():
            if t == table and state is not DELETED and entity_id not in seen:
                problems.append(f"{table} {entity_id}: alive in the trail, missing from the database")
    return problems


class Work(RuleBasedStateMachine):
    """Random work by a few people on a few projects; the trail must keep up."""

    app: ClassVar[Flask]

    def __init__(self):
        super().__init__()
        self.users: list[int] = []
        self.orgs: list[int] = []
        self.projects: list[int] = []
        self.subs: list[int] = []
        self.evaluations: list[int] = []
        self.memberships: list[int] = []

    # Each operation: its own app context, actor and commit, like a request.
    def _run(self, fn, actor_index: int = 0):
        with self.app.app_context():
            actor = db.session.get(User, self.users[actor_index % len(self.users)])
            audit.set_actor(db.session(), audit.actor_of(actor, "127.0.0.1"))
            result = fn(actor)
            db.session.commit()
            # Ids, not ORM instances, leave the context.
            return result.id if isinstance(result, Base) else result

    def _pick(self, items: list[int], index: int) -> int:
        return items[index % len(items)]

    @initialize()
    def people(self):
        with self.app.app_context():
            audit.set_actor(db.session(), audit.SYSTEM_ACTOR)
            for group in (OrgGroup.workers, OrgGroup.employers):
                org = Organisation(name=f"Union {next(_unique)}", group=group, country="KE")
                db.session.add(org)
                db.session.flush()
                self.orgs.append(org.id)
            password = hash_password("correct horse battery staple")
            for i in range(3):
                user = User(
                    email=f"person{next(_unique)}@example.org",
                    full_name=f"Person {i}",
                    organisation_id=self.orgs[i % 2],
                    password_hash=password,
                    session_token="x" * 32,
                )
                db.session.add(user)
                db.session.flush()
                self.users.append(user.id)
            db.session.commit()
        # Work starts on a project with a report of each organisation.
        self.projects.append(self._run(lambda actor: create_project("Workers' rights", actor=actor)))
        for org_id, author in zip(self.orgs, (1, 2), strict=True):
            self.subs.append(
                self._run(
                    lambda actor, org_id=org_id: start_report(
                        db.session.get(Project, self.projects[0]),
                        db.session.get(Organisation, org_id),
                        author=actor,
                    ),
                    author,
                )
            )

    @rule(title=TEXT, who=st.integers(0, 2))
    def new_project(self, title, who):
        self.projects.append(self._run(lambda actor: create_project(title, actor=actor), who))

    @precondition(lambda self: self.projects)
    @rule(p=st.integers(0, 99), title=TEXT, phase=st.sampled_from(Phase), expire_first=st.booleans())
    def change_project(self, p, title, phase, expire_first):
        def act(actor):
            project = db.session.get(Project, self._pick(self.projects, p))
            if expire_first:
                db.session.commit()  # the old values leave memory
            edit_project(project, title=title, phase=phase, actor=actor)

        self._run(act)

    @precondition(lambda self: self.projects)
    @rule(
        p=st.integers(0, 99),
        countries=st.lists(st.sampled_from(["GH", "KE", "ZM"]), unique=True),
        sectors=st.lists(st.sampled_from(["15170", "16020", "16070"]), unique=True),
        tags=st.lists(st.sampled_from(["5.5", "8.7", "8.8"]), unique=True),
        fresh=st.booleans(),
    )
    def reshape(self, p, countries, sectors, tags, fresh):
        self._run(
            lambda actor: reshape_project(
                db.session.get(Project, self._pick(self.projects, p)),
                countries=countries,
                sectors=sectors,
                tags=tags,
                fresh=fresh,
                actor=actor,
            )
        )

    @precondition(lambda self: self.projects)
    @rule(p=st.integers(0, 99), u=st.integers(0, 2), role=st.sampled_from(Role))
    def join(self, p, u, role):
        def act(actor):
            user = db.session.get(User, self._pick(self.users, u))
            membership = add_member(
                db.session.get(Project, self._pick(self.projects, p)), user, role, actor=actor
            )
            db.session.flush()
            return membership.id if membership else None

        membership_id = self._run(act)
        if membership_id:
            self.memberships.append(membership_id)

    @precondition(lambda self: self.memberships)
    @rule(m=st.integers(0, 99))
    def leave(self, m):
        membership_id = self.memberships.pop(m % len(self.memberships))
        self._run(lambda actor: remove_member(db.session.get(Membership, membership_id), actor=actor))

    @precondition(lambda self: self.projects)
    @rule(p=st.integers(0, 99), o=st.integers(0, 1), who=st.integers(0, 2))
    def start(self, p, o, who):
        def act(actor):
            sub = start_report(
                db.session.get(Project, self._pick(self.projects, p)),
                db.session.get(Organisation, self.orgs[o]),
                author=actor,
            )
            db.session.flush()
            return sub.id if sub else None

        sub_id = self._run(act, who)
        if sub_id:
            self.subs.append(sub_id)

    @precondition(lambda self: self.subs)
    @rule(s=st.integers(0, 99), text=TEXT, amount=AMOUNT, split=st.booleans(), who=st.integers(0, 2))
    def edit(self, s, text, amount, split, who):
        sub_id = self._pick(self.subs, s)
        self._run(
            lambda actor: edit_report(
                db.session.get(Submission, sub_id), text=text, amount=amount, split=split, author=actor
            ),
            who,
        )

    @precondition(lambda self: self.subs)
    @rule(s=st.integers(0, 99))
    def clear(self, s):
        sub_id = self._pick(self.subs, s)
        self._run(lambda actor: clear_values(db.session.get(Submission, sub_id), author=actor))

    @precondition(lambda self: self.subs)
    @rule(
        s=st.integers(0, 99),
        steps=st.one_of(st.sampled_from(CYCLES), st.lists(st.sampled_from(STEPS), min_size=1, max_size=5)),
        words=TEXT,
        who=st.integers(0, 2),
    )
    def review(self, s, steps, words, who):
        """A report moves through the workflow, one request per step."""
        sub_id = self._pick(self.subs, s)

        def act(actor, step):
            sub = db.session.get(Submission, sub_id)
            if step == "submit":
                submit_report(sub, author=actor)
            elif step == "return":
                return_report(sub, comment=words, reviewer=actor)
            elif step == "approve":
                approve_report(sub, reviewer=actor)
            elif step == "reopen":
                reopen_report(sub, reason=words, reviewer=actor)
            else:
                withdraw_report(sub, author=actor)

        for step in steps:
            self._run(lambda actor, step=step: act(actor, step), who)

    @precondition(lambda self: self.projects)
    @rule(p=st.integers(0, 99))
    def evaluate(self, p):
        def act(actor):
            evaluation = open_evaluation(db.session.get(Project, self._pick(self.projects, p)), actor=actor)
            db.session.flush()
            return evaluation.id

        self.evaluations.append(self._run(act))

    @precondition(lambda self: self.evaluations)
    @rule(
        e=st.integers(0, 99),
        who=st.integers(0, 2),
        point=st.one_of(st.none(), st.integers(1, 6)),
        justification=TEXT,
        then=st.sampled_from(["stay", "submit", "reopen"]),
    )
    def give_score(self, e, who, point, justification, then):
        evaluation_id = self._pick(self.evaluations, e)

        def act(actor):
            evaluation = db.session.get(Evaluation, evaluation_id)
            score(evaluation, actor, point=point, justification=justification)
            db.session.flush()
            card = db.session.scalar(
                sa.select(Scorecard).where(
                    Scorecard.evaluation_id == evaluation_id, Scorecard.scorer_id == actor.id
                )
            )
            if then == "submit":
                submit_scorecard(card, scorer=actor)
            elif then == "reopen":
                reopen_scorecard(card, reason=justification, actor=actor)

        self._run(act, who)

    @rule(name=TEXT)
    def change_of_mind(self, name):
        """A change rolled back leaves nothing behind."""
        with self.app.app_context():
            before = db.session.scalar(sa.select(sa.func.count(AuditEvent.id)))
            org = db.session.get(Organisation, self.orgs[0])
            org.acronym = (name or "X")[:40]
            db.session.flush()
            db.session.rollback()
            assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id))) == before

    @rule(acronym=TEXT)
    def failed_savepoint(self, acronym):
        """A savepoint that fails takes its own changes away, and only those."""
        with self.app.app_context():
            org = db.session.get(Organisation, self.orgs[1])
            org.acronym = (acronym or "Y")[:40]
            savepoint = db.session.begin_nested()
            db.session.add(
                Organisation(name=db.session.get(Organisation, self.orgs[0]).name, group=OrgGroup.other)
            )
            try:
                db.session.flush()
            except sa.exc.IntegrityError:
                savepoint.rollback()
            db.session.commit()

    def teardown(self):
        with self.app.app_context():
            problems = replay_mismatches()
            assert problems == [], "\n".join(problems[:20])
            result = audit.chain.verify(db.session.connection())
            assert result.ok, result.problem
            assert result.count == db.session.scalar(sa.select(sa.func.max(AuditEvent.id)))


def test_replaying_the_trail_reproduces_every_audited_row(app):
    Work.app = app
    run_state_machine_as_test(
        Work,
        settings=settings(
            max_examples=25,
            stateful_step_count=25,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )


def test_the_replay_notices_a_change_the_trail_missed(app, make):
    """The check itself can fail: a change made behind the session's back is caught."""
    org = make.organisation()
    with app.app_context():
        assert replay_mismatches() == []
        db.session.connection().execute(
            sa.text("UPDATE organisation SET acronym = 'HIDDEN' WHERE id = :id"), {"id": org}
        )
        db.session.commit()
        assert any("acronym" in p for p in replay_mismatches())
