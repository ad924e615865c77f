"""Each person decides what they receive by e-mail; the unsubscribe link works from the e-mail alone;
the notifications page shows what was sent, unread then read; administrators see the outbox."""

from __future__ import annotations

import re

import sqlalchemy as sa

from mel_app.demo import DEMO_PASSWORD
from mel_app.extensions import db
from mel_app.models import AuditEvent, Notification, OutboxMessage, OutboxStatus, Status, Visibility
from mel_app.notifications import reminders
from mel_app.submissions import services as submissions
from tests import notify_world as w
from tests.conftest import csrf_token
from tests.smtp_server import body, link_in, mail_server_fixture  # noqa: F401 - the fixture
from tests.test_notifications_events import EMPLOYER, SPECIALIST, UNION, _cause, demo_fixture  # noqa: F401


def _return_employers_report(app, mail_server):
    def return_it():
        sub = w.report("RAF/22/11/NOR", "F-FKE", Status.submitted)
        submissions.return_submission(
            sub, actor=w.user(SPECIALIST), expected_version=sub.version, comment="Fix 2."
        )

    return _cause(app, mail_server, return_it)


def _comment_to_union(app, mail_server, text="See section 2."):
    def comment():
        sub = w.report("RAF/22/11/NOR", "F-COTU", Status.returned)
        submissions.add_comment(sub, actor=w.user(SPECIALIST), body=text, visibility=Visibility.shared)

    return _cause(app, mail_server, comment)


def _choose(client, login, email, **modes):
    login(email, DEMO_PASSWORD)
    resp = client.post("/notifications/preferences", data={**modes, "csrf_token": csrf_token(client)})
    assert resp.status_code == 302
    client.post("/logout", data={"csrf_token": csrf_token(client)})


def test_no_email_for_a_kind_turned_off_but_still_in_the_app_and_the_change_audited(app, demo, client, login):
    _choose(client, login, EMPLOYER, submission_returned="off")
    received = _return_employers_report(app, demo)
    assert EMPLOYER not in received, "turned off: no e-mail"
    with app.app_context():
        assert db.session.scalar(
            sa.select(sa.func.count(Notification.id)).where(
                Notification.recipient_id == w.user(EMPLOYER).id, Notification.kind == "submission_returned"
            )
        ), "the notifications page still shows it"
        audited = db.session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.entity_type == "notification_preference")
            .order_by(AuditEvent.id)
        ).all()
        assert audited and audited[-1].actor_name == "Peter Otieno"


def test_the_daily_digest_gathers_what_waited_in_one_email(app, demo, client, login):
    _choose(client, login, UNION, comment_shared="digest")
    assert UNION not in _comment_to_union(app, demo, "First point.")
    assert UNION not in _comment_to_union(app, demo, "Second point.")
    with app.app_context():
        reminders.run_daily()
        reminders.run_daily()  # a second run the same day sends nothing more
    w.deliver(app)
    digests = [m for m in demo.messages if m["To"] == UNION]
    assert len(digests) == 1, [m["Subject"] for m in demo.messages]
    assert "2 notifications" in digests[0]["Subject"]
    assert body(digests[0]).count("/notifications/") >= 2


def test_unsubscribe_from_the_link_alone_without_signing_in(app, demo):
    received = _comment_to_union(app, demo)
    (message,) = received[UNION]
    link = re.search(r"https?://[^/\s]+(/notifications/unsubscribe/\S+)", body(message)).group(1)
    header = message["List-Unsubscribe"]
    assert (
        header.strip("<>").endswith(link) and message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    )
    browser = app.test_client()  # never signed in
    page = browser.get(link)
    assert page.status_code == 200 and "Stop these e-mails" in page.get_data(as_text=True)
    assert UNION in _comment_to_union(app, demo), "opening the page alone changes nothing"
    done = browser.post(link, data={"csrf_token": csrf_token(browser)})
    assert done.status_code == 200 and "Done" in done.get_data(as_text=True)
    assert UNION not in _comment_to_union(app, demo), "unsubscribed from this kind"
    assert browser.post(link.replace("unsubscribe/", "unsubscribe/x")).status_code in (400, 404)


def test_one_click_unsubscribe_as_a_mail_client_posts_it(app, demo):
    (message,) = _return_employers_report(app, demo)[EMPLOYER]
    url = message["List-Unsubscribe"].strip("<>")
    path = re.sub(r"^https?://[^/]+", "", url)
    resp = app.test_client().post(path, data={"List-Unsubscribe": "One-Click"})
    assert resp.status_code == 200
    assert app.test_client().post(path, data={}).status_code == 400, "anything else needs the form's token"


def test_security_emails_are_sent_whatever_the_choices(app, demo, client, login, post):
    _choose(client, login, UNION, **{kind: "off" for kind in ("comment_shared", "submission_returned")})
    resp = post("/auth/reset", {"email": UNION}, on=app.test_client())
    assert resp.status_code == 302
    demo.wait_for(UNION)


def test_the_notifications_page_shows_it_unread_then_read(app, demo, client, login):
    login(UNION, DEMO_PASSWORD)
    # What the demo's own steps told the union (its reports returned and approved), read first.
    assert client.post("/notifications/read", data={"csrf_token": csrf_token(client)}).status_code == 302
    (message,) = _comment_to_union(app, demo)[UNION]
    home = client.get("/").get_data(as_text=True)
    assert re.search(r"Notifications <span class=\"badge\">1", home), "the unread count in the navigation"
    page = client.get("/notifications").get_data(as_text=True)
    assert "Unread:" in page and "New comment" in page
    opened = re.search(r'href="(/notifications/\d+)"', page).group(1)
    resp = client.get(opened)
    assert resp.status_code == 302 and resp.location == link_in(message), "to the report the e-mail links to"
    page = client.get("/notifications").get_data(as_text=True)
    assert "Unread:" not in page
    assert 'class="badge"' not in client.get("/").get_data(as_text=True)


def test_administrators_see_a_failed_message_and_resend_it_audited(app, demo, client, login, post):
    _comment_to_union(app, demo)
    with app.app_context():
        message = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.to_address == UNION))
        message.status, message.last_error = OutboxStatus.failed, "550 mailbox unavailable"
        db.session.commit()
        message_id = message.id
    login("admin@example.org", DEMO_PASSWORD)
    page = client.get("/admin/outbox?status=failed").get_data(as_text=True)
    assert "550 mailbox unavailable" in page and UNION in page
    assert post(f"/admin/outbox/{message_id}/resend").status_code == 302
    with app.app_context():
        assert db.session.get(OutboxMessage, message_id).status is OutboxStatus.queued
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "outbox.resend"))
        assert event is not None and event.actor_name == "Amina Diallo"
    w.deliver(app)
    assert [m["To"] for m in demo.messages] == [UNION], "delivered again"
