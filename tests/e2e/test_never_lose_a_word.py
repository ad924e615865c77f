"""A union representative on a weak connection never loses a word typed in the report form.

The session is made to time out by moving its last activity back beyond SESSION_IDLE_TIMEOUT in
the database, as if the representative had been away for half an hour.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from mel_app.extensions import db
from mel_app.models import Comment, Submission, UserSession, utcnow
from tests.e2e.steps import main_nav, sign_in
from tests.factories import PASSWORD
from tests.submissions_world import add_submission, build_world

TYPED = "The Kisumu committee met twice; forty members came, eighteen of them women."
STORED = re.compile(r"^mel-draft:")


@pytest.fixture
def world(make):
    return build_world(make)


def _open_report(page: Page, base: str, world, sub_id: int) -> None:
    sign_in(page, base, world.emails["author"])
    page.goto(f"{base}/submissions/{sub_id}")
    expect(page.get_by_role("heading", name=re.compile(r"Progress report"))).to_be_visible()


def _achievements(page: Page):
    return page.get_by_label("Achievements", exact=True)


def _saved(app, sub_id: int) -> Submission:
    with app.app_context():
        sub = db.session.get(Submission, sub_id)
        db.session.expunge(sub)
        return sub


def _time_out(app, world) -> None:
    with app.app_context():
        past = utcnow() - app.config["SESSION_IDLE_TIMEOUT"] - timedelta(minutes=1)
        db.session.execute(
            sa.update(UserSession)
            .where(UserSession.user_id == world.users["author"])
            .values(last_seen_at=past)
        )
        db.session.commit()


def _copies(page: Page) -> list[str]:
    return page.evaluate("() => Object.keys(localStorage).filter(k => k.startsWith('mel-draft:'))")


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_text_sent_after_the_session_expired_is_back_after_signing_in(
    new_context, live_server, app, world, javascript
):
    sub_id = add_submission(app, world)
    page = new_context(java_script_enabled=javascript).new_page()
    _open_report(page, live_server, world, sub_id)
    _achievements(page).fill(TYPED)
    _time_out(app, world)
    page.get_by_role("button", name="Save draft").click()

    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_text("Your text has been kept")).to_be_visible()
    page.get_by_label("Email").fill(world.emails["author"])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_text("Your text is back in the form")).to_be_visible()
    expect(_achievements(page)).to_have_value(TYPED)
    assert _saved(app, sub_id).narrative["achievements"] != TYPED, (
        "restored, not saved behind the user's back"
    )
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text("Draft saved.")).to_be_visible()
    assert _saved(app, sub_id).narrative["achievements"] == TYPED


def test_text_of_a_closed_tab_is_offered_back_from_the_device(
    new_context, live_server, app, world, axe_check
):
    sub_id = add_submission(app, world)
    context = new_context()
    page = context.new_page()
    _open_report(page, live_server, world, sub_id)
    _achievements(page).fill(TYPED)
    page.wait_for_function("() => Object.keys(localStorage).some(k => k.startsWith('mel-draft:'))")
    # The connection drops and the tab is closed (or the browser crashes): the automatic save
    # made when a page is hidden cannot reach the server.
    context.set_offline(True)
    page.close()
    context.set_offline(False)
    assert _saved(app, sub_id).narrative["achievements"] != TYPED

    page = context.new_page()
    page.goto(f"{live_server}/submissions/{sub_id}")
    banner = page.get_by_role("region", name="Unsaved text on this device")
    expect(banner).to_be_visible()
    expect(_achievements(page)).not_to_have_value(TYPED)
    axe_check(page)
    banner.get_by_role("button", name="Restore my unsaved text").click()
    expect(_achievements(page)).to_have_value(TYPED)
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text("Draft saved.")).to_be_visible()
    assert _saved(app, sub_id).narrative["achievements"] == TYPED
    expect(page.get_by_role("region", name="Unsaved text on this device")).to_have_count(0)
    assert _copies(page) == [], "the copy is gone once the server has the text"

    # Signing out leaves no copy behind for the next person using this browser.
    _achievements(page).fill("Not for the next person.")
    page.wait_for_function("() => Object.keys(localStorage).some(k => k.startsWith('mel-draft:'))")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You have signed out.")).to_be_visible()
    assert _copies(page) == []


def test_typing_without_a_connection_then_saving_when_it_returns(new_context, live_server, app, world):
    sub_id = add_submission(app, world)
    context = new_context()
    page = context.new_page()
    _open_report(page, live_server, world, sub_id)
    context.set_offline(True)
    _achievements(page).fill(TYPED)
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text("You are offline; your text is kept on this device")).to_be_visible()
    expect(_achievements(page)).to_have_value(TYPED)
    assert _copies(page), "kept on the device"
    context.set_offline(False)
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text("Draft saved.")).to_be_visible()
    assert _saved(app, sub_id).narrative["achievements"] == TYPED


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_adding_a_comment_keeps_the_changes_to_the_form(new_context, live_server, app, world, javascript):
    sub_id = add_submission(app, world)
    page = new_context(java_script_enabled=javascript).new_page()
    _open_report(page, live_server, world, sub_id)
    _achievements(page).fill(TYPED)
    page.get_by_label("Comment", exact=True).fill("Should the Kisumu figures go under indicator 1.a?")
    page.get_by_role("button", name="Add comment").click()
    expect(page.get_by_text("Comment added.")).to_be_visible()
    expect(page.get_by_text("Your changes to the form were saved too.")).to_be_visible()
    expect(_achievements(page)).to_have_value(TYPED)
    assert _saved(app, sub_id).narrative["achievements"] == TYPED
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Comment)) == 1


@pytest.mark.parametrize("choice", ["saved", "mine"])
def test_saving_from_a_second_tab_never_undoes_the_first_tabs_change(
    new_context, live_server, app, world, axe_check, choice
):
    sub_id = add_submission(app, world)
    context = new_context()
    tab1 = context.new_page()
    _open_report(tab1, live_server, world, sub_id)
    tab2 = context.new_page()
    tab2.goto(f"{live_server}/submissions/{sub_id}")

    _achievements(tab1).fill("From the first tab.")
    tab1.get_by_role("button", name="Save draft").click()
    expect(tab1.get_by_text("Draft saved.")).to_be_visible()

    _achievements(tab2).fill("From the second tab.")
    tab2.get_by_label("Challenges", exact=True).fill("Only the second tab changed this.")
    tab2.get_by_role("button", name="Save draft").click()
    conflict = tab2.get_by_role("region", name="Someone else saved first")
    expect(conflict).to_be_visible()
    axe_check(tab2)
    # Both versions of the field both changed; the other tab's is in the form unless chosen otherwise.
    expect(conflict.get_by_text("From the first tab.")).to_be_visible()
    expect(conflict.get_by_text("From the second tab.")).to_be_visible()
    expect(_achievements(tab2)).to_have_value("From the first tab.")
    expect(tab2.get_by_label("Challenges", exact=True)).to_have_value("Only the second tab changed this.")
    if choice == "mine":
        conflict.get_by_label("Use my version").check()
        expect(_achievements(tab2)).to_have_value("From the second tab.")
    tab2.get_by_role("button", name="Save draft").click()
    expect(tab2.get_by_text("Draft saved.")).to_be_visible()

    saved = _saved(app, sub_id).narrative
    expected = "From the first tab." if choice == "saved" else "From the second tab."
    assert saved["achievements"] == expected
    assert saved["challenges"] == "Only the second tab changed this."


def test_leaving_the_page_with_unsaved_changes_asks_first(new_context, live_server, app, world):
    sub_id = add_submission(app, world)
    page = new_context().new_page()
    _open_report(page, live_server, world, sub_id)
    dialogs: list[str] = []

    def stay(dialog):
        dialogs.append(dialog.type)
        dialog.dismiss()

    page.on("dialog", stay)
    # Leaving without a change asks nothing.
    main_nav(page).get_by_role("link", name="My tasks").click()
    expect(page.get_by_role("heading", name="My tasks")).to_be_visible()
    assert dialogs == []
    page.goto(f"{live_server}/submissions/{sub_id}")
    _achievements(page).click()
    page.keyboard.type(" More words.")
    main_nav(page).get_by_role("link", name="My tasks").click()
    page.wait_for_timeout(500)
    assert dialogs == ["beforeunload"]
    expect(_achievements(page)).to_have_value(re.compile(r"More words\.$"))
    # Sending the form itself does not ask.
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text("Draft saved.")).to_be_visible()
    assert dialogs == ["beforeunload"]


def test_a_counter_shows_the_limit_and_a_longer_text_is_refused_but_kept(
    new_context, live_server, app, world
):
    sub_id = add_submission(app, world)
    page = new_context().new_page()
    _open_report(page, live_server, world, sub_id)
    _achievements(page).fill("x" * 1234)
    expect(page.get_by_text("1,234 / 20,000 characters")).to_be_visible()
    pasted = "y" * 20_050
    _achievements(page).fill(pasted)
    expect(page.get_by_text("20,050 / 20,000 characters 50 too many")).to_be_visible()
    page.get_by_role("button", name="Save draft").click()
    refusal = "This text has 20050 characters; at most 20000 fit here."
    # Said twice: in the error summary at the top, as a link to the field, and beside the field.
    expect(page.get_by_role("alert").get_by_role("link", name=refusal)).to_be_visible()
    expect(page.get_by_text(refusal)).to_have_count(2)
    expect(_achievements(page)).to_have_value(pasted)
    assert _saved(app, sub_id).narrative["achievements"] != pasted
