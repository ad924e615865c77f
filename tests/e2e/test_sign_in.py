"""Signing in and out in a real browser."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.factories import PASSWORD


def test_a_union_rep_signs_in_sees_their_project_and_signs_out(page, live_server, make, axe_check):
    org = make.organisation("Fictional Central Organisation of Trade Unions")
    user = make.user("rep@example.org", organisation_id=org, full_name="Grace Wanjiru")
    project = make.project("RAF/22/11/NOR", title="Promoting Workers Rights")
    make.member(user, project, "reporter", organisation_id=org)

    page.goto(live_server + "/")
    expect(page).to_have_url(re.compile(r"/login"))
    axe_check(page)
    page.get_by_label("Email").fill("rep@example.org")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("The email or password is not right")).to_be_visible()
    expect(page.get_by_label("Email")).to_have_value("rep@example.org")

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="My tasks")).to_be_visible()
    expect(page.get_by_text("Promoting Workers Rights")).to_be_visible()
    axe_check(page)

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You have signed out.")).to_be_visible()
    page.goto(live_server + "/")
    expect(page).to_have_url(re.compile(r"/login"))
