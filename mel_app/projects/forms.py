"""Forms of the projects feature. Field rules shared with the spreadsheet import live in
`framework.py`; these forms call them so that both say the same thing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from babel.numbers import get_currency_name
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    Form,
    FormField,
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
from wtforms.widgets import CheckboxInput, ListWidget, TextInput

from mel_app.enum_labels import LABELS
from mel_app.exports.iati_codes import CURRENCIES, ORGANISATION_TYPES, SECTORS
from mel_app.integers import BoundedIntegerField, to_int
from mel_app.kit.web import choices
from mel_app.locking import VersionField
from mel_app.models import Aggregation, FundingModality, Measure, Phase, ResultType
from mel_app.projects import framework as fw
from mel_app.projects import ilo_terms
from mel_app.projects.countries import country_choices, country_name
from mel_app.projects.periods import LABEL_MAX, Frequency
from mel_app.projects.services import (
    budget_error,
    country_shares_error,
    normalise_org_ref,
    normalise_reference,
    org_ref_error,
    reference_error,
    sector_shares_error,
)
from mel_app.submissions.forms import NumberField


def optional_int(value: Any) -> int | None:
    if value in (None, "", "None"):
        return None
    return int(value)


PHASE_LABELS = LABELS[Phase]
RESULT_TYPE_LABELS = LABELS[ResultType]
MEASURE_LABELS = LABELS[Measure]
AGGREGATION_LABELS = LABELS[Aggregation]
FREQUENCY_LABELS = LABELS[Frequency]


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


class ShareField(BoundedIntegerField):
    """A whole percentage; anything else is refused with a message that says what to type.

    A text box, not type="number": a browser empties a number box it cannot read (40,5) and the
    user would never learn what was dropped.
    """

    widget = TextInput()

    def process_formdata(self, valuelist: list[Any]) -> None:
        raw = (valuelist[0] if valuelist else "").strip().rstrip("%").strip()
        if raw == "":
            self.data = None
            return
        number = to_int(raw, maximum=100)
        if number is None:
            self.data = None
            raise ValueError(_l("Type a whole percentage from 1 to 100, e.g. 40."))
        self.data = number


class ShareForm(Form):
    """One row of a share table: what is shared (a country or sector code) and its percentage."""

    code = HiddenField()
    percentage = ShareField(
        validators=[
            Optional(),
            NumberRange(min=1, max=100, message=_l("A share is from %(min)s to %(max)s%%.")),
        ],
        render_kw={"inputmode": "numeric", "size": 4},
    )


def currency_choices() -> list[SelectChoice]:
    locale = str(get_locale() or "en")
    return choices(
        [("", _l("(no budget)"))] + [(c, f"{c} — {get_currency_name(c, locale=locale)}") for c in CURRENCIES]
    )


def normalise_reminder_days(value: str | None) -> str | None:
    """ "14, 3" and "3,14" are both stored as "14,3"; anything else is left for the validator."""
    if not value or not value.strip():
        return None
    parts = [p.strip() for p in value.split(",") if p.strip()]
    days = [to_int(p, minimum=1, maximum=365) for p in parts]
    if None not in days:
        return ",".join(str(n) for n in sorted(set(days), reverse=True))
    return value.strip()


def reminder_days(form: Any, field: Any) -> None:
    parts = (field.data or "").split(",")
    if field.data and not (len(parts) <= 5 and all(to_int(p, minimum=1, maximum=365) for p in parts)):
        raise ValidationError(_l("Give whole numbers of days from 1 to 365, separated by commas, e.g. 14,3."))


class CheckboxesField(SelectMultipleField):
    """Several choices as checkboxes in a fieldset: no JavaScript, and usable on a phone."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form: Any) -> None:
        known = {str(c[0]) for c in self.iter_choices()}
        unknown = [value for value in self.data or [] if value not in known]
        if unknown:
            raise ValidationError(_l("Choose from the list."))


