"""The error summary in a real browser: the keyboard focus lands on it when the page opens (with and
without JavaScript), and each of its links takes the user to the field to correct."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from mel_app.models import Status
from tests.e2e.steps import sign_in
from tests.submissions_world import add_submission, build_world


def _focused_is_summary(page: Page) -> bool:
    return page.evaluate(
        "document.activeElement && document.activeElement.hasAttribute('data-error-summary')"
    )


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_returning_without_a_reason_puts_the_focus_on_the_error_summary(
    app, make, new_context, live_server, axe_check, javascript
):
    world = build_world(make)
    sub_id = add_submission(app, world, Status.submitted)
    page = new_context(java_script_enabled=javascript).new_page()
    sign_in(page, live_server, world.emails["specialist"])
    page.goto(f"{live_server}/submissions/{sub_id}")
    page.get_by_role("button", name="Return for revision").click()

    summary = page.get_by_role("alert").filter(has_text="There is a problem")
    expect(summary).to_be_visible()
    expect(summary).to_be_in_viewport()
    assert page.title().startswith("Error: ")
    if javascript:
        page.wait_for_function(
            "document.activeElement && document.activeElement.hasAttribute('data-error-summary')"
        )
        axe_check(page)  # without JavaScript axe cannot run; the HTML is the same
    assert _focused_is_summary(page), "the focus is on the summary (autofocus, or the script)"

    link = summary.get_by_role(
        "link", name="What needs to change — Say what needs to change before returning it."
    )
    link.click()
    field = page.locator("#return-comment")
    expect(field).to_be_in_viewport()
    if javascript:
        expect(field).to_be_focused()
    field.fill("Add the Kisumu figures.")
    page.get_by_role("button", name="Return for revision").click()
    expect(page.get_by_text("for revision.", exact=False).first).to_be_visible()
    expect(page.get_by_role("alert").filter(has_text="There is a problem")).to_have_count(0)


def test_the_report_form_summary_leads_to_an_indicator_cell(app, make, page, live_server, axe_check):
    world = build_world(make)
    sub_id = add_submission(app, world, Status.draft, complete=False)
    page.set_viewport_size({"width": 360, "height": 740})
    sign_in(page, live_server, world.emails["author"])
    page.goto(f"{live_server}/submissions/{sub_id}")
    cell = page.locator(f"#ind_{world.indicators['1.b']}-value")
    cell.fill("101")
    page.get_by_role("button", name="Save draft").click()

    summary = page.get_by_role("alert").filter(has_text="There is a problem")
    expect(summary).to_be_in_viewport()
    page.wait_for_function(
        "document.activeElement && document.activeElement.hasAttribute('data-error-summary')"
    )
    axe_check(page)
    summary.get_by_role("link", name="1.b: percentage — A percentage is between 0 and 100.").click()
    expect(cell).to_be_focused()
    expect(cell).to_have_value("101")
