"""Reading the trail: the history of one entity, the filtered trail, and what a reader sees.

Queries are built here and filtered in SQL; who may read what is decided in
`mel_app.permissions`. `present()` turns events into entries in words a user understands:
labelled fields, enumeration values and linked records by name (two queries, whatever the
number of events and the kinds of record they name).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import InstrumentedAttribute as Attribute
from sqlalchemy.orm import Mapper

from mel_app import dates
from mel_app.audit import naming
from mel_app.audit.capture import SYSTEM
from mel_app.audit.labels import (
    ENUM_LABELS,
    NARRATIVE_LABELS,
    action_label,
    entity_label,
    field_label,
    reason_label,
)
from mel_app.audit.labels import gettext as _
from mel_app.extensions import db
from mel_app.integers import to_int
from mel_app.models import (
    AuditEvent,
    Base,
    CriteriaSet,
    Criterion,
    Evaluation,
    Indicator,
    Organisation,
    Project,
    ReportingPeriod,
    Result,
    Scale,
    User,
    utcnow,
)
from mel_app.models.base import UTCDateTime
from mel_app.numbers import format_number

# The parts of a project that its History tab shows (submissions, evaluations and scorecards
# have tabs of their own).
PROJECT_PARTS = (
    "project",
    "project_country",
    "project_sector",
    "project_tag",
    "membership",
    "partner",
    "reporting_period",
    "result",
    "result_tag",
    "indicator",
    "outcome_statement",
    "outcome_contributor",
    "selection_round",
    "round_member",
    "round_candidate",
    "story_proposal",
    "outcome_substantiation",
    "story_domain",
    "change_story",
    "story_evidence",
)

# Rows that belong to another entity's history: (child entity type, column naming the parent).
CHILDREN: dict[str, tuple[tuple[str, str], ...]] = {
    "submission": (
        ("submission_version", "submission_id"),
        ("indicator_value", "submission_id"),
        ("attachment", "submission_id"),
        ("design_input_item", "submission_id"),
        ("comment", "submission_id"),
    ),
    "evaluation": (("recommendation", "evaluation_id"),),
    "scorecard": (("score", "scorecard_id"),),
    "user": (("membership", "user_id"),),
    "criteria_set": (("criterion", "criteria_set_id"),),
    "scale": (("scale_point", "scale_id"),),
}

# Fields a reader does not need in a list of changes: the time is shown with every entry, and
# `version` is the edit counter that detects two people saving at once.
QUIET_FIELDS = frozenset({"id", "created_at", "updated_at", "version"})
# The record a new or deleted row belongs to: its name already says it (naming.record_name).
PARENT_FIELDS = frozenset({"project_id", "submission_id", "scorecard_id", "evaluation_id"})
LONG_TEXT = 200
PAGE_SIZE = 50


# --- the schema, as far as reading the trail needs it ------------------------------------------


@dataclass(frozen=True)
class ColumnInfo:
    enum: type | None = None
    refers_to: str | None = None
    kind: str = "text"  # text, datetime, date, bool, json, number


@cache
def audited_models() -> dict[str, type[Base]]:
    return {m.class_.__tablename__: m.class_ for m in Base.registry.mappers if m.class_.__audited__}


def _width(foreign_key: sa.ForeignKey) -> int:
    return len(foreign_key.constraint.columns) if foreign_key.constraint is not None else 1


@cache
def column_info() -> dict[tuple[str, str], ColumnInfo]:
    info = {}
    for name, cls in audited_models().items():
        mapper: Mapper[Base] = sa.inspect(cls)
        for attr in mapper.column_attrs:
            column = attr.columns[0]
            # Prefer a single-column foreign key (indicator.project_id also takes part in a
            # composite one to result).
            keys = sorted(column.foreign_keys, key=_width)
            kind = "text"
            if isinstance(column.type, UTCDateTime):
                kind = "datetime"
            elif isinstance(column.type, sa.Date):
                kind = "date"
            elif isinstance(column.type, sa.Boolean):
                kind = "bool"
            elif isinstance(column.type, sa.JSON):
                kind = "json"
            elif isinstance(column.type, sa.Numeric):
                kind = "number"
            info[(name, attr.key)] = ColumnInfo(
                enum=getattr(column.type, "enum_class", None),
                refers_to=keys[0].column.table.name if keys else None,
                kind=kind,
            )
    return info


def parse_entity_key(entity_type: str, entity_id: str) -> tuple[Any, ...] | None:
    """The primary key of an audited entity from its id in the trail, or None if malformed."""
    cls = audited_models().get(entity_type)
    if cls is None:
        return None
    mapper: Mapper[Base] = sa.inspect(cls)
    columns = mapper.primary_key
    parts = entity_id.split(":")
    if len(parts) != len(columns):
        return None
    key: list[int | str] = []
    for part, column in zip(parts, columns, strict=True):
        if isinstance(column.type, sa.Integer):
            number = to_int(part)
            if number is None:
                return None
            key.append(number)
        else:
            key.append(part)
    return tuple(key)


def load_entity(entity_type: str, entity_id: str) -> Any:
    key = parse_entity_key(entity_type, entity_id)
    if key is None:
        return None
    return db.session.get(audited_models()[entity_type], key if len(key) > 1 else key[0])


# --- which events ---------------------------------------------------------------------------------


def _refers_to(column: str, parent_id: int) -> sa.ColumnElement[bool]:
    # Compared as text: the same SQL on PostgreSQL (json ->>) and SQLite (json_extract), and never
    # a failing cast on an event whose value is not a number.
    wanted = str(parent_id)
    return sa.or_(
        sa.cast(AuditEvent.after[column].as_string(), sa.String) == wanted,
        sa.cast(AuditEvent.before[column].as_string(), sa.String) == wanted,
    )


def project_of_deleted(entity_type: str, entity_id: str) -> int | None:
    """The project a deleted record belonged to, as its events recorded it."""
    return db.session.scalar(
        sa.select(AuditEvent.project_id)
        .where(AuditEvent.entity_type == entity_type, AuditEvent.entity_id == entity_id)
        .where(AuditEvent.project_id.is_not(None))
        .limit(1)
    )


def history_condition(
    entity_type: str, entity_id: str, *, project_id: int | None = None, exclude: Iterable[str] = ()
) -> sa.ColumnElement[bool]:
    """Events of an entity's history: its own, and those of the rows that belong to it
    (a submission's values, files, comments; a scorecard's scores...), deleted ones included."""
    if entity_type == "project":
        parts = [p for p in PROJECT_PARTS if p not in exclude]
        return sa.and_(AuditEvent.project_id == int(entity_id), AuditEvent.entity_type.in_(parts))
    own = sa.and_(AuditEvent.entity_type == entity_type, AuditEvent.entity_id == entity_id)
    children = [(t, c) for t, c in CHILDREN.get(entity_type, ()) if t not in exclude]
    parent_id = to_int(entity_id)
    if not children or parent_id is None:
        return own
    linked = sa.select(AuditEvent.entity_type, AuditEvent.entity_id).where(
        sa.or_(*(sa.and_(AuditEvent.entity_type == t, _refers_to(c, parent_id)) for t, c in children))
    )
    condition = sa.or_(own, sa.tuple_(AuditEvent.entity_type, AuditEvent.entity_id).in_(linked))
    if project_id is not None:
        # Everything of a project's record is in the project's events: the index narrows the search.
        linked = linked.where(AuditEvent.project_id == project_id)
        condition = sa.and_(
            AuditEvent.project_id == project_id,
            sa.or_(own, sa.tuple_(AuditEvent.entity_type, AuditEvent.entity_id).in_(linked)),
        )
    return condition


@dataclass
class TrailFilters:
    actor: str = ""
    action: str = ""
    project_id: int | None = None
    entity_type: str = ""
    entity_id: str = ""
    date_from: date | None = None
    date_to: date | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v not in (None, "")}


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def trail_condition(
    filters: TrailFilters, project_ids: sa.Select[tuple[int]] | None, *, visible: sa.ColumnElement[bool]
) -> sa.ColumnElement[bool]:
    """The trail's filters, the viewer's projects (None: every event, for administrators) and what
    else the viewer may not read (`permissions.visible_audit_event_filter`: others' scores)."""
    conditions: list[sa.ColumnElement[bool]] = [visible]
    if project_ids is not None:
        conditions.append(AuditEvent.project_id.in_(project_ids))
    actor = filters.actor.strip()
    actor_id = to_int(actor[1:]) if actor.startswith("#") else None
    if actor_id is not None:
        conditions.append(AuditEvent.actor_id == actor_id)
    elif actor:
        pattern = f"%{_like_escape(actor.lower())}%"
        conditions.append(sa.func.lower(AuditEvent.actor_name).like(pattern, escape="\\"))
    action = filters.action.strip()
    if action:
        # "submission." or "submission" finds every action on submissions; a full name finds one.
        conditions.append(
            sa.or_(
                AuditEvent.action == action,
                AuditEvent.action.like(f"{_like_escape(action.rstrip('.'))}.%", escape="\\"),
            )
        )
    if filters.project_id is not None:
        conditions.append(AuditEvent.project_id == filters.project_id)
    if filters.entity_type:
        conditions.append(AuditEvent.entity_type == filters.entity_type)
    if filters.entity_id.strip():
        conditions.append(AuditEvent.entity_id == filters.entity_id.strip())
    if filters.date_from:
        conditions.append(AuditEvent.occurred_at >= _day_start(filters.date_from))
    if filters.date_to:
        conditions.append(AuditEvent.occurred_at < _day_start(filters.date_to + timedelta(days=1)))
    return sa.and_(sa.true(), *conditions)


def _day_start(day: date) -> datetime:
    # The reader's day (their time zone, as the trail shows its times), as an instant in UTC.
    return datetime.combine(day, time.min, tzinfo=dates.current_zone()).astimezone(utcnow().tzinfo)


@dataclass
class Page:
    events: list[AuditEvent]
    newer: int | None = None  # ?after=<id> shows the next newer page
    older: int | None = None  # ?before=<id> shows the next older page


# Above this many projects one filtered scan of the whole trail is cheaper than a branch each.
MAX_PROJECT_BRANCHES = 40


def _newest_ids(
    condition: sa.ColumnElement[bool], *, ascending: bool, limit: int, project_ids: list[int] | None
) -> list[int]:
    """The ids of the first `limit` events matching `condition`, in id order.

    A specialist's events are a sliver of a million: walking the primary key until enough of
    them turn up can read the whole trail. Taking each project's newest events through the
    (project_id, id) index, then merging, costs a few index lookups per project instead.
    """
    order = AuditEvent.id.asc() if ascending else AuditEvent.id.desc()
    if project_ids is None or len(project_ids) > MAX_PROJECT_BRANCHES:
        return list(
            db.session.scalars(sa.select(AuditEvent.id).where(condition).order_by(order).limit(limit))
        )
    if not project_ids:
        return []
    branches = [
        sa.select(AuditEvent.id)
        .where(condition, AuditEvent.project_id == project_id)
        .order_by(order)
        .limit(limit)
        .subquery()
        for project_id in project_ids
    ]
    merged = sa.union_all(*(sa.select(branch.c.id) for branch in branches)).subquery()
    return list(
        db.session.scalars(
            sa.select(merged.c.id)
            .order_by(merged.c.id.asc() if ascending else merged.c.id.desc())
            .limit(limit)
        )
    )


def keyset_page(
    condition: sa.ColumnElement[bool],
    *,
    before: int | None = None,
    after: int | None = None,
    size: int = PAGE_SIZE,
    project_ids: list[int] | None = None,
) -> Page:
    """Newest first, paged by event id (never OFFSET): page N costs what page 1 costs.

    `project_ids`, when given, are the only projects whose events `condition` lets through
    (the viewer's); they let each project be read through its own index.
    """
    if after is not None:
        ids = _newest_ids(
            sa.and_(condition, AuditEvent.id > after), ascending=True, limit=size + 1, project_ids=project_ids
        )
        has_newer, has_older = len(ids) > size, True
        ids = list(reversed(ids[:size]))
    else:
        bounded = condition if before is None else sa.and_(condition, AuditEvent.id < before)
        ids = _newest_ids(bounded, ascending=False, limit=size + 1, project_ids=project_ids)
        has_older = len(ids) > size
        ids = ids[:size]
        has_newer = before is not None and bool(
            ids
            and _newest_ids(
                sa.and_(condition, AuditEvent.id > ids[0]), ascending=True, limit=1, project_ids=project_ids
            )
        )
    if not ids:
        return Page([])
    by_id = {e.id: e for e in db.session.scalars(sa.select(AuditEvent).where(AuditEvent.id.in_(ids)))}
    events = [by_id[i] for i in ids]
    return Page(events, events[0].id if has_newer else None, events[-1].id if has_older else None)


# --- what a reader sees ----------------------------------------------------------------------------


@dataclass
class Change:
    label: str
    before: str | None
    after: str | None
    long: bool = False


@dataclass
class Entry:
    id: int
    occurred_at: datetime
    actor: str
    actor_id: int | None
    remote_addr: str | None
    action: str
    action_label: str
    kind: str  # created, changed, deleted, event
    entity_type: str | None
    entity_id: str | None
    entity_label: str
    project_id: int | None
    project_label: str | None
    reason: str | None
    changes: list[Change] = field(default_factory=list)


# How a linked record is named: its kind's columns, two at most (the second may be NULL).
_NAME_COLUMNS: dict[str, tuple[Attribute[int], Attribute[str], Attribute[Any] | None]] = {
    "user": (User.id, User.full_name, User.email),
    "organisation": (Organisation.id, Organisation.name, Organisation.acronym),
    "project": (Project.id, Project.reference, None),
    "reporting_period": (ReportingPeriod.id, ReportingPeriod.label, None),
    "criteria_set": (CriteriaSet.id, CriteriaSet.name, None),
    "scale": (Scale.id, Scale.name, None),
    "evaluation": (Evaluation.id, Evaluation.title, None),
    "criterion": (Criterion.id, Criterion.name, None),
    "result": (Result.id, Result.code, Result.title),
    "indicator": (Indicator.id, Indicator.code, Indicator.title),
}


def _name_of(table: str, first: str | None, second: str | None) -> str:
    if table == "user":
        return first or second or ""
    if table == "organisation":
        return f"{first} ({second})" if second else first or ""
    if table in ("result", "indicator"):
        return _("%(code)s “%(title)s”", code=first, title=second)
    return first or ""


def _names_query(refs: dict[str, set[int]]) -> Iterable[tuple[str, int, str]]:
    """The names of the records of every kind in `refs`, in one statement whatever the number of
    kinds (a page of the trail refers to many: one statement each made it the page's main cost)."""
    parts = []
    for table, ids in refs.items():
        if not ids or table not in _NAME_COLUMNS:
            continue
        id_column, first, second = _NAME_COLUMNS[table]
        parts.append(
            sa.select(
                sa.literal(table, sa.String).label("kind"),
                id_column.label("id"),
                sa.cast(first, sa.String).label("first"),
                sa.cast(second if second is not None else sa.null(), sa.String).label("second"),
            ).where(id_column.in_(ids))
        )
    if not parts:
        return ()
    statement = parts[0] if len(parts) == 1 else sa.union_all(*parts)
    return ((r.kind, r.id, _name_of(r.kind, r.first, r.second)) for r in db.session.execute(statement))


NAMED_TABLES = frozenset(
    {
        "user",
        "organisation",
        "project",
        "reporting_period",
        "criteria_set",
        "scale",
        "evaluation",
        "criterion",
        "result",
        "indicator",
        "submission",
    }
)


def _collect_refs(
    events: list[AuditEvent], live: dict[tuple[str, str], dict[str, Any]] | None = None
) -> dict[str, set[int]]:
    info = column_info()
    refs: dict[str, set[int]] = defaultdict(set)
    for event in events:
        if event.project_id is not None:
            refs["project"].add(event.project_id)
        if event.entity_type in NAMED_TABLES and (ref_id := to_int(event.entity_id)) is not None:
            refs[event.entity_type].add(ref_id)
        for values in (event.before, event.after):
            for key, value in (values or {}).items():
                column = info.get((event.entity_type or "", key))
                if column and column.refers_to in NAMED_TABLES and isinstance(value, int):
                    refs[column.refers_to].add(value)
    for (entity_type, _entity_id), values in (live or {}).items():
        for key, value in values.items():
            column = info.get((entity_type, key))
            if column and column.refers_to in NAMED_TABLES and isinstance(value, int):
                refs[column.refers_to].add(value)
    return refs


def live_rows(events: list[AuditEvent]) -> dict[tuple[str, str], dict[str, Any]]:
    """The current columns of the records that change events name (one query per kind of record):
    a change carries only what changed, not what the record is about."""
    wanted: dict[str, set[int]] = defaultdict(set)
    for event in events:
        key = to_int(event.entity_id)
        if event.entity_type in naming.NAMED_BY_DATA and event.before and event.after and key is not None:
            wanted[event.entity_type].add(key)
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for entity_type, ids in wanted.items():
        model = audited_models()[entity_type]
        mapper: Mapper[Base] = sa.inspect(model)
        keys = [attr.key for attr in mapper.column_attrs]
        (id_column,) = mapper.primary_key  # the records named by their data have an integer id
        for obj in db.session.scalars(sa.select(model).where(id_column.in_(ids))):
            values = {k: getattr(obj, k) for k in keys}
            rows[(entity_type, str(values["id"]))] = values
    return rows


def resolve_names(refs: dict[str, set[int]]) -> dict[tuple[str, int], str]:
    names = naming.submission_names(refs.get("submission", ()))
    for table, key, name in _names_query(refs):
        names[(table, key)] = name
    return names


def _parse_timestamp(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def display_value(entity_type: str | None, key: str, value: Any, names: dict[tuple[str, int], str]) -> str:
    if value is None or value == "":
        return _("(empty)")
    column = column_info().get((entity_type or "", key), ColumnInfo())
    if column.enum is not None:
        return str(ENUM_LABELS.get(column.enum, {}).get(value, value))
    if column.refers_to is not None and isinstance(value, int):
        return names.get((column.refers_to, value)) or f"#{value}"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if key == "preferred_language" and isinstance(value, str):
        return str(current_app.config["LANGUAGES"].get(value, value))  # "Français", not "fr"
    if column.kind == "datetime" and isinstance(value, str):
        parsed = _parse_timestamp(value)
        return dates.format_datetime(parsed) if parsed else value
    if column.kind == "date" and isinstance(value, str):
        try:
            return dates.format_date(date.fromisoformat(value))
        except ValueError:
            return value
    if column.kind == "number" and isinstance(value, str | int | float):
        # Written the reader's way (12,5 in French), as the forms show it.
        try:
            return format_number(Decimal(str(value)))
        except (InvalidOperation, ValueError):
            return str(value)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def _changes(event: AuditEvent, names: dict[tuple[str, int], str]) -> list[Change]:
    before, after = event.before or {}, event.after or {}
    showing_values = not before or not after  # a creation, a deletion, or an event of its own
    keys = list(after) + [k for k in before if k not in after]
    changes = []
    for key in keys:
        if key in QUIET_FIELDS and event.entity_type:
            continue
        old, new = before.get(key), after.get(key)
        value = old if new is None else new
        if showing_values and event.entity_type and (value is False or value in (None, "", {}, [])):
            continue  # an empty field (or an unset flag) of a new or deleted row says nothing
        if showing_values and key in PARENT_FIELDS and event.entity_type not in ("submission", "project"):
            continue
        if key == "content" and event.entity_type == "submission_version":
            changes.append(
                Change(field_label(event.entity_type, key), None, _("Snapshot of the submitted text"))
            )
            continue
        if key == "narrative" and (isinstance(old, dict) or isinstance(new, dict)):
            changes.extend(_section_changes(event.entity_type, key, old or {}, new or {}))
            continue
        changes.append(
            _change(
                field_label(event.entity_type, key), event.entity_type, key, old, new, names, before, after
            )
        )
    return changes


def _change(
    label: str,
    entity_type: str | None,
    key: str,
    old: Any,
    new: Any,
    names: dict[tuple[str, int], str],
    before: dict[str, Any],
    after: dict[str, Any],
) -> Change:
    old_text = display_value(entity_type, key, old, names) if key in before else None
    new_text = display_value(entity_type, key, new, names) if key in after else None
    long = any(t is not None and len(t) > LONG_TEXT for t in (old_text, new_text))
    return Change(label, old_text, new_text, long)


def _section_changes(
    entity_type: str | None, key: str, old: dict[str, Any], new: dict[str, Any]
) -> list[Change]:
    changes = []
    for section in list(new) + [s for s in old if s not in new]:
        if old.get(section) == new.get(section):
            continue
        label = _(
            "%(field)s: %(section)s",
            field=field_label(entity_type, key),
            section=NARRATIVE_LABELS.get(section, section),
        )
        changes.append(_change(label, None, section, old.get(section), new.get(section), {}, old, new))
    return changes


def _kind(event: AuditEvent) -> str:
    if not event.entity_type or (event.before is None and event.after is None):
        return "event"
    if event.before is None:
        return "created"
    if event.after is None:
        return "deleted"
    return "changed"


def entity_title(
    entity_type: str | None,
    entity_id: str | None,
    names: dict[tuple[str, int], str],
    data: dict[str, Any] | None = None,
) -> str:
    """The record in words (`naming.record_name`), else its kind and name or number."""
    if not entity_type:
        return ""
    named = naming.record_name(entity_type, entity_id, data or {}, names)
    if named:
        return named
    label = entity_label(entity_type)
    if (entity_type, to_int(entity_id)) in names:
        return f"{label} {names[(entity_type, to_int(entity_id))]}"
    return f"{label} #{entity_id}" if entity_id else label


def _record_columns(entity_type: str, entity_id: str, obj: Any) -> tuple[dict[str, Any], dict[str, set[int]]]:
    """A live record's audited columns, and the linked records its name needs."""
    info = column_info()
    data = {
        attr.key: getattr(obj, attr.key)
        for attr in sa.inspect(type(obj)).column_attrs
        if (entity_type, attr.key) in info
    }
    refs: dict[str, set[int]] = defaultdict(set)
    if entity_type in NAMED_TABLES and (ref_id := to_int(entity_id)) is not None:
        refs[entity_type].add(ref_id)
    for key, value in data.items():
        column = info[(entity_type, key)]
        if column.refers_to in NAMED_TABLES and isinstance(value, int):
            refs[column.refers_to].add(value)
    return data, refs


def _record_data(event: AuditEvent, live: dict[tuple[str, str], dict[str, Any]]) -> dict[str, Any]:
    current = live.get((event.entity_type or "", event.entity_id or ""), {})
    return {**current, **(event.before or {}), **(event.after or {})}


def present(events: list[AuditEvent], *, show_addresses: bool = False) -> list[Entry]:
    """Entries for a page of events, with a bounded number of queries whatever their number."""
    live = live_rows(events)
    return _entries(events, live, resolve_names(_collect_refs(events, live)), show_addresses)


def present_with_title(
    events: list[AuditEvent], entity_type: str, entity_id: str, obj: Any, *, show_addresses: bool = False
) -> tuple[list[Entry], str | None]:
    """`present`, and the title of the record's History page named as its entries name it (None
    for a deleted record, or no better name): its linked records are named by the same lookups as
    the entries' (mostly the same records), not by lookups of their own."""
    live = live_rows(events)
    refs = _collect_refs(events, live)
    data: dict[str, Any] = {}
    if obj is not None:
        data, own = _record_columns(entity_type, entity_id, obj)
        for table, ids in own.items():
            refs[table] |= ids
    names = resolve_names(refs)
    title = naming.record_name(entity_type, entity_id, data, names) if obj is not None else None
    return _entries(events, live, names, show_addresses), title


def _entries(
    events: list[AuditEvent],
    live: dict[tuple[str, str], dict[str, Any]],
    names: dict[tuple[str, int], str],
    show_addresses: bool,
) -> list[Entry]:
    return [
        Entry(
            id=event.id,
            occurred_at=event.occurred_at,
            actor=_("System") if event.actor_id is None and event.actor_name == SYSTEM else event.actor_name,
            actor_id=event.actor_id,
            remote_addr=event.remote_addr if show_addresses else None,
            action=event.action,
            action_label=action_label(event.action),
            kind=_kind(event),
            entity_type=event.entity_type,
            entity_id=event.entity_id,
            entity_label=entity_title(event.entity_type, event.entity_id, names, _record_data(event, live)),
            project_id=event.project_id,
            project_label=names.get(("project", event.project_id)) if event.project_id else None,
            reason=reason_label(event.reason),
            changes=_changes(event, names),
        )
        for event in events
    ]
