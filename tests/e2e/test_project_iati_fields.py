"""The IATI part of the project form and the ILO's terms in a real browser: accessible, usable on a
phone, saved, kept when the form comes back with an error."""

from __future__ import annotations

from playwright.sync_api import expect

from mel_app.exports.iati_codes import SECTORS
from mel_app.extensions import db
from mel_app.models import Project, Role
from tests.e2e.steps import sign_in


def test_a_specialist_gives_sectors_country_shares_and_ilo_outcomes(app, page, live_server, make, axe_check):
    specialist = make.user("specialist@example.org", full_name="Carlos Mendoza")
    project = make.project("RAF/22/11/NOR", title="Promoting Workers Rights", countries=("GH", "KE"))
    make.member(specialist, project, Role.specialist)

    page.set_viewport_size({"width": 360, "height": 740})
    sign_in(page, live_server, "specialist@example.org")
    page.goto(f"{live_server}/projects/{project}/edit")
    axe_check(page)
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")

    page.get_by_label("Labour rights", exact=True).fill("60")
    page.get_by_label("Social dialogue", exact=True).fill("30")
    page.get_by_label("Kenya", exact=True).fill("70")
    page.get_by_label("Ghana", exact=True).fill("30")
    page.get_by_label("Decent Work Country Programme outcomes").fill("ken101, gha 102")
    page.get_by_role("checkbox", name="8.8 Labour rights").check()
    page.get_by_role("checkbox", name="Strong tripartite constituents").check()
    page.get_by_role("button", name="Save").click()
    message = "The shares of the sectors add up to 90%; they must make 100%."
    expect(page.locator("#sectors-error")).to_have_text(message)
    page.get_by_role("alert").get_by_role("link", name=message).click()  # the summary leads to the shares
    expect(page.locator(f"#sector_{next(iter(SECTORS))}")).to_be_focused()  # the first row of the shares
    expect(page.get_by_label("Kenya", exact=True)).to_have_value("70")  # what was typed is kept
    expect(page.get_by_label("Decent Work Country Programme outcomes")).to_have_value("ken101, gha 102")
    expect(page.get_by_role("checkbox", name="8.8 Labour rights")).to_be_checked()
    axe_check(page)

    page.get_by_label("Social dialogue", exact=True).fill("40")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Project saved.")).to_be_visible()
    with app.app_context():
        saved = db.session.get(Project, project)
        assert {s.code: int(s.percentage) for s in saved.sectors} == {"16070": 60, "16080": 40}
        assert {c.country: int(c.percentage) for c in saved.countries} == {"GH": 30, "KE": 70}
        assert {(t.scheme.value, t.code) for t in saved.tags} == {
            ("dwcp", "GHA 102"),
            ("dwcp", "KEN 101"),
            ("pb", "1"),
            ("sdg", "8.8"),
        }
    # The project page names them, on a phone too.
    page.goto(f"{live_server}/projects/{project}")
    tags = page.locator("ul.ilo-tags")
    expect(tags).to_contain_text("KEN 101")
    expect(tags).to_contain_text("8.8")
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
