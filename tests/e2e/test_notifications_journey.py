"""A browser journey: the union representative's report is returned; their e-mail (read from the
test SMTP server) links straight to the report; the notifications page shows it unread, then read.
On a desktop and on a phone; every page is checked (axe, layout, touch targets)."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from mel_app.demo import DEMO_PASSWORD
from mel_app.extensions import db
from mel_app.models import Notification, Status, Visibility, utcnow
from mel_app.submissions import services as submissions
from tests import notify_world as w
from tests.e2e.steps import main_nav, sign_in
from tests.smtp_server import body, link_in, mail_server_fixture  # noqa: F401 - the fixture

UNION = "union@example.org"


@pytest.mark.parametrize("screen", ["desktop", "phone"], indirect=True)
def test_the_returned_report_from_the_email_to_the_notifications_page(journey, live_server, app, mail_server):
    w.load(app)
    mail_server.messages.clear()
    with app.app_context():
        # The demo's own steps left the union notifications; they have read them all.
        db.session.execute(
            sa.update(Notification)
            .where(Notification.recipient_id == w.user(UNION).id)
            .values(read_at=utcnow())
        )
        # The union's report was sent back once; they resubmitted it; the specialist returns it again.
        sub = w.report("RAF/22/11/NOR", "F-COTU", Status.returned)
        submissions.submit_submission(sub, actor=w.user(UNION), expected_version=sub.version)
        db.session.commit()
        submissions.return_submission(
            sub,
            actor=w.user("specialist@example.org"),
            expected_version=sub.version,
            comment="Please add the number of women trained.",
        )
        db.session.commit()
        report_path = f"/submissions/{sub.id}"
    w.deliver(app)
    (email,) = mail_server.wait_for(UNION)
    assert str(email["Subject"]).strip().startswith("Returned for changes")
    link = link_in(email)
    assert link == report_path, "the e-mail links straight to the report"

    page = journey.open()
    sign_in(page, live_server, UNION, check=journey.check, password=DEMO_PASSWORD)
    page.goto(live_server + link)
    journey.check(page)
    expect(page.get_by_text("Please add the number of women trained.").first).to_be_visible()

    notifications = main_nav(page).get_by_role("link", name=re.compile(r"^Notifications"))
    expect(notifications).to_contain_text("1")
    notifications.click()
    journey.check(page)
    unread = page.get_by_role("link", name=re.compile(r"^Unread: Returned for changes"))
    expect(unread).to_be_visible()
    unread.click()
    journey.check(page)
    expect(page).to_have_url(live_server + report_path)
    main_nav(page).get_by_role("link", name=re.compile(r"^Notifications")).click()
    journey.check(page)
    # The newest first: the demo had returned this report once already.
    expect(page.get_by_role("link", name=re.compile(r"^Returned for changes")).first).to_be_visible()
    expect(page.get_by_text("Unread:")).to_have_count(0)
    expect(main_nav(page).get_by_role("link", name="Notifications", exact=True)).to_be_visible()


def test_choices_unsubscribe_and_outgoing_mail_pages_in_the_browser(
    page, new_context, live_server, app, axe_check, mail_server
):
    w.load(app)
    mail_server.messages.clear()
    with app.app_context():
        sub = w.report("RAF/22/11/NOR", "F-COTU", Status.returned)
        submissions.add_comment(
            sub, actor=w.user("specialist@example.org"), body="See section 2.", visibility=Visibility.shared
        )
        db.session.commit()
    w.deliver(app)
    (email,) = mail_server.wait_for(UNION)
    unsubscribe = re.search(r"https?://[^/\s]+(/notifications/unsubscribe/\S+)", body(email)).group(1)

    # From the e-mail alone, in a browser that never signed in.
    anonymous = new_context().new_page()
    anonymous.goto(live_server + unsubscribe)
    axe_check(anonymous)
    anonymous.get_by_role("button", name="Stop these e-mails").click()
    expect(anonymous.get_by_role("status")).to_contain_text("no longer receive e-mails")
    axe_check(anonymous)

    # The choices page shows it: comments, no e-mail.
    sign_in(page, live_server, UNION, password=DEMO_PASSWORD)
    main_nav(page).get_by_role("link", name=re.compile(r"^Notifications")).click()
    page.get_by_role("link", name="Choose which e-mails you receive").click()
    axe_check(page)
    comments = page.get_by_role("group", name="A new comment on a report")
    expect(comments.get_by_role("radio", name="No e-mail")).to_be_checked()
    page.get_by_role("group", name="My organisation's report is approved").get_by_role(
        "radio", name="Daily digest"
    ).check()
    page.get_by_role("button", name="Save my choices").click()
    expect(page.get_by_text("Your choices are saved.")).to_be_visible()

    # Administrators read what was sent.
    admin = new_context().new_page()
    sign_in(admin, live_server, "admin@example.org", password=DEMO_PASSWORD)
    main_nav(admin).get_by_role("link", name="Outgoing mail").click()
    axe_check(admin)
    admin.get_by_role("link", name=re.compile(r"^New comment")).click()
    axe_check(admin)
    expect(admin.get_by_text("See section 2.")).to_be_visible()
