"""Administrators manage accounts and organisations; every change is audited, nothing is deleted."""

from __future__ import annotations

import re

import sqlalchemy as sa

from mel_app.extensions import db
from mel_app.models import AuditEvent, Organisation, OrgGroup, User
from tests.audit_helpers import changed


def _form_value(page: str, name: str) -> str:
    return re.search(rf'name="{name}" type="hidden" value="([^"]*)"', page).group(1)


def _events(app, action_prefix: str) -> list[AuditEvent]:
    with app.app_context():
        events = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action.startswith(action_prefix)).order_by(AuditEvent.id)
        ).all()
        db.session.expunge_all()
        return events


def test_users_list_search_and_filters(app, client, make, login):
    union = make.organisation("Fictional Union of Zambia", country="ZM")
    make.user("admin@example.org", is_admin=True, full_name="Amina Diallo")
    make.user("mwila@example.org", full_name="Mwila Banda", organisation_id=union)
    make.user("gone@example.org", full_name="Old Member", is_active=False)
    login("admin@example.org")
    page = client.get("/admin/users").get_data(as_text=True)
    assert "Mwila Banda" in page and "Old Member" in page and "3 accounts" in page

    page = client.get("/admin/users?q=BANDA").get_data(as_text=True)
    assert "Mwila Banda" in page and "Old Member" not in page
    page = client.get("/admin/users?q=gone@").get_data(as_text=True)
    assert "Old Member" in page and "Mwila Banda" not in page
    page = client.get("/admin/users?status=deactivated").get_data(as_text=True)
    assert "Old Member" in page and "Mwila Banda" not in page
    page = client.get(f"/admin/users?organisation={union}").get_data(as_text=True)
    assert "Mwila Banda" in page and "Amina Diallo" not in page.split("<main")[1]
    page = client.get("/admin/users?organisation=union+of+zam").get_data(as_text=True)
    assert "Mwila Banda" in page and "Amina Diallo" not in page.split("<main")[1], "part of the name"
    assert 'value="union of zam"' in page, "the filter is kept in its box"
    page = client.get("/admin/users?organisation=Employers").get_data(as_text=True)
    assert "No account matches" in page
    page = client.get("/admin/users?q=%25").get_data(as_text=True)
    assert "No account matches" in page, "a % in the search is a character, not a wildcard"


def test_users_list_is_paginated_with_a_constant_number_of_queries(app, client, make, login, queries):
    make.user("admin@example.org", is_admin=True)
    login("admin@example.org")

    def count() -> int:
        with queries() as statements:
            assert client.get("/admin/users").status_code == 200
        return len(statements)

    few = count()
    for i in range(30):
        make.user(f"user{i}@example.org", organisation_id=make.organisation())
    many = count()
    assert many == few
    page = client.get("/admin/users").get_data(as_text=True)
    assert "Page 1 of 2" in page and "?page=2" in page
    assert "Page 2 of 2" in client.get("/admin/users?page=2").get_data(as_text=True)


def test_nav_shows_administration_only_to_administrators(client, make, login, app):
    make.user("admin@example.org", is_admin=True)
    make.user("rep@example.org")
    login("rep@example.org")
    page = client.get("/").get_data(as_text=True)
    assert "/admin/users" not in page and "/account" in page
    client2 = app.test_client()
    login("admin@example.org", on=client2)
    page = client2.get("/").get_data(as_text=True)
    assert "/admin/users" in page and "/admin/organisations" in page


def test_inviting_an_existing_email_is_refused_with_the_input_kept(client, make, login, post):
    make.user("admin@example.org", is_admin=True)
    make.user("taken@example.org")
    login("admin@example.org")
    resp = post(
        "/admin/users/invite",
        {"email": "Taken@example.org", "full_name": "Second Person", "preferred_language": "en"},
    )
    assert resp.status_code == 400
    page = resp.get_data(as_text=True)
    assert "An account with this email exists already" in page and 'value="Second Person"' in page


def test_changing_organisation_and_admin_flag_is_audited(app, client, make, login, post):
    org_a, org_b = make.organisation("Union A"), make.organisation("Union B")
    make.user("admin@example.org", is_admin=True)
    rep = make.user("rep@example.org", organisation_id=org_a)
    login("admin@example.org")
    page = client.get(f"/admin/users/{rep}").get_data(as_text=True)
    seen = _form_value(page, "version")
    resp = post(f"/admin/users/{rep}", {"organisation_id": str(org_b), "version": seen})
    assert resp.status_code == 302
    page = client.get(f"/admin/users/{rep}").get_data(as_text=True)
    resp = post(
        f"/admin/users/{rep}",
        {"organisation_id": str(org_b), "is_admin": "y", "version": _form_value(page, "version")},
    )
    assert resp.status_code == 302
    change, grant = _events(app, "user.change_organisation") + _events(app, "user.grant_admin")
    assert changed(change.before) == {"organisation_id": org_a}
    assert changed(change.after) == {"organisation_id": org_b}
    assert changed(grant.after) == {"is_admin": True} and grant.entity_id == str(rep)


