"""Sign in and out, forgotten passwords and invitations (the pages reached from an emailed link)."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_user, logout_user

from mel_app import mail
from mel_app.account.services import adopt_browser_zone
from mel_app.auth import emails, pending, public, services, two_factor
from mel_app.auth.forms import (
    PASSWORD_HINT,
    AcceptInvitationForm,
    LoginForm,
    NewPasswordForm,
    PasswordResetRequestForm,
    RecoveryCodeForm,
    SecondStepForm,
)
from mel_app.auth.services import PasswordRejected, Throttled
from mel_app.auth.sessions import revoke_session, start_session
from mel_app.auth.tokens import Purpose, TokenError, TokenProblem
from mel_app.auth.two_factor import CodeRejected
from mel_app.kit.web import ConfirmForm, saving
from mel_app.models import User
from mel_app.permissions import asks_second_factor, must_enrol_two_factor
from mel_app.urls import safe_next

bp = Blueprint("auth", __name__)


def try_again_message(minutes: int) -> str:
    return ngettext(
        "Too many attempts. For your security, please try again in %(num)d minute.",
        "Too many attempts. For your security, please try again in %(num)d minutes.",
        minutes,
    )


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if form.validate_on_submit():
        # A refusal or a failure is audited and counted: kept (committed) either way.
        with saving(catch=Throttled, keep=True, quiet=True) as saved:
            user = services.authenticate(form.email.data, form.password.data, remote_addr=request.remote_addr)
        if saved.failed:
            flash(try_again_message(saved.error.blocked.minutes), "error")
            form.password.data = ""
            return render_template("auth/login.html", form=form), 429
        if user is None:
            flash(_("The email or password is not right, or the account is not active."), "error")
            form.password.data = ""
            return render_template("auth/login.html", form=form), 401
        if asks_second_factor(user):
            with saving():
                adopt_browser_zone(user, form.browser_time_zone.data)
            pending.remember(user, safe_next(form.next.data))
            return redirect(url_for("auth.second_step"))
        pending.forget()
        with saving():
            adopt_browser_zone(user, form.browser_time_zone.data)
            services.complete_login(user, remote_addr=request.remote_addr)
            enrol = must_enrol_two_factor(user)
            if enrol and not user.totp_secret:
                two_factor.begin_enrolment(user, actor=user)
            start_session(user, remote_addr=request.remote_addr, user_agent=request.user_agent.string)
        login_user(user)
        if enrol:
            # The page says why; every other page sends them back until it is done (mel_app/__init__.py).
            return redirect(url_for("account.two_factor_setup"))
        return redirect(safe_next(form.next.data) or url_for("main.home"))
    status = 400 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form), status


def _second_step_page(user, code_form, recovery_form, *, status: int = 200, recovery_open: bool = False):
    return render_template(
        "auth/second_step.html",
        user=user,
        code_form=code_form,
        recovery_form=recovery_form,
        cancel_form=ConfirmForm(formdata=None),
        recovery_open=recovery_open,
    ), status


@bp.route("/login/code", methods=["GET", "POST"])
@public
def second_step():
    """After a right password: the code from the authenticator app, or a recovery code."""
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    waiting = pending.waiting_user()
    if waiting is None:
        if pending.is_waiting():
            pending.forget()
            flash(_("Please sign in again: the code was not given in time."), "error")
        return redirect(url_for("auth.login"))
    user, next_url = waiting
    use_recovery = request.method == "POST" and "recovery_code" in request.form
    code_form = SecondStepForm(
        formdata=request.form if request.method == "POST" and not use_recovery else None
    )
    recovery_form = RecoveryCodeForm(formdata=request.form if use_recovery else None)
    if request.method == "GET":
        return _second_step_page(user, code_form, recovery_form)
    form = recovery_form if use_recovery else code_form
    if not form.validate():
        return _second_step_page(user, code_form, recovery_form, status=400, recovery_open=use_recovery)
    # A refusal or a failure is audited and counted: kept (committed) either way.
    with saving(catch=(Throttled, CodeRejected), keep=True, quiet=True) as saved:
        left = two_factor.check_second_factor(
            user,
            code=None if use_recovery else form.code.data,
            recovery_code=form.recovery_code.data if use_recovery else None,
            remote_addr=request.remote_addr,
        )
    if isinstance(saved.error, Throttled):
        flash(try_again_message(saved.error.blocked.minutes), "error")
        return _second_step_page(user, code_form, recovery_form, status=429, recovery_open=use_recovery)
    if saved.failed:
        (form.recovery_code if use_recovery else form.code).errors.append(saved.message)
        return _second_step_page(user, code_form, recovery_form, status=401, recovery_open=use_recovery)
    pending.forget()
    with saving():
        services.complete_login(
            user, remote_addr=request.remote_addr, reason="with a recovery code" if use_recovery else None
        )
        start_session(user, remote_addr=request.remote_addr, user_agent=request.user_agent.string)
    login_user(user)
    if left is not None:
        message = ngettext(
            "You have %(num)d recovery code left.", "You have %(num)d recovery codes left.", left
        )
        if left <= 3:
            message += " " + _("Create new ones from your account page.")
        flash(message, "warning" if left <= 3 else "success")
    return redirect(safe_next(next_url) or url_for("main.home"))


@bp.post("/logout")
@public  # also cancels a sign-in waiting for its second factor, where nobody is signed in yet
def logout():
    form = ConfirmForm()
    if form.validate_on_submit():
        was_waiting = pending.is_waiting()
        pending.forget()
        if current_user.is_authenticated:
            with saving():
                services.sign_out(current_user._get_current_object(), session_token=current_user.get_id())
            logout_user()
            flash(_("You have signed out."), "success")
        elif was_waiting:
            flash(_("Sign-in cancelled."), "success")
    response = redirect(url_for("auth.login"))
    # Copies of unsaved forms kept in the browser (drafts.js) are for their author only.
    response.headers["Clear-Site-Data"] = '"storage"'
    return response


def _sign_out_this_browser() -> None:
    """Before a link signs someone in (or changes a password), end whatever session this browser has."""
    if current_user.is_authenticated:
        revoke_session(current_user.get_id())
        logout_user()


def _referrer_to_this_site_only(response):
    """The token is in the address: never send it to another site in a Referer header.

    `same-origin`, not `no-referrer`: the form on the page posts back to its own address, and over
    HTTPS Flask-WTF refuses a POST without a same-origin Referer. The Referer then goes only to
    this app, which has the token in the request line anyway (docs/SECURITY.md).
    """
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def _from_link(purpose: Purpose) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A page reached through a link from an email: the view gets the token and the link's user;
    a link that is unknown, used or expired gets the page that says so instead."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def linked(token: str) -> Any:
            try:
                user = services.link_user(token, purpose)
            except TokenError as exc:
                return _link_problem_page(exc.problem, purpose)
            return view(token, user)

        return linked

    return decorate


def _link_problem_page(problem: TokenProblem, purpose: Purpose):
    messages = {
        TokenProblem.unknown: _(
            "This link is not valid. Check that you copied the whole address from the email."
        ),
        TokenProblem.used: _("This link has already been used. Each link works only once."),
        TokenProblem.expired: _("This link has expired."),
    }
    if purpose is Purpose.invitation:
        advice = _("Ask the person who invited you (or an administrator) to send a new invitation.")
    else:
        advice = _("You can ask for a new link below.")
    status = 404 if problem is TokenProblem.unknown else 410
    page = render_template(
        "auth/link_problem.html", message=messages[problem], advice=advice, purpose=purpose.value
    )
    return _referrer_to_this_site_only(current_app.make_response((page, status)))


@bp.route("/auth/reset", methods=["GET", "POST"])
@public
def request_reset():
    """Ask for a password-reset link. The answer is the same whether or not the account exists."""
    form = PasswordResetRequestForm()
    if form.validate_on_submit():
        with saving(catch=Throttled, keep=True, quiet=True) as saved:
            found = services.request_password_reset(form.email.data, remote_addr=request.remote_addr)
        if saved.failed:
            flash(try_again_message(saved.error.blocked.minutes), "error")
            return render_template("auth/request_reset.html", form=form), 429
        if found is not None:
            user, token = found
            # A failure is logged; the answer must not differ from an unknown email's.
            with contextlib.suppress(mail.MailError):
                mail.send(emails.password_reset(user, token))
        flash(
            _(
                "If an account exists for %(email)s, we have sent it a link to choose a new password. "
                "It expires in %(minutes)d minutes. If nothing arrives, check your spam folder or ask "
                "your project officer.",
                email=form.email.data.strip(),
                minutes=round(current_app.config["PASSWORD_RESET_LIFETIME"].total_seconds() / 60),
            ),
            "success",
        )
        return redirect(url_for("auth.login"))
    status = 400 if request.method == "POST" else 200
    return render_template("auth/request_reset.html", form=form), status


@bp.route("/auth/reset/<token>", methods=["GET", "POST"])
@public
@_from_link(Purpose.password_reset)
def reset_password(token: str, user: User):
    form = NewPasswordForm()
    if form.validate_on_submit():
        with saving(
            _("Your password has been changed. Please sign in with the new one."),
            catch=(TokenError, PasswordRejected),
            quiet=True,
        ) as saved:
            services.reset_password(token, password=form.password.data)
            _sign_out_this_browser()
        if isinstance(saved.error, TokenError):
            return _link_problem_page(saved.error.problem, Purpose.password_reset)
        if saved.failed:
            form.password.errors.append(saved.message)
        else:
            return redirect(url_for("auth.login"))
    status = 400 if request.method == "POST" else 200
    page = render_template("auth/reset_password.html", form=form, email=user.email, hint=PASSWORD_HINT)
    return _referrer_to_this_site_only(current_app.make_response((page, status)))


@bp.route("/auth/invitation/<token>", methods=["GET", "POST"])
@public
@_from_link(Purpose.invitation)
def accept_invitation(token: str, invited: User):
    form = AcceptInvitationForm()
    if request.method == "GET":
        form.full_name.data = invited.full_name
    if form.validate_on_submit():
        with saving(catch=(TokenError, PasswordRejected), quiet=True) as saved:
            user = services.accept_invitation(
                token, password=form.password.data, full_name=form.full_name.data
            )
            _sign_out_this_browser()
            adopt_browser_zone(user, form.browser_time_zone.data)
            # Signed in like any sign-in: the trail shows it (user.login) as for the login form.
            services.complete_login(user, remote_addr=request.remote_addr, reason="invitation accepted")
            start_session(user, remote_addr=request.remote_addr, user_agent=request.user_agent.string)
        if isinstance(saved.error, TokenError):
            return _link_problem_page(saved.error.problem, Purpose.invitation)
        if saved.failed:
            form.password.errors.append(saved.message)
        else:
            login_user(user)
            flash(_("Welcome, %(name)s. Your account is ready.", name=user.display_name), "success")
            return redirect(url_for("main.home"))
    status = 400 if request.method == "POST" else 200
    page = render_template("auth/accept_invitation.html", form=form, email=invited.email, hint=PASSWORD_HINT)
    return _referrer_to_this_site_only(current_app.make_response((page, status)))
