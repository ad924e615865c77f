from __future__ import annotations

from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, Optional

from mel_app.exports.iati_codes import ORGANISATION_TYPES
from mel_app.locking import VersionField

if TYPE_CHECKING:
    from mel_app.admin.services import OrganisationList


def _int_or_none(value):
    return int(value) if value not in (None, "", "None") else None


class UserSearchForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search form

    q = StringField(_l("Name or email"), validators=[Optional(), Length(max=200)])
    status = SelectField(
        _l("Status"),
        choices=[
            SelectChoice("", _l("All")),
            SelectChoice("active", _l("Active")),
            SelectChoice("pending", _l("Invitation pending")),
            SelectChoice("deactivated", _l("Deactivated")),
            SelectChoice("admin", _l("Administrators")),
        ],
        validators=[Optional()],
    )
    # Free text, not a list: a portfolio has thousands of organisations, too many for a phone.
    organisation = StringField(
        _l("Organisation"),
        description=_l("Name or acronym"),
        validators=[Optional(), Length(max=200)],
    )
    submit = SubmitField(_l("Search"))


class OrganisationListMixin:
    """In a portfolio of more organisations than a select should carry: the country whose
    organisations the select lists, and a button that lists them, the rest of the input kept."""

    list_country = SelectField(
        _l("List the organisations of"), validators=[Optional()], validate_choice=False
    )
    list_organisations = SubmitField(_l("List them"))
    # What the organisation select holds (set by the view that fills it): the template says
    # from it whether the list is one country's, and out of how many organisations.
    organisation_list: OrganisationList | None = None


class InviteUserForm(OrganisationListMixin, FlaskForm):
    email = EmailField(
        _l("Email"),
        validators=[DataRequired(), Email(check_deliverability=False), Length(max=254)],
        render_kw={"autocomplete": "off"},
    )
    full_name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=200)])
    organisation_id = SelectField(_l("Organisation"), coerce=_int_or_none, validators=[Optional()])
    preferred_language = SelectField(
        _l("Language of the invitation and the pages"), validators=[DataRequired()]
    )
    is_admin = BooleanField(
        _l("Administrator (manages accounts and organisations, reads the whole audit trail)")
    )
    submit = SubmitField(_l("Send the invitation"))


class EditUserForm(OrganisationListMixin, FlaskForm):
    organisation_id = SelectField(_l("Organisation"), coerce=_int_or_none, validators=[Optional()])
    is_admin = BooleanField(
        _l("Administrator (manages accounts and organisations, reads the whole audit trail)")
    )
    version = VersionField(required=False)
    submit = SubmitField(_l("Save"))


class DeactivateForm(FlaskForm):
    reason = StringField(_l("Reason (kept in the audit trail)"), validators=[Optional(), Length(max=500)])
    submit = SubmitField(_l("Deactivate and sign out everywhere"))


class ResetTwoFactorForm(FlaskForm):
    confirm = BooleanField(
        _l("I have checked that the request really comes from this person"),
        validators=[DataRequired(message=_l("Tick the box to confirm that you have checked who is asking."))],
    )
    reason = StringField(_l("Reason (kept in the audit trail)"), validators=[Optional(), Length(max=500)])
    submit = SubmitField(_l("Reset two-factor sign-in"))


class OrganisationSearchForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField(_l("Name or acronym"), validators=[Optional(), Length(max=200)])
    group = SelectField(_l("Constituency"), validators=[Optional()])
    country = SelectField(_l("Country"), validators=[Optional()])
    submit = SubmitField(_l("Search"))


class OrganisationForm(OrganisationListMixin, FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    acronym = StringField(_l("Acronym"), validators=[Optional(), Length(max=40)])
    group = SelectField(_l("Constituency"), validators=[DataRequired()])
    country = SelectField(_l("Country"), validators=[Optional()])
    parent_id = SelectField(_l("Part of (parent organisation)"), coerce=_int_or_none, validators=[Optional()])
    iati_ref = StringField(
        _l("IATI organisation identifier"),
        validators=[Optional(), Length(max=100)],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    iati_type = SelectField(
        _l("IATI organisation type"),
        choices=[SelectChoice("", _l("The usual type of its constituency"))]
        + [SelectChoice(code, f"{code} — {label}") for code, label in ORGANISATION_TYPES.items()],
        validators=[Optional()],
    )
    version = VersionField(required=False)
    submit = SubmitField(_l("Save"))
