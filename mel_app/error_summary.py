"""The error summary at the top of every page whose form failed validation.

The GOV.UK Design System's pattern: when a form is shown again with errors, the page starts with a
box listing every error, each a link to its field, and the keyboard focus moves to that box
(`static/js/error-summary.js`), and the page title starts with "Error: ". A form's errors are often
far down a long page (the reviewer's "Return" form is under a 5,000-pixel report); the summary is
where the browser lands after the POST, so nobody has to search for what went wrong.

The summary is built here, once per rendered page, from the forms the view handed to the template
(directly, or in a dict or list of forms, as the submission page does), and shown by base.html, so
every form page gets it without doing anything, and errors a view adds to a field after validation
are listed too.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from flask import Flask, before_render_template
from flask_babel import gettext as _
from wtforms import Field, FieldList, Form, FormField
from wtforms.widgets import HiddenInput, ListWidget

# Fields never shown as inputs: a message about them is listed without a link.
_UNLINKED_TYPES = {"CSRFTokenField", "HiddenField", "SubmitField"}


@dataclass(frozen=True)
class ErrorLink:
    message: str
    href: str | None  # "#<field id>", or None when there is no field to go to


def _field_anchor(field: Field) -> str | None:
    if field.type in _UNLINKED_TYPES or isinstance(field.widget, HiddenInput) or not field.id:
        return None
    if isinstance(field.widget, ListWidget):
        # Radio buttons and check boxes: the field's id is on the list, each input has "<id>-<n>".
        choices = getattr(field, "choices", None)
        return f"#{field.id}-0" if choices else None
    return f"#{field.id}"


def _first_anchor(field: Field) -> str | None:
    """The first input of a field, of a list of fields or of a nested form."""
    if isinstance(field, FormField):
        children: list[Field] = list(field.form)
    elif isinstance(field, FieldList):
        children = list(field.entries)
    else:
        return _field_anchor(field)
    for child in children:
        anchor = _first_anchor(child)
        if anchor:
            return anchor
    return None


def _label(field: Field) -> str:
    text = getattr(getattr(field, "label", None), "text", "") or ""
    return str(text).strip().rstrip(":")


def _messages(errors: Any) -> Iterator[str]:
    if isinstance(errors, dict):
        for value in errors.values():
            yield from _messages(value)
    elif isinstance(errors, list | tuple):
        for value in errors:
            yield from _messages(value)
    elif errors:
        yield str(errors)


def _ordered_fields(form: Form) -> list[Field]:
    """The form's fields in the order the page shows them: a form may say so (`summary_order`)."""
    order = getattr(form, "summary_order", None)
    fields = list(form)
    if not callable(order):
        return fields
    names = [name for name in order() if name in form._fields]
    rest = [f for f in fields if f.short_name not in names]
    return [form[name] for name in names] + rest


def _field_links(field: Field) -> Iterator[ErrorLink]:
    if isinstance(field, FormField):
        yield from form_error_links(field.form, csrf=False)
        return
    if isinstance(field, FieldList):
        for entry in field.entries:
            yield from _field_links(entry)
        # The list's own messages (its entries' are lists): to its first input.
        anchor = _first_anchor(field)
        for message in field.errors:
            if isinstance(message, str):
                yield ErrorLink(message, anchor)
        return
    if not field.errors:
        return
    if field.type == "CSRFTokenField":
        yield ErrorLink(
            _(
                "Your form could not be accepted because its security token was missing or had "
                "expired. Nothing was saved; your text is kept below. Please check it and send it again."
            ),
            None,
        )
        return
    label = _label(field)
    anchor = _field_anchor(field)
    for message in _messages(field.errors):
        text = _("%(field)s — %(error)s", field=label, error=message) if label and anchor else message
        yield ErrorLink(text, anchor)


def form_error_links(form: Form, *, csrf: bool = True) -> list[ErrorLink]:
    """Every error of the form, its nested forms and lists included, in page order."""
    links: list[ErrorLink] = []
    for field in _ordered_fields(form):
        if not csrf and field.type == "CSRFTokenField":
            continue
        links.extend(_field_links(field))
    # Errors of the form as a whole: to the input the form names for them, if it does.
    anchor = getattr(form, "form_errors_anchor", None)
    links.extend(ErrorLink(str(message), anchor) for message in getattr(form, "form_errors", []) or [])
    return links


def _forms_in(value: Any) -> Iterable[Form]:
    if isinstance(value, Form):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            if isinstance(item, Form):
                yield item
    elif isinstance(value, list | tuple):
        for item in value:
            if isinstance(item, Form):
                yield item


def page_error_links(context: dict[str, Any]) -> list[ErrorLink]:
    """The errors of every form the template was given, each form once, without repeats."""
    seen: set[int] = set()
    links: list[ErrorLink] = []
    for value in list(context.values()):
        for form in _forms_in(value):
            if id(form) in seen:
                continue
            seen.add(id(form))
            for link in form_error_links(form):
                if link not in links:
                    links.append(link)
    return links


def init_error_summary(app: Flask) -> None:
    def add_summary(sender: Flask, template: Any, context: dict[str, Any], **extra: Any) -> None:
        # Pages rendered inside another page's rendering (none today) keep the outer summary.
        if "error_summary" not in context:
            context["error_summary"] = page_error_links(context)

    before_render_template.connect(add_summary, app, weak=False)
