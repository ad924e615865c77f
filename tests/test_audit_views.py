"""History tabs, the trail page and its CSV download: who sees what, in words they understand."""

from __future__ import annotations

import csv
import io
import secrets
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask import render_template_string
from flask_login import login_user

from mel_app import audit
from mel_app.audit import labels
from mel_app.audit.history import audited_models, column_info
from mel_app.auth.passwords import hash_password
from mel_app.extensions import db
from mel_app.models import (
    AuditEvent,
    Comment,
    Evaluation,
    Indicator,
    IndicatorValue,
    Measure,
    Membership,
    Organisation,
    OrgGroup,
    Project,
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
    Visibility,
    utcnow,
)
from tests.conftest import csrf_token
from tests.factories import PASSWORD


@dataclass
class World:
    users: dict[str, int] = field(default_factory=dict)
    project: int = 0
    other_project: int = 0
    org_a: int = 0
    org_b: int = 0
    sub: int = 0
    other_sub: int = 0
    value: int = 0
    scorecard: int = 0
    evaluation: int = 0


@pytest.fixture
def world(app) -> World:
    """Two projects, two organisations and people in every role, built in a few commits."""
    w = World()
    with app.app_context():
        audit.set_actor(db.session(), audit.SYSTEM_ACTOR)
        org_a = Organisation(
            name="Fictional Union of Kenya", acronym="FUK", group=OrgGroup.workers, country="KE"
        )
        org_b = Organisation(name="Fictional Employers of Kenya", group=OrgGroup.employers, country="KE")
        ilo = Organisation(name="ILO ACTRAV", group=OrgGroup.ilo)
        projects = [
            Project(reference=ref, title=title, funding_modality="XBDC")
            for ref, title in [("RAF/22/11/NOR", "Workers' rights"), ("RAF/23/05/FIN", "Other project")]
        ]
        db.session.add_all([org_a, org_b, ilo, *projects])
        db.session.flush()
        password = hash_password(PASSWORD)
        users = {}
        for name, org in [
            ("admin", None),
            ("specialist", ilo),
            ("specialist_other_project", ilo),
            ("reporter_same_org", org_a),
            ("reporter_other_org", org_b),
            ("evaluator", ilo),
            ("outsider", org_a),
        ]:
            users[name] = User(
                email=f"{name}@example.org",
                full_name=name.title(),
                organisation=org,
                password_hash=password,
                is_admin=name == "admin",
                session_token=secrets.token_hex(16),
            )
        db.session.add_all(users.values())
        main, other = projects
        db.session.add_all(
            [
                Membership(user=users["specialist"], project=main, role=Role.specialist),
                Membership(user=users["specialist_other_project"], project=other, role=Role.specialist),
                Membership(
                    user=users["reporter_same_org"], project=main, role=Role.reporter, organisation=org_a
                ),
                Membership(
                    user=users["reporter_other_org"], project=main, role=Role.reporter, organisation=org_b
                ),
                Membership(user=users["evaluator"], project=main, role=Role.evaluator),
            ]
        )
        periods = [
            ReportingPeriod(
                project=p,
                label="2026 H1",
                start_date=date(2026, 1, 1),
                end_date=date(2026, 6, 30),
                due_date=date(2026, 7, 31),
            )
            for p in projects
        ]
        result = Result(project=main, code="1", type=ResultType.outcome, title="Workers organised")
        db.session.add_all([*periods, result])
        db.session.flush()
        indicator = Indicator(
            result=result, project_id=main.id, code="1.a", measure=Measure.number, title="Members trained"
        )
        subs = [
            Submission(
                project=p,
                organisation=org_a,
                author=users["reporter_same_org"],
                period=period,
                kind=SubmissionKind.progress_report,
                narrative={},
            )
            for p, period in zip(projects, periods, strict=True)
        ]
        db.session.add_all([indicator, *subs])
        db.session.commit()
        w.users = {name: user.id for name, user in users.items()}
        w.org_a, w.org_b, w.project, w.other_project = org_a.id, org_b.id, main.id, other.id
        w.sub, w.other_sub = subs[0].id, subs[1].id
        indicator = indicator.id
    with app.app_context():
        from mel_app.evaluations.defaults import ensure_defaults

        audit.set_actor(db.session(), audit.Actor(w.users["reporter_same_org"], "Reporter_Same_Org"))
        value = IndicatorValue(submission_id=w.sub, indicator_id=indicator, value=Decimal("12"))
        db.session.add(value)
        sub = db.session.get(Submission, w.sub)
        sub.narrative = {"achievements": "We trained 12 shop stewards."}
        db.session.commit()
        w.value = value.id

        # The specialist returns it with a comment, and writes an internal note.
        audit.set_actor(db.session(), audit.Actor(w.users["specialist"], "Specialist"))
        sub = db.session.get(Submission, w.sub)
        sub.status, sub.submitted_at = Status.submitted, utcnow()
        audit.record(db.session, "submission.submit", target=sub)
        db.session.commit()
        sub.status, sub.returned_at, sub.returned_by_id = Status.returned, utcnow(), w.users["specialist"]
        audit.record(db.session, "submission.return", target=sub, reason="Add the women/men split")
        db.session.add_all(
            [
                Comment(submission_id=w.sub, author_id=w.users["specialist"], body="Shared remark"),
                Comment(
                    submission_id=w.sub,
                    author_id=w.users["specialist"],
                    body="Internal only: check the union's figures",
                    visibility=Visibility.internal,
                ),
            ]
        )
        db.session.commit()

        audit.set_actor(db.session(), audit.SYSTEM_ACTOR)
        criteria_set, scale = ensure_defaults()
        evaluation = Evaluation(
            project_id=w.project,
            kind="mid_term",
            title="Mid-term review",
            criteria_set_id=criteria_set.id,
            scale_id=scale.id,
            opened_by_id=w.users["specialist"],
        )
        db.session.add(evaluation)
        db.session.flush()
        scorecard = Scorecard(
            evaluation_id=evaluation.id, scorer_id=w.users["evaluator"], group=ScorerGroup.ilo
        )
        db.session.add(scorecard)
        db.session.commit()
        w.evaluation, w.scorecard = evaluation.id, scorecard.id
    return w


