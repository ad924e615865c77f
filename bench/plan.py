"""Who the benchmark signs in as, and the URL of every page for each of them.

Accounts are drawn (deterministically) from the loaded portfolio: for each role, as many
distinct people as there are simulated users where the data has them; reporters each get a
draft of their own organisation to save, so no two simulated users edit the same report.

For the API lines of bench/pages.py, each account of their roles gets a personal access token
(scope read) as its owner would make one: staff whose roles require two-factor sign-in first
switch it on, with a code computed from their new secret as an authenticator app computes it
(the product's own enrolment), then create the token (`mel_app.api.tokens.create_token`). The
bench's earlier tokens of those accounts are revoked first; `revoke_bench_tokens` revokes this
run's at its end. The secrets are in the plan only (bench/.cache/plan.json).
"""

from __future__ import annotations

import random
from typing import Any

import pyotp
import sqlalchemy as sa
from flask import Flask, url_for
from pages import PAGES, ROLES, Page

from mel_app import audit
from mel_app.api import tokens as api_tokens
from mel_app.auth import two_factor
from mel_app.extensions import db
from mel_app.models import (
    Evaluation,
    Membership,
    Phase,
    Project,
    Role,
    Scorecard,
    Status,
    Submission,
    SubmissionKind,
    User,
)
from mel_app.permissions import can_create_api_token

TOKEN_NAME = "make bench"  # noqa: S105 - the name of the tokens, not a secret
TOKEN_DAYS = 30  # the shortest expiry offered; revoked at the end of the run anyway


def _first_ids(query: sa.Select) -> dict[tuple[int, str], int]:
    return {(project_id, str(status)): first for project_id, status, first in db.session.execute(query)}


def _project_lookup() -> dict[int, dict[str, int]]:
    """For every project: a report of each status and a closed and an open evaluation."""
    subs = _first_ids(
        sa.select(Submission.project_id, Submission.status, sa.func.min(Submission.id))
        .where(Submission.kind == SubmissionKind.progress_report)
        .group_by(Submission.project_id, Submission.status)
    )
    scored = sa.select(Scorecard.evaluation_id)
    evals = _first_ids(
        sa.select(Evaluation.project_id, Evaluation.status, sa.func.max(Evaluation.id))
        .where(Evaluation.id.in_(scored))
        .group_by(Evaluation.project_id, Evaluation.status)
    )
    lookup: dict[int, dict[str, int]] = {}
    for project_id in db.session.scalars(sa.select(Project.id).where(Project.phase != Phase.design)):
        submitted = subs.get((project_id, "submitted")) or subs.get((project_id, "approved"))
        closed = evals.get((project_id, "closed")) or evals.get((project_id, "open"))
        if not submitted or not closed:
            continue
        lookup[project_id] = {
            "project_id": project_id,
            "submission_id": submitted,
            "approved_id": subs.get((project_id, "approved")) or submitted,
            "draft_id": subs.get((project_id, "draft")) or submitted,
            "evaluation_id": closed,
            "open_evaluation_id": evals.get((project_id, "open")) or closed,
        }
    return lookup


def _members(role: Role, lookup: dict[int, dict[str, int]]) -> list[tuple[int, str, dict[str, int]]]:
    rows = db.session.execute(
        sa.select(User.id, User.email, Membership.project_id)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.role == role, User.is_active, ~User.is_admin)
        .order_by(User.id, Membership.project_id)
    )
    return [(user_id, email, lookup[pid]) for user_id, email, pid in rows if pid in lookup]


def _evaluators(lookup: dict[int, dict[str, int]]) -> list[tuple[int, str, dict[str, int]]]:
    """Evaluators with their own scorecard: the scorecard page shows only one's own card, and an
    evaluator sees the consolidated view of an open evaluation only once their card is submitted."""
    own = {
        (scorer_id, project_id, str(status)): evaluation_id
        for scorer_id, project_id, status, evaluation_id in db.session.execute(
            sa.select(
                Scorecard.scorer_id, Evaluation.project_id, Evaluation.status, sa.func.max(Evaluation.id)
            )
            .join(Evaluation, Evaluation.id == Scorecard.evaluation_id)
            .group_by(Scorecard.scorer_id, Evaluation.project_id, Evaluation.status)
        )
    }
    chosen = []
    for user_id, email, ctx in _members(Role.evaluator, lookup):
        pid = ctx["project_id"]
        card = own.get((user_id, pid, "open")) or own.get((user_id, pid, "closed"))
        closed = own.get((user_id, pid, "closed"))
        if card and closed:
            chosen.append((user_id, email, {**ctx, "evaluation_id": closed, "open_evaluation_id": card}))
    return chosen


