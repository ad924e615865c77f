"""Public project dashboards and the public IATI activity file, and the project page's
"Make public" / "Stop making public" confirmation steps.

The public pages need no sign-in and show only what `mel_app.public.services` allows. A project
that is not published answers exactly as one that does not exist (404). Every answer is sent
with `Cache-Control: no-store` (set by `security.init_security_headers` for every page): a proxy
or browser that kept a copy would go on showing a dashboard its specialists have withdrawn, and
unpublishing must take effect at once; the pages are small and cheap to build again.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    stream_with_context,
    url_for,
)
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user

from mel_app import confirmation
from mel_app.auth import public
from mel_app.evaluations.chart import group_chart
from mel_app.evaluations.forms import GROUP_LABELS
from mel_app.exports.services import MEDIA_TYPES, Format, generate, reporting_org_from
from mel_app.extensions import db
from mel_app.kit.web import project_or_404, saving
from mel_app.models import Project, ScorerGroup, utcnow
from mel_app.permissions import can_publish_project
from mel_app.projects import charts, substantiation
from mel_app.projects import framework as fw
from mel_app.projects.substantiation_forms import SubstantiationAnswerForm
from mel_app.public import services

bp = Blueprint("public", __name__)


@bp.before_request
def choose_language() -> None:
    """`?lang=fr` on a public page: the visitor's choice of language, kept for the session."""
    lang = request.args.get("lang")
    if lang in current_app.config["LANGUAGES"] and not current_user.is_authenticated:
        session["lang"] = lang


def _no_share_labels():
    from mel_app.projects.labels import no_share_labels

    return no_share_labels()


def _figure_basis(figure):
    from mel_app.projects.labels import figure_basis

    return figure_basis(figure)


@bp.get("/public/projects")
@public
def index():
    return render_template("public/index.html", projects=services.published_projects(), public_page=True)


@bp.get("/public/projects/<int:project_id>")
@public
def project(project_id: int):
    found = services.published_project(project_id)
    if found is None:
        abort(404)
    today = datetime.now(UTC).date()
    return render_template(
        "public/project.html",
        project=found,
        page=services.project_page(found, today=today),
        evaluations=services.closed_evaluations(found),
        chart=charts.progress_chart,
        no_share_labels=_no_share_labels(),
        figure_basis=_figure_basis,
        display_value=fw.display_value,
        public_page=True,
    )


@bp.get("/public/projects/<int:project_id>/evaluations/<int:evaluation_id>")
@public
def evaluation(project_id: int, evaluation_id: int):
    """A closed evaluation of a published project: consolidated results and management responses."""
    found = services.published_project(project_id)
    item = services.closed_evaluation(found, evaluation_id) if found is not None else None
    if item is None:
        abort(404)
    return render_template(
        "public/evaluation.html",
        project=found,
        **vars(item),
        min_scorecards=services.MIN_PUBLIC_SCORECARDS,
        chart=group_chart(item.results, GROUP_LABELS),
        scorer_groups=list(ScorerGroup),
        public_page=True,
    )


@bp.get("/public/iati/activities.xml")
@public
def iati():
    """The IATI activity file of the published projects, approved data only."""
    ids = tuple(p.id for p in services.published_projects())
    if not ids:
        abort(404)  # an IATI file needs at least one activity
    ctx = services.public_export_context(ids)
    stream = generate(
        db.engine,
        ctx,
        Format.iati,
        reporting_org=reporting_org_from(current_app.config),
        generated_at=utcnow(),
    )
    return Response(stream_with_context(stream), mimetype=MEDIA_TYPES[Format.iati])


# --- substantiation of an outcome statement (no sign-in: the e-mailed link) -------------------


def _same_origin_referrer(response: Response) -> Response:
    """The token is in the address: as on the password-reset page (mel_app/auth/views.py), the
    Referer goes to this app only, which the form's POST needs over HTTPS (docs/SECURITY.md)."""
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def _chosen_language() -> str | None:
    lang = request.args.get("lang")
    return lang if lang in current_app.config["LANGUAGES"] else None


def _link_problem(problem: substantiation.LinkProblem, status: int) -> Response:
    messages = {
        substantiation.LinkProblem.unknown: _(
            "This link is not valid. Check that you copied the whole address from the e-mail."
        ),
        substantiation.LinkProblem.used: _(
            "This link has already been used: your answer was recorded. Each link works only once."
        ),
        substantiation.LinkProblem.expired: _("This link has expired."),
        substantiation.LinkProblem.withdrawn: _("This link has been withdrawn by the person who sent it."),
    }
    page = render_template("public/substantiation_problem.html", message=messages[problem], public_page=True)
    return _same_origin_referrer(current_app.make_response((page, status)))