def _login(client, world, who):
    if who != "anonymous":
        resp = client.post(
            "/login",
            data={
                "email": f"{who}@example.org",
                "password": "correct horse battery staple",
                "csrf_token": csrf_token(client),
            },
        )
        assert resp.status_code == 302


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("admin", 200),
        ("specialist", 200),
        ("reporter_same_org", 200),
        ("reporter_other_org", 404),
        ("evaluator", 403),
        ("specialist_other_project", 404),
        ("outsider", 404),
        ("anonymous", 302),
    ],
)
def test_who_may_read_a_submissions_history(client, world, who, status):
    _login(client, world, who)
    assert client.get(f"/history/submission/{world.sub}").status_code == status


@pytest.mark.parametrize(
    ("path", "who", "status"),
    [
        ("/history/project/{project}", "specialist", 200),
        ("/history/project/{project}", "reporter_same_org", 403),
        ("/history/project/{project}", "specialist_other_project", 404),
        ("/history/project/{project}", "admin", 200),
        ("/history/user/{reporter}", "reporter_same_org", 200),
        ("/history/user/{reporter}", "specialist", 404),
        ("/history/user/{reporter}", "admin", 200),
        ("/history/organisation/{org_a}", "admin", 200),
        ("/history/organisation/{org_a}", "specialist", 403),
        ("/history/scorecard/{scorecard}", "evaluator", 200),
        ("/history/scorecard/{scorecard}", "reporter_same_org", 404),
        ("/history/scorecard/{scorecard}", "specialist", 200),
        ("/history/evaluation/{evaluation}", "specialist", 200),
        ("/history/evaluation/{evaluation}", "evaluator", 403),
        ("/history/indicator_value/{value}", "specialist", 200),
        ("/history/indicator_value/{value}", "reporter_same_org", 404),
        ("/history/nonsense/1", "admin", 404),
        ("/history/submission/abc", "admin", 404),
        ("/history/audit_event/1", "admin", 404),
    ],
)
def test_who_may_read_other_histories(client, world, path, who, status):
    _login(client, world, who)
    url = path.format(
        project=world.project,
        reporter=world.users["reporter_same_org"],
        org_a=world.org_a,
        scorecard=world.scorecard,
        evaluation=world.evaluation,
        value=world.value,
    )
    assert client.get(url).status_code == status


def test_a_submissions_history_says_who_did_what_in_words(client, world):
    _login(client, world, "specialist")
    page = client.get(f"/history/submission/{world.sub}").get_data(as_text=True)
    assert "Returned for revision" in page  # the action, and the status value, in words
    assert "Add the women/men split" in page  # the reason
    assert "Submitted" in page and "Draft" in page
    assert "Specialist" in page  # who; and a user id shown by name
    assert "Narrative: Achievements" in page and "We trained 12 shop stewards." in page
    # A child row, named by its indicator and period.
    assert "Value of indicator 1.a “Members trained” for 2026 H1" in page
    assert "Internal only: check the union" in page, "specialists read internal comments"


