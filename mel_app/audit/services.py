"""Downloading the trail: recorded first, then streamed in constant memory."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa

from mel_app import audit
from mel_app.audit import chain
from mel_app.audit.chain import format_timestamp
from mel_app.audit.history import TrailFilters, trail_condition
from mel_app.extensions import db
from mel_app.kit.cells import csv_safe
from mel_app.models import AuditEvent, Project

CSV_COLUMNS = (*chain.EVENT_HEAD, "project_reference", "reason", "before", "after", "prev_hash", "hash")
BATCH = 1000


def project_references(ids: sa.Select[tuple[int]] | None) -> list[tuple[int, str]]:
    """(id, reference) of these projects (of every project when `ids` is None), by reference."""
    query = sa.select(Project.id, Project.reference).order_by(Project.reference)
    if ids is not None:
        query = query.where(Project.id.in_(ids))
    return [(row.id, row.reference) for row in db.session.execute(query)]


def record_trail_download(*, actor: Any, filters: TrailFilters, with_addresses: bool) -> int:
    """Audit the download itself (in the caller's transaction; the view commits before streaming)
    and answer the event the file goes up to: the one before this download's own, so that the
    file is a fixed snapshot."""
    up_to_id = chain.head(db.session.connection())[0]
    audit.record(
        db.session(),
        "audit.download",
        actor=actor,
        project_id=filters.project_id,
        after={
            "format": "csv",
            "filters": filters.as_dict(),
            "up_to_event": up_to_id,
            "with_addresses": with_addresses,
        },
    )
    return up_to_id


def _cell(value: Any) -> Any:
    return csv_safe(value)


def _json(value: Any) -> str:
    if value is None:
        return ""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def trail_csv(
    filters: TrailFilters,
    project_ids: sa.Select[tuple[int]] | None,
    *,
    visible: sa.ColumnElement[bool],
    up_to_id: int,
    with_addresses: bool,
) -> Iterator[str]:
    """The filtered trail up to a fixed event, oldest first, as CSV text in chunks; `visible` is
    what the reader may read (`permissions.visible_audit_event_filter`).

    Rows are read through a server-side cursor in batches, so memory stays flat whatever the
    size. Cells a spreadsheet would run as a formula are prefixed with an apostrophe.
    """
    columns = [c for c in CSV_COLUMNS if with_addresses or c != "remote_addr"]
    query = (
        sa.select(AuditEvent.__table__, Project.reference.label("project_reference"))
        .outerjoin(Project, Project.id == AuditEvent.project_id)
        .where(trail_condition(filters, project_ids, visible=visible), AuditEvent.id <= up_to_id)
        .order_by(AuditEvent.id)
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")  # spreadsheets then read the file as UTF-8
    writer.writerow(columns)
    stream = db.session.connection().execute(query.execution_options(stream_results=True, yield_per=BATCH))
    with stream:
        for rows in stream.partitions():
            for row in rows:
                values = row._mapping
                writer.writerow(
                    [
                        format_timestamp(values["occurred_at"])
                        if name == "occurred_at"
                        else _json(values[name])
                        if name in ("before", "after")
                        else _cell(values[name])
                        for name in columns
                    ]
                )
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()
