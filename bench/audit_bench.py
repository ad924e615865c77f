"""The audit chain's write ceiling: audited commits a second as concurrent writers are added.

    .venv/bin/python bench/audit_bench.py [--pg-url URL] [--writers 1,2,4,8,16] [--seconds 10]
        [--rows 1] [--preload 0] [--synchronous-commit on] [--keep]

Every audited change is chained at its commit under one transaction-scoped advisory lock
(`mel_app.audit.chain.lock_chain`), held from the read of the chain's head until the commit has
been written: whatever the number of app servers, audited commits go through it one at a time.
This measures how many a second one PostgreSQL server takes, and how long writers wait for it.

It creates a throw-away database `mel_bench_audit_<pid>` on the server of `--pg-url` (PostgreSQL
only), runs `flask db upgrade` and `flask seed-load --scale 0.02` (users and organisations),
optionally appends `--preload` events to the chain in bulk (`audit.append_many`, as the load
generator does) so that the trail has the size of a real one, then, for each number of writers,
starts that many processes at once. Each writes for `--seconds` through the app's own service
(`mel_app.admin.services.update_organisation`: the optimistic claim, the checks, the change, its
`organisation.update` event) and commits, `--rows` organisations a transaction (so `--rows`
events a commit); each writer changes organisations of its own, so the chain's lock is the only
thing they share. Around every commit it times the wait for the lock (the `pg_advisory_xact_lock`
statement) and the time the lock is held (from then until the commit returns: the head's read,
the insert, the commit's write-ahead log flush).

Printed for each number of writers: commits and events a second, the lock wait (median, p95),
the time held (median), the commit's whole time as the writer sees it (p95), and the lock's busy
share: the sum of the times it was held over the elapsed time. A busy share near 100% means the
lock is the ceiling; well below, something else is (here, usually the 2 cores running the
writers). `--synchronous-commit off` sets it for the writers' connections, to show how much of the
time held is the disk's flush. The database is dropped at the end unless `--keep`. Only the
PostgreSQL server of `--pg-url` is contacted.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))
VENV_BIN = Path(sys.executable).parent


def flask(args: list[str], url: str) -> None:
    env = {**os.environ, "DATABASE_URL": url, "MEL_CONFIG": "development", "FLASK_APP": "mel_app"}
    done = subprocess.run([str(VENV_BIN / "flask"), *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"flask {' '.join(args)} failed:\n{done.stdout}{done.stderr}")


def preload(url: str, events: int) -> None:
    """Append `events` events to the chain, in batches, as the load generator does."""
    from mel_app.audit import append_many

    engine = sa.create_engine(url)
    batch = 50_000
    with engine.begin() as conn:
        for start in range(0, events, batch):
            append_many(
                conn,
                (
                    {
                        "actor_name": "system",
                        "action": "organisation.update",
                        "entity_type": "organisation",
                        "entity_id": str(i % 500 + 1),
                        "before": {"acronym": f"A{i}"},
                        "after": {"acronym": f"B{i}"},
                    }
                    for i in range(start, min(events, start + batch))
                ),
            )
    engine.dispose()


def writer(
    url: str,
    org_ids: list[int],
    actor_id: int,
    rows: int,
    seconds: float,
    sync_commit: str,
    ready: Any,
    go: Any,
    results: Any,
) -> None:
    """One writer process: commit audited changes until the time is up; send back the timings."""
    from profile_pages import make_app

    from mel_app import audit
    from mel_app.admin.services import update_organisation
    from mel_app.audit import chain
    from mel_app.extensions import db
    from mel_app.models import Organisation, User

    app = make_app(url)
    lock_taken: list[float] = []
    original = chain.lock_chain

    def timed_lock(connection: Any) -> None:
        started = time.perf_counter()
        original(connection)
        lock_taken.append(started)
        lock_taken.append(time.perf_counter())

    chain.lock_chain = timed_lock  # the chain's own writer looks it up here at every append
    samples: list[tuple[float, float, float]] = []  # (wait, held, whole commit)
    with app.app_context():
        if sync_commit != "on":
            db.session.execute(sa.text(f"SET synchronous_commit = {sync_commit}"))
            db.session.commit()
        actor = db.session.get(User, actor_id)
        audit.set_actor(db.session(), audit.actor_of(actor))
        ready.wait()
        go.wait()
        end = time.perf_counter() + seconds
        n = 0
        while time.perf_counter() < end:
            for _ in range(rows):
                org = db.session.get(Organisation, org_ids[n % len(org_ids)])
                assert org is not None
                n += 1
                update_organisation(
                    org,
                    name=org.name,
                    acronym=f"A{os.getpid() % 1000}-{n}",
                    group=org.group,
                    country=org.country,
                    parent_id=org.parent_id,
                    expected_version=org.version,
                    actor=actor,
                    iati_ref=org.iati_ref,
                    iati_type=org.iati_type,
                )
            lock_taken.clear()
            started = time.perf_counter()
            db.session.commit()
            done = time.perf_counter()
            asked, got = lock_taken
            samples.append((got - asked, done - got, done - started))
        db.session.remove()
        db.engine.dispose()
    results.put(samples)


def run_round(
    url: str, writers: int, args: argparse.Namespace, orgs: list[int], actor: int
) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    ready, go, results = ctx.Barrier(writers + 1), ctx.Event(), ctx.Queue()
    share = max(1, len(orgs) // writers)
    processes = [
        ctx.Process(
            target=writer,
            args=(
                url,
                orgs[i * share : (i + 1) * share],
                actor,
                args.rows,
                args.seconds,
                args.synchronous_commit,
                ready,
                go,
                results,
            ),
        )
        for i in range(writers)
    ]
    for p in processes:
        p.start()
    try:
        ready.wait(timeout=600)  # each writer builds the app first: slow on a busy machine
    except threading.BrokenBarrierError:
        for p in processes:
            p.terminate()
        raise SystemExit(f"{writers} writers were not all ready within 10 minutes") from None
    load = os.getloadavg()[0]
    go.set()
    samples = [s for _ in processes for s in results.get(timeout=args.seconds + 300)]
    for p in processes:
        p.join(30)
    waits = sorted(s[0] for s in samples)
    held = sorted(s[1] for s in samples)
    whole = sorted(s[2] for s in samples)
    return {
        "writers": writers,
        "commits": len(samples),
        "commits_s": len(samples) / args.seconds,
        "events_s": len(samples) * args.rows / args.seconds,
        "wait_p50": 1000 * statistics.median(waits),
        "wait_p95": 1000 * waits[int(0.95 * (len(waits) - 1))],
        "held_p50": 1000 * statistics.median(held),
        "commit_p95": 1000 * whole[int(0.95 * (len(whole) - 1))],
        # Writers stop starting commits after `seconds`; the last ones end a little later.
        "busy": sum(held) / args.seconds,
        "load": load,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--writers", default="1,2,4,8,16", help="comma-separated numbers of writers")
    parser.add_argument("--seconds", type=float, default=10, help="measured seconds per number of writers")
    parser.add_argument(
        "--rows", type=int, default=1, help="organisations changed a commit (events a commit)"
    )
    parser.add_argument("--preload", type=int, default=0, help="events appended to the chain first")
    parser.add_argument("--synchronous-commit", default="on", choices=["on", "off", "local"])
    parser.add_argument("--keep", action="store_true", help="keep the database (its name is printed)")
    args = parser.parse_args()

    name = f"mel_bench_audit_{os.getpid()}"
    admin = sa.create_engine(args.pg_url, isolation_level="AUTOCOMMIT")
    url = sa.engine.make_url(args.pg_url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        flask(["db", "upgrade"], url)
        flask(["seed-load", "--scale", "0.02", "--seed", "1"], url)
        if args.preload:
            started = time.perf_counter()
            preload(url, args.preload)
            print(f"preloaded {args.preload:,} events in {time.perf_counter() - started:.0f} s", flush=True)
        from mel_app.models import Organisation, User

        engine = sa.create_engine(url)
        with engine.connect() as conn:
            orgs = list(conn.scalars(sa.select(Organisation.id).order_by(Organisation.id)))
            actor = conn.scalar(sa.select(User.id).where(User.is_admin).order_by(User.id).limit(1))
            events = conn.scalar(sa.text("SELECT count(*) FROM audit_event"))
        engine.dispose()
        print(
            f"database {name}: {len(orgs)} organisations, {events:,} audit events; "
            f"{args.rows} event(s) a commit, synchronous_commit={args.synchronous_commit}, "
            f"{args.seconds:g} s per round; {os.cpu_count()} CPUs",
            flush=True,
        )
        print(
            f"{'writers':>7} {'commits/s':>9} {'events/s':>8} {'wait p50':>8} {'wait p95':>8} "
            f"{'held p50':>8} {'commit p95':>10} {'lock busy':>9} {'load':>5}"
        )
        for writers in (int(w) for w in args.writers.split(",")):
            r = run_round(url, writers, args, orgs, actor)
            print(
                f"{r['writers']:>7} {r['commits_s']:>9.0f} {r['events_s']:>8.0f} {r['wait_p50']:>6.1f}ms "
                f"{r['wait_p95']:>6.1f}ms {r['held_p50']:>6.1f}ms {r['commit_p95']:>8.1f}ms "
                f"{100 * r['busy']:>8.0f}% {r['load']:>5.1f}",
                flush=True,
            )
    finally:
        if args.keep:
            print(f"kept the database {name}")
        else:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


if __name__ == "__main__":
    main()
