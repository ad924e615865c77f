"""Administrators' pages: users (list, search, invite, edit, deactivate, sessions) and organisations."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy.orm import selectinload
from wtforms.fields.choices import SelectChoice

from mel_app import locking, mail
from mel_app.admin import country_choices, country_names, group_label, services
from mel_app.admin.blueprint import bp
from mel_app.admin.forms import (
    DeactivateForm,
    EditUserForm,
    InviteUserForm,
    OrganisationForm,
    OrganisationSearchForm,
    ResetTwoFactorForm,
    UserSearchForm,
)
from mel_app.admin.services import AdminError, is_pending
from mel_app.auth import emails, two_factor
from mel_app.auth.sessions import active_sessions
from mel_app.integers import to_int
from mel_app.kit.web import ConfirmForm, choices, get_or_404, paginate, saving
from mel_app.members import role_label
from mel_app.models import Organisation, OrgGroup, User
from mel_app.permissions import (
    can_administer_organisations,
    can_administer_users,
    can_change_account_status,
    can_reset_two_factor,
    require,
    two_factor_required,
)
from mel_app.projects.countries import country_code


def _list_organisations(form: Any, field: Any, *, exclude: set[int] | None = None) -> None:
    """Fill `field` with the organisations to choose from: in a long portfolio, those of the
    country chosen in the form (by default the current choice's) and the current choice."""
    listing = services.organisation_choices(
        limit=current_app.config["ORGANISATION_LIST_LIMIT"],
        country=country_code(form.list_country.data),
        keep=to_int(field.data),  # bounded: a made-up number reaches no query
    )
    exclude = exclude or set()
    field.choices = [SelectChoice("", _("(none)"))] + [
        SelectChoice(str(row.id), f"{row.name} ({row.acronym})" if row.acronym else row.name)
        for row in listing.rows
        if row.id not in exclude
    ]
    form.list_country.choices = [SelectChoice("", _("Choose a country")), *country_choices()]
    form.list_country.data = listing.country or ""
    form.organisation_list = listing


def _language_choices() -> list[SelectChoice]:
    return choices(current_app.config["LANGUAGES"].items())


def _send_invitation(user: User, token: str) -> None:
    try:
        mail.send(emails.invitation(user, token, inviter=current_user._get_current_object()))
    except mail.MailError:
        flash(
            _(
                "The invitation is saved, but the email to %(email)s could not be sent. "
                "Try sending it again later from the user's page.",
                email=user.email,
            ),
            "error",
        )
    else:
        flash(_("An invitation has been sent to %(email)s.", email=user.email), "success")


# --- users -----------------------------------------------------------------------------------


@bp.get("/users")
def users():
    require(can_administer_users(current_user), visible=True)
    form = UserSearchForm(request.args)
    filters = {}
    if form.validate():
        filters = {
            "q": form.q.data or "",
            "status": form.status.data or "",
            "organisation": form.organisation.data or "",
        }
    pagination = paginate(services.search_users(**filters))
    args = {k: v for k, v in request.args.items() if k != "page"}
    return render_template(
        "admin/users.html", form=form, pagination=pagination, is_pending=is_pending, page_args=args
    )


@bp.route("/users/invite", methods=["GET", "POST"])
def invite_user():
    require(can_administer_users(current_user), visible=True)
    form = InviteUserForm()
    _list_organisations(form, form.organisation_id)
    form.preferred_language.choices = _language_choices()
    if request.method == "GET":
        form.preferred_language.data = current_app.config["BABEL_DEFAULT_LOCALE"]
    if form.list_organisations.data:  # another country's organisations, the input kept
        return render_template("admin/invite_user.html", form=form)
    if form.validate_on_submit():
        with saving(catch=AdminError, quiet=True) as saved:
            user, token = services.create_invited_user(
                email=form.email.data,
                full_name=form.full_name.data,
                organisation_id=form.organisation_id.data,
                preferred_language=form.preferred_language.data,
                is_admin=form.is_admin.data,
                actor=current_user._get_current_object(),
            )
        if saved.failed:
            getattr(form, saved.error.field or "email").errors.append(saved.message)
        else:
            _send_invitation(user, token)
            return redirect(url_for("admin.user", user_id=user.id))
    status = 400 if request.method == "POST" else 200
    return render_template("admin/invite_user.html", form=form), status


def _user_page(
    user: User,
    *,
    form: EditUserForm | None = None,
    reset_form: ResetTwoFactorForm | None = None,
    status: int = 200,
):
    if form is None:
        form = EditUserForm(formdata=None, obj=user)
        form.version.set(user.version)
    if form.organisation_list is None:  # a POST's form was filled before it was validated
        _list_organisations(form, form.organisation_id)
    return render_template(
        "admin/user.html",
        user=user,
        form=form,
        memberships=services.user_memberships(user),
        sessions=active_sessions(user.id),
        pending=is_pending(user),
        deactivate_form=DeactivateForm(formdata=None),
        button_form=ConfirmForm(formdata=None),
        reset_form=reset_form or ResetTwoFactorForm(formdata=None, prefix="reset"),
        recovery_codes_left=two_factor.remaining_recovery_codes(user.id) if user.two_factor_enabled else 0,
        two_factor_required=two_factor_required(user),
        role_label=role_label,
    ), status


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
def user(user_id: int):
    require(can_administer_users(current_user), visible=True)
    account = get_or_404(User, user_id, options=[selectinload(User.organisation)])
    if request.method == "GET":
        return _user_page(account)
    form = EditUserForm()
    _list_organisations(form, form.organisation_id)
    if form.list_organisations.data:  # another country's organisations, the input kept
        return _user_page(account, form=form)
    if not form.validate_on_submit():
        return _user_page(account, form=form, status=400)
    with saving(catch=(AdminError, locking.EditConflict), quiet=True) as saved:
        changed = services.update_user(
            account,
            organisation_id=form.organisation_id.data,
            is_admin=form.is_admin.data,
            expected_version=form.version.data,
            actor=current_user._get_current_object(),
        )
    if isinstance(saved.error, locking.EditConflict):
        flash(saved.message, "error")
        form.version.set(account.version)
        return _user_page(account, form=form, status=409)
    if saved.failed:
        getattr(form, saved.error.field or "organisation_id").errors.append(saved.message)
        return _user_page(account, form=form, status=400)
    flash(_("The account has been saved.") if changed else _("Nothing was changed."), "success")
    return redirect(url_for("admin.user", user_id=account.id))


def _account_action(user_id: int, form_class=ConfirmForm) -> tuple[User, object]:
    require(can_administer_users(current_user), visible=True)
    account = get_or_404(User, user_id)
    return account, form_class()


@bp.post("/users/<int:user_id>/deactivate")
def deactivate_user(user_id: int):
    account, form = _account_action(user_id, DeactivateForm)
    require(can_change_account_status(current_user, account), visible=True)
    if not form.validate_on_submit():
        return _user_page(account, status=400)
    with saving(catch=AdminError) as saved:
        ended = services.deactivate_user(
            account, actor=current_user._get_current_object(), reason=form.reason.data or ""
        )
    if saved.failed:
        return _user_page(account, status=409)
    flash(
        _("%(name)s can no longer sign in.", name=account.display_name)
        + " "
        + ngettext("%(num)d open session was ended.", "%(num)d open sessions were ended.", ended),
        "success",
    )
    return redirect(url_for("admin.user", user_id=account.id))


@bp.post("/users/<int:user_id>/reactivate")
def reactivate_user(user_id: int):
    account, form = _account_action(user_id)
    require(can_change_account_status(current_user, account), visible=True)
    if not form.validate_on_submit():
        return _user_page(account, status=400)
    with saving(_("%(name)s can sign in again.", name=account.display_name), catch=AdminError) as saved:
        services.reactivate_user(account, actor=current_user._get_current_object())
    if saved.failed:
        return _user_page(account, status=409)
    return redirect(url_for("admin.user", user_id=account.id))


@bp.post("/users/<int:user_id>/two-factor/reset")
def reset_two_factor(user_id: int):
    require(can_administer_users(current_user), visible=True)
    account = get_or_404(User, user_id)
    form = ResetTwoFactorForm(prefix="reset")  # its reason field must not clash with deactivation's
    require(can_reset_two_factor(current_user, account), visible=True)
    if not form.validate_on_submit():
        return _user_page(account, reset_form=form, status=400)
    with saving(catch=AdminError) as saved:
        services.reset_two_factor(
            account, actor=current_user._get_current_object(), reason=form.reason.data or ""
        )
    if saved.failed:
        return _user_page(account, status=409)
    flash(
        _(
            "Two-factor sign-in of %(name)s has been reset, and their recovery codes no longer work. "
            "They can set it up again from their account page (at their next sign-in, where their role "
            "requires it).",
            name=account.display_name,
        ),
        "success",
    )
    return redirect(url_for("admin.user", user_id=account.id))


@bp.post("/users/<int:user_id>/end-sessions")
def end_sessions(user_id: int):
    account, form = _account_action(user_id)
    if not form.validate_on_submit():
        return _user_page(account, status=400)
    with saving():
        ended = services.end_sessions(
            account, actor=current_user._get_current_object(), keep_token=current_user.get_id()
        )
    flash(ngettext("%(num)d open session was ended.", "%(num)d open sessions were ended.", ended), "success")
    return redirect(url_for("admin.user", user_id=account.id))


@bp.post("/users/<int:user_id>/resend-invitation")
def resend_invitation(user_id: int):
    account, form = _account_action(user_id)
    if not form.validate_on_submit():
        return _user_page(account, status=400)
    with saving(catch=AdminError) as saved:
        token = services.resend_invitation(account, actor=current_user._get_current_object())
    if saved.failed:
        return _user_page(account, status=409)
    _send_invitation(account, token)
    return redirect(url_for("admin.user", user_id=account.id))


# --- organisations ---------------------------------------------------------------------------


def _group_choices(blank: str | None = None) -> list[SelectChoice]:
    choices = [SelectChoice(g.value, group_label(g)) for g in OrgGroup]
    return [SelectChoice("", blank), *choices] if blank is not None else choices


@bp.get("/organisations")
def organisations():
    require(can_administer_organisations(current_user), visible=True)
    form = OrganisationSearchForm(request.args)
    form.group.choices = _group_choices(blank=_("All"))
    form.country.choices = [SelectChoice("", _("All")), *country_choices()]
    filters = {}
    if form.validate():
        filters = {"q": form.q.data or "", "group": form.group.data or "", "country": form.country.data or ""}
    pagination = paginate(services.search_organisations(**filters))
    args = {k: v for k, v in request.args.items() if k != "page"}
    return render_template(
        "admin/organisations.html",
        form=form,
        pagination=pagination,
        group_label=group_label,
        countries=country_names(),
        page_args=args,
    )


def _organisation_form(form: OrganisationForm, org: Organisation | None) -> OrganisationForm:
    form.group.choices = _group_choices()
    form.country.choices = [SelectChoice("", _("(none)")), *country_choices()]
    exclude = {org.id, *services.descendant_ids(org.id)} if org is not None else set()
    _list_organisations(form, form.parent_id, exclude=exclude)
    return form


def _save_organisation(org: Organisation | None):
    form = _organisation_form(OrganisationForm(), org)
    if request.method == "GET":
        if org is not None:
            form = _organisation_form(OrganisationForm(formdata=None, obj=org), org)
            form.group.data = org.group.value
            form.iati_type.data = org.iati_type or ""
            form.version.set(org.version)
        else:
            form.group.data = OrgGroup.workers.value
    elif form.list_organisations.data:  # another country's organisations, the input kept
        return render_template("admin/organisation_form.html", form=form, org=org)
    elif form.validate_on_submit():
        fields = {
            "name": form.name.data,
            "acronym": form.acronym.data or "",
            "group": OrgGroup(form.group.data),
            "country": form.country.data or None,
            "parent_id": form.parent_id.data,
            "iati_ref": form.iati_ref.data or None,
            "iati_type": form.iati_type.data or None,
            "actor": current_user._get_current_object(),
        }
        with saving(catch=(AdminError, locking.EditConflict), quiet=True) as saved:
            if org is None:
                org = services.create_organisation(**fields)
            else:
                services.update_organisation(org, expected_version=form.version.data, **fields)
        if isinstance(saved.error, locking.EditConflict):
            flash(saved.message, "error")
            form.version.set(org.version)
            return render_template("admin/organisation_form.html", form=form, org=org), 409
        if saved.failed:
            getattr(form, saved.error.field or "name").errors.append(saved.message)
        else:
            flash(_("%(name)s has been saved.", name=org.name), "success")
            return redirect(url_for("admin.organisations", q=org.name))
    status = 400 if request.method == "POST" else 200
    return render_template("admin/organisation_form.html", form=form, org=org), status


@bp.route("/organisations/new", methods=["GET", "POST"])
def new_organisation():
    require(can_administer_organisations(current_user), visible=True)
    return _save_organisation(None)


@bp.route("/organisations/<int:org_id>/edit", methods=["GET", "POST"])
def edit_organisation(org_id: int):
    require(can_administer_organisations(current_user), visible=True)
    return _save_organisation(get_or_404(Organisation, org_id))
