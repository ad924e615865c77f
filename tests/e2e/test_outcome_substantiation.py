"""A browser journey: a specialist records an outcome statement and asks someone without an
account to substantiate it; the e-mail (read from the test SMTP server) is in the language chosen;
the person opens its link on a phone, in a browser that never signed in, and answers "partly" with
a comment; the specialist's page shows the answer; the link then says it was used. Every page is
checked (axe, layout, touch targets on the phone)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from mel_app.models import Role
from tests.e2e.conftest import SCREENS, Journey
from tests.e2e.steps import sign_in
from tests.smtp_server import body, link_in, mail_server_fixture  # noqa: F401 - the fixture

GRACE = "grace.wanjiru@example.org"


@pytest.fixture
def phone(new_context, validated_pages, request):
    """The substantiator's phone: a journey of its own, on the phone screen."""
    j = Journey(new_context, SCREENS["phone"], validated_pages, request.node.nodeid)
    yield j
    assert not j.unchecked(), f"pages the journey opened but never checked: {j.unchecked()}"


def test_a_statement_substantiated_from_the_emailed_link_on_a_phone(
    journey, phone, live_server, app, make, mail_server
):
    project = make.project("RAF/22/11/NOR", title="Decent work in textiles")
    spec = make.user("spec@example.org", full_name="Sara Specialist")
    make.member(spec, project, Role.specialist)

    # The specialist records the statement.
    page = journey.open()
    sign_in(page, live_server, "spec@example.org", check=journey.check)
    page.goto(f"{live_server}/projects/{project}/outcomes")
    journey.check(page)
    page.get_by_role("link", name="Record an outcome").click()
    journey.check(page)
    page.get_by_label("Who changed").fill("The Ministry of Labour of Kenya")
    page.get_by_label("How they changed").fill("Consults the unions before drafting labour regulations.")
    page.get_by_label("When it changed").fill("2026-03")
    page.get_by_label("Where").fill("Nairobi")
    page.get_by_role("button", name="Save").click()
    journey.check(page)
    expect(page.get_by_text("Outcome recorded.")).to_be_visible()
    statement_url = page.url

    # ... and asks Grace, in French, whether she agrees.
    section = page.locator("#substantiation")
    expect(section.get_by_text("Nobody has been asked yet.")).to_be_visible()
    section.get_by_label("Name of the person you ask").fill("Grace Wanjiru")
    section.get_by_label("Their e-mail address").fill(GRACE)
    section.get_by_label("Language of the e-mail and the page").select_option(label="Français")
    section.get_by_label("Your message to them (optional)").fill("Vous avez suivi les consultations.")
    section.get_by_role("button", name="Send the request").click()
    journey.check(page)
    expect(page.get_by_text(f"Grace Wanjiru has been asked by e-mail ({GRACE}).")).to_be_visible()
    expect(page.locator("#substantiation").get_by_text("Waiting for an answer")).to_be_visible()

    (email,) = mail_server.wait_for(GRACE)
    subject = "Êtes-vous d'accord avec cet effet constaté du projet RAF/22/11/NOR"
    assert str(email["Subject"]).startswith(subject)
    assert "Bonjour Grace Wanjiru" in body(email)
    link = link_in(email)

    # Grace, on her phone, never signed in anywhere.
    mobile = phone.open()
    mobile.goto(live_server + link)
    phone.check(mobile)
    expect(mobile.get_by_role("heading", name="Êtes-vous d'accord avec cet effet constaté ?")).to_be_visible()
    expect(mobile.get_by_text("The Ministry of Labour of Kenya")).to_be_visible()
    expect(mobile.get_by_text("mars 2026")).to_be_visible()
    expect(mobile.get_by_text("Decent work in textiles", exact=False)).to_be_visible()
    mobile.get_by_label("Je suis d'accord en partie").check()
    mobile.get_by_role("button", name="Envoyer ma réponse").click()
    phone.check(mobile)
    # A partial agreement needs a comment: the choice is kept, the box asks for it.
    expect(mobile.get_by_text("Dites ce qui n'est pas exact dans l'énoncé.").first).to_be_visible()
    expect(mobile.get_by_label("Je suis d'accord en partie")).to_be_checked()
    mobile.get_by_label("Votre commentaire").fill("Le ministère a consulté les syndicats une seule fois.")
    mobile.get_by_role("button", name="Envoyer ma réponse").click()
    phone.check(mobile)
    expect(mobile.get_by_role("heading", name="Merci")).to_be_visible()

    # The specialist's statement page shows the answer.
    page.goto(statement_url)
    journey.check(page)
    section = page.locator("#substantiation")
    expect(section.get_by_text("Agrees partly")).to_be_visible()
    expect(section.get_by_text("Le ministère a consulté les syndicats une seule fois.")).to_be_visible()
    expect(section.get_by_text("Answered on", exact=False)).to_be_visible()

    # The link has done its work: opening it again says so, and shows nothing of the statement.
    mobile.goto(live_server + link)
    phone.check(mobile)
    expect(mobile.get_by_text("Ce lien a déjà été utilisé", exact=False)).to_be_visible()
    expect(mobile.get_by_text("The Ministry of Labour of Kenya")).to_have_count(0)
