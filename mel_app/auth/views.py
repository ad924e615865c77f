"""Sign in and sign out."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from mel_app import audit
from mel_app.auth.forms import LoginForm, LogoutForm
from mel_app.auth.services import authenticate
from mel_app.auth.sessions import revoke_session, start_session
from mel_app.extensions import db
from mel_app.urls import safe_next

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if form.validate_on_submit():
        user = authenticate(form.email.data, form.password.data, remote_addr=request.remote_addr)
        if user is None:
            db.session.commit()  # keep the audited failure
            flash(_("The email or password is not right, or the account is not active."), "error")
            form.password.data = ""
            return render_template("auth/login.html", form=form), 401
        start_session(user, remote_addr=request.remote_addr, user_agent=request.user_agent.string)
        db.session.commit()
        login_user(user)
        return redirect(safe_next(form.next.data) or url_for("main.home"))
    status = 400 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
def logout():
    form = LogoutForm()
    if form.validate_on_submit():
        revoke_session(current_user.get_id())
        audit.record(db.session, "user.logout", actor=current_user, target=current_user._get_current_object())
        db.session.commit()
        logout_user()
        flash(_("You have signed out."), "success")
    return redirect(url_for("auth.login"))
