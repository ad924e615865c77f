"""Change stories (Most Significant Change): domains of change, telling and editing a story, who
reads it (consent), the public page, the downloads, the History tab."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa

from mel_app.extensions import db
from mel_app.models import (
    AuditEvent,
    ChangeStory,
    OrgGroup,
    Project,
    Role,
    RoundCandidate,
    RoundMember,
    SelectionRound,
    StoryDomain,
    StoryEvidence,
    StoryLevel,
    User,
    utcnow,
)

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture
def login(client, login):
    """Sign in, as someone else than the client's current user if need be (a fresh session)."""

    def _login(email, *, on=None):
        target = on or client
        with target.session_transaction() as session:
            session.clear()
        return login(email, on=target)

    return _login


@pytest.fixture
def world(make):
    project = make.project("RAF/22/11/NOR", title="Decent work in textiles")
    other = make.project("RAS/23/12/NOR", title="Another project")
    union = make.organisation("Textile Workers Union", OrgGroup.workers)
    employers = make.organisation("Textile Employers", OrgGroup.employers)
    make.partner(project, union)
    make.partner(project, employers)
    users = {
        "spec": make.user("spec@example.org", full_name="Carla Specialist"),
        "rep": make.user("rep@example.org", organisation_id=union, full_name="Grace Storyteller"),
        "employer": make.user("employer@example.org", organisation_id=employers),
        "evaluator": make.user("evaluator@example.org"),
        "observer": make.user("observer@example.org"),
        "admin": make.user("admin@example.org", is_admin=True),
        "outsider": make.user("outsider@example.org"),
        "reader": make.user("reader@example.org", full_name="Regional round member"),
    }
    make.member(users["spec"], project, Role.specialist)
    make.member(users["rep"], project, Role.reporter, organisation_id=union)
    make.member(users["employer"], project, Role.reporter, organisation_id=employers)
    make.member(users["evaluator"], project, Role.evaluator)
    make.member(users["observer"], project, Role.observer)
    make.member(users["outsider"], other, Role.specialist)
    period = make.period(project, "2026 H1")
    later = make.period(project, "2026 H2")
    other_period = make.period(other, "2026 H1")
    organising = make._save(StoryDomain(project_id=project, name="Organising", position=0))
    dialogue = make._save(StoryDomain(project_id=project, name="Social dialogue", position=1))
    foreign = make._save(StoryDomain(project_id=other, name="Organising", position=0))
    return dict(
        project=project,
        other=other,
        union=union,
        employers=employers,
        period=period,
        later=later,
        other_period=other_period,
        organising=organising,
        dialogue=dialogue,
        foreign=foreign,
        **users,
    )


def _form(w, **overrides):
    data = {
        "title": "Domestic workers formed a union branch",
        "what_happened": "Forty domestic workers in Mombasa met every Sunday and formed a branch.",
        "who_involved": "Domestic workers of Nyali and the union's organisers.",
        "why_significant": "For the first time they bargain with one voice.",
        "domain_id": str(w["organising"]),
        "period_id": str(w["period"]),
        "share_consent": "y",
    }
    data.update({k: v for k, v in overrides.items() if v is not None})
    for key in [k for k, v in overrides.items() if v is None]:
        data.pop(key, None)
    return data


def _tell(post, w, on=None, **overrides):
    resp = post(
        f"/projects/{w['project']}/stories/new",
        _form(w, **overrides),
        on=on,
        content_type="multipart/form-data",
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)
    return int(resp.headers["Location"].rstrip("/").rsplit("/", 1)[1])


def _stories(app):
    with app.app_context():
        return [
            (
                s.title,
                s.domain_id,
                s.period_id,
                s.told_by_id,
                s.organisation_id,
                s.names_people,
                s.people_consent,
                s.share_consent,
            )
            for s in db.session.scalars(sa.select(ChangeStory).order_by(ChangeStory.id))
        ]


# --- domains of change ----------------------------------------------------------------------------