def _reporters(lookup: dict[int, dict[str, int]]) -> list[tuple[int, str, dict[str, int]]]:
    rows = db.session.execute(
        sa.select(User.id, User.email, Submission.project_id, Submission.id)
        .join(Membership, Membership.user_id == User.id)
        .join(
            Submission,
            (Submission.project_id == Membership.project_id)
            & (Submission.organisation_id == Membership.organisation_id),
        )
        .join(Project, Project.id == Submission.project_id)
        .where(
            Project.phase == Phase.implementation,  # a closed project's reports are history
            Membership.role == Role.reporter,
            User.is_active,
            ~User.is_admin,
            Submission.kind == SubmissionKind.progress_report,
            Submission.status.in_([Status.draft, Status.returned]),
        )
        .order_by(Submission.id)
    )
    return [
        (user_id, email, {**lookup[pid], "draft_id": sub_id})
        for user_id, email, pid, sub_id in rows
        if pid in lookup
    ]


def _admins(lookup: dict[int, dict[str, int]]) -> list[tuple[int, str, dict[str, int]]]:
    projects = sorted(lookup)
    rows = db.session.execute(
        sa.select(User.id, User.email).where(User.is_admin, User.is_active).order_by(User.id)
    )
    return [(user_id, email, lookup[projects[user_id % len(projects)]]) for user_id, email in rows]


def _distinct(
    candidates: list[tuple[int, str, dict]], wanted: int, rng: random.Random
) -> list[dict[str, Any]]:
    """Up to `wanted` different people, each with one context; fewer when the data has fewer."""
    rng.shuffle(candidates)
    chosen, seen_users, seen_drafts = [], set(), set()
    for user_id, email, ctx in candidates:
        if user_id in seen_users or ctx["draft_id"] in seen_drafts:
            continue
        seen_users.add(user_id)
        seen_drafts.add(ctx["draft_id"])
        chosen.append({"email": email, "ctx": ctx})
        if len(chosen) == wanted:
            break
    return chosen


# --- personal access tokens for the API lines ----------------------------------------------------


def _enrol_two_factor(user: User) -> None:
    """Switch two-factor sign-in on as the person does on their account page: a new secret, then
    the first code their authenticator app shows (computed here from the secret, as the app does)."""
    two_factor.begin_enrolment(user, actor=user)
    assert user.totp_secret is not None  # noqa: S101 - begin_enrolment sets it
    two_factor.confirm_enrolment(user, pyotp.TOTP(user.totp_secret).now(), actor=user)


def _bench_tokens_of(user: User) -> list[int]:
    return [t.id for t in api_tokens.tokens_of(user) if t.name == TOKEN_NAME and t.revoked_at is None]


def _create_tokens(app: Flask, emails: list[str]) -> dict[str, str]:
    """A read token for each account (email -> secret); committed."""
    secrets: dict[str, str] = {}
    for email in emails:
        with app.test_request_context():  # permissions memoise per request
            user = db.session.scalar(sa.select(User).where(User.email == email))
            if user is None:
                raise SystemExit(f"The benchmark database has no account {email}.")
            audit.set_actor(db.session(), audit.actor_of(user))
            for token_id in _bench_tokens_of(user):
                api_tokens.revoke_token(user, token_id)
            if not can_create_api_token(user):
                _enrol_two_factor(user)
            if not can_create_api_token(user):
                raise SystemExit(f"{email} may not create an access token even with two-factor sign-in on.")
            created = api_tokens.create_token(user, name=TOKEN_NAME, scopes=["read"], days=TOKEN_DAYS)
            db.session.commit()
            secrets[email] = created.secret
    return secrets


def revoke_bench_tokens(app: Flask, emails: list[str]) -> int:
    """Revoke the bench's tokens of these accounts (at the end of a run); how many were revoked."""
    revoked = 0
    with app.app_context():
        for email in emails:
            with app.test_request_context():
                user = db.session.scalar(sa.select(User).where(User.email == email))
                if user is None:
                    continue
                audit.set_actor(db.session(), audit.actor_of(user))
                for token_id in _bench_tokens_of(user):
                    revoked += api_tokens.revoke_token(user, token_id) is not None
                db.session.commit()
    return revoked


