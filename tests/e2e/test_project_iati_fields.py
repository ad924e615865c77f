"""The IATI part of the project form in a real browser: accessible, usable on a phone, saved."""

from __future__ import annotations

from playwright.sync_api import expect

from mel_app.exports.iati_codes import SECTORS
from mel_app.extensions import db
from mel_app.models import Project, Role
from tests.e2e.steps import sign_in


def test_a_specialist_gives_sectors_and_country_shares(app, page, live_server, make, axe_check):
    specialist = make.user("specialist@example.org", full_name="Carlos Mendoza")
    project = make.project("RAF/22/11/NOR", title="Promoting Workers Rights", countries=("GH", "KE"))
    make.member(specialist, project, Role.specialist)

    page.set_viewport_size({"width": 360, "height": 740})
    sign_in(page, live_server, "specialist@example.org")
    page.goto(f"{live_server}/projects/{project}/edit")
    axe_check(page)
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")

    page.get_by_label("Labour rights").fill("60")
    page.get_by_label("Social dialogue").fill("30")
    page.get_by_label("Kenya").fill("70")
    page.get_by_label("Ghana").fill("30")
    page.get_by_role("button", name="Save").click()
    message = "The shares of the sectors add up to 90%; they must make 100%."
    expect(page.locator("#sectors-error")).to_have_text(message)
    page.get_by_role("alert").get_by_role("link", name=message).click()  # the summary leads to the shares
    expect(page.locator(f"#sector_{next(iter(SECTORS))}")).to_be_focused()  # the first row of the shares
    expect(page.get_by_label("Kenya")).to_have_value("70")  # what was typed is kept
    axe_check(page)

    page.get_by_label("Social dialogue").fill("40")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Project saved.")).to_be_visible()
    with app.app_context():
        saved = db.session.get(Project, project)
        assert {s.code: int(s.percentage) for s in saved.sectors} == {"16070": 60, "16080": 40}
        assert {c.country: int(c.percentage) for c in saved.countries} == {"GH": 30, "KE": 70}
