"""Every download of project data is in the audit trail: who took which file, when.

The routes come from the authorization matrix (tests/authz): every GET route, and every POST
route its policy answers with a page (200), is tried by every kind of user; any answer sent as an
attachment must have added a `*.download` event naming that user. A new download route is
checked as soon as it has a policy.
"""

from __future__ import annotations

import sqlalchemy as sa

from mel_app.extensions import db
from mel_app.models import Attachment, AuditEvent, User
from tests.authz.world import audit_head, build_world
from tests.conftest import csrf_token
from tests.security.conftest import KINDS, POLICIES, get_routes, route_url, rules_by_endpoint, sign_in

# The blank import template holds example rows only, no one's data: nothing to trace.
NO_PROJECT_DATA = frozenset({"projects.framework_template"})
# The downloads the sweep must reach, or it proves nothing.
KNOWN_DOWNLOADS = frozenset(
    {
        "submissions.attachment",
        "projects.export_framework",
        "exports.download",
        "audit.download",
        "evaluations.download_results",
        "projects.portfolio_by_tag_csv",
        "projects.story_evidence",
    }
)


def _download_events(app, after: int) -> list[tuple[str, int | None]]:
    with app.app_context():
        rows = db.session.execute(
            sa.select(AuditEvent.action, AuditEvent.actor_id).where(AuditEvent.id > after)
        ).all()
        db.session.remove()
    return [(action, actor) for action, actor in rows if action.endswith(".download")]


def _is_attachment(resp) -> bool:
    return resp.status_code == 200 and resp.headers.get("Content-Disposition", "").startswith("attachment")


def test_every_download_route_records_who_downloaded_what(app, make):
    world = build_world(app, make)
    clients = sign_in(app, world)
    seen, problems = set(), []

    def check(endpoint: str, kind: str, method: str, url: str, resp, head: int) -> None:
        if not _is_attachment(resp) or endpoint in NO_PROJECT_DATA:
            return
        seen.add(endpoint)
        user_id = world.ids[f"user_{kind}"] if kind != "anonymous" else None
        events = _download_events(app, head)
        if not any(actor == user_id for _action, actor in events):
            problems.append(f"{method} {url} as {kind}: a file, but no download event ({events})")

    for endpoint, rule in get_routes(app):
        if endpoint == "static":
            continue
        url = route_url(app, endpoint, rule, world)
        for kind in KINDS:
            head = audit_head(app)
            with clients[kind].get(url) as resp:
                resp.get_data()  # a streamed download records before its first byte
                check(endpoint, kind, "GET", url, resp, head)

    for endpoint, rules in sorted(rules_by_endpoint(app).items()):
        route = POLICIES.get(endpoint)
        expected = (route.post or {}) if route else {}
        for rule in rules:
            if "POST" not in rule.methods:
                continue
            url = route_url(app, endpoint, rule, world)
            data = route.data(world) if callable(route.data) else dict(route.data)
            for kind in KINDS:
                if expected.get(kind) != 200:
                    continue  # refused, or an action that redirects: not a download
                head = audit_head(app)
                with clients[kind].post(url, data={**data, "csrf_token": csrf_token(clients[kind])}) as resp:
                    resp.get_data()
                    check(endpoint, kind, "POST", url, resp, head)

    assert seen >= KNOWN_DOWNLOADS, f"the sweep did not reach {sorted(KNOWN_DOWNLOADS - seen)}"
    assert not problems, "\n".join(problems)


def test_an_evidence_file_download_names_the_file_and_its_hash(app, make, client, login):
    world = build_world(app, make)
    with app.app_context():
        item = db.session.get(Attachment, world.attachment)
        email = db.session.get(User, world.user_specialist).email
        expected = {"filename": item.filename, "sha256": item.sha256}
    login(email)
    head = audit_head(app)
    resp = client.get(f"/submissions/{world.submission}/attachments/{world.attachment}")
    assert resp.status_code == 200
    with app.app_context():
        event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.id > head)).one()
        assert event.action == "attachment.download"
        assert event.entity_type == "attachment" and event.entity_id == str(world.attachment)
        assert event.actor_id == world.user_specialist
        assert {k: event.after[k] for k in expected} == expected


def test_a_framework_spreadsheet_download_is_in_the_project_trail(app, make, client, login):
    world = build_world(app, make)
    with app.app_context():
        email = db.session.get(User, world.user_specialist).email
    login(email)
    for file_format in ("xlsx", "csv"):
        head = audit_head(app)
        resp = client.get(f"/projects/{world.project}/framework/export.{file_format}")
        assert resp.status_code == 200
        with app.app_context():
            event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.id > head)).one()
            assert event.action == "framework.download"
            assert event.project_id == world.project and event.actor_id == world.user_specialist
            assert event.after["format"] == file_format
