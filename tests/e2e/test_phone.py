"""The demo on a 360×740 phone, in every language: a union representative fills and submits a
report with each indicator's name and its fields on screen together, and no page the demo's
people reach scrolls sideways. Printing leaves out the navigation, the forms and the ILO-internal
comments.

The languages are a parameter: a language whose catalogue is added joins by being added to
`LANGUAGES`.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from mel_app.demo import DEMO_ACCOUNTS, DEMO_PASSWORD
from mel_app.extensions import db
from mel_app.models import NARRATIVE_SECTIONS, Evaluation, Project, Status, Submission, SubmissionKind, User
from tests.conftest import csrf_token
from tests.crawl import walk
from tests.e2e.conftest import HORIZONTAL_OVERFLOW, SCREENS, TOUCH_TARGET_PX, run_axe

LANGUAGES = ["en", "fr", "es", "pt"]
PHONE = SCREENS["phone"].context_args
WIDTH = PHONE["viewport"]["width"]
UNION = "union@example.org"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
# A long file name: its fingerprint and name end up in the report's History and the audit trail.
EVIDENCE = "membership-register-of-the-kisumu-and-mombasa-branches-2026-final-signed.pdf"
# Links a page crawl must not follow: files, and the same list again and again.
NOT_PAGES = re.compile(r"/attachments/|/evidence$|/download$|/export/|\.(csv|xlsx|json|xml|pdf)$")


def speaks(app, email: str, lang: str) -> None:
    """The person's chosen language, as they would set it in their account."""
    with app.app_context():
        db.session.scalar(sa.select(User).where(User.email == email)).preferred_language = lang
        db.session.commit()


def phone_sign_in(new_context, base: str, email: str) -> Page:
    page = new_context(**PHONE).new_page()
    page.goto(base + "/login")
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=password]").fill(DEMO_PASSWORD)
    page.locator("main [type=submit]").click()
    expect(page).to_have_url(re.compile(r"/$"))
    return page


def assert_no_sideways_scroll(page: Page) -> None:
    """The page is no wider than the phone's screen: nothing to scroll sideways."""
    # After a form's redirect the next document may still be parsing (no root element yet).
    page.wait_for_load_state("load")
    width = page.evaluate("document.documentElement.scrollWidth")
    if width > WIDTH:
        raise AssertionError(
            f"{page.url} is {width} px wide on a {WIDTH} px screen: {page.evaluate(HORIZONTAL_OVERFLOW)}"
        )


def _box(locator) -> dict:
    """Where the element is on the screen as it is scrolled now."""
    box = locator.bounding_box()
    assert box is not None, f"{locator} is not shown"
    return box


def _on_screen(box: dict) -> bool:
    return box["x"] >= 0 and box["x"] + box["width"] <= WIDTH + 0.5


def _fill_indicator(row, name_box: dict) -> None:
    """The indicator's first field beside or below its name, on screen, with a shown label; filled."""
    value = row.locator("[name$='-value'], [name$='-text_value']").first
    value_box = _box(value)
    assert _on_screen(name_box) and _on_screen(value_box), f"name {name_box}, field {value_box}"
    below = value_box["y"] >= name_box["y"] + name_box["height"] - 1
    beside = (
        value_box["x"] >= name_box["x"] + name_box["width"]
        and value_box["y"] < name_box["y"] + name_box["height"]
    )
    assert below or beside, f"the field is not next to the indicator's name: {name_box} {value_box}"
    for field in row.locator("input:not([type=checkbox]):not([type=hidden]), select, textarea").all():
        label = row.locator(f"label[for='{field.get_attribute('id')}']")
        assert _box(label)["width"] > 20 and _on_screen(_box(field)), f"{field} has no label on screen"
    tag = value.evaluate("el => el.tagName.toLowerCase()")
    if tag == "select":
        value.select_option(index=1)
    elif tag == "textarea":
        value.fill("Two sector agreements now include maternity protection.")
    else:
        value.fill("40")
        if row.locator("[name$='-women']").count():
            row.locator("[name$='-women']").fill("25")
            row.locator("[name$='-men']").fill("15")
    # "Not reported": the box and its label are one target of at least 44 × 44 px.
    target = _box(row.locator("label.check"))
    assert target["width"] >= TOUCH_TARGET_PX and target["height"] >= TOUCH_TARGET_PX - 0.5, target


