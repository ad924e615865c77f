"""Every form, fuzzed (ASVS V1.2/V1.3 input handling, V2.2 business logic, V8.2 mass assignment).

Every POST route of the app is posted to, with a valid CSRF token, by each kind of user who may
use it (from the authorization matrix's policies), with Hypothesis-made variations of the form a
browser would send: random and huge (100,000 characters) text, values of the wrong type, missing
fields, and extra fields an attacker adds (status=approved, approved_by_id, is_admin, role=admin,
project_id of another project, ...). Two things must hold:

- no input ever yields a 500;
- the columns that decide who may do what — a submission's status and approver, users' admin
  flag and activity, memberships (who is in which project, with which role, hence who runs a
  project), partners, scorecards — change only as the route itself is meant to change them
  (`MAY_CHANGE`), never because of an extra field.

The form's fields are read from the page that carries it, in each route's own world, so the
fuzzing follows the forms as they change.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections import defaultdict
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
import sqlalchemy as sa
from flask import url_for
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import html as lxml_html
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import IntegerConverter

from config import TestingConfig
from mel_app import create_app
from mel_app.extensions import db
from mel_app.models import Membership, Partner, Scorecard, Submission, User
from tests.authz.world import build_world
from tests.conftest import csrf_token, is_postgres
from tests.security.conftest import (
    KINDS,
    POLICIES,
    get_routes,
    route_url,
    rules_by_endpoint,
    sign_in,
)

# Routes that end the fuzzing user's own session: signed in again before each example.
SIGNS_OUT = frozenset({"auth.logout", "account.change_password", "account.end_other_sessions"})
# The sign-in form counts failures per account and address: fuzzed, it would lock the world's
# users out for the next routes. It is fuzzed with its own throw-away accounts' emails.
COUNTS_FAILURES = frozenset({"auth.login", "auth.request_reset"})

# What each route may change among the protected columns ("table.column", or "table.rows" for
# rows added or removed). Anything else changing is a failure.
MAY_CHANGE: dict[str, set[str]] = {
    "submissions.submit": {"submission.status"},
    "submissions.withdraw": {"submission.status"},
    "submissions.return_": {"submission.status"},
    "submissions.approve": {"submission.status", "submission.approved_by_id"},
    "submissions.reopen": {"submission.status", "submission.approved_by_id"},
    "submissions.start_report": {"submission.rows"},
    "submissions.start_design_input": {"submission.rows"},
    "members.add": {"membership.rows", "user.rows"},
    "members.remove": {"membership.rows"},
    "admin.invite_user": {"user.rows", "user.is_admin"},
    "admin.user": {"user.is_admin", "user.organisation_id"},
    "admin.deactivate_user": {"user.is_active"},
    "admin.reactivate_user": {"user.is_active"},
    "projects.new": {"membership.rows"},
    "projects.partners": {"partner.rows"},
    "projects.remove_partner": {"partner.rows"},
    "evaluations.new": {"scorecard.rows", "membership.rows", "user.rows"},
    "evaluations.invite": {"scorecard.rows", "membership.rows", "user.rows"},
    "evaluations.scorecard": {"scorecard.status", "scorecard.rows"},
    "evaluations.reopen_scorecard": {"scorecard.status"},
    "auth.accept_invitation": {"user.is_active"},
}

PROTECTED = {
    "submission": (Submission, ("status", "approved_by_id", "author_id", "organisation_id", "project_id")),
    "user": (User, ("is_admin", "is_active", "organisation_id", "email")),
    "membership": (Membership, ("user_id", "project_id", "role", "organisation_id")),
    "partner": (Partner, ("project_id", "organisation_id")),
    "scorecard": (Scorecard, ("evaluation_id", "scorer_id", "status", "group")),
}


def protected_state(app) -> dict[str, dict[int, tuple]]:
    with app.app_context():
        state = {}
        for name, (model, columns) in PROTECTED.items():
            rows = db.session.execute(sa.select(model.id, *(getattr(model, c) for c in columns))).all()
            state[name] = {row[0]: tuple(row[1:]) for row in rows}
        db.session.remove()
    return state


def forbidden_changes(endpoint: str, before: dict, after: dict) -> list[str]:
    allowed = MAY_CHANGE.get(endpoint, set())
    problems = []
    for name, (_model, columns) in PROTECTED.items():
        old, new = before[name], after[name]
        if set(old) != set(new) and f"{name}.rows" not in allowed:
            problems.append(
                f"{name} rows added {sorted(set(new) - set(old))} removed {sorted(set(old) - set(new))}"
            )
        for row_id in set(old) & set(new):
            for column, was, now in zip(columns, old[row_id], new[row_id], strict=True):
                if was != now and f"{name}.{column}" not in allowed:
                    problems.append(f"{name} {row_id}: {column} {was!r} -> {now!r}")
    return problems


# ---------------------------------------------------------------------------------------------
# Which routes, by whom, with which fields


def post_endpoints(app) -> list[str]:
    return sorted(
        endpoint
        for endpoint, rules in rules_by_endpoint(app).items()
        if any("POST" in rule.methods for rule in rules)
    )


def users_of(endpoint: str) -> list[str]:
    """Kinds of user who get past the route's authorization (the ones whose input is processed)."""
    expected = POLICIES[endpoint].post or {}
    users = []
    for kind in KINDS:
        status = expected.get(kind)
        statuses = status if isinstance(status, tuple) else (status,)
        if any(s in (403, 404, 405, None) for s in statuses):
            continue
        if kind == "anonymous" and 302 in statuses:
            continue  # sent to the sign-in page
        users.append(kind)
    return users


