"""A project's members page: its specialists (and administrators) add, invite and remove members."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from mel_app import confirmation, mail
from mel_app.admin.services import is_pending
from mel_app.auth import emails
from mel_app.auth.services import invite
from mel_app.kit.web import ConfirmForm, get_or_404, paginate, project_or_404, saving
from mel_app.members import role_label
from mel_app.members.forms import AddMemberForm
from mel_app.members.services import (
    MembershipError,
    add_member,
    members_query,
    remove_member,
)
from mel_app.models import Membership, Project, Role
from mel_app.partners import partner_organisations
from mel_app.permissions import can_manage_members, is_admin

bp = Blueprint("members", __name__, url_prefix="/projects/<int:project_id>/members")

PER_PAGE = 100


def _load_project(project_id: int) -> Project:
    # 404: a non-member must not learn it exists; 403 for a member who may not manage members.
    return project_or_404(project_id, need=can_manage_members)


def _organisation_choices(project: Project) -> list[SelectChoice]:
    """The project's partners: a reporter writes the reports of an organisation taking part.

    Only the partners, not every organisation: a portfolio has thousands, which would make this
    page weigh hundreds of kilobytes on a phone, for choices that are nearly always wrong."""
    partners = partner_organisations(project.id)
    return [SelectChoice("", _("(not a reporter)"))] + [
        SelectChoice(str(row.id), f"{row.name} ({row.acronym})" if row.acronym else row.name)
        for row in partners
    ]


def _add_form(project: Project, *, submitted: bool) -> AddMemberForm:
    form = AddMemberForm() if submitted else AddMemberForm(formdata=None)
    form.role.choices = [SelectChoice(role.value, role_label(role)) for role in Role]
    form.organisation_id.choices = _organisation_choices(project)
    return form


def _page(project: Project, form: AddMemberForm, status: int = 200):
    return render_template(
        "members/index.html",
        project=project,
        form=form,
        pagination=paginate(members_query(project), per_page=PER_PAGE),
        remove_form=ConfirmForm(formdata=None),
        role_label=role_label,
        is_pending=is_pending,
    ), status


@bp.get("")
def index(project_id: int):
    project = _load_project(project_id)
    form = _add_form(project, submitted=False)
    form.role.data = Role.reporter.value
    return _page(project, form)


@bp.post("")
def add(project_id: int):
    project = _load_project(project_id)
    form = _add_form(project, submitted=True)
    if not form.validate_on_submit():
        return _page(project, form, status=400)
    with saving(catch=MembershipError, quiet=True) as saved:
        membership, token = add_member(
            project,
            email=form.email.data,
            full_name=form.full_name.data or "",
            role=Role(form.role.data),
            organisation_id=form.organisation_id.data,
            actor=current_user._get_current_object(),
        )
    if saved.failed:
        getattr(form, saved.error.field or "email").errors.append(saved.message)
        return _page(project, form, status=409 if saved.error.field == "role" else 400)
    user = membership.user
    actor = current_user._get_current_object()
    message = (
        emails.invitation(user, token, inviter=actor, project=project)
        if token
        else emails.added_to_project(user, project, membership.role, added_by=actor)
    )
    try:
        mail.send(message)
    except mail.MailError:
        flash(
            _("%(email)s has been added, but the email to them could not be sent.", email=user.email), "error"
        )
    else:
        # The same words whether the person had an account or was invited.
        flash(
            _(
                "%(email)s has been added as %(role)s and told by email.",
                email=user.email,
                role=role_label(membership.role),
            ),
            "success",
        )
    return redirect(url_for("members.index", project_id=project.id))


def _confirm_remove_page(project: Project, membership: Membership):
    name = membership.user.display_name
    role = role_label(membership.role)
    consequences = [
        _("They will no longer see this project, nor anything of it, in this role."),
        _("What they wrote and did stays, with their name, in the project's history."),
    ]
    if membership.role is Role.reporter and membership.organisation is not None:
        consequences.insert(
            1, _("They can no longer report for %(organisation)s.", organisation=membership.organisation.name)
        )
    return confirmation.render_project_confirmation(
        project,
        title=_("Remove %(name)s from the project?", name=name),
        lead=_(
            "%(name)s (%(email)s) will no longer be %(role)s in %(reference)s.",
            name=name,
            email=membership.user.email,
            role=role,
            reference=project.reference,
        ),
        consequences=consequences,
        yes=_("Yes, remove them"),
        cancel_url=url_for("members.index", project_id=project.id),
    )


@bp.route("/<int:membership_id>/remove", methods=["GET", "POST"])
def remove(project_id: int, membership_id: int):
    """GET: the confirmation page. POST (from that page): take the role away."""
    project = _load_project(project_id)
    membership = get_or_404(Membership, membership_id, parent=project)
    if request.method == "GET":
        return _confirm_remove_page(project, membership)
    if not confirmation.came_through_confirmation():
        return confirmation.to_confirmation()
    form = ConfirmForm()
    if not form.validate_on_submit():
        return _page(project, _add_form(project, submitted=False), status=400)
    name = membership.user.display_name
    role = role_label(membership.role)
    removed_self = membership.user_id == current_user.id and membership.role is Role.specialist
    with saving(
        _("%(name)s is no longer %(role)s in this project.", name=name, role=role),
        catch=MembershipError,
    ) as saved:
        remove_member(membership, actor=current_user._get_current_object())
    if saved.failed:
        return _page(project, _add_form(project, submitted=False), status=409)
    if removed_self and not is_admin(current_user):
        return redirect(url_for("main.home"))  # this page is no longer theirs
    return redirect(url_for("members.index", project_id=project.id))


@bp.post("/<int:membership_id>/invite")
def resend_invitation(project_id: int, membership_id: int):
    """Send a new invitation link to a member who has not accepted theirs yet."""
    project = _load_project(project_id)
    membership = get_or_404(Membership, membership_id, parent=project)
    form = ConfirmForm()
    if not form.validate_on_submit():
        return _page(project, _add_form(project, submitted=False), status=400)
    user = membership.user
    if not is_pending(user) or not user.is_active:
        flash(_("%(email)s has an account already.", email=user.email), "error")
        return _page(project, _add_form(project, submitted=False), status=409)
    with saving():
        token = invite(user, actor=current_user._get_current_object())
    try:
        mail.send(emails.invitation(user, token, inviter=current_user._get_current_object(), project=project))
    except mail.MailError:
        flash(_("The email to %(email)s could not be sent. Try again later.", email=user.email), "error")
    else:
        flash(_("A new invitation has been sent to %(email)s.", email=user.email), "success")
    return redirect(url_for("members.index", project_id=project.id))
