"""Journeys 1 and 2 of DESIGN.md §1 in a real browser, on a desktop, on a phone and without JavaScript.

1. A union rep signs in, opens their project, starts the progress report for the open period
   from "My tasks", fills the narrative and the indicator values (with women/men), attaches an
   evidence file, saves a draft and submits.
2. The specialist finds it awaiting review, comments, returns it; the rep revises and resubmits;
   the specialist sees what changed between the two versions and approves. Nobody can edit the
   approved report any more.

Every page of the journeys is checked as it loads (axe, no sideways scrolling, touch targets on
the phone: see `Journey` in conftest.py).
"""

from __future__ import annotations

import contextlib
import re

import pytest
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.e2e.steps import main_nav, sign_in
from tests.submissions_world import NARRATIVE, build_world, post, report_payload

# The world's project has a random RAF/ reference; a regex's "/" must be escaped for Playwright.
PROJECT_REFERENCE = re.compile(r"^RAF\/")
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
NARRATIVE_LABELS = {
    "achievements": "Achievements",
    "challenges": "Challenges",
    "lessons_learned": "Lessons learned",
    "next_steps": "Next steps",
    "gender_equality": "Gender equality and non-discrimination",
    "social_dialogue": "Social dialogue",
}
YES_CHOSEN = """- 'combobox "1.c: yes or no"':
  - option "yes" [selected]"""
INDICATOR_ANSWERS = {  # accessible name of the field -> what the rep types
    "1.a: value": "30",
    "1.a: women": "18",
    "1.a: men": "12",
    "1.b: percentage": "25",
    "1.d: answer": "Bargaining on maternity protection began in two sectors.",
}


def tasks(page: Page):
    """The reports part of "My tasks"."""
    return page.get_by_role("region", name="Reports and design input")


def status(page: Page, text: str):
    """The status badge of the submission page, by its text (not a term of the same name)."""
    return page.get_by_role("main").locator("span.badge").get_by_text(text, exact=True)