def test_two_admins_editing_the_same_account_the_second_is_told_and_keeps_the_input(
    app, client, make, login, post
):
    org_a, org_b, org_c = (make.organisation(n) for n in ("Union A", "Union B", "Union C"))
    make.user("admin@example.org", is_admin=True)
    make.user("admin2@example.org", is_admin=True)
    rep = make.user("rep@example.org", organisation_id=org_a)
    login("admin@example.org")
    other = app.test_client()
    login("admin2@example.org", on=other)
    seen = _form_value(client.get(f"/admin/users/{rep}").get_data(as_text=True), "version")
    seen_other = _form_value(other.get(f"/admin/users/{rep}").get_data(as_text=True), "version")
    assert (
        post(f"/admin/users/{rep}", {"organisation_id": str(org_b), "version": seen}).status_code == 302
    )
    resp = post(f"/admin/users/{rep}", {"organisation_id": str(org_c), "version": seen_other}, on=other)
    assert resp.status_code == 409
    page = resp.get_data(as_text=True)
    assert "changed this at" in page and "after you opened it" in page, "told who changed it, and when"
    assert f'<option selected value="{org_c}">' in page, "the second admin's choice is still in the form"
    with app.app_context():
        assert db.session.get(User, rep).organisation_id == org_b, "nothing was overwritten"


def test_an_admin_cannot_lock_themselves_out(app, client, make, login, post):
    admin = make.user("admin@example.org", is_admin=True)
    login("admin@example.org")
    assert post(f"/admin/users/{admin}/deactivate").status_code == 403
    page = client.get(f"/admin/users/{admin}").get_data(as_text=True)
    assert f"/admin/users/{admin}/deactivate" not in page
    resp = post(
        f"/admin/users/{admin}", {"organisation_id": "", "version": _form_value(page, "version")}
    )
    assert resp.status_code == 400 and "your own administrator rights" in resp.get_data(as_text=True)
    with app.app_context():
        user = db.session.get(User, admin)
        assert user.is_admin and user.is_active


def test_deactivate_and_reactivate(app, client, make, login, post):
    make.user("admin@example.org", is_admin=True)
    rep = make.user("rep@example.org")
    login("admin@example.org")
    assert post(f"/admin/users/{rep}/deactivate", {"reason": ""}).status_code == 302
    assert post(f"/admin/users/{rep}/deactivate").status_code == 409, "already deactivated"
    page = client.get(f"/admin/users/{rep}").get_data(as_text=True)
    assert "Deactivated: cannot sign in." in page and f"/admin/users/{rep}/reactivate" in page
    assert post(f"/admin/users/{rep}/reactivate").status_code == 302
    login("rep@example.org", on=app.test_client())
    assert [e.action for e in _events(app, "user.") if e.entity_id == str(rep)][-3:] == [
        "user.deactivate",
        "user.reactivate",
        "user.login",
    ]
    with app.app_context():
        assert db.session.get(User, rep) is not None, "accounts are never deleted"


def test_organisations_are_created_edited_searched_and_never_deleted(app, client, make, login, post):
    make.user("admin@example.org", is_admin=True)
    regional = make.organisation("Fictional African Regional Federation", country="TG")
    login("admin@example.org")
    page = client.get("/admin/organisations/new").get_data(as_text=True)
    assert "Kenya (KE)" in page and "Workers" in page
    resp = post(
        "/admin/organisations/new",
        {
            "name": "Fictional Union of Kenya",
            "acronym": "F-UK",
            "group": "workers",
            "country": "KE",
            "parent_id": str(regional),
        },
    )
    assert resp.status_code == 302
    with app.app_context():
        org = db.session.scalar(sa.select(Organisation).where(Organisation.acronym == "F-UK"))
        assert (org.group, org.country, org.parent_id) == (OrgGroup.workers, "KE", regional)
        org_id = org.id
    page = client.get("/admin/organisations?q=f-uk").get_data(as_text=True)
    assert (
        "Fictional Union of Kenya" in page
        and "Kenya" in page
        and "Fictional African Regional Federation" in page
    )
    page = client.get("/admin/organisations?group=employers").get_data(as_text=True)
    assert "Fictional Union of Kenya" not in page

    page = client.get(f"/admin/organisations/{org_id}/edit").get_data(as_text=True)
    assert 'value="Fictional Union of Kenya"' in page
    resp = post(
        f"/admin/organisations/{org_id}/edit",
        {
            "name": "Fictional Union of Kenya",
            "acronym": "F-UK",
            "group": "workers",
            "country": "UG",
            "parent_id": str(regional),
            "version": _form_value(page, "version"),
        },
    )
    assert resp.status_code == 302
    create, update = _events(app, "organisation.create")[-1], _events(app, "organisation.update")[-1]
    assert create.entity_id == str(org_id) and changed(update.after) == {"country": "UG"}
    assert all(rule.endpoint != "admin.delete_organisation" for rule in app.url_map.iter_rules())