def test_a_specialist_accepts_the_usual_domains_in_their_language(app, make, client, login, post):
    project = make.project("RAF/24/01/NOR")
    spec = make.user("fr@example.org", preferred_language="fr")
    make.member(spec, project, Role.specialist)
    login("fr@example.org")
    page = client.get(f"/projects/{project}/domains").get_data(as_text=True)
    assert "Négociation collective" in page
    assert post(f"/projects/{project}/domains/suggested").status_code == 302
    with app.app_context():
        names = [d.name for d in db.session.scalars(sa.select(StoryDomain).order_by(StoryDomain.position))]
    assert names == [
        "Organisation syndicale",
        "Négociation collective",
        "Égalité de genre",
        "Dialogue social",
    ]
    # Offered only while the project has none.
    assert "Utiliser ces domaines" not in client.get(f"/projects/{project}/domains").get_data(as_text=True)


def test_domains_are_added_renamed_reordered_and_removed_while_unused(app, client, login, post, world):
    w = world
    login("spec@example.org")
    url = f"/projects/{w['project']}/domains"
    assert post(url, {"name": "Gender equality"}).status_code == 302
    # A duplicate, whatever its case, is refused with what was typed kept.
    resp = post(url, {"name": "  gender EQUALITY "})
    assert resp.status_code == 422
    body = resp.get_data(as_text=True)
    assert "already has a domain called" in body and "gender EQUALITY" in body
    with app.app_context():
        gender = db.session.scalar(sa.select(StoryDomain.id).where(StoryDomain.name == "Gender equality"))
    resp = post(f"{url}/{gender}/edit", {"name": "Organising"})
    assert resp.status_code == 422 and "already has a domain called" in resp.get_data(as_text=True)
    assert post(f"{url}/{gender}/edit", {"name": "Gender equality and non-discrimination"}).status_code == 302
    assert post(f"{url}/{gender}/move", {"direction": "up"}).status_code == 302

    def order():
        with app.app_context():
            return [
                d.name
                for d in db.session.scalars(
                    sa.select(StoryDomain)
                    .where(StoryDomain.project_id == w["project"])
                    .order_by(StoryDomain.position)
                )
            ]

    assert order() == ["Organising", "Gender equality and non-discrimination", "Social dialogue"]
    # A domain a story uses stays; an unused one goes.
    login("rep@example.org")
    _tell(post, w, domain_id=str(w["dialogue"]))
    login("spec@example.org")
    resp = post(f"{url}/{w['dialogue']}/remove")
    assert resp.status_code == 302
    page = client.get(url).get_data(as_text=True)
    assert "cannot be removed: stories or selection rounds use it" in page
    assert post(f"{url}/{gender}/remove").status_code == 302
    assert order() == ["Organising", "Social dialogue"]


def test_only_the_projects_specialists_manage_domains(app, client, login, post, world):
    w = world
    url = f"/projects/{w['project']}/domains"
    login("rep@example.org")
    assert client.get(url).status_code == 403
    assert post(url, {"name": "Wages"}).status_code == 403
    login("outsider@example.org")
    assert client.get(url).status_code == 404


# --- telling a story ------------------------------------------------------------------------------


def test_a_reporter_tells_a_story_with_evidence_and_reads_it(app, client, login, post, world):
    w = world
    login("rep@example.org")
    page = client.get(f"/projects/{w['project']}/stories/new").get_data(as_text=True)
    assert "may be read outside the project" in page and "public page" in page
    story_id = _tell(post, w, evidence=(io.BytesIO(PDF), "minutes.pdf"))
    assert _stories(app) == [
        (
            "Domestic workers formed a union branch",
            w["organising"],
            w["period"],
            w["rep"],
            w["union"],
            False,
            False,
            True,
        )
    ]
    page = client.get(f"/projects/{w['project']}/stories/{story_id}").get_data(as_text=True)
    for text in ("Forty domestic workers", "Nyali", "bargain with one voice", "Organising", "2026 H1"):
        assert text in page
    assert "minutes.pdf" in page and "Grace Storyteller" in page
    resp = client.get(f"/projects/{w['project']}/stories/{story_id}/evidence")
    assert resp.status_code == 200 and resp.data == PDF
    assert resp.headers["Content-Disposition"].startswith("attachment")
    with app.app_context():
        event = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert event.action == "story_evidence.download" and event.actor_id == w["rep"]
    listing = client.get(f"/projects/{w['project']}/stories").get_data(as_text=True)
    assert "Domestic workers formed a union branch" in listing and "Workers" in listing


