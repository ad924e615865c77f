"""Change stories (Most Significant Change): a project's Stories tab, one story, telling and changing
a story, its evidence file, and the project's domains of change."""

from __future__ import annotations

from flask import abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from mel_app import locking
from mel_app.kit.web import (
    ConfirmForm,
    confirmed_child,
    download,
    get_or_404,
    paginate,
    project_or_404,
    saving,
)
from mel_app.models import ChangeStory, Project, StoryDomain
from mel_app.permissions import (
    can_download_story_evidence,
    can_manage_story_domains,
    can_tell_story,
    can_view_stories,
    may_edit_story,
    require,
    story_read_in_a_round,
)
from mel_app.projects import stories
from mel_app.projects.blueprint import bp
from mel_app.projects.periods import project_periods
from mel_app.projects.story_forms import DomainForm, NewDomainForm, StoryFilterForm, StoryForm
from mel_app.submissions.files import record_infected_uploads

# --- the Stories tab and one story ----------------------------------------------------------------


@bp.get("/projects/<int:project_id>/stories")
def stories_list(project_id: int):
    project = project_or_404(project_id, need=can_view_stories)
    domains, periods = stories.project_domains(project), project_periods(project)
    form = StoryFilterForm(formdata=request.args)
    form.fill_choices(domains, periods)
    domain_id = form.chosen("domain", {d.id for d in domains})
    period_id = form.chosen("period", {p.id for p in periods})
    form.domain.data, form.period.data = domain_id, period_id
    page = paginate(stories.stories_select(project, current_user, domain_id=domain_id, period_id=period_id))
    args = {"project_id": project.id}
    if domain_id:
        args["domain"] = domain_id
    if period_id:
        args["period"] = period_id
    return render_template(
        "projects/stories.html",
        project=project,
        form=form,
        page=page,
        pagination_args=args,
        has_domains=bool(domains),
        filtered=bool(domain_id or period_id),
    )


def _story_or_404(project: Project, story_id: int) -> ChangeStory:
    story = stories.readable_story(project, story_id, current_user)
    if story is None:
        abort(404)
    return story


@bp.get("/projects/<int:project_id>/stories/<int:story_id>")
def story(project_id: int, story_id: int):
    project = project_or_404(project_id, need=can_view_stories)
    item = _story_or_404(project, story_id)
    return render_template(
        "projects/story.html", project=project, story=item, in_a_round=story_read_in_a_round(item)
    )


@bp.get("/projects/<int:project_id>/stories/<int:story_id>/evidence")
def story_evidence(project_id: int, story_id: int):
    project = project_or_404(project_id, need=can_view_stories)
    item = _story_or_404(project, story_id)
    evidence = item.evidence
    if evidence is None or not can_download_story_evidence(current_user, evidence):
        abort(404)
    with saving():
        stories.record_evidence_download(evidence, actor=current_user)
    # The download headers (sandbox, nosniff, attachment) come from mel_app/security.py.
    return download(evidence.data, evidence.filename, evidence.media_type)


# --- telling and changing a story -----------------------------------------------------------------


def _form(project: Project, obj: ChangeStory | None = None) -> StoryForm:
    form = StoryForm(obj=obj) if request.method == "GET" else StoryForm()
    form.fill_choices(stories.project_domains(project), project_periods(project))
    return form


def _form_page(project: Project, form: StoryForm, item: ChangeStory | None = None, status: int = 200):
    return render_template(
        "projects/story_form.html",
        project=project,
        form=form,
        story=item,
        has_domains=len(form.domain_id.choices) > 1,
    ), status


def _refused_upload(project: Project, form: StoryForm, item: ChangeStory | None):
    """The page for a form that failed validation; files the virus scanner refused are recorded."""
    if form.infected:
        with saving():
            record_infected_uploads(project, actor=current_user, refused=form.infected)
    return _form_page(project, form, item, 413 if form.upload_too_large else 422)


@bp.route("/projects/<int:project_id>/stories/new", methods=["GET", "POST"])
def new_story(project_id: int):
    project = project_or_404(project_id, need=can_tell_story)
    form = _form(project)
    form.infected = []
    if not form.validate_on_submit():
        if not form.is_submitted():
            return _form_page(project, form)
        return _refused_upload(project, form, None)
    with saving(_("Story saved."), catch=stories.StoryError) as saved:
        item = stories.tell_story(project, form.spec(), actor=current_user, upload=form.upload)
    if saved.failed:
        return _form_page(project, form, status=saved.status)
    return redirect(url_for("projects.story", project_id=project.id, story_id=item.id))


