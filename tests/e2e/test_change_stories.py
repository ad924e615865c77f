"""Telling a story of change on a phone: the union representative of the demo opens the Stories tab
of RAF/22/11/NOR, tells a story with a photo and her consent, and finds it on the tab and on its
page; a story that names people without their consent is refused, with every word she typed kept."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa
from PIL import Image
from playwright.sync_api import expect

from mel_app.demo import DEMO_PASSWORD
from mel_app.extensions import db
from mel_app.models import ChangeStory, Project
from tests.e2e.steps import sign_in

TITLE = "Market vendors in Kisumu elected their first women shop stewards"
WHAT = "After three evening meetings, the vendors of the Kibuye market elected four women as stewards."
WHY = "Women vendors now take their complaints about market fees to the county with the union."


def _photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 120, 40)).save(out, format="JPEG")
    return out.getvalue()


@pytest.mark.parametrize("screen", ["phone"], indirect=True)
def test_a_union_representative_tells_a_story_on_her_phone(app, demo, journey, live_server):
    with app.app_context():
        project_id = db.session.scalar(sa.select(Project.id).where(Project.reference == "RAF/22/11/NOR"))
    page = journey.open()
    sign_in(page, live_server, "union@example.org", check=journey.check, password=DEMO_PASSWORD)
    page.goto(f"{live_server}/projects/{project_id}")
    journey.check(page)
    page.get_by_role("navigation", name="Project").get_by_role("link", name="Stories").click()
    expect(page.get_by_role("heading", name="Stories of change")).to_be_visible()
    # The demo's stories: hers, told without consent to share it, too (she is a member).
    expect(
        page.get_by_role("link", name="Night-shift workers won their grievance at the flower farm")
    ).to_be_visible()
    journey.check(page)

    page.get_by_role("link", name="Tell a story").click()
    expect(page.get_by_role("heading", name="Tell a story of change")).to_be_visible()
    journey.check(page)
    page.get_by_label("Title", exact=True).fill(TITLE)
    page.get_by_label("What happened", exact=True).fill(WHAT)
    page.get_by_label("Who was involved", exact=True).fill("Women vendors of the Kibuye market, Rose Atieno.")
    page.get_by_label("Why this change matters to you", exact=True).fill(WHY)
    page.get_by_label("Domain of change", exact=True).select_option(label="Gender equality")
    page.get_by_label("Evidence file (optional)").set_input_files(
        {"name": "election.jpg", "mimeType": "image/jpeg", "buffer": _photo()}
    )
    page.get_by_label("The story names people", exact=True).check()
    page.get_by_label("I agree that this story may be read outside the project").check()
    page.get_by_role("button", name="Save the story").click()

    # Refused: she named Rose Atieno without saying Rose agreed; nothing she typed is lost.
    message = "The story names people who have not agreed to be named."
    expect(page.get_by_role("alert")).to_contain_text(message)
    expect(page.locator("#people_consent-error")).to_contain_text(message)
    expect(page.get_by_label("Title", exact=True)).to_have_value(TITLE)
    expect(page.get_by_label("What happened", exact=True)).to_have_value(WHAT)
    expect(page.get_by_label("Why this change matters to you", exact=True)).to_have_value(WHY)
    expect(page.get_by_label("The story names people", exact=True)).to_be_checked()
    journey.check(page)
    with app.app_context():
        assert db.session.scalar(sa.select(ChangeStory.id).where(ChangeStory.title == TITLE)) is None

    # Rose agreed: she says so, attaches the photo again (a browser never keeps a file) and saves.
    page.get_by_label("The people named agreed to be named").check()
    page.get_by_label("Evidence file (optional)").set_input_files(
        {"name": "election.jpg", "mimeType": "image/jpeg", "buffer": _photo()}
    )
    page.get_by_role("button", name="Save the story").click()
    expect(page.get_by_text("Story saved.")).to_be_visible()
    expect(page.get_by_role("heading", name=TITLE)).to_be_visible()
    expect(page.get_by_role("link", name="election.jpg")).to_be_visible()
    expect(
        page.get_by_text("Yes: the storyteller agreed that it may be read outside the project.")
    ).to_be_visible()
    journey.check(page)

    page.get_by_role("link", name="All stories").click()
    row = page.locator("tr", has=page.get_by_role("link", name=TITLE))
    expect(row).to_contain_text("Gender equality")
    expect(row).to_contain_text("Workers")
    journey.check(page)
    with app.app_context():
        story = db.session.scalar(sa.select(ChangeStory).where(ChangeStory.title == TITLE))
        assert story.names_people and story.people_consent and story.share_consent
        assert story.evidence.media_type == "image/jpeg"
        assert story.told_by.email == "union@example.org"
