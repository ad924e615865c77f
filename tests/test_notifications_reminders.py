"""Reminders: a report due in 14 and 3 days, due today, weekly while overdue, to the organisation's
reporters; a scorecard not submitted 3 days before the deadline, to its scorer; the specialists'
weekly summary. Idempotent (a second run on a day sends nothing) and stopped once the thing is done."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from mel_app.extensions import db
from mel_app.models import OrgGroup, Role, Status
from mel_app.notifications import reminders
from tests import notify_world as w
from tests.smtp_server import mail_server_fixture  # noqa: F401 - the fixture
from tests.test_notifications_events import EMPLOYER, SPECIALIST, _received, demo_fixture  # noqa: F401

DUE = date(2026, 7, 31)


@pytest.fixture
def reporting(app, make, mail_server):
    project = make.project()
    union, employers = make.organisation(), make.organisation(group=OrgGroup.employers)
    people = {
        "union1": make.user("union1@example.org", organisation_id=union),
        "union2": make.user("union2@example.org", organisation_id=union, preferred_language="fr"),
        "employer": make.user("emp@example.org", organisation_id=employers),
        "specialist": make.user("spec@example.org"),
        "observer": make.user("obs@example.org"),
    }
    make.member(people["union1"], project, Role.reporter, union)
    make.member(people["union2"], project, Role.reporter, union)
    make.member(people["employer"], project, Role.reporter, employers)
    make.member(people["specialist"], project, Role.specialist)
    make.member(people["observer"], project, Role.observer)
    period = make.period(project, due=DUE)
    return {"project": project, "period": period, "employers": employers, **people}


def _run(app, mail_server, day: date) -> dict[str, list]:
    with app.app_context():
        reminders.run_daily(day)
        db.session.remove()
    w.deliver(app)
    return _received(mail_server)


def test_report_reminders_before_on_and_after_the_due_date_until_it_is_submitted(
    app, make, reporting, mail_server
):
    everyone = {"union1@example.org", "union2@example.org", "emp@example.org"}
    received = _run(app, mail_server, DUE - timedelta(days=14))
    assert set(received) == everyone, "the reporters, and nobody else"
    assert "Due in 14 days" in received["union1@example.org"][0]["Subject"]
    assert received["union2@example.org"][0]["Content-Language"] == "fr"
    assert "À rendre dans 14 jours" in received["union2@example.org"][0]["Subject"], "in their language"
    assert _run(app, mail_server, DUE - timedelta(days=14)) == {}, "a second run the same day sends nothing"
    assert _run(app, mail_server, DUE - timedelta(days=13)) == {}

    # The employers submit: their reminders stop; the union's go on.
    make.submission(
        reporting["project"],
        reporting["employers"],
        reporting["employer"],
        period_id=reporting["period"],
        status=Status.submitted,
        submitted_at=datetime.now(UTC),
        version=2,
    )
    received = _run(app, mail_server, DUE - timedelta(days=3))
    assert set(received) == {"union1@example.org", "union2@example.org"}
    assert "Due today" in _run(app, mail_server, DUE)["union1@example.org"][0]["Subject"]
    assert _run(app, mail_server, DUE + timedelta(days=1)) == {}
    overdue = _run(app, mail_server, DUE + timedelta(days=7))
    assert set(overdue) == {"union1@example.org", "union2@example.org"}
    assert "Overdue" in overdue["union1@example.org"][0]["Subject"]
    assert _run(app, mail_server, DUE + timedelta(days=8)) == {}
    assert set(_run(app, mail_server, DUE + timedelta(days=14))) == {
        "union1@example.org",
        "union2@example.org",
    }


def test_a_scorecard_not_submitted_three_days_before_the_deadline(app, demo):
    with app.app_context():
        deadline = w.evaluation("Mid-term evaluation 2026").deadline
    # Only the scorecard's reminders: the demo's dates move with today's, so on some days the
    # specialist's weekly summary of the review queue goes out on the same run.
    received = {
        to: subjects
        for to, messages in _run(app, demo, deadline - timedelta(days=3)).items()
        if (subjects := [m["Subject"] for m in messages if not m["Subject"].startswith("This week:")])
    }
    # Of its four scorers only the employer has not submitted; nobody else is reminded.
    assert set(received) == {EMPLOYER}, sorted(received)
    assert "Mid-term evaluation 2026" in received[EMPLOYER][0]
    assert _run(app, demo, deadline - timedelta(days=3)) == {}


def test_the_specialists_weekly_summary_on_mondays_only(app, demo):
    monday = date.today() + timedelta(days=(7 - date.today().weekday()) % 7 or 7)
    assert _run(app, demo, monday + timedelta(days=1)).get(SPECIALIST, []) == []
    received = _run(app, demo, monday)
    (summary,) = received[SPECIALIST]
    assert "awaiting review" in summary["Subject"]
    assert _run(app, demo, monday).get(SPECIALIST) is None, "once a week"


def test_a_planned_action_due_soon_then_overdue_until_completed(app, demo):
    from mel_app.models import ActionStatus, Recommendation, ResponseKind

    with app.app_context():
        rec = db.session.scalar(sa.select(Recommendation).order_by(Recommendation.id))
        rec.response, rec.planned_action = ResponseKind.accepted, "Run two trainings."
        rec.due_date, rec.action_status = DUE, ActionStatus.in_progress
        db.session.commit()
        rec_id = rec.id

    def planned(day: date) -> dict[str, list[str]]:
        # Only these reminders: the demo's reports fall due around the same days.
        found: dict[str, list[str]] = {}
        for to, messages in _run(app, demo, day).items():
            subjects = [m["Subject"] for m in messages if "Planned action" in m["Subject"]]
            if subjects:
                found[to] = subjects
        return found

    received = planned(DUE - timedelta(days=7))
    assert set(received) == {SPECIALIST} and "due on" in received[SPECIALIST][0]
    assert planned(DUE) == {}
    assert "overdue" in planned(DUE + timedelta(days=1))[SPECIALIST][0]
    with app.app_context():
        db.session.get(Recommendation, rec_id).action_status = ActionStatus.completed
        db.session.commit()
    assert planned(DUE + timedelta(days=8)) == {}, "done: no more reminders"


def test_a_project_chooses_its_own_reminder_days(app, make, reporting, mail_server, client, login):
    from mel_app.models import Project

    with app.app_context():
        db.session.get(Project, reporting["project"]).report_reminder_days = "7"
        db.session.commit()
    assert _run(app, mail_server, DUE - timedelta(days=14)) == {}, "not the default's 14 days"
    assert set(_run(app, mail_server, DUE - timedelta(days=7))) == {
        "union1@example.org",
        "union2@example.org",
        "emp@example.org",
    }
    assert _run(app, mail_server, DUE - timedelta(days=3)) == {}
    assert set(_run(app, mail_server, DUE)), "still reminded on the day"
