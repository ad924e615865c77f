"""Bulk writing of rows with their audit events, appended to the chain by `audit.append_many`."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mel_app import audit
from mel_app.audit import chain
from mel_app.audit.capture import SYSTEM, UNCAPTURED
from mel_app.models import (
    Attachment,
    Comment,
    DesignInputItem,
    Evaluation,
    Indicator,
    IndicatorValue,
    Membership,
    Organisation,
    Partner,
    Project,
    ProjectCountry,
    ProjectSector,
    Recommendation,
    ReportingPeriod,
    Result,
    Score,
    Scorecard,
    Submission,
    SubmissionVersion,
    User,
)

# Tables in the order rows must reach the database (foreign keys point backwards only).
WRITE_ORDER = (
    Organisation,
    User,
    Project,
    ProjectCountry,
    ProjectSector,
    Partner,
    Membership,
    ReportingPeriod,
    Result,
    Indicator,
    Submission,
    SubmissionVersion,
    IndicatorValue,
    DesignInputItem,
    Attachment,
    Comment,
    Evaluation,
    Scorecard,
    Score,
    Recommendation,
)


_MISSING = object()


class LoadError(Exception):
    """The synthetic data cannot be loaded into this database."""


@dataclass
class _TableSpec:
    table: sa.Table
    columns: list[str]
    defaults: dict[str, Any]
    # (attribute key in `after`, column name, whether the column has no default): the ORM capture
    # leaves out attributes a new object never set, so a NULL without a default is left out too.
    audited: list[tuple[str, str, bool]]
    primary_key: list[str]
    json_columns: frozenset[str]
    has_serial_id: bool


def _spec(model: type) -> _TableSpec:
    table = model.__table__
    mapper = sa.inspect(model)
    defaults = {}
    for column in table.columns:
        if column.default is None:
            defaults[column.name] = None
        elif column.default.is_scalar:
            defaults[column.name] = column.default.arg
        else:
            defaults[column.name] = _MISSING  # callable defaults are given explicitly
    excluded = model.__audit_exclude__ | UNCAPTURED  # as the automatic capture leaves them out
    audited = [
        (attr.key, attr.columns[0].name, attr.columns[0].default is None)
        for attr in mapper.column_attrs
        if attr.key not in excluded
    ]
    return _TableSpec(
        table=table,
        columns=[c.name for c in table.columns],
        defaults=defaults,
        audited=audited,
        primary_key=[c.name for c in mapper.primary_key],
        json_columns=frozenset(c.name for c in table.columns if isinstance(c.type, sa.JSON)),
        has_serial_id="id" in table.c
        and table.c.id.autoincrement is not False
        and len(mapper.primary_key) == 1,
    )


class BulkWriter:
    """Buffers rows per table; writes them in dependency order with one audit event each.

    The events go to `audit.append_many`, which chains them. The chain's lock is taken at the start
    and held to the end of the transaction, so two loads never claim the same row ids.
    """

    FLUSH_EVERY = 20_000

    def __init__(self, connection: Connection, *, occurred_at: datetime, reason: str):
        self.connection = connection
        self.is_postgres = connection.dialect.name == "postgresql"
        self.occurred_at = occurred_at
        self.reason = reason
        self.specs = {model: _spec(model) for model in WRITE_ORDER}
        self.buffers: dict[type, list[tuple[dict[str, Any], int | None]]] = {m: [] for m in WRITE_ORDER}
        self.buffered = 0
        self.counts: Counter[str] = Counter()
        chain.lock_chain(connection)
        self.first_event_id = self.last_id = 0  # the ids of the first and last event appended
        self.ids = {model: self._max_id(model) for model in WRITE_ORDER if self.specs[model].has_serial_id}

    def _max_id(self, model: type) -> int:
        return self.connection.scalar(sa.select(sa.func.max(model.__table__.c.id))) or 0

    def next_id(self, model: type) -> int:
        self.ids[model] += 1
        return self.ids[model]

    def add(self, model: type, row: dict[str, Any], project_id: int | None) -> dict[str, Any]:
        spec = self.specs[model]
        full = {**spec.defaults, **row}
        self.buffers[model].append((full, project_id))
        self.buffered += 1
        if self.buffered >= self.FLUSH_EVERY:
            self.flush()
        return full

    def flush(self) -> None:
        events = []
        for model in WRITE_ORDER:
            rows = self.buffers[model]
            if not rows:
                continue
            spec = self.specs[model]
            missing = [name for name, value in rows[0][0].items() if value is _MISSING]
            if missing:
                raise LoadError(f"{spec.table.name}: no value for {', '.join(missing)}")
            self._write(spec, [row for row, _ in rows])
            events.extend(self._events(spec, rows))
            self.counts[spec.table.name] += len(rows)
            self.buffers[model] = []
        self._write_events(events)
        self.buffered = 0

    def record(self, action: str, after: dict[str, Any]) -> None:
        """An event of its own (no row), chained after everything written so far."""
        self.flush()
        self._write_events(
            [self._event(action=action, entity_type=None, entity_id=None, project_id=None, after=after)]
        )

    def _event(self, **fields: Any) -> dict[str, Any]:
        return {
            "occurred_at": self.occurred_at,
            "actor_id": None,
            "actor_name": SYSTEM,
            "remote_addr": None,
            "before": None,
            "reason": self.reason,
            **fields,
        }

    def _events(
        self, spec: _TableSpec, rows: list[tuple[dict[str, Any], int | None]]
    ) -> list[dict[str, Any]]:
        name = spec.table.name
        action = f"{name}.create"
        to_json = chain.to_json_value
        audited = spec.audited
        pk = spec.primary_key
        single = pk[0] if len(pk) == 1 else None
        events = []
        for row, project_id in rows:
            entity_id = str(row[single]) if single else ":".join(str(row[c]) for c in pk)
            after = {
                key: to_json(row[column])
                for key, column, unset_if_null in audited
                if not unset_if_null or row[column] is not None
            }
            events.append(
                self._event(
                    action=action, entity_type=name, entity_id=entity_id, project_id=project_id, after=after
                )
            )
        return events

    def _write(self, spec: _TableSpec, rows: list[dict[str, Any]]) -> None:
        if self.is_postgres:
            self._copy(spec.table.name, spec.columns, spec.json_columns, rows)
        else:
            self.connection.execute(sa.insert(spec.table), rows)

    def _write_events(self, events: list[dict[str, Any]]) -> None:
        rows = audit.append_many(self.connection, events)
        if not rows:
            return
        self.first_event_id = self.first_event_id or rows[0]["id"]
        self.last_id = rows[-1]["id"]
        self.counts["audit_event"] += len(rows)

    def _copy(self, table: str, columns: list[str], json_columns: frozenset[str], rows: list[dict]) -> None:
        raw = self.connection.connection.driver_connection
        names = ", ".join(f'"{c}"' for c in columns)
        json_idx = [i for i, c in enumerate(columns) if c in json_columns]
        with raw.cursor() as cursor, cursor.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
            for row in rows:
                values = [row[c] for c in columns]
                for i in json_idx:
                    if values[i] is not None:
                        values[i] = json.dumps(values[i], ensure_ascii=False)
                copy.write_row(values)

    def finish(self) -> None:
        """Write what is buffered and move the id sequences past the ids given here."""
        self.flush()
        if self.is_postgres:
            for model, last in self.ids.items():
                name = model.__table__.name
                self.connection.execute(
                    sa.text("SELECT setval(pg_get_serial_sequence(:t, 'id'), :v, true)"),
                    {"t": f'"{name}"', "v": max(last, 1)},
                )