@bp.route("/projects/<int:project_id>/stories/<int:story_id>/edit", methods=["GET", "POST"])
def edit_story(project_id: int, story_id: int):
    project = project_or_404(project_id, need=can_view_stories)
    item = _story_or_404(project, story_id)
    require(may_edit_story(current_user, item), visible=True)
    if story_read_in_a_round(item):
        raise stories.StoryLocked(
            _(
                "This story can no longer be changed: a selection round has read it, and the "
                "round's choice must rest on the story as it was read."
            )
        )
    form = _form(project, item)
    form.infected = []
    if request.method == "GET":
        form.version.set(item.version)
        return _form_page(project, form, item)
    if not form.validate_on_submit():
        return _refused_upload(project, form, item)
    with saving(_("Story saved."), catch=(locking.EditConflict, stories.StoryError)) as saved:
        locking.claim(item, form.version.data)
        stories.update_story(
            item,
            form.spec(),
            actor=current_user,
            upload=form.upload,
            remove_evidence=bool(form.remove_evidence.data),
        )
    if isinstance(saved.error, locking.EditConflict):
        form.version.set(item.version)
    if saved.failed:
        return _form_page(project, form, item, saved.status)
    return redirect(url_for("projects.story", project_id=project.id, story_id=item.id))


# --- domains of change ----------------------------------------------------------------------------


def _domains_page(project: Project, form: NewDomainForm, status: int = 200):
    domains = stories.project_domains(project)
    return render_template(
        "projects/domains.html",
        project=project,
        form=form,
        domains=domains,
        uses=stories.domain_uses(project),
        suggestions=[str(name) for name in stories.SUGGESTED_DOMAINS] if not domains else [],
        action_form=ConfirmForm(),
    ), status


@bp.route("/projects/<int:project_id>/domains", methods=["GET", "POST"])
def domains(project_id: int):
    project = project_or_404(project_id, need=can_manage_story_domains)
    form = NewDomainForm()
    if not form.validate_on_submit():
        return _domains_page(project, form, 422 if form.is_submitted() else 200)
    with saving(_("Domain added."), catch=stories.StoryError, field=form.name) as saved:
        stories.add_domain(project, form.name.data or "", actor=current_user)
    if saved.failed:
        return _domains_page(project, form, saved.status)
    return redirect(url_for("projects.domains", project_id=project.id))


@bp.post("/projects/<int:project_id>/domains/suggested")
def add_suggested_domains(project_id: int):
    project = project_or_404(project_id, need=can_manage_story_domains)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    with saving(_("Domains added."), catch=stories.StoryError):
        stories.add_suggested_domains(
            project, [str(name) for name in stories.SUGGESTED_DOMAINS], actor=current_user
        )
    return redirect(url_for("projects.domains", project_id=project.id))


@bp.route("/projects/<int:project_id>/domains/<int:domain_id>/edit", methods=["GET", "POST"])
def edit_domain(project_id: int, domain_id: int):
    project = project_or_404(project_id, need=can_manage_story_domains)
    domain = get_or_404(StoryDomain, domain_id, parent=project)
    form = DomainForm(obj=domain) if request.method == "GET" else DomainForm()

    def page(status: int = 200):
        return render_template("projects/domain_form.html", project=project, form=form, domain=domain), status

    if not form.validate_on_submit():
        return page(422 if form.is_submitted() else 200)
    with saving(_("Domain renamed."), catch=stories.StoryError, field=form.name) as saved:
        stories.rename_domain(domain, form.name.data or "", actor=current_user)
    if saved.failed:
        return page(saved.status)
    return redirect(url_for("projects.domains", project_id=project.id))


@bp.post("/projects/<int:project_id>/domains/<int:domain_id>/move")
def move_domain(project_id: int, domain_id: int):
    project, domain = confirmed_child(StoryDomain, domain_id, project_id, need=can_manage_story_domains)
    step = -1 if request.form.get("direction") == "up" else 1
    with saving(_("Order changed.")):
        stories.move_domain(domain, step, actor=current_user)
    return redirect(url_for("projects.domains", project_id=project.id))


@bp.post("/projects/<int:project_id>/domains/<int:domain_id>/remove")
def remove_domain(project_id: int, domain_id: int):
    project, domain = confirmed_child(StoryDomain, domain_id, project_id, need=can_manage_story_domains)
    with saving(_("Domain removed."), catch=stories.StoryError):
        stories.remove_domain(domain, actor=current_user)
    return redirect(url_for("projects.domains", project_id=project.id))
