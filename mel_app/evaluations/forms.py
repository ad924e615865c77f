"""Forms of the evaluations feature. Every field has a label; validation never raises a 500."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from mel_app.confirmation import ConfirmedMixin
from mel_app.enum_labels import LABELS
from mel_app.evaluations.services import MAX_POINTS, MIN_POINTS
from mel_app.integers import BoundedIntegerField, to_int
from mel_app.locking import VersionField
from mel_app.models import ActionStatus, EvaluationKind, ResponseKind, ScorerGroup

KIND_LABELS = LABELS[EvaluationKind]
GROUP_LABELS = LABELS[ScorerGroup]
RESPONSE_LABELS = LABELS[ResponseKind]
ACTION_STATUS_LABELS = LABELS[ActionStatus]
CANNOT_ASSESS = "na"


class MultiCheckboxField(SelectMultipleField):
    """A list of checkboxes (works without JavaScript, easier on phones than a multi-select)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


# --- evaluations ---------------------------------------------------------------------------------


def _invitee_fields() -> tuple[Any, Any, Any]:
    """Who is invited to score: evaluators, partner organisations (all their reporters), ILO staff.
    Made where each form declares them, so that they keep their place among its fields."""
    return (
        MultiCheckboxField(_l("Evaluators"), coerce=int),
        MultiCheckboxField(_l("Partner organisations (all their reporters)"), coerce=int),
        MultiCheckboxField(_l("ILO staff"), coerce=int),
    )


def _someone_invited(form: Any, refusal: str) -> bool:
    if form.evaluators.data or form.organisations.data or form.ilo_staff.data:
        return True
    form.evaluators.errors = [refusal]
    return False


class EvaluationForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=300)])
    kind = SelectField(
        _l("Kind"),
        choices=[SelectChoice(k.value, label) for k, label in KIND_LABELS.items()],
        validators=[DataRequired()],
    )
    criteria_set_id = SelectField(_l("Criteria set"), coerce=int, validators=[InputRequired()])
    scale_id = SelectField(_l("Scale"), coerce=int, validators=[InputRequired()])
    deadline = DateField(_l("Deadline for scoring"), validators=[Optional()])
    evaluators, organisations, ilo_staff = _invitee_fields()
    submit = SubmitField(_l("Open the evaluation"))

    def validate_deadline(self, field: DateField) -> None:
        if field.data and field.data < date.today():
            raise ValidationError(_("The deadline cannot be in the past."))

    def validate(self, extra_validators: Any = None) -> bool:
        return super().validate(extra_validators) and _someone_invited(
            self, _("Invite at least one person to score.")
        )


class InviteForm(FlaskForm):
    evaluators, organisations, ilo_staff = _invitee_fields()
    submit = SubmitField(_l("Invite"))

    def validate(self, extra_validators: Any = None) -> bool:
        return super().validate(extra_validators) and _someone_invited(
            self, _("Choose at least one person or organisation.")
        )


class CloseEvaluationForm(ConfirmedMixin, FlaskForm):
    version = VersionField()
    submit = SubmitField(_l("Close the evaluation"))


# --- scorecards ----------------------------------------------------------------------------------


class ScorecardForm(FlaskForm):
    """Fields per criterion are added by `scorecard_form`: point_<id>, justification_<id>, evidence_<id>."""

    version = VersionField()
    save = SubmitField(_l("Save draft"))
    submit_card = SubmitField(_l("Submit my scorecard"))


def scorecard_form(
    criteria: list[Any], points: list[Any], evidence: list[Any], **kwargs: Any
) -> ScorecardForm:
    """A ScorecardForm with a point, a justification and evidence for every criterion."""
    point_choices = [
        SelectChoice(str(p.value), f"{p.value} — {p.label}") for p in sorted(points, key=lambda p: -p.value)
    ]
    point_choices.append(SelectChoice(CANNOT_ASSESS, _l("Cannot assess")))
    evidence_choices = [SelectChoice(e.key, e.label) for e in evidence]

    class _Form(ScorecardForm):
        pass

    for criterion in criteria:
        setattr(
            _Form,
            f"point_{criterion.id}",
            RadioField(_l("Score"), choices=point_choices, validators=[Optional()]),
        )
        setattr(
            _Form,
            f"justification_{criterion.id}",
            TextAreaField(_l("Justification"), validators=[Length(max=5000)], render_kw={"rows": 3}),
        )
        setattr(
            _Form,
            f"evidence_{criterion.id}",
            SelectMultipleField(_l("Evidence (optional)"), choices=evidence_choices, render_kw={"size": 4}),
        )
    return _Form(**kwargs)


class ReopenScorecardForm(FlaskForm):
    version = VersionField()
    reason = TextAreaField(
        _l("Reason for reopening"), validators=[DataRequired(), Length(max=2000)], render_kw={"rows": 2}
    )
    submit = SubmitField(_l("Reopen the scorecard"))