def _action(form, page_url: str) -> str:
    """The path a form posts to (a form without an action posts to its own page)."""
    return urlsplit(form.get("action") or page_url).path


def form_fields(body: str, action_path: str, page_url: str) -> dict[str, list[str]] | None:
    """The fields a browser would send for the POST form whose action is `action_path`."""
    document = lxml_html.document_fromstring(body)
    for form in document.iter("form"):
        if (form.get("method") or "get").lower() != "post":
            continue
        if _action(form, page_url) != action_path:
            continue
        fields: dict[str, list[str]] = defaultdict(list)
        for element in form.iter("input", "textarea", "select", "button"):
            name = element.get("name")
            if not name or name == "csrf_token":
                continue
            kind = (element.get("type") or "").lower()
            if element.tag == "select":
                options = [o.get("value", o.text_content()) for o in element.iter("option")]
                chosen = [
                    o.get("value", o.text_content()) for o in element.iter("option") if o.get("selected")
                ]
                fields[name] += chosen or [v for v in options if v][:1] or [""]
            elif element.tag == "textarea":
                fields[name].append(element.text or "")
            elif kind in ("checkbox", "radio"):
                if element.get("checked") is not None or not fields.get(name):
                    fields[name].append(element.get("value", "y"))
            elif kind == "file":
                continue
            elif element.tag == "button" or kind == "submit":
                fields.setdefault(name, [element.get("value", "")])
            else:
                fields[name].append(element.get("value", ""))
        return dict(fields)
    return None


def _form_pages(app, world) -> dict[str, list[tuple[str, str]]]:
    """Where each POST route's form is shown: endpoint -> [(GET endpoint, kind)]."""
    adapter = app.url_map.bind("localhost")
    found: dict[str, list[tuple[str, str]]] = defaultdict(list)
    clients = sign_in(app, world)
    for get_endpoint, rule in get_routes(app):
        if get_endpoint == "static":
            continue
        url = route_url(app, get_endpoint, rule, world)
        for kind in KINDS:
            with clients[kind].get(url) as resp:
                if resp.status_code != 200 or not resp.mimetype.startswith("text/html"):
                    continue
                document = lxml_html.document_fromstring(resp.get_data(as_text=True))
            for form in document.iter("form"):
                if (form.get("method") or "").lower() != "post":
                    continue
                try:
                    endpoint, _args = adapter.match(_action(form, url), method="POST")
                except (MethodNotAllowed, NotFound):
                    continue
                if (get_endpoint, kind) not in found[endpoint]:
                    found[endpoint].append((get_endpoint, kind))
    return found


