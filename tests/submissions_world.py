"""A project with people in every role, and submissions in any state, for the submission tests."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa

from mel_app import audit
from mel_app.auth.passwords import hash_password
from mel_app.extensions import db
from mel_app.models import (
    AuditEvent,
    Indicator,
    IndicatorValue,
    Measure,
    Membership,
    Organisation,
    OrgGroup,
    Partner,
    Phase,
    Project,
    ReportingPeriod,
    Result,
    ResultType,
    Role,
    Status,
    Submission,
    SubmissionKind,
    User,
    utcnow,
)
from tests import snapshots
from tests.conftest import csrf_token
from tests.factories import PASSWORD

NARRATIVE = {
    "achievements": "Two new women's committees were formed.",
    "challenges": "Funds arrived late.",
    "lessons_learned": "Joint campaigns recruit more women.",
    "next_steps": "Scale up mentoring.",
    "gender_equality": "Women were 58% of participants.",
    "social_dialogue": "The tripartite council discussed the harassment policy.",
}

# Who is who in the world, by the key used in the tests' tables.
PEOPLE = (
    "author",  # reporter of the union, who started the submission
    "colleague",  # another reporter of the same union
    "other_org",  # reporter of the employers' organisation in the same project
    "specialist",  # ILO specialist of the project
    "specialist2",  # a second specialist of the project
    "evaluator",
    "observer",
    "admin",  # administrator, member of nothing
    "outsider",  # signed in, member of another project only
)

NAMES = {
    "author": "Grace Wanjiru",
    "colleague": "Joseph Otieno",
    "other_org": "Peter Kamau",
    "specialist": "Carlos Mendoza",
    "specialist2": "Ana Souza",
    "evaluator": "Sofia Lindqvist",
    "observer": "Hanne Berg",
    "admin": "Amina Diallo",
    "outsider": "Olu Outsider",
}


@dataclass
class World:
    project: int
    other_project: int
    period: int
    union: int
    employers: int
    result: int
    indicators: dict[str, int] = field(default_factory=dict)  # code -> id
    users: dict[str, int] = field(default_factory=dict)  # key -> id
    emails: dict[str, str] = field(default_factory=dict)  # key -> email


def build_world(make, *, today: date | None = None) -> World:
    """Everything in one transaction (the factories commit per object, which is slow here); in an
    empty database, a copy of the rows of the first one this worker built (tests/snapshots.py)."""
    today = today or date.today()
    return snapshots.built_once(make.app, f"submissions world of {today}", lambda: _build_world(make, today))


def _build_world(make, today: date) -> World:
    app = make.app
    start = today.replace(day=1) - timedelta(days=60)
    with app.app_context():
        audit.set_actor(db.session(), audit.SYSTEM_ACTOR)
        add = db.session.add
        union = Organisation(
            name="Fictional Union of Workers", acronym="FUW", group=OrgGroup.workers, country="KE"
        )
        employers = Organisation(
            name="Fictional Employers Federation", acronym="FEF", group=OrgGroup.employers, country="KE"
        )
        ilo = Organisation(name="ILO ACTRAV (test)", acronym="ACTRAV", group=OrgGroup.ilo, country="CH")
        project = Project(
            reference=f"RAF/{secrets.randbelow(90) + 10}/{secrets.randbelow(900) + 100}/NOR",
            title="Workers' rights in Africa",
            funding_modality="XBDC",
            phase=Phase.implementation,
            start_date=date(2024, 1, 1),
            end_date=date(2030, 12, 31),
        )
        other_project = Project(
            reference="RLA/23/05/FIN",
            title="Another project",
            funding_modality="RBSA",
            phase=Phase.implementation,
        )
        for obj in (union, employers, ilo, project, other_project):
            add(obj)
        add(Partner(project=project, organisation=union))
        add(Partner(project=project, organisation=employers))
        period = ReportingPeriod(
            project=project,
            label="2026 H1",
            start_date=start,
            end_date=start + timedelta(days=150),
            due_date=start + timedelta(days=180),
        )
        result = Result(
            project=project, code="1", type=ResultType.outcome, title="Unions organise more women"
        )
        add(period)
        add(result)
        indicators = {
            "1.a": Indicator(
                result=result,
                project=project,
                code="1.a",
                title="Women members",
                measure=Measure.number,
                disaggregate_by_sex=True,
                baseline_value=Decimal(10),
                target_value=Decimal(100),
                position=0,
            ),
            "1.b": Indicator(
                result=result,
                project=project,
                code="1.b",
                title="Share of women leaders",
                measure=Measure.percentage,
                position=1,
            ),
            "1.c": Indicator(
                result=result,
                project=project,
                code="1.c",
                title="Policy adopted",
                measure=Measure.yes_no,
                position=2,
            ),
            "1.d": Indicator(
                result=result,
                project=project,
                code="1.d",
                title="Story of change",
                measure=Measure.qualitative,
                position=3,
            ),
        }
        for indicator in indicators.values():
            add(indicator)
        roles = {
            "author": (union, Role.reporter, union),
            "colleague": (union, Role.reporter, union),
            "other_org": (employers, Role.reporter, employers),
            "specialist": (ilo, Role.specialist, None),
            "specialist2": (ilo, Role.specialist, None),
            "evaluator": (None, Role.evaluator, None),
            "observer": (None, Role.observer, None),
        }
        password_hash = hash_password(PASSWORD)
        users = {}
        for key in PEOPLE:
            org = roles[key][0] if key in roles else None
            users[key] = User(
                email=f"{key}@example.org",
                full_name=NAMES[key],
                organisation=org,
                password_hash=password_hash,
                is_admin=(key == "admin"),
                session_token=secrets.token_hex(16),
            )
            add(users[key])
            if key in roles:
                _org, role, reports_for = roles[key]
                add(Membership(user=users[key], project=project, role=role, organisation=reports_for))
        add(Membership(user=users["outsider"], project=other_project, role=Role.specialist))
        db.session.commit()
        world = World(project.id, other_project.id, period.id, union.id, employers.id, result.id)
        world.indicators = {code: ind.id for code, ind in indicators.items()}
        world.users = {key: user.id for key, user in users.items()}
        world.emails = {key: user.email for key, user in users.items()}
        return world


def add_period(app, world: World, label: str) -> int:
    with app.app_context():
        audit.set_actor(db.session(), audit.SYSTEM_ACTOR)
        base = db.session.get(ReportingPeriod, world.period)
        period = ReportingPeriod(
            project_id=world.project,
            label=label,
            start_date=base.start_date,
            end_date=base.end_date,
            due_date=base.due_date,
        )
        db.session.add(period)
        db.session.commit()
        return period.id


def add_submission(
    app,
    world: World,
    status: Status = Status.draft,
    *,
    complete: bool = True,
    kind: SubmissionKind = SubmissionKind.progress_report,
    organisation: int | None = None,
    author: str = "author",
    period: int | None = None,
) -> int:
    """A submission in `status`, as the workflow would have left it (without its history)."""
    with app.app_context():
        audit.set_actor(db.session(), audit.SYSTEM_ACTOR)
        now = utcnow()
        specialist = world.users["specialist"]
        sub = Submission(
            project_id=world.project,
            kind=kind,
            organisation_id=organisation or world.union,
            period_id=(period or world.period) if kind is SubmissionKind.progress_report else None,
            author_id=world.users[author],
            status=status,
            narrative=dict(NARRATIVE) if complete else {},
            last_edited_by_id=world.users[author],
        )
        if status in (Status.submitted, Status.returned, Status.approved):
            sub.submitted_at, sub.submitted_by_id = now - timedelta(days=3), world.users[author]
        if status is Status.returned:
            sub.returned_at, sub.returned_by_id = now, specialist
        if status is Status.approved:
            sub.approved_at, sub.approved_by_id = now, specialist
        db.session.add(sub)
        db.session.flush()
        if complete and kind is SubmissionKind.progress_report:
            ids = world.indicators
            db.session.add_all(
                [
                    IndicatorValue(
                        submission_id=sub.id,
                        indicator_id=ids["1.a"],
                        value=Decimal(30),
                        women=Decimal(18),
                        men=Decimal(12),
                    ),
                    IndicatorValue(submission_id=sub.id, indicator_id=ids["1.b"], value=Decimal(25)),
                    IndicatorValue(submission_id=sub.id, indicator_id=ids["1.c"], value=Decimal(1)),
                    IndicatorValue(
                        submission_id=sub.id, indicator_id=ids["1.d"], text_value="Bargaining began."
                    ),
                ]
            )
        db.session.commit()
        return sub.id


def report_payload(world: World, version: int, **overrides) -> dict[str, str]:
    """A complete progress report form as a browser would post it."""
    ids = world.indicators
    data = {
        "version": str(version),
        **NARRATIVE,
        f"ind_{ids['1.a']}-value": "30",
        f"ind_{ids['1.a']}-women": "18",
        f"ind_{ids['1.a']}-men": "12",
        f"ind_{ids['1.a']}-comment": "",
        f"ind_{ids['1.b']}-value": "25",
        f"ind_{ids['1.b']}-comment": "",
        f"ind_{ids['1.c']}-value": "1",
        f"ind_{ids['1.c']}-comment": "",
        f"ind_{ids['1.d']}-text_value": "Bargaining began.",
        f"ind_{ids['1.d']}-comment": "",
        "save": "Save draft",
    }
    for key, value in overrides.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def signed_in(app, login, world: World, key: str):
    """A separate browser (test client) signed in as one of the world's people."""
    client = app.test_client()
    login(world.emails[key], on=client)
    return client


def post(client, url: str, data: dict | None = None, **kwargs):
    return client.post(url, data={**(data or {}), "csrf_token": csrf_token(client)}, **kwargs)


def state(app, sub_id: int) -> tuple[Status, int]:
    with app.app_context():
        sub = db.session.get(Submission, sub_id)
        return sub.status, sub.version


def events(app, sub_id: int, action_prefix: str = "submission.") -> list[AuditEvent]:
    with app.app_context():
        rows = list(
            db.session.scalars(
                sa.select(AuditEvent)
                .where(
                    AuditEvent.entity_type == "submission",
                    AuditEvent.entity_id == str(sub_id),
                    AuditEvent.action.startswith(action_prefix),
                )
                .order_by(AuditEvent.id)
            )
        )
        db.session.expunge_all()
        return rows


def user_name(app, user_id: int) -> str:
    with app.app_context():
        return db.session.get(User, user_id).full_name
