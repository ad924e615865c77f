"""Policies of notifications: each person's own only; the unsubscribe link works without signing
in; the outgoing-mail pages are for administrators only."""

from mel_app.extensions import db
from mel_app.models import Notification, NotificationKind, OutboxMessage, OutboxStatus, User
from mel_app.notifications.compose import unsubscribe_token
from tests.authz.policy import Route, admin_only, expect, public, signed_in

POLICIES = {
    "notifications.index": Route(get=signed_in(200)),
    # Only its recipient (the same organisation's reporter) follows it; anyone else: 404.
    "notifications.open": Route(
        get=expect(404, anonymous=302, reporter_same_org=302),
        args=lambda w: {"notification_id": w.notification},
    ),
    "notifications.mark_all_read": Route(post=signed_in(302)),
    # An empty form keeps every choice as it is.
    "notifications.preferences": Route(get=signed_in(200), post=signed_in(302)),
    # The link in an e-mail: no sign-in needed, the signed token is the proof.
    "notifications.unsubscribe": Route(get=public(200), args=lambda w: {"token": w.unsubscribe_token}),
    "notifications.unsubscribe_confirm": Route(
        post=public(200), args=lambda w: {"token": w.unsubscribe_token}
    ),
    "admin.outbox": Route(get=admin_only(200)),
    "admin.outbox_message": Route(get=admin_only(200), args=lambda w: {"message_id": w.outbox_failed}),
    "admin.outbox_resend": Route(post=admin_only(302), args=lambda w: {"message_id": w.outbox_failed}),
}


def extend_world(world, make):
    session = db.session
    note = Notification(
        recipient_id=world.user_reporter_same_org,
        kind=NotificationKind.submission_returned,
        event_key=f"authz:{world.submission}",
        title="Returned for changes",
        link=f"/submissions/{world.submission}",
    )
    session.add(note)
    message = OutboxMessage(
        idempotency_key=f"authz:{world.submission}:failed",
        recipient_id=world.user_reporter_same_org,
        kind="submission_returned",
        to_address="reporter@example.org",
        language="en",
        subject="Returned for changes",
        text_body="Hello",
        html_body="<p>Hello</p>",
        headers={},
        status=OutboxStatus.failed,
        last_error="550 no such user",
        attempts=1,
    )
    session.add(message)
    session.flush()
    world.ids["notification"] = note.id
    world.ids["outbox_failed"] = message.id
    reporter = session.get(User, world.user_reporter_same_org)
    world.ids["unsubscribe_token"] = unsubscribe_token(reporter, NotificationKind.comment_shared)
