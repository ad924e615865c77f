"""Home page and health check."""

from __future__ import annotations

from flask import Blueprint, jsonify, redirect, render_template, url_for
from flask_login import current_user

from mel_app.auth import public
from mel_app.evaluations.services import open_scorecards
from mel_app.main.services import database_answers, home_projects
from mel_app.submissions.services import submission_tasks

bp = Blueprint("main", __name__)


@bp.get("/")
def home():
    return render_template(
        "main/home.html",
        projects=home_projects(current_user),
        submission_tasks=submission_tasks(current_user),
        open_scorecards=open_scorecards(current_user),
    )


@bp.get("/favicon.ico")
@public
def favicon():
    """Browsers ask for /favicon.ico whatever the page links; send them to the icon.

    A temporary redirect: its target carries the content hash, which changes with the file.
    """
    return redirect(url_for("static", filename="favicon.svg"))


@bp.get("/healthz")
def healthz():
    """For load balancers: 200 after a database round trip, 503 when the database is down."""
    if not database_answers():
        return jsonify(status="unavailable", database="down"), 503
    return jsonify(status="ok", database="up")
