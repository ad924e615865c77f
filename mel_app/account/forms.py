from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, SelectMultipleField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from mel_app.auth.forms import current_password_field, new_password_fields
from mel_app.dates import valid_zone
from mel_app.kit.web import choices


def valid_time_zone(form, field) -> None:
    if field.data and field.data.strip() and valid_zone(field.data) is None:
        raise ValidationError(
            _l("This is not a time zone we know. Choose one from the list, for example Africa/Nairobi.")
        )


class ProfileForm(FlaskForm):
    full_name = StringField(
        _l("Full name"), validators=[DataRequired(), Length(max=200)], render_kw={"autocomplete": "name"}
    )
    preferred_language = SelectField(_l("Language of the pages and emails"), validators=[DataRequired()])
    # A text field with a list of suggestions (not a select): a mistyped zone is refused with a
    # message and kept in the field to correct. Checked against the server's zone database.
    time_zone = StringField(
        _l("Time zone of the times shown to you and of your emails"),
        validators=[Optional(), Length(max=64), valid_time_zone],
        description=_l("A place name such as Africa/Nairobi, America/Bogota or Europe/Paris."),
        render_kw={"list": "time-zones", "autocomplete": "off", "spellcheck": "false"},
    )
    submit = SubmitField(_l("Save"))


class ChangePasswordForm(FlaskForm):
    current_password = current_password_field(_l("Current password"))
    password, confirm = new_password_fields()
    submit = SubmitField(_l("Change the password"))


class ConfirmTwoFactorForm(FlaskForm):
    code = StringField(
        _l("6-digit code shown by the app"),
        validators=[DataRequired(), Length(max=12)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric", "maxlength": 12, "size": 8},
    )
    submit = SubmitField(_l("Turn on two-factor sign-in"))


class ConfirmIdentityForm(FlaskForm):
    """Before a change to the second factor: the password, or a current code from the app."""

    # "password" in the name keeps it out of the page that resends a refused form.
    password_or_code = current_password_field(
        _l("Your password, or a 6-digit code from your authenticator app")
    )


class MultiCheckboxField(SelectMultipleField):
    """Several choices as checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class CreateApiTokenForm(FlaskForm):
    name = StringField(
        _l("Name of the token"),
        validators=[DataRequired(), Length(max=100)],
        description=_l("What it is for, for example: quarterly export script."),
        render_kw={"autocomplete": "off"},
    )
    scopes = MultiCheckboxField(
        _l("What the token may do"),
        choices=choices(
            [
                ("read", _l("Read what you can see")),
                ("report", _l("Write and submit your organisation's reports")),
                ("review", _l("Return and approve reports you review")),
            ]
        ),
        validators=[DataRequired(message=_l("Choose at least one."))],
        default=["read"],
    )
    expires_in = SelectField(
        _l("Expires after"),
        choices=choices([("30", _l("30 days")), ("90", _l("90 days")), ("365", _l("one year"))]),
        default="90",
    )
    submit = SubmitField(_l("Create the token"))
