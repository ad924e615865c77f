"""Forms of the projects feature. Field rules shared with the spreadsheet import live in
`framework.py`; these forms call them so that both say the same thing."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
    ValidationError,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from mel_app.integers import BoundedIntegerField
from mel_app.models import FundingModality, Measure, Phase, ResultType
from mel_app.projects import framework as fw
from mel_app.projects.countries import country_choices
from mel_app.projects.periods import LABEL_MAX, Frequency
from mel_app.projects.services import normalise_reference, reference_error


def opts(pairs: Any) -> list[SelectChoice]:
    """Select options from (value, label) pairs."""
    return [SelectChoice("" if value is None else str(value), label) for value, label in pairs]


def optional_int(value: Any) -> int | None:
    if value in (None, "", "None"):
        return None
    return int(value)


PHASE_LABELS = {
    Phase.design: _l("Design"),
    Phase.implementation: _l("Implementation"),
    Phase.closed: _l("Closed"),
}
RESULT_TYPE_LABELS = {
    ResultType.impact: _l("Impact"),
    ResultType.outcome: _l("Outcome"),
    ResultType.output: _l("Output"),
}
MEASURE_LABELS = {
    Measure.number: _l("Number"),
    Measure.percentage: _l("Percentage"),
    Measure.yes_no: _l("Yes/no"),
    Measure.qualitative: _l("Qualitative"),
}
FREQUENCY_LABELS = {
    Frequency.quarterly: _l("Quarterly"),
    Frequency.half_yearly: _l("Half-yearly"),
    Frequency.yearly: _l("Yearly"),
}


class ReasonMixin:
    """Once a framework is approved, every change to it says why (kept in the audit trail)."""

    needs_reason = False
    reason = TextAreaField(
        _l("Reason for the change"),
        # No Optional(): it would stop the chain before validate_reason runs.
        validators=[Length(max=2000)],
        render_kw={"rows": 2},
    )

    def validate_reason(self, field: Any) -> None:
        if self.needs_reason and not (field.data or "").strip():
            raise ValidationError(_l("The framework is approved: say why it changes."))


class ProjectForm(FlaskForm):
    reference = StringField(
        _l("ILO reference"),
        validators=[DataRequired(), Length(max=32)],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=300)])
    summary = TextAreaField(_l("Summary"), validators=[Optional(), Length(max=5000)], render_kw={"rows": 4})
    donor = StringField(_l("Donor"), validators=[Optional(), Length(max=200)])
    funding_modality = SelectField(
        _l("Funding modality"),
        choices=opts((m.value, m.value) for m in FundingModality),
        validators=[DataRequired()],
    )
    countries = SelectMultipleField(_l("Countries"), validators=[Optional()], render_kw={"size": 8})
    start_date = DateField(_l("Start date"), validators=[InputRequired()])
    end_date = DateField(_l("End date"), validators=[InputRequired()])
    phase = SelectField(_l("Phase"), validators=[DataRequired()])
    updated_at = HiddenField()
    submit = SubmitField(_l("Save"))

    def __init__(
        self, *args: Any, project_id: int | None = None, phases: list[Phase] | None = None, **kw: Any
    ):
        super().__init__(*args, **kw)
        self._project_id = project_id
        self.countries.choices = opts(country_choices())
        self.phase.choices = opts((p.value, PHASE_LABELS[p]) for p in (phases or list(Phase)))

    def validate_reference(self, field: Any) -> None:
        field.data = normalise_reference(field.data)
        if message := reference_error(field.data, except_id=self._project_id):
            raise ValidationError(message)

    def validate_end_date(self, field: Any) -> None:
        if field.data and self.start_date.data and field.data <= self.start_date.data:
            raise ValidationError(_l("The project must end after it starts."))


class PartnerForm(FlaskForm):
    organisation_id = SelectField(_l("Organisation"), coerce=optional_int, validators=[InputRequired()])
    submit = SubmitField(_l("Add partner"))


class ConfirmForm(FlaskForm):
    """A bare POST with its CSRF token (remove, approve, delete)."""

    submit = SubmitField(_l("Confirm"))


class ChangeForm(ReasonMixin, FlaskForm):
    submit = SubmitField(_l("Confirm"))


class ResultForm(ReasonMixin, FlaskForm):
    type = SelectField(
        _l("Level"),
        choices=opts((t.value, RESULT_TYPE_LABELS[t]) for t in ResultType),
        default=ResultType.outcome.value,
    )
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=fw.CODE_MAX)])
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=fw.TITLE_MAX)])
    description = TextAreaField(
        _l("Description"), validators=[Optional(), Length(max=5000)], render_kw={"rows": 3}
    )
    parent_id = SelectField(_l("Under"), coerce=optional_int, validators=[Optional()])
    updated_at = HiddenField()
    submit = SubmitField(_l("Save"))

    def validate_code(self, field: Any) -> None:
        field.data = (field.data or "").strip()
        if message := fw.code_error(field.data):
            raise ValidationError(message)


class IndicatorForm(ReasonMixin, FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=fw.CODE_MAX)])
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=fw.TITLE_MAX)])
    description = TextAreaField(
        _l("Description"), validators=[Optional(), Length(max=5000)], render_kw={"rows": 2}
    )
    measure = SelectField(_l("Measure"), choices=opts((m.value, MEASURE_LABELS[m]) for m in Measure))
    unit = StringField(_l("Unit"), validators=[Optional(), Length(max=fw.UNIT_MAX)])
    ascending = BooleanField(_l("A higher value is better"), default=True)
    baseline_value = StringField(_l("Baseline value"), validators=[Optional(), Length(max=40)])
    baseline_date = DateField(_l("Baseline date"), validators=[Optional()])
    baseline_comment = TextAreaField(
        _l("Baseline comment"), validators=[Optional(), Length(max=5000)], render_kw={"rows": 2}
    )
    target_value = StringField(_l("Target value"), validators=[Optional(), Length(max=40)])
    target_date = DateField(_l("Target date"), validators=[Optional()])
    target_comment = TextAreaField(
        _l("Target comment"), validators=[Optional(), Length(max=5000)], render_kw={"rows": 2}
    )
    disaggregate_by_sex = BooleanField(_l("Reports give women and men separately"))
    means_of_verification = TextAreaField(
        _l("Means of verification"), validators=[Optional(), Length(max=5000)], render_kw={"rows": 2}
    )
    responsible_organisation_id = SelectField(
        _l("Responsible organisation"), coerce=optional_int, validators=[Optional()]
    )
    updated_at = HiddenField()
    submit = SubmitField(_l("Save"))

    def validate_code(self, field: Any) -> None:
        field.data = (field.data or "").strip()
        if message := fw.code_error(field.data):
            raise ValidationError(message)

    def _value(self, field: Any) -> None:
        try:
            fw.parse_value(field.data, Measure(self.measure.data))
        except ValueError as exc:
            raise ValidationError(str(exc)) from None

    def validate_baseline_value(self, field: Any) -> None:
        self._value(field)

    def validate_target_value(self, field: Any) -> None:
        self._value(field)

    def validate_target_date(self, field: Any) -> None:
        if field.data and self.baseline_date.data and field.data < self.baseline_date.data:
            raise ValidationError(_l("The target date cannot be before the baseline date."))

    def validate_disaggregate_by_sex(self, field: Any) -> None:
        if field.data and self.measure.data in (Measure.yes_no.value, Measure.qualitative.value):
            raise ValidationError(_l("Only numbers can be split by sex."))

    def to_data(self) -> fw.IndicatorData:
        measure = Measure(self.measure.data)
        return fw.IndicatorData(
            code=self.code.data,
            title=self.title.data or "",
            description=self.description.data or "",
            measure=measure,
            unit=self.unit.data or "",
            ascending=bool(self.ascending.data),
            baseline_value=fw.parse_value(self.baseline_value.data, measure),
            baseline_date=self.baseline_date.data,
            baseline_comment=self.baseline_comment.data or "",
            target_value=fw.parse_value(self.target_value.data, measure),
            target_date=self.target_date.data,
            target_comment=self.target_comment.data or "",
            disaggregate_by_sex=bool(self.disaggregate_by_sex.data),
            means_of_verification=self.means_of_verification.data or "",
            responsible_organisation_id=self.responsible_organisation_id.data,
        )


class ImportForm(FlaskForm):
    file = FileField(_l("Spreadsheet (.xlsx or .csv)"), validators=[FileRequired()])
    submit = SubmitField(_l("Check the file"))


class ConfirmImportForm(ReasonMixin, FlaskForm):
    fingerprint = HiddenField(validators=[DataRequired()])
    submit = SubmitField(_l("Apply the import"))


class PeriodForm(FlaskForm):
    label = StringField(_l("Name"), validators=[DataRequired(), Length(max=LABEL_MAX)])
    start_date = DateField(_l("Start date"), validators=[InputRequired()])
    end_date = DateField(_l("End date"), validators=[InputRequired()])
    due_date = DateField(_l("Reports due on"), validators=[InputRequired()])
    updated_at = HiddenField()
    submit = SubmitField(_l("Save period"))

    def validate_end_date(self, field: Any) -> None:
        if field.data and self.start_date.data and field.data < self.start_date.data:
            raise ValidationError(_l("The end cannot be before the start."))

    def validate_due_date(self, field: Any) -> None:
        if field.data and self.end_date.data and field.data < self.end_date.data:
            raise ValidationError(_l("Reports can only be due after the period ends."))


class GeneratePeriodsForm(FlaskForm):
    frequency = SelectField(
        _l("Frequency"),
        choices=opts((f.value, FREQUENCY_LABELS[f]) for f in Frequency),
        default=Frequency.half_yearly.value,
    )
    due_days = BoundedIntegerField(
        _l("Reports due this many days after each period ends"),
        default=30,
        validators=[InputRequired(), NumberRange(min=0, max=365)],
    )
    submit = SubmitField(_l("Generate periods"))


class ProjectFilterForm(FlaskForm):
    """The project list's search and filters (a GET form: no CSRF token needed)."""

    class Meta:
        csrf = False

    q = StringField(_l("Search"), validators=[Optional(), Length(max=200)])
    country = SelectField(_l("Country"), validators=[Optional()])
    phase = SelectField(_l("Phase"), validators=[Optional()])
    constituency = SelectField(_l("Constituency of a partner"), validators=[Optional()])
    submit = SubmitField(_l("Filter"))
