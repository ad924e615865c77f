"""The browser's time zone as a default: taken at the first sign-in, offered on the account page."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from mel_app.extensions import db
from mel_app.models import User
from tests.e2e.steps import sign_in


def _zone(app, user_id: int) -> str | None:
    with app.app_context():
        db.session.expire_all()
        return db.session.get(User, user_id).time_zone


@pytest.mark.parametrize("screen", ["desktop", "phone"], indirect=True)
def test_a_browser_in_nairobi_gives_its_zone_at_first_sign_in(app, live_server, make, journey):
    user = make.user("achieng@example.org", full_name="Achieng Otieno")
    page = journey.open(timezone_id="Africa/Nairobi")
    sign_in(page, live_server, "achieng@example.org", check=journey.check)
    assert _zone(app, user) == "Africa/Nairobi"

    page.goto(live_server + "/account")
    journey.check(page)
    expect(page.get_by_label("Time zone of the times shown to you and of your emails")).to_have_value(
        "Africa/Nairobi"
    )
    expect(page.get_by_text("This browser is set to Africa/Nairobi.")).to_be_visible()
    expect(page.get_by_role("table").get_by_text("(UTC+3)").first).to_be_visible()


@pytest.mark.parametrize("screen", ["desktop", "phone"], indirect=True)
def test_the_account_page_offers_the_browsers_zone_over_a_saved_one(app, live_server, make, journey):
    user = make.user("jean@example.org", full_name="Jean Diouf", time_zone="Europe/Paris")
    page = journey.open(timezone_id="Africa/Dakar")
    sign_in(page, live_server, "jean@example.org", check=journey.check)
    assert _zone(app, user) == "Europe/Paris", "a chosen zone is never replaced at sign-in"

    page.goto(live_server + "/account")
    journey.check(page)
    field = page.get_by_label("Time zone of the times shown to you and of your emails")
    expect(field).to_have_value("Europe/Paris")
    expect(page.get_by_text("This browser is set to Africa/Dakar.")).to_be_visible()
    page.get_by_role("button", name="Use it").click()
    expect(field).to_have_value("Africa/Dakar")
    page.get_by_role("button", name="Save").first.click()
    expect(page.get_by_text("Your profile has been saved.")).to_be_visible()
    journey.check(page)
    assert _zone(app, user) == "Africa/Dakar"


@pytest.mark.parametrize("screen", ["no-js"], indirect=True)
def test_without_javascript_the_default_zone_applies(app, live_server, make, journey):
    user = make.user("nojs@example.org")
    page = journey.open(timezone_id="Africa/Nairobi")
    sign_in(page, live_server, "nojs@example.org", check=journey.check)
    assert _zone(app, user) is None
    page.goto(live_server + "/account")
    journey.check(page)
    expect(page.get_by_label("Time zone of the times shown to you and of your emails")).to_have_value("")
    expect(page.get_by_text("Empty: UTC.", exact=False)).to_be_visible()