# --- recommendations -----------------------------------------------------------------------------


NOT_A_PARTNER = _l(
    "A recommendation can be addressed only to a partner organisation of this project. "
    "Choose one of its partners, or write to whom it is addressed."
)


class RecommendationForm(FlaskForm):
    """`partners`: the project's partner organisations, the only ones it may be addressed to."""

    text = TextAreaField(_l("Recommendation"), validators=[DataRequired(), Length(max=5000)])
    # Its choices are the project's partners (set in __init__); anything else is refused below
    # with a message that says why, the text typed kept.
    addressed_organisation_id = SelectField(
        _l("Addressed to a partner organisation"),
        choices=[],
        coerce=lambda value: "" if value is None else str(value),
        validate_choice=False,
    )
    addressed_to = StringField(_l("Addressed to (others)"), validators=[Optional(), Length(max=300)])
    version = VersionField(required=False)
    submit = SubmitField(_l("Save the recommendation"))

    def __init__(self, *args: Any, partners: list[Any] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.addressed_organisation_id.choices = [SelectChoice("", _l("None of them"))] + [
            SelectChoice(str(o.id), o.label) for o in partners
        ]

    def validate_addressed_organisation_id(self, field: SelectField) -> None:
        allowed = {choice.value for choice in field.choices}
        if (field.data or "") not in allowed:
            raise ValidationError(NOT_A_PARTNER)

    def entered(self) -> dict[str, Any]:
        """The recommendation as the services take it, whether added or changed."""
        return {
            "text": self.text.data,
            "addressed_to": self.addressed_to.data or "",
            "addressed_organisation_id": to_int(self.addressed_organisation_id.data, minimum=1),
        }


class ResponseForm(FlaskForm):
    version = VersionField(required=False)
    response = SelectField(
        _l("Management response"),
        choices=[SelectChoice(k.value, label) for k, label in RESPONSE_LABELS.items()],
        validators=[DataRequired()],
    )
    planned_action = TextAreaField(_l("Planned action"), validators=[Optional(), Length(max=5000)])
    due_date = DateField(_l("Due date"), validators=[Optional()])
    action_status = SelectField(
        _l("Status of the action"),
        choices=[SelectChoice(k.value, label) for k, label in ACTION_STATUS_LABELS.items()],
        validators=[DataRequired()],
    )
    submit = SubmitField(_l("Save the response"))


# --- criteria sets and scales (administrators) ---------------------------------------------------


class CriterionRowForm(Form):
    id = HiddenField()
    code = StringField(_l("Code"), validators=[Optional(), Length(max=20)])
    name = StringField(_l("Name"), validators=[Optional(), Length(max=200)])
    guiding_question = TextAreaField(_l("Guiding question"), validators=[Optional()], render_kw={"rows": 2})
    position = BoundedIntegerField(_l("Order"), validators=[Optional(), NumberRange(min=0, max=999)])
    remove = BooleanField(_l("Remove"))

    @property
    def is_blank(self) -> bool:
        return not (self.code.data or "").strip() and not (self.name.data or "").strip()


class CriteriaSetForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    description = TextAreaField(_l("Description"), validators=[Optional()], render_kw={"rows": 2})
    criteria = FieldList(FormField(CriterionRowForm), min_entries=1, max_entries=60)
    version = VersionField(required=False)
    submit = SubmitField(_l("Save the criteria set"))

    def validate_criteria(self, field: FieldList) -> None:
        for row in field:
            if row.form.remove.data or row.form.is_blank:
                continue
            if not (row.form.code.data or "").strip():
                row.form.code.errors = [*row.form.code.errors, _("Give a code.")]
                raise ValidationError(_("Every criterion needs a code and a name."))
            if not (row.form.name.data or "").strip():
                row.form.name.errors = [*row.form.name.errors, _("Give a name.")]
                raise ValidationError(_("Every criterion needs a code and a name."))


class PointRowForm(Form):
    label = StringField(_l("Label"), validators=[Optional(), Length(max=100)])
    rubric = TextAreaField(_l("Rubric (optional)"), validators=[Optional()], render_kw={"rows": 2})


class ScaleForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    # Row i is point i + 1; an empty label leaves the point out.
    points = FieldList(FormField(PointRowForm), min_entries=MAX_POINTS, max_entries=MAX_POINTS)
    version = VersionField(required=False)
    submit = SubmitField(_l("Save the scale"))

    def validate_points(self, field: FieldList) -> None:
        filled = [i + 1 for i, row in enumerate(field) if (row.form.label.data or "").strip()]
        if not MIN_POINTS <= len(filled) <= MAX_POINTS:
            raise ValidationError(_("Label from %(min)d to %(max)d points.", min=MIN_POINTS, max=MAX_POINTS))
        if filled != list(range(1, len(filled) + 1)):
            raise ValidationError(_("Label the points from 1 upwards, without gaps."))