def _union_draft(app) -> tuple[int, int]:
    """The union's draft progress report in the demo, and how many indicators it answers."""
    from mel_app.submissions.services import active_indicators

    with app.app_context():
        union = db.session.scalar(sa.select(User).where(User.email == UNION))
        sub = db.session.scalar(
            sa.select(Submission).where(
                Submission.author_id == union.id,
                Submission.status == Status.draft,
                Submission.kind == SubmissionKind.progress_report,
            )
        )
        return sub.id, len(active_indicators(sub.project_id))


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_union_rep_fills_and_submits_a_report_on_a_phone(app, demo, live_server, new_context, lang):
    speaks(app, UNION, lang)
    sub_id, indicator_count = _union_draft(app)
    page = phone_sign_in(new_context, live_server, UNION)
    assert_no_sideways_scroll(page)
    page.locator(f'main a[href="/submissions/{sub_id}"]').first.click()
    expect(page.locator("#edit")).to_be_visible()
    assert_no_sideways_scroll(page)
    run_axe(page)

    for key in NARRATIVE_SECTIONS:
        page.locator(f"#edit textarea[name={key}]").fill(f"What we did ({key}) in the first half of 2026.")
    rows = page.locator("#indicators tbody tr")
    assert indicator_count > 0 and rows.count() == indicator_count
    for i in range(indicator_count):
        row = rows.nth(i)
        name = row.locator("th[scope=row]")
        name.scroll_into_view_if_needed()
        _fill_indicator(row, _box(name))
    page.locator("#edit input[type=file]").set_input_files(
        files=[{"name": EVIDENCE, "mimeType": "application/pdf", "buffer": PDF}]
    )
    assert_no_sideways_scroll(page)

    page.locator("#edit [name=submit]").click()
    expect(page.locator("main form [name=confirm]")).to_be_visible()
    assert_no_sideways_scroll(page)
    page.locator("main form [name=confirm]").click()
    expect(page.locator("#edit")).to_have_count(0)
    with app.app_context():
        assert db.session.get(Submission, sub_id).status is Status.submitted
    assert_no_sideways_scroll(page)

    # The report's History holds the evidence file's name and fingerprint; the audit trail too.
    page.locator(".tabs a[href^='/history/']").click()
    expect(page.get_by_text(EVIDENCE).first).to_be_attached()
    assert_no_sideways_scroll(page)
    page.goto(f"{live_server}/submissions/{sub_id}/print")
    assert_no_sideways_scroll(page)
    speaks(app, "admin@example.org", lang)
    admin = phone_sign_in(new_context, live_server, "admin@example.org")
    admin.goto(live_server + "/audit")
    expect(admin.get_by_text(EVIDENCE).first).to_be_attached()
    assert_no_sideways_scroll(admin)


def _substantiation_link(app, lang: str) -> str:
    """A new request, in `lang`, to substantiate the demo's first outcome statement: its link."""
    from mel_app.models import OutcomeStatement
    from mel_app.projects import substantiation

    with app.app_context():
        statement = db.session.scalar(sa.select(OutcomeStatement).order_by(OutcomeStatement.id))
        specialist = db.session.scalar(sa.select(User).where(User.email == "specialist@example.org"))
        _request, token = substantiation.request_substantiation(
            statement,
            name="Amina Odhiambo",
            email=f"amina.{lang}@example.org",
            language=lang,
            actor=specialist,
        )
        db.session.commit()
    return f"/substantiate/{token}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_someone_without_an_account_substantiates_an_outcome_on_a_phone(
    app, demo, live_server, new_context, lang
):
    """The page an e-mailed link opens (no account), in the language the specialist chose: the
    statement, the answer with its error, and the thanks, none wider than the screen."""
    page = new_context(**PHONE).new_page()
    page.goto(live_server + _substantiation_link(app, lang))
    expect(page.locator("html")).to_have_attribute("lang", lang)
    assert_no_sideways_scroll(page)
    page.locator("input[name=verdict][value=partly]").check()
    page.locator("main [type=submit]").click()
    expect(page.locator("#comment-error")).to_be_visible()
    assert_no_sideways_scroll(page)
    run_axe(page)
    page.locator("textarea[name=comment]").fill("Only in the capital, not in the counties.")
    page.locator("main [type=submit]").click()
    expect(page.locator("main form")).to_have_count(0)
    expect(page.locator("html")).to_have_attribute("lang", lang)
    assert_no_sideways_scroll(page)


def _page_key(url: str) -> str:
    """One page of each kind: numbers stand for any record."""
    parts = urlsplit(url)
    return re.sub(r"\d+", "N", parts.path + ("?" + parts.query if parts.query else ""))


# Each account's kinds of page, found once by this worker: every copy of the demo has the same rows
# (tests/snapshots.py), so the same addresses.
_REACHED: dict[str, dict[str, str]] = {}


def pages_reached(app, email: str, *, limit: int = 80) -> dict[str, str]:
    """Every kind of page reachable by links from "My tasks" as `email`: kind -> its first address.

    The links are followed by the test client, which reads a page in a few milliseconds; the
    browser then opens the pages to measure them."""
    if email in _REACHED:
        return _REACHED[email]
    client = app.test_client()
    response = client.post(
        "/login", data={"email": email, "password": DEMO_PASSWORD, "csrf_token": csrf_token(client)}
    )
    assert response.status_code == 302, f"{email} could not sign in"
    _REACHED[email] = {
        _page_key(url): url
        for url, response, _found_on in walk(
            client, key=_page_key, per_key=1, limit=limit, skip=NOT_PAGES.search
        )
        if response.status_code == 200 and response.mimetype == "text/html"
    }
    return _REACHED[email]


