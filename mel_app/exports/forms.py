"""The scope of a download (GET: to count rows) and the download itself (POST, with CSRF)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, RadioField, SelectChoice, SelectMultipleField, SubmitField
from wtforms.validators import Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from mel_app.exports.scope import CONSTITUENCIES, Scope
from mel_app.exports.services import Format

CONSTITUENCY_LABELS = {
    "workers": _l("Workers"),
    "employers": _l("Employers"),
    "government": _l("Government"),
    "ilo": _l("ILO"),
    "donor": _l("Donors"),
    "other": _l("Other"),
    "independent": _l("Independent evaluators"),
}

FORMAT_LABELS = {
    Format.xlsx: _l("Excel workbook (XLSX): one sheet per table"),
    Format.csv: _l("CSV files in a ZIP: one file per table, with about.json"),
    Format.json: _l("JSON: one document, for scripts"),
    Format.iati: _l("IATI 2.03 activity XML: results, baselines, targets and actuals"),
}


class CheckboxesField(SelectMultipleField):
    """Several choices as checkboxes (usable without JavaScript, unlike a multiple select on phones)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class _ScopeFields(FlaskForm):
    projects = CheckboxesField(_l("Projects"), coerce=int, validators=[Optional()])
    period_from = DateField(_l("Reporting periods from"), validators=[Optional()])
    period_to = DateField(_l("to"), validators=[Optional()])
    countries = CheckboxesField(_l("Countries"), validators=[Optional()])
    constituencies = CheckboxesField(
        _l("Constituencies"),
        choices=[SelectChoice(c, CONSTITUENCY_LABELS[c]) for c in CONSTITUENCIES],
        validators=[Optional()],
    )
    all_statuses = BooleanField(_l("Include reports not yet approved (submitted or returned)"))

    def validate_period_to(self, field) -> None:
        if field.data and self.period_from.data and field.data < self.period_from.data:
            raise ValidationError(_l("The end of the range is before its start."))

    def scope(self, *, may_include_unapproved: bool) -> Scope:
        return Scope(
            project_ids=tuple(sorted(set(self.projects.data or ()))),
            period_from=self.period_from.data,
            period_to=self.period_to.data,
            countries=tuple(sorted(set(self.countries.data or ()))),
            constituencies=tuple(c for c in CONSTITUENCIES if c in set(self.constituencies.data or ())),
            all_statuses=bool(self.all_statuses.data) and may_include_unapproved,
        )


class ScopeForm(_ScopeFields):
    """Read from the query string: choosing a scope changes nothing, it only counts rows."""

    class Meta:
        csrf = False


class DownloadForm(_ScopeFields):
    """The scope counted on the page, the format, and CSRF protection: a download is audited."""

    format = RadioField(
        _l("Format"),
        choices=[SelectChoice(f.value, FORMAT_LABELS[f]) for f in Format],
        default=Format.xlsx.value,
    )
    bom = BooleanField(_l("Start CSV files with a byte order mark (for Microsoft Excel)"))
    submit = SubmitField(_l("Download"))
