"""The world every route of the matrix is tried in: two projects and one user of every kind."""

from __future__ import annotations

import hashlib
import itertools
import secrets
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa

from mel_app import audit
from mel_app.auth.passwords import hash_password
from mel_app.auth.tokens import Purpose, issue
from mel_app.evaluations.defaults import ensure_defaults
from mel_app.extensions import db
from mel_app.models import (
    Attachment,
    AuditEvent,
    Comment,
    Evaluation,
    EvaluationKind,
    Indicator,
    Measure,
    Membership,
    Organisation,
    OrgGroup,
    Partner,
    Phase,
    Project,
    ProjectCountry,
    ReportingPeriod,
    Result,
    ResultType,
    Role,
    Scorecard,
    ScorerGroup,
    Status,
    Submission,
    SubmissionKind,
    User,
    utcnow,
)
from tests import snapshots
from tests.authz.policy import KINDS, world_extensions
from tests.factories import PASSWORD

# Tables a GET may write to: the app's own bookkeeping of sessions and sign-in attempts, and
# the time a notification was read (opening it from the notifications page marks it read).
BOOKKEEPING_TABLES = frozenset({"user_session", "login_attempt", "alembic_version", "notification"})

# URL variable name -> key of world.ids used when a policy gives no `args`.
DEFAULT_ARGS = {
    "project_id": "project",
    "sub_id": "submission",
    "submission_id": "submission",
    "period_id": "period",
    "result_id": "result",
    "indicator_id": "indicator",
    "attachment_id": "attachment",
    "comment_id": "comment",
    "evaluation_id": "evaluation",
    "scorecard_id": "scorecard",
    "membership_id": "membership_reporter_other_org",
    "user_id": "user_reporter_other_org",
    "org_id": "org",
    "organisation_id": "org",
}


@dataclass
class World:
    ids: dict[str, Any] = field(default_factory=dict)
    emails: dict[str, str] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["ids"][name]
        except KeyError:
            raise AttributeError(name) from None

    def url_args(self, rule_arguments: set[str]) -> dict[str, Any]:
        missing = [name for name in rule_arguments if name not in DEFAULT_ARGS]
        if missing:
            raise KeyError(
                f"no world object for URL variables {missing}: give the route's policy "
                "`args=lambda w: {...}` (see tests/authz/__init__.py)"
            )
        return {name: self.ids[DEFAULT_ARGS[name]] for name in rule_arguments}


_worlds = itertools.count(1)


def build_world(app, make) -> World:
    """One world in one transaction (unique names, so several can share a database); in an empty
    database, a copy of the rows of the first one this worker built (tests/snapshots.py).

    Holds ids, not ORM objects (see STYLE.md). `make` is handed to the policies' `extend_world`.
    """
    return snapshots.built_once(app, "authorization world", lambda: _build_world(app, make))


