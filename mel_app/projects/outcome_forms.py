"""The form of an outcome statement."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, SubmitField, TextAreaField, ValidationError
from wtforms.validators import DataRequired, Length, Optional

from mel_app.kit.web import choices
from mel_app.locking import VersionField
from mel_app.projects import outcomes
from mel_app.projects.forms import CheckboxesField, optional_int

_WHEN_RE = re.compile(r"^(\d{4})-(\d{1,2})(?:-(\d{1,2}))?$")


def parse_when(text: str | None) -> tuple[date, bool] | None:
    """'2026-03-15' (a day) or '2026-03' (a month): the date and whether only its month is known."""
    match = _WHEN_RE.fullmatch((text or "").strip())
    if match is None:
        return None
    year, month, day = int(match[1]), int(match[2]), match[3]
    try:
        return date(year, month, int(day) if day else 1), day is None
    except ValueError:
        return None


def show_when(changed_on: date, month_only: bool) -> str:
    return changed_on.strftime("%Y-%m") if month_only else changed_on.isoformat()


class OutcomeForm(FlaskForm):
    social_actor = StringField(_l("Who changed"), validators=[DataRequired(), Length(max=outcomes.ACTOR_MAX)])
    change = TextAreaField(
        _l("How they changed"),
        validators=[DataRequired(), Length(max=outcomes.TEXT_MAX)],
        render_kw={"rows": 4},
    )
    when = StringField(
        _l("When it changed"),
        validators=[DataRequired()],
        render_kw={"autocomplete": "off", "spellcheck": "false", "inputmode": "numeric"},
    )
    place = StringField(_l("Where"), validators=[Optional(), Length(max=outcomes.PLACE_MAX)])
    significance = TextAreaField(
        _l("Why it matters"), validators=[Optional(), Length(max=outcomes.TEXT_MAX)], render_kw={"rows": 3}
    )
    contribution = TextAreaField(
        _l("How the project contributed"),
        validators=[Optional(), Length(max=outcomes.TEXT_MAX)],
        render_kw={"rows": 3},
    )
    organisations = CheckboxesField(_l("Partner organisations that contributed"), validators=[Optional()])
    result_id = SelectField(
        _l("Result of the framework it matches"), coerce=optional_int, validators=[Optional()]
    )
    unexpected = BooleanField(_l("Unexpected: the project did not plan this change"))
    negative = BooleanField(_l("Negative: a change for the worse"))
    version = VersionField(required=False)
    submit = SubmitField(_l("Save"))

    def fill_choices(self, partners: Any, results: Any) -> None:
        self.organisations.choices = [(str(o.id), o.label) for o in partners]
        self.result_id.choices = choices(
            ((r.id, f"{r.code} {r.title}") for r in results), blank=str(_l("None: a free outcome"))
        )

    def fill(self, outcome: Any) -> None:
        """Show the stored statement (GET of the edit page)."""
        self.when.data = show_when(outcome.changed_on, outcome.month_only)
        self.organisations.data = [str(c.organisation_id) for c in outcome.contributors]

    def validate_when(self, field: Any) -> None:
        if parse_when(field.data) is None:
            raise ValidationError(
                _l("Give a date such as 2026-03-15, or a month such as 2026-03 when the day is not known.")
            )

    def spec(self) -> outcomes.OutcomeSpec:
        parsed = parse_when(self.when.data)
        assert parsed is not None  # validated
        return outcomes.OutcomeSpec(
            social_actor=self.social_actor.data or "",
            change=self.change.data or "",
            changed_on=parsed[0],
            month_only=parsed[1],
            place=self.place.data or "",
            significance=self.significance.data or "",
            contribution=self.contribution.data or "",
            result_id=self.result_id.data,
            unexpected=bool(self.unexpected.data),
            negative=bool(self.negative.data),
            organisation_ids=[int(v) for v in self.organisations.data or []],
        )
