"""The forms of change stories and of a project's domains of change."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, SelectField, StringField, SubmitField, TextAreaField, ValidationError
from wtforms.validators import DataRequired, Optional

from mel_app.kit.web import choices
from mel_app.locking import VersionField
from mel_app.projects import stories
from mel_app.projects.forms import optional_int
from mel_app.submissions.files import ACCEPT_ATTRIBUTE, EvidenceLimits, FileInfected, Upload, check_evidence
from mel_app.submissions.forms import Limit


class StoryForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Limit(max=stories.TITLE_MAX)])
    what_happened = TextAreaField(
        _l("What happened"), validators=[DataRequired(), Limit(max=stories.TEXT_MAX)], render_kw={"rows": 6}
    )
    who_involved = TextAreaField(
        _l("Who was involved"), validators=[Optional(), Limit(max=stories.TEXT_MAX)], render_kw={"rows": 3}
    )
    why_significant = TextAreaField(
        _l("Why this change matters to you"),
        validators=[DataRequired(), Limit(max=stories.TEXT_MAX)],
        render_kw={"rows": 4},
    )
    domain_id = SelectField(_l("Domain of change"), coerce=optional_int, validators=[DataRequired()])
    period_id = SelectField(_l("Reporting period"), coerce=optional_int, validators=[Optional()])
    evidence = FileField(_l("Evidence file (optional)"), render_kw={"accept": ACCEPT_ATTRIBUTE})
    remove_evidence = BooleanField(_l("Remove the evidence file"))
    names_people = BooleanField(_l("The story names people"))
    people_consent = BooleanField(_l("The people named agreed to be named"))
    share_consent = BooleanField(_l("I agree that this story may be read outside the project"))
    version = VersionField(required=False)
    submit = SubmitField(_l("Save the story"))

    upload: Upload | None = None
    upload_too_large: bool = False
    infected: list[FileInfected]

    def fill_choices(self, domains: Any, periods: Any) -> None:
        self.domain_id.choices = choices(((d.id, d.name) for d in domains), blank=str(_l("— choose —")))
        self.period_id.choices = choices(((p.id, p.label) for p in periods), blank=str(_l("No period")))

    def validate_evidence(self, field: Any) -> None:
        self.infected = []
        storage = field.data
        if not getattr(storage, "filename", None):
            return
        found = check_evidence(
            [(storage.stream, storage.filename)], EvidenceLimits.from_config(current_app.config)
        )
        self.infected = found.infected
        self.upload_too_large = found.too_large
        if found.refusals:
            raise ValidationError(" ".join(found.refusals))
        self.upload = found.uploads[0]

    def validate_people_consent(self, field: Any) -> None:
        if self.names_people.data and not field.data:
            raise ValidationError(
                _l(
                    "The story names people who have not agreed to be named. Ask them first, or "
                    "tell the story without their names."
                )
            )

    def spec(self) -> stories.StorySpec:
        return stories.StorySpec(
            title=self.title.data or "",
            what_happened=self.what_happened.data or "",
            who_involved=self.who_involved.data or "",
            why_significant=self.why_significant.data or "",
            domain_id=self.domain_id.data,
            period_id=self.period_id.data,
            names_people=bool(self.names_people.data),
            people_consent=bool(self.people_consent.data),
            share_consent=bool(self.share_consent.data),
        )


class StoryFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET filter changes nothing

    domain = SelectField(_l("Domain of change"), coerce=optional_int, validate_choice=False)
    period = SelectField(_l("Reporting period"), coerce=optional_int, validate_choice=False)
    show = SubmitField(_l("Show"))

    def fill_choices(self, domains: Any, periods: Any) -> None:
        self.domain.choices = choices(((d.id, d.name) for d in domains), blank=str(_l("All domains")))
        self.period.choices = choices(((p.id, p.label) for p in periods), blank=str(_l("All periods")))

    def chosen(self, name: str, allowed: set[int]) -> int | None:
        """The id chosen in the filter, if it is one offered (anything else: no filter)."""
        try:
            value = optional_int(self[name].raw_data[0] if self[name].raw_data else None)
        except (TypeError, ValueError):
            return None
        return value if value in allowed else None


class DomainForm(FlaskForm):
    name = StringField(_l("Name of the domain"), validators=[DataRequired(), Limit(max=stories.DOMAIN_MAX)])
    submit = SubmitField(_l("Save"))


class NewDomainForm(FlaskForm):
    name = StringField(_l("New domain of change"), validators=[DataRequired(), Limit(max=stories.DOMAIN_MAX)])
    submit = SubmitField(_l("Add the domain"))