def write_and_submit_the_report(page: Page, base: str, world, check) -> str:
    """Journey 1; returns the report's address."""
    sign_in(page, base, world.emails["author"], check=check)
    expect(tasks(page).get_by_role("heading", name="Reports due")).to_be_visible()

    # The rep opens their project and sees the period not yet reported.
    main_nav(page).get_by_role("link", name="Projects").click()
    expect(page.get_by_role("heading", name="Projects")).to_be_visible()
    check(page)
    page.get_by_role("link", name=PROJECT_REFERENCE).click()
    expect(page.get_by_role("heading", name="Workers' rights in Africa")).to_be_visible()
    check(page)
    main_nav(page).get_by_role("link", name="My tasks").click()
    check(page)

    tasks(page).get_by_role("button", name="Start the report for 2026 H1").click()
    expect(page.get_by_role("heading", name=re.compile(r"Progress report 2026 H1"))).to_be_visible()
    check(page)
    for key, label in NARRATIVE_LABELS.items():
        page.get_by_label(label, exact=True).fill(NARRATIVE[key])
    for label, answer in INDICATOR_ANSWERS.items():
        page.get_by_label(label).fill(answer)
    page.get_by_label("1.c: yes or no").select_option(label="yes")
    page.get_by_label("Add evidence files").set_input_files(
        files=[{"name": "membership-register.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text("Draft saved.")).to_be_visible()
    check(page)
    expect(page.get_by_role("link", name="membership-register.pdf")).to_be_visible()
    expect(page.get_by_label("1.a: women")).to_have_value("18")
    expect(page.get_by_label("1.c: yes or no")).to_match_aria_snapshot(YES_CHOSEN)

    page.get_by_role("button", name="Save and submit for review…").click()
    expect(page.get_by_role("heading", name="Submit for review")).to_be_visible()
    check(page)
    page.get_by_role("button", name="Submit for review").click()
    expect(page.get_by_text("Submitted for review.")).to_be_visible()
    check(page)
    expect(status(page, "Awaiting review")).to_be_visible()
    expect(page.get_by_role("button", name="Save draft")).to_have_count(0)
    return page.url


def review_return_revise_and_approve(page: Page, reviewer: Page, base: str, world, report_url: str, check):
    """Journey 2, from the specialist's review to the approved report nobody can change."""
    sign_in(reviewer, base, world.emails["specialist"], check=check)
    main_nav(reviewer).get_by_role("link", name="Awaiting review").click()
    expect(reviewer.get_by_role("heading", name="Awaiting review")).to_be_visible()
    check(reviewer)
    reviewer.get_by_role("link", name=re.compile(r"Progress report 2026 H1")).click()
    expect(reviewer.get_by_role("link", name="membership-register.pdf")).to_be_visible()
    check(reviewer)
    with reviewer.expect_download() as download_info:
        reviewer.get_by_role("link", name="membership-register.pdf").click()
    assert download_info.value.suggested_filename == "membership-register.pdf"

    reviewer.get_by_label("Comment", exact=True).fill("Thank you — the register helps a lot.")
    reviewer.get_by_role("button", name="Add comment").click()
    expect(reviewer.get_by_text("Comment added.")).to_be_visible()
    check(reviewer)
    reviewer.get_by_label("What needs to change").fill("Please add the Kisumu committee to the achievements.")
    reviewer.get_by_role("button", name="Return for revision").click()
    expect(reviewer.get_by_text(re.compile(r"Returned to .* for revision\."))).to_be_visible()
    check(reviewer)

    # The representative revises and submits again.
    main_nav(page).get_by_role("link", name="My tasks").click()
    check(page)
    tasks(page).get_by_role("link", name=re.compile(r"Progress report 2026 H1")).click()
    expect(page.get_by_text("Please add the Kisumu committee to the achievements.").first).to_be_visible()
    expect(page.get_by_text("Thank you — the register helps a lot.")).to_be_visible()
    check(page)
    page.get_by_label("Achievements", exact=True).fill(
        "Three new women's committees were formed, one in Kisumu."
    )
    page.get_by_label("1.a: value").fill("34")
    page.get_by_label("1.a: women").fill("22")
    page.get_by_label("1.a: men").fill("12")
    page.get_by_role("button", name="Save and submit for review…").click()
    expect(page.get_by_role("heading", name="Submit for review")).to_be_visible()
    check(page)
    page.get_by_role("button", name="Submit for review").click()
    expect(page.get_by_text("Submitted for review.")).to_be_visible()
    check(page)

    # The specialist sees what changed between the versions, and approves.
    reviewer.goto(report_url)
    changes = reviewer.get_by_role("region", name="What changed since version 1")
    expect(changes).to_be_visible()
    check(reviewer)
    expect(changes.get_by_role("deletion").filter(has_text="Two")).to_be_visible()
    expect(changes.get_by_role("insertion").filter(has_text="Three")).to_be_visible()
    expect(changes.get_by_role("insertion").filter(has_text="one in Kisumu")).to_be_visible()
    expect(changes.get_by_role("row", name=re.compile(r"1\.a — Women"))).to_contain_text("22")
    reviewer.get_by_role("button", name="Approve").click()
    expect(reviewer.get_by_text("Approved.")).to_be_visible()
    check(reviewer)
    expect(status(reviewer, "Approved")).to_be_visible()
    expect(reviewer.get_by_role("button", name="Approve")).to_have_count(0)

    # Approved: the representative can read it, nobody can edit it.
    page.goto(report_url)
    check(page)
    expect(status(page, "Approved")).to_be_visible()
    expect(page.get_by_role("button", name="Save draft")).to_have_count(0)
    expect(page.get_by_label("Achievements", exact=True)).to_have_count(0)
    # Exactly the stored text (the diff shows it in pieces).
    expect(
        page.get_by_text("Three new women's committees were formed, one in Kisumu.", exact=True)
    ).to_be_visible()


@pytest.mark.parametrize("screen", ["desktop", "phone", "no-js"], indirect=True)
def test_report_filled_saved_submitted_returned_revised_and_approved(journey, live_server, make):
    world = build_world(make)
    rep, reviewer = journey.open(), journey.open()
    report_url = write_and_submit_the_report(rep, live_server, world, journey.check)
    review_return_revise_and_approve(rep, reviewer, live_server, world, report_url, journey.check)


def test_the_draft_saves_itself_while_the_page_is_open(page, live_server, make, app, login):
    world = build_world(make)
    app.config["AUTOSAVE_SECONDS"] = 1
    seen = []  # what the page did, to explain a failure
    page.on("console", lambda message: seen.append(f"console: {message.text}"))
    page.on("pageerror", lambda error: seen.append(f"error: {error}"))
    page.on("requestfinished", lambda request: seen.append(f"request: {request.method} {request.url}"))
    page.on("requestfailed", lambda request: seen.append(f"failed: {request.url} {request.failure}"))
    sign_in(page, live_server, world.emails["author"])
    tasks(page).get_by_role("button", name="Start the report for 2026 H1").click()
    page.get_by_label("Challenges", exact=True).fill("Typed, never saved by hand.")
    try:
        expect(page.get_by_role("status").filter(has_text="Draft saved automatically.")).to_be_visible(
            timeout=30_000
        )
    except AssertionError as exc:
        raise AssertionError("\n".join(seen)) from exc
    # A save by hand after an autosave is not a conflict with oneself: the page carries the
    # version its autosave produced.
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

    def stored_version():
        with app.app_context():
            version = db.session.get(Submission, int(sub_url.rstrip("/").split("/")[-1])).version
            db.session.remove()
        return version

    # On a loaded machine a save of the page's may still be on its way: the colleague, like a
    # person, saves again on the newer version when told someone saved first.
    page.wait_for_load_state("networkidle")
    for _ in range(3):
        data = report_payload(world, stored_version(), challenges="The colleague's version.")
        status = post(colleague, sub_url + "/save", data).status_code
        if status != 409:
            break
    assert status == 302
    page.get_by_label("Challenges", exact=True).fill("My later version.")
    expect(page.get_by_role("status").filter(has_text="Saved by Joseph Otieno")).to_be_visible(timeout=30_000)
    page.get_by_role("button", name="Save draft").click()
    conflict = page.get_by_role("region", name="Someone else saved first")
    expect(conflict).to_be_visible()
    expect(conflict).to_contain_text("The colleague's version.")
    expect(conflict).to_contain_text("My later version.")
    # Both changed the field: the colleague's stays in the form unless the rep chooses theirs.
    expect(page.get_by_label("Challenges", exact=True)).to_have_value("The colleague's version.")
    conflict.get_by_label("Use my version").check()
    expect(page.get_by_label("Challenges", exact=True)).to_have_value("My later version.")


def test_design_input_and_the_ilo_responses_in_the_browser(
    page, new_context, live_server, make, app, axe_check
):
    from mel_app.extensions import db
    from mel_app.models import Phase, Project

    world = build_world(make)
    with app.app_context():
        db.session.get(Project, world.project).phase = Phase.design
        db.session.commit()
    sign_in(page, live_server, world.emails["author"])
    main_nav(page).get_by_role("link", name="Projects").click()
    page.get_by_role("link", name=PROJECT_REFERENCE).click()
    page.get_by_role("button", name="Give design input").click()
    expect(page.get_by_role("heading", name=re.compile("Design input"))).to_be_visible()
    first = page.get_by_role("group", name="New item").first
    first.get_by_label("Kind").select_option(label="Need or priority")
    first.get_by_label("Your input").fill("Training for women organisers in the informal economy.")
    first.get_by_label("Relates to (optional)").select_option(label="1 Unions organise more women")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text("Draft saved.")).to_be_visible()
    axe_check(page)
    page.get_by_role("button", name="Save and submit for review…").click()
    page.get_by_role("button", name="Submit for review").click()
    expect(page.get_by_text("Submitted for review.")).to_be_visible()

    reviewer = new_context().new_page()
    sign_in(reviewer, live_server, world.emails["specialist"])
    reviewer.goto(page.url)
    reviewer.get_by_label("ILO response", exact=True).select_option(label="Partly incorporated")
    reviewer.get_by_label("Reason").fill("Kept as output 1.1, for the formal economy first.")
    axe_check(reviewer)
    reviewer.get_by_role("button", name="Save responses").click()
    expect(reviewer.get_by_text("Responses saved.")).to_be_visible()
    reviewer.get_by_role("button", name="Approve").click()
    expect(reviewer.get_by_text("Approved.")).to_be_visible()

    page.reload()
    expect(page.get_by_text("Partly incorporated")).to_be_visible()
    expect(page.get_by_text("Kept as output 1.1, for the formal economy first.")).to_be_visible()


# --- Journey 1 by keyboard alone -------------------------------------------------------------------

# What has the focus: its accessible name (as a screen reader would announce the control), where
# it sits in the page's layout (scrolled boxes unrolled, so a box's scrolling does not reorder
# it), and whether a focus indicator is drawn.
FOCUSED = r"""() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const byIds = ids => ids.split(' ')
    .map(id => (document.getElementById(id) || {}).textContent || '').join(' ');
  const name = (el.getAttribute('aria-label')
    || (el.getAttribute('aria-labelledby') && byIds(el.getAttribute('aria-labelledby')))
    || (el.labels && el.labels.length && [...el.labels].map(l => l.textContent).join(' '))
    || el.textContent || el.value || '').trim().replace(/\s+/g, ' ');
  const box = el.getBoundingClientRect();
  let x = box.left + window.scrollX, y = box.top + window.scrollY;
  for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
    x += up.scrollLeft; y += up.scrollTop;
  }
  const style = getComputedStyle(el);
  const outlined = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2;
  const inView = box.bottom > 0 && box.top < window.innerHeight
    && box.right > 0 && box.left < window.innerWidth;
  return {name, x: Math.round(x), y: Math.round(y), visible: outlined || style.boxShadow !== 'none', inView};
}"""


IN_SIGHT = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return true;
  const box = el.getBoundingClientRect();
  return box.bottom > 0 && box.top < window.innerHeight && box.right > 0 && box.left < window.innerWidth;
}"""


class Keyboard:
    """Moves through a page with Tab alone and notes every stop."""

    def __init__(self, page: Page):
        self.page = page
        self.stops: list[dict] = []

    def tab(self) -> dict:
        self.page.keyboard.press("Tab")
        # The browser brings the focused control into sight (smoothly: wait for the scroll's end).
        with contextlib.suppress(PlaywrightTimeoutError):  # reported below, with the control's name
            self.page.wait_for_function(IN_SIGHT, timeout=3_000)
        stop = self.page.evaluate(FOCUSED)
        assert stop is not None, f"Tab left the page after {[s['name'] for s in self.stops]}"
        assert stop["visible"], f"no focus indicator on {stop['name']!r}"
        assert stop["inView"], f"{stop['name']!r} has the focus but is out of sight"
        self.stops.append(stop)
        return stop

    def tab_to(self, name: str, *, limit: int = 60) -> None:
        """Tab until the control named `name` has the focus."""
        for _ in range(limit):
            if self.tab()["name"] == name:
                return
        raise AssertionError(
            f"{name!r} not reached with {limit} Tabs: {[s['name'] for s in self.stops[-limit:]]}"
        )

    def expect_order(self, names: list[str]) -> None:
        """The next stops are these controls, in this order, and go down the page as it reads:
        top to bottom, and left to right along a line (a table's row)."""
        start = len(self.stops)
        for _ in names:
            self.tab()
        seen = self.stops[start:]
        assert [s["name"] for s in seen] == names
        for before, after in zip(seen, seen[1:], strict=False):
            same_line = abs(after["y"] - before["y"]) <= 12
            assert (same_line and after["x"] > before["x"]) or (not same_line and after["y"] > before["y"]), (
                f"the focus goes back up or left from {before} to {after}"
            )


def test_a_rep_fills_and_submits_the_report_with_the_keyboard_alone(journey, live_server, make):
    world = build_world(make)
    # Without smooth scrolling, the focused control is in sight as soon as it has the focus.
    page = journey.open(reduced_motion="reduce")
    # Playwright takes over the browser's file chooser once something listens for it; it starts
    # listening asynchronously, so listen from the start rather than just before the key press.
    page.on("filechooser", lambda chooser: None)
    sign_in(page, live_server, world.emails["author"], check=journey.check)
    keys = Keyboard(page)

    # The first Tab reaches the skip link, shown when it has the focus; it leads into the page.
    assert keys.tab()["name"] == "Skip to main content"
    page.keyboard.press("Enter")
    keys.tab_to("Start the report for 2026 H1")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=re.compile(r"Progress report 2026 H1"))).to_be_visible()
    journey.check(page)

    keys = Keyboard(page)
    keys.tab_to("Content")  # the page's own navigation, just above the form
    keys.tab_to(NARRATIVE_LABELS["achievements"])
    page.keyboard.type(NARRATIVE["achievements"])
    for key in list(NARRATIVE_LABELS)[1:]:
        keys.expect_order([NARRATIVE_LABELS[key]])
        page.keyboard.type(NARRATIVE[key])
    # The indicator table (its scrolling box takes the focus first), row by row.
    keys.expect_order(["Indicators", "1.a: value"])
    page.keyboard.type("30")
    keys.expect_order(["1.a: women"])
    page.keyboard.type("18")
    keys.expect_order(["1.a: men"])
    page.keyboard.type("12")
    keys.expect_order(["1.a: comment (the reason, if not reported)", "1.a: not reported", "1.b: percentage"])
    page.keyboard.type("25")
    keys.expect_order(["1.b: comment (the reason, if not reported)", "1.b: not reported", "1.c: yes or no"])
    page.keyboard.type("yes")  # a closed select picks the option typed
    keys.expect_order(["1.c: comment (the reason, if not reported)", "1.c: not reported", "1.d: answer"])
    keys.expect_order(["1.d: comment (the reason, if not reported)"])
    page.keyboard.type("Not collected in this period.")
    keys.expect_order(["1.d: not reported"])
    page.keyboard.press("Space")
    keys.expect_order(["Add evidence files"])
    with page.expect_file_chooser() as chooser:
        page.keyboard.press("Space")
    chooser.value.set_files(
        files=[{"name": "membership-register.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    keys.expect_order(["Save draft"])
    page.keyboard.press("Enter")
    expect(page.get_by_text("Draft saved.")).to_be_visible()
    journey.check(page)
    expect(page.get_by_label("Social dialogue", exact=True)).to_have_value(NARRATIVE["social_dialogue"])
    expect(page.get_by_label("1.a: women")).to_have_value("18")
    expect(page.get_by_label("1.c: yes or no")).to_match_aria_snapshot(YES_CHOSEN)
    expect(page.get_by_label("1.d: not reported")).to_be_checked()
    expect(page.get_by_role("link", name="membership-register.pdf")).to_be_visible()

    keys = Keyboard(page)
    keys.tab_to("Save and submit for review…", limit=80)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Submit for review")).to_be_visible()
    journey.check(page)
    keys = Keyboard(page)
    keys.tab_to("Submit for review")
    page.keyboard.press("Space")
    expect(page.get_by_text("Submitted for review.")).to_be_visible()
    journey.check(page)
    expect(status(page, "Awaiting review")).to_be_visible()
