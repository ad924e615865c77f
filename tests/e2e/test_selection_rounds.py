"""A selection round of change stories in the browser: the specialist opens a project round with
workers', employers' and ILO members; each member signs in on their own (the employers'
representative on a phone) and proposes a story with a reason; the specialist records the
discussion, the choice and its reasons and closes the round; the chosen story has gone up a level:
an administrator opens the regional round for Africa and it is among the stories read."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests import rounds_world
from tests.e2e.conftest import SCREENS, Journey
from tests.e2e.steps import main_nav, sign_in

MOMBASA = "Domestic workers in Mombasa formed their first union branch"
RIDERS = "Platform riders in Nairobi joined the transport workers' union"


def _open_the_round(page: Page, check) -> None:
    page.get_by_role("navigation", name="Project").get_by_role("link", name="Selection rounds").click()
    check(page)
    page.get_by_role("link", name="Open a selection round").click()
    expect(page.get_by_role("heading", name="Open a selection round")).to_be_visible()
    check(page)
    page.get_by_label("Title").fill("Organising — first half-year")
    page.get_by_label("Domain of change").select_option(label="Organising")
    page.get_by_label("Reporting period").select_option(label="2026 H1")
    for name in ("Amina Otieno", "Peter Kariuki", "Sofia Specialist"):
        page.get_by_label(re.compile(name)).check()
    page.get_by_role("button", name="Open the round").click()
    expect(page.get_by_text("Round opened.")).to_be_visible()
    check(page)


def _propose(page: Page, check, title: str, reason: str) -> None:
    page.get_by_role("group", name="The most significant change").get_by_label(title).check()
    page.get_by_label("Why it is the most significant").fill(reason)
    page.get_by_role("button", name="Propose this story").click()
    expect(page.get_by_text("Your proposal is recorded.")).to_be_visible()
    check(page)
    expect(page.get_by_role("cell", name=reason)).to_be_visible()


def _member_proposes(page: Page, base: str, email: str, check, title: str, reason: str) -> None:
    sign_in(page, base, email, check=check)
    main_nav(page).get_by_role("link", name="Selection rounds").click()
    expect(page.get_by_role("heading", name="Selection rounds")).to_be_visible()
    check(page)
    page.get_by_role("link", name="Organising — first half-year").click()
    expect(page.get_by_role("heading", name="The stories read (3)")).to_be_visible()
    check(page)
    _propose(page, check, title, reason)


def test_members_of_every_constituency_choose_and_the_story_goes_up(
    journey, new_context, validated_pages, request, live_server, app, make
):
    w = rounds_world.build(app, make)
    check = journey.check

    # The specialist opens the round from the project's page.
    specialist = journey.open()
    sign_in(specialist, live_server, "spec@example.org", check=check)
    specialist.goto(f"{live_server}/projects/{w.project}")
    check(specialist)
    _open_the_round(specialist, check)
    expect(specialist.get_by_role("heading", name=MOMBASA)).to_be_visible()

    # The union's representative, at a desk.
    worker = journey.open()
    _member_proposes(
        worker,
        live_server,
        "worker@example.org",
        check,
        MOMBASA,
        "Domestic workers had no union branch before.",
    )

    # The employers' representative, on a phone.
    phone = Journey(new_context, SCREENS["phone"], validated_pages, request.node.nodeid)
    employer = phone.open()
    _member_proposes(
        employer,
        live_server,
        "employer@example.org",
        phone.check,
        RIDERS,
        "Platform work grows fastest: organising it shows the way.",
    )
    assert not phone.unchecked()

    # The specialist proposes as the ILO's member, then records the discussion and the choice.
    specialist.reload()
    check(specialist)
    _propose(specialist, check, MOMBASA, "A first branch of domestic workers can be repeated.")
    specialist.get_by_label("The discussion").fill("We read the three stories aloud and compared them.")
    specialist.get_by_role("group", name="The story chosen").get_by_label(MOMBASA).check()
    specialist.get_by_label("The reasons for the choice").fill(
        "It reaches women workers no union reached before."
    )
    specialist.get_by_role("button", name="Close the round with this choice").click()
    expect(specialist.get_by_text("The round is closed with its choice.")).to_be_visible()
    check(specialist)
    expect(specialist.get_by_text("It goes up: it will be read in a regional round.")).to_be_visible()
    expect(specialist.get_by_role("button", name="Propose this story")).to_have_count(0)

    # An administrator opens the regional round for Africa: the chosen story is read there.
    admin = journey.open()
    sign_in(admin, live_server, "admin@example.org", check=check)
    main_nav(admin).get_by_role("link", name="Selection rounds").click()
    check(admin)
    admin.get_by_role("link", name="Open a regional round").click()
    expect(admin.get_by_role("heading", name="Open a selection round")).to_be_visible()
    check(admin)
    admin.get_by_label("Title").fill("Africa — stories of organising")
    admin.get_by_label("Region (for a regional round)").select_option(label="Africa")
    for name in ("Amina Otieno", "Peter Kariuki", "Ada Admin"):
        admin.get_by_label(re.compile(name)).check()
    admin.get_by_role("button", name="Open the round").click()
    expect(admin.get_by_text("Round opened.")).to_be_visible()
    check(admin)
    expect(admin.get_by_role("heading", name="The stories read (1)")).to_be_visible()
    expect(admin.get_by_role("heading", name=MOMBASA)).to_be_visible()
