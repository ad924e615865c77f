from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError

from mel_app.models import Role


def _int_or_none(value):
    return int(value) if value not in (None, "", "None") else None


class AddMemberForm(FlaskForm):
    email = EmailField(
        _l("Email"),
        validators=[DataRequired(), Email(check_deliverability=False), Length(max=254)],
        render_kw={"autocomplete": "off"},
    )
    full_name = StringField(
        _l("Full name (for a person without an account yet)"), validators=[Optional(), Length(max=200)]
    )
    role = SelectField(_l("Role"), validators=[DataRequired()])
    organisation_id = SelectField(
        _l("Organisation they report for (reporters)"), coerce=_int_or_none, validators=[Optional()]
    )
    submit = SubmitField(_l("Add to the project"))

    def validate_organisation_id(self, field):
        if self.role.data == Role.reporter.value and field.data is None:
            raise ValidationError(_l("A reporter reports for an organisation: choose it."))
