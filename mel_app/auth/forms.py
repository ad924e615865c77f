from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length


def current_password_field(label: str) -> PasswordField:
    """A field for the password the user has now (password managers offer it), or another secret
    typed in its place."""
    return PasswordField(
        label, validators=[DataRequired(), Length(max=1024)], render_kw={"autocomplete": "current-password"}
    )


class LoginForm(FlaskForm):
    # A text field with the email keyboard rather than type=email: HTML_CodeSniffer (pa11y) accepts
    # autocomplete="username", which password managers look for, on text fields only.
    email = StringField(
        _l("Email"),
        validators=[DataRequired(), Length(max=254)],
        render_kw={
            "autocomplete": "username",
            "inputmode": "email",
            "autocapitalize": "none",
            "spellcheck": "false",
            "autofocus": True,
        },
    )
    password = current_password_field(_l("Password"))
    next = HiddenField()
    # Filled by static/js/time-zone.js with the browser's zone: the default of a user who has
    # not chosen one (mel_app.account.services.adopt_browser_zone).
    browser_time_zone = HiddenField(render_kw={"data-browser-time-zone": ""})
    submit = SubmitField(_l("Sign in"))


def new_password_fields() -> tuple[PasswordField, PasswordField]:
    """A new password, and the same again to catch a typing mistake."""
    password = PasswordField(
        _l("New password"),
        validators=[DataRequired(), Length(max=1024)],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The two passwords are not the same."))],
        render_kw={"autocomplete": "new-password"},
    )
    return password, confirm


PASSWORD_HINT = _l(
    "At least 12 characters. No special characters needed: a few unrelated words make a strong "
    "password that is easy to remember. Common passwords are refused."
)


class PasswordResetRequestForm(FlaskForm):
    email = EmailField(
        _l("Email"),
        validators=[DataRequired(), Length(max=254)],
        render_kw={"autocomplete": "email", "autofocus": True},
    )
    submit = SubmitField(_l("Send me a link"))


class NewPasswordForm(FlaskForm):
    password, confirm = new_password_fields()
    submit = SubmitField(_l("Save the new password"))


class AcceptInvitationForm(FlaskForm):
    full_name = StringField(
        _l("Your full name"),
        validators=[DataRequired(), Length(max=200)],
        render_kw={"autocomplete": "name"},
    )
    password, confirm = new_password_fields()
    browser_time_zone = HiddenField(render_kw={"data-browser-time-zone": ""})
    submit = SubmitField(_l("Accept and sign in"))


# Authenticator codes: a numeric keypad on phones, and the browser may offer a code it received.
CODE_FIELD_ATTRS = {"autocomplete": "one-time-code", "inputmode": "numeric", "maxlength": 12, "size": 8}


class SecondStepForm(FlaskForm):
    code = StringField(
        _l("6-digit code"),
        validators=[DataRequired(), Length(max=12)],
        render_kw={**CODE_FIELD_ATTRS, "autofocus": True},
    )
    submit = SubmitField(_l("Continue"))


class RecoveryCodeForm(FlaskForm):
    recovery_code = StringField(
        _l("Recovery code"),
        validators=[DataRequired(), Length(max=40)],
        render_kw={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false", "size": 14},
    )
    submit = SubmitField(_l("Sign in with a recovery code"))
