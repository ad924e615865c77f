"""Administrators' pages for criteria sets and scales. One used by an evaluation is only copied.

They sit on the administrators' blueprint, under its deny-by-default guard."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from mel_app import locking
from mel_app.admin.blueprint import bp
from mel_app.evaluations import queries, services
from mel_app.evaluations.forms import CriteriaSetForm, ScaleForm
from mel_app.evaluations.services import CriterionInput, EvaluationError, InUseError, PointInput
from mel_app.integers import to_int
from mel_app.kit.web import ConfirmForm, get_or_404, paginate, saving
from mel_app.models import CriteriaSet, Evaluation, Scale
from mel_app.permissions import can_manage_criteria, require

T = TypeVar("T")

BLANK_CRITERION_ROWS = 3


def _require_admin() -> None:
    # "Forbidden", as every other administrators' page says to those who are not one.
    require(can_manage_criteria(current_user), visible=True)


def _confirmed(model: type[T], ident: int) -> T:
    """The criteria set or scale a button (copy, make default) acts on. Without the button's
    token: "Forbidden", as for anyone who is not an administrator."""
    _require_admin()
    row = get_or_404(model, ident)
    if not ConfirmForm().validate_on_submit():
        require(False, visible=True)
    return row


def _copy(copier: Callable[..., T], source: T) -> T:
    with saving(_("Copied. You can now change the copy.")):
        return copier(source, actor=current_user)


def _make_default(row: CriteriaSet | Scale, list_endpoint: str):
    with saving(_("“%(name)s” is now proposed first for new evaluations.", name=row.name)):
        services.make_default(row, actor=current_user)
    return redirect(url_for(list_endpoint))


# --- criteria sets --------------------------------------------------------------------------------


@bp.get("/criteria-sets")
def criteria_sets():
    _require_admin()
    page = paginate(queries.criteria_sets(with_criteria=True))
    return render_template(
        "evaluations/admin/criteria_sets.html",
        page=page,
        in_use=services.in_use_ids(Evaluation.criteria_set_id),
        action_form=ConfirmForm(),
    )


def _criteria_rows(criteria_set: CriteriaSet | None) -> list[dict]:
    rows = [
        {
            "id": str(c.id),
            "code": c.code,
            "name": c.name,
            "guiding_question": c.guiding_question,
            "position": (i + 1) * 10,
        }
        for i, c in enumerate(criteria_set.criteria if criteria_set else [])
    ]
    start = (len(rows) + 1) * 10
    return rows + [{"position": start + i * 10} for i in range(BLANK_CRITERION_ROWS)]


def _criteria_input(form: CriteriaSetForm) -> list[CriterionInput]:
    items = []
    for index, row in enumerate(form.criteria):
        sub = row.form
        if sub.remove.data or sub.is_blank:
            continue
        raw_id = (sub.id.data or "").strip()
        items.append(
            CriterionInput(
                id=to_int(raw_id),
                code=sub.code.data or "",
                name=sub.name.data or "",
                guiding_question=sub.guiding_question.data or "",
                position=sub.position.data if sub.position.data is not None else 10_000 + index,
            )
        )
    return items


def _edit_criteria_set(criteria_set: CriteriaSet | None):
    in_use = criteria_set is not None and services.criteria_set_in_use(criteria_set.id)
    if request.method == "GET":
        form = CriteriaSetForm(
            formdata=None,
            data={
                "name": criteria_set.name if criteria_set else "",
                "description": criteria_set.description if criteria_set else "",
                "criteria": _criteria_rows(criteria_set),
                "version": criteria_set.version if criteria_set else None,
            },
        )
        return _render_set(criteria_set, form, in_use)
    form = CriteriaSetForm()
    if in_use:
        flash(
            _("This criteria set is used by an evaluation and cannot be changed. Make a copy instead."),
            "error",
        )
        return _render_set(criteria_set, form, in_use, 409)
    if not form.validate_on_submit():
        return _render_set(criteria_set, form, in_use, 422)
    with saving(_("Criteria set saved."), catch=EvaluationError, version=form.version) as outcome:
        if criteria_set is not None:
            outcome.claim(criteria_set)
        saved = services.save_criteria_set(
            criteria_set,
            actor=current_user,
            name=form.name.data,
            description=form.description.data or "",
            criteria=_criteria_input(form),
        )
    if isinstance(outcome.error, locking.EditConflict):
        return _render_set(criteria_set, form, in_use, 409)
    if outcome.failed:
        return _render_set(criteria_set, form, in_use, 409 if isinstance(outcome.error, InUseError) else 422)
    return redirect(url_for("admin.edit_criteria_set", set_id=saved.id))


def _render_set(criteria_set: CriteriaSet | None, form: CriteriaSetForm, in_use: bool, status: int = 200):
    return render_template(
        "evaluations/admin/criteria_set.html",
        criteria_set=criteria_set,
        form=form,
        in_use=in_use,
        action_form=ConfirmForm(),
    ), status


@bp.route("/criteria-sets/new", methods=["GET", "POST"])
def new_criteria_set():
    _require_admin()
    return _edit_criteria_set(None)


@bp.route("/criteria-sets/<int:set_id>", methods=["GET", "POST"])
def edit_criteria_set(set_id: int):
    _require_admin()
    return _edit_criteria_set(get_or_404(CriteriaSet, set_id))


@bp.post("/criteria-sets/<int:set_id>/copy")
def copy_criteria_set(set_id: int):
    copy = _copy(services.copy_criteria_set, _confirmed(CriteriaSet, set_id))
    return redirect(url_for("admin.edit_criteria_set", set_id=copy.id))


@bp.post("/criteria-sets/<int:set_id>/default")
def default_criteria_set(set_id: int):
    return _make_default(_confirmed(CriteriaSet, set_id), "admin.criteria_sets")


# --- scales --------------------------------------------------------------------------------------


@bp.get("/scales")
def scales():
    _require_admin()
    page = paginate(queries.scales(with_points=True))
    return render_template(
        "evaluations/admin/scales.html",
        page=page,
        in_use=services.in_use_ids(Evaluation.scale_id),
        action_form=ConfirmForm(),
    )


def _points_input(form: ScaleForm) -> list[PointInput]:
    return [
        PointInput(value=i + 1, label=row.form.label.data or "", rubric=row.form.rubric.data or "")
        for i, row in enumerate(form.points)
        if (row.form.label.data or "").strip()
    ]


def _edit_scale(scale: Scale | None):
    in_use = scale is not None and services.scale_in_use(scale.id)
    if request.method == "GET":
        by_value = {p.value: p for p in scale.points} if scale else {}
        form = ScaleForm(
            formdata=None,
            data={
                "name": scale.name if scale else "",
                "points": [
                    {
                        "label": by_value[v].label if v in by_value else "",
                        "rubric": by_value[v].rubric if v in by_value else "",
                    }
                    for v in range(1, services.MAX_POINTS + 1)
                ],
                "version": scale.version if scale else None,
            },
        )
        return _render_scale(scale, form, in_use)
    form = ScaleForm()
    if in_use:
        flash(_("This scale is used by an evaluation and cannot be changed. Make a copy instead."), "error")
        return _render_scale(scale, form, in_use, 409)
    if not form.validate_on_submit():
        return _render_scale(scale, form, in_use, 422)
    with saving(_("Scale saved."), catch=EvaluationError, version=form.version) as outcome:
        if scale is not None:
            outcome.claim(scale)
        saved = services.save_scale(
            scale, actor=current_user, name=form.name.data, points=_points_input(form)
        )
    if isinstance(outcome.error, locking.EditConflict):
        return _render_scale(scale, form, in_use, 409)
    if outcome.failed:
        return _render_scale(scale, form, in_use, 409 if isinstance(outcome.error, InUseError) else 422)
    return redirect(url_for("admin.edit_scale", scale_id=saved.id))


def _render_scale(scale: Scale | None, form: ScaleForm, in_use: bool, status: int = 200):
    return render_template(
        "evaluations/admin/scale.html", scale=scale, form=form, in_use=in_use, action_form=ConfirmForm()
    ), status


@bp.route("/scales/new", methods=["GET", "POST"])
def new_scale():
    _require_admin()
    return _edit_scale(None)


@bp.route("/scales/<int:scale_id>", methods=["GET", "POST"])
def edit_scale(scale_id: int):
    _require_admin()
    return _edit_scale(get_or_404(Scale, scale_id))


@bp.post("/scales/<int:scale_id>/copy")
def copy_scale(scale_id: int):
    copy = _copy(services.copy_scale, _confirmed(Scale, scale_id))
    return redirect(url_for("admin.edit_scale", scale_id=copy.id))


@bp.post("/scales/<int:scale_id>/default")
def default_scale(scale_id: int):
    return _make_default(_confirmed(Scale, scale_id), "admin.scales")
