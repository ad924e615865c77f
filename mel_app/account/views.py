"""The profile page: name, language, password, two-factor sign-in and open sessions of the signed-in user."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from mel_app import dates
from mel_app.account.forms import (
    ChangePasswordForm,
    ConfirmIdentityForm,
    ConfirmTwoFactorForm,
    CreateApiTokenForm,
    ProfileForm,
)
from mel_app.account.services import end_other_sessions as end_other_sessions_service
from mel_app.account.services import update_profile
from mel_app.api import tokens as api_tokens
from mel_app.auth import services as auth_services
from mel_app.auth import two_factor
from mel_app.auth.forms import PASSWORD_HINT
from mel_app.auth.services import PasswordRejected, Throttled
from mel_app.auth.sessions import active_sessions, is_current
from mel_app.auth.two_factor import CodeRejected
from mel_app.auth.views import try_again_message
from mel_app.integers import to_int
from mel_app.kit.web import ConfirmForm, choices, saving
from mel_app.models import utcnow
from mel_app.permissions import (
    can_create_api_token,
    can_edit_own_account,
    can_turn_off_two_factor,
    require,
    two_factor_exempt,
    two_factor_required,
)

bp = Blueprint("account", __name__, url_prefix="/account")


def _language_choices() -> list[SelectChoice]:
    return choices(current_app.config["LANGUAGES"].items())


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
        sessions_form=ConfirmForm(formdata=None),
        sessions=sessions,
        is_current=is_current,
        others=sum(1 for s in sessions if not is_current(s)),
        hint=PASSWORD_HINT,
        recovery_codes_left=two_factor.remaining_recovery_codes(user.id) if user.two_factor_enabled else 0,
        zones=dates.offered_zones(),
        default_zone=dates.default_zone(),
    ), status


@bp.route("", methods=["GET", "POST"])
def profile():
    require(can_edit_own_account(current_user), visible=True)
    if request.method == "GET":
        return _render()
    form = ProfileForm()
    form.preferred_language.choices = _language_choices()
    if not form.validate_on_submit():
        return _render(profile_form=form, status=400)
    with saving():
        update_profile(
            current_user._get_current_object(),
            full_name=form.full_name.data,
            preferred_language=form.preferred_language.data,
            time_zone=form.time_zone.data,
        )
    session["lang"] = form.preferred_language.data
    flash(_("Your profile has been saved."), "success")
    return redirect(url_for("account.profile"))


@bp.post("/password")
def change_password():
    require(can_edit_own_account(current_user), visible=True)
    form = ChangePasswordForm()
    if form.validate_on_submit():
        # A refusal changes nothing but the failure's count and its audit record, which are kept.
        with saving(catch=(Throttled, PasswordRejected), keep=True, quiet=True) as saved:
            ended = auth_services.change_password(
                current_user._get_current_object(),
                current=form.current_password.data,
                new=form.password.data,
                keep_token=current_user.get_id(),
            )
        if isinstance(saved.error, Throttled):
            flash(try_again_message(saved.error.blocked.minutes), "error")
            return _render(password_form=form, status=429)
        if saved.failed:
            getattr(form, saved.error.field).errors.append(saved.message)
        else:
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
    form = ConfirmForm()
    if not form.validate_on_submit():
        return _render(status=400)
    with saving():
        ended = end_other_sessions_service(
            current_user._get_current_object(), keep_token=current_user.get_id()
        )
    flash(
        ngettext(
            "You have been signed out of %(num)d other session.",
            "You have been signed out of %(num)d other sessions.",
            ended,
        ),
        "success",
    )
    return redirect(url_for("account.profile"))


# --- two-factor sign-in ----------------------------------------------------------------------


def _two_factor_page(*, off_form=None, codes_form=None, status: int = 200):
    user = current_user._get_current_object()
    return render_template(
        "account/two_factor.html",
        user=user,
        required=two_factor_required(user),
        exempt=two_factor_exempt(user),
        recovery_codes_left=two_factor.remaining_recovery_codes(user.id) if user.two_factor_enabled else 0,
        recovery_code_total=two_factor.RECOVERY_CODE_COUNT,
        start_form=ConfirmForm(formdata=None),
        off_form=off_form or ConfirmIdentityForm(formdata=None, prefix="off"),
        codes_form=codes_form or ConfirmIdentityForm(formdata=None, prefix="codes"),
    ), status


@bp.get("/two-factor", endpoint="two_factor")
def two_factor_page():
    require(can_edit_own_account(current_user), visible=True)
    return _two_factor_page()


@bp.post("/two-factor/start")
def two_factor_start():
    """A new key to scan (replacing a set-up that was never finished)."""
    require(can_edit_own_account(current_user), visible=True)
    form = ConfirmForm()
    if not form.validate_on_submit():
        return _two_factor_page(status=400)
    with saving(catch=CodeRejected) as saved:
        two_factor.begin_enrolment(
            current_user._get_current_object(), actor=current_user._get_current_object()
        )
    if saved.failed:
        return redirect(url_for("account.two_factor"))
    return redirect(url_for("account.two_factor_setup"))


@bp.route("/two-factor/setup", methods=["GET", "POST"])
def two_factor_setup():
    """The QR code and the key, then the first code, which switches two-factor sign-in on."""
    require(can_edit_own_account(current_user), visible=True)
    user = current_user._get_current_object()
    if user.two_factor_enabled:
        flash(_("Two-factor sign-in is already on for this account."), "success")
        return redirect(url_for("account.two_factor"))
    if not user.totp_secret:
        return redirect(url_for("account.two_factor"))
    form = ConfirmTwoFactorForm()
    if form.validate_on_submit():
        with saving(catch=CodeRejected, field=form.code) as saved:
            codes = two_factor.confirm_enrolment(user, form.code.data, actor=user)
        if not saved.failed:
            flash(
                _("Two-factor sign-in is on. From now on, signing in asks for a code from your app."),
                "success",
            )
            # Shown in this answer only: the codes are stored hashed and cannot be shown again.
            return render_template("account/recovery_codes.html", codes=codes)
    status = 400 if request.method == "POST" else 200
    return render_template(
        "account/two_factor_setup.html",
        form=form,
        qr=two_factor.qr_code(user),
        key=two_factor.readable_key(user.totp_secret),
        user=user,
        required=two_factor_required(user),
    ), status


def _confirmed_identity(form: ConfirmIdentityForm, page_kw: str):
    """Check the password-or-code field; on refusal, the page to answer with (else None)."""
    user = current_user._get_current_object()
    # A refusal is counted: the count is kept (committed).
    with saving(catch=(Throttled, CodeRejected), keep=True, quiet=True) as saved:
        two_factor.confirm_identity(user, form.password_or_code.data, remote_addr=request.remote_addr)
    if isinstance(saved.error, Throttled):
        flash(try_again_message(saved.error.blocked.minutes), "error")
        return _two_factor_page(**{page_kw: form}, status=429)
    if saved.failed:
        form.password_or_code.errors.append(saved.message)
        return _two_factor_page(**{page_kw: form}, status=400)
    return None


@bp.post("/two-factor/off")
def two_factor_off():
    require(can_edit_own_account(current_user), visible=True)
    require(can_turn_off_two_factor(current_user), visible=True)
    form = ConfirmIdentityForm(prefix="off")
    if not form.validate_on_submit():
        return _two_factor_page(off_form=form, status=400)
    user = current_user._get_current_object()
    if not two_factor.has_second_factor(user):
        flash(_("Two-factor sign-in is already off."), "success")
        return redirect(url_for("account.two_factor"))
    refused = _confirmed_identity(form, "off_form")
    if refused is not None:
        return refused
    with saving(_("Two-factor sign-in is off. Signing in asks only for your password.")):
        two_factor.turn_off(user, actor=user)
    return redirect(url_for("account.two_factor"))


@bp.post("/two-factor/recovery-codes")
def new_recovery_codes():
    require(can_edit_own_account(current_user), visible=True)
    form = ConfirmIdentityForm(prefix="codes")
    if not form.validate_on_submit():
        return _two_factor_page(codes_form=form, status=400)
    user = current_user._get_current_object()
    if not user.two_factor_enabled:
        flash(_("Recovery codes come with two-factor sign-in: set it up first."), "error")
        return redirect(url_for("account.two_factor"))
    refused = _confirmed_identity(form, "codes_form")
    if refused is not None:
        return refused
    with saving(_("New recovery codes have been created; the earlier ones no longer work.")):
        codes = two_factor.issue_recovery_codes(user, actor=user)
    return render_template("account/recovery_codes.html", codes=codes)


# --- personal access tokens for the JSON API ---------------------------------------------------


def _tokens_page(*, form=None, new_secret: str | None = None, status: int = 200):
    user = current_user._get_current_object()
    return render_template(
        "account/tokens.html",
        form=form or CreateApiTokenForm(formdata=None),
        revoke_form=ConfirmForm(formdata=None),
        tokens=api_tokens.tokens_of(user),
        may_create=can_create_api_token(user),
        new_secret=new_secret,
        now=utcnow(),
    ), status


@bp.get("/tokens")
def tokens():
    require(can_edit_own_account(current_user), visible=True)
    return _tokens_page()


@bp.post("/tokens")
def create_token():
    require(can_edit_own_account(current_user), visible=True)
    require(can_create_api_token(current_user), visible=True)
    form = CreateApiTokenForm()
    if not form.validate_on_submit():
        return _tokens_page(form=form, status=400)
    with saving():
        created = api_tokens.create_token(
            current_user._get_current_object(),
            name=form.name.data,
            scopes=form.scopes.data,
            days=to_int(form.expires_in.data) or 0,
        )
    # The secret is shown on this response only: it is not kept anywhere to show again, and the
    # page is not to be stored by the browser or a proxy.
    body, status = _tokens_page(new_secret=created.secret)
    return body, status, {"Cache-Control": "no-store"}


@bp.post("/tokens/<int:token_id>/revoke")
def revoke_token(token_id: int):
    require(can_edit_own_account(current_user), visible=True)
    if not ConfirmForm().validate_on_submit():
        return _tokens_page(status=400)
    with saving():
        token = api_tokens.revoke_token(current_user._get_current_object(), token_id)
        require(token is not None)
    flash(_("The token “%(name)s” has been revoked.", name=token.name), "success")
    return redirect(url_for("account.tokens"))