def test_refusals_keep_what_was_typed(app, client, login, post, world):
    w = world
    login("rep@example.org")
    url = f"/projects/{w['project']}/stories/new"

    def refused(status=422, **overrides):
        resp = post(url, _form(w, **overrides), content_type="multipart/form-data")
        assert resp.status_code == status, resp.status_code
        body = resp.get_data(as_text=True)
        assert "There is a problem" in body
        return body

    body = refused(names_people="y", title="Night shift grievance won")
    assert "have not agreed to be named" in body and "Night shift grievance won" in body
    assert "Forty domestic workers" in body
    body = refused(title="")
    assert "Forty domestic workers" in body
    body = refused(why_significant="", who_involved="The shop stewards")
    assert "The shop stewards" in body
    refused(domain_id=str(w["foreign"]))  # another project's domain
    refused(period_id=str(w["other_period"]))  # another project's period
    refused(domain_id="not a number")
    body = refused(evidence=(io.BytesIO(b"MZ\x90\x00 a program"), "photo.pdf"), title="Kept title")
    assert "Kept title" in body
    body = refused(what_happened="x" * 5001)
    assert "5001" in body
    assert _stories(app) == []


def test_the_service_refuses_what_the_form_would_not_offer(app, world):
    from mel_app.projects import stories

    w = world
    with app.app_context():
        project = db.session.get(Project, w["project"])
        rep = db.session.get(User, w["rep"])
        base = dict(title="T", what_happened="W", why_significant="Y", domain_id=w["organising"])
        for bad in (
            dict(domain_id=w["foreign"]),
            dict(period_id=w["other_period"]),
            dict(names_people=True, people_consent=False),
        ):
            with pytest.raises(stories.StoryError):
                stories.tell_story(project, stories.StorySpec(**{**base, **bad}), actor=rep)
        db.session.rollback()
    assert _stories(app) == []


def test_who_may_tell_a_story(app, client, login, post, world):
    w = world
    url = f"/projects/{w['project']}/stories/new"
    for email, status in (
        ("spec@example.org", 200),
        ("evaluator@example.org", 200),
        ("rep@example.org", 200),
        ("observer@example.org", 403),
        ("admin@example.org", 403),
        ("outsider@example.org", 404),
    ):
        login(email)
        assert client.get(url).status_code == status, email
    login("spec@example.org")
    _tell(post, w)
    # A specialist belongs to no partner organisation of the project.
    assert _stories(app)[0][3:5] == (w["spec"], None)


def test_without_domains_the_form_sends_the_storyteller_to_the_specialists(app, make, client, login):
    project = make.project("RAF/24/02/NOR")
    union = make.organisation("A union", OrgGroup.workers)
    make.partner(project, union)
    rep = make.user("lonely@example.org", organisation_id=union)
    spec = make.user("lonelyspec@example.org")
    make.member(rep, project, Role.reporter, organisation_id=union)
    make.member(spec, project, Role.specialist)
    login("lonely@example.org")
    page = client.get(f"/projects/{project}/stories/new").get_data(as_text=True)
    assert "its specialists must set them first" in page
    assert f"/projects/{project}/domains" not in page
    login("lonelyspec@example.org")
    page = client.get(f"/projects/{project}/stories/new").get_data(as_text=True)
    assert f"/projects/{project}/domains" in page


# --- editing --------------------------------------------------------------------------------------


