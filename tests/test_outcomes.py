"""Outcome harvesting: a project's outcome statements, recorded and edited by its specialists,
read by its members, audited, and carried by the downloads."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from mel_app.extensions import db
from mel_app.models import AuditEvent, OrgGroup, OutcomeContributor, OutcomeStatement, Role, User


@pytest.fixture
def world(make):
    project = make.project("RAF/22/11/NOR", title="Decent work in textiles")
    other = make.project("RAS/23/12/NOR", title="Another project")
    union = make.organisation("Textile Workers Union", OrgGroup.workers)
    employers = make.organisation("Textile Employers", OrgGroup.employers)
    stranger = make.organisation("Not a partner", OrgGroup.other)
    make.partner(project, union)
    make.partner(project, employers)
    spec = make.user("spec@example.org")
    rep = make.user("rep@example.org", organisation_id=union)
    outsider = make.user("outsider@example.org")
    make.member(spec, project, Role.specialist)
    make.member(rep, project, Role.reporter, organisation_id=union)
    make.member(outsider, other, Role.specialist)
    result = make.result(project, code="1", title="Social dialogue strengthened")
    other_result = make.result(other, code="9", title="Elsewhere")
    return dict(
        project=project,
        other=other,
        union=union,
        employers=employers,
        stranger=stranger,
        spec=spec,
        rep=rep,
        result=result,
        other_result=other_result,
    )


def _form(w, **overrides):
    data = {
        "social_actor": "The Ministry of Labour of Kenya",
        "change": "Consults the unions before drafting labour regulations.",
        "when": "2026-03",
        "place": "Nairobi",
        "significance": "Workers are heard before rules are made.",
        "contribution": "The project trained both sides in social dialogue.",
        "organisations": [str(w["union"])],
        "result_id": str(w["result"]),
        "unexpected": "y",
    }
    data.update(overrides)
    return data


def _statements(app):
    with app.app_context():
        return [
            (
                o.social_actor,
                o.changed_on,
                o.month_only,
                o.result_id,
                o.unexpected,
                o.negative,
                sorted(c.organisation_id for c in o.contributors),
            )
            for o in db.session.scalars(sa.select(OutcomeStatement).order_by(OutcomeStatement.id))
        ]


def _record(post, w, on=None, **overrides):
    resp = post(f"/projects/{w['project']}/outcomes/new", _form(w, **overrides), on=on)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    return int(resp.headers["Location"].rstrip("/").rsplit("/", 1)[1])


def test_a_specialist_records_and_edits_an_outcome_and_a_conflict_keeps_the_input(
    app, client, login, post, world
):
    w = world
    login("spec@example.org")
    assert client.get(f"/projects/{w['project']}/outcomes/new").status_code == 200
    outcome_id = _record(post, w)
    assert _statements(app) == [
        ("The Ministry of Labour of Kenya", date(2026, 3, 1), True, w["result"], True, False, [w["union"]])
    ]
    page = client.get(f"/projects/{w['project']}/outcomes/{outcome_id}").get_data(as_text=True)
    assert "Consults the unions" in page and "March 2026" in page and "Textile Workers Union" in page

    edit_url = f"/projects/{w['project']}/outcomes/{outcome_id}/edit"
    form = client.get(edit_url).get_data(as_text=True)
    assert 'value="2026-03"' in form
    resp = post(
        edit_url,
        _form(
            w,
            when="2026-04-20",
            organisations=[str(w["union"]), str(w["employers"])],
            result_id="",
            unexpected="",
            negative="y",
            version="1",
        ),
    )
    assert resp.status_code == 302
    assert _statements(app) == [
        (
            "The Ministry of Labour of Kenya",
            date(2026, 4, 20),
            False,
            None,
            False,
            True,
            sorted([w["union"], w["employers"]]),
        )
    ]
    # Saving from a page loaded before that edit: refused, what was typed is kept.
    resp = post(edit_url, _form(w, social_actor="Typed by a late editor", version="1"))
    assert resp.status_code == 409
    body = resp.get_data(as_text=True)
    assert "Typed by a late editor" in body
    assert 'name="version" type="hidden" value="2"' in body  # saving again is made against the stored one
    assert _statements(app)[0][0] == "The Ministry of Labour of Kenya"


def test_a_failed_form_keeps_what_was_typed(client, login, post, world):
    login("spec@example.org")
    resp = post(
        f"/projects/{world['project']}/outcomes/new", _form(world, when="last spring", place="Mombasa")
    )
    assert resp.status_code == 422
    body = resp.get_data(as_text=True)
    assert "Give a date such as 2026-03-15" in body
    assert "Mombasa" in body and "last spring" in body


def test_the_list_and_the_page_in_english_and_french(app, client, login, post, world):
    w = world
    login("spec@example.org")
    first = _record(post, w, when="2025-11-02", social_actor="The employers' association", negative="y")
    second = _record(post, w, when="2026-05", social_actor="The Ministry of Labour of Kenya")
    page = client.get(f"/projects/{w['project']}/outcomes").get_data(as_text=True)
    assert page.index(f"outcome-{second}") < page.index(f"outcome-{first}")  # newest first
    assert "Unexpected" in page and "Negative" in page
    assert "1 Social dialogue strengthened" in page
    assert "The employers&#39; association" in page
    with app.app_context():
        db.session.get(User, w["spec"]).preferred_language = "fr"
        db.session.commit()
    page = client.get(f"/projects/{w['project']}/outcomes").get_data(as_text=True)
    assert "Qui a changé" in page and "Inattendu" in page
    page = client.get(f"/projects/{w['project']}/outcomes/{second}").get_data(as_text=True)
    assert "Comment ils ont changé" in page and "mai 2026" in page


def test_who_may_read_and_who_may_record(app, client, login, post, world):
    w = world
    login("spec@example.org")
    outcome_id = _record(post, w)
    # A visitor is sent to sign in.
    visitor = app.test_client()
    resp = visitor.get(f"/projects/{w['project']}/outcomes")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]

    reporter = app.test_client()
    login("rep@example.org", on=reporter)
    assert reporter.get(f"/projects/{w['project']}/outcomes").status_code == 200
    page = reporter.get(f"/projects/{w['project']}/outcomes/{outcome_id}")
    assert page.status_code == 200 and "Edit this outcome" not in page.get_data(as_text=True)
    assert "Record an outcome" not in reporter.get(f"/projects/{w['project']}/outcomes").get_data(
        as_text=True
    )
    assert reporter.get(f"/projects/{w['project']}/outcomes/new").status_code == 403
    assert post(f"/projects/{w['project']}/outcomes/new", _form(w), on=reporter).status_code == 403
    assert (
        post(
            f"/projects/{w['project']}/outcomes/{outcome_id}/edit", _form(w, version="1"), on=reporter
        ).status_code
        == 403
    )

    outsider = app.test_client()
    login("outsider@example.org", on=outsider)
    assert outsider.get(f"/projects/{w['project']}/outcomes").status_code == 404
    assert outsider.get(f"/projects/{w['project']}/outcomes/{outcome_id}").status_code == 404
    # Nor is the statement reached through the outsider's own project.
    assert outsider.get(f"/projects/{w['other']}/outcomes/{outcome_id}").status_code == 404
    assert len(_statements(app)) == 1


def test_contributors_are_partners_and_the_result_is_the_projects_own(app, client, login, post, world):
    w = world
    login("spec@example.org")
    url = f"/projects/{w['project']}/outcomes/new"
    resp = post(url, _form(w, organisations=[str(w["union"]), str(w["stranger"])]))
    assert resp.status_code == 422
    resp = post(url, _form(w, result_id=str(w["other_result"])))
    assert resp.status_code == 422
    assert _statements(app) == []
    # The service refuses them too, whatever the form offered.
    from mel_app.projects import outcomes

    with app.app_context():
        from mel_app.models import Project

        project = db.session.get(Project, w["project"])
        spec = outcomes.OutcomeSpec(
            social_actor="A", change="B", changed_on=date(2026, 1, 1), organisation_ids=[w["stranger"]]
        )
        with pytest.raises(outcomes.OutcomeError):
            outcomes.record_outcome(project, spec, actor=None)
        spec = outcomes.OutcomeSpec(
            social_actor="A", change="B", changed_on=date(2026, 1, 1), result_id=w["other_result"]
        )
        with pytest.raises(outcomes.OutcomeError):
            outcomes.record_outcome(project, spec, actor=None)
        db.session.rollback()
    assert _statements(app) == []


def test_the_trail_records_who_recorded_and_changed_it(app, client, login, post, world):
    w = world
    login("spec@example.org")
    outcome_id = _record(post, w)
    assert (
        post(
            f"/projects/{w['project']}/outcomes/{outcome_id}/edit",
            _form(w, social_actor="The Ministry of Labour", organisations=[str(w["employers"])], version="1"),
        ).status_code
        == 302
    )
    with app.app_context():
        events = db.session.execute(
            sa.select(AuditEvent.action, AuditEvent.entity_type, AuditEvent.actor_id, AuditEvent.project_id)
            .where(AuditEvent.entity_type.in_(["outcome_statement", "outcome_contributor"]))
            .order_by(AuditEvent.id)
        ).all()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OutcomeContributor)) == 1
    actions = [(e.action, e.entity_type) for e in events]
    assert ("outcome_statement.create", "outcome_statement") in actions
    assert ("outcome_statement.update", "outcome_statement") in actions
    assert ("outcome_contributor.create", "outcome_contributor") in actions
    assert ("outcome_contributor.delete", "outcome_contributor") in actions
    assert {e.actor_id for e in events} == {w["spec"]}
    assert {e.project_id for e in events} == {w["project"]}
    history = client.get(f"/history/project/{w['project']}").get_data(as_text=True)
    assert "Outcome recorded" in history and "Outcome changed" in history
    assert "The Ministry of Labour" in history


def test_the_download_carries_the_statements_of_the_projects_in_scope_only(app, login, post, world):
    from tests.exports_world import download, read_csv_zip, read_json

    w = world
    spec = app.test_client()
    login("spec@example.org", on=spec)
    _record(
        post,
        w,
        on=spec,
        social_actor='=HYPERLINK("http://x")',
        organisations=[str(w["union"]), str(w["employers"])],
    )
    outsider = app.test_client()
    login("outsider@example.org", on=outsider)
    resp = post(
        f"/projects/{w['other']}/outcomes/new",
        _form(w, social_actor="A ministry elsewhere", organisations=[], result_id=str(w["other_result"])),
        on=outsider,
    )
    assert resp.status_code == 302

    resp, body = download(spec, "json")
    assert resp.status_code == 200
    (row,) = read_json(body)["tables"]["outcome_statements"]
    assert row["project_reference"] == "RAF/22/11/NOR"
    assert row["social_actor"] == '=HYPERLINK("http://x")'  # JSON carries the exact text
    assert row["changed_on"] == "2026-03-01" and row["month_only"] is True
    assert row["result_code"] == "1" and row["unexpected"] is True and row["negative"] is False
    assert row["contributing_organisations"] == "Textile Employers; Textile Workers Union"

    resp, body = download(outsider, "json")
    (row,) = read_json(body)["tables"]["outcome_statements"]
    assert row["social_actor"] == "A ministry elsewhere" and row["result_code"] == "9"

    resp, body = download(spec, "csv")
    (row,) = read_csv_zip(body)["outcome_statements"]
    assert row["social_actor"] == '\'=HYPERLINK("http://x")'  # made inert for spreadsheets
