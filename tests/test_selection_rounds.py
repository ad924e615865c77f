"""Selection rounds of change stories (Most Significant Change): opened for a project's domain by
its specialist with every constituency invited, each member proposes the most significant story
with a reason, the round closes with its choice and the story goes up to the regional round, then
ACTRAV's; who reads what, at each level."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from mel_app.extensions import db
from mel_app.models import (
    AuditEvent,
    ChangeStory,
    IloRegion,
    OrgGroup,
    Role,
    RoundCandidate,
    SelectionRound,
    StoryLevel,
    StoryProposal,
    User,
)
from mel_app.projects.countries import COUNTRY_CODES
from mel_app.projects.regions import _CODES, REGION_OF, region_of
from tests import rounds_world


@pytest.fixture
def w(app, make):
    return rounds_world.build(app, make)


def _round_form(w, **overrides):
    data = {
        "title": "Organising — first half-year",
        "domain_id": str(w.organising),
        "period_id": str(w.period),
        "members": [str(w.worker), str(w.employer), str(w.spec)],
    }
    data.update(overrides)
    return data


def _open(client, login, post, w, **overrides):
    login("spec@example.org", on=client)
    resp = post(f"/projects/{w.project}/rounds/new", _round_form(w, **overrides), on=client)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    return int(resp.headers["Location"].rstrip("/").rsplit("/", 1)[1])


def _candidates(app, round_id):
    with app.app_context():
        return sorted(
            db.session.scalars(sa.select(RoundCandidate.story_id).where(RoundCandidate.round_id == round_id))
        )


def _version(app, round_id):
    with app.app_context():
        return db.session.get(SelectionRound, round_id).version


def _close(post, client, round_id, story_id, version, **overrides):
    data = {
        "discussion": "We read the three stories aloud and compared them.",
        "chosen_story_id": str(story_id),
        "choice_reason": "The first branch of domestic workers changes who the union speaks for.",
        "version": str(version),
    }
    data.update(overrides)
    return post(f"/rounds/{round_id}/close", data, on=client)


def _propose(post, client, round_id, story_id, reason="It changed the most lives."):
    return post(f"/rounds/{round_id}/propose", {"story_id": str(story_id), "reason": reason}, on=client)


# --- regions ------------------------------------------------------------------------------------


def test_every_country_a_project_may_name_has_exactly_one_ilo_region():
    listed = [code for codes in _CODES.values() for code in codes.split()]
    assert sorted(listed) == sorted(set(listed)), "a country is in two regions"
    assert set(REGION_OF) == set(COUNTRY_CODES)
    assert region_of("KE") is IloRegion.africa and region_of("EG") is IloRegion.africa
    assert region_of("JO") is IloRegion.arab_states and region_of("PS") is IloRegion.arab_states
    assert (
        region_of("TR") is IloRegion.europe_central_asia and region_of("KZ") is IloRegion.europe_central_asia
    )
    assert region_of("IR") is IloRegion.asia_pacific and region_of("FJ") is IloRegion.asia_pacific
    assert region_of("BR") is IloRegion.americas


# --- opening ------------------------------------------------------------------------------------


def test_a_specialist_opens_a_round_reading_the_domains_stories_not_read_yet(app, client, login, post, w):
    login("spec@example.org")
    form = client.get(f"/projects/{w.project}/rounds/new").get_data(as_text=True)
    assert "Organising" in form and "Collective bargaining" in form and "2026 H1" in form
    assert "Amina Otieno" in form and "(Workers)" in form and "(Employers)" in form
    assert "Oscar Observer" not in form  # observers take no part
    round_id = _open(client, login, post, w)
    assert _candidates(app, round_id) == sorted([w.mombasa, w.riders, w.flowers])
    page = client.get(f"/rounds/{round_id}").get_data(as_text=True)
    assert "Domestic workers in Mombasa formed their first union branch" in page
    assert "Why it matters: Domestic workers in Mombasa" in page
    assert "Amina Otieno" in page and "Peter Kariuki" in page
    # The same stories are not read twice at project level: nothing left for that domain and period.
    resp = post(f"/projects/{w.project}/rounds/new", _round_form(w, title="Again"))
    assert resp.status_code == 422
    assert "There is no story to read" in resp.get_data(as_text=True)
    # Without a period: the stories of every period not read yet (the later one).
    round2 = _open(client, login, post, w, title="Organising — the rest", period_id="")
    assert _candidates(app, round2) == [w.later]


def test_opening_is_refused_unless_every_constituency_is_invited(app, client, login, post, w, make):
    login("spec@example.org")
    url = f"/projects/{w.project}/rounds/new"
    resp = post(url, _round_form(w, members=[str(w.worker), str(w.spec)], title="Typed title"))
    assert resp.status_code == 422
    body = resp.get_data(as_text=True)
    assert "invite someone for Employers" in body and "Typed title" in body
    resp = post(url, _round_form(w, members=[str(w.worker), str(w.employer)]))
    assert "invite someone for ILO" in resp.get_data(as_text=True)
    # A project with government members: the government takes part too.
    gov_org = make.organisation("Ministry of Labour", OrgGroup.government)
    minister = make.user("gov@example.org", organisation_id=gov_org, full_name="Joseph Kamau")
    make.member(minister, w.project, Role.reporter, organisation_id=gov_org)
    resp = post(url, _round_form(w))
    assert resp.status_code == 422 and "invite someone for Government" in resp.get_data(as_text=True)
    resp = post(url, _round_form(w, members=[str(w.worker), str(w.employer), str(w.spec), str(minister)]))
    assert resp.status_code == 302
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SelectionRound)) == 1


def test_what_is_posted_by_hand_is_checked(app, client, login, post, w):
    login("spec@example.org")
    url = f"/projects/{w.project}/rounds/new"
    for overrides in (
        {"domain_id": str(w.gh_organising)},  # another project's domain
        {"domain_id": ""},
        {"period_id": str(w.other_period)},  # another project's period
        {"members": [str(w.worker), str(w.employer), str(w.spec), str(w.outsider)]},  # not a member
        {"members": [str(w.worker), str(w.employer), str(w.spec), str(w.observer)]},  # an observer
        {"title": ""},
    ):
        resp = post(url, _round_form(w, **overrides))
        assert resp.status_code == 422, overrides
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SelectionRound)) == 0
        from mel_app.models import Project
        from mel_app.projects import rounds

        project = db.session.get(Project, w.project)
        spec = rounds.RoundSpec(
            title="By hand", domain_id=w.gh_organising, member_ids=[w.worker, w.employer, w.spec]
        )
        with pytest.raises(rounds.RoundError):
            rounds.open_project_round(project, spec, actor=None)
        db.session.rollback()


# --- proposals and closing ----------------------------------------------------------------------


def test_members_propose_change_their_minds_and_the_specialist_closes(app, client, login, post, w):
    round_id = _open(client, login, post, w)
    worker, employer = app.test_client(), app.test_client()
    login("worker@example.org", on=worker)
    login("employer@example.org", on=employer)
    page = worker.get(f"/rounds/{round_id}").get_data(as_text=True)
    assert "Your proposal" in page
    assert _propose(post, worker, round_id, w.riders).status_code == 302
    assert (
        _propose(post, worker, round_id, w.mombasa, "The first branch of domestic workers.").status_code
        == 302
    )
    # Only a story the round reads, and a reason.
    resp = _propose(post, employer, round_id, w.bargaining_story)
    assert resp.status_code == 422
    resp = _propose(post, employer, round_id, w.riders, reason="  ")
    assert resp.status_code == 422
    assert "Say why this change is the most significant." in resp.get_data(as_text=True)
    assert (
        _propose(post, employer, round_id, w.riders, "Platform work is the future of organising.").status_code
        == 302
    )
    with app.app_context():
        proposals = {p.user_id: (p.story_id, p.reason) for p in db.session.scalars(sa.select(StoryProposal))}
    assert proposals == {
        w.worker: (w.mombasa, "The first branch of domestic workers."),
        w.employer: (w.riders, "Platform work is the future of organising."),
    }
    page = client.get(f"/rounds/{round_id}").get_data(as_text=True)
    assert "Platform work is the future of organising." in page
    # An administrator sees the round but is no member of it: no proposal.
    admin = app.test_client()
    login("admin@example.org", on=admin)
    page = admin.get(f"/rounds/{round_id}").get_data(as_text=True)
    assert "Platform work is the future of organising." in page and "Your proposal" not in page
    assert _propose(post, admin, round_id, w.riders).status_code == 403

    # Closing: a reason and a story read are required; what was typed is kept.
    version = _version(app, round_id)
    resp = _close(post, client, round_id, w.mombasa, version, choice_reason="")
    assert resp.status_code == 422
    body = resp.get_data(as_text=True)
    assert "Give the reasons for the choice." in body and "We read the three stories aloud" in body
    resp = _close(post, client, round_id, w.bargaining_story, version)
    assert resp.status_code == 422
    assert _close(post, client, round_id, w.mombasa, version).status_code == 302
    with app.app_context():
        closed = db.session.get(SelectionRound, round_id)
        assert closed.status.value == "closed" and closed.chosen_story_id == w.mombasa
        assert db.session.get(ChangeStory, w.mombasa).chosen_at is StoryLevel.project
        assert db.session.get(ChangeStory, w.riders).chosen_at is None
    page = client.get(f"/rounds/{round_id}").get_data(as_text=True)
    assert "It goes up: it will be read in a regional round." in page
    assert "Record the choice and close the round" not in page

    # After the close: a proposal is refused with an explanation, what was typed kept.
    resp = _propose(post, worker, round_id, w.riders, "Changed my mind too late.")
    assert resp.status_code in (403, 409)
    # A member no longer sees a form for a closed round; sent anyway, the service says why.
    if resp.status_code == 409:
        assert "This round is closed" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(StoryProposal, (round_id, w.worker)).story_id == w.mombasa


def test_a_proposal_sent_after_the_close_is_refused_with_the_input_kept(app, client, login, post, w):
    round_id = _open(client, login, post, w)
    worker = app.test_client()
    login("worker@example.org", on=worker)
    worker.get(f"/rounds/{round_id}")  # the form is on the page
    assert _close(post, client, round_id, w.riders, _version(app, round_id)).status_code == 302
    resp = _propose(post, worker, round_id, w.mombasa, "Typed before the close.")
    assert resp.status_code == 409
    body = resp.get_data(as_text=True)
    assert "This round is closed" in body and "Typed before the close." in body


def test_a_conflicting_close_is_refused_and_keeps_what_was_typed(app, client, login, post, w):
    round_id = _open(client, login, post, w)
    version = _version(app, round_id)
    other = app.test_client()
    login("spec@example.org", on=other)
    assert _close(post, other, round_id, w.riders, version).status_code == 302
    resp = _close(post, client, round_id, w.mombasa, version, choice_reason="My own late reasons.")
    assert resp.status_code == 409
    body = resp.get_data(as_text=True)
    assert "My own late reasons." in body and "Nothing of yours was lost" in body
    with app.app_context():
        assert db.session.get(SelectionRound, round_id).chosen_story_id == w.riders


def test_a_choice_without_consent_to_share_stays_in_the_project(app, client, login, post, w):
    round_id = _open(client, login, post, w)
    assert _close(post, client, round_id, w.flowers, _version(app, round_id)).status_code == 302
    page = client.get(f"/rounds/{round_id}").get_data(as_text=True)
    assert "did not agree to its being shared outside the project" in page
    admin = app.test_client()
    login("admin@example.org", on=admin)
    resp = post(
        "/admin/rounds/new",
        {
            "title": "Africa",
            "level": "regional",
            "region": "africa",
            "members": [str(w.worker), str(w.employer), str(w.admin)],
        },
        on=admin,
    )
    assert resp.status_code == 422 and "There is no story to read" in resp.get_data(as_text=True)


def test_invite_more_and_remove_only_before_a_proposal(app, client, login, post, w):
    round_id = _open(client, login, post, w)
    page = client.get(f"/rounds/{round_id}/members").get_data(as_text=True)
    assert "Second Reporter" in page and "Amina Otieno" not in page  # invited already
    assert post(f"/rounds/{round_id}/members", {"members": [str(w.reporter2)]}).status_code == 302
    assert post(f"/rounds/{round_id}/members", {"members": [str(w.outsider)]}).status_code == 422
    reporter2 = app.test_client()
    login("reporter2@example.org", on=reporter2)
    assert (
        _propose(post, reporter2, round_id, w.flowers, "Night-shift workers were heard.").status_code == 302
    )
    # Proposed already: stays; the only employer: stays; the worker (another worker remains): goes.
    post(f"/rounds/{round_id}/members/{w.reporter2}/remove")
    post(f"/rounds/{round_id}/members/{w.employer}/remove")
    assert post(f"/rounds/{round_id}/members/{w.worker}/remove").status_code == 302
    with app.app_context():
        members = {m.user_id for m in db.session.get(SelectionRound, round_id).members}
    assert members == {w.reporter2, w.employer, w.spec}
    assert reporter2.get(f"/rounds/{round_id}").status_code == 200
    worker = app.test_client()
    login("worker@example.org", on=worker)
    assert worker.get(f"/rounds/{round_id}").status_code == 404


# --- higher levels ------------------------------------------------------------------------------


def _service_round(app, project_key, w, domain, members, choose):
    """A closed project round through the service (the pages are tested above)."""
    from mel_app import audit
    from mel_app.models import Project
    from mel_app.projects import rounds

    with app.app_context():
        actor = db.session.get(User, w.admin)
        audit.set_actor(db.session(), audit.Actor(actor.id, actor.full_name))
        project = db.session.get(Project, w.ids[project_key])
        r = rounds.open_project_round(
            project,
            rounds.RoundSpec(title=f"Round of {project_key}", domain_id=domain, member_ids=members),
            actor=actor,
        )
        rounds.close(r, rounds.Choice(story_id=choose, reason="Chosen."), r.version, actor=actor)
        db.session.commit()
        return r.id


def test_higher_rounds_read_the_stories_chosen_below_with_consent_in_their_region(
    app, client, login, post, make, w
):
    # Ghana and Brazil need every constituency too.
    emp_gh = make.organisation("Employers of Ghana", OrgGroup.employers, country="GH")
    emp_gh_user = make.user("emp.gh@example.org", organisation_id=emp_gh)
    make.member(emp_gh_user, w.ghana, Role.reporter, organisation_id=emp_gh)
    emp_br = make.organisation("Employers of Brazil", OrgGroup.employers, country="BR")
    emp_br_user = make.user("emp.br@example.org", organisation_id=emp_br)
    make.member(emp_br_user, w.brazil, Role.reporter, organisation_id=emp_br)
    _service_round(app, "project", w, w.organising, [w.worker, w.employer, w.spec], w.mombasa)
    _service_round(app, "ghana", w, w.gh_organising, [w.outsider, emp_gh_user, w.spec_gh], w.ghana_story)
    _service_round(app, "brazil", w, w.br_organising, [w.worker_br, emp_br_user, w.spec_br], w.brazil_story)

    login("admin@example.org")
    assert "Open a regional round" in client.get("/rounds").get_data(as_text=True)
    form = client.get("/admin/rounds/new?level=regional").get_data(as_text=True)
    assert "Amina Otieno" in form and "Africa" in form
    data = {
        "title": "Africa 2026",
        "level": "regional",
        "region": "africa",
        "members": [str(w.outsider), str(emp_gh_user), str(w.admin)],
    }
    resp = post("/admin/rounds/new", {**data, "region": ""})
    assert resp.status_code == 422 and "Choose the region." in resp.get_data(as_text=True)
    resp = post("/admin/rounds/new", data)
    assert resp.status_code == 302
    africa = int(resp.headers["Location"].rsplit("/", 1)[1])
    assert _candidates(app, africa) == sorted([w.mombasa, w.ghana_story])  # not Brazil's
    # A story is read once per level.
    resp = post("/admin/rounds/new", {**data, "title": "Africa again"})
    assert resp.status_code == 422
    resp = post("/admin/rounds/new", {**data, "title": "Americas", "region": "americas"})
    americas = int(resp.headers["Location"].rsplit("/", 1)[1])
    assert _candidates(app, americas) == [w.brazil_story]

    # The members of the regional round read the stories, without the storyteller's name unless
    # they are members of the story's project.
    ghana = app.test_client()
    login("outsider@example.org", on=ghana)
    page = ghana.get(f"/rounds/{africa}").get_data(as_text=True)
    assert "Domestic workers in Mombasa" in page and "What happened: Domestic workers in Mombasa" in page
    # Nor the project's reference to someone who may not know the project: its country.
    story_block = page[page.index(f'id="story-{w.mombasa}"') : page.index(f'id="story-{w.ghana_story}"')]
    assert "RAF/22/11/NOR" not in page and "<dd>Kenya</dd>" in story_block
    assert "Told by" not in story_block and "Workers" in story_block
    ghana_block = page[page.index(f'id="story-{w.ghana_story}"') :]
    assert "Told by" in ghana_block and "RAF/23/05/FIN" in ghana_block
    # The project's specialist does not see a regional round they are not in.
    spec = app.test_client()
    login("spec@example.org", on=spec)
    assert spec.get(f"/rounds/{africa}").status_code == 404
    assert "Africa 2026" not in spec.get("/rounds").get_data(as_text=True)

    # Closing the regional round sends the story up to ACTRAV's.
    assert _close(post, client, africa, w.mombasa, _version(app, africa)).status_code == 302
    page = client.get(f"/rounds/{africa}").get_data(as_text=True)
    assert "It goes up: it will be read in an ACTRAV round." in page
    resp = post("/admin/rounds/new", {**data, "title": "ACTRAV 2026", "level": "actrav", "region": ""})
    assert resp.status_code == 302
    actrav = int(resp.headers["Location"].rsplit("/", 1)[1])
    assert _candidates(app, actrav) == [w.mombasa]
    page = client.get(f"/rounds/{africa}").get_data(as_text=True)
    assert "ACTRAV 2026" in page  # where its chosen story went
    with app.app_context():
        assert db.session.get(ChangeStory, w.mombasa).chosen_at is StoryLevel.regional
    # Only administrators open rounds above projects.
    assert spec.get("/admin/rounds/new").status_code == 403
    assert post("/admin/rounds/new", data, on=spec).status_code == 403


# --- who sees what ------------------------------------------------------------------------------


def test_who_sees_a_project_round(app, client, login, post, w):
    round_id = _open(client, login, post, w)
    expected = {
        "worker@example.org": 200,  # a member
        "spec@example.org": 200,  # the project's specialist
        "admin@example.org": 200,
        "reporter2@example.org": 404,  # a member of the project, not of the round
        "observer@example.org": 404,
        "outsider@example.org": 404,
        "spec.gh@example.org": 404,
    }
    for email, status in expected.items():
        other = app.test_client()
        login(email, on=other)
        assert other.get(f"/rounds/{round_id}").status_code == status, email
        listed = "Organising — first half-year" in other.get("/rounds").get_data(as_text=True)
        assert listed == (status == 200), email
        project_list = other.get(f"/projects/{w.project}/rounds")
        if email in ("outsider@example.org", "spec.gh@example.org"):
            assert project_list.status_code == 404
        else:
            assert project_list.status_code == 200
            assert ("Organising — first half-year" in project_list.get_data(as_text=True)) == (status == 200)
        # Opening and closing: the specialist only.
        if email != "spec@example.org":
            assert other.get(f"/projects/{w.project}/rounds/new").status_code in (403, 404)
            assert _close(post, other, round_id, w.mombasa, 1).status_code in (403, 404)
    # The storyteller's name: for members of the story's project.
    admin = app.test_client()
    login("admin@example.org", on=admin)
    page = client.get(f"/rounds/{round_id}").get_data(as_text=True)
    assert "Told by" in page
    assert client.get("/rounds/999999").status_code == 404
    anonymous = app.test_client()
    assert anonymous.get(f"/rounds/{round_id}").status_code == 302


def test_pages_load_in_a_fixed_number_of_queries(app, client, login, post, w, queries, make):
    first = _open(client, login, post, w)
    worker = app.test_client()
    login("worker@example.org", on=worker)
    _propose(post, worker, first, w.mombasa)

    def count(url, on):
        on.get(url)
        with queries() as statements:
            assert on.get(url).status_code == 200
        return len(statements)

    urls = ("/rounds", f"/rounds/{first}", f"/projects/{w.project}/rounds")
    before = {url: count(url, client) for url in urls}
    # More rounds, members and proposals.
    for n in range(3):
        rounds_world.story(app, w.project, w.bargaining, f"Bargaining story {n}", share_consent=True)
    second = _open(
        client,
        login,
        post,
        w,
        title="Bargaining",
        domain_id=str(w.bargaining),
        period_id="",
    )
    assert post(f"/rounds/{first}/members", {"members": [str(w.reporter2)]}).status_code == 302
    employer, reporter2 = app.test_client(), app.test_client()
    login("employer@example.org", on=employer)
    login("reporter2@example.org", on=reporter2)
    _propose(post, employer, first, w.riders)
    _propose(post, reporter2, first, w.flowers)
    _propose(post, worker, second, w.bargaining_story)
    after = {url: count(url, client) for url in urls}
    assert after == before


def test_the_round_page_in_french(app, client, login, post, w):
    round_id = _open(client, login, post, w)
    with app.app_context():
        db.session.get(User, w.spec).preferred_language = "fr"
        db.session.commit()
    page = client.get(f"/rounds/{round_id}").get_data(as_text=True)
    assert "Les histoires lues" in page and "Enregistrer le choix et clore le tour" in page
    listing = client.get("/rounds").get_data(as_text=True)
    assert "Tours de sélection" in listing and "Niveau du projet" in listing


def test_the_projects_history_shows_its_rounds(app, client, login, post, w):
    round_id = _open(client, login, post, w)
    worker = app.test_client()
    login("worker@example.org", on=worker)
    _propose(post, worker, round_id, w.mombasa, "The first branch of domestic workers.")
    assert _close(post, client, round_id, w.mombasa, _version(app, round_id)).status_code == 302
    with app.app_context():
        events = db.session.execute(
            sa.select(AuditEvent.action, AuditEvent.project_id, AuditEvent.actor_id).where(
                AuditEvent.action.like("round.%")
            )
        ).all()
    assert {(e.action, e.actor_id) for e in events} == {
        ("round.open", w.spec),
        ("round.propose", w.worker),
        ("round.close", w.spec),
    }
    assert {e.project_id for e in events} == {w.project}
    history = client.get(f"/history/project/{w.project}").get_data(as_text=True)
    assert "Selection round opened" in history and "Most significant change proposed" in history
    assert "Selection round closed with its choice" in history
    assert "The first branch of domestic workers." in history
    assert re.search(r"Organising — first half-year", history)


def test_the_people_invited_are_told_in_their_language_with_a_link_to_the_round(app, client, login, post, w):
    from mel_app.models import Notification

    with app.app_context():
        db.session.get(User, w.worker).preferred_language = "fr"
        db.session.commit()
    round_id = _open(client, login, post, w)
    assert post(f"/rounds/{round_id}/members", {"members": [str(w.reporter2)]}).status_code == 302

    def told():
        with app.app_context():
            return {
                n.recipient_id: (n.title, n.link)
                for n in db.session.scalars(
                    sa.select(Notification).where(Notification.kind == "round_invited")
                )
            }

    notes = told()
    # The specialist invited themself: nobody is told of their own action.
    assert set(notes) == {w.worker, w.employer, w.reporter2}
    assert notes[w.employer] == (
        "You are invited to choose the most significant change: “Organising — first half-year”",
        f"/rounds/{round_id}",
    )
    assert notes[w.worker][0].startswith("Vous êtes invité à choisir le changement le plus significatif")
    employer = app.test_client()
    login("employer@example.org", on=employer)
    assert "Organising — first half-year" in employer.get("/notifications").get_data(as_text=True)
