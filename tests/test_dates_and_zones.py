"""Dates as the ILO writes them, and every time in the reader's own time zone, with the zone."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from mel_app.extensions import db
from mel_app.models import User, UserSession
from tests.conftest import csrf_token

# "2 Dec 2026, 14:05 (UTC+3)": day month year, 24-hour clock, the zone.
ENGLISH_TIME = re.compile(
    r"\b(\d{1,2}) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\d{4}), (\d{2}):(\d{2}) \((UTC[^)]*)\)"
)


def _session_start(app, user_id: int) -> datetime:
    with app.app_context():
        started = db.session.scalar(
            sa.select(sa.func.max(UserSession.created_at)).where(UserSession.user_id == user_id)
        )
        return started.replace(tzinfo=UTC) if started.tzinfo is None else started


def _shown_times(page: str) -> list[re.Match]:
    return list(ENGLISH_TIME.finditer(page))


def test_english_pages_write_day_month_year_on_a_24_hour_clock_with_the_zone(app, client, make, login):
    user = make.user("reader@example.org")
    login("reader@example.org")
    page = client.get("/account").get_data(as_text=True)
    started = _session_start(app, user)
    shown = _shown_times(page)
    assert shown, "the session's start is shown as '2 Dec 2026, 14:05 (UTC)'"
    day, month, year, hour, minute, zone = shown[0].groups()
    assert (int(day), month, int(year)) == (started.day, started.strftime("%b"), started.year)
    assert (int(hour), int(minute)) == (started.hour, started.minute)
    assert zone == "UTC"
    assert not re.search(r"\d{1,2}/\d{1,2}/\d{2}\b", page), "no US-style numeric date"
    assert not re.search(r"\d:\d{2}\s?[AP]M", page), "no 12-hour clock"


def test_a_user_in_nairobi_sees_times_three_hours_ahead_with_the_zone(app, client, make, login):
    user = make.user("nairobi@example.org", time_zone="Africa/Nairobi")
    login("nairobi@example.org")
    page = client.get("/account").get_data(as_text=True)
    local = _session_start(app, user) + timedelta(hours=3)
    shown = _shown_times(page)
    assert shown
    day, month, year, hour, minute, zone = shown[0].groups()
    assert zone == "UTC+3"
    assert (int(day), month, int(hour), int(minute)) == (
        local.day,
        local.strftime("%b"),
        local.hour,
        local.minute,
    )


def test_french_and_spanish_keep_their_own_order_and_24_hours(app, client, make, login):
    make.user("fr@example.org", preferred_language="fr", time_zone="Africa/Abidjan")
    login("fr@example.org")
    page = client.get("/account").get_data(as_text=True)
    assert re.search(r"\d{1,2} [a-zéû]+\.? \d{4}[, ]+\d{2}:\d{2} \(UTC\)", page), "2 déc. 2026 14:05 (UTC)"
    assert not re.search(r"[AP]M\b", page)


def test_the_account_page_saves_a_time_zone(app, client, make, login, post):
    user = make.user("tz@example.org")
    login("tz@example.org")
    page = client.get("/account").get_data(as_text=True)
    assert 'list="time-zones"' in page and '<option value="Africa/Nairobi">' in page
    resp = post(
        "/account", {"full_name": "Achieng", "preferred_language": "en", "time_zone": "Africa/Nairobi"}
    )
    assert resp.status_code == 302
    with app.app_context():
        assert db.session.get(User, user).time_zone == "Africa/Nairobi"
    assert "(UTC+3)" in client.get("/account").get_data(as_text=True)
    # Emptied: back to the configured default.
    post("/account", {"full_name": "Achieng", "preferred_language": "en", "time_zone": ""})
    with app.app_context():
        assert db.session.get(User, user).time_zone is None


def test_an_unknown_time_zone_is_refused_and_kept_to_correct(app, client, make, login, post):
    user = make.user("tz2@example.org", time_zone="Europe/Paris")
    login("tz2@example.org")
    resp = post(
        "/account", {"full_name": "Jean", "preferred_language": "en", "time_zone": "Mars/Olympus_Mons"}
    )
    assert resp.status_code == 400
    page = resp.get_data(as_text=True)
    assert "This is not a time zone we know" in page
    assert 'value="Mars/Olympus_Mons"' in page, "the typed value is kept in the field"
    assert 'value="Jean"' in page
    with app.app_context():
        assert db.session.get(User, user).time_zone == "Europe/Paris"


def test_the_browsers_zone_becomes_the_default_at_sign_in_but_never_overrides_a_choice(app, client, make):
    fresh = make.user("fresh@example.org")
    chosen = make.user("chosen@example.org", time_zone="America/Bogota")
    for email, zone in [("fresh@example.org", "Africa/Nairobi"), ("chosen@example.org", "Africa/Nairobi")]:
        other = app.test_client()
        resp = other.post(
            "/login",
            data={
                "email": email,
                "password": "correct horse battery staple",
                "browser_time_zone": zone,
                "csrf_token": csrf_token(other),
            },
        )
        assert resp.status_code == 302
    with app.app_context():
        assert db.session.get(User, fresh).time_zone == "Africa/Nairobi"
        assert db.session.get(User, chosen).time_zone == "America/Bogota"


def test_a_made_up_browser_zone_is_ignored_at_sign_in(app, client, make):
    user = make.user("odd@example.org")
    resp = client.post(
        "/login",
        data={
            "email": "odd@example.org",
            "password": "correct horse battery staple",
            "browser_time_zone": "Nowhere/" + "x" * 300,
            "csrf_token": csrf_token(client),
        },
    )
    assert resp.status_code == 302
    with app.app_context():
        assert db.session.get(User, user).time_zone is None


def test_formatting_helpers(app):
    from mel_app import dates

    moment = datetime(2026, 12, 2, 11, 5, 7, 123456, tzinfo=UTC)
    with app.test_request_context():
        assert dates.format_datetime(moment) == "2 Dec 2026, 11:05 (UTC)"
        assert dates.format_date(moment.date(), "long") == "2 December 2026"
        assert dates.machine(moment) == "2026-12-02T11:05:07Z"
        with dates.for_zone("Asia/Kolkata"):
            assert dates.format_datetime(moment) == "2 Dec 2026, 16:35 (UTC+5:30)"
        with dates.for_zone("America/Bogota"):
            assert dates.format_time(moment) == "06:05 (UTC-5)"
        assert dates.format_time(moment) == "11:05 (UTC)"


def test_users_without_a_zone_see_the_configured_default(app, client, make, login):
    app.config["BABEL_DEFAULT_TIMEZONE"] = "Africa/Nairobi"
    make.user("default@example.org")
    login("default@example.org")
    page = client.get("/account").get_data(as_text=True)
    assert "(UTC+3)" in page and "Empty: Africa/Nairobi." in page