def test_the_storyteller_edits_with_the_lock_and_replaces_the_file(app, client, login, post, world):
    w = world
    login("rep@example.org")
    story_id = _tell(post, w, evidence=(io.BytesIO(PDF), "first.pdf"))
    edit = f"/projects/{w['project']}/stories/{story_id}/edit"
    form = client.get(edit).get_data(as_text=True)
    assert 'name="version" type="hidden" value="1"' in form and "first.pdf" in form
    resp = post(
        edit,
        _form(
            w,
            title="A union branch for domestic workers",
            names_people="y",
            people_consent="y",
            share_consent=None,
            period_id="",
            version="1",
            evidence=(io.BytesIO(PDF), "second.pdf"),
        ),
        content_type="multipart/form-data",
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)
    assert _stories(app)[0] == (
        "A union branch for domestic workers",
        w["organising"],
        None,
        w["rep"],
        w["union"],
        True,
        True,
        False,
    )
    with app.app_context():
        assert db.session.scalars(sa.select(StoryEvidence.filename)).all() == ["second.pdf"]
        actions = db.session.scalars(
            sa.select(AuditEvent.action).where(AuditEvent.entity_type == "story_evidence")
        ).all()
    assert "story_evidence.replace" in actions
    # A save from a page loaded before that edit: refused, what was typed kept.
    resp = post(edit, _form(w, title="Typed by a late tab", version="1"), content_type="multipart/form-data")
    assert resp.status_code == 409
    body = resp.get_data(as_text=True)
    assert "Typed by a late tab" in body and 'name="version" type="hidden" value="2"' in body
    # Removing the file.
    resp = post(edit, _form(w, version="2", remove_evidence="y"), content_type="multipart/form-data")
    assert resp.status_code == 302
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(StoryEvidence)) == 0
    # Nobody else edits it.
    login("spec@example.org")
    assert client.get(edit).status_code == 403


def test_a_story_read_in_a_round_can_no_longer_be_changed(app, client, login, post, world):
    w = world
    login("rep@example.org")
    story_id = _tell(post, w)
    _round(app, w, [story_id], members=[])
    edit = f"/projects/{w['project']}/stories/{story_id}/edit"
    resp = client.get(edit)
    assert resp.status_code == 409 and "a selection round has read it" in resp.get_data(as_text=True)
    resp = post(edit, _form(w, version="1"), content_type="multipart/form-data")
    assert resp.status_code == 409
    page = client.get(f"/projects/{w['project']}/stories/{story_id}").get_data(as_text=True)
    assert "can no longer be changed" in page and "Edit this story" not in page


# --- who reads a story ----------------------------------------------------------------------------


def _round(app, w, story_ids, members):
    with app.app_context():
        spec = db.session.get(User, w["spec"])
        rnd = SelectionRound(
            level=StoryLevel.project,
            project_id=w["project"],
            domain_id=w["organising"],
            title="Organising, 2026 H1",
            opened_by_id=spec.id,
        )
        db.session.add(rnd)
        db.session.flush()
        for story_id in story_ids:
            db.session.add(RoundCandidate(round_id=rnd.id, story_id=story_id, level=StoryLevel.project))
        for user_id in members:
            db.session.add(RoundMember(round_id=rnd.id, user_id=user_id, constituency=OrgGroup.workers))
        db.session.commit()
        return rnd.id


