"""CPU per page, in-process: what one signed-in request costs the app itself.

Builds the app with the settings `make bench` serves (bench/wsgi.py: production, plain HTTP), on
a portfolio loaded by `flask seed-load` into a temporary SQLite database (or on the database of
`--database-url`, e.g. the scale-10 PostgreSQL database `make bench` keeps), signs in one person
of each role through the real sign-in form with Flask's test client (the API lines of
bench/pages.py with that person's access token instead, made by bench/plan.py), warms every page of
bench/pages.py up, then measures the CPU time of the process (time.process_time) over
`--requests` requests of each page and prints milliseconds per request. No server, no network:
the figure is the app's own cost (Flask, SQLAlchemy, Jinja, the database driver; SQLite's work
too, as it runs in the process; PostgreSQL's work is not counted). The wall time per request is
printed beside it: on PostgreSQL, the difference is mostly the database's time.
`--path ROLE:PATH` (repeatable) measures a URL that is not a line of bench/pages.py, e.g.
`--path admin:/portfolio/by-tag` (the roll-up of every project's latest figures).

    .venv/bin/python bench/profile_pages.py                      # scale 0.2 on SQLite, every page
    .venv/bin/python bench/profile_pages.py --pages home --profile home.prof
    .venv/bin/python bench/profile_pages.py --database-url postgresql+psycopg://…/mel_bench_s10_seed1

`--profile FILE` writes a cProfile of the measured requests of the chosen pages (read it with
`python -m pstats FILE`, or print the top functions with `--top N`).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import re
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def load(url: str, scale: float, seed: int) -> None:
    env = {**os.environ, "DATABASE_URL": url, "FLASK_APP": "mel_app", "MEL_CONFIG": "development"}
    for args in (["db", "upgrade"], ["seed-load", "--scale", f"{scale:g}", "--seed", str(seed)]):
        subprocess.run(
            [sys.executable, "-m", "flask", *args], cwd=ROOT, env=env, check=True, capture_output=True
        )


def make_app(url: str):
    from config import ProductionConfig
    from mel_app import create_app

    return create_app(
        ProductionConfig,
        SQLALCHEMY_DATABASE_URI=url,
        SESSION_COOKIE_SECURE=False,
        SESSION_COOKIE_NAME="mel_session",
        PREFERRED_URL_SCHEME="http",
        RATELIMIT_ENABLED=False,
        DEMO_ACCOUNTS_SKIP_2FA=True,
        API_RATE_LIMIT=1_000_000,  # as bench/run.py serves it
        PUBLIC_BASE_URL="https://bench.invalid",
        NOTIFY_QUEUE="sqlite",
        SECRET_KEY=secrets.token_hex(32),
    )


def sign_in(app, email: str):
    from bench.loadgen import LOAD_PASSWORD

    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = CSRF.search(page).group(1)
    answer = client.post(
        "/login", data={"csrf_token": token, "email": email, "password": LOAD_PASSWORD, "next": ""}
    )
    if answer.status_code not in (302, 303):
        raise SystemExit(f"signing in as {email} answered {answer.status_code}")
    return client


def report_profile(profiler: cProfile.Profile | None, path: str | None, top: int | None) -> None:
    """Write the profile to `path` and print its `top` functions by cumulative time, as asked."""
    if profiler and path:
        profiler.dump_stats(path)
    if profiler and top:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="an already loaded database (default: a new SQLite one)")
    parser.add_argument("--scale", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--requests", type=int, default=30, help="measured requests per page")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--pages", default="", help="only pages whose name contains this text")
    parser.add_argument(
        "--skip", default="save a draft,small export", help="comma-separated names to leave out"
    )
    parser.add_argument("--profile", help="write a cProfile of the measured requests to this file")
    parser.add_argument("--top", type=int, default=0, help="print the N costliest functions (cumulative)")
    parser.add_argument("--gzip", action="store_true", help="send Accept-Encoding: gzip")
    parser.add_argument("--save-html", help="write each page's last answer into this folder (to compare)")
    parser.add_argument(
        "--path", action="append", default=[], help="ROLE:PATH, a URL outside bench/pages.py (repeatable)"
    )
    args = parser.parse_args()

    tmp = None
    url = args.database_url
    if not url:
        tmp = tempfile.TemporaryDirectory()
        url = f"sqlite:///{tmp.name}/profile.sqlite"
        started = time.perf_counter()
        load(url, args.scale, args.seed)
        print(
            f"loaded scale {args.scale:g} into SQLite in {time.perf_counter() - started:.0f} s",
            file=sys.stderr,
        )

    from plan import build_plan, revoke_bench_tokens

    app = make_app(url)
    plan = build_plan(app, users=1, seed=args.seed)
    clients = {role: sign_in(app, email) for role, email in plan["slots"][0].items() if email}
    clients["anonymous"] = clients["api"] = app.test_client()
    gzip = {"Accept-Encoding": "gzip"} if args.gzip else {}
    skip = [s for s in args.skip.split(",") if s]
    profiler = cProfile.Profile() if args.profile or args.top else None
    extra = [
        {"name": f"{path}: {role}", "role": role, "urls": [path], "api": False}
        for role, path in (item.split(":", 1) for item in args.path)
    ]
    print(f"{'page (signed in as)':<45} {'status':>6} {'KB':>6} {'CPU ms/req':>10} {'wall ms/req':>11}")
    for page in plan["pages"] + extra:
        if args.pages not in page["name"] or any(s in page["name"] for s in skip):
            continue
        client, url_, headers = clients[page["role"]], page["urls"][0], gzip
        if page["api"]:  # the token of the role's account, no session (as bench/locustfile.py)
            token = plan["tokens"][plan["slots"][0][page["role"]]]
            client, headers = clients["api"], {**gzip, "Authorization": f"Bearer {token}"}
        for _ in range(args.warmup):
            answer = client.get(url_, headers=headers)
        if profiler:
            profiler.enable()
        started, wall = time.process_time(), time.perf_counter()
        for _ in range(args.requests):
            answer = client.get(url_, headers=headers)
        spent = (time.process_time() - started) / args.requests * 1000
        waited = (time.perf_counter() - wall) / args.requests * 1000
        if profiler:
            profiler.disable()
        size = len(answer.get_data()) / 1024
        if args.save_html:
            folder = Path(args.save_html)
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{re.sub(r'[^a-z0-9]+', '-', page['name'])}.html").write_bytes(answer.get_data())
        print(
            f"{page['name']:<45} {answer.status_code:>6} {size:>6.1f} {spent:>10.1f} {waited:>11.1f}",
            flush=True,
        )
    report_profile(profiler, args.profile, args.top)
    revoke_bench_tokens(app, list(plan["tokens"]))
    if tmp:
        tmp.cleanup()


if __name__ == "__main__":
    main()
