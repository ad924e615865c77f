"""Selection rounds of change stories: the lists, opening a round, the round's page, proposing,
inviting and removing members, and closing with the choice."""

from __future__ import annotations

from typing import Any

from flask import abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from mel_app import locking
from mel_app.admin.blueprint import bp as admin_bp
from mel_app.kit.web import ConfirmForm, paginate, project_or_404, saving
from mel_app.models import SelectionRound, StoryLevel
from mel_app.permissions import (
    can_close_round,
    can_open_higher_round,
    can_open_project_round,
    can_propose,
    can_view_project,
    can_view_round,
    is_round_member,
    may_manage_round,
    require,
)
from mel_app.projects import rounds
from mel_app.projects.blueprint import bp
from mel_app.projects.periods import project_periods
from mel_app.projects.round_forms import (
    CloseForm,
    HigherRoundForm,
    InviteForm,
    ProjectRoundForm,
    ProposalForm,
)
from mel_app.projects.stories import project_domains


def _round_or_404(round_id: int, need: Any = None) -> SelectionRound:
    """The round, or 404 for those who may not know it exists; 403 when they see it but `need` refuses."""
    selection_round = rounds.load_round(round_id)
    if selection_round is None:
        abort(404)
    require(can_view_round(current_user, selection_round))
    if need is not None:
        require(need(current_user, selection_round), visible=True)
    return selection_round


# --- lists --------------------------------------------------------------------------------------


@bp.get("/projects/<int:project_id>/rounds")
def project_rounds(project_id: int):
    project = project_or_404(project_id, need=can_view_project)
    return render_template(
        "projects/rounds.html", project=project, rounds=rounds.project_rounds(project, current_user)
    )


@bp.get("/rounds")
@login_required
def rounds_index():
    page = paginate(rounds.visible_rounds(current_user))
    return render_template("projects/rounds_index.html", page=page)


# --- opening ------------------------------------------------------------------------------------


@bp.route("/projects/<int:project_id>/rounds/new", methods=["GET", "POST"])
def new_round(project_id: int):
    project = project_or_404(project_id, need=can_open_project_round)
    form = ProjectRoundForm()
    form.fill_choices(project_domains(project), project_periods(project), rounds.project_invitees(project))

    def page(status: int = 200):
        return render_template("projects/round_form.html", project=project, form=form), status

    if not form.validate_on_submit():
        return page(422 if form.is_submitted() else 200)
    with saving(_("Round opened."), catch=rounds.RoundError) as saved:
        selection_round = rounds.open_project_round(project, form.spec(), actor=current_user)
    if saved.failed:
        return page(saved.status)
    return redirect(url_for("projects.selection_round", round_id=selection_round.id))


@admin_bp.route("/rounds/new", methods=["GET", "POST"])
def new_higher_round():
    require(can_open_higher_round(current_user), visible=True)
    form = HigherRoundForm()
    form.fill_choices(rounds.active_invitees())
    if request.method == "GET" and request.args.get("level") in (StoryLevel.regional, StoryLevel.actrav):
        form.level.data = request.args["level"]

    def page(status: int = 200):
        return render_template("projects/round_form.html", project=None, form=form), status

    if not form.validate_on_submit():
        return page(422 if form.is_submitted() else 200)
    level = form.chosen_level()
    if level == StoryLevel.regional and not form.region.data:
        form.region.errors = [*form.region.errors, _("Choose the region.")]
        return page(422)
    with saving(_("Round opened."), catch=rounds.RoundError) as saved:
        selection_round = rounds.open_higher_round(
            level or StoryLevel.regional, form.spec(), actor=current_user
        )
    if saved.failed:
        return page(saved.status)
    return redirect(url_for("projects.selection_round", round_id=selection_round.id))


# --- the round ----------------------------------------------------------------------------------


