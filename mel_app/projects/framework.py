"""The results framework editor's rules: results and indicators are added, edited, reordered,
archived and (while nothing refers to them) deleted.

Services flush and never commit. Once the project's framework is approved, every change needs a
reason, which goes into the audit trail with the change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from mel_app import audit
from mel_app.extensions import db
from mel_app.kit.errors import DomainError
from mel_app.models import (
    AGGREGATIONS,
    DEFAULT_AGGREGATION,
    Aggregation,
    DesignInputItem,
    Indicator,
    IndicatorValue,
    Measure,
    Partner,
    Project,
    Result,
    ResultTag,
    ResultType,
    utcnow,
)
from mel_app.numbers import format_number, parse_number, reading
from mel_app.projects import ilo_terms
from mel_app.uniqueness import retry_on_duplicate

CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
CODE_MAX, TITLE_MAX, UNIT_MAX = 20, 500, 60
# Numeric(18, 4): 14 digits before the decimal point, 4 after.
VALUE_LIMIT = Decimal(10) ** 14

# Which level a result's parent must be at (None: no parent allowed).
PARENT_TYPES: dict[ResultType, frozenset[ResultType]] = {
    ResultType.impact: frozenset(),
    ResultType.outcome: frozenset({ResultType.impact}),
    ResultType.output: frozenset({ResultType.outcome}),
}
PARENT_REQUIRED = frozenset({ResultType.output})

YES_WORDS = frozenset({"yes", "y", "true", "1", "oui", "si", "sí", "x"})
NO_WORDS = frozenset({"no", "n", "false", "0", "non"})


class FrameworkError(DomainError):
    """A change the framework's rules refuse; the message is for the user."""


class ReasonRequired(FrameworkError):
    pass


# --- values ------------------------------------------------------------------------------------


def parse_decimal(text: Any) -> Decimal:
    """A number from a form or a spreadsheet cell. Raises ValueError with a message.

    Text is read the user's way (mel_app/numbers.py): `16,000` is sixteen thousand in English,
    `12,5` twelve and a half in French, and a string that could be either is refused, never
    guessed. Cells a spreadsheet already holds as numbers are taken as they are.
    """
    if isinstance(text, bool):
        return Decimal(int(text))
    if isinstance(text, int | Decimal):
        return Decimal(text)
    if isinstance(text, float):
        return Decimal(repr(text))
    value = parse_number(str(text))
    if value is None:
        raise ValueError(_("Enter a number, e.g. 1200 or 12.5."))
    return value


def parse_yes_no(text: Any) -> bool:
    if isinstance(text, bool):
        return text
    word = str(text).strip().casefold()
    if word in YES_WORDS:
        return True
    if word in NO_WORDS:
        return False
    raise ValueError(_("Answer yes or no."))


def parse_value(text: Any, measure: Measure) -> Decimal | None:
    """A baseline or target value for an indicator of this measure; None when empty."""
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    if measure is Measure.qualitative:
        raise ValueError(_("A qualitative indicator has no number: describe it in the comment."))
    if measure is Measure.yes_no:
        if isinstance(text, int | float | Decimal) and not isinstance(text, bool) and text in (0, 1):
            return Decimal(int(text))
        return Decimal(1 if parse_yes_no(text) else 0)
    value = parse_decimal(text)
    check_value(value, measure)
    return value


def check_value(value: Decimal | None, measure: Measure) -> None:
    """Raise ValueError when the value does not fit the measure or the column."""
    if value is None:
        return
    if measure is Measure.qualitative:
        raise ValueError(_("A qualitative indicator has no number: describe it in the comment."))
    if measure is Measure.yes_no and value not in (0, 1):
        raise ValueError(_("Answer yes or no."))
    if measure is Measure.percentage and not (0 <= value <= 100):
        raise ValueError(_("A percentage is between 0 and 100."))
    if abs(value) >= VALUE_LIMIT:
        raise ValueError(_("This number is too large."))
    if value != value.quantize(Decimal("0.0001")):
        raise ValueError(_("Use at most four decimals."))