# ---------------------------------------------------------------------------------------------
# What an attacker sends

HUGE = "A" * 100_000
# The longest value a query string can carry to the app: gunicorn refuses a request line longer than
# 4,094 bytes (its limit_request_line) before the app sees it. Every parameter gets it at once, so
# the request the test makes is far longer than any that can reach the app; each byte costs the
# test client's URL handling time, hence no longer still.
LONGEST_QUERY_VALUE = "A" * 4_000
WRONG_TYPES = [
    "",
    " ",
    "-1",
    "0",
    "999999999999999999999999",
    "1e309",
    "NaN",
    "-Infinity",
    "0x1F",
    "abc",
    "2026-02-30",
    "9999-99-99",
    "true",
    "None",
    "[]",
    "{}",
    "<script>alert(1)</script>",
    "'; DROP TABLE submission; --",
    "\x00",
    "../../etc/passwd",
    "🙂" * 50,
]


def extra_fields(world) -> dict[str, str]:
    """Fields no form has, which a mass-assignment bug would take over."""
    return {
        "status": "approved",
        "approved_by_id": str(world.user_admin),
        "author_id": str(world.user_reporter_other_org),
        "organisation_id": str(world.org_other_project),
        "project_id": str(world.other_project),
        "user_id": str(world.user_admin),
        "role": "admin",
        "is_admin": "y",
        "is_active": "y",
        "scorer_id": str(world.user_reporter_same_org),
        "group": "ilo",
        "submission_id": str(world.other_org_submission),
        "evaluation_id": str(world.closed_evaluation),
        "version": "1",
    }


def value_strategy(original: list[str]):
    return st.one_of(
        st.just(original),
        st.just(None),  # the field is left out
        st.lists(st.text(max_size=40), min_size=1, max_size=3),
        st.sampled_from(WRONG_TYPES).map(lambda v: [v]),
        st.just([HUGE]),
    )


@st.composite
def attack(draw, fields: dict[str, list[str]], extras: dict[str, str]):
    data: dict[str, list[str]] = {}
    for name, original in fields.items():
        values = draw(value_strategy(original))
        if values is not None:
            data[name] = values
    for name in draw(st.lists(st.sampled_from(sorted(extras)), unique=True, max_size=len(extras))):
        if name not in fields:
            data[name] = [extras[name]]
    if draw(st.booleans()):
        data[draw(st.text(min_size=1, max_size=20))] = [draw(st.text(max_size=20))]
    return data


# ---------------------------------------------------------------------------------------------
# The fuzzing


@pytest.fixture(scope="module")
def form_pages(module_app, module_make):
    return _form_pages(module_app, build_world(module_app, module_make))


def _fresh_client(app, world, kind: str):
    return sign_in(app, world)[kind]


# The fuzzed object, where the matrix's default cannot take input (a submitted report is no
# longer the organisation's to edit; its draft design input is).
FUZZ_ARGS = {
    "submissions.save": lambda w: {"sub_id": w.draft_submission},
    "submissions.autosave": lambda w: {"sub_id": w.draft_submission},
}
# Routes posted to by the page's script with another form's fields.
SAME_FIELDS_AS = {"submissions.autosave": "save"}
ENDPOINTS = post_endpoints(create_app(TestingConfig, SQLALCHEMY_DATABASE_URI="sqlite://"))


