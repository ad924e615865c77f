"""Accounts in a real browser: an administrator invites someone, who accepts; the pages are accessible."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from mel_app.extensions import db
from mel_app.models import Organisation, Role
from tests.e2e.steps import main_nav, sign_in
from tests.smtp_server import link_in, mail_server_fixture  # noqa: F401 - the mail_server fixture


def test_an_admin_invites_a_union_rep_who_accepts_and_signs_in(
    app, page, live_server, make, axe_check, mail_server, new_context
):
    union = make.organisation("Fictional Ghana Federation of Labour")
    ilo = make.organisation("ILO ACTRAV", group="ilo", country="CH")
    make.user("admin@example.org", is_admin=True, full_name="Amina Diallo", organisation_id=ilo)
    project = make.project("RAF/22/11/NOR", title="Promoting Workers Rights")
    specialist = make.user("specialist@example.org", full_name="Carlos Mendoza", organisation_id=ilo)
    make.member(specialist, project, Role.specialist)
    make.partner(project, union)

    sign_in(page, live_server, "admin@example.org")
    main_nav(page).get_by_role("link", name="Users").click()
    expect(page.get_by_role("heading", name="Users")).to_be_visible()
    axe_check(page)
    page.get_by_role("link", name="Invite a user").click()
    axe_check(page)
    page.get_by_label("Email").fill("kwame@example.org")
    page.get_by_label("Full name").fill("Kwame Mensah")
    with app.app_context():
        label = db.session.get(Organisation, union).label
    page.get_by_label("Organisation", exact=True).select_option(label=label)
    page.get_by_role("button", name="Send the invitation").click()
    expect(page.get_by_text("An invitation has been sent to kwame@example.org")).to_be_visible()
    expect(page.get_by_text("Invitation pending")).to_be_visible()
    axe_check(page)
    main_nav(page).get_by_role("link", name="Organisations").click()
    axe_check(page)
    page.get_by_role("link", name="Add an organisation").click()
    axe_check(page)
    page.goto(f"{live_server}/projects/{project}/members")
    axe_check(page)
    main_nav(page).get_by_role("link", name="My account").click()
    axe_check(page)

    link = link_in(mail_server.wait_for("kwame@example.org")[0])
    newcomer = new_context().new_page()
    newcomer.goto(live_server + link)
    expect(newcomer.get_by_role("heading", name="Accept the invitation")).to_be_visible()
    axe_check(newcomer)
    newcomer.get_by_label("New password", exact=True).fill("short")
    newcomer.get_by_label("Repeat the new password").fill("short")
    newcomer.get_by_role("button", name="Accept and sign in").click()
    # Next to the field, and in the error summary at the top of the page, as a link to it.
    expect(newcomer.locator("#password-error")).to_contain_text("Use at least 12 characters")
    expect(newcomer.get_by_role("link", name="New password — Use at least 12 characters")).to_be_visible()
    expect(newcomer.get_by_label("Your full name")).to_have_value("Kwame Mensah")
    newcomer.get_by_label("New password", exact=True).fill("harmattan wind over accra")
    newcomer.get_by_label("Repeat the new password").fill("harmattan wind over accra")
    newcomer.get_by_role("button", name="Accept and sign in").click()
    expect(newcomer.get_by_text("Welcome, Kwame Mensah. Your account is ready.")).to_be_visible()


def test_forgotten_password_page_and_sign_in_link(page, live_server, axe_check):
    page.goto(live_server + "/login")
    page.get_by_role("link", name="Forgotten your password?").click()
    expect(page).to_have_url(re.compile(r"/auth/reset$"))
    axe_check(page)
    page.get_by_label("Email").fill("nobody@example.org")
    page.get_by_role("button", name="Send me a link").click()
    expect(page.get_by_text("If an account exists for nobody@example.org")).to_be_visible()
