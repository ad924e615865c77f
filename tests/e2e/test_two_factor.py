"""Two-factor sign-in in a real browser: a specialist sets it up, signs out and signs in with a code."""

from __future__ import annotations

import re
import time

import pyotp
from playwright.sync_api import expect

from mel_app.models import Role
from tests.factories import PASSWORD


def test_a_specialist_sets_up_two_factor_sign_in_and_signs_in_with_a_code(
    app, page, live_server, make, axe_check
):
    app.config["TWO_FACTOR_REQUIRED_ROLES"] = frozenset({"admin", "specialist", "evaluator"})
    user = make.user("specialist@example.org", full_name="Amina Diallo")
    project = make.project("RAF/22/11/NOR", title="Promoting Workers Rights")
    make.member(user, project, Role.specialist)

    page.goto(live_server + "/login")
    page.get_by_label("Email").fill("specialist@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    # Straight to the set-up: the role requires it, and nothing else is open until it is done.
    expect(page.get_by_role("heading", name="Set up two-factor sign-in")).to_be_visible()
    expect(page.get_by_role("img", name="QR code to scan with your authenticator app")).to_be_visible()
    axe_check(page)
    page.goto(live_server + "/projects")
    expect(page).to_have_url(re.compile(r"/account/two-factor$"))
    page.get_by_role("link", name="Continue the set-up you started").click()

    key = page.locator("#totp-key").inner_text().replace(" ", "")
    totp = pyotp.TOTP(key)
    page.get_by_label("6-digit code shown by the app").fill(totp.now())
    page.get_by_role("button", name="Turn on two-factor sign-in").click()
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    expect(page.locator("ol.recovery-codes li")).to_have_count(10)
    page.get_by_role("link", name="I have kept them: continue").click()
    expect(page.get_by_role("heading", name="My tasks")).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You have signed out.")).to_be_visible()

    page.get_by_label("Email").fill("specialist@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Two-factor sign-in")).to_be_visible()
    code = page.get_by_label("6-digit code")
    expect(code).to_have_attribute("autocomplete", "one-time-code")
    expect(code).to_have_attribute("inputmode", "numeric")
    axe_check(page)
    # The code of the set-up is used up; the app's next code is accepted (one step of drift).
    code.fill(totp.at(time.time() + 30))
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="My tasks")).to_be_visible()
    expect(page.get_by_text("Promoting Workers Rights")).to_be_visible()
