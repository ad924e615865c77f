"""A report sent after the session timed out is kept for its author, and for nobody else.

The session is made to time out by moving its last activity back beyond SESSION_IDLE_TIMEOUT.
"""

from __future__ import annotations

import io
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from mel_app.extensions import db
from mel_app.models import DraftStash, Membership, Submission, UserSession, utcnow
from mel_app.submissions import stash
from tests.submissions_world import add_submission, build_world, post, report_payload, signed_in

TYPED = "A long account of the Kisumu committee, typed on a bus with a weak connection."


@pytest.fixture
def world(make):
    return build_world(make)


def _time_out(app, user_id: int) -> None:
    """Every session of the user has been idle for longer than the limit."""
    with app.app_context():
        past = utcnow() - app.config["SESSION_IDLE_TIMEOUT"] - timedelta(minutes=1)
        db.session.execute(
            sa.update(UserSession).where(UserSession.user_id == user_id).values(last_seen_at=past)
        )
        db.session.commit()


def _kept_after_timeout(app, login, world, sub_id: int, **fields):
    """The author's browser posts a save after its session timed out; returns (browser, restore url)."""
    browser = signed_in(app, login, world, "author")
    _time_out(app, world.users["author"])
    payload = report_payload(world, 1, achievements=TYPED, **fields)
    resp = post(browser, f"/submissions/{sub_id}/save", payload)
    assert resp.status_code == 302
    target = urlsplit(resp.headers["Location"])
    assert target.path == "/login"
    back = parse_qs(target.query)["next"][0]
    assert back.startswith(f"/submissions/{sub_id}?restore=")
    return browser, back


def _sign_in_again(login, world, browser, key="author", back=""):
    """The login form as the sign-in page sends it, with the address to go back to."""
    from tests.factories import PASSWORD

    resp = post(browser, "/login", {"email": world.emails[key], "password": PASSWORD, "next": back})
    assert resp.status_code == 302
    return resp


def test_a_save_after_the_timeout_is_kept_and_given_back_after_signing_in(app, login, world):
    sub_id = add_submission(app, world)
    browser, back = _kept_after_timeout(app, login, world, sub_id)
    with app.app_context():
        sub = db.session.get(Submission, sub_id)
        assert sub.narrative["achievements"] != TYPED, "nothing is saved before the user says so"
        assert db.session.scalar(sa.select(sa.func.count()).select_from(DraftStash)) == 1
    login_page = browser.get(f"/login?next={back}").get_data(as_text=True)
    assert "Your text has been kept" in login_page
    resp = _sign_in_again(login, world, browser, back=back)
    assert resp.headers["Location"].endswith(back)
    page = browser.get(back)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert TYPED in html
    assert "It is not saved yet" in html
    # Saving (the user's own click) clears what was kept.
    resp = post(browser, f"/submissions/{sub_id}/save", report_payload(world, 1, achievements=TYPED))
    assert resp.status_code == 302
    with app.app_context():
        assert db.session.get(Submission, sub_id).narrative["achievements"] == TYPED
        assert db.session.scalar(sa.select(sa.func.count()).select_from(DraftStash)) == 0


def test_a_save_with_a_stale_security_token_is_kept_too(app, login, world):
    sub_id = add_submission(app, world)
    browser = signed_in(app, login, world, "author")
    _time_out(app, world.users["author"])
    payload = {**report_payload(world, 1, achievements=TYPED), "csrf_token": "stale"}
    resp = browser.post(
        f"/submissions/{sub_id}/save",
        data=payload,
        headers={"Referer": f"http://localhost/submissions/{sub_id}"},
    )
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    back = parse_qs(urlsplit(resp.headers["Location"]).query)["next"][0]
    _sign_in_again(login, world, browser)
    assert TYPED in browser.get(back).get_data(as_text=True)


def test_another_user_cannot_get_the_kept_text(app, login, world):
    sub_id = add_submission(app, world)
    _browser, back = _kept_after_timeout(app, login, world, sub_id)
    colleague = signed_in(app, login, world, "colleague")  # may edit the same report
    html = colleague.get(back).get_data(as_text=True)
    assert TYPED not in html
    assert "no longer available" in html


