"""A project's specialists add, invite and remove members; nobody else sees the list."""

from __future__ import annotations

import sqlalchemy as sa

from mel_app.extensions import db
from mel_app.models import AuditEvent, Membership, Role, User
from tests.smtp_server import body, link_in, mail_server_fixture  # noqa: F401 - the mail_server fixture


def _project_with_specialist(make, reference="RAF/22/11/NOR"):
    ilo = make.organisation("ILO ACTRAV", group="ilo", country="CH")
    union = make.organisation("Fictional Union of Kenya")
    project = make.project(reference, title="Workers' rights in Africa")
    make.partner(project, union)
    specialist = make.user("specialist@example.org", organisation_id=ilo, full_name="Carlos Mendoza")
    make.member(specialist, project, Role.specialist)
    return project, union, specialist


def _memberships(app, project):
    with app.app_context():
        return {
            (m.user.email, m.role.value, m.organisation_id)
            for m in db.session.scalars(sa.select(Membership).where(Membership.project_id == project))
        }


def test_a_specialist_adds_an_existing_user_who_is_told_by_email(app, client, make, login, post, mail_server):
    project, union, _specialist = _project_with_specialist(make)
    make.user("grace@example.org", full_name="Grace Wanjiru", organisation_id=union)
    login("specialist@example.org")
    page = client.get(f"/projects/{project}/members").get_data(as_text=True)
    assert "Carlos Mendoza" in page and "Fictional Union of Kenya" in page
    resp = post(
        f"/projects/{project}/members",
        {"email": "Grace@Example.org", "role": "reporter", "organisation_id": str(union)},
    )
    assert resp.status_code == 302
    page = client.get(resp.location).get_data(as_text=True)
    assert "grace@example.org has been added as Reporter and told by email." in page
    assert "Grace Wanjiru" in page
    assert ("grace@example.org", "reporter", union) in _memberships(app, project)
    (message,) = mail_server.wait_for("grace@example.org")
    assert "RAF/22/11/NOR" in body(message) and "as Reporter" in body(message)
    with app.app_context():
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "membership.add"))
        assert event.project_id == project and event.after["role"] == "reporter"


def test_a_specialist_invites_a_new_person_who_then_sees_the_project(
    app, client, make, login, post, mail_server
):
    project, union, _specialist = _project_with_specialist(make)
    login("specialist@example.org")
    resp = post(
        f"/projects/{project}/members",
        {
            "email": "awa@example.org",
            "full_name": "Awa Ndiaye",
            "role": "reporter",
            "organisation_id": str(union),
        },
    )
    assert resp.status_code == 302
    page = client.get(resp.location).get_data(as_text=True)
    assert "awa@example.org has been added as Reporter and told by email." in page, "the same words as above"
    assert "invitation pending" in page
    (message,) = mail_server.wait_for("awa@example.org")
    assert "Carlos Mendoza invites you to take part in the project RAF/22/11/NOR" in body(message)
    link = link_in(message)

    browser = app.test_client()
    password = "teranga solidarity network"
    resp = post(link, {"full_name": "Awa Ndiaye", "password": password, "confirm": password}, on=browser)
    assert resp.status_code == 302
    assert "RAF/22/11/NOR" in browser.get("/").get_data(as_text=True)
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == "awa@example.org"))
        assert user.organisation_id == union and user.full_name == "Awa Ndiaye"


def test_a_reporter_needs_an_organisation_and_a_role_is_given_once(app, client, make, login, post):
    project, union, specialist = _project_with_specialist(make)
    login("specialist@example.org")
    resp = post(
        f"/projects/{project}/members",
        {"email": "x@example.org", "full_name": "X Person", "role": "reporter"},
    )
    assert resp.status_code == 400
    page = resp.get_data(as_text=True)
    assert "A reporter reports for an organisation" in page and 'value="x@example.org"' in page
    resp = post(f"/projects/{project}/members", {"email": "specialist@example.org", "role": "specialist"})
    assert resp.status_code == 409 and "has this role in the project already" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(User).where(User.email == "x@example.org")) is None