def format_value(value: Decimal | None, measure: Measure | None = None) -> str:
    """A value as people read it: no trailing zeros; yes/no as words."""
    if value is None:
        return ""
    if measure is Measure.yes_no:
        return _("yes") if value == 1 else _("no")
    return format(value.normalize(), "f")


def input_text(value: Decimal | None, measure: Measure) -> str:
    """A baseline or target as the edit form shows it: what `parse_value` reads back as `value`."""
    if value is None or measure is Measure.yes_no:
        return format_value(value, measure)
    return format_number(value)


def display_value(value: Decimal | None, measure: Measure | None = None) -> str:
    """A value for reading, in the user's language: digit grouping, at most four decimals."""
    if value is None:
        return ""
    if measure is Measure.yes_no:
        return _("yes") if value == 1 else _("no")
    text = reading(value)
    return text + "%" if measure is Measure.percentage else text


def code_error(code: str) -> str | None:
    if not code:
        return _("Give a code, e.g. 1 or 1.2.")
    if len(code) > CODE_MAX:
        return _("A code has at most %(n)s characters.", n=CODE_MAX)
    if not CODE_RE.fullmatch(code):
        return _("Use letters, digits, dots, dashes or underscores, e.g. 1.2 or 1.2.a.")
    return None


# --- what an edit gives ------------------------------------------------------------------------


@dataclass
class ResultData:
    type: ResultType
    code: str
    title: str
    description: str = ""
    parent_id: int | None = None
    # The ILO's terms the result serves; None leaves them as they are.
    tags: ilo_terms.Tags | None = None


@dataclass
class IndicatorData:
    code: str
    title: str
    measure: Measure
    description: str = ""
    unit: str = ""
    ascending: bool = True
    baseline_value: Decimal | None = None
    baseline_date: date | None = None
    baseline_comment: str = ""
    target_value: Decimal | None = None
    target_date: date | None = None
    target_comment: str = ""
    disaggregate_by_sex: bool = False
    means_of_verification: str = ""
    responsible_organisation_id: int | None = None
    # None: the usual method of the measure (mel_app.models.base.DEFAULT_AGGREGATION).
    aggregation: Aggregation | None = None

    @property
    def method(self) -> Aggregation:
        return self.aggregation or DEFAULT_AGGREGATION[self.measure]


def aggregation_error(
    measure: Measure, method: Aggregation | None, responsible_organisation_id: int | None
) -> str | None:
    """Why an aggregation method cannot be used with the indicator's other fields, if it cannot."""
    method = method or DEFAULT_AGGREGATION[measure]
    if method not in AGGREGATIONS[measure]:
        return _("This way of combining the reports does not fit the measure: choose another.")
    if method is Aggregation.responsible and responsible_organisation_id is None:
        return _("Choose the responsible organisation whose report gives the figure.")
    return None


def _code_and_title_errors(code: str, title: str, no_title: str) -> dict[str, str]:
    """What is wrong with the code and the title every result and indicator has (`no_title`: the
    message when the title is blank), keyed by field name."""
    errors: dict[str, str] = {}
    if message := code_error(code):
        errors["code"] = message
    if not title.strip():
        errors["title"] = no_title
    elif len(title) > TITLE_MAX:
        errors["title"] = _("At most %(n)s characters.", n=TITLE_MAX)
    return errors


def indicator_data_errors(data: IndicatorData) -> dict[str, str]:
    """Field name -> message for everything wrong with an indicator's fields taken together."""
    errors = _code_and_title_errors(data.code, data.title, _("Give the indicator a title."))
    if len(data.unit) > UNIT_MAX:
        errors["unit"] = _("At most %(n)s characters.", n=UNIT_MAX)
    for name in ("baseline_value", "target_value"):
        try:
            check_value(getattr(data, name), data.measure)
        except ValueError as exc:
            errors[name] = str(exc)
    if data.baseline_date and data.target_date and data.target_date < data.baseline_date:
        errors["target_date"] = _("The target date cannot be before the baseline date.")
    if data.measure is Measure.qualitative and data.disaggregate_by_sex:
        errors["disaggregate_by_sex"] = _("Only numbers can be split by sex.")
    if data.measure is Measure.yes_no and data.disaggregate_by_sex:
        errors["disaggregate_by_sex"] = _("Only numbers can be split by sex.")
    if message := aggregation_error(data.measure, data.aggregation, data.responsible_organisation_id):
        errors["aggregation"] = message
    return errors