def test_an_expired_stash_is_not_restored_and_is_cleaned(app, login, world):
    sub_id = add_submission(app, world)
    browser, back = _kept_after_timeout(app, login, world, sub_id)
    with app.app_context():
        db.session.execute(sa.update(DraftStash).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    _sign_in_again(login, world, browser)
    html = browser.get(back).get_data(as_text=True)
    assert TYPED not in html
    assert "no longer available" in html
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(DraftStash)) == 0


def test_the_periodic_cleanup_deletes_expired_stashes(app, login, world):
    sub_id = add_submission(app, world)
    _kept_after_timeout(app, login, world, sub_id)
    with app.app_context():
        db.session.execute(sa.update(DraftStash).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    # Anyone's next save, on any submission, clears what has expired.
    other = add_submission(app, world, organisation=world.employers, author="other_org")
    employer = signed_in(app, login, world, "other_org")
    assert post(employer, f"/submissions/{other}/save", report_payload(world, 1)).status_code == 302
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(DraftStash)) == 0
        assert stash.purge_expired() == 0


def test_a_user_who_lost_edit_rights_gets_nothing(app, login, world):
    sub_id = add_submission(app, world)
    browser, back = _kept_after_timeout(app, login, world, sub_id)
    with app.app_context():
        db.session.execute(
            sa.update(Submission)
            .where(Submission.id == sub_id)
            .values(status="submitted", submitted_at=utcnow(), submitted_by_id=world.users["author"])
        )
        db.session.commit()
    _sign_in_again(login, world, browser)
    html = browser.get(back).get_data(as_text=True)
    assert TYPED not in html
    assert "no longer available" in html


def test_a_user_removed_from_the_project_gets_nothing(app, login, world):
    sub_id = add_submission(app, world)
    browser, back = _kept_after_timeout(app, login, world, sub_id)
    with app.app_context():
        db.session.execute(
            sa.delete(Membership).where(
                Membership.user_id == world.users["author"], Membership.project_id == world.project
            )
        )
        db.session.commit()
    _sign_in_again(login, world, browser)
    resp = browser.get(back)
    assert resp.status_code == 404
    assert TYPED not in resp.get_data(as_text=True)


def test_nothing_is_kept_after_signing_out(app, login, world):
    """A session ended on purpose is not a timeout: the post is not kept for anyone."""
    sub_id = add_submission(app, world)
    browser = signed_in(app, login, world, "author")
    post(browser, "/logout")
    resp = post(browser, f"/submissions/{sub_id}/save", report_payload(world, 1, achievements=TYPED))
    assert resp.status_code == 302 and "restore" not in resp.headers["Location"]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(DraftStash)) == 0


def test_autosave_after_the_timeout_says_so(app, login, world):
    sub_id = add_submission(app, world)
    browser = signed_in(app, login, world, "author")
    _time_out(app, world.users["author"])
    resp = post(browser, f"/submissions/{sub_id}/autosave", report_payload(world, 1, achievements=TYPED))
    assert resp.status_code == 401
    assert resp.get_json()["expired"] is True


def test_the_text_comes_back_even_if_a_file_was_added_in_between(app, login, world, make):
    """The form is rebuilt for the files the draft has now: the kept text must survive that."""
    sub_id = add_submission(app, world)
    browser, back = _kept_after_timeout(app, login, world, sub_id)
    colleague = signed_in(app, login, world, "colleague")
    pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    data = {**report_payload(world, 1), "evidence": (io.BytesIO(pdf), "register.pdf")}
    assert (
        post(colleague, f"/submissions/{sub_id}/save", data, content_type="multipart/form-data").status_code
        == 302
    )
    _sign_in_again(login, world, browser, back=back)
    html = browser.get(back).get_data(as_text=True)
    assert "register.pdf" in html
    assert TYPED in html


def test_kept_text_is_shown_as_text_never_run(app, login, world):
    sub_id = add_submission(app, world)
    attack = '</textarea><script>alert("kept")</script>'
    browser = signed_in(app, login, world, "author")
    _time_out(app, world.users["author"])
    resp = post(browser, f"/submissions/{sub_id}/save", report_payload(world, 1, achievements=attack))
    back = parse_qs(urlsplit(resp.headers["Location"]).query)["next"][0]
    _sign_in_again(login, world, browser, back=back)
    html = browser.get(back).get_data(as_text=True)
    assert '<script>alert("kept")' not in html
    assert "&lt;/textarea&gt;&lt;script&gt;" in html