def test_reporters_never_read_internal_comments_in_a_history(client, world):
    _login(client, world, "reporter_same_org")
    page = client.get(f"/history/submission/{world.sub}").get_data(as_text=True)
    assert "Add the women/men split" in page
    assert "Internal only" not in page and "Shared remark" not in page


def test_only_administrators_see_network_addresses(client, world):
    _login(client, world, "reporter_same_org")
    page = client.get(f"/history/user/{world.users['reporter_same_org']}").get_data(as_text=True)
    assert "Signed in" in page and "127.0.0.1" not in page
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    _login(client, world, "admin")
    page = client.get(f"/history/user/{world.users['reporter_same_org']}").get_data(as_text=True)
    assert "127.0.0.1" in page


def test_a_deleted_records_history_stays_readable_to_specialists(app, client, world):
    with app.app_context():
        db.session.delete(db.session.get(IndicatorValue, world.value))
        db.session.commit()
    _login(client, world, "specialist")
    page = client.get(f"/history/indicator_value/{world.value}").get_data(as_text=True)
    assert "has been deleted" in page and "Value removed" in page
    assert "<h1>History: Value of indicator 1.a “Members trained” for 2026 H1</h1>" in page
    # ... and the submission's history still shows the deleted value's whole story, by its name.
    page = client.get(f"/history/submission/{world.sub}").get_data(as_text=True)
    assert "Value removed" in page and "Value of indicator 1.a “Members trained” for 2026 H1" in page
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    _login(client, world, "reporter_same_org")
    assert client.get(f"/history/indicator_value/{world.value}").status_code == 404


def test_the_project_history_shows_its_framework_and_members_but_not_submissions(client, world):
    _login(client, world, "specialist")
    page = client.get(f"/history/project/{world.project}").get_data(as_text=True)
    assert "Added to the project" in page and "Specialist as ACTRAV specialist" in page
    assert "Indicator" in page and "Reporting period" in page
    assert "Narrative" not in page


# --- the trail ---------------------------------------------------------------------------------------


def _trail(client, **args):
    resp = client.get("/audit", query_string=args)
    return resp.status_code, resp.get_data(as_text=True)


@pytest.mark.parametrize(
    ("who", "status"),
    [("admin", 200), ("specialist", 200), ("reporter_same_org", 403), ("evaluator", 403), ("anonymous", 302)],
)
def test_who_may_read_the_trail(client, world, who, status):
    _login(client, world, who)
    assert client.get("/audit").status_code == status


def test_the_nav_links_the_trail_only_for_those_who_may_read_it(client, world):
    _login(client, world, "specialist")
    assert 'href="/audit"' in client.get("/").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    _login(client, world, "reporter_same_org")
    assert 'href="/audit"' not in client.get("/").get_data(as_text=True)


def test_specialists_read_only_their_projects_events(client, world):
    _login(client, world, "specialist")
    status, page = _trail(client)
    assert status == 200
    assert "RAF/22/11/NOR" in page and "RAF/23/05/FIN" not in page
    assert "Signed in" not in page, "account events belong to no project"
    # Asking for another project's events gives nothing away.
    status, page = _trail(client, project=world.other_project)
    assert status == 400


def test_administrators_filter_the_trail(client, world):
    _login(client, world, "admin")
    status, page = _trail(client, action="submission.return")
    assert status == 200 and "Add the women/men split" in page and "Signed in" not in page
    status, page = _trail(client, action="user")
    assert "Signed in" in page and "Returned for revision" not in page
    status, page = _trail(client, actor="specialist")
    assert "Returned for revision" in page and "Signed in" not in page
    status, page = _trail(client, actor=f"#{world.users['specialist']}")
    assert "Returned for revision" in page
    status, page = _trail(client, entity_type="indicator_value", entity_id=str(world.value))
    assert "Members trained" in page and "Returned for revision" not in page
    status, page = _trail(client, project=world.other_project)
    assert "RAF/23/05/FIN" in page and "Returned for revision" not in page
    today = utcnow().date()
    status, page = _trail(client, date_from=today.isoformat(), date_to=today.isoformat())
    assert "Returned for revision" in page
    status, page = _trail(client, date_to=(today - timedelta(days=1)).isoformat())
    assert "No event matches" in page