def _ancestors(path: str) -> list[str]:
    parts = path.rstrip("/").split("/")
    return ["/".join(parts[:i]) for i in range(len(parts) - 1, 1, -1)]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_fuzzed_form_never_errs_and_never_changes_what_it_may_not(app, make, form_pages, endpoint):
    users = users_of(endpoint)
    if not users:
        pytest.skip("nobody gets past its authorization")
    rule = next(r for r in rules_by_endpoint(app)[endpoint] if "POST" in r.methods)
    world = build_world(app, make)
    if endpoint in FUZZ_ARGS:
        with app.test_request_context():
            url = url_for(endpoint, **{**world.url_args(set(rule.arguments)), **FUZZ_ARGS[endpoint](world)})
    else:
        url = route_url(app, endpoint, rule, world)
    clients = sign_in(app, world)
    action = urlsplit(url).path
    if endpoint in SAME_FIELDS_AS:
        action = action.rsplit("/", 1)[0] + "/" + SAME_FIELDS_AS[endpoint]

    # The page that shows the form: where the matrix's world showed it, or the URL's parents.
    pages = [
        (route_url(app, get_endpoint, next(r for n, r in get_routes(app) if n == get_endpoint), world), kind)
        for get_endpoint, kind in form_pages.get(endpoint, [])
    ] + [(parent, kind) for parent in _ancestors(action) for kind in users]
    fields: dict[str, list[str]] = {}
    for page_url, kind in pages:
        with clients[kind].get(page_url) as resp:
            if resp.status_code != 200 or not resp.mimetype.startswith("text/html"):
                continue
            found = form_fields(resp.get_data(as_text=True), action, page_url)
        if found:
            fields = found
            break
    route = POLICIES[endpoint]
    for name, value in (route.data(world) if callable(route.data) else route.data).items():
        fields.setdefault(name, [str(value)])
    if endpoint in COUNTS_FAILURES:
        # Unknown and throw-away addresses: the world's users are never locked out.
        fields["email"] = ["nobody@example.org"]
    extras = extra_fields(world)
    problems: list[str] = []
    # The protected columns as they stand: read after each post, which is the next one's "before"
    # (nothing else writes to them between two posts of this test).
    state = [protected_state(app)]

    def changes_by(label: str) -> None:
        before, state[0] = state[0], protected_state(app)
        problems.extend(
            f"{endpoint} as {label}: {change}" for change in forbidden_changes(endpoint, before, state[0])
        )

    @settings(
        max_examples=6,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(data=attack(fields, extras), who=st.sampled_from(users))
    def fuzz(data, who):
        client = _fresh_client(app, world, who) if endpoint in SIGNS_OUT else clients[who]
        body = [(name, value) for name, values in data.items() for value in values]
        body.append(("csrf_token", csrf_token(client)))
        with client.post(url, data=MultiDict(body)) as resp:
            status = resp.status_code
            page = resp.get_data()
        digest = hashlib.sha256(repr(sorted(data)).encode()).hexdigest()[:8]
        if status >= 500:
            problems.append(f"{endpoint} as {who}: {status} for fields {sorted(data)} ({digest})")
        assert b"Traceback" not in page
        changes_by(f"{who} with {sorted(data)}")

    fuzz()
    # Plus, for every user: the legitimate form with every extra field at once, and every field
    # at once holding a NUL byte (PostgreSQL refuses it in text) or a huge text.
    variants = {
        "extra fields": {**fields, **{k: [v] for k, v in extras.items() if k not in fields}},
        "NUL bytes": {name: ["a\x00b"] for name in fields},
        "huge text": {name: [HUGE] for name in fields},
        **{
            f"every field {label}": {name: [number] for name in fields}
            for label, number in OUT_OF_RANGE_INTEGERS.items()
        },
    }
    for who in users:
        for label, variant in variants.items():
            client = _fresh_client(app, world, who) if endpoint in SIGNS_OUT else clients[who]
            body = [(n, v) for n, values in variant.items() for v in values]
            body.append(("csrf_token", csrf_token(client)))
            with client.post(url, data=MultiDict(body)) as resp:
                if resp.status_code >= 500:
                    problems.append(f"{endpoint} as {who}: {resp.status_code} for the form with {label}")
            changes_by(f"{who} with {label}")
    # Bodies no page of the app sends: JSON of every type (with the token in the header, as a
    # script would send it, and without) and broken or unexpected multipart. JSON is refused before
    # anything reads it, multipart when the form is filled (mel_app/security.py): no database can
    # change what happens, so they are sent on SQLite only, the other pass of `make test`.
    for who in users if not is_postgres() else []:
        client = _fresh_client(app, world, who) if endpoint in SIGNS_OUT else clients[who]
        for label, kwargs in odd_bodies(fields, csrf_token(client)):
            with client.post(url, **kwargs) as resp:
                if resp.status_code >= 500:
                    problems.append(f"{endpoint} as {who}: {resp.status_code} for {label}")
                if label.startswith("JSON") and resp.status_code < 400:
                    problems.append(f"{endpoint} as {who}: {resp.status_code} for {label}, not refused")
            changes_by(f"{who} with {label}")
    assert not problems, "\n".join(problems[:20])


# Whole numbers no identifier, version, page or count of the app reaches: above PostgreSQL's
# integer, above SQLite's 64 bits, far below zero, and 400 digits.
OUT_OF_RANGE_INTEGERS = {
    "2**31": str(2**31),
    "2**63": str(2**63),
    "-2**63-1": str(-(2**63) - 1),
    "400 digits": "9" * 400,
}
JSON_BODIES = {
    "an object": '{"version": 99999999999999999999999, "title": "x"}',
    "an array": '[1, "two", {"three": 3}]',
    "a string": '"hello"',
    "a number": "12345678901234567890",
    "null": "null",
    "true": "true",
    "invalid JSON": '{"unclosed": ',
}


def odd_bodies(fields: dict[str, list[str]], token: str):
    """(label, keyword arguments for client.post) of the bodies a browser never sends."""
    for label, body in JSON_BODIES.items():
        for header, with_token in (({"X-CSRFToken": token}, "with"), ({}, "without")):
            yield (
                f"JSON {label} {with_token} the token in a header",
                {"data": body, "content_type": "application/json", "headers": header},
            )
    yield "multipart without a boundary", {"data": b"abc", "content_type": "multipart/form-data"}
    yield (
        "multipart cut short",
        {
            "data": b"--xyz\r\nContent-Disposition: form-data; name=",
            "content_type": "multipart/form-data; boundary=xyz",
        },
    )
    # Every field of the form sent as a file instead of text.
    files = MultiDict([(name, (io.BytesIO(b"a file, not text"), "field.txt")) for name in fields])
    files.add("csrf_token", token)
    yield "every field as a file", {"data": files, "content_type": "multipart/form-data"}
    yield (
        "a urlencoded body that is not urlencoded",
        {"data": b"%%%\xff\xfe=&&==", "content_type": "application/x-www-form-urlencoded"},
    )


def _get_form_field_names() -> set[str]:
    """Fields of the forms that GET pages read from the query string (filters, searches, scopes)."""
    from flask_wtf import FlaskForm

    names: set[str] = set()
    todo = list(FlaskForm.__subclasses__())
    while todo:
        form = todo.pop()
        todo.extend(form.__subclasses__())
        if form.__module__.startswith("mel_app."):
            names.update(name for name, _field in getattr(form, "_unbound_fields", None) or ())
    return names


QUERY_NAMES = (
    "q",
    "actor",
    "action",
    "entity_type",
    "entity_id",
    "project",
    "organisation",
    "period",
    "kind",
    "age",
    "status",
    "group",
    "country",
    "page",
    "date_from",
    "date_to",
    "next",
    "what",
    "format",
    # Read as whole numbers by the views: pages, parents, positions in the trail, versions.
    "parent",
    "before",
    "after",
    "v",
    "version",
    "id",
)


# Values only the app reads (a long text, a path, numbers Python cannot read as whole numbers)
# are tried in the SQLite pass only; those a database reads in its own way (a NUL byte, a negative
# offset, whole numbers beyond 32 and 64 bits) in both.
APP_ONLY = pytest.mark.same_on_every_database


@pytest.mark.parametrize(
    "value",
    [
        "a\x00b",
        pytest.param(LONGEST_QUERY_VALUE, id="longest", marks=APP_ONLY),
        "-1",
        pytest.param("1e309", marks=APP_ONLY),
        pytest.param("../../etc/passwd", marks=APP_ONLY),
        pytest.param("²", marks=APP_ONLY),
        *OUT_OF_RANGE_INTEGERS.values(),
    ],
)
def test_query_parameters_never_err(app, make, value):
    """The GET pages' filters and every form field a page may read from the query string, given
    what no filter form would send."""
    world = build_world(app, make)
    clients = sign_in(app, world)
    with app.app_context():
        names = sorted(set(QUERY_NAMES) | _get_form_field_names())
    query = "&".join(f"{name}={quote(value)}" for name in names)
    problems = []
    for endpoint, rule in get_routes(app):
        if endpoint == "static":
            continue
        url = route_url(app, endpoint, rule, world)
        for kind in ("admin", "specialist", "reporter_same_org", "evaluator"):
            with clients[kind].get(f"{url}?{query}") as resp:
                if resp.status_code >= 500:
                    problems.append(f"GET {url}?… as {kind}: {resp.status_code}")
    assert not problems, "\n".join(problems)


def _integer_arguments(rule) -> list[str]:
    return [name for name, converter in rule._converters.items() if isinstance(converter, IntegerConverter)]


def test_out_of_range_integers_in_every_address_are_not_found(app, make):
    """Every route with a number in its address, given one no row can have: not found, never a 500."""
    world = build_world(app, make)
    clients = sign_in(app, world)
    problems, tried = [], 0
    for endpoint, rules in sorted(rules_by_endpoint(app).items()):
        for rule in rules:
            route = POLICIES.get(endpoint)
            given = route.args(world) if route and route.args else {}
            args = {**world.url_args(set(rule.arguments) - set(given)), **given}
            for name in _integer_arguments(rule):
                for label, number in OUT_OF_RANGE_INTEGERS.items():
                    with app.test_request_context():
                        url = url_for(endpoint, **{**args, name: number})
                    for method in sorted(rule.methods & {"GET", "POST"}):
                        client = clients["admin"]
                        data = {"csrf_token": csrf_token(client)} if method == "POST" else None
                        tried += 1
                        with client.open(url, method=method, data=data) as resp:
                            # 405 where another route has the same shape for other methods.
                            if resp.status_code not in (404, 405):
                                problems.append(f"{method} {endpoint} {name}={label}: {resp.status_code}")
    assert tried > 100, "the routes with numbers in their address were found"
    assert not problems, "\n".join(problems[:30])


APP_ROOT = Path(__file__).resolve().parents[2] / "mel_app"


def number_reading_problems(source: str, where: str) -> list[str]:
    """Lines that turn request input into a number by hand instead of through mel_app/integers.py."""
    problems = []
    for number, line in enumerate(source.splitlines(), 1):
        code = line.split("#", 1)[0]
        if "type=int" in code and "click.option" not in code:
            problems.append(f"{where}:{number}: type=int (use arg_int)")
        if re.search(r"(?<!Bounded)\bIntegerField\(", code):
            problems.append(f"{where}:{number}: IntegerField (use BoundedIntegerField)")
        if ".isdigit()" in code and "int(" in code:
            problems.append(f"{where}:{number}: isdigit() then int() (use to_int)")
    return problems


def test_numbers_are_read_from_requests_only_through_the_bounded_helpers():
    """The class of the overflows above: no number is read from input without its bounds."""
    problems = []
    for path in sorted(APP_ROOT.rglob("*.py")):
        relative = path.relative_to(APP_ROOT)
        if relative.name in ("integers.py", "cli.py"):
            continue  # the command line reads no request
        problems += number_reading_problems(path.read_text(encoding="utf-8"), str(relative))
    assert not problems, "\n".join(problems)
    caught = number_reading_problems(
        'page = request.args.get("page", 1, type=int)\nn = IntegerField("N")\n'
        "k = int(v) if v.isdigit() else None\nok = BoundedIntegerField('N')\n",
        "example.py",
    )
    assert [p.split(":")[1] for p in caught] == ["1", "2", "3"], caught
