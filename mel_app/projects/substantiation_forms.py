"""The forms of substantiation: the specialist's request, and the answer of the person asked."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
    ValidationError,
)
from wtforms.validators import DataRequired, Email, InputRequired, Length, Optional

from mel_app.kit.web import choices
from mel_app.models import SubstantiationVerdict
from mel_app.projects import substantiation


class SubstantiationRequestForm(FlaskForm):
    name = StringField(
        _l("Name of the person you ask"),
        validators=[DataRequired(), Length(max=substantiation.NAME_MAX)],
        render_kw={"autocomplete": "off"},
    )
    email = EmailField(
        _l("Their e-mail address"),
        validators=[DataRequired(), Email(check_deliverability=False), Length(max=substantiation.EMAIL_MAX)],
        render_kw={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "none"},
    )
    language = SelectField(_l("Language of the e-mail and the page"), validators=[DataRequired()])
    message = TextAreaField(
        _l("Your message to them (optional)"),
        validators=[Optional(), Length(max=substantiation.MESSAGE_MAX)],
        render_kw={"rows": 3},
    )
    submit = SubmitField(_l("Send the request"))

    def fill_choices(self) -> None:
        self.language.choices = choices(current_app.config["LANGUAGES"].items())


VERDICT_CHOICES = [
    SelectChoice(SubstantiationVerdict.fully.value, _l("I agree fully")),
    SelectChoice(SubstantiationVerdict.partly.value, _l("I agree partly")),
    SelectChoice(SubstantiationVerdict.not_at_all.value, _l("I do not agree")),
]


class SubstantiationAnswerForm(FlaskForm):
    verdict = RadioField(
        _l("Do you agree with this outcome statement?"),
        choices=VERDICT_CHOICES,
        validators=[InputRequired(message=_l("Say whether you agree."))],
    )
    comment = TextAreaField(
        _l("Your comment"),
        # No Optional(): it would stop the chain before validate_comment when the box is empty.
        validators=[Length(max=substantiation.COMMENT_MAX)],
        render_kw={"rows": 6},
    )
    submit = SubmitField(_l("Send my answer"))

    def validate_comment(self, field: Any) -> None:
        if self.chosen() in substantiation.NEEDS_COMMENT and not (field.data or "").strip():
            raise ValidationError(_l("Say what is not right in the statement."))

    def chosen(self) -> SubstantiationVerdict | None:
        try:
            return SubstantiationVerdict(self.verdict.data)
        except ValueError:
            return None