def test_a_wrong_date_range_is_explained_and_keeps_the_input(client, world):
    _login(client, world, "admin")
    status, page = _trail(client, date_from="2026-05-02", date_to="2026-05-01", actor="someone")
    assert status == 400
    assert "The end date is before the start date." in page
    assert 'value="someone"' in page


def test_the_trail_pages_by_event_id(app, client, world):
    with app.app_context():
        org = db.session.get(Organisation, world.org_a)
        for i in range(120):
            org.acronym = f"A{i}"
            db.session.commit()
        head = audit.chain.head(db.session.connection())[0]
    _login(client, world, "admin")
    seen, url, pages = [], "/audit?action=organisation", 0
    while url:
        page = client.get(url).get_data(as_text=True)
        ids = [int(part.split('"', 1)[0]) for part in page.split('id="event-')[1:]]
        assert ids == sorted(ids, reverse=True) and len(ids) <= 50
        seen += ids
        pages += 1
        url = None
        if 'rel="next"' in page:
            url = page.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
            assert "before=" in url and "action=organisation" in url
    assert pages >= 3
    assert len(seen) == len(set(seen)), "no event twice"
    with app.app_context():
        expected = db.session.scalars(
            sa.select(AuditEvent.id)
            .where(AuditEvent.action.like("organisation.%"))
            .order_by(AuditEvent.id.desc())
        ).all()
    assert seen == expected and seen[0] <= head
    # Back to newer pages from the last one.
    last_page = client.get(f"/audit?action=organisation&before={seen[100]}").get_data(as_text=True)
    newer = last_page.split('rel="prev"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    page = client.get(newer).get_data(as_text=True)
    ids = [int(part.split('"', 1)[0]) for part in page.split('id="event-')[1:]]
    assert ids == seen[51:101], "the 50 events just newer than that page"


@pytest.mark.parametrize("branches", [40, 0], ids=["a-branch-per-project", "one-scan"])
def test_a_specialist_of_two_projects_pages_through_both_in_order(app, client, world, monkeypatch, branches):
    """Each project is read through its own index (or, past the limit, in one scan): the pages
    must still hold exactly the viewer's projects' events, newest first, each once."""
    from mel_app.audit import history

    monkeypatch.setattr(history, "MAX_PROJECT_BRANCHES", branches)
    with app.app_context():
        db.session.add(
            Membership(
                user_id=world.users["specialist"], project_id=world.other_project, role=Role.specialist
            )
        )
        db.session.commit()
        projects = [db.session.get(Project, world.project), db.session.get(Project, world.other_project)]
        for i in range(60):  # interleaved: every other event belongs to the other project
            projects[i % 2].donor = f"Donor {i}"
            db.session.commit()
        expected = db.session.scalars(
            sa.select(AuditEvent.id)
            .where(AuditEvent.project_id.in_([world.project, world.other_project]))
            .order_by(AuditEvent.id.desc())
        ).all()
    _login(client, world, "specialist")
    seen, url = [], "/audit"
    while url:
        page = client.get(url).get_data(as_text=True)
        seen += [int(part.split('"', 1)[0]) for part in page.split('id="event-')[1:]]
        url = None
        if 'rel="next"' in page:
            url = page.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    assert seen == expected and len(seen) > 60, "more than one page"
    # And back: the page just newer than the last one.
    page = client.get(f"/audit?before={seen[60]}").get_data(as_text=True)
    newer = page.split('rel="prev"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    ids = [
        int(part.split('"', 1)[0])
        for part in client.get(newer).get_data(as_text=True).split('id="event-')[1:]
    ]
    assert ids == seen[11:61], "the 50 events just newer than that page"


def test_the_trail_page_costs_the_same_number_of_queries_whatever_the_events(app, client, world, queries):
    _login(client, world, "admin")
    with queries() as few:
        client.get("/audit")
    with app.app_context():
        for i in range(40):
            audit.set_actor(db.session(), audit.Actor(world.users["specialist"], f"Actor {i}"))
            db.session.add(Organisation(name=f"Union {i}", group=OrgGroup.workers, parent_id=world.org_a))
            db.session.commit()
    with queries() as many:
        client.get("/audit")
    assert len(many) <= len(few) + 1, (len(few), len(many))


# --- the download ------------------------------------------------------------------------------------


def _download(client, **data):
    return client.post("/audit/download", data={**data, "csrf_token": csrf_token(client)})


def _rows(resp) -> list[dict[str, str]]:
    text = resp.get_data().decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def test_the_download_is_streamed_as_csv_and_recorded(app, client, world):
    _login(client, world, "admin")
    with _download(client, action="submission") as resp:
        assert resp.status_code == 200
        assert resp.mimetype == "text/csv" and "attachment" in resp.headers["Content-Disposition"]
        assert resp.is_streamed
        rows = _rows(resp)
    assert rows and all(r["action"].startswith("submission.") for r in rows)
    assert {"remote_addr", "hash", "prev_hash", "before", "after", "project_reference"} <= set(rows[0])
    assert any(r["reason"] == "Add the women/men split" for r in rows)
    with app.app_context():
        (event,) = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "audit.download"))
        assert event.actor_id == world.users["admin"]
        assert event.after["filters"] == {"action": "submission"}
        assert event.after["up_to_event"] == event.id - 1
        assert all(int(r["id"]) < event.id for r in rows)