def result_data_errors(data: ResultData, parent: Result | None) -> dict[str, str]:
    errors = _code_and_title_errors(data.code, data.title, _("Give the result a title."))
    if data.tags is not None and (message := ilo_terms.tags_error(data.tags)):
        errors["tags"] = message
    if message := parent_error(data.type, parent.type if parent else None):
        errors["parent_id"] = message
    return errors


def parent_error(rtype: ResultType, parent_type: ResultType | None) -> str | None:
    allowed = PARENT_TYPES[rtype]
    if parent_type is None:
        if rtype in PARENT_REQUIRED:
            return _("An output belongs to an outcome: choose its outcome.")
        return None
    if parent_type not in allowed:
        if rtype is ResultType.impact:
            return _("An impact is the top level: it has no parent.")
        if rtype is ResultType.outcome:
            return _("An outcome can only sit under an impact.")
        return _("An output belongs to an outcome: choose its outcome.")
    return None


# --- helpers -----------------------------------------------------------------------------------


def reason_for(project: Project, reason: str | None) -> str | None:
    """The reason for a change, required once the framework is approved."""
    reason = (reason or "").strip()
    if project.framework_approved and not reason:
        raise ReasonRequired(
            _("The framework is approved: say why it changes. The reason is kept in the history.")
        )
    return reason or None


def _check_responsible(project: Project, organisation_id: int | None) -> None:
    if organisation_id is None:
        return
    is_partner = db.session.scalar(
        sa.select(Partner.id).where(
            Partner.project_id == project.id, Partner.organisation_id == organisation_id
        )
    )
    if is_partner is None:
        raise FrameworkError(_("The responsible organisation must be a partner of the project."))


def _code_taken(model: type[Result] | type[Indicator], scope: Any, code: str, except_id: int | None) -> bool:
    """Whether a row of `model` within `scope` (a condition), other than `except_id`, has `code`
    in any case."""
    query = sa.select(model.id).where(scope, sa.func.lower(model.code) == code.lower())
    if except_id is not None:
        query = query.where(model.id != except_id)
    return db.session.scalar(query.limit(1)) is not None


def _result_code_taken(project: Project, code: str, except_id: int | None = None) -> bool:
    return _code_taken(Result, Result.project_id == project.id, code, except_id)


def _indicator_code_taken(result: Result, code: str, except_id: int | None = None) -> bool:
    return _code_taken(Indicator, Indicator.result_id == result.id, code, except_id)


def _next_position(model: Any, **where: Any) -> int:
    conditions = [
        getattr(model, k) == v if v is not None else getattr(model, k).is_(None) for k, v in where.items()
    ]
    current = db.session.scalar(sa.select(sa.func.max(model.position)).where(*conditions))
    return 0 if current is None else current + 1


def project_result(project: Project, result_id: int | None) -> Result | None:
    """The result if it is one of this project's; None otherwise."""
    result = db.session.get(Result, result_id) if result_id else None
    return result if result is not None and result.project_id == project.id else None


def _resolve_parent(project: Project, parent_id: int | None) -> Result | None:
    if parent_id is None:
        return None
    parent = project_result(project, parent_id)
    if parent is None:
        raise FrameworkError(_("Choose a parent result of this project."))
    if parent.is_archived:
        raise FrameworkError(_("The parent result is archived: restore it first or choose another."))
    return parent


# --- results -----------------------------------------------------------------------------------


@retry_on_duplicate
def add_result(project: Project, data: ResultData, *, actor: Any, reason: str | None = None) -> Result:
    reason = reason_for(project, reason)
    parent = _resolve_parent(project, data.parent_id)
    errors = result_data_errors(data, parent)
    if errors:
        raise FrameworkError(" ".join(errors.values()))
    if _result_code_taken(project, data.code):
        raise FrameworkError(_("Another result of this project has the code %(code)s.", code=data.code))
    result = Result(
        project_id=project.id,
        type=data.type,
        code=data.code,
        title=data.title.strip(),
        description=data.description.strip(),
        parent=parent,
        position=_next_position(Result, project_id=project.id, parent_id=parent.id if parent else None),
    )
    if data.tags is not None:
        ilo_terms.apply_tags(result, data.tags, ResultTag)
    db.session.add(result)
    audit.record(db.session, "result.create", actor=actor, target=result, reason=reason)
    db.session.flush()
    return result


