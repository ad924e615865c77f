"""Flask commands: `flask --app mel_app <command> --help` explains each."""

from __future__ import annotations

import importlib.util
import sys

import click
from flask import Flask
from flask.cli import AppGroup, with_appcontext

from mel_app import audit
from mel_app.extensions import db


def register_cli(app: Flask) -> None:
    app.cli.add_command(seed_demo)
    app.cli.add_command(seed_defaults)
    app.cli.add_command(create_admin)
    app.cli.add_command(audit_group)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
    _add_seed_load(app)
    from mel_app.notifications.cli import COMMANDS as notification_commands

    for command in notification_commands:
        app.cli.add_command(command)


def _add_seed_load(app: Flask) -> None:
    """`seed-load`, the synthetic portfolio for load tests: a tool of the checkout (bench/loadgen),
    not of the package, so a command only where the checkout is importable."""
    try:
        present = importlib.util.find_spec("bench.loadgen") is not None
    except ModuleNotFoundError:
        present = False
    if present:
        from bench.loadgen.cli import seed_load

        app.cli.add_command(seed_load)


@click.command("seed-demo")
@with_appcontext
def seed_demo() -> None:
    """Load the demo projects and accounts (idempotent: a second run adds nothing)."""
    from mel_app.demo import DEMO_ACCOUNTS, DEMO_PASSWORD, load_demo

    audit.set_actor(db.session(), audit.SYSTEM_ACTOR)
    added = load_demo()
    db.session.commit()
    click.echo("Demo data loaded." if added else "Demo data already present; nothing added.")
    click.echo(f"Demo accounts (password: {DEMO_PASSWORD}):")
    for email, _name, _org, description in DEMO_ACCOUNTS:
        click.echo(f"  {email:<26} {description}")


@click.command("seed-defaults")
@with_appcontext
def seed_defaults() -> None:
    """Create the default evaluation criteria set and scale if missing (idempotent)."""
    from mel_app.evaluations.defaults import ensure_defaults

    audit.set_actor(db.session(), audit.SYSTEM_ACTOR)
    ensure_defaults()
    db.session.commit()
    click.echo("Default criteria set and scale are in place.")


@click.command("create-admin")
@with_appcontext
@click.option("--email", prompt=True)
@click.option("--name", "full_name", prompt="Full name")
@click.password_option(help="At least 12 characters.")
def create_admin(email: str, full_name: str, password: str) -> None:
    """Create an administrator account (for the first sign-in of a new installation)."""
    import secrets

    from mel_app.auth.passwords import hash_password, password_problem
    from mel_app.auth.services import find_user_by_email, normalise_email
    from mel_app.models import User

    problem = password_problem(password, user_inputs=(email, full_name))
    if problem:
        raise click.UsageError(problem)
    if find_user_by_email(email):
        raise click.UsageError(f"An account with the email {email} exists already.")
    audit.set_actor(db.session(), audit.SYSTEM_ACTOR)
    user = User(
        email=normalise_email(email),
        full_name=full_name,
        password_hash=hash_password(password),
        is_admin=True,
        session_token=secrets.token_hex(16),
    )
    db.session.add(user)
    audit.record(db.session, "user.create_admin", target=user, reason="created from the command line")
    db.session.commit()
    click.echo(f"Administrator {user.email} created.")


@click.group("audit", cls=AppGroup)
def audit_group() -> None:
    """Check the audit trail."""


def _anchor(value: str) -> tuple[int, str]:
    event_id, _, digest = value.partition(":")
    if not event_id.isdigit() or len(digest) != 64:
        raise click.BadParameter("give an event number and its hash as ID:HASH")
    return int(event_id), digest.lower()


@audit_group.command("verify")
@click.option(
    "--anchor",
    "anchors",
    multiple=True,
    metavar="ID:HASH",
    help="A head published earlier (see `audit head`); it must still be in the chain. Repeatable.",
)
def audit_verify(anchors: tuple[str, ...]) -> None:
    """Recompute the hash chain; exit 1 and name the first bad event on any tampering.

    Streams the chain, so memory stays flat however long it is. Heads published earlier with
    --anchor also catch a chain rewritten consistently from some point on, or cut short.
    """
    try:
        published = [_anchor(a) for a in anchors]
    except click.BadParameter as exc:
        raise click.UsageError(str(exc)) from None
    result = audit.chain.verify(db.session.connection(), anchors=published)
    click.echo(f"events: {result.count}")
    click.echo(f"head:   {result.head_id}:{result.head_hash}")
    if not result.ok:
        click.echo(
            f"TAMPERED ({result.kind}): {result.problem} (first bad event: {result.first_bad_id})", err=True
        )
        sys.exit(1)
    if published:
        click.echo(f"{len(published)} published head(s) found in the chain.")
    click.echo("The audit trail is intact.")


@audit_group.command("head")
def audit_head() -> None:
    """Print the chain's head as ID:HASH, with the time, to publish outside the database.

    Run it on a schedule and send the line to a separate channel (mail, a ticket, a signed
    log); later `audit verify --anchor ID:HASH` proves the chain still contains it.
    """
    from mel_app.models import utcnow

    event_id, digest = audit.chain.head(db.session.connection())
    click.echo(f"{event_id}:{digest} {audit.chain.format_timestamp(utcnow())}")


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
@with_appcontext
def backup_command(path: str) -> None:
    """Back up the whole database (evidence files included) to PATH."""
    from flask import current_app

    from mel_app.backup import BackupError, backup

    try:
        backup(current_app.config["SQLALCHEMY_DATABASE_URI"], path)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Backup written to {path}.")


@click.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def restore_command(path: str) -> None:
    """Restore a backup from PATH into the configured database, which must be empty (fresh).

    Check it afterwards with `flask --app mel_app audit verify`.
    """
    from flask import current_app

    from mel_app.backup import BackupError, restore

    db.engine.dispose()
    try:
        restore(current_app.config["SQLALCHEMY_DATABASE_URI"], path)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Restored {path}. Run `flask --app mel_app audit verify` to check the audit trail.")
