"""The profile page: name, language, password and open sessions of the signed-in user."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from mel_app.account.forms import ChangePasswordForm, EndOtherSessionsForm, ProfileForm
from mel_app.account.services import end_other_sessions as end_other_sessions_service
from mel_app.account.services import update_profile
from mel_app.auth import services as auth_services
from mel_app.auth.forms import PASSWORD_HINT
from mel_app.auth.services import PasswordRejected
from mel_app.auth.sessions import active_sessions, is_current
from mel_app.errors import keeps_input_on_csrf_error
from mel_app.extensions import db
from mel_app.permissions import can_edit_own_account, require

bp = Blueprint("account", __name__, url_prefix="/account")


def _language_choices() -> list[SelectChoice]:
    return [SelectChoice(code, name) for code, name in current_app.config["LANGUAGES"].items()]


def _render(*, profile_form=None, password_form=None, status: int = 200):
    user = current_user._get_current_object()
    if profile_form is None:
        profile_form = ProfileForm(formdata=None, obj=user)
    profile_form.preferred_language.choices = _language_choices()
    sessions = active_sessions(user.id)
    return render_template(
        "account/profile.html",
        profile_form=profile_form,
        password_form=password_form or ChangePasswordForm(formdata=None),
        sessions_form=EndOtherSessionsForm(formdata=None),
        sessions=sessions,
        is_current=is_current,
        others=sum(1 for s in sessions if not is_current(s)),
        hint=PASSWORD_HINT,
    ), status


@bp.route("", methods=["GET", "POST"])
@keeps_input_on_csrf_error
def profile():
    require(can_edit_own_account(current_user), visible=True)
    if request.method == "GET":
        return _render()
    form = ProfileForm()
    form.preferred_language.choices = _language_choices()
    if not form.validate_on_submit():
        return _render(profile_form=form, status=400)
    update_profile(
        current_user._get_current_object(),
        full_name=form.full_name.data,
        preferred_language=form.preferred_language.data,
    )
    db.session.commit()
    session["lang"] = form.preferred_language.data
    flash(_("Your profile has been saved."), "success")
    return redirect(url_for("account.profile"))


@bp.post("/password")
@keeps_input_on_csrf_error
def change_password():
    require(can_edit_own_account(current_user), visible=True)
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            ended = auth_services.change_password(
                current_user._get_current_object(),
                current=form.current_password.data,
                new=form.password.data,
                keep_token=current_user.get_id(),
            )
        except PasswordRejected as exc:
            db.session.rollback()
            getattr(form, exc.field).errors.append(str(exc))
        else:
            db.session.commit()
            message = _("Your password has been changed.")
            if ended:
                message += " " + ngettext(
                    "You have been signed out of %(num)d other session.",
                    "You have been signed out of %(num)d other sessions.",
                    ended,
                )
            flash(message, "success")
            return redirect(url_for("account.profile"))
    return _render(password_form=form, status=400)


@bp.post("/sessions/end-others")
def end_other_sessions():
    require(can_edit_own_account(current_user), visible=True)
    form = EndOtherSessionsForm()
    if not form.validate_on_submit():
        return _render(status=400)
    ended = end_other_sessions_service(current_user._get_current_object(), keep_token=current_user.get_id())
    db.session.commit()
    flash(
        ngettext(
            "You have been signed out of %(num)d other session.",
            "You have been signed out of %(num)d other sessions.",
            ended,
        ),
        "success",
    )
    return redirect(url_for("account.profile"))