@retry_on_duplicate
def update_result(result: Result, data: ResultData, *, actor: Any, reason: str | None = None) -> None:
    project = result.project
    reason = reason_for(project, reason)
    parent = _resolve_parent(project, data.parent_id)
    if parent is not None and (parent.id == result.id or _is_descendant(parent, result)):
        raise FrameworkError(_("A result cannot sit under itself or one of its own results."))
    errors = result_data_errors(data, parent)
    if errors:
        raise FrameworkError(" ".join(errors.values()))
    if data.type is not result.type:
        for child in _children(result):
            if parent_error(child.type, data.type):
                raise FrameworkError(
                    _("Result %(code)s sits under this one: its level cannot change.", code=child.code)
                )
    if _result_code_taken(project, data.code, except_id=result.id):
        raise FrameworkError(_("Another result of this project has the code %(code)s.", code=data.code))
    if parent is not None and (result.parent_id != parent.id):
        result.position = _next_position(Result, project_id=project.id, parent_id=parent.id)
    elif parent is None and result.parent_id is not None:
        result.position = _next_position(Result, project_id=project.id, parent_id=None)
    result.type = data.type
    result.code = data.code
    result.title = data.title.strip()
    result.description = data.description.strip()
    result.parent = parent
    if data.tags is not None:
        ilo_terms.apply_tags(result, data.tags, ResultTag)
    audit.record(db.session, "result.update", actor=actor, target=result, reason=reason)
    db.session.flush()


def _children(result: Result) -> list[Result]:
    return list(db.session.scalars(sa.select(Result).where(Result.parent_id == result.id)))


def _is_descendant(candidate: Result, ancestor: Result) -> bool:
    node = candidate.parent
    seen = set()
    while node is not None and node.id not in seen:
        if node.id == ancestor.id:
            return True
        seen.add(node.id)
        node = node.parent
    return False


def _move(
    obj: Any, siblings: list[Any], direction: str, *, kind: str, actor: Any, reason: str | None
) -> bool:
    """Record the move of `obj` (a `kind`: result or indicator), then swap it with its neighbour
    among `siblings`. False when it is at that end already (the attempt is recorded all the same)."""
    audit.record(db.session, f"{kind}.move_{direction}", actor=actor, target=obj, reason=reason)
    moved = _swap(obj, siblings, direction)
    db.session.flush()
    return moved


def _swap(obj: Any, siblings: list[Any], direction: str) -> bool:
    """Swap `obj` with its neighbour among `siblings`; positions are renumbered 0..n-1 first."""
    ordered = sorted(siblings, key=lambda s: (s.position, s.id))
    for i, sibling in enumerate(ordered):
        if sibling.position != i:
            sibling.position = i
    index = ordered.index(obj)
    other = index - 1 if direction == "up" else index + 1
    if other < 0 or other >= len(ordered):
        return False
    ordered[index].position, ordered[other].position = ordered[other].position, ordered[index].position
    return True


def move_result(result: Result, direction: str, *, actor: Any, reason: str | None = None) -> bool:
    """Move a result up or down among the results of the same parent. False when already at the end."""
    reason = reason_for(result.project, reason)
    siblings = list(
        db.session.scalars(
            sa.select(Result).where(
                Result.project_id == result.project_id,
                Result.parent_id == result.parent_id if result.parent_id else Result.parent_id.is_(None),
            )
        )
    )
    return _move(result, siblings, direction, kind="result", actor=actor, reason=reason)


def archive_result(result: Result, *, actor: Any, reason: str | None = None) -> int:
    """Archive a result, the results under it and all their indicators. Returns how many indicators."""
    reason = reason_for(result.project, reason)
    if result.is_archived:
        raise FrameworkError(_("This result is archived already."))
    audit.record(db.session, "result.archive", actor=actor, target=result, reason=reason)
    archived = 0
    stack = [result]
    while stack:
        node = stack.pop()
        node.is_archived = True
        for indicator in db.session.scalars(sa.select(Indicator).where(Indicator.result_id == node.id)):
            if not indicator.is_archived:
                indicator.is_archived = True
                archived += 1
        stack.extend(_children(node))
    db.session.flush()
    return archived