def _project_list_cursors(app: Flask, secret: str) -> list[str]:
    """The `next_cursor` of every page of the project list after the first, as the API gives them
    to the token's owner (read through the API, in-process)."""
    client = app.test_client()
    headers = {"Authorization": f"Bearer {secret}"}
    cursors: list[str] = []
    url = url_for("api_v1.projects")
    while True:
        answer = client.get(url, headers=headers)
        if answer.status_code != 200:
            raise SystemExit(f"GET {url} with a bench token answered {answer.status_code}: {answer.text}")
        cursor = answer.get_json().get("next_cursor")
        if not cursor:
            return cursors
        cursors.append(cursor)
        url = url_for("api_v1.projects", cursor=cursor)


def _api_accounts(
    app: Flask, accounts: dict[str, list[dict[str, Any]]], api_pages: list[Page]
) -> dict[str, str]:
    """Tokens for every account of the roles the API lines read as, and each account's
    projects_cursor (a page after the first of its project list, spread over the pages)."""
    roles = sorted({page.role for page in api_pages})
    emails = [account["email"] for role in roles for account in accounts[role]]
    secrets = _create_tokens(app, emails)
    for role in roles:
        with app.test_request_context():
            # Everyone of a role in the bench sees the same list here (administrators: every
            # project), so the first account's walk gives cursors valid for all of them.
            cursors = _project_list_cursors(app, secrets[accounts[role][0]["email"]])
        for i, account in enumerate(accounts[role]):
            cursor = cursors[i % len(cursors)] if cursors else None
            account["ctx"] = {**account["ctx"], "projects_cursor": cursor}
    return secrets


def _urls(page: Page, contexts: list[dict[str, Any]]) -> list[str] | str:
    """Each slot's URL of the page, or why the data gives none."""
    urls = []
    for ctx in contexts:
        try:
            args = page.args(ctx)
        except KeyError as missing:
            return f"the data gives no {missing.args[0]}"
        if any(value is None for value in args.values()):
            return f"the data gives no {', '.join(k for k, v in args.items() if v is None)}"
        urls.append(url_for(page.endpoint, **args))
    return urls


def build_plan(app: Flask, *, users: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    with app.app_context():
        lookup = _project_lookup()
        if not lookup:
            raise SystemExit("The benchmark database has no project with reports and evaluations.")
        accounts = {
            "reporter": _distinct(_reporters(lookup), users, rng),
            "specialist": _distinct(_members(Role.specialist, lookup), users, rng),
            "evaluator": _distinct(_evaluators(lookup), users, rng),
            "observer": _distinct(_members(Role.observer, lookup), users, rng),
            "admin": _distinct(_admins(lookup), users, rng),
        }
        missing = [role for role in ROLES if not accounts[role]]
        if missing:
            raise SystemExit(f"The benchmark database has nobody with the role(s): {', '.join(missing)}.")
        api_pages = [page for page in PAGES if page.api and page.endpoint in app.view_functions]
        secrets = _api_accounts(app, accounts, api_pages) if api_pages else {}
        pages, skipped = [], []
        with app.test_request_context():
            for page in PAGES:
                if page.endpoint not in app.view_functions:
                    skipped.append({"name": page.name, "reason": f"{page.endpoint} is not registered"})
                    continue
                pool = accounts.get(page.role) or [{"email": None, "ctx": {}}]
                contexts = [pool[slot % len(pool)]["ctx"] for slot in range(users)]
                urls = _urls(page, contexts)
                if isinstance(urls, str):
                    skipped.append({"name": page.name, "reason": urls})
                    continue
                pages.append(
                    {
                        "name": page.name,
                        "role": page.role,
                        "urls": urls,
                        "contexts": contexts,
                        "weight": page.weight,
                        "api": page.api,
                    }
                )
    return {
        "slots": [
            {role: accounts[role][slot % len(accounts[role])]["email"] for role in ROLES}
            for slot in range(users)
        ],
        "distinct_accounts": {role: len(accounts[role]) for role in ROLES},
        "pages": pages,
        "skipped": skipped,
        "tokens": secrets,  # email -> secret of a read token, for the API lines
    }