class TagsMixin:
    """The ILO's terms a project or a result serves: DWCP outcomes typed, P&B outcomes and SDG
    targets ticked. What was typed stays as typed when the form comes back with an error."""

    dwcp = StringField(
        _l("Decent Work Country Programme outcomes"),
        validators=[Optional(), Length(max=400)],
        render_kw={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"},
    )
    pb_outcomes = CheckboxesField(_l("ILO Programme and Budget outcomes"), validators=[Optional()])
    sdg_targets = CheckboxesField(_l("SDG targets"), validators=[Optional()])

    def fill_tag_choices(self) -> None:
        self.pb_outcomes.choices = ilo_terms.pb_choices()  # type: ignore[attr-defined]
        self.sdg_targets.choices = ilo_terms.sdg_choices()  # type: ignore[attr-defined]

    def fill_tags(self, rows: Any) -> None:
        """Show stored tags (GET of an edit page)."""
        tags = ilo_terms.Tags.of(rows)
        self.dwcp.data = ", ".join(tags.dwcp)  # type: ignore[attr-defined]
        self.pb_outcomes.data = tags.pb  # type: ignore[attr-defined]
        self.sdg_targets.data = tags.sdg  # type: ignore[attr-defined]

    def validate_dwcp(self, field: Any) -> None:
        try:
            ilo_terms.dwcp_codes(field.data)
        except ilo_terms.TagError as exc:
            raise ValidationError(str(exc)) from None

    def tags_data(self) -> ilo_terms.Tags:
        return ilo_terms.Tags(
            dwcp=ilo_terms.dwcp_codes(self.dwcp.data),  # type: ignore[attr-defined]
            pb=list(self.pb_outcomes.data or []),  # type: ignore[attr-defined]
            sdg=list(self.sdg_targets.data or []),  # type: ignore[attr-defined]
        )


class ProjectForm(TagsMixin, FlaskForm):
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
        choices=choices((m.value, m.value) for m in FundingModality),
        validators=[DataRequired()],
    )
    countries = SelectMultipleField(_l("Countries"), validators=[Optional()], render_kw={"size": 8})
    start_date = DateField(_l("Start date"), validators=[InputRequired()])
    end_date = DateField(_l("End date"), validators=[InputRequired()])
    phase = SelectField(_l("Phase"), validators=[DataRequired()])
    # For the IATI file: the donor's identifier and type, the planned budget, sectors and country shares.
    donor_iati_ref = StringField(
        _l("Donor's IATI organisation identifier"),
        validators=[Optional(), Length(max=100)],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    donor_iati_type = SelectField(_l("Donor's organisation type"), validators=[Optional()])
    budget_amount = NumberField(_l("Planned budget"), validators=[Optional()])
    budget_currency = SelectField(_l("Currency"), validators=[Optional()])
    country_shares = FieldList(FormField(ShareForm), min_entries=0, max_entries=300)
    report_reminder_days = StringField(
        _l("Report reminders, days before the due date"),
        validators=[Optional(), Length(max=40), reminder_days],
        filters=[normalise_reminder_days],
        render_kw={"autocomplete": "off", "inputmode": "numeric"},
    )
    version = VersionField(required=False)
    submit = SubmitField(_l("Save"))

    def __init__(
        self, *args: Any, project_id: int | None = None, phases: list[Phase] | None = None, **kw: Any
    ):
        super().__init__(*args, **kw)
        self._project_id = project_id
        self.countries.choices = choices(country_choices())
        self.phase.choices = choices((p.value, PHASE_LABELS[p]) for p in (phases or list(Phase)))
        self.donor_iati_type.choices = choices([("", _l("(not known)"))] + list(ORGANISATION_TYPES.items()))
        self.budget_currency.choices = currency_choices()
        self.fill_tag_choices()

    def fill_shares(self, sectors: dict[str, Decimal], countries: dict[str, Decimal | None]) -> None:
        """Show a project's stored shares (GET of the edit page, after `process(obj=project)`)."""
        for code in SECTORS:
            share = sectors.get(code)
            self[sector_field(code)].data = int(share) if share is not None else None
        while self.country_shares.entries:
            self.country_shares.pop_entry()
        for code, share in countries.items():
            self.country_shares.append_entry(
                {"code": code, "percentage": int(share) if share is not None else None}
            )

    @property
    def form_errors_anchor(self) -> str:
        """The form's own errors are about the sectors' shares: the error summary links to the first."""
        return "#" + self[sector_field(next(iter(SECTORS)))].id

    def sector_rows(self) -> list[tuple[str, str, Any, None]]:
        """(code, name, share field, hidden code field) of each row of the sectors table."""
        return [
            (code, self[sector_field(code)].label.text, self[sector_field(code)], None) for code in SECTORS
        ]

    def country_rows(self) -> list[tuple[str, str, Any, Any]]:
        return [
            (e.form.code.data, country_name(e.form.code.data), e.form.percentage, e.form.code)
            for e in self.country_shares.entries
        ]

    def sector_data(self) -> dict[str, int]:
        return {code: self[sector_field(code)].data for code in SECTORS if self[sector_field(code)].data}

    def country_share_data(self) -> dict[str, int | None]:
        """The shares typed for the chosen countries; none (an even split) once the countries changed,
        since the rows on the page were for the countries chosen before."""
        shares = {e.form.code.data: e.form.percentage.data for e in self.country_shares.entries}
        if set(shares) != set(self.countries.data or []):
            return {}
        return shares

    def validate_donor_iati_ref(self, field: Any) -> None:
        field.data = normalise_org_ref(field.data)
        if message := org_ref_error(field.data):
            raise ValidationError(message)

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        # Checked here, not in per-field validators: an empty optional field stops its own chain.
        if not self.budget_amount.errors:
            message = budget_error(self.budget_amount.data, self.budget_currency.data or None)
            if message:
                field = self.budget_amount if self.budget_amount.data is None else self.budget_currency
                field.errors = [*field.errors, message]
                valid = False
        if any(self[sector_field(code)].errors for code in SECTORS):
            return False
        if message := sector_shares_error(self.sector_data()):
            self.form_errors.append(message)
            return False
        return valid

    def validate_country_shares(self, field: Any) -> None:
        if message := country_shares_error(self.country_share_data()):
            raise ValidationError(message)

    def validate_reference(self, field: Any) -> None:
        field.data = normalise_reference(field.data)
        if message := reference_error(field.data, except_id=self._project_id):
            raise ValidationError(message)

    def validate_end_date(self, field: Any) -> None:
        if field.data and self.start_date.data and field.data <= self.start_date.data:
            raise ValidationError(_l("The project must end after it starts."))


def sector_field(code: str) -> str:
    return f"sector_{code}"


# One share field per sector of the vetted list, named by its code (sector_16070 …).
for _code, _label in SECTORS.items():
    setattr(
        ProjectForm,
        sector_field(_code),
        ShareField(
            _label,
            validators=[
                Optional(),
                NumberRange(min=1, max=100, message=_l("A share is from %(min)s to %(max)s%%.")),
            ],
            render_kw={"inputmode": "numeric", "size": 4},
        ),
    )


class PartnerForm(FlaskForm):
    organisation_id = SelectField(_l("Organisation"), coerce=optional_int, validators=[InputRequired()])
    submit = SubmitField(_l("Add partner"))


class ChangeForm(ReasonMixin, FlaskForm):
    submit = SubmitField(_l("Confirm"))


class CodeMixin:
    """The `code` of a result or an indicator, trimmed, follows the framework's rules for codes."""

    def validate_code(self, field: Any) -> None:
        field.data = (field.data or "").strip()
        if message := fw.code_error(field.data):
            raise ValidationError(message)


class ResultForm(ReasonMixin, CodeMixin, TagsMixin, FlaskForm):
    type = SelectField(
        _l("Level"),
        choices=choices((t.value, RESULT_TYPE_LABELS[t]) for t in ResultType),
        default=ResultType.outcome.value,
    )
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=fw.CODE_MAX)])
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=fw.TITLE_MAX)])
    description = TextAreaField(
        _l("Description"), validators=[Optional(), Length(max=5000)], render_kw={"rows": 3}
    )
    parent_id = SelectField(_l("Under"), coerce=optional_int, validators=[Optional()])
    version = VersionField(required=False)
    submit = SubmitField(_l("Save"))

    def __init__(self, *args: Any, **kw: Any):
        super().__init__(*args, **kw)
        self.fill_tag_choices()


