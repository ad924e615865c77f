"""What every view does the same way: load or 404, authorise, commit or roll back and say so.

Function views stay function views; these are plain helpers:

    project = project_or_404(project_id, need=can_edit_project)
    period = get_or_404(ReportingPeriod, period_id, parent=project)
    with saving(_("Period saved."), catch=periods.PeriodError) as saved:
        periods.update_period(period, spec, actor=current_user)
    if saved.failed:  # rolled back, and the refusal flashed
        return page(saved.status)
    return redirect(...)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import Response, abort, current_app, flash
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy.orm import selectinload
from wtforms import SubmitField
from wtforms.fields.choices import SelectChoice

from mel_app import locking
from mel_app.extensions import db
from mel_app.integers import arg_int
from mel_app.kit.errors import DomainError
from mel_app.models import Project
from mel_app.permissions import can_view_project, require
from mel_app.security import content_disposition, untrusted_download

T = TypeVar("T")

__all__ = [
    "ConfirmForm",
    "DomainError",
    "Saving",
    "choices",
    "confirmed_child",
    "download",
    "get_or_404",
    "paginate",
    "project_or_404",
    "saving",
]


# --- loaders -----------------------------------------------------------------------------------


def get_or_404(
    model: type[T], ident: Any, *, parent: Any = None, key: str | None = None, options: Iterable[Any] = ()
) -> T:
    """The row, or 404. With `parent`: 404 too when the row is not a child of that parent.

    The link is the row's `<parent table>_id` column (`project_id` for a project), or `key`.
    `options`: loader options (e.g. `selectinload(...)`) for the row.
    """
    obj = db.session.get(model, ident, options=list(options)) if ident is not None else None
    if obj is None:
        abort(404)
    if parent is not None:
        column = key or f"{type(parent).__tablename__}_id"
        if getattr(obj, column) != parent.id:
            abort(404)
    return obj


def project_or_404(project_id: int, need: Callable[[Any, Project], bool] | None = None) -> Project:
    """The project for the current user.

    404 when it does not exist or the user may not know it exists (not a member, not an
    administrator); 403 when they may see it but `need` (a predicate of mel_app/permissions.py)
    does not allow the page.
    """
    project = db.session.scalar(
        sa.select(Project).where(Project.id == project_id).options(selectinload(Project.countries))
    )
    if project is None:
        abort(404)
    require(can_view_project(current_user, project))
    if need is not None:
        require(need(current_user, project), visible=True)
    return project


def confirmed_child(
    model: type[T], ident: Any, project_id: int, *, need: Callable[[Any, Project], bool]
) -> tuple[Project, T]:
    """The project and its row `model` #`ident` for a bare POST on it (delete, remove...).

    The checks run in the order the user should meet them: 404 (the project, then a row that is
    missing or not the project's), 403 without `need`, and only then 400 when the `ConfirmForm`'s
    CSRF token is missing or stale.
    """
    project = project_or_404(project_id, need=need)
    child = get_or_404(model, ident, parent=project)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    return project, child


def paginate(query: sa.Select[Any], *, per_page: int | None = None) -> Any:
    """One page of `query`: the page the `page` argument asks for (the first when it is missing
    or not a number; an empty page past the end, never a 404), `per_page` rows (the app's
    PAGE_SIZE unless given)."""
    return db.paginate(  # type: ignore[no-untyped-call]  # Flask-SQLAlchemy's is untyped
        query,
        page=arg_int("page", 1, minimum=1),
        per_page=per_page or current_app.config["PAGE_SIZE"],
        error_out=False,
    )


# --- commit or roll back -----------------------------------------------------------------------


class Saving:
    """The outcome of a `with saving(...)` block: `failed`, `error`, `message`, `status`."""

    def __init__(
        self,
        success: str | None,
        catch: type[BaseException] | tuple[type[BaseException], ...],
        integrity: str | None,
        field: Any,
        quiet: bool,
        keep: bool,
        version: Any = None,
    ) -> None:
        self.success = success
        self.version = version
        self._claimed: Any = None
        self.catch = catch
        self.integrity = integrity
        self.field = field
        self.quiet = quiet
        self.keep = keep
        self.error: BaseException | None = None
        self.message = ""

    @property
    def failed(self) -> bool:
        return self.error is not None

    @property
    def integrity_clash(self) -> bool:
        """Whether the refusal was a clash on a unique key (the `integrity` message)."""
        return isinstance(self.error, sa.exc.IntegrityError)

    @property
    def status(self) -> int:
        """The status of the page that shows the refusal (409 for a clash on a unique key)."""
        return getattr(self.error, "http_status", 409)

    def __enter__(self) -> Saving:
        return self

    def claim(self, record: Any) -> None:
        """Claim `record` at the version the form was loaded with (`mel_app.locking.claim`): of two
        saves of the same version one goes on, the other raises `EditConflict`. The block catches
        it and puts the stored version in the form's field, so that the page shows the user's input
        with what changed meanwhile, and a second save, once they have read it, goes through."""
        if self.version is None:
            raise TypeError("saving(..., version=form.version) is needed to claim a record")
        self._claimed = record
        locking.claim(record, self.version.data)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool:
        if exc is None:
            try:
                db.session.commit()
            except sa.exc.IntegrityError as clash:
                if not self._handles(clash):
                    db.session.rollback()
                    raise
                self._refused(clash)
                return False
            if self.success:
                flash(self.success, "success")
            return False
        if self._handles(exc):
            self._refused(exc)
            return True  # the view goes on and shows the refusal
        db.session.rollback()
        return False

    def _handles(self, exc: BaseException) -> bool:
        if isinstance(exc, self.catch):
            return True
        if self.version is not None and isinstance(exc, locking.EditConflict):
            return True
        return self.integrity is not None and isinstance(exc, sa.exc.IntegrityError)

    def _refused(self, exc: BaseException) -> None:
        if self.keep and not isinstance(exc, sa.exc.IntegrityError):
            db.session.commit()
        else:
            db.session.rollback()
        self.error = exc
        if isinstance(exc, locking.EditConflict) and self._claimed is not None:
            self.version.set(self._claimed.version)  # read again after the rollback: the stored one
        if self.integrity is not None and isinstance(exc, sa.exc.IntegrityError):
            self.message = str(self.integrity)
        else:
            self.message = str(exc)
        if self.field is not None:
            self.field.errors = [*self.field.errors, self.message]
        elif not self.quiet:
            flash(self.message, "error")


def saving(
    success: str | None = None,
    *,
    catch: type[BaseException] | tuple[type[BaseException], ...] = (),
    integrity: str | None = None,
    field: Any = None,
    quiet: bool = False,
    keep: bool = False,
    version: Any = None,
) -> Saving:
    """Commit what the block did, or roll it back when a service refused it.

    On success: commit, then flash `success` (if given). When the block raises one of `catch`
    (e.g. `DomainError`, or a service's own error class), or, with `integrity`, a clash on a
    unique key (whose message is then `integrity`): roll back, keep the error in the outcome and
    tell the user: in `field`'s errors when given, else as an error flash, or not at all with
    `quiet` (the view words it itself). The view then checks `failed`. Other exceptions roll back
    and go on to the error handlers (a `DomainError` there gets the page of its `http_status`).

    `keep`: a refusal still commits what the service recorded before refusing (the audit record
    of a failed sign-in, a failure count), instead of rolling back.

    `version`: the edit form's `VersionField`; `saved.claim(record)` in the block takes the edit
    lock, and a conflict is refused like the errors of `catch` (status 409, the version reset).
    """
    return Saving(success, catch, integrity, field, quiet, keep, version)


# --- forms -------------------------------------------------------------------------------------


class ConfirmForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF has no type hints
    """A bare POST with its CSRF token (remove, approve, delete, sign out...)."""

    submit = SubmitField(_l("Confirm"))


def choices(pairs: Iterable[tuple[Any, Any]], *, blank: str | None = None) -> list[SelectChoice]:
    """Select options from (value, label) pairs, after an optional first "" option `blank`."""
    options = [SelectChoice("", blank)] if blank is not None else []
    options += [SelectChoice("" if value is None else str(value), label) for value, label in pairs]
    return options


# --- downloads ---------------------------------------------------------------------------------

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv; charset=utf-8"


def download(data: Any, filename: str, mimetype: str, *, untrusted: bool = True) -> Response:
    """A file to save, named `filename` through `security.content_disposition`.

    `untrusted` (the default): the file holds users' text, so it gets the sandbox headers of
    evidence files (mel_app/security.py sets them). Otherwise only the attachment header.
    """
    response = Response(data, content_type=mimetype)
    if untrusted:
        return untrusted_download(response, filename)
    response.headers["Content-Disposition"] = content_disposition(filename)
    return response