def _round_page(
    selection_round: SelectionRound,
    *,
    proposal: ProposalForm | None = None,
    closing: CloseForm | None = None,
    status: int = 200,
):
    data = rounds.round_page(selection_round, current_user)
    if proposal is None and can_propose(current_user, selection_round):
        proposal = ProposalForm(formdata=None)
        mine = data.proposals.get(current_user.id)
        if mine is not None:
            proposal.story_id.data = str(mine.story_id)
            proposal.reason.data = mine.reason
    if proposal is not None:
        proposal.fill_choices(data.stories)
    if closing is None and can_close_round(current_user, selection_round):
        closing = CloseForm(formdata=None)
        closing.version.set(selection_round.version)
    if closing is not None:
        closing.fill_choices(data.stories)
    forms = {"proposal": proposal, "closing": closing}
    return render_template(
        "projects/round.html",
        round=selection_round,
        page=data,
        forms={k: v for k, v in forms.items() if v is not None},
        remove_form=ConfirmForm(),
    ), status


@bp.get("/rounds/<int:round_id>")
def selection_round(round_id: int):
    return _round_page(_round_or_404(round_id))


@bp.post("/rounds/<int:round_id>/propose")
def propose(round_id: int):
    selection_round = _round_or_404(round_id, need=is_round_member)
    form = ProposalForm()
    data = rounds.round_page(selection_round, current_user)
    form.fill_choices(data.stories)
    if not form.validate_on_submit():
        return _round_page(selection_round, proposal=form, status=422)
    with saving(_("Your proposal is recorded."), catch=(rounds.RoundError, rounds.RoundClosed)) as saved:
        rounds.propose(selection_round, form.chosen(), form.reason.data or "", actor=current_user)
    if saved.failed:
        return _round_page(selection_round, proposal=form, status=saved.status)
    return redirect(url_for("projects.selection_round", round_id=round_id, _anchor="proposals"))


@bp.post("/rounds/<int:round_id>/close")
def close_round(round_id: int):
    selection_round = _round_or_404(round_id, need=may_manage_round)
    form = CloseForm()
    data = rounds.round_page(selection_round, current_user)
    form.fill_choices(data.stories)
    if not form.validate_on_submit():
        return _round_page(selection_round, closing=form, status=422)
    with saving(
        _("The round is closed with its choice."),
        catch=(locking.EditConflict, rounds.RoundError, rounds.RoundClosed),
    ) as saved:
        rounds.close(selection_round, form.choice(), form.version.data, actor=current_user)
    if isinstance(saved.error, locking.EditConflict):
        form.version.set(selection_round.version)
    if saved.failed:
        return _round_page(selection_round, closing=form, status=saved.status)
    return redirect(url_for("projects.selection_round", round_id=round_id))


@bp.route("/rounds/<int:round_id>/members", methods=["GET", "POST"])
def round_members(round_id: int):
    selection_round = _round_or_404(round_id, need=may_manage_round)
    form = InviteForm()
    already = {m.user_id for m in selection_round.members}
    form.fill_members([i for i in rounds.invitees_for(selection_round) if i.user.id not in already])

    def page(status: int = 200):
        return render_template("projects/round_members.html", round=selection_round, form=form), status

    if not form.validate_on_submit():
        return page(422 if form.is_submitted() else 200)
    with saving(_("Invited."), catch=(rounds.RoundError, rounds.RoundClosed)) as saved:
        rounds.invite(selection_round, form.member_ids(), actor=current_user)
    if saved.failed:
        return page(saved.status)
    return redirect(url_for("projects.selection_round", round_id=round_id, _anchor="members"))


@bp.post("/rounds/<int:round_id>/members/<int:user_id>/remove")
def remove_round_member(round_id: int, user_id: int):
    selection_round = _round_or_404(round_id, need=may_manage_round)
    if not any(m.user_id == user_id for m in selection_round.members):
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    with saving(_("Removed from the round."), catch=(rounds.RoundError, rounds.RoundClosed)):
        rounds.remove_member(selection_round, user_id, actor=current_user)
    return redirect(url_for("projects.selection_round", round_id=round_id, _anchor="members"))
