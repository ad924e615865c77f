"""Confirmation steps for actions that cannot be undone with one click.

Withdrawing a submission, removing a member, closing an evaluation and approving a results
framework each go through a page (GET, works without JavaScript) that says what will happen, with
"Yes, …" (a POST with its CSRF token) and "Cancel". The same view answers both, so the page asks
exactly the permission the action asks. The confirmation page's form carries `confirmed=yes`; a POST
without it (an old page, a script) does nothing and is sent to the confirmation page instead.
"""

from __future__ import annotations

from typing import Any

from flask import redirect, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SubmitField

CONFIRMED = "yes"


class ConfirmedMixin:
    """The hidden field saying the POST comes from a confirmation page."""

    confirmed = HiddenField(default=CONFIRMED)


class ConfirmStepForm(ConfirmedMixin, FlaskForm):
    """A confirmation with nothing to fill in: its CSRF token and `confirmed`."""

    submit = SubmitField(_l("Yes"))


def came_through_confirmation() -> bool:
    """Whether the POST was sent from a confirmation page (read before the form is validated)."""
    return request.form.get("confirmed") == CONFIRMED


def to_confirmation():
    """A POST that skipped the confirmation page: nothing is done, the page is shown (303: a GET)."""
    return redirect(request.path, code=303)


def render_confirmation(
    *,
    title: str,
    lead: str,
    consequences: list[str],
    form: Any,
    yes: str,
    cancel_url: str,
    context: str = "",
    fields: tuple[str, ...] = (),
    status: int = 200,
):
    """The confirmation page: what will happen, "Yes, …" and "Cancel"."""
    return render_template(
        "confirm.html",
        title=title,
        lead=lead,
        consequences=consequences,
        form=form,
        yes=yes,
        cancel_url=cancel_url,
        context=context,
        fields=fields,
    ), status


def render_project_confirmation(project: Any, **page: Any):
    """The confirmation page of an action on a whole project: its reference and title above the
    question, nothing to fill in. `page` as for `render_confirmation`."""
    return render_confirmation(
        context=f"{project.reference} — {project.title}",
        form=ConfirmStepForm(formdata=None),
        **page,
    )
