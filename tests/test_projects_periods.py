"""Reporting periods: one by one, as a generated series, edited, and deleted while unreported."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from mel_app.extensions import db
from mel_app.models import AuditEvent, OrgGroup, ReportingPeriod, Role, Status


@pytest.fixture
def setup(make):
    project = make.project("RAF/22/11/NOR", start_date=date(2024, 7, 15), end_date=date(2026, 6, 30))
    spec = make.user("spec@example.org")
    union = make.organisation("Union", OrgGroup.workers)
    rep = make.user("rep@example.org", organisation_id=union)
    make.member(spec, project, Role.specialist)
    make.member(rep, project, Role.reporter, organisation_id=union)
    return dict(project=project, union=union, rep=rep)


def _periods(app, project_id):
    with app.app_context():
        return [
            (p.label, p.start_date, p.end_date, p.due_date)
            for p in db.session.scalars(
                sa.select(ReportingPeriod)
                .where(ReportingPeriod.project_id == project_id)
                .order_by(ReportingPeriod.start_date)
            )
        ]


def test_generate_a_half_yearly_series_between_the_project_dates(app, client, login, post, setup):
    login("spec@example.org")
    p = setup["project"]
    resp = post(f"/projects/{p}/periods/generate", {"frequency": "half_yearly", "due_days": "31"})
    assert resp.status_code == 302
    assert _periods(app, p) == [
        ("2024 H2", date(2024, 7, 15), date(2024, 12, 31), date(2025, 1, 31)),
        ("2025 H1", date(2025, 1, 1), date(2025, 6, 30), date(2025, 7, 31)),
        ("2025 H2", date(2025, 7, 1), date(2025, 12, 31), date(2026, 1, 31)),
        ("2026 H1", date(2026, 1, 1), date(2026, 6, 30), date(2026, 7, 31)),
    ]
    # Generating again adds nothing and says why.
    resp = post(
        f"/projects/{p}/periods/generate", {"frequency": "quarterly", "due_days": "30"}, follow_redirects=True
    )
    assert "overlap existing ones" in resp.get_data(as_text=True)
    assert len(_periods(app, p)) == 4
    with app.app_context():
        assert (
            db.session.scalar(
                sa.select(sa.func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "period.generate")
            )
            == 4
        )


def test_add_one_period_and_the_rules_it_must_follow(app, client, login, post, setup):
    login("spec@example.org")
    p = setup["project"]
    good = {
        "label": "2025 Q1",
        "start_date": "2025-01-01",
        "end_date": "2025-03-31",
        "due_date": "2025-04-30",
    }
    assert post(f"/projects/{p}/periods", good).status_code == 302
    for changes, message, status in [
        (
            {"label": "2025 Q1", "start_date": "2025-04-01", "end_date": "2025-06-30"},
            "Another period is called",
            409,
        ),
        (
            {"label": "Overlap", "start_date": "2025-03-01", "end_date": "2025-05-31"},
            "overlaps the period 2025 Q1",
            409,
        ),
        (
            {
                "label": "Early",
                "start_date": "2024-01-01",
                "end_date": "2024-03-31",
                "due_date": "2024-04-30",
            },
            "The project starts on",
            409,
        ),
        (
            {
                "label": "Late due",
                "start_date": "2025-04-01",
                "end_date": "2025-06-30",
                "due_date": "2025-06-01",
            },
            "only be due after the period ends",
            422,
        ),
        (
            {"label": "Backwards", "start_date": "2025-06-30", "end_date": "2025-04-01"},
            "end cannot be before the start",
            422,
        ),
        ({"label": ""}, "This field is required", 422),
    ]:
        resp = post(f"/projects/{p}/periods", {**good, "due_date": "2025-07-31", **changes})
        assert resp.status_code == status, changes
        assert message in resp.get_data(as_text=True)
    assert len(_periods(app, p)) == 1


def test_a_period_with_reports_cannot_be_deleted(app, make, client, login, post, setup):
    p = setup["project"]
    with_report = make.period(p, "2025 H1", date(2025, 1, 1), date(2025, 6, 30), date(2025, 7, 31))
    empty = make.period(p, "2025 H2", date(2025, 7, 1), date(2025, 12, 31), date(2026, 1, 31))
    make.submission(p, setup["union"], setup["rep"], period_id=with_report, status=Status.withdrawn)
    login("spec@example.org")
    page = client.get(f"/projects/{p}/periods").get_data(as_text=True)
    assert f"/periods/{with_report}/delete" not in page and f"/periods/{empty}/delete" in page
    resp = post(f"/projects/{p}/periods/{with_report}/delete")
    assert resp.status_code == 409 and "cannot be deleted" in resp.get_data(as_text=True)
    assert post(f"/projects/{p}/periods/{empty}/delete").status_code == 302
    assert [label for label, *_ in _periods(app, p)] == ["2025 H1"]


def test_a_period_with_reports_keeps_its_dates_but_may_get_a_later_due_date(
    app, make, client, login, post, setup
):
    p = setup["project"]
    period = make.period(p, "2025 H1", date(2025, 1, 1), date(2025, 6, 30), date(2025, 7, 31))
    make.submission(p, setup["union"], setup["rep"], period_id=period, status=Status.draft)
    login("spec@example.org")
    page = client.get(f"/projects/{p}/periods/{period}/edit").get_data(as_text=True)
    stamp = page.split('name="version" type="hidden" value="')[1].split('"')[0]
    data = {
        "label": "2025 H1",
        "start_date": "2025-01-01",
        "end_date": "2025-06-30",
        "due_date": "2025-08-31",
    }
    assert post(f"/projects/{p}/periods/{period}/edit", {**data, "version": stamp}).status_code == 302
    resp = post(f"/projects/{p}/periods/{period}/edit", {**data, "end_date": "2025-05-31"})
    assert resp.status_code == 409 and "only its name and due date can change" in resp.get_data(as_text=True)
    assert _periods(app, p) == [("2025 H1", date(2025, 1, 1), date(2025, 6, 30), date(2025, 8, 31))]


@pytest.mark.parametrize("who", ["rep@example.org"])
def test_reporters_cannot_manage_periods(app, make, client, login, post, setup, who):
    p = setup["project"]
    period = make.period(p)
    login(who)
    assert client.get(f"/projects/{p}/periods").status_code == 403
    assert (
        post(f"/projects/{p}/periods/generate", {"frequency": "yearly", "due_days": "30"}).status_code == 403
    )
    assert post(f"/projects/{p}/periods/{period}/delete").status_code == 403
    assert len(_periods(app, p)) == 1
