"""Who the benchmark signs in as, and the URL of every page for each of them.

Accounts are drawn (deterministically) from the loaded portfolio: for each role, as many
distinct people as there are simulated users where the data has them; reporters each get a
draft of their own organisation to save, so no two simulated users edit the same report.
"""

from __future__ import annotations

import random
from typing import Any

import sqlalchemy as sa
from flask import Flask, url_for
from pages import PAGES, ROLES

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
        pages, skipped = [], []
        with app.test_request_context():
            for page in PAGES:
                if page.endpoint not in app.view_functions:
                    skipped.append({"name": page.name, "reason": f"{page.endpoint} is not registered"})
                    continue
                pool = accounts.get(page.role) or [{"email": None, "ctx": {}}]
                contexts = [pool[slot % len(pool)]["ctx"] for slot in range(users)]
                urls = [url_for(page.endpoint, **page.args(ctx)) for ctx in contexts]
                pages.append(
                    {
                        "name": page.name,
                        "role": page.role,
                        "urls": urls,
                        "contexts": contexts,
                        "weight": page.weight,
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
    }