def restore_result(result: Result, *, actor: Any, reason: str | None = None) -> None:
    """Bring an archived result back. Its indicators stay archived: restore the ones still needed."""
    held_by = None
    if result.parent is not None and result.parent.is_archived:
        held_by = _("Restore %(code)s, the result above this one, first.", code=result.parent.code)
    _restore(result, "result.restore", _("This result is not archived."), held_by, actor=actor, reason=reason)


def _restore(
    obj: Result | Indicator,
    action: str,
    not_archived: str,
    held_by: str | None,
    *,
    actor: Any,
    reason: str | None,
) -> None:
    """Bring an archived result or indicator back, recorded as `action`. Refused with `not_archived`
    when it is not archived, with `held_by` when what it sits under is archived."""
    reason = reason_for(obj.project, reason)
    if not obj.is_archived:
        raise FrameworkError(not_archived)
    if held_by is not None:
        raise FrameworkError(held_by)
    obj.is_archived = False
    audit.record(db.session, action, actor=actor, target=obj, reason=reason)
    db.session.flush()


def delete_result(result: Result, *, actor: Any, reason: str | None = None) -> None:
    """Delete a result nothing refers to; anything else is archived instead."""
    reason = reason_for(result.project, reason)
    if db.session.scalar(sa.select(Indicator.id).where(Indicator.result_id == result.id).limit(1)):
        raise FrameworkError(
            _("This result has indicators: delete or archive them first, or archive the result.")
        )
    if db.session.scalar(sa.select(Result.id).where(Result.parent_id == result.id).limit(1)):
        raise FrameworkError(_("Other results sit under this one: move or delete them first, or archive it."))
    refusal = _("Design input refers to this result: archive it instead.")
    _delete_unless_designed(result, "result", refusal, actor=actor, reason=reason)


def _delete_unless_designed(
    obj: Result | Indicator, kind: str, refusal: str, *, actor: Any, reason: str | None
) -> None:
    """Delete `obj` (a `kind`: result or indicator), unless an item of design input refers to it:
    then refused with `refusal`."""
    refers = getattr(DesignInputItem, f"{kind}_id") == obj.id
    if db.session.scalar(sa.select(DesignInputItem.id).where(refers).limit(1)):
        raise FrameworkError(refusal)
    audit.record(db.session, f"{kind}.delete", actor=actor, target=obj, reason=reason)
    db.session.delete(obj)
    db.session.flush()


# --- indicators --------------------------------------------------------------------------------


def indicator_ids_with_values(project: Project) -> set[int]:
    """The project's indicators that have a value in some report (they cannot be deleted)."""
    return set(
        db.session.scalars(
            sa.select(sa.distinct(IndicatorValue.indicator_id))
            .join(Indicator, Indicator.id == IndicatorValue.indicator_id)
            .where(Indicator.project_id == project.id)
        )
    )


def parent_candidates(project: Project) -> list[Result]:
    """Results that may hold others (impacts and outcomes, not archived), by code."""
    return list(
        db.session.scalars(
            sa.select(Result)
            .where(
                Result.project_id == project.id,
                Result.is_archived.is_(False),
                Result.type.in_([ResultType.impact, ResultType.outcome]),
            )
            .order_by(Result.code)
        )
    )


def apply_indicator_data(indicator: Indicator, data: IndicatorData) -> None:
    for f in fields(IndicatorData):
        value = data.method if f.name == "aggregation" else getattr(data, f.name)
        if isinstance(value, str):
            value = value.strip()
        setattr(indicator, f.name, value)