class IndicatorForm(ReasonMixin, CodeMixin, FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=fw.CODE_MAX)])
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=fw.TITLE_MAX)])
    description = TextAreaField(
        _l("Description"), validators=[Optional(), Length(max=5000)], render_kw={"rows": 2}
    )
    measure = SelectField(_l("Measure"), choices=choices((m.value, MEASURE_LABELS[m]) for m in Measure))
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
    aggregation = SelectField(
        _l("How the organisations' reports make the project's figure"),
        choices=choices(
            [("", _l("The usual way for the measure"))]
            + [(a.value, AGGREGATION_LABELS[a]) for a in Aggregation]
        ),
        validators=[Optional()],
    )
    version = VersionField(required=False)
    submit = SubmitField(_l("Save"))

    def validate_aggregation(self, field: Any) -> None:
        # A value off either list was already refused by its select field.
        if field.data not in Aggregation.__members__ or self.measure.data not in Measure.__members__:
            return
        message = fw.aggregation_error(
            Measure(self.measure.data), Aggregation(field.data), self.responsible_organisation_id.data
        )
        if message:
            raise ValidationError(message)

    def _value(self, field: Any) -> None:
        try:
            measure = Measure(self.measure.data)
            value = fw.parse_value(field.data, measure)
        except ValueError as exc:  # an unknown measure is refused by its own field's choices
            raise ValidationError(str(exc)) from None
        # Shown back as it will be stored, should another field send the form back.
        field.data = fw.input_text(value, measure)

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
            aggregation=Aggregation(self.aggregation.data) if self.aggregation.data else None,
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
    version = VersionField(required=False)
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
        choices=choices((f.value, FREQUENCY_LABELS[f]) for f in Frequency),
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


class RollupFilterForm(FlaskForm):
    """The portfolio by ILO tag: the scheme, a country and a constituency (a GET form, no CSRF)."""

    class Meta:
        csrf = False

    scheme = SelectField(_l("Read by"), validators=[Optional()])
    country = SelectField(_l("Country"), validators=[Optional()])
    constituency = SelectField(_l("Constituency of a partner"), validators=[Optional()])
    submit = SubmitField(_l("Show"))
