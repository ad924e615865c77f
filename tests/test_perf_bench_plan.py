"""`make bench` signs in and finds its pages the way it will on the real server."""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(BENCH))

from forms import post_forms  # noqa: E402
from pages import PAGES, ROLES, SAVE_DRAFT  # noqa: E402
from plan import TOKEN_NAME, build_plan, revoke_bench_tokens  # noqa: E402

from bench.loadgen import LOAD_PASSWORD  # noqa: E402
from tests.test_perf_loadgen import seed_load  # noqa: E402

AGREED = {
    "auth.login",
    "main.home",
    "projects.index",
    "projects.portfolio",
    "projects.detail",
    "members.index",
    "submissions.review_queue",
    "submissions.detail",
    "evaluations.detail",
    "evaluations.scorecard",
    "evaluations.consolidated",
    "audit.entity_history",
    "audit.trail",
    "exports.index",
    "admin.users",
    "admin.organisations",
    "account.profile",
    "api_v1.projects",
    "api_v1.submissions",
    "api_v1.submission",
    "api_v1.status_grid",
}
# Lines the plan leaves out when the data has nothing for them: a small portfolio's project list
# has a single page, so no cursor to a next one.
DATA_SKIPS = {"API project list, next page: admin": "the data gives no cursor"}


def test_the_page_list_names_only_agreed_endpoints_and_known_roles():
    assert {page.endpoint for page in PAGES} <= AGREED
    assert {page.role for page in PAGES} <= {*ROLES, "anonymous"}
    assert len({page.name for page in PAGES}) == len(PAGES)


def sign_in(client, email: str) -> int:
    page = client.get("/login").get_data(as_text=True)
    (form,) = [f for f in post_forms(page, "http://localhost/login") if f.field("password")]
    data = [(k, v) for k, v in form.values() if k not in ("email", "password")]
    data += [("email", email), ("password", LOAD_PASSWORD)]
    return client.post(
        "/login", data=urlencode(data), content_type="application/x-www-form-urlencoded"
    ).status_code


def test_the_plan_gives_every_role_an_account_and_every_registered_page_a_working_url(app, runner):
    seed_load(runner)
    plan = build_plan(app, users=3, seed=1)
    assert all(set(slot) == set(ROLES) and all(slot.values()) for slot in plan["slots"])
    measured = {page["name"] for page in plan["pages"]}
    skipped = {s["name"]: s["reason"] for s in plan["skipped"]}
    assert measured | set(skipped) == {page.name for page in PAGES} and not measured & set(skipped)
    for page in PAGES:
        registered = page.endpoint in app.view_functions
        assert (page.name in measured) == (registered and page.name not in DATA_SKIPS), page.name
        if registered and page.name in DATA_SKIPS:
            assert skipped[page.name] == DATA_SKIPS[page.name]
    for slot, accounts in enumerate(plan["slots"]):
        for role, email in accounts.items():
            client = app.test_client()
            assert sign_in(client, email) == 302, f"{role} {email} cannot sign in"
            for page in (p for p in plan["pages"] if p["role"] == role and not p["api"]):
                assert client.get(page["urls"][slot]).status_code == 200, page["name"]
            token = {"Authorization": f"Bearer {plan['tokens'].get(email)}"}
            for page in (p for p in plan["pages"] if p["role"] == role and p["api"]):
                # The token alone, as a script sends it: a client that never signed in.
                answer = app.test_client().get(page["urls"][slot], headers=token)
                assert answer.status_code == 200, (page["name"], answer.get_json())


def test_the_api_lines_read_with_read_tokens_of_their_owners_made_as_a_person_makes_them(app, runner):
    from mel_app.extensions import db
    from mel_app.models import ApiToken, User
    from mel_app.permissions import staff_for_two_factor

    seed_load(runner)
    first = build_plan(app, users=2, seed=1)
    api_roles = {page.role for page in PAGES if page.api}
    owners = {accounts[role] for accounts in first["slots"] for role in api_roles}
    assert set(first["tokens"]) == owners
    plan = build_plan(app, users=2, seed=1)  # a second run replaces the first run's tokens
    with app.test_request_context():
        for email in owners:
            user = db.session.scalar(sa.select(User).where(User.email == email))
            live = db.session.execute(
                sa.select(ApiToken.name, ApiToken.scopes).where(
                    ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)
                )
            ).all()
            assert live == [(TOKEN_NAME, "read")]
            # Staff (administrators, specialists) switched two-factor sign-in on first, as the
            # product requires of them before a token.
            assert user.two_factor_enabled == staff_for_two_factor(user)
    client = app.test_client()
    old, new = first["tokens"][min(owners)], plan["tokens"][min(owners)]
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {old}"}).status_code == 401
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {new}"}).status_code == 200
    assert revoke_bench_tokens(app, list(plan["tokens"])) == len(owners)
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {new}"}).status_code == 401
    with app.app_context():
        assert not db.session.scalar(
            sa.select(sa.func.count())
            .select_from(ApiToken)
            .where(ApiToken.name == TOKEN_NAME, ApiToken.revoked_at.is_(None))
        )


def test_a_form_is_sent_back_with_its_hidden_fields_and_one_text_changed_back_and_forth():
    html = """
      <form method="post" action="/logout"><input name="csrf_token" value="t"></form>
      <form method="post" action="/submissions/7">
        <input type="hidden" name="csrf_token" value="tok"><input type="hidden" name="version" value="3">
        <textarea name="achievements">
We trained 40 people</textarea>
        <select name="lang"><option value="en">en</option><option value="fr" selected>fr</option></select>
        <input type="checkbox" name="final" value="y">
        <button name="action" value="submit">Submit</button>
        <button name="action" value="save">Save draft</button>
      </form>"""
    (form,) = [f for f in post_forms(html, "http://localhost/submissions/7") if SAVE_DRAFT.pick(f)]
    sent = SAVE_DRAFT.fill(form, {})
    assert form.action == "http://localhost/submissions/7"
    assert sent == [
        ("csrf_token", "tok"),
        ("version", "3"),
        ("achievements", "We trained 40 people ·"),
        ("lang", "fr"),
        ("action", "save"),
    ]
    form.field("achievements").value = "We trained 40 people ·"
    assert dict(SAVE_DRAFT.fill(form, {}))["achievements"] == "We trained 40 people"


@pytest.fixture(autouse=True, scope="module")
def _forget_bench_modules():
    yield
    for name in ("forms", "pages", "plan"):
        sys.modules.pop(name, None)
    sys.path.remove(str(BENCH))
