"""Exports: prepare one for a reader, record it in the audit trail, and produce it as a byte stream.

The order matters for traceability: the download is recorded (and committed) first; the export then
reads everything — the audit chain's head included, which is then the download's own event — in one
read-only snapshot of the database (REPEATABLE READ on PostgreSQL), so the file states exactly the
data that existed at that moment, however long the writing takes.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

import mel_app
from mel_app import audit
from mel_app.audit import chain
from mel_app.exports.iati import ReportingOrg, write_iati
from mel_app.exports.scope import ExportContext, Reader, Scope
from mel_app.exports.tables import row_counts
from mel_app.exports.writers import About, write_csv_zip, write_json, write_xlsx
from mel_app.extensions import db
from mel_app.kit.errors import DomainError
from mel_app.models import Project, ProjectCountry, utcnow


class Format(enum.StrEnum):
    xlsx = "xlsx"
    csv = "csv"
    json = "json"
    iati = "iati"


SUFFIXES = {Format.xlsx: ".xlsx", Format.csv: "-csv.zip", Format.json: ".json", Format.iati: "-iati.xml"}
MEDIA_TYPES = {
    Format.xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    Format.csv: "application/zip",
    Format.json: "application/json",
    Format.iati: "application/xml",
}

WRITERS: dict[Format, Callable[..., Iterator[bytes]]] = {
    Format.xlsx: write_xlsx,
    Format.csv: write_csv_zip,
    Format.json: write_json,
    Format.iati: write_iati,
}


class NothingToExport(DomainError):
    """An IATI file needs at least one activity: there is no project in the scope."""

    http_status = 422


def reporting_org_from(config: Mapping[str, Any]) -> ReportingOrg:
    """The organisation that publishes the IATI file (the ILO unless configured otherwise)."""
    default = ReportingOrg()
    return ReportingOrg(
        ref=config.get("IATI_REPORTING_ORG_REF", default.ref),
        type=config.get("IATI_REPORTING_ORG_TYPE", default.type),
        name=config.get("IATI_REPORTING_ORG_NAME", default.name),
    )


def prepare(scope: Scope, reader: Reader, fmt: Format) -> ExportContext:
    """Turn the scope and the reader into the export's SQL clauses (while the reader is loaded)."""
    return ExportContext.build(
        scope,
        reader,
        spreadsheet=fmt in (Format.xlsx, Format.csv),
        text_cells=fmt is Format.csv,
        excel_cells=fmt is Format.xlsx,
    )


def filename(fmt: Format, when: datetime) -> str:
    return f"mel-results-{when.strftime('%Y%m%d-%H%M%S')}{SUFFIXES[fmt]}"


def project_choices(project_ids: sa.Select[tuple[int]]) -> list[sa.Row[Any]]:
    """(id, reference, title) of these projects, by reference: what the scope form offers."""
    return list(
        db.session.execute(
            sa.select(Project.id, Project.reference, Project.title)
            .where(Project.id.in_(project_ids))
            .order_by(Project.reference)
        )
    )


def country_choices(project_ids: sa.Select[tuple[int]]) -> list[str]:
    """The countries of these projects (codes, sorted)."""
    return list(
        db.session.scalars(
            sa.select(ProjectCountry.country)
            .where(ProjectCountry.project_id.in_(project_ids))
            .distinct()
            .order_by(ProjectCountry.country)
        )
    )


def preview_counts(ctx: ExportContext) -> dict[str, int]:
    """How many rows each table of the export will hold, for the downloads page."""
    return row_counts(db.session.connection(), ctx)


def count_projects(connection: Connection, ctx: ExportContext) -> int:
    return int(connection.scalar(sa.select(sa.func.count(Project.id)).where(ctx.projects(Project.id))) or 0)


def record_download(
    session: Session, ctx: ExportContext, fmt: Format, *, actor: Any = None, bom: bool = False
) -> dict[str, Any]:
    """Record the download and its scope in the audit trail (in the caller's transaction).

    Raises NothingToExport for an IATI file without any project. Returns what was recorded.
    """
    connection = session.connection()
    if fmt is Format.iati and count_projects(connection, ctx) == 0:
        raise NothingToExport
    scope = ctx.describe(connection)
    details = {"format": fmt.value, "scope": scope}
    if fmt is Format.csv:
        details["bom"] = bom
    project_id = ctx.scope.project_ids[0] if len(ctx.scope.project_ids) == 1 else None
    audit.record(session, "export.download", actor=actor, after=details, project_id=project_id)
    return details


@contextmanager
def reading_snapshot(engine: Engine) -> Iterator[Connection]:
    """A connection of its own that sees one consistent state of the database throughout."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        with conn.begin():
            if conn.dialect.name == "postgresql":
                # Timestamps arrive in UTC, as the files state them (for this transaction only).
                conn.exec_driver_sql("SET LOCAL TIME ZONE 'UTC'")
            yield conn


def generate(
    engine: Engine,
    ctx: ExportContext,
    fmt: Format,
    *,
    bom: bool = False,
    reporting_org: ReportingOrg | None = None,
    generated_at: datetime | None = None,
) -> Iterator[bytes]:
    """The export file, as a stream of byte chunks."""
    with reading_snapshot(engine) as conn:
        head_id, head_hash = chain.head(conn)
        about = About(
            generated_at=generated_at or utcnow(),
            generated_by=ctx.reader_name,
            app_version=mel_app.__version__,
            audit_head_hash=head_hash,
            audit_head_id=head_id,
            format=fmt.value,
            scope=ctx.describe(conn),
            scorer_names=ctx.is_system or ctx.may_name_scorers(conn),
        )
        options: dict[str, Any] = {"bom": bom}
        if fmt is Format.iati:
            options["reporting_org"] = reporting_org
        yield from WRITERS[fmt](conn, ctx, about, **options)