def test_a_specialists_download_has_their_projects_only_and_no_addresses(client, world):
    _login(client, world, "specialist")
    with _download(client) as resp:
        rows = _rows(resp)
    assert rows and {r["project_reference"] for r in rows} == {"RAF/22/11/NOR"}
    assert "remote_addr" not in rows[0]


def test_the_download_needs_a_post_with_a_valid_token(client, world):
    _login(client, world, "admin")
    assert client.get("/audit/download").status_code == 405
    assert client.post("/audit/download", data={}).status_code == 400
    _login_as = client.post("/logout", data={"csrf_token": csrf_token(client)})
    assert _login_as.status_code == 302
    _login(client, world, "reporter_same_org")
    assert _download(client).status_code == 403


def test_cells_a_spreadsheet_would_run_are_defused(app, client, world):
    with app.app_context():
        audit.record(db.session, "export.download", actor=audit.Actor(None, "=HYPERLINK(1)"), reason="+1")
        db.session.commit()
    _login(client, world, "admin")
    with _download(client, action="export") as resp:
        (row,) = _rows(resp)
    assert row["actor_name"] == "'=HYPERLINK(1)" and row["reason"] == "'+1"


# --- reuse on other pages -------------------------------------------------------------------------------


def test_the_history_link_macro_shows_only_to_those_who_may_follow_it(app, world):
    template = '{% from "_macros/audit.html" import history_link %}{{ history_link(sub) }}'
    with app.test_request_context():
        sub = db.session.get(Submission, world.sub)
        login_user(db.session.get(User, world.users["reporter_same_org"]))
        assert f'href="/history/submission/{world.sub}"' in render_template_string(template, sub=sub)
        login_user(db.session.get(User, world.users["reporter_other_org"]))
        assert "href" not in render_template_string(template, sub=sub)


def test_every_audited_field_entity_and_value_has_words(app):
    missing = [
        f"{table}.{key}"
        for (table, key) in column_info()
        if key not in labels.FIELD_LABELS
        and (table, key) not in labels.FIELD_LABELS_BY_ENTITY
        and key not in audited_models()[table].__audit_exclude__
    ]
    assert missing == []
    assert set(audited_models()) <= set(labels.ENTITY_LABELS)
    for info in column_info().values():
        if info.enum is not None:
            assert {m.value for m in info.enum} <= set(labels.ENUM_LABELS[info.enum]), info.enum
    from mel_app.models import NARRATIVE_SECTIONS

    assert set(labels.NARRATIVE_LABELS) == set(NARRATIVE_SECTIONS)


def test_a_history_page_costs_the_same_number_of_queries_whatever_its_length(app, client, world, queries):
    _login(client, world, "specialist")
    with queries() as few:
        assert client.get(f"/history/submission/{world.sub}").status_code == 200
    with app.app_context():
        audit.set_actor(db.session(), audit.Actor(world.users["reporter_same_org"], "Reporter"))
        for i in range(30):
            sub = db.session.get(Submission, world.sub)
            sub.narrative = {"achievements": f"Version {i}"}
            sub.last_edited_by_id = (
                world.users["reporter_other_org"] if i % 2 else world.users["reporter_same_org"]
            )
            db.session.get(IndicatorValue, world.value).value = Decimal(i)
            db.session.commit()
    with queries() as many:
        page = client.get(f"/history/submission/{world.sub}").get_data(as_text=True)
    assert "Version 29" in page
    assert len(many) <= len(few) + 1, (len(few), len(many))