def test_organisation_rules(app, client, make, login, post):
    make.user("admin@example.org", is_admin=True)
    parent = make.organisation("Regional Federation")
    child = make.organisation("National Centre", parent_id=parent)
    login("admin@example.org")
    page = client.get(f"/admin/organisations/{parent}/edit").get_data(as_text=True)
    seen = _form_value(page, "version")
    base = {"name": "Regional Federation", "group": "workers", "country": "KE", "version": seen}
    # A child cannot become its parent's parent: not even offered, and refused if sent.
    assert f'value="{child}"' not in page.split('name="parent_id"')[1].split("</select>")[0]
    resp = post(f"/admin/organisations/{parent}/edit", {**base, "parent_id": str(child)})
    assert resp.status_code == 400
    resp = post("/admin/organisations/new", {"name": "national centre", "group": "workers"})
    assert resp.status_code == 400 and "exists already" in resp.get_data(as_text=True)
    resp = post("/admin/organisations/new", {"name": "Somewhere", "group": "workers", "country": "ZZ"})
    assert resp.status_code == 400, "only ISO 3166-1 countries"
    resp = post("/admin/organisations/new", {"name": "Nobody's group", "group": "pirates"})
    assert resp.status_code == 400
    assert 'value="Nobody&#39;s group"' in resp.get_data(as_text=True)


def test_organisation_list_has_a_constant_number_of_queries(app, client, make, login, queries):
    make.user("admin@example.org", is_admin=True)
    login("admin@example.org")

    def count() -> int:
        with queries() as statements:
            assert client.get("/admin/organisations").status_code == 200
        return len(statements)

    few = count()
    parent = make.organisation("Parent")
    for i in range(20):
        make.organisation(f"Child {i}", parent_id=parent)
    assert count() == few


def test_the_demo_administrator_manages_the_demo_accounts(app, demo, client, login):
    from mel_app.demo import DEMO_PASSWORD

    login("admin@example.org", DEMO_PASSWORD)
    page = client.get("/admin/users?q=example.org").get_data(as_text=True)
    assert "Grace Wanjiru" in page and "Carlos Mendoza" in page
    page = client.get("/admin/organisations?q=F-COTU").get_data(as_text=True)
    assert "Fictional African Regional Trade Union Federation" in page


def test_in_a_long_portfolio_the_organisation_selects_list_one_country_at_a_time(
    app, client, make, login, post
):
    """Beyond ORGANISATION_LIST_LIMIT organisations, a select lists one country's (by default the
    current choice's) and the current choice; "List them" lists another's with the input kept."""
    app.config["ORGANISATION_LIST_LIMIT"] = 3
    kenyan = make.organisation("Kenya Union", country="KE")
    make.organisation("Kenya Employers", country="KE")
    make.organisation("Fiji Union", country="FJ")
    fijian = make.organisation("Fiji Employers", country="FJ")
    make.user("admin@example.org", is_admin=True)
    rep = make.user("rep@example.org", organisation_id=kenyan)
    login("admin@example.org")

    page = client.get(f"/admin/users/{rep}").get_data(as_text=True)
    assert "Kenya Employers" in page and "Fiji Union" not in page
    assert "There are 4 organisations" in page
    invite = client.get("/admin/users/invite").get_data(as_text=True)
    assert "Kenya Union" not in invite and "Fiji Union" not in invite

    typed = {"email": "new@example.org", "full_name": "New Person", "preferred_language": "en"}
    listed = post("/admin/users/invite", {**typed, "list_country": "FJ", "list_organisations": "List them"})
    assert listed.status_code == 200
    body = listed.get_data(as_text=True)
    assert "Fiji Union" in body and "Kenya Union" not in body and 'value="New Person"' in body
    with app.app_context():
        assert db.session.scalar(sa.select(User.id).where(User.email == "new@example.org")) is None

    # A made-up number is refused like any choice not offered, not sent to the database.
    page = client.get(f"/admin/users/{rep}").get_data(as_text=True)
    made_up = {"organisation_id": "9" * 30, "version": _form_value(page, "version")}
    assert post(f"/admin/users/{rep}", made_up).status_code == 400
    # A choice from another country's list is saved.
    page = client.get(f"/admin/users/{rep}").get_data(as_text=True)
    resp = post(
        f"/admin/users/{rep}", {"organisation_id": str(fijian), "version": _form_value(page, "version")}
    )
    assert resp.status_code == 302
    with app.app_context():
        assert db.session.get(User, rep).organisation_id == fijian

    # The parent organisation of an organisation: the same, its input kept.
    parent = post(
        "/admin/organisations/new",
        {"name": "Fiji Centre", "group": "workers", "list_country": "FJ", "list_organisations": "List them"},
    ).get_data(as_text=True)
    assert "Fiji Union" in parent and "Kenya Union" not in parent and 'value="Fiji Centre"' in parent

    # While there are at most as many as the limit, every organisation is listed, without a filter.
    app.config["ORGANISATION_LIST_LIMIT"] = 200
    page = client.get("/admin/users/invite").get_data(as_text=True)
    assert "Kenya Union" in page and "Fiji Union" in page and "List the organisations of" not in page
