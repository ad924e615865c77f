"""Forms of the submission workflow. Every rule a user can break is checked here, next to its field."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    Field,
    FieldList,
    Form,
    FormField,
    HiddenField,
    MultipleFileField,
    RadioField,
    SelectField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    Length,
    Optional,
    StopValidation,
    ValidationError,
)
from wtforms.widgets import TextInput

from mel_app.confirmation import ConfirmedMixin
from mel_app.integers import to_int
from mel_app.locking import VersionField
from mel_app.models import (
    NARRATIVE_SECTIONS,
    DesignItemKind,
    Disposition,
    Indicator,
    Measure,
    Result,
    SubmissionKind,
    Visibility,
)
from mel_app.numbers import NumberError, format_number, parse_number, unstorable
from mel_app.submissions import labels, services
from mel_app.submissions.files import ACCEPT_ATTRIBUTE, EvidenceLimits, FileInfected, Upload, check_evidence
from mel_app.submissions.services import NARRATIVE_MAX, TEXT_MAX, ItemInput, ValueInput


class Limit(Length):
    """A length limit whose refusal says how long the text is; the text stays in the form."""

    def __init__(self, max: int):  # noqa: A002 - the name Length uses
        super().__init__(
            max=max,
            message=_l(
                "This text has %(length)d characters; at most %(max)d fit here. Shorten it and "
                "save again: nothing was saved, and your text is kept below."
            ),
        )
        # No `maxlength` in the page: a browser silently cuts a longer paste there. The page's
        # counter shows the limit (drafts.js, from data-maxlength) and the server refuses more.
        self.field_flags = {}


COMMENT_MAX = 5_000


class NumberField(Field):
    """A number typed the way people type them in their language (mel_app/numbers.py).

    Once read, the field shows the number as it will be stored, written the user's way, so what
    the user sees is what is saved; a refused string stays as typed, next to its message.
    """

    widget = TextInput()

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("render_kw", {}).setdefault("inputmode", "decimal")
        super().__init__(label, validators, **kwargs)

    def pre_validate(self, form) -> None:
        if self.process_errors:
            raise StopValidation()  # "not a number" says it all; no range message on top

    def _value(self) -> str:
        if self.raw_data and self.process_errors:
            return self.raw_data[0]
        if self.data is None:
            return ""
        return format_number(self.data)

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist:
            return
        self.data = None
        try:
            number = parse_number(str(valuelist[0]))
        except NumberError as exc:
            raise ValueError(str(exc)) from None
        if number is None:
            return
        refusal = unstorable(number)
        if refusal is not None:
            raise ValueError(refusal)
        self.data = number


# The parts of an indicator row that hold an answer (those that may fail to be read).
_ANSWER_FIELDS = ("value", "women", "men", "text_value", "comment")


def options(pairs) -> list[SelectChoice]:
    """Choices for a select or radio field, from (value, label) pairs."""
    return [SelectChoice(str(value), label) for value, label in pairs]


# ---------------------------------------------------------------------------------------------
# Progress report


class IndicatorRowForm(Form):
    """One row of the indicator table; the fields depend on the indicator's measure.

    The fields read what was typed; what an answer must be (ranges, women and men adding up,
    "not reported" with its reason) is the service's `check_value`, which the API asks too.
    """

    indicator: Indicator

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        # A part that could not be read (not a number, not a choice) says so already.
        unread = frozenset(name for name in _ANSWER_FIELDS if name in self._fields and self[name].errors)
        checked = services.check_value(self.indicator, self._entered(unread), unread=unread)
        for name, messages in checked.errors.items():
            self[name].errors.extend(messages)
        value = getattr(self, "value", None)
        if value is not None and value.data is None and checked.entered.value is not None:
            value.data, value.raw_data = checked.entered.value, None  # the total follows from women and men
        return ok and not checked.errors

    def _entered(self, unread: frozenset[str]) -> ValueInput:
        """The answer as typed, for the check (texts as they are, numbers once read)."""

        def number(name: str) -> Decimal | None:
            field = getattr(self, name, None)
            if field is None or name in unread or field.data in (None, ""):
                return None
            return field.data if isinstance(field.data, Decimal) else Decimal(field.data)

        text = getattr(self, "text_value", None)
        return ValueInput(
            value=number("value"),
            women=number("women"),
            men=number("men"),
            text_value=(text.data or "") if text is not None else "",
            not_reported=bool(self.not_reported.data),
            comment=self.comment.data or "",
        )

    def to_input(self) -> ValueInput:
        value = getattr(self, "value", None)
        number = None
        if value is not None and value.data not in (None, ""):
            number = Decimal(value.data) if not isinstance(value.data, Decimal) else value.data
        return ValueInput(
            value=number,
            women=getattr(self, "women", None) and self.women.data,
            men=getattr(self, "men", None) and self.men.data,
            text_value=(getattr(self, "text_value", None) and self.text_value.data or "").strip(),
            not_reported=bool(self.not_reported.data),
            comment=(self.comment.data or "").strip(),
        )


def indicator_row_form(indicator: Indicator) -> type[IndicatorRowForm]:
    # Labels that carry what users typed (a code, a file name) are plain strings made with `_()`
    # during the request, never `_l()`: a lazy string declares itself HTML (`__html__`), so
    # WTForms and Jinja would print the user's text unescaped.
    code = indicator.code
    fields: dict[str, Any] = {}
    parts = services.value_fields(indicator)
    if indicator.measure is Measure.number:
        fields["value"] = NumberField(_("%(code)s: value", code=code), [Optional()])
        if "women" in parts:
            fields["women"] = NumberField(_("%(code)s: women", code=code), [Optional()])
            fields["men"] = NumberField(_("%(code)s: men", code=code), [Optional()])
    elif indicator.measure is Measure.percentage:
        fields["value"] = NumberField(_("%(code)s: percentage", code=code), [Optional()])
    elif indicator.measure is Measure.yes_no:
        fields["value"] = SelectField(
            _("%(code)s: yes or no", code=code),
            choices=options([("", _l("— choose —")), ("1", _l("yes")), ("0", _l("no"))]),
            validate_choice=True,
        )
    else:
        fields["text_value"] = TextAreaField(
            _("%(code)s: answer", code=code), [Limit(max=TEXT_MAX)], render_kw={"rows": 3}
        )
    fields["comment"] = TextAreaField(
        _("%(code)s: comment (the reason, if not reported)", code=code),
        [Limit(max=TEXT_MAX)],
        render_kw={"rows": 2},
    )
    fields["not_reported"] = BooleanField(_("%(code)s: not reported", code=code))
    form = type(f"IndicatorRow{indicator.id}", (IndicatorRowForm,), fields)
    form.indicator = indicator
    return form


class EvidenceMixin:
    """A multiple file field whose files are read, size-checked and sniffed during validation
    (`files.check_evidence`, which the API asks too)."""

    uploads: list[Upload]
    upload_too_large: bool = False
    # Files the virus scanner refused, for the audit trail (the view records them).
    infected: Sequence[FileInfected] = ()

    def validate_evidence(self, field) -> None:
        storages = [s for s in field.data or [] if getattr(s, "filename", None)]
        found = check_evidence(
            [(s.stream, s.filename) for s in storages], EvidenceLimits.from_config(current_app.config)
        )
        self.uploads, self.infected = found.uploads, found.infected
        self.upload_too_large = found.too_large
        if found.refusals:
            raise ValidationError(" ".join(found.refusals))


def _evidence_field() -> MultipleFileField:
    return MultipleFileField(_l("Add evidence files"), render_kw={"accept": ACCEPT_ATTRIBUTE})


class ReportForm(EvidenceMixin, FlaskForm):
    version = VersionField()
    # What each field held when shown (mel_app/submissions/merge.py): merges a save that lost a race.
    base = HiddenField()
    achievements = TextAreaField(labels.SECTIONS["achievements"], [Limit(max=NARRATIVE_MAX)])
    challenges = TextAreaField(labels.SECTIONS["challenges"], [Limit(max=NARRATIVE_MAX)])
    lessons_learned = TextAreaField(labels.SECTIONS["lessons_learned"], [Limit(max=NARRATIVE_MAX)])
    next_steps = TextAreaField(labels.SECTIONS["next_steps"], [Limit(max=NARRATIVE_MAX)])
    gender_equality = TextAreaField(labels.SECTIONS["gender_equality"], [Limit(max=NARRATIVE_MAX)])
    social_dialogue = TextAreaField(labels.SECTIONS["social_dialogue"], [Limit(max=NARRATIVE_MAX)])
    evidence = _evidence_field()
    save = SubmitField(_l("Save draft"))
    submit = SubmitField(_l("Save and submit for review…"))

    indicator_ids: list[int]
    attachment_ids: list[int]

    def row(self, indicator_id: int) -> IndicatorRowForm:
        return self[f"ind_{indicator_id}"].form

    def summary_order(self) -> list[str]:
        """The fields in the order the page shows them, for the error summary (mel_app/error_summary.py)."""
        return [
            *NARRATIVE_SECTIONS,
            *(f"ind_{i}" for i in self.indicator_ids),
            *(f"remove_{a}" for a in self.attachment_ids),
            "evidence",
        ]

    def narrative(self) -> dict[str, str]:
        return {key: (self[key].data or "").strip() for key in NARRATIVE_SECTIONS}

    def values(self) -> dict[int, ValueInput]:
        return {ind_id: self.row(ind_id).to_input() for ind_id in self.indicator_ids}

    def removed_attachment_ids(self) -> set[int]:
        return {att_id for att_id in self.attachment_ids if self[f"remove_{att_id}"].data}


def report_form(indicators: list[Indicator], attachments: list[Any], **kwargs) -> ReportForm:
    """A ReportForm with one row per active indicator and a "remove" box per evidence file."""
    cls = type("BoundReportForm", (ReportForm,), {})
    for indicator in indicators:
        cls_field = FormField(indicator_row_form(indicator), separator="-")
        setattr(cls, f"ind_{indicator.id}", cls_field)
    for attachment in attachments:
        setattr(cls, f"remove_{attachment.id}", BooleanField(_("Remove %(name)s", name=attachment.filename)))
    form = cls(**kwargs)
    form.indicator_ids = [i.id for i in indicators]
    form.attachment_ids = [a.id for a in attachments]
    return form


def report_form_data(sub: Any) -> dict[str, Any]:
    """The saved report as form data, for the first display of the form."""
    data: dict[str, Any] = {key: (sub.narrative or {}).get(key, "") for key in NARRATIVE_SECTIONS}
    data["version"] = sub.version
    for value in sub.values:
        row: dict[str, Any] = {"comment": value.comment, "not_reported": value.not_reported}
        if value.indicator.measure is Measure.yes_no:
            row["value"] = "" if value.value is None else str(int(value.value))
        else:
            row.update(value=value.value, women=value.women, men=value.men)
        row["text_value"] = value.text_value
        data[f"ind_{value.indicator_id}"] = row
    return data


# ---------------------------------------------------------------------------------------------
# Design input


class DesignItemForm(Form):
    id = HiddenField()
    kind = SelectField(
        _l("Kind"),
        choices=options((k.value, label) for k, label in labels.DESIGN_ITEM_KIND.items()),
        default=DesignItemKind.need.value,
    )
    text = TextAreaField(_l("Your input"), [Limit(max=TEXT_MAX)], render_kw={"rows": 3})
    link = SelectField(
        _l("Relates to (optional)"), choices=options([("", _l("— nothing in particular —"))]), default=""
    )
    remove = BooleanField(_l("Remove this item"))

    def validate_text(self, field) -> None:
        for message in services.item_problems(
            field.data or "", existing=bool(self.id.data), removed=bool(self.remove.data)
        ):
            raise ValidationError(message)

    def to_input(self) -> ItemInput:
        result_id = indicator_id = None
        kind, _sep, target = (self.link.data or "").partition(":")
        if kind == "result":
            result_id = to_int(target)
        elif kind == "indicator":
            indicator_id = to_int(target)
        return ItemInput(
            id=to_int(self.id.data),
            kind=DesignItemKind(self.kind.data),
            text=(self.text.data or "").strip(),
            result_id=result_id,
            indicator_id=indicator_id,
            remove=bool(self.remove.data),
        )


BLANK_ITEMS = 3


class DesignInputForm(EvidenceMixin, FlaskForm):
    version = VersionField()
    base = HiddenField()  # as in ReportForm
    items = FieldList(FormField(DesignItemForm), min_entries=0)
    evidence = _evidence_field()
    save = SubmitField(_l("Save draft"))
    submit = SubmitField(_l("Save and submit for review…"))

    attachment_ids: list[int]

    def item_inputs(self) -> list[ItemInput]:
        return [entry.form.to_input() for entry in self.items]

    def removed_attachment_ids(self) -> set[int]:
        return {att_id for att_id in self.attachment_ids if self[f"remove_{att_id}"].data}


def link_choices(results: list[Result], indicators: list[Indicator]) -> list[SelectChoice]:
    choices: list[tuple[str, str]] = [("", _("— nothing in particular —"))]
    for result in results:
        choices.append((f"result:{result.id}", f"{result.code} {result.title}"))
    for indicator in indicators:
        choices.append(
            (
                f"indicator:{indicator.id}",
                _("Indicator %(code)s %(title)s", code=indicator.code, title=indicator.title),
            )
        )
    return options(choices)


def design_input_form(
    sub: Any, attachments: list[Any], choices: list[SelectChoice], *, formdata_given: bool, **kwargs
) -> DesignInputForm:
    cls = type("BoundDesignInputForm", (DesignInputForm,), {})
    for attachment in attachments:
        setattr(cls, f"remove_{attachment.id}", BooleanField(_("Remove %(name)s", name=attachment.filename)))
    if not formdata_given:
        items = [
            {
                "id": str(item.id),
                "kind": item.kind.value,
                "text": item.text,
                "link": f"indicator:{item.indicator_id}"
                if item.indicator_id
                else (f"result:{item.result_id}" if item.result_id else ""),
            }
            for item in sub.design_items
        ]
        kwargs.setdefault("data", {})
        kwargs["data"] = {**kwargs["data"], "items": items + [{}] * BLANK_ITEMS, "version": sub.version}
    form = cls(**kwargs)
    form.attachment_ids = [a.id for a in attachments]
    for entry in form.items:
        entry.form.link.choices = choices
    return form


class ResponseRowForm(Form):
    item_id = HiddenField()
    disposition = SelectField(
        _l("ILO response"),
        choices=options(
            [("", _l("— no response yet —"))] + [(d.value, label) for d, label in labels.DISPOSITION.items()]
        ),
    )
    reason = TextAreaField(_l("Reason"), [Limit(max=TEXT_MAX)], render_kw={"rows": 2})

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if self.disposition.data and not (self.reason.data or "").strip():
            self.reason.errors.append(_("Give the reason for this response."))
            ok = False
        if not self.disposition.data and (self.reason.data or "").strip():
            self.disposition.errors.append(_("Choose a response, or clear the reason."))
            ok = False
        return ok


class ResponsesForm(FlaskForm):
    version = VersionField()
    responses = FieldList(FormField(ResponseRowForm), min_entries=0)
    save_responses = SubmitField(_l("Save responses"))

    def response_inputs(self) -> dict[int, tuple[Disposition | None, str]]:
        out: dict[int, tuple[Disposition | None, str]] = {}
        for entry in self.responses:
            item_id = to_int(entry.form.item_id.data)
            if item_id is None:
                continue
            disposition = Disposition(entry.form.disposition.data) if entry.form.disposition.data else None
            out[item_id] = (disposition, (entry.form.reason.data or "").strip())
        return out


def responses_form(sub: Any, *, bind: bool) -> ResponsesForm:
    """The responses form: bound to the request when `bind`, else filled from the database."""
    if bind:
        return ResponsesForm()
    data = {
        "version": sub.version,
        "responses": [
            {
                "item_id": str(item.id),
                "disposition": item.disposition.value if item.disposition else "",
                "reason": item.response_reason,
            }
            for item in sub.design_items
        ],
    }
    return ResponsesForm(formdata=None, data=data)


# ---------------------------------------------------------------------------------------------
# Transitions and comments


class ConfirmSubmitForm(FlaskForm):
    version = VersionField()
    confirm = SubmitField(_l("Submit for review"))


def _note(label: Any, *, rows: int, required: Any = None, shared_with: Any = None) -> Any:
    """A reviewer's words that the organisation reads (a comment, or a reason); `required`, when
    given, is the message that asks for them."""
    validators = [DataRequired(message=required)] if required is not None else []
    return TextAreaField(
        label,
        [*validators, Limit(max=COMMENT_MAX)],
        description=_l("Shared with the organisation.") if shared_with is None else shared_with,
        render_kw={"rows": rows},
    )


class ReturnForm(FlaskForm):
    version = VersionField()
    comment = _note(
        _l("What needs to change"), rows=4, required=_l("Say what needs to change before returning it.")
    )
    return_ = SubmitField(_l("Return for revision"))


class ApproveForm(FlaskForm):
    version = VersionField()
    comment = _note(_l("Comment (optional)"), rows=2)
    approve = SubmitField(_l("Approve"))


class ReopenForm(FlaskForm):
    version = VersionField()
    reason = _note(
        _l("Why it needs reopening"),
        rows=3,
        required=_l("Give the reason for reopening it."),
        shared_with=_l("Shared with the organisation, which can then revise and submit again."),
    )
    reopen = SubmitField(_l("Reopen for revision"))


class WithdrawForm(ConfirmedMixin, FlaskForm):
    version = VersionField()
    reason = TextAreaField(_l("Reason (optional)"), [Limit(max=COMMENT_MAX)], render_kw={"rows": 2})
    withdraw = SubmitField(_l("Withdraw"))


class CommentForm(FlaskForm):
    body = TextAreaField(
        _l("Comment"),
        [DataRequired(message=_l("Write your comment.")), Limit(max=COMMENT_MAX)],
        render_kw={"rows": 3},
    )
    section = SelectField(_l("About"), choices=options([]), default="")
    visibility = RadioField(
        _l("Who sees it"),
        choices=options((v.value, label) for v, label in labels.VISIBILITY.items()),
        default=Visibility.shared.value,
    )
    add_comment = SubmitField(_l("Add comment"))


def comment_form(kind: SubmissionKind, *, internal_allowed: bool, **kwargs) -> CommentForm:
    form = CommentForm(**kwargs)
    topics = labels.COMMENT_TOPICS
    keys = [*NARRATIVE_SECTIONS, "indicators"] if kind is SubmissionKind.progress_report else ["items"]
    sections = [("", _("The submission as a whole"))] + [
        (key, str(topics[key])) for key in [*keys, "evidence"]
    ]
    form.section.choices = options(sections)
    if not internal_allowed:
        form.visibility.choices = options([(Visibility.shared.value, labels.VISIBILITY[Visibility.shared])])
    return form


class StartForm(FlaskForm):
    """Opens (creating if needed) a report or design input: a POST, because it may create a row."""

    start = SubmitField(lazy_pgettext("verb", "Open"))


AGE_CHOICES = [
    ("", _l("Any")),
    ("7", _l("More than 7 days")),
    ("14", _l("More than 14 days")),
    ("30", _l("More than 30 days")),
]


class ReviewFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET filter changes nothing

    project = SelectField(_l("Project"), choices=options([]), validate_choice=False)
    kind = SelectField(
        _l("Kind"),
        choices=options([("", _l("Any"))] + [(k.value, label) for k, label in labels.KIND.items()]),
        validate_choice=False,
    )
    organisation = SelectField(_l("Organisation"), choices=options([]), validate_choice=False)
    period = SelectField(_l("Period"), choices=options([]), validate_choice=False)
    age = SelectField(_l("Waiting"), choices=options(AGE_CHOICES), validate_choice=False)
    apply = SubmitField(_l("Filter"))

    def chosen_int(self, name: str) -> int | None:
        value = self[name].data or ""
        allowed = {choice.value for choice in self[name].choices}
        return to_int(value) if value in allowed else None

    def chosen(self, name: str) -> str | None:
        value = self[name].data or ""
        allowed = {choice.value for choice in self[name].choices}
        return value if value and value in allowed else None