def test_who_reads_a_story(app, client, login, post, world):
    """Members read every story of their project; others who see the project (administrators) only
    consented ones; a round member reads the consented stories their round reads; the public reads
    consented stories of published projects only."""
    from flask_login import AnonymousUserMixin

    from mel_app import permissions

    w = world
    login("rep@example.org")
    shared = _tell(post, w, title="Shared story")
    private = _tell(post, w, title="Private story", share_consent=None)
    _round(app, w, [shared, private], members=[w["reader"]])

    expected = {  # reader: (shared, private)
        "rep": (True, True),
        "employer": (True, True),
        "spec": (True, True),
        "evaluator": (True, True),
        "observer": (True, True),
        "admin": (True, False),
        "outsider": (False, False),
        "reader": (True, False),  # a member of a round that reads both
        None: (False, False),  # the public, while the project is not published
    }

    def check(expected):
        with app.test_request_context():
            for key, (see_shared, see_private) in expected.items():
                user = db.session.get(User, w[key]) if key else AnonymousUserMixin()
                by_rule = {
                    sid: permissions.can_read_story(user, db.session.get(ChangeStory, sid))
                    for sid in (shared, private)
                }
                by_sql = set(
                    db.session.scalars(
                        sa.select(ChangeStory.id).where(permissions.readable_story_filter(user))
                    )
                )
                assert by_rule == {shared: see_shared, private: see_private}, key
                assert by_sql == {sid for sid, ok in by_rule.items() if ok}, key

    check(expected)
    # The pages answer the same way to those who see the project.
    for key in ("observer", "admin", "outsider"):
        login(f"{key}@example.org")
        for sid, ok in zip((shared, private), expected[key], strict=True):
            status = client.get(f"/projects/{w['project']}/stories/{sid}").status_code
            assert status == (200 if ok else 404), (key, sid, status)
        listing = client.get(f"/projects/{w['project']}/stories")
        if key == "outsider":
            assert listing.status_code == 404
        else:
            body = listing.get_data(as_text=True)
            assert "Shared story" in body and ("Private story" in body) == expected[key][1]
    login("admin@example.org")
    assert client.get(f"/projects/{w['project']}/stories/{private}/evidence").status_code == 404

    # Once the project is published, the public reads the consented story, never the other.
    with app.app_context():
        db.session.get(Project, w["project"]).published_at = utcnow()
        db.session.commit()
    check({**expected, None: (True, False), "outsider": (True, False)})


# --- public page ----------------------------------------------------------------------------------


def test_the_public_page_shows_consented_stories_without_names(app, client, login, post, world):
    w = world
    login("rep@example.org")
    _tell(post, w, title="Shared story", evidence=(io.BytesIO(PDF), "minutes.pdf"))
    _tell(post, w, title="Private story", share_consent=None)
    with app.app_context():
        db.session.get(Project, w["project"]).published_at = utcnow()
        db.session.commit()
    visitor = app.test_client()
    page = visitor.get(f"/public/projects/{w['project']}").get_data(as_text=True)
    assert "Shared story" in page and "Forty domestic workers" in page and "bargain with one voice" in page
    assert "Organising" in page and "2026 H1" in page
    assert "Private story" not in page
    for secret in ("Grace Storyteller", "Nyali", "minutes.pdf", "/evidence"):
        assert secret not in page
    # The organisation's name appears on the public page as a partner, never beside a story.
    section = page[page.index('id="stories-heading"') :]
    assert "Textile Workers Union" not in section


# --- downloads ------------------------------------------------------------------------------------


def test_the_download_carries_readable_stories_only(app, login, post, world):
    from tests.exports_world import download, read_csv_zip, read_json

    w = world
    rep = app.test_client()
    login("rep@example.org", on=rep)
    _tell(post, w, on=rep, title='=HYPERLINK("http://x")')
    _tell(post, w, on=rep, title="Private story", share_consent=None)

    observer = app.test_client()
    login("observer@example.org", on=observer)
    resp, body = download(observer, "json")
    assert resp.status_code == 200
    rows = read_json(body)["tables"]["change_stories"]
    assert sorted(r["title"] for r in rows) == sorted(['=HYPERLINK("http://x")', "Private story"])
    row = next(r for r in rows if r["share_consent"])
    assert row["project_reference"] == "RAF/22/11/NOR" and row["domain"] == "Organising"
    assert row["period"] == "2026 H1" and row["storyteller_constituency"] == "workers"
    assert row["who_involved"].startswith("Domestic workers of Nyali")
    assert "Grace" not in body.decode() and "rep@example.org" not in body.decode()

    admin = app.test_client()
    login("admin@example.org", on=admin)
    resp, body = download(admin, "json")
    rows = read_json(body)["tables"]["change_stories"]
    assert [r["title"] for r in rows] == ['=HYPERLINK("http://x")']
    resp, body = download(admin, "csv")
    (row,) = read_csv_zip(body)["change_stories"]
    assert row["title"] == '\'=HYPERLINK("http://x")'  # made inert for spreadsheets


