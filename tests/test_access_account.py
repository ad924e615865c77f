"""The profile page: name, language and password of the signed-in user."""

from __future__ import annotations

import sqlalchemy as sa

from mel_app.extensions import db
from mel_app.models import AuditEvent, User
from tests.audit_helpers import changed
from tests.factories import PASSWORD


def test_a_user_changes_name_and_language(app, client, make, login, post):
    user = make.user("rep@example.org", full_name="Grace W")
    login("rep@example.org")
    page = client.get("/account").get_data(as_text=True)
    assert 'value="Grace W"' in page and "Language of the pages and emails" in page
    resp = post("/account", {"full_name": "Grace Wanjiru", "preferred_language": "es"})
    assert resp.status_code == 302
    page = client.get("/account").get_data(as_text=True)
    assert '<html lang="es">' in page
    with app.app_context():
        assert db.session.get(User, user).full_name == "Grace Wanjiru"
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "user.profile_update"))
        assert changed(event.after) == {"full_name": "Grace Wanjiru", "preferred_language": "es"}


def test_an_invalid_profile_comes_back_with_the_input(client, make, login, post):
    make.user("rep@example.org")
    login("rep@example.org")
    resp = post("/account", {"full_name": "", "preferred_language": "fr"})
    assert resp.status_code == 400
    assert '<option selected value="fr">' in resp.get_data(as_text=True)
    resp = post("/account", {"full_name": "Someone", "preferred_language": "de"})
    assert resp.status_code == 400, "only the app's languages"


def test_changing_the_password_needs_the_current_one_and_a_good_new_one(app, client, make, login, post):
    make.user("rep@example.org", full_name="Grace Wanjiru")
    login("rep@example.org")
    resp = post("/account/password", {"current_password": "wrong one", "password": "x", "confirm": "x"})
    assert resp.status_code == 400
    page = resp.get_data(as_text=True)
    assert "The current password is not right" in page
    resp = post(
        "/account/password",
        {"current_password": PASSWORD, "password": "gracewanjiru1", "confirm": "gracewanjiru1"},
    )
    assert resp.status_code == 400 and "too common or too easy to guess" in resp.get_data(as_text=True)
    new = "mango river lighthouse"
    resp = post("/account/password", {"current_password": PASSWORD, "password": new, "confirm": new})
    assert resp.status_code == 302
    login("rep@example.org", new, on=app.test_client())
    with app.app_context():
        assert db.session.scalar(sa.select(AuditEvent.id).where(AuditEvent.action == "user.password_change"))


def test_a_hash_with_old_parameters_is_upgraded_at_the_next_sign_in(app, make, login):
    from argon2 import PasswordHasher, Type

    user = make.user("rep@example.org")
    old = PasswordHasher(time_cost=1, memory_cost=512, parallelism=1, type=Type.ID).hash(PASSWORD)
    with app.app_context():
        db.session.get(User, user).password_hash = old
        db.session.commit()
    login("rep@example.org")
    with app.app_context():
        stored = db.session.get(User, user).password_hash
    assert stored != old and stored.startswith("$argon2id$")
    assert f"m={app.config['ARGON2_MEMORY_COST']},t={app.config['ARGON2_TIME_COST']}" in stored
    login("rep@example.org", on=app.test_client())
