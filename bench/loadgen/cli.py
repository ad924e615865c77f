"""`flask --app mel_app seed-load`: registered by mel_app.cli only where this checkout's bench/
is importable (the command is not part of the installed package)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from mel_app import audit
from mel_app.extensions import db


@click.command("seed-load")
@with_appcontext
@click.option(
    "--scale", type=float, default=1.0, show_default=True, help="1 = about 50 projects, 6,000 reports."
)
@click.option("--seed", type=int, default=1, show_default=True, help="The same seed gives the same data.")
@click.option(
    "--as-of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="The day the data is as of (default: today); with the seed, it fixes every value.",
)
def seed_load(scale: float, seed: int, as_of) -> None:
    """Fill the database with a large synthetic portfolio for load tests (refused in production).

    Scale 1 is about 50 projects, 300 organisations, 1,000 users, ten years of half-yearly periods,
    6,000 submissions with 60,000 indicator values, 500 evaluations with 10,000 scores, and an audit
    event for every row. Every account has the password printed at the end.
    """
    import time
    from datetime import UTC, datetime

    from flask import current_app

    from bench.loadgen import LOAD_PASSWORD, LoadError, load_portfolio
    from mel_app.auth.passwords import hash_password

    if current_app.config.get("NAME") == "production":
        raise click.UsageError("seed-load creates accounts with a published password: never in production.")
    day = as_of.date() if as_of else datetime.now(UTC).date()
    started = time.perf_counter()
    audit.set_actor(db.session(), audit.SYSTEM_ACTOR)
    try:
        report = load_portfolio(
            db.session,
            scale=scale,
            seed=seed,
            as_of=day,
            password_hash=hash_password(LOAD_PASSWORD),  # hashed once, shared by every account
            progress=click.echo,
        )
    except LoadError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        # Fresh statistics, so the planner sees the new sizes at once.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")
    for table, count in report.counts.items():
        click.echo(f"  {table:<20} {count:>10,}")
    click.echo(f"Loaded scale {scale:g} (seed {seed}, as of {day}) in {time.perf_counter() - started:.1f} s.")
    click.echo(f"Every account's password: {LOAD_PASSWORD}")