@bp.route("/substantiate/<token>", methods=["GET", "POST"])
@public
def substantiate(token: str):
    """The page an e-mailed link opens: the outcome statement, and the question whether the
    person agrees with it. Answering ends the link."""
    try:
        asked = substantiation.open_link(token)
    except substantiation.LinkError as exc:
        return _link_problem(exc.problem, exc.http_status)
    chosen = _chosen_language()
    language = chosen or asked.language
    with force_locale(language):
        form = SubstantiationAnswerForm()
        status = 200
        if form.validate_on_submit():
            verdict = form.chosen()
            assert verdict is not None  # validated
            with saving(
                catch=(substantiation.SubstantiationError, substantiation.LinkError), quiet=True
            ) as saved:
                substantiation.answer(
                    token, verdict, form.comment.data or "", remote_addr=request.remote_addr
                )
            if isinstance(saved.error, substantiation.LinkError):
                return _link_problem(saved.error.problem, saved.error.http_status)
            if not saved.failed:
                return redirect(url_for("public.substantiated", lang=language))
            form.comment.errors = [*form.comment.errors, saved.message]
            status = saved.status
        elif form.is_submitted():
            status = 422
        page = render_template(
            "public/substantiate.html",
            form=form,
            asked=asked,
            outcome=asked.outcome,
            project=asked.outcome.project,
            action=url_for("public.substantiate", token=token, lang=chosen),
            public_page=True,
        )
    return _same_origin_referrer(current_app.make_response((page, status)))


@bp.get("/substantiated")
@public
def substantiated():
    """After the answer: thanks, and nothing of the statement."""
    return render_template("public/substantiated.html", public_page=True)


# --- publishing (signed in: the project's specialists) ---------------------------------------


def _project_to_publish(project_id: int) -> Project:
    return project_or_404(project_id, need=can_publish_project)


def _publishing_step(project_id: int, *, make_public: bool):
    """The steps "Make public" and "Stop making public". GET: the confirmation page; POST (from
    that page): the change, then back to the project page."""
    project = _project_to_publish(project_id)
    back = url_for("projects.detail", project_id=project.id)
    if (project.published_at is not None) == make_public:
        already = _("The project is public already.") if make_public else _("The project is not public.")
        flash(already, "error")
        return redirect(back)
    if request.method == "GET":
        return confirmation.render_project_confirmation(
            project, cancel_url=back, **_publishing_page(make_public=make_public)
        )
    if not confirmation.came_through_confirmation():
        return confirmation.to_confirmation()
    if not confirmation.ConfirmStepForm().validate_on_submit():
        abort(400)
    if make_public:
        change, done = services.publish_project, _("The project's dashboard is public.")
    else:
        change, done = services.unpublish_project, _("The project's dashboard is no longer public.")
    with saving(done, catch=services.PublishError):
        change(project, actor=current_user)
    return redirect(back)


def _publishing_page(*, make_public: bool) -> dict[str, Any]:
    """What the confirmation page of either step says."""
    if make_public:
        return {
            "title": _("Make the project's dashboard public?"),
            "lead": _("Anyone, without signing in, will be able to read it and download it as IATI data."),
            "consequences": [
                _(
                    "Public: the summary, the partner organisations' names, the results framework "
                    "with the figures of approved reports, and the closed evaluations' consolidated "
                    "results, recommendations and management responses."
                ),
                _(
                    "Never public: people's names and e-mail addresses, comments, evidence files, "
                    "reports not approved, individual scores, open evaluations."
                ),
                _("You can stop making it public at any time; it is then withdrawn at once."),
            ],
            "yes": _("Yes, make it public"),
        }
    return {
        "title": _("Stop making the project's dashboard public?"),
        "lead": _("Its public page and its activity in the public IATI file are withdrawn at once."),
        "consequences": [_("Copies that others have already downloaded cannot be withdrawn.")],
        "yes": _("Yes, stop making it public"),
    }


@bp.route("/projects/<int:project_id>/publish", methods=["GET", "POST"])
def publish(project_id: int):
    """GET: the confirmation page. POST (from that page): make the dashboard public."""
    return _publishing_step(project_id, make_public=True)


@bp.route("/projects/<int:project_id>/unpublish", methods=["GET", "POST"])
def unpublish(project_id: int):
    """GET: the confirmation page. POST (from that page): withdraw the public dashboard."""
    return _publishing_step(project_id, make_public=False)