def assert_fits(page: Page, url: str) -> None:
    response = page.goto(url)
    assert response is not None and response.ok, f"{url}: {response.status if response else 'no answer'}"
    if page.evaluate("document.documentElement.scrollWidth") > WIDTH:
        assert_no_sideways_scroll(page)  # names what sticks out


# Kinds of page that the crawl must have reached, for some demo account.
EXPECTED_PAGES = {
    "/",
    "/projects",
    "/projects/N",
    "/projects/N/framework",
    "/projects/N/periods",
    "/projects/N/members",
    "/evaluations",
    "/evaluations/N",
    "/evaluations/N/results",
    "/review",
    "/audit",
    "/history/project/N",
    "/admin/users",
    "/admin/organisations",
    "/account",
    "/submissions/N",
    "/submissions/N/versions/N",
    "/submissions/N/print",
    "/evaluations/N/results/print",
    "/evaluations/N/scorecard",
    "/downloads",
    "/portfolio",
    "/portfolio/by-tag",
    "/projects/N/partners",
    "/projects/N/evaluations",
    "/projects/N/edit",
    "/projects/N/outcomes",
    "/projects/N/outcomes/N",
    "/projects/N/outcomes/new",
    "/projects/N/stories",
    "/projects/N/stories/N",
    "/projects/N/stories/new",
    "/projects/N/domains",
    "/projects/N/rounds",
    "/projects/N/rounds/new",
    "/rounds",
    "/rounds/N",
    "/rounds/N/members",
    "/admin/rounds/new",
    "/admin/users/N",
    "/admin/criteria-sets",
    "/account/two-factor",
}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_page_the_demo_accounts_reach_scrolls_sideways_on_a_phone(
    app, demo, live_server, new_context, lang
):
    """In the first language every account opens every kind of page it reaches (what it is shown
    differs: buttons, columns, tabs); in the others each kind is opened once, by the first account
    that reaches it, the one with the most to show: the words are what changes there."""
    reached: set[str] = set()
    for email, *_ in DEMO_ACCOUNTS:
        kinds = pages_reached(app, email)
        paths = [path for key, path in kinds.items() if lang == LANGUAGES[0] or key not in reached]
        reached.update(kinds)
        if not paths:
            continue
        speaks(app, email, lang)
        page = phone_sign_in(new_context, live_server, email)
        for path in paths:
            assert_fits(page, live_server + path)
        page.context.close()
    missing = {key for key in EXPECTED_PAGES if not any(r == key or r.startswith(key + "?") for r in reached)}
    assert not missing, f"the crawl never reached {missing}; it saw {sorted(reached)}"


def test_printing_leaves_out_navigation_forms_and_internal_comments(app, demo, live_server, new_context):
    with app.app_context():
        returned = db.session.scalar(sa.select(Submission.id).where(Submission.status == Status.returned))
        evaluation_id = db.session.scalar(
            sa.select(Evaluation.id).join(Project).where(Project.reference == "RAF/22/11/NOR")
        )
    page = new_context(viewport={"width": 1280, "height": 800}).new_page()
    page.goto(live_server + "/login")
    page.locator("input[name=email]").fill("specialist@example.org")
    page.locator("input[name=password]").fill(DEMO_PASSWORD)
    page.locator("main [type=submit]").click()
    page.goto(f"{live_server}/submissions/{returned}")
    page.locator("#comments textarea[name=body]").fill("ILO only: check these figures with the field office.")
    page.locator("#comments input[type=radio][value=internal]").check()
    page.locator("#comments [type=submit]").click()
    internal = page.locator("li.comment.internal")
    main_nav = page.locator("header nav")
    expect(internal).to_be_visible()
    expect(main_nav).to_be_visible()

    page.emulate_media(media="print")
    expect(main_nav).to_be_hidden()
    expect(internal).to_be_hidden()
    for form in page.locator("main form").all():
        expect(form).to_be_hidden()
    expect(page.locator("main")).to_contain_text(page.locator("#narrative-heading").inner_text())

    # The printable page: the internal comment only when the specialist asks for it.
    page.emulate_media(media="screen")
    page.goto(f"{live_server}/submissions/{returned}/print")
    run_axe(page)
    expect(page.locator("li.comment.internal")).to_have_count(0)
    page.emulate_media(media="print")
    page.goto(f"{live_server}/submissions/{returned}/print?internal=1")
    expect(page.locator("li.comment.internal")).to_be_visible()
    expect(page.locator(".screen-only")).to_be_hidden()

    page.goto(f"{live_server}/evaluations/{evaluation_id}/results")
    expect(page.locator("header nav")).to_be_hidden()
    expect(page.locator("main form")).to_be_hidden()
    expect(page.locator(".print-link")).to_be_hidden()
    page.emulate_media(media="screen")
    expect(page.locator("header nav")).to_be_visible()
    expect(page.locator(".print-link")).to_be_visible()
