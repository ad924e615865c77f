"""The pages `make bench` measures: one line per page, in one place.

Each line is (name, role, endpoint, URL arguments from the signed-in user's context) and, for
pages that send a form, how to pick and fill it. Endpoints that are not registered in the app
are skipped, and so is a page that answers 404 on its first request, so lines for pages still
being built are harmless: they are measured as soon as the page exists.

The context of each account (see plan.py) has: project_id (a project the user belongs to),
submission_id (a report the user may read), approved_id (an approved report of that project, or
the submitted one when none is approved yet), draft_id (a draft or returned report of the user's
own organisation, for reporters), evaluation_id (a closed evaluation with scores),
open_evaluation_id (an open one) and, for the roles of the API lines, projects_cursor (the
`next_cursor` the API gave for a page of that user's project list after the first).

API lines (`api=True`) are read as a script reads them: with the user's personal access token in
`Authorization: Bearer`, without the session of the pages.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from forms import Form

ROLES = ("reporter", "specialist", "evaluator", "observer", "admin")
SAVE = re.compile(r"draft|save", re.IGNORECASE)
DOWNLOAD = re.compile(r"download|export|csv", re.IGNORECASE)


@dataclass(frozen=True)
class FormSpec:
    """Which form of the page to send and what the user changes in it."""

    pick: Callable[[Form], bool]
    fill: Callable[[Form, dict[str, Any]], list[tuple[str, str]]]
    expect: tuple[int, ...] = (200, 302, 303)


@dataclass(frozen=True)
class Page:
    name: str
    role: str  # one of ROLES, or "anonymous"
    endpoint: str
    args: Callable[[dict[str, Any]], dict[str, Any]]
    form: FormSpec | None = None
    weight: int = 1  # share of the realistic mix at the end of the run
    api: bool = False  # a JSON API read, sent with the user's personal access token (plan.py)


def none(ctx):
    return {}


def project(ctx):
    return {"project_id": ctx["project_id"]}


# --- forms ---------------------------------------------------------------------------------------


def _has_text(form: Form) -> bool:
    return any(f.tag == "textarea" and f.name for f in form.fields)


def _edit_first_text(form: Form, ctx: dict[str, Any]) -> list[tuple[str, str]]:
    """Keep every field as the page gave it; add or remove a final mark in the first text box."""
    pairs = form.values(button=SAVE)
    name = next(f.name for f in form.fields if f.tag == "textarea" and f.name)
    for i, (key, value) in enumerate(pairs):
        if key == name:
            text = value.strip("\n")
            pairs[i] = (key, text[:-2] if text.endswith(" ·") else text + " ·")
            break
    return pairs


def _is_download(form: Form) -> bool:
    return (
        DOWNLOAD.search(form.action + " ".join(f"{f.name} {f.value} {f.label}" for f in form.fields))
        is not None
    )


def _small_export(form: Form, ctx: dict[str, Any]) -> list[tuple[str, str]]:
    """CSV of one project, the rest as the form proposes."""
    for f in form.fields:
        if f.tag == "select" and "project" in f.name:
            values = [v for v, _ in f.options]
            if str(ctx["project_id"]) in values:
                f.options = [(v, v == str(ctx["project_id"])) for v in values]
        elif f.type in ("checkbox", "radio") and "project" in f.name:
            f.checked = f.value == str(ctx["project_id"])
        elif f.tag == "select" and "format" in f.name and any(v == "csv" for v, _ in f.options):
            f.options = [(v, v == "csv") for v, _ in f.options]
        elif f.type == "radio" and "format" in f.name:
            f.checked = f.value == "csv"
    return form.values(button=DOWNLOAD)


SAVE_DRAFT = FormSpec(pick=_has_text, fill=_edit_first_text)
SMALL_EXPORT = FormSpec(pick=_is_download, fill=_small_export)


# --- the pages -----------------------------------------------------------------------------------

PAGES = [
    Page("login page", "anonymous", "auth.login", none),
    Page("home: reporter", "reporter", "main.home", none, weight=4),
    Page("home: specialist", "specialist", "main.home", none, weight=3),
    Page("home: evaluator", "evaluator", "main.home", none),
    Page("home: observer", "observer", "main.home", none),
    Page("home: admin", "admin", "main.home", none),
    Page("project list: specialist", "specialist", "projects.index", none, weight=2),
    Page("project list: admin", "admin", "projects.index", none),
    Page("portfolio: admin", "admin", "projects.portfolio", none),
    Page("project page + status grid: specialist", "specialist", "projects.detail", project, weight=3),
    Page("project page: reporter", "reporter", "projects.detail", project, weight=2),
    Page("members: specialist", "specialist", "members.index", project),
    Page("review queue: specialist", "specialist", "submissions.review_queue", none, weight=2),
    Page(
        "submission: specialist", "specialist", "submissions.detail", lambda c: {"sub_id": c["submission_id"]}
    ),
    Page(
        "submission: reporter",
        "reporter",
        "submissions.detail",
        lambda c: {"sub_id": c["draft_id"]},
        weight=3,
    ),
    Page(
        "save a draft: reporter",
        "reporter",
        "submissions.detail",
        lambda c: {"sub_id": c["draft_id"]},
        form=SAVE_DRAFT,
        weight=2,
    ),
    Page(
        "evaluation: evaluator",
        "evaluator",
        "evaluations.detail",
        lambda c: {"evaluation_id": c["evaluation_id"]},
    ),
    Page(
        "scorecard: evaluator",
        "evaluator",
        "evaluations.scorecard",
        lambda c: {"evaluation_id": c["open_evaluation_id"]},
    ),
    Page(
        "consolidated view: evaluator",
        "evaluator",
        "evaluations.consolidated",
        lambda c: {"evaluation_id": c["evaluation_id"]},
        weight=2,
    ),
    Page(
        "history of a report: specialist",
        "specialist",
        "audit.entity_history",
        lambda c: {"entity_type": "submission", "entity_id": c["submission_id"]},
    ),
    Page("audit trail: admin", "admin", "audit.trail", none),
    Page("audit trail: specialist", "specialist", "audit.trail", none),
    Page("downloads: evaluator", "evaluator", "exports.index", none),
    Page("small export (CSV): evaluator", "evaluator", "exports.index", none, form=SMALL_EXPORT),
    Page("users: admin", "admin", "admin.users", none),
    Page("organisations: admin", "admin", "admin.organisations", none),
    Page("my account: reporter", "reporter", "account.profile", none),
    # The main reads of the JSON API (/api/v1), as a script sends them.
    Page("API project list: admin", "admin", "api_v1.projects", none, api=True),
    Page(
        "API project list, next page: admin",
        "admin",
        "api_v1.projects",
        lambda c: {"cursor": c["projects_cursor"]},
        api=True,
    ),
    Page("API project list: specialist", "specialist", "api_v1.projects", none, api=True),
    Page(
        "API approved reports of a project: specialist",
        "specialist",
        "api_v1.submissions",
        lambda c: {"project": c["project_id"], "status": "approved"},
        api=True,
    ),
    Page(
        "API values of a report: specialist",
        "specialist",
        "api_v1.submission",
        lambda c: {"submission_id": c["approved_id"]},
        api=True,
    ),
    Page("API status grid: specialist", "specialist", "api_v1.status_grid", project, api=True),
]
