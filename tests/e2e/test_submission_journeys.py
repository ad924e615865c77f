"""Journeys 1 and 2 of DESIGN.md §1 in a real browser.

1. A union rep signs in, opens the progress report for the open period from "My tasks", fills
   the narrative and the indicator values (with women/men), attaches an evidence file, saves a
   draft and submits.
2. The specialist finds it awaiting review, comments, returns it; the rep revises and resubmits;
   the specialist sees what changed between the two versions and approves. Nobody can edit the
   approved report any more.
"""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.factories import PASSWORD
from tests.submissions_world import NARRATIVE, build_world, post, report_payload

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def _sign_in(page, base_url: str, email: str) -> None:
    page.goto(base_url + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="My tasks")).to_be_visible()


def test_report_filled_saved_submitted_returned_revised_and_approved(
    page, browser, live_server, make, axe_check
):
    world = build_world(make)

    # Journey 1: the union representative writes and submits the report.
    _sign_in(page, live_server, world.emails["author"])
    tasks = page.locator("section.tasks")
    expect(tasks.get_by_text("Reports due")).to_be_visible()
    axe_check(page)
    tasks.get_by_role("button", name="Start the report for 2026 H1").click()
    expect(page.get_by_role("heading", name=re.compile(r"Progress report 2026 H1"))).to_be_visible()

    labels = {
        "achievements": "Achievements",
        "challenges": "Challenges",
        "lessons_learned": "Lessons learned",
        "next_steps": "Next steps",
        "gender_equality": "Gender equality and non-discrimination",
        "social_dialogue": "Social dialogue",
    }
    for key, label in labels.items():
        page.get_by_label(label, exact=True).fill(NARRATIVE[key])
    page.get_by_label("1.a: value").fill("30")
    page.get_by_label("1.a: women").fill("18")
    page.get_by_label("1.a: men").fill("12")
    page.get_by_label("1.b: percentage").fill("25")
    page.get_by_label("1.c: yes or no").select_option(label="yes")
    page.get_by_label("1.d: answer").fill("Bargaining on maternity protection began in two sectors.")
    page.get_by_label("Add evidence files").set_input_files(
        files=[{"name": "membership-register.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text("Draft saved.")).to_be_visible()
    expect(page.get_by_role("link", name="membership-register.pdf")).to_be_visible()
    expect(page.get_by_label("1.a: women")).to_have_value("18")
    axe_check(page)

    page.get_by_role("button", name="Save and submit for review…").click()
    expect(page.get_by_role("heading", name="Submit for review")).to_be_visible()
    page.get_by_role("button", name="Submit for review").click()
    expect(page.get_by_text("Submitted for review.")).to_be_visible()
    expect(page.locator(".meta .badge")).to_have_text("awaiting review")
    report_url = page.url

    # Journey 2: the specialist reviews, comments and returns it.
    specialist_context = browser.new_context(bypass_csp=True)
    reviewer = specialist_context.new_page()
    _sign_in(reviewer, live_server, world.emails["specialist"])
    reviewer.get_by_role("link", name="Awaiting review").first.click()
    expect(reviewer.get_by_role("heading", name="Awaiting review")).to_be_visible()
    axe_check(reviewer)
    reviewer.get_by_role("link", name=re.compile(r"Progress report 2026 H1")).click()
    expect(reviewer.get_by_role("link", name="membership-register.pdf")).to_be_visible()
    with reviewer.expect_download() as download_info:
        reviewer.get_by_role("link", name="membership-register.pdf").click()
    assert download_info.value.suggested_filename == "membership-register.pdf"
    axe_check(reviewer)

    reviewer.get_by_label("Comment", exact=True).fill("Thank you — the register helps a lot.")
    reviewer.get_by_role("button", name="Add comment").click()
    expect(reviewer.get_by_text("Comment added.")).to_be_visible()
    reviewer.get_by_label("What needs to change").fill("Please add the Kisumu committee to the achievements.")
    reviewer.get_by_role("button", name="Return for revision").click()
    expect(reviewer.get_by_text(re.compile(r"Returned to .* for revision\."))).to_be_visible()

    # The representative revises and submits again.
    page.goto(live_server + "/")
    page.locator("section.tasks").get_by_role("link", name=re.compile(r"Progress report 2026 H1")).click()
    expect(page.get_by_text("Please add the Kisumu committee to the achievements.").first).to_be_visible()
    expect(page.get_by_text("Thank you — the register helps a lot.")).to_be_visible()
    page.get_by_label("Achievements", exact=True).fill(
        "Three new women's committees were formed, one in Kisumu."
    )
    page.get_by_label("1.a: value").fill("34")
    page.get_by_label("1.a: women").fill("22")
    page.get_by_label("1.a: men").fill("12")
    page.get_by_role("button", name="Save and submit for review…").click()
    page.get_by_role("button", name="Submit for review").click()
    expect(page.get_by_text("Submitted for review.")).to_be_visible()

    # The specialist sees what changed between the versions, and approves.
    reviewer.goto(report_url)
    changes = reviewer.locator("#changes")
    expect(changes.get_by_role("heading", name="What changed since version 1")).to_be_visible()
    expect(changes.locator("del", has_text="Two")).to_be_visible()
    expect(changes.locator("ins", has_text="Three")).to_be_visible()
    expect(changes.locator("ins", has_text="one in Kisumu")).to_be_visible()
    expect(changes.get_by_role("row", name=re.compile(r"1\.a — Women"))).to_contain_text("22")
    axe_check(reviewer)
    reviewer.get_by_role("button", name="Approve").click()
    expect(reviewer.get_by_text("Approved.")).to_be_visible()
    expect(reviewer.locator(".meta .badge")).to_have_text("approved")
    expect(reviewer.get_by_role("button", name="Approve")).to_have_count(0)

    # Approved: the representative can read it, nobody can edit it.
    page.goto(report_url)
    expect(page.locator(".meta .badge")).to_have_text("approved")
    expect(page.get_by_role("button", name="Save draft")).to_have_count(0)
    expect(page.get_by_label("Achievements", exact=True)).to_have_count(0)
    expect(
        page.locator("#content").get_by_text("Three new women's committees were formed, one in Kisumu.")
    ).to_be_visible()
    specialist_context.close()


def test_the_draft_saves_itself_while_the_page_is_open(page, live_server, make, app, login):
    world = build_world(make)
    app.config["AUTOSAVE_SECONDS"] = 1
    seen = []  # what the page did, to explain a failure
    page.on("console", lambda message: seen.append(f"console: {message.text}"))
    page.on("pageerror", lambda error: seen.append(f"error: {error}"))
    page.on("requestfinished", lambda request: seen.append(f"request: {request.method} {request.url}"))
    page.on("requestfailed", lambda request: seen.append(f"failed: {request.url} {request.failure}"))
    _sign_in(page, live_server, world.emails["author"])
    page.locator("section.tasks").get_by_role("button", name="Start the report for 2026 H1").click()
    page.get_by_label("Challenges", exact=True).fill("Typed, never saved by hand.")
    try:
        expect(page.locator("#autosave-status")).to_have_text("Draft saved automatically.", timeout=30_000)
    except AssertionError as exc:
        raise AssertionError("\n".join(seen)) from exc
    version = page.locator("#edit input[name=version]").input_value()
    assert version == "2", "the page carries the version its autosave produced"
    # A save by hand after an autosave is not a conflict with oneself.
    page.get_by_label("Next steps", exact=True).fill("Then saved by hand.")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text("Draft saved.")).to_be_visible()
    page.reload()
    expect(page.get_by_label("Challenges", exact=True)).to_have_value("Typed, never saved by hand.")
    expect(page.get_by_label("Next steps", exact=True)).to_have_value("Then saved by hand.")

    # A colleague saves meanwhile: the next automatic save is refused, never overwrites theirs.
    colleague = app.test_client()
    login(world.emails["colleague"], on=colleague)
    sub_url = page.url.removeprefix(live_server)
    # The colleague saves on top of what is stored now (an autosave may have just run).
    from mel_app.extensions import db
    from mel_app.models import Submission

    with app.app_context():
        stored = db.session.get(Submission, int(sub_url.rstrip("/").split("/")[-1])).version
        db.session.remove()
    data = report_payload(world, stored, challenges="The colleague's version.")
    assert post(colleague, sub_url + "/save", data).status_code == 302
    page.get_by_label("Challenges", exact=True).fill("My later version.")
    expect(page.locator("#autosave-status")).to_contain_text("Saved by Joseph Otieno", timeout=30_000)
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("heading", name="Someone else saved first")).to_be_visible()
    conflict = page.locator("section.conflict")
    expect(conflict).to_contain_text("The colleague's version.")
    expect(conflict).to_contain_text("My later version.")
    expect(page.get_by_label("Challenges", exact=True)).to_have_value("My later version.")


def test_design_input_and_the_ilo_responses_in_the_browser(page, browser, live_server, make, app, axe_check):
    from mel_app.extensions import db
    from mel_app.models import Phase, Project

    world = build_world(make)
    with app.app_context():
        db.session.get(Project, world.project).phase = Phase.design
        db.session.commit()
    _sign_in(page, live_server, world.emails["author"])
    page.goto(live_server + "/")
    # Project pages offer the button; here the form is posted the same way.
    page.evaluate(
        """([url, token]) => {
             const f = document.createElement('form'); f.method = 'post'; f.action = url;
             const i = document.createElement('input'); i.type = 'hidden'; i.name = 'csrf_token';
             i.value = token; f.appendChild(i); document.body.appendChild(f); f.submit(); }""",
        [
            f"/projects/{world.project}/design-input",
            page.locator("input[name=csrf_token]").first.input_value(),
        ],
    )
    expect(page.get_by_role("heading", name=re.compile("Design input"))).to_be_visible()
    first = page.locator("fieldset.design-item").first
    first.get_by_label("Kind").select_option(label="Need or priority")
    first.get_by_label("Your input").fill("Training for women organisers in the informal economy.")
    first.get_by_label("Relates to (optional)").select_option(label="1 Unions organise more women")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text("Draft saved.")).to_be_visible()
    axe_check(page)
    page.get_by_role("button", name="Save and submit for review…").click()
    page.get_by_role("button", name="Submit for review").click()
    expect(page.get_by_text("Submitted for review.")).to_be_visible()

    context = browser.new_context(bypass_csp=True)
    reviewer = context.new_page()
    _sign_in(reviewer, live_server, world.emails["specialist"])
    reviewer.goto(page.url)
    reviewer.get_by_label("ILO response", exact=True).select_option(label="Partly incorporated")
    reviewer.get_by_label("Reason").fill("Kept as output 1.1, for the formal economy first.")
    axe_check(reviewer)
    reviewer.get_by_role("button", name="Save responses").click()
    expect(reviewer.get_by_text("Responses saved.")).to_be_visible()
    reviewer.get_by_role("button", name="Approve").click()
    expect(reviewer.get_by_text("Approved.")).to_be_visible()
    context.close()

    page.reload()
    expect(page.get_by_text("Partly incorporated")).to_be_visible()
    expect(page.get_by_text("Kept as output 1.1, for the formal economy first.")).to_be_visible()