# --- the list page, French, the History tab ---------------------------------------------------------


def test_the_list_costs_the_same_queries_with_3_or_10_stories(app, client, login, post, queries, world):
    w = world
    login("rep@example.org")

    def count():
        with queries() as statements:
            resp = client.get(f"/projects/{w['project']}/stories")
        assert resp.status_code == 200
        return len(statements)

    for i in range(3):
        _tell(post, w, title=f"Story {i}", evidence=(io.BytesIO(PDF), "f.pdf"))
    few = count()
    for i in range(7):
        _tell(post, w, title=f"More {i}", domain_id=str(w["dialogue"]), period_id=str(w["later"]))
    many = count()
    assert few == many, f"{few} queries for 3 stories, {many} for 10"


def test_the_list_filters_and_is_newest_first(client, login, post, world):
    w = world
    login("rep@example.org")
    first = _tell(post, w, title="First story")
    second = _tell(post, w, title="Second story", domain_id=str(w["dialogue"]), period_id=str(w["later"]))
    page = client.get(f"/projects/{w['project']}/stories").get_data(as_text=True)
    assert page.index(f"story-{second}") < page.index(f"story-{first}")
    page = client.get(f"/projects/{w['project']}/stories?domain={w['dialogue']}").get_data(as_text=True)
    assert "Second story" in page and "First story" not in page
    page = client.get(f"/projects/{w['project']}/stories?period={w['period']}").get_data(as_text=True)
    assert "First story" in page and "Second story" not in page
    # Anything else is no filter, never an error.
    resp = client.get(f"/projects/{w['project']}/stories?domain=abc&period={w['other_period']}")
    assert resp.status_code == 200 and "First story" in resp.get_data(as_text=True)


def test_the_pages_in_french(app, client, login, post, world):
    w = world
    login("rep@example.org")
    story_id = _tell(post, w)
    with app.app_context():
        db.session.get(User, w["rep"]).preferred_language = "fr"
        db.session.commit()
    page = client.get(f"/projects/{w['project']}/stories").get_data(as_text=True)
    assert "Récits de changement" in page and "Raconter un récit" in page
    page = client.get(f"/projects/{w['project']}/stories/{story_id}").get_data(as_text=True)
    assert "Qui était concerné" in page and "Lecture hors du projet" in page
    page = client.get(f"/projects/{w['project']}/stories/new").get_data(as_text=True)
    assert "hors du projet" in page


def test_the_history_tab_shows_a_story_told_and_changed(app, client, login, post, world):
    w = world
    login("rep@example.org")
    story_id = _tell(post, w)
    resp = post(
        f"/projects/{w['project']}/stories/{story_id}/edit",
        _form(w, title="A union branch for domestic workers", version="1"),
        content_type="multipart/form-data",
    )
    assert resp.status_code == 302
    private = _tell(post, w, title="Private story", share_consent=None)
    login("spec@example.org")
    history = client.get(f"/history/project/{w['project']}").get_data(as_text=True)
    assert "Story told" in history and "Story changed" in history
    assert "A union branch for domestic workers" in history and "Private story" in history
    # An administrator who is not a member reads the trail, but not the story told without consent.
    login("admin@example.org")
    history = client.get(f"/history/project/{w['project']}").get_data(as_text=True)
    assert "A union branch for domestic workers" in history and "Private story" not in history
    # Nor the story's own History page: as hidden as the story.
    assert client.get(f"/history/change_story/{private}").status_code == 404
    assert client.get(f"/history/change_story/{story_id}").status_code == 200
    with app.app_context():
        assert db.session.get(ChangeStory, private).title == "Private story"