def test_a_deactivated_account_cannot_be_added(client, make, login, post):
    project, _union, _specialist = _project_with_specialist(make)
    make.user("gone@example.org", is_active=False)
    login("specialist@example.org")
    resp = post(f"/projects/{project}/members", {"email": "gone@example.org", "role": "observer"})
    assert resp.status_code == 400 and "deactivated" in resp.get_data(as_text=True)


def test_removing_a_member_and_never_the_last_specialist(app, client, make, login, post):
    project, union, specialist = _project_with_specialist(make)
    rep = make.user("rep@example.org", organisation_id=union)
    membership = make.member(rep, project, Role.reporter, organisation_id=union)
    own = _specialist_membership(app, specialist, project)
    login("specialist@example.org")
    resp = post(f"/projects/{project}/members/{membership}/remove", {"confirmed": "yes"})
    assert resp.status_code == 302
    assert ("rep@example.org", "reporter", union) not in _memberships(app, project)
    resp = post(f"/projects/{project}/members/{own}/remove", {"confirmed": "yes"})
    assert resp.status_code == 409 and "only specialist" in resp.get_data(as_text=True)
    with app.app_context():
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "membership.remove"))
        assert event.before["user_id"] == rep and event.after is None and event.project_id == project
        assert db.session.get(User, rep) is not None, "the account stays"


def _specialist_membership(app, user, project) -> int:
    with app.app_context():
        return db.session.scalar(
            sa.select(Membership.id).where(Membership.user_id == user, Membership.project_id == project)
        )


def test_a_membership_of_another_project_is_not_found_through_this_one(app, make, login, post):
    project, _union, _specialist = _project_with_specialist(make)
    other = make.project("RAF/23/05/FIN")
    stranger = make.member(make.user("s@example.org"), other, Role.observer)
    login("specialist@example.org")
    assert post(f"/projects/{project}/members/{stranger}/remove").status_code == 404
    assert post(f"/projects/{other}/members/{stranger}/remove").status_code == 404, "not their project"
    assert post(f"/projects/{project}/members/999999/remove").status_code == 404


def test_members_page_queries_do_not_grow_with_members(app, client, make, login, queries):
    project, union, _specialist = _project_with_specialist(make)
    login("specialist@example.org")

    def count() -> int:
        with queries() as statements:
            assert client.get(f"/projects/{project}/members").status_code == 200
        return len(statements)

    few = count()
    for i in range(15):
        make.member(make.user(f"m{i}@example.org"), project, Role.reporter, organisation_id=union)
    assert count() == few


def test_resending_an_invitation_to_a_member(app, client, make, login, post, mail_server):
    project, union, _specialist = _project_with_specialist(make)
    login("specialist@example.org")
    post(f"/projects/{project}/members", {"email": "awa@example.org", "role": "observer"})
    first = link_in(mail_server.wait_for("awa@example.org")[0])
    with app.app_context():
        membership = db.session.scalar(
            sa.select(Membership.id).join(User).where(User.email == "awa@example.org")
        )
    assert post(f"/projects/{project}/members/{membership}/invite").status_code == 302
    second = link_in(mail_server.wait_for("awa@example.org", count=2)[1])
    assert app.test_client().get(first).status_code == 410, "the older link stops working"
    assert app.test_client().get(second).status_code == 200


def test_only_the_projects_partners_are_offered_to_reporters(app, client, make, login, post):
    project, union, _specialist = _project_with_specialist(make)
    stranger = make.organisation("Fictional Employers of Chad")
    login("specialist@example.org")
    page = client.get(f"/projects/{project}/members").get_data(as_text=True)
    assert "Fictional Union of Kenya" in page and "Fictional Employers of Chad" not in page
    resp = post(
        f"/projects/{project}/members",
        {
            "email": "idriss@example.org",
            "full_name": "Idriss Mahamat",
            "role": "reporter",
            "organisation_id": str(stranger),
        },
    )
    assert resp.status_code == 400
    page = resp.get_data(as_text=True)
    assert "Not a valid choice" in page and 'value="idriss@example.org"' in page, "the input is kept"
    assert ("idriss@example.org", "reporter", stranger) not in _memberships(app, project)