def _build_world(app, make) -> World:
    n = next(_worlds)
    w = World()
    ids = w.ids
    with app.app_context():
        session = db.session
        audit.set_actor(session(), audit.SYSTEM_ACTOR)
        password_hash = hash_password(PASSWORD)

        def add(obj):
            session.add(obj)
            session.flush()
            return obj.id

        def organisation(label, group, country):
            return add(
                Organisation(
                    name=f"World {n} {label}", acronym=f"W{n}{label[:3]}", group=group, country=country
                )
            )

        ids["org"] = organisation("union", OrgGroup.workers, "KE")
        ids["other_org"] = organisation("employers", OrgGroup.employers, "KE")
        ids["org_other_project"] = organisation("other union", OrgGroup.workers, "GH")
        ids["ilo_org"] = organisation("ilo", OrgGroup.ilo, "CH")

        def project(label, country):
            serial = next(_worlds)
            reference = f"RAF/{serial // 1000 % 100:02d}/{serial % 1000:03d}/NOR"
            p = Project(
                reference=reference,
                title=f"World {n} {label}",
                funding_modality="XBDC",
                phase=Phase.implementation,
                start_date=date(2024, 1, 1),
                end_date=date(2027, 12, 31),
            )
            p.countries = [ProjectCountry(country=country)]
            return add(p)

        ids["project"] = project("project", "KE")
        ids["other_project"] = project("other project", "GH")
        for project_key, org_key in (
            ("project", "org"),
            ("project", "other_org"),
            ("other_project", "org_other_project"),
        ):
            add(Partner(project_id=ids[project_key], organisation_id=ids[org_key]))

        def user(label, org=None, **kw):
            email = f"world{n}.{label}@example.org"
            uid = add(
                User(
                    email=email,
                    full_name=f"{label.replace('_', ' ')} {n}",
                    organisation_id=org,
                    password_hash=kw.pop("password_hash", password_hash),
                    session_token=secrets.token_hex(16),
                    **kw,
                )
            )
            return uid, email

        people = {
            "reporter_same_org": (ids["org"], [(ids["project"], Role.reporter, ids["org"])]),
            "reporter_other_org": (ids["other_org"], [(ids["project"], Role.reporter, ids["other_org"])]),
            "reporter_other_project": (
                ids["org_other_project"],
                [(ids["other_project"], Role.reporter, ids["org_other_project"])],
            ),
            "specialist": (ids["ilo_org"], [(ids["project"], Role.specialist, None)]),
            "specialist_other_project": (ids["ilo_org"], [(ids["other_project"], Role.specialist, None)]),
            "evaluator": (None, [(ids["project"], Role.evaluator, None)]),
            "observer": (None, [(ids["project"], Role.observer, None)]),
            "admin": (ids["ilo_org"], []),
        }
        for kind, (org, memberships) in people.items():
            ids[f"user_{kind}"], w.emails[kind] = user(kind, org, is_admin=kind == "admin")
            for project_id, role, member_org in memberships:
                ids[f"membership_{kind}"] = add(
                    Membership(
                        user_id=ids[f"user_{kind}"],
                        project_id=project_id,
                        role=role,
                        organisation_id=member_org,
                    )
                )
        # Invited but not accepted yet (observer of the project), and a deactivated account.
        ids["user_pending"], _email = user("pending", password_hash=None)
        ids["membership_pending"] = add(
            Membership(user_id=ids["user_pending"], project_id=ids["project"], role=Role.observer)
        )
        ids["user_deactivated"], _email = user("deactivated", is_active=False)

        def period(project_key):
            return add(
                ReportingPeriod(
                    project_id=ids[project_key],
                    label="2026 H1",
                    start_date=date(2026, 1, 1),
                    end_date=date(2026, 6, 30),
                    due_date=date(2026, 7, 31),
                )
            )

        ids["period"] = period("project")
        ids["other_period"] = period("other_project")
        ids["result"] = add(
            Result(project_id=ids["project"], code="1", type=ResultType.outcome, title="Result 1")
        )
        ids["indicator"] = add(
            Indicator(
                result_id=ids["result"],
                project_id=ids["project"],
                code="1.a",
                measure=Measure.number,
                title="Indicator 1.a",
            )
        )
        author = ids["user_reporter_same_org"]

        def submission(org_key, author_id, **kw):
            return add(
                Submission(
                    project_id=ids["project"],
                    organisation_id=ids[org_key],
                    author_id=author_id,
                    narrative={},
                    **kw,
                )
            )

        ids["draft_submission"] = submission(
            "org", author, kind=SubmissionKind.design_input, status=Status.draft
        )
        ids["submission"] = submission(
            "org",
            author,
            kind=SubmissionKind.progress_report,
            period_id=ids["period"],
            status=Status.submitted,
            submitted_at=utcnow(),
        )
        ids["other_org_submission"] = submission(
            "other_org",
            ids["user_reporter_other_org"],
            kind=SubmissionKind.progress_report,
            period_id=ids["period"],
        )
        data = b"%PDF-1.4 evidence"
        ids["attachment"] = add(
            Attachment(
                submission_id=ids["submission"],
                filename="evidence.pdf",
                media_type="application/pdf",
                size=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
                data=data,
                uploaded_by_id=author,
            )
        )
        ids["comment"] = add(
            Comment(
                submission_id=ids["submission"],
                author_id=ids["user_specialist"],
                body="Please add the split.",
            )
        )
        criteria_set, scale = ensure_defaults()
        ids["criteria_set"], ids["scale"] = criteria_set.id, scale.id
        ids["evaluation"] = add(
            Evaluation(
                project_id=ids["project"],
                kind=EvaluationKind.mid_term,
                title="Mid-term evaluation",
                criteria_set=criteria_set,
                scale=scale,
                opened_by_id=ids["user_specialist"],
                deadline=date(2030, 1, 1),
            )
        )
        ids["scorecard"] = add(
            Scorecard(
                evaluation_id=ids["evaluation"],
                scorer_id=ids["user_evaluator"],
                group=ScorerGroup.independent,
            )
        )
        # Live one-time links, for the pages reached from an email.
        ids["invitation_token"] = issue(
            session.get(User, ids["user_pending"]),
            Purpose.invitation,
            lifetime=app.config["INVITATION_LIFETIME"],
        )
        ids["reset_token"] = issue(
            session.get(User, ids["user_reporter_other_org"]),
            Purpose.password_reset,
            lifetime=app.config["PASSWORD_RESET_LIFETIME"],
        )
        session.commit()
        for extend in world_extensions():
            extend(w, make)
        session.commit()
        session.remove()
    return w


# Events that change nothing another user's request could depend on.
HARMLESS_ACTIONS = frozenset({"user.login", "user.logout", "user.login_failed", "user.sessions_ended"})


def audit_head(app) -> int:
    with app.app_context():
        head = db.session.scalar(sa.select(sa.func.max(AuditEvent.id))) or 0
        db.session.remove()
        return head


def changed_since(app, head: int) -> bool:
    """Whether something other users could notice was recorded after event `head`."""
    with app.app_context():
        actions = set(db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.id > head)))
        db.session.remove()
    return bool(actions - HARMLESS_ACTIONS)


def snapshot(app) -> dict[str, str]:
    """A digest of every table's rows except the bookkeeping ones."""
    digests = {}
    with app.app_context():
        for table in db.metadata.sorted_tables:
            if table.name in BOOKKEEPING_TABLES:
                continue
            rows = db.session.execute(sa.select(table)).all()
            text = "\n".join(sorted(repr(tuple(row)) for row in rows))
            digests[table.name] = hashlib.sha256(text.encode()).hexdigest()
        db.session.remove()
    return digests


def changed_tables(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(name for name in before if before[name] != after.get(name))


__all__ = ["BOOKKEEPING_TABLES", "DEFAULT_ARGS", "KINDS", "World", "audit_head", "build_world", "snapshot"]
