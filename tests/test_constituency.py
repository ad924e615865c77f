"""A reporter speaks for their own constituency: their organisation in a project is one of its
partners, of the same constituency as their own organisation. Refused in the service (every path),
on the members page and when an administrator changes a reporter's organisation."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from mel_app.extensions import db
from mel_app.members.services import MembershipError, add_member
from mel_app.models import Membership, OrgGroup, Project, Role, User
from tests.error_pages import assert_summary_links_every_error


@pytest.fixture
def tripartite(make):
    ilo = make.organisation("ILO ACTRAV", OrgGroup.ilo, country="CH")
    union = make.organisation("Fictional Union of Kenya", OrgGroup.workers)
    regional = make.organisation("Fictional African Trade Union Federation", OrgGroup.workers)
    employers = make.organisation("Fictional Federation of Kenya Employers", OrgGroup.employers)
    outsider_union = make.organisation("Fictional Union Elsewhere", OrgGroup.workers)
    project = make.project("RAF/22/11/NOR")
    for org in (union, regional, employers):
        make.partner(project, org)
    spec = make.user("spec@example.org", organisation_id=ilo)
    make.member(spec, project, Role.specialist)
    make.user("union@example.org", organisation_id=union, full_name="Una Union")
    make.user("nobody@example.org", full_name="Nora Noorg")
    make.user("admin@example.org", is_admin=True, organisation_id=ilo)
    return {
        "project": project,
        "union": union,
        "regional": regional,
        "employers": employers,
        "outsider_union": outsider_union,
        "spec": spec,
    }


def _add(app, world, email, org_key):
    with app.app_context():
        project = db.session.get(Project, world["project"])
        actor = db.session.get(User, world["spec"])
        try:
            add_member(
                project,
                email=email,
                full_name="",
                role=Role.reporter,
                organisation_id=world[org_key],
                actor=actor,
            )
        except MembershipError as exc:
            db.session.rollback()
            return str(exc), exc.field
        db.session.commit()
        return None, None


def _reporters(app, project):
    with app.app_context():
        return {
            (m.user.email, m.organisation_id)
            for m in db.session.scalars(
                sa.select(Membership).where(
                    Membership.project_id == project, Membership.role == Role.reporter
                )
            )
        }


@pytest.mark.parametrize(
    ("email", "org_key", "refusal"),
    [
        ("union@example.org", "employers", "cannot report for Fictional Federation of Kenya Employers"),
        ("union@example.org", "outsider_union", "is not a partner of RAF/22/11/NOR"),
        ("nobody@example.org", "union", "has no organisation"),
        ("new@example.org", "employers", None),  # invited now: their account takes this organisation
        ("union@example.org", "union", None),
        ("union@example.org", "regional", None),  # the same constituency
    ],
)
def test_the_service_refuses_a_reporter_of_another_constituency(app, tripartite, email, org_key, refusal):
    message, field = _add(app, tripartite, email, org_key)
    if refusal is None:
        assert message is None
        assert (email, tripartite[org_key]) in _reporters(app, tripartite["project"])
    else:
        assert message is not None and refusal in message and field == "organisation_id"
        assert _reporters(app, tripartite["project"]) == set(), "nothing attached"


def test_the_members_form_refuses_a_mismatch_next_to_the_organisation(app, client, login, post, tripartite):
    login("spec@example.org")
    project = tripartite["project"]
    resp = post(
        f"/projects/{project}/members",
        {"email": "union@example.org", "role": "reporter", "organisation_id": str(tripartite["employers"])},
    )
    assert resp.status_code == 400
    page = resp.get_data(as_text=True)
    assert_summary_links_every_error(
        page,
        {
            "organisation_id": "Una Union belongs to Fictional Union of Kenya (Workers) and cannot report "
            "for Fictional Federation of Kenya Employers (Employers)"
        },
    )
    assert 'value="union@example.org"' in page, "what was typed stays"
    assert _reporters(app, project) == set()


def test_an_administrator_cannot_move_a_reporter_to_another_constituency(
    app, client, login, post, make, tripartite
):
    assert _add(app, tripartite, "union@example.org", "union") == (None, None)
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == "union@example.org"))
        user_id = user.id
    login("admin@example.org")
    page = client.get(f"/admin/users/{user_id}").get_data(as_text=True)
    seen = page.split('name="version" type="hidden" value="')[1].split('"')[0]
    resp = post(
        f"/admin/users/{user_id}", {"organisation_id": str(tripartite["employers"]), "version": seen}
    )
    assert resp.status_code == 400
    assert_summary_links_every_error(
        resp.get_data(as_text=True), {"organisation_id": "reports for Fictional Union of Kenya (Workers)"}
    )
    with app.app_context():
        assert db.session.get(User, user_id).organisation_id == tripartite["union"]
    # Within the constituency, the change is fine.
    resp = post(
        f"/admin/users/{user_id}", {"organisation_id": str(tripartite["regional"]), "version": seen}
    )
    assert resp.status_code == 302
