"""`make bench` signs in and finds its pages the way it will on the real server."""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import urlencode

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(BENCH))

from forms import post_forms  # noqa: E402
from pages import PAGES, ROLES, SAVE_DRAFT  # noqa: E402
from plan import build_plan  # noqa: E402

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
}


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
    skipped = {s["name"] for s in plan["skipped"]}
    assert measured | skipped == {page.name for page in PAGES} and not measured & skipped
    for page in PAGES:
        assert (page.name in measured) == (page.endpoint in app.view_functions)
    for slot, accounts in enumerate(plan["slots"]):
        for role, email in accounts.items():
            client = app.test_client()
            assert sign_in(client, email) == 302, f"{role} {email} cannot sign in"
            for page in (p for p in plan["pages"] if p["role"] == role):
                assert client.get(page["urls"][slot]).status_code == 200, page["name"]


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
