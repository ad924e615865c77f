"""`flask --app mel_app export`: the Downloads page's files from the command line, for publishing."""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import datetime

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext
from flask_babel import force_locale

from mel_app import audit
from mel_app.exports.scope import CONSTITUENCIES, Reader, Scope
from mel_app.exports.services import (
    Format,
    NothingToExport,
    generate,
    prepare,
    record_download,
    reporting_org_from,
)
from mel_app.extensions import db
from mel_app.models import Project, utcnow


@click.command("export")
@click.option(
    "--format", "fmt", type=click.Choice([f.value for f in Format]), required=True, help="File format."
)
@click.option(
    "--out", required=True, type=click.Path(dir_okay=False, writable=True), help="File to write (replaced)."
)
@click.option(
    "--project",
    "references",
    multiple=True,
    metavar="REF",
    help="ILO reference of a project, e.g. RAF/22/11/NOR (repeatable; default: every project).",
)
@click.option(
    "--from", "period_from", type=click.DateTime(formats=["%Y-%m-%d"]), help="Periods ending on or after."
)
@click.option(
    "--to", "period_to", type=click.DateTime(formats=["%Y-%m-%d"]), help="Periods starting on or before."
)
@click.option("--country", "countries", multiple=True, metavar="CC", help="ISO country code (repeatable).")
@click.option(
    "--constituency", "constituencies", multiple=True, type=click.Choice(CONSTITUENCIES), help="Repeatable."
)
@click.option("--all-statuses", is_flag=True, help="Also submitted and returned reports, not only approved.")
@click.option("--bom", is_flag=True, help="CSV: start each file with a byte order mark (for Excel).")
@with_appcontext
def export_command(
    fmt: str,
    out: str,
    references: tuple[str, ...],
    period_from: datetime | None,
    period_to: datetime | None,
    countries: tuple[str, ...],
    constituencies: tuple[str, ...],
    all_statuses: bool,
    bom: bool,
) -> None:
    """Write consolidated results (xlsx, csv, json or iati) to a file.

    Runs as the system actor over every project (or the ones named), scorer names included; the
    export and its scope are recorded in the audit trail. Only approved reports unless --all-statuses.
    """
    project_ids = _project_ids(references)
    if period_from and period_to and period_to < period_from:
        raise click.UsageError("--to is before --from.")
    scope = Scope(
        project_ids=tuple(sorted(set(project_ids))),
        period_from=period_from.date() if period_from else None,
        period_to=period_to.date() if period_to else None,
        countries=tuple(sorted({c.upper() for c in countries})),
        constituencies=tuple(c for c in CONSTITUENCIES if c in constituencies),
        all_statuses=all_statuses,
    )
    fmt_ = Format(fmt)
    ctx = prepare(scope, Reader.system(), fmt_)
    audit.set_actor(db.session(), audit.SYSTEM_ACTOR)
    try:
        record_download(db.session, ctx, fmt_, bom=bom)
    except NothingToExport as exc:
        db.session.rollback()
        raise click.ClickException("An IATI file needs at least one project; the scope has none.") from exc
    db.session.commit()

    stream = generate(
        db.engine,
        ctx,
        fmt_,
        bom=bom,
        reporting_org=reporting_org_from(current_app.config),
        generated_at=utcnow(),
    )
    size = _write_file(stream, out)
    click.echo(f"Wrote {out} ({size:,} bytes).")


def _project_ids(references: tuple[str, ...]) -> list[int]:
    """The projects the references name; a usage error for one that names none."""
    project_ids: list[int] = []
    for reference in references:
        project_id = db.session.scalar(sa.select(Project.id).where(Project.reference == reference))
        if project_id is None:
            raise click.UsageError(f"No project with the reference {reference}.")
        project_ids.append(project_id)
    return project_ids


def _write_file(stream: Iterable[bytes], out: str) -> int:
    """Write the export to `out`; returns its size in bytes."""
    # Written next to the target and renamed at the end: a reader never sees half a file.
    partial = f"{out}.part"
    size = 0
    try:
        with force_locale(current_app.config.get("BABEL_DEFAULT_LOCALE", "en")), open(partial, "wb") as file:
            for chunk in stream:
                file.write(chunk)
                size += len(chunk)
    except BaseException:
        if os.path.exists(partial):
            os.unlink(partial)
        raise
    os.replace(partial, out)
    return size