@retry_on_duplicate
def add_indicator(result: Result, data: IndicatorData, *, actor: Any, reason: str | None = None) -> Indicator:
    project = result.project
    reason = reason_for(project, reason)
    if result.is_archived:
        raise FrameworkError(_("This result is archived: restore it before adding indicators."))
    errors = indicator_data_errors(data)
    if errors:
        raise FrameworkError(" ".join(errors.values()))
    _check_responsible(project, data.responsible_organisation_id)
    if _indicator_code_taken(result, data.code):
        raise FrameworkError(_("Another indicator of this result has the code %(code)s.", code=data.code))
    indicator = Indicator(
        result=result, project_id=project.id, position=_next_position(Indicator, result_id=result.id)
    )
    apply_indicator_data(indicator, data)
    db.session.add(indicator)
    audit.record(db.session, "indicator.create", actor=actor, target=indicator, reason=reason)
    db.session.flush()
    return indicator


def has_reported_values(indicator: Indicator) -> bool:
    return (
        db.session.scalar(
            sa.select(IndicatorValue.id).where(IndicatorValue.indicator_id == indicator.id).limit(1)
        )
        is not None
    )


@retry_on_duplicate
def update_indicator(
    indicator: Indicator, data: IndicatorData, *, actor: Any, reason: str | None = None
) -> None:
    project = indicator.project
    reason = reason_for(project, reason)
    errors = indicator_data_errors(data)
    if errors:
        raise FrameworkError(" ".join(errors.values()))
    if data.measure is not indicator.measure and has_reported_values(indicator):
        raise FrameworkError(
            _(
                "Values were reported against this indicator: its measure cannot change. "
                "Archive it and add a new one."
            )
        )
    _check_responsible(project, data.responsible_organisation_id)
    if _indicator_code_taken(indicator.result, data.code, except_id=indicator.id):
        raise FrameworkError(_("Another indicator of this result has the code %(code)s.", code=data.code))
    apply_indicator_data(indicator, data)
    audit.record(db.session, "indicator.update", actor=actor, target=indicator, reason=reason)
    db.session.flush()


def move_indicator(indicator: Indicator, direction: str, *, actor: Any, reason: str | None = None) -> bool:
    reason = reason_for(indicator.project, reason)
    siblings = list(
        db.session.scalars(sa.select(Indicator).where(Indicator.result_id == indicator.result_id))
    )
    return _move(indicator, siblings, direction, kind="indicator", actor=actor, reason=reason)


def archive_indicator(indicator: Indicator, *, actor: Any, reason: str | None = None) -> None:
    reason = reason_for(indicator.project, reason)
    if indicator.is_archived:
        raise FrameworkError(_("This indicator is archived already."))
    indicator.is_archived = True
    audit.record(db.session, "indicator.archive", actor=actor, target=indicator, reason=reason)
    db.session.flush()


def restore_indicator(indicator: Indicator, *, actor: Any, reason: str | None = None) -> None:
    held_by = None
    if indicator.result.is_archived:
        held_by = _("Its result %(code)s is archived: restore the result first.", code=indicator.result.code)
    _restore(
        indicator,
        "indicator.restore",
        _("This indicator is not archived."),
        held_by,
        actor=actor,
        reason=reason,
    )


def delete_indicator(indicator: Indicator, *, actor: Any, reason: str | None = None) -> None:
    """Delete an indicator nobody reported against; one with reported values can only be archived."""
    reason = reason_for(indicator.project, reason)
    if has_reported_values(indicator):
        raise FrameworkError(
            _("Values were reported against this indicator, so it cannot be deleted. Archive it instead.")
        )
    refusal = _("Design input refers to this indicator: archive it instead.")
    _delete_unless_designed(indicator, "indicator", refusal, actor=actor, reason=reason)


# --- approval ----------------------------------------------------------------------------------


def approve_framework(project: Project, *, actor: Any) -> None:
    """From now on every change to the framework needs a reason."""
    if project.framework_approved:
        raise FrameworkError(_("The framework is approved already."))
    has_indicator = db.session.scalar(
        sa.select(Indicator.id)
        .where(Indicator.project_id == project.id, Indicator.is_archived.is_(False))
        .limit(1)
    )
    if has_indicator is None:
        raise FrameworkError(_("Add at least one indicator before approving the framework."))
    project.framework_approved = True
    project.framework_approved_at = utcnow()
    audit.record(db.session, "project.approve_framework", actor=actor, target=project)
    db.session.flush()
