"""History pages in words users know, in their language, with valid machine-readable times."""

from __future__ import annotations

import html
import re

import pytest

from mel_app import audit
from mel_app.extensions import db
from mel_app.models import Submission, User
from tests.conftest import csrf_token
from tests.test_audit_views import _login, world  # noqa: F401 - the `world` fixture, through `w`

# A valid HTML global date and time: whole seconds, with Z or an offset.
MACHINE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})")


@pytest.fixture
def w(request):
    """The History tests' world (tests/test_audit_views.py): two projects, people in every role."""
    return request.getfixturevalue("world")


def _text(page: str) -> str:
    """What a reader sees (and hears): the page without its tags and attributes."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def _comment_event(app, w) -> None:
    with app.app_context():
        audit.set_actor(db.session(), audit.Actor(w.users["specialist"], "Specialist"))
        audit.record(db.session, "submission.comment", target=db.session.get(Submission, w.sub))
        db.session.commit()


def test_time_elements_on_audit_and_history_pages_carry_valid_values(app, client, w):
    _login(client, w, "admin")
    pages = [
        "/audit",
        f"/history/submission/{w.sub}",
        f"/history/project/{w.project}",
        f"/history/user/{w.users['reporter_same_org']}",
        f"/history/scorecard/{w.scorecard}",
    ]
    found = 0
    for path in pages:
        page = client.get(path).get_data(as_text=True)
        values = re.findall(r'<time datetime="([^"]*)"', page)
        found += len(values)
        bad = [v for v in values if not MACHINE_TIME.fullmatch(v)]
        assert not bad, f"{path}: invalid <time datetime> values {bad[:3]}"
    assert found > 10


def test_a_french_history_page_has_no_english_words_left(app, client, w):
    with app.app_context():
        db.session.get(User, w.users["specialist"]).preferred_language = "fr"
        db.session.commit()
    _comment_event(app, w)
    _login(client, w, "specialist")
    page = client.get(f"/history/submission/{w.sub}").get_data(as_text=True)
    text = _text(page)
    assert "Historique" in text
    english = re.findall(
        r"\b(Event|Reason|was|now|Before|After|Created|Changed|Comment added|Indicator value|Edit number"
        r"|Submission|Times are in)\b",
        text,
    )
    assert english == [], english


def test_history_names_records_and_fields_as_users_know_them(app, client, w):
    _comment_event(app, w)
    _login(client, w, "specialist")
    page = client.get(f"/history/submission/{w.sub}").get_data(as_text=True)
    text = _text(page)
    assert "Comment added" in text and "submission.comment" not in page
    assert "Value of indicator 1.a “Members trained” for 2026 H1" in text
    assert "Progress report of FUK for 2026 H1" in text  # the report by kind, organisation and period
    assert not re.search(r"(Indicator value|Submission|Comment) #\d+", text), "no record by its number"
    assert "Edit number" not in text, "the edit counter is not a change a reader needs"
    # Old → new in words (the hidden "was"/"now" are read out by screen readers).
    assert "Status: was Awaiting review → now Returned for revision" in re.sub(r"\s+", " ", text)

    page = client.get(f"/history/project/{w.project}").get_data(as_text=True)
    text = _text(page)
    # The label of the indicator form ("A higher value is better"), not another wording of it.
    assert "A higher value is better" in text and "Higher is better" not in text
    assert "Reports due on" in text  # the period form's label of due_date
    assert "Indicator added" in text and "Reporting period added" in text


def test_the_trail_keeps_action_codes_for_its_filter(app, client, w):
    _comment_event(app, w)
    _login(client, w, "admin")
    page = client.get("/audit").get_data(as_text=True)
    assert "<code>submission.comment</code>" in page


def test_the_history_page_is_titled_by_the_records_name(app, client, w):
    _login(client, w, "specialist")
    page = client.get(f"/history/indicator_value/{w.value}").get_data(as_text=True)
    assert "<h1>History: Value of indicator 1.a “Members trained” for 2026 H1</h1>" in page


def test_the_trail_says_which_zone_its_times_are_in(app, client, w):
    with app.app_context():
        db.session.get(User, w.users["admin"]).time_zone = "Africa/Nairobi"
        db.session.commit()
    _login(client, w, "admin")
    text = _text(client.get("/audit").get_data(as_text=True))
    assert "Times are in your time zone, Africa/Nairobi." in text
    assert "(UTC+3)" in text and "Times are in UTC" not in text
    client.post("/logout", data={"csrf_token": csrf_token(client)})


def test_the_trails_day_filter_uses_the_readers_days(app, client, w):
    """Kiritimati (UTC+14) and Pago Pago (UTC-11) never share a calendar day."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    with app.app_context():
        db.session.get(User, w.users["admin"]).time_zone = "Pacific/Kiritimati"
        db.session.commit()
    _login(client, w, "admin")
    now = datetime.now(UTC)
    here = now.astimezone(ZoneInfo("Pacific/Kiritimati")).date().isoformat()
    elsewhere = now.astimezone(ZoneInfo("Pacific/Pago_Pago")).date().isoformat()
    page = client.get("/audit", query_string={"date_from": here, "date_to": here}).get_data(as_text=True)
    assert "Returned for revision" in page
    page = client.get("/audit", query_string={"date_from": elsewhere, "date_to": elsewhere}).get_data(
        as_text=True
    )
    assert "No event matches these filters." in page


def test_reasons_the_app_records_are_read_in_the_readers_language(app, client, w):
    with app.app_context():
        db.session.get(User, w.users["reporter_same_org"]).preferred_language = "fr"
        db.session.commit()
    stranger = app.test_client()
    stranger.post(
        "/login",
        data={
            "email": "reporter_same_org@example.org",
            "password": "not it",
            "csrf_token": csrf_token(stranger),
        },
    )
    _login(client, w, "reporter_same_org")
    text = _text(client.get(f"/history/user/{w.users['reporter_same_org']}").get_data(as_text=True))
    text = re.sub(r"\s+", " ", text)
    assert "Motif : adresse électronique ou mot de passe erroné" in text
    assert "bad credentials" not in text


def test_numbers_in_a_history_are_written_the_readers_way(app, client, w):
    from decimal import Decimal

    from mel_app.models import IndicatorValue

    with app.app_context():
        audit.set_actor(db.session(), audit.Actor(w.users["reporter_same_org"], "Reporter"))
        db.session.get(IndicatorValue, w.value).value = Decimal("1234.5")
        db.session.get(User, w.users["specialist"]).preferred_language = "fr"
        db.session.commit()
    _login(client, w, "specialist")
    text = re.sub(r"\s+", " ", _text(client.get(f"/history/submission/{w.sub}").get_data(as_text=True)))
    text = text.replace("\u202f", " ").replace("\xa0", " ")
    assert "Valeur : auparavant 12 → désormais 1 234,5" in text  # French spacing before the colon


def test_a_language_is_shown_by_its_name(app, client, w):
    with app.app_context():
        audit.set_actor(db.session(), audit.Actor(w.users["reporter_same_org"], "Reporter"))
        db.session.get(User, w.users["reporter_same_org"]).preferred_language = "es"
        db.session.commit()
    _login(client, w, "reporter_same_org")
    text = re.sub(
        r"\s+", " ", _text(client.get(f"/history/user/{w.users['reporter_same_org']}").get_data(as_text=True))
    )
    assert "Idioma de las páginas y los correos electrónicos: antes English → ahora Español" in text, text[
        -2000:
    ]
