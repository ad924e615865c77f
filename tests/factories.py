"""Small factories for tests: each call builds and commits one object and returns its id.

Ids, not ORM instances, cross app contexts (see STYLE.md).
"""

from __future__ import annotations

import itertools
import secrets
from datetime import date
from decimal import Decimal

from mel_app import audit
from mel_app.auth.passwords import hash_password
from mel_app.extensions import db
from mel_app.models import (
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
    Status,
    Submission,
    SubmissionKind,
    User,
)

PASSWORD = "correct horse battery staple"  # noqa: S105 - test credential
_seq = itertools.count(1)


class Factory:
    def __init__(self, app):
        self.app = app

    def _save(self, obj):
        with self.app.app_context():
            audit.set_actor(db.session(), audit.SYSTEM_ACTOR)
            db.session.add(obj)
            db.session.commit()
            return obj.id

    def organisation(
        self, name: str | None = None, group: OrgGroup = OrgGroup.workers, country="KE", **kw
    ) -> int:
        n = next(_seq)
        return self._save(
            Organisation(
                name=name or f"Organisation {n}", acronym=f"O{n}", group=group, country=country, **kw
            )
        )

    def user(
        self,
        email: str | None = None,
        *,
        organisation_id: int | None = None,
        password: str = PASSWORD,
        is_admin: bool = False,
        **kw,
    ) -> int:
        n = next(_seq)
        with self.app.app_context():
            password_hash = hash_password(password)
        return self._save(
            User(
                email=(email or f"user{n}@example.org").lower(),
                full_name=kw.pop("full_name", f"User {n}"),
                organisation_id=organisation_id,
                password_hash=password_hash,
                is_admin=is_admin,
                session_token=secrets.token_hex(16),
                **kw,
            )
        )

    def project(
        self, reference: str | None = None, *, phase: Phase = Phase.implementation, countries=("KE",), **kw
    ) -> int:
        n = next(_seq)
        project = Project(
            reference=reference or f"RAF/{n % 100:02d}/{n:02d}/NOR",
            title=kw.pop("title", f"Project {n}"),
            funding_modality=kw.pop("funding_modality", "XBDC"),
            phase=phase,
            start_date=kw.pop("start_date", date(2024, 1, 1)),
            end_date=kw.pop("end_date", date(2027, 12, 31)),
            **kw,
        )
        project.countries = [ProjectCountry(country=c) for c in countries]
        return self._save(project)

    def member(self, user_id: int, project_id: int, role: Role, organisation_id: int | None = None) -> int:
        return self._save(
            Membership(user_id=user_id, project_id=project_id, role=role, organisation_id=organisation_id)
        )

    def partner(self, project_id: int, organisation_id: int) -> int:
        return self._save(Partner(project_id=project_id, organisation_id=organisation_id))

    def period(
        self,
        project_id: int,
        label: str = "2026 H1",
        start=date(2026, 1, 1),
        end=date(2026, 6, 30),
        due=date(2026, 7, 31),
    ) -> int:
        return self._save(
            ReportingPeriod(project_id=project_id, label=label, start_date=start, end_date=end, due_date=due)
        )

    def result(self, project_id: int, code: str = "1", type: ResultType = ResultType.outcome, **kw) -> int:
        return self._save(
            Result(project_id=project_id, code=code, type=type, title=kw.pop("title", f"Result {code}"), **kw)
        )

    def indicator(self, result_id: int, code: str = "1.a", measure: Measure = Measure.number, **kw) -> int:
        with self.app.app_context():
            project_id = db.session.get(Result, result_id).project_id
        for key in ("baseline_value", "target_value"):
            if key in kw and kw[key] is not None:
                kw[key] = Decimal(str(kw[key]))
        return self._save(
            Indicator(
                result_id=result_id,
                project_id=project_id,
                code=code,
                measure=measure,
                title=kw.pop("title", f"Indicator {code}"),
                **kw,
            )
        )

    def submission(
        self,
        project_id: int,
        organisation_id: int,
        author_id: int,
        *,
        period_id: int | None = None,
        kind: SubmissionKind = SubmissionKind.progress_report,
        status: Status = Status.draft,
        **kw,
    ) -> int:
        return self._save(
            Submission(
                project_id=project_id,
                organisation_id=organisation_id,
                author_id=author_id,
                period_id=period_id,
                kind=kind,
                status=status,
                narrative=kw.pop("narrative", {}),
                **kw,
            )
        )
