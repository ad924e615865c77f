"""The trail's filters: a GET form to read, the same fields in a POST form to download."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, SubmitField
from wtforms.validators import Length, Optional, ValidationError

from mel_app.audit.history import TrailFilters, audited_models
from mel_app.audit.labels import entity_label


def _optional_int(value: Any) -> int | None:
    if value in (None, "", "None"):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1  # not a choice: validation says so


class TrailFilterForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF has no type hints
    class Meta:
        csrf = False  # reading (GET) changes nothing

    actor = StringField(
        _l("Who"),
        validators=[Optional(), Length(max=200)],
        description=_l("Part of a name or email, or # and an account number."),
    )
    action = StringField(
        _l("Action"),
        validators=[Optional(), Length(max=80)],
        description=_l("For example submission.approve, or submission for every action on submissions."),
    )
    project = SelectField(_l("Project"), coerce=_optional_int, default=None, validate_choice=True)
    entity_type = SelectField(_l("Kind of record"), default="", validate_choice=True)
    entity_id = StringField(_l("Record number"), validators=[Optional(), Length(max=64)])
    # Days in the reader's time zone, the zone the trail's times are shown in.
    date_from = DateField(_l("From (in your time zone)"), validators=[Optional()])
    date_to = DateField(_l("To (in your time zone, inclusive)"), validators=[Optional()])
    submit = SubmitField(_l("Filter"))

    def set_choices(self, projects: list[tuple[int, str]], *, every_project: bool = False) -> None:
        self.project.choices = [
            (None, _l("All projects") if every_project else _l("All my projects")),
            *projects,
        ]
        self.entity_type.choices = [("", _l("All kinds"))] + sorted(
            ((name, entity_label(name)) for name in audited_models()), key=lambda c: c[1]
        )

    def validate_date_to(self, field: DateField) -> None:
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError(_l("The end date is before the start date."))

    def filters(self) -> TrailFilters:
        return TrailFilters(
            actor=(self.actor.data or "").strip(),
            action=(self.action.data or "").strip(),
            project_id=self.project.data,
            entity_type=self.entity_type.data or "",
            entity_id=(self.entity_id.data or "").strip(),
            date_from=self.date_from.data,
            date_to=self.date_to.data,
        )


class TrailDownloadForm(TrailFilterForm):
    """The same filters, posted with a CSRF token: a download is recorded in the trail."""

    class Meta:
        csrf = True

    submit = SubmitField(_l("Download as CSV"))
