"""Substantiation of outcome statements: a specialist asks someone without an account, by an
e-mailed single-use link, whether they agree with a statement; the answer is recorded with it."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from mel_app.extensions import db
from mel_app.models import AuditEvent, OrgGroup, OutcomeStatement, OutcomeSubstantiation, Role, utcnow
from tests.smtp_server import body, link_in, mail_server_fixture  # noqa: F401 - the mail_server fixture


@pytest.fixture
def world(app, make):
    project = make.project("RAF/22/11/NOR", title="Decent work in textiles")
    other = make.project("RAS/23/12/NOR", title="Another project")
    union = make.organisation("Textile Workers Union", OrgGroup.workers)
    make.partner(project, union)
    spec = make.user("spec@example.org", full_name="Sara Specialist")
    rep = make.user("rep@example.org", organisation_id=union)
    outsider = make.user("outsider@example.org")
    make.member(spec, project, Role.specialist)
    make.member(rep, project, Role.reporter, organisation_id=union)
    make.member(outsider, other, Role.specialist)
    with app.app_context():
        statement = OutcomeStatement(
            project_id=project,
            social_actor="The Ministry of Labour of Kenya",
            change="Consults the unions before drafting labour regulations.",
            changed_on=date(2026, 3, 1),
            month_only=True,
            place="Nairobi",
            significance="Workers are heard before rules are made.",
            contribution="The project trained both sides in social dialogue.",
            recorded_by_id=spec,
        )
        db.session.add(statement)
        db.session.commit()
        outcome = statement.id
    return dict(project=project, other=other, spec=spec, rep=rep, outcome=outcome)


def _page(w) -> str:
    return f"/projects/{w['project']}/outcomes/{w['outcome']}"


def _ask(post, w, on=None, **overrides):
    data = {
        "name": "Grace Wanjiru",
        "email": "Grace@Example.org",
        "language": "en",
        "message": "You followed the consultations closely.",
    }
    data.update(overrides)
    return post(f"{_page(w)}/substantiation", data, on=on)


def _requests(app) -> list[OutcomeSubstantiation]:
    with app.app_context():
        rows = list(db.session.scalars(sa.select(OutcomeSubstantiation).order_by(OutcomeSubstantiation.id)))
        db.session.expunge_all()
        return rows


@pytest.fixture
def specialist(app, login):
    client = app.test_client()
    login("spec@example.org", on=client)
    return client


def _asked_by_mail(post, w, specialist, mail_server, count=1, **overrides):
    resp = _ask(post, w, on=specialist, **overrides)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    to = (overrides.get("email") or "grace@example.org").lower()
    messages = mail_server.wait_for(to, count=count)
    return messages[-1]


def test_the_request_sends_one_mail_whose_link_answers_without_an_account(
    app, post, world, specialist, mail_server
):
    w = world
    message = _asked_by_mail(post, w, specialist, mail_server)
    assert len(mail_server.messages) == 1
    assert message["Subject"] == "Do you agree with this outcome of the project RAF/22/11/NOR?"
    text = body(message)
    assert "Hello Grace Wanjiru," in text
    assert "Sara Specialist, of the ILO project RAF/22/11/NOR" in text
    assert "You followed the consultations closely." in text
    assert "expires in 30 days" in text
    link = link_in(message)
    assert re.fullmatch(r"/substantiate/[A-Za-z0-9_-]{40,}", link)
    # Only the hash of the link is kept.
    (stored,) = _requests(app)
    assert link.rsplit("/", 1)[1] not in stored.token_hash and len(stored.token_hash) == 64
    assert stored.email == "grace@example.org"

    page = specialist.get(_page(w)).get_data(as_text=True)
    assert "Grace Wanjiru" in page and "grace@example.org" in page and "Waiting for an answer" in page

    stranger = app.test_client()  # no account, never signed in
    resp = stranger.get(link)
    assert resp.status_code == 200
    assert resp.headers["Referrer-Policy"] == "same-origin"
    assert "no-store" in resp.headers["Cache-Control"]
    html = resp.get_data(as_text=True)
    assert "The Ministry of Labour of Kenya" in html and "March 2026" in html
    assert "Decent work in textiles" in html and "You followed the consultations closely." in html
    resp = post(link, {"verdict": "fully", "comment": ""}, on=stranger)
    assert resp.status_code == 302 and resp.location.startswith("/substantiated")
    assert "Your answer has been recorded" in stranger.get(resp.location).get_data(as_text=True)

    (stored,) = _requests(app)
    assert stored.verdict == "fully" and stored.answered_at is not None
    page = specialist.get(_page(w)).get_data(as_text=True)
    assert "Answered on" in page and "Agrees fully" in page

    # The link is used up: it says so, and shows nothing of the statement.
    again = stranger.get(link)
    assert again.status_code == 410
    text = again.get_data(as_text=True)
    assert "already been used" in text and "Ministry of Labour" not in text
    resp = post(link, {"verdict": "not", "comment": "Changed my mind"}, on=app.test_client())
    assert resp.status_code == 410
    (stored,) = _requests(app)
    assert stored.verdict == "fully" and stored.comment == ""


def test_the_mail_and_the_page_are_in_the_language_chosen(app, post, world, specialist, mail_server):
    message = _asked_by_mail(post, world, specialist, mail_server, language="fr")
    assert "RAF/22/11/NOR" in message["Subject"] and message["Subject"].startswith("Êtes-vous d'accord")
    assert "Bonjour Grace Wanjiru" in body(message)
    html = app.test_client().get(link_in(message)).get_data(as_text=True)
    assert '<html lang="fr">' in html and "mars 2026" in html
    html = app.test_client().get(link_in(message) + "?lang=es").get_data(as_text=True)
    assert '<html lang="es">' in html and "marzo 2026" in html


def test_partly_or_not_needs_a_comment_and_keeps_what_was_typed(app, post, world, specialist, mail_server):
    link = link_in(_asked_by_mail(post, world, specialist, mail_server))
    stranger = app.test_client()
    resp = post(link, {"verdict": "partly", "comment": "   "}, on=stranger)
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "Say what is not right in the statement." in html
    assert (
        'value="partly" checked' in html
        or 'checked value="partly"' in html
        or re.search(r'<input[^>]*checked[^>]*value="partly"|<input[^>]*value="partly"[^>]*checked', html)
    )
    resp = post(link, {"comment": "Only in Nairobi"}, on=stranger)
    assert resp.status_code == 422
    assert "Only in Nairobi" in resp.get_data(as_text=True)
    assert _requests(app)[0].answered_at is None
    resp = post(link, {"verdict": "not", "comment": "The ministry consulted only once."}, on=stranger)
    assert resp.status_code == 302
    (stored,) = _requests(app)
    assert stored.verdict == "not" and stored.comment == "The ministry consulted only once."


def test_expired_withdrawn_and_unknown_links_are_refused(app, post, world, specialist, mail_server):
    w = world
    first = link_in(_asked_by_mail(post, w, specialist, mail_server))
    # A new request to the same address ends the earlier link.
    second = link_in(_asked_by_mail(post, w, specialist, mail_server, count=2, name="Grace W."))
    assert first != second
    stranger = app.test_client()
    resp = stranger.get(first)
    assert resp.status_code == 410 and "withdrawn" in resp.get_data(as_text=True)
    assert stranger.get(second).status_code == 200

    # The specialist withdraws the waiting one.
    waiting = [r for r in _requests(app) if r.withdrawn_at is None]
    assert len(waiting) == 1
    resp = post(f"{_page(w)}/substantiation/{waiting[0].id}/withdraw", {}, on=specialist)
    assert resp.status_code == 302
    resp = stranger.get(second)
    assert resp.status_code == 410 and "Ministry" not in resp.get_data(as_text=True)
    assert "Withdrawn" in specialist.get(_page(w)).get_data(as_text=True)
    # Withdrawing it again is refused with a message, nothing changes.
    resp = post(f"{_page(w)}/substantiation/{waiting[0].id}/withdraw", {}, on=specialist)
    assert "no longer waiting" in specialist.get(resp.location).get_data(as_text=True)

    # An expired link.
    third = link_in(_asked_by_mail(post, w, specialist, mail_server, email="ochieng@example.org"))
    with app.app_context():
        db.session.execute(
            sa.update(OutcomeSubstantiation)
            .where(OutcomeSubstantiation.email == "ochieng@example.org")
            .values(expires_at=utcnow() - timedelta(minutes=1))
        )
        db.session.commit()
    resp = stranger.get(third)
    assert resp.status_code == 410 and "expired" in resp.get_data(as_text=True)
    assert "Expired without an answer" in specialist.get(_page(w)).get_data(as_text=True)

    # Unknown links: a plain "not valid", no error page, no hint of any statement.
    for bad in ("/substantiate/nope", "/substantiate/" + "x" * 43, "/substantiate/" + "y" * 500):
        resp = stranger.get(bad)
        assert resp.status_code == 404
        text = resp.get_data(as_text=True)
        assert "This link is not valid" in text and "Ministry" not in text


def test_who_may_ask(app, client, login, post, world):
    w = world
    resp = _ask(post, w)  # not signed in
    assert resp.status_code == 302 and "/login" in resp.location
    login("rep@example.org")
    page = client.get(_page(w)).get_data(as_text=True)
    assert "Request substantiation" not in page
    assert _ask(post, w).status_code == 403
    outsider = app.test_client()
    login("outsider@example.org", on=outsider)
    assert _ask(post, w, on=outsider).status_code == 404
    assert _requests(app) == []


def test_a_failed_request_keeps_what_was_typed(app, post, world, specialist, mail_server):
    resp = _ask(post, world, on=specialist, email="not an address", name="Grace Wanjiru")
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert 'value="Grace Wanjiru"' in html and "not an address" in html
    assert _requests(app) == [] and mail_server.messages == []


def test_the_email_address_is_shown_to_specialists_only(
    app, client, login, post, world, specialist, mail_server
):
    w = world
    link = link_in(_asked_by_mail(post, w, specialist, mail_server))
    post(link, {"verdict": "partly", "comment": "Only in Nairobi, not elsewhere."}, on=app.test_client())
    login("rep@example.org")
    page = client.get(_page(w)).get_data(as_text=True)
    assert "Grace Wanjiru" in page and "Agrees partly" in page and "Only in Nairobi, not elsewhere." in page
    assert "grace@example.org" not in page
    listing = client.get(f"/projects/{w['project']}/outcomes").get_data(as_text=True)
    assert "1 answer: Agrees partly" in listing


def test_the_list_shows_each_statements_answers_in_one_query(app, post, world, specialist, mail_server):
    from tests.conftest import count_queries

    w = world
    for name, verdict in (("A", "fully"), ("B", "partly")):
        link = link_in(
            _asked_by_mail(post, w, specialist, mail_server, name=name, email=f"{name}@example.org")
        )
        post(link, {"verdict": verdict, "comment": "Mostly."}, on=app.test_client())
    _asked_by_mail(post, w, specialist, mail_server, name="C", email="c@example.org")
    listing = specialist.get(f"/projects/{w['project']}/outcomes").get_data(as_text=True)
    assert "2 answers: Agrees fully, Agrees partly; 1 waiting" in listing
    with app.app_context():
        for n in range(5):
            db.session.add(
                OutcomeStatement(
                    project_id=w["project"],
                    social_actor=f"Actor {n}",
                    change="Changed.",
                    changed_on=date(2026, 1, 1),
                    recorded_by_id=w["spec"],
                )
            )
        db.session.commit()
    with count_queries(app) as few:
        specialist.get(f"/projects/{w['project']}/outcomes")
    with app.app_context():
        for statement in db.session.scalars(sa.select(OutcomeStatement)):
            db.session.add(
                OutcomeSubstantiation(
                    outcome_id=statement.id,
                    name="Z",
                    email="z@example.org",
                    language="en",
                    token_hash=f"{statement.id:064d}",
                    expires_at=utcnow() + timedelta(days=1),
                    comment="",
                )
            )
        db.session.commit()
    with count_queries(app) as many:
        specialist.get(f"/projects/{w['project']}/outcomes")
    assert len(many) == len(few)


def test_the_trail_records_the_request_and_the_substantiators_answer(
    app, client, login, post, world, specialist, mail_server
):
    w = world
    link = link_in(_asked_by_mail(post, w, specialist, mail_server))
    post(link, {"verdict": "partly", "comment": "Only in Nairobi."}, on=app.test_client())
    with app.app_context():
        events = list(
            db.session.scalars(
                sa.select(AuditEvent)
                .where(AuditEvent.entity_type == "outcome_substantiation")
                .order_by(AuditEvent.id)
            )
        )
    assert [e.action for e in events] == ["outcome_substantiation.request", "outcome_substantiation.answer"]
    request, answer = events
    assert request.actor_id == w["spec"] and request.project_id == w["project"]
    assert "token_hash" not in (request.after or {})
    assert answer.actor_id is None and answer.actor_name == "Grace Wanjiru (substantiator)"
    assert answer.project_id == w["project"]
    assert answer.after["verdict"] == "partly" and answer.after["comment"] == "Only in Nairobi."
    history = specialist.get(f"/history/project/{w['project']}").get_data(as_text=True)
    assert "Substantiation requested" in history and "Substantiation answered" in history
    assert "Grace Wanjiru (substantiator)" in history
    assert "answered by the substantiator through the e-mailed link" in history


def test_the_download_carries_the_answers_without_the_address(
    app, login, post, world, specialist, mail_server
):
    from tests.exports_world import download, read_csv_zip, read_json

    w = world
    link = link_in(_asked_by_mail(post, w, specialist, mail_server))
    post(link, {"verdict": "partly", "comment": '=HYPERLINK("http://x")'}, on=app.test_client())
    outsider = app.test_client()
    login("outsider@example.org", on=outsider)

    resp, data = download(specialist, "json")
    assert resp.status_code == 200
    (row,) = read_json(data)["tables"]["outcome_substantiations"]
    assert row["outcome_id"] == w["outcome"] and row["project_reference"] == "RAF/22/11/NOR"
    assert row["name"] == "Grace Wanjiru" and row["verdict"] == "partly"
    assert row["requested_at"] and row["answered_at"]
    assert set(row) == {
        "outcome_id",
        "project_reference",
        "name",
        "requested_at",
        "answered_at",
        "verdict",
        "comment",
    }
    assert b"grace@example.org" not in data
    resp, data = download(outsider, "json")
    assert read_json(data)["tables"]["outcome_substantiations"] == []
    resp, data = download(specialist, "csv")
    (row,) = read_csv_zip(data)["outcome_substantiations"]
    assert row["comment"] == '\'=HYPERLINK("http://x")'
    assert b"grace@example.org" not in data


def test_when_the_mail_cannot_be_sent_the_specialist_is_told(app, post, world, specialist):
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=1, MAIL_USE_TLS=False)  # nothing listens there
    resp = _ask(post, world, on=specialist)
    assert resp.status_code == 302
    page = specialist.get(resp.location).get_data(as_text=True)
    assert "the e-mail to grace@example.org could not be sent" in page
    (stored,) = _requests(app)
    assert stored.answered_at is None and stored.withdrawn_at is None
