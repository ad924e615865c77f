"""`make bench`: build (once) the scale-10 portfolio on PostgreSQL, serve it with gunicorn as in
production, drive it with fifty signed-in users of every role, print a table and write it into
docs/PERFORMANCE.md.

    .venv/bin/python bench/run.py [--scale 10] [--seed 1] [--users 50] [--measure 6] [--no-doc]

The API lines of bench/pages.py are read with a personal access token per simulated user (see
bench/plan.py); the server runs with the per-token rate limit raised (`API_RATE_LIMIT`, the
app's own setting, `--api-rate-limit`), as fifty scripts each reading as fast as the server
answers would otherwise be refused after 120 requests a minute. The requests are still counted
against it, as in production; only the allowance is larger. The tokens are revoked at the end.

The database `mel_bench_s<scale>_seed<seed>` is kept and reused while it holds a complete load
of that scale and seed (the `seed.load` event that ends every load); otherwise it is rebuilt.
Everything else the run produces (plan, raw results, server and driver logs) goes to
bench/.cache/. Only 127.0.0.1 is ever contacted.

Export measurements: when bench/export_bench.py exists it is run after the page measurements as
`export_bench.py --database-url URL`, with the server still up and these variables set:
DATABASE_URL (the benchmark database, as in the argument), BENCH_BASE_URL,
BENCH_EVALUATOR_EMAIL, BENCH_PASSWORD, BENCH_SCALE, BENCH_SEED. What it prints goes into the
report as it is; a non-zero exit is reported as a failure.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # bench.loadgen, the synthetic portfolio
CACHE = ROOT / "bench" / ".cache"
VENV_BIN = Path(sys.executable).parent
DOC = ROOT / "docs" / "PERFORMANCE.md"
START, END = "<!-- bench:results:start -->", "<!-- bench:results:end -->"
TARGET_P95_MS, TARGET_RATIO, TARGET_QUERIES = 150, 0.40, 20


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def flask(args: list[str], database_url: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database_url, "MEL_CONFIG": "development", "FLASK_APP": "mel_app"}
    return subprocess.run([str(VENV_BIN / "flask"), *args], cwd=ROOT, env=env, capture_output=True, text=True)


# --- the database ---------------------------------------------------------------------------------


def database_name(scale: float, seed: int) -> str:
    return f"mel_bench_s{scale:g}_seed{seed}".replace(".", "_").replace("-", "_")


def ensure_database(admin_url: str, scale: float, seed: int) -> tuple[str, dict[str, Any]]:
    """The URL of a complete benchmark database, and how it came to be."""
    name = database_name(scale, seed)
    url = sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    info_file = CACHE / f"{name}.json"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
    except sa.exc.OperationalError as exc:
        raise SystemExit(f"PostgreSQL is not reachable at {admin_url}: {exc.orig}") from None
    if exists:
        upgraded = flask(["db", "upgrade"], url)  # the schema may have moved on since the build
        if upgraded.returncode == 0 and _complete(url, scale, seed):
            info = json.loads(info_file.read_text()) if info_file.exists() else {}
            log(f"reusing the complete database {name}")
            return url, {**info, "reused": True}
        log(f"{name} is incomplete or out of date: rebuilding it")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    _check(flask(["db", "upgrade"], url), "flask db upgrade")
    log(f"building the scale-{scale:g} portfolio (seed {seed}) in {name}: a few minutes")
    started = time.perf_counter()
    loaded = _check(
        flask(["seed-load", "--scale", f"{scale:g}", "--seed", str(seed)], url), "flask seed-load"
    )
    seconds = time.perf_counter() - started
    print(loaded.stdout, end="")
    info = {
        "built_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "seed_load_seconds": round(seconds, 1),
        "command": f"flask --app mel_app seed-load --scale {scale:g} --seed {seed}",
        "output": loaded.stdout.strip().splitlines(),
    }
    info_file.write_text(json.dumps(info, indent=1))
    return url, {**info, "reused": False}


def _complete(url: str, scale: float, seed: int) -> bool:
    from bench.loadgen import loads_recorded

    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            loads = loads_recorded(conn)
    except sa.exc.DBAPIError:
        return False
    finally:
        engine.dispose()
    return [(m.get("scale"), m.get("seed")) for m in loads] == [(f"{scale:g}", seed)]


def _check(result: subprocess.CompletedProcess, what: str) -> subprocess.CompletedProcess:
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        raise SystemExit(f"{what} failed (exit {result.returncode})")
    return result


# --- the server and the driver --------------------------------------------------------------------


def free_port(preferred: int) -> int:
    with socket.socket() as s:
        if s.connect_ex(("127.0.0.1", preferred)) != 0:
            return preferred
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(url: str, port: int, workers: int, api_rate_limit: int) -> tuple[subprocess.Popen, Path]:
    pidfile = CACHE / "gunicorn.pid"
    pidfile.unlink(missing_ok=True)
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "MEL_CONFIG": "production",
        "SECRET_KEY": secrets.token_hex(32),
        "MEL_BENCH": "1",
        "API_RATE_LIMIT": str(api_rate_limit),  # requests per token per API_RATE_WINDOW_SECONDS
    }
    command = [
        str(VENV_BIN / "gunicorn"),
        "--workers",
        str(workers),
        "--bind",
        f"127.0.0.1:{port}",
        "--pid",
        str(pidfile),
        "--control-socket",  # not the shared default in the home directory
        "bench/.cache/gunicorn.ctl",
        "--pythonpath",
        "bench",
        "wsgi:app",
    ]
    out = open(CACHE / "gunicorn.log", "w")  # noqa: SIM115 - closed with the process
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn stopped at once; see {CACHE / 'gunicorn.log'}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as resp:  # noqa: S310
                if resp.status == 200:
                    return server, pidfile
        except OSError:
            time.sleep(0.3)
    stop_server(server, pidfile)
    raise SystemExit("gunicorn did not answer /healthz within a minute")


def stop_server(server: subprocess.Popen, pidfile: Path) -> None:
    pid = int(pidfile.read_text()) if pidfile.exists() else server.pid
    try:
        os.kill(pid, signal.SIGTERM)
        server.wait(timeout=30)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        server.kill()


def run_driver(port: int, plan_file: Path, results_file: Path, args: argparse.Namespace, pages: int) -> None:
    from bench.loadgen import LOAD_PASSWORD

    bare_phases = 2 + max(0, (pages - 1) // args.bare_every)
    schedule = (pages + bare_phases) * (args.warmup + args.measure) + (
        args.warmup + args.mixed if args.mixed else 0
    )
    limit = int(schedule + 480)  # + sign-ins and waits for slow pages' queues; a hard stop whatever happens
    log(f"driving {args.users} users over {pages} pages: about {schedule / 60:.1f} min after sign-in")
    env = {
        **os.environ,
        "BENCH_PLAN": str(plan_file),
        "BENCH_RESULTS": str(results_file),
        "BENCH_PASSWORD": LOAD_PASSWORD,
        "BENCH_WARMUP_SECONDS": str(args.warmup),
        "BENCH_MEASURE_SECONDS": str(args.measure),
        "BENCH_MIXED_SECONDS": str(args.mixed),
        "BENCH_BARE_EVERY": str(args.bare_every),
    }
    command = [
        str(VENV_BIN / "locust"),
        "-f",
        str(ROOT / "bench" / "locustfile.py"),
        "--headless",
        "--users",
        str(args.users),
        "--spawn-rate",
        str(args.users),
        "--run-time",
        f"{limit}s",
        "--host",
        f"http://127.0.0.1:{port}",
        "--only-summary",
        "--loglevel",
        "WARNING",
    ]
    with open(CACHE / "locust.log", "w") as out:
        subprocess.run(
            command, cwd=ROOT / "bench", env=env, stdout=out, stderr=subprocess.STDOUT, timeout=limit + 60
        )
    if not results_file.exists():
        raise SystemExit(f"the load driver wrote no results; see {CACHE / 'locust.log'}")


def run_export_bench(
    url: str, port: int, plan: dict[str, Any], args: argparse.Namespace
) -> dict[str, Any] | None:
    script = ROOT / "bench" / "export_bench.py"
    if not script.exists():
        return None
    from bench.loadgen import LOAD_PASSWORD

    log("running bench/export_bench.py")
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "BENCH_BASE_URL": f"http://127.0.0.1:{port}",
        "BENCH_EVALUATOR_EMAIL": plan["slots"][0]["evaluator"],
        "BENCH_PASSWORD": LOAD_PASSWORD,
        "BENCH_SCALE": f"{args.scale:g}",
        "BENCH_SEED": str(args.seed),
    }
    started = time.perf_counter()
    try:
        done = subprocess.run(
            [sys.executable, str(script), "--database-url", url],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=args.export_timeout,
        )
        output, code = done.stdout.strip(), done.returncode
        if code:
            output += "\n" + done.stderr.strip()[-2000:]
    except subprocess.TimeoutExpired:
        output, code = f"stopped after {args.export_timeout} s", -1
    return {"output": output, "exit": code, "seconds": round(time.perf_counter() - started, 1)}


# --- the report -----------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = next(
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        )
        memory = f"{mem_kb / 1024 / 1024:.0f} GiB"
    except (OSError, StopIteration):
        memory = "?"
    return {
        "cpu": f"{cpu}, {os.cpu_count()} cores",
        "memory": memory,
        "os": platform.platform(),
        "python": platform.python_version(),
    }


def _bare(rows: list[dict]) -> dict[str, Any]:
    bare = [r for r in rows if r["page"] == "bare page" and not r["mixed"]]
    if not bare:
        raise SystemExit("no measurement of the bare page: see bench/.cache/locust.log")
    rps = [r["rps"] for r in bare]
    return {
        "rps": sum(rps) / len(rps),
        "rps_min": min(rps),
        "rps_max": max(rps),
        "median_ms": sum(r["median_ms"] for r in bare) / len(bare),
        "p95_ms": sum(r["p95_ms"] for r in bare) / len(bare),
        "queries": max((r["queries"] or 0) for r in bare),
        "errors": sum(r["errors"] for r in bare),
        "phases": len(bare),
    }


def _queries(row: dict[str, Any]) -> str:
    if row["queries"] is None:
        return "?"
    extra = f" (max {row['queries_max']})" if row["queries_max"] != row["queries"] else ""
    return f"{row['queries']:g}{extra}"


def _errors(row: dict[str, Any]) -> str:
    return str(row["errors"]) + (f" ({', '.join(map(str, row['error_statuses']))})" if row["errors"] else "")


def _pages(n: int) -> str:
    return f"{n} page" if n == 1 else f"{n} pages"


def _misses(checks: list[tuple[bool, str]]) -> str:
    missed = [name for ok, name in checks if not ok]
    return "meets" if not missed else "misses " + ", ".join(missed)


def capacity_table(rows: list[dict[str, Any]], bare: dict[str, Any]) -> tuple[list[str], int]:
    """Each page alone, 50 users in a closed loop: throughput against the bare page, SQL, errors."""
    lines = [
        "| page (signed in as) | req/s | median ms | p95 ms | SQL/req | req/s vs bare | errors | targets |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
        f"| **bare page** (fixed template, no database; mean of {bare['phases']} phases, "
        f"{bare['rps_min']:.0f}–{bare['rps_max']:.0f} req/s) | {bare['rps']:.0f} | {bare['median_ms']:.0f} | "
        f"{bare['p95_ms']:.0f} | {bare['queries']:g} | 100% | {bare['errors']} | |",
    ]
    missed = 0
    for row in rows:
        if row["mixed"] or row["page"] == "bare page":
            continue
        # A form's POST shares its phase with a GET of the form: its req/s is not comparable.
        is_post = any(r["page"] == row["page"] + " (form page)" for r in rows)
        result = _misses(
            [
                (is_post or row["rps"] >= TARGET_RATIO * bare["rps"], "req/s"),
                ((row["queries_max"] or 0) <= TARGET_QUERIES, "SQL"),
                (not row["errors"], "errors"),
            ]
        )
        missed += result != "meets"
        name = row["page"] + (" — POST, after a GET of the form" if is_post else "")
        lines.append(
            f"| {name} | {row['rps']:.0f} | {row['median_ms']:.0f} | {row['p95_ms']:.0f} | {_queries(row)} | "
            f"{row['rps'] / bare['rps']:.0%} | {_errors(row)} | {result} |"
        )
    return lines, missed


def latency_table(rows: list[dict[str, Any]], seconds: float) -> tuple[list[str], int]:
    """The realistic mix: every page, people pausing between clicks; what they wait for each page."""
    mixed = [r for r in rows if r["mixed"]]
    if not mixed:
        return [], 0
    total = sum(r["requests"] for r in mixed)
    lines = [
        "| page (signed in as) | requests | median ms | p95 ms | SQL/req | errors | targets |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    missed = 0
    for row in sorted(mixed, key=lambda r: -r["p95_ms"]):
        result = _misses([(row["p95_ms"] < TARGET_P95_MS, "p95"), (not row["errors"], "errors")])
        missed += result != "meets"
        lines.append(
            f"| {row['page']} | {row['requests']} | {row['median_ms']:.0f} | {row['p95_ms']:.0f} | "
            f"{_queries(row)} | {_errors(row)} | {result} |"
        )
    lines.append(
        f"| **all** ({total / seconds:.0f} req/s) | {total} | | | | {sum(r['errors'] for r in mixed)} | |"
    )
    return lines, missed


def _load(start: tuple[float, ...], end: tuple[float, ...]) -> str:
    return (
        f"- **Load:** load average {start[0]:.1f} (1 min) and {start[1]:.1f} (5 min) at the start of "
        f"the run, {end[0]:.1f} and {end[1]:.1f} at its end (on {os.cpu_count()} cores; other work on "
        "the machine slows every figure, the bare page's too: compare ratios within one run)"
    )


def report(results, plan, db_info, exports, args, started_at, elapsed, loads=None) -> str:
    rows = results["rows"]
    bare = _bare(rows)
    capacity, capacity_missed = capacity_table(rows, bare)
    latency, latency_missed = latency_table(rows, results["mixed_s"])
    m = machine()
    engine = sa.create_engine(db_info["url"])
    with engine.connect() as conn:
        pg_version = conn.scalar(sa.text("SHOW server_version"))
    engine.dispose()
    if db_info.get("reused"):
        built = f"reused the database built on {db_info.get('built_at', '?')}" + (
            f" (`seed-load` took {db_info['seed_load_seconds']:.0f} s then)"
            if "seed_load_seconds" in db_info
            else ""
        )
    else:
        built = (
            f"built in this run: `seed-load --scale {args.scale:g}` took {db_info['seed_load_seconds']:.0f} s"
        )
    think = "–".join(f"{t:g}" for t in results.get("think_s", []))
    out = [
        START,
        f"## Latest results — {started_at:%Y-%m-%d %H:%M} UTC",
        "",
        f"- **Command:** `make bench` (`bench/run.py --scale {args.scale:g} --seed {args.seed} "
        f"--users {args.users} --measure {args.measure:g} --warmup {args.warmup:g} --mixed {args.mixed:g}"
        + (f" --only {args.only}" if args.only else "")
        + "`), "
        f"{elapsed / 60:.1f} min in all",
        *([_load(*loads)] if loads else []),
        f"- **Machine:** {m['cpu']}, {m['memory']} RAM; {m['os']}; Python {m['python']}; "
        f"PostgreSQL {pg_version} on 127.0.0.1 (same machine, shared with the load driver)",
        f"- **Server:** gunicorn, {args.workers} sync workers, production settings (`bench/wsgi.py`), "
        "no reverse proxy; the app's own gzip (`COMPRESS_RESPONSES`, on) for a client that asks for it",
        f"- **Data:** scale {args.scale:g}, seed {args.seed}: {built}",
        f"- **Users:** {results['users']} simulated users, each signed in once per role (distinct accounts: "
        + ", ".join(f"{k} {v}" for k, v in plan["distinct_accounts"].items())
        + ")",
        *(
            [
                f"- **API:** the API lines read with each user's own personal access token (scope read; "
                f"{len(plan['tokens'])} tokens), `Authorization: Bearer`, no session; the per-token rate "
                f"limit raised to {args.api_rate_limit:,} requests a minute for the run (`API_RATE_LIMIT`; "
                "default 120), every request still counted against it in the database"
            ]
            if plan.get("tokens")
            else []
        ),
        "",
        f"### Capacity: each page alone, {results['users']} users in a closed loop",
        "",
        f"Every user requests the page again as soon as it arrives ({results['measure_s']:g} s per page "
        f"after {results['warmup_s']:g} s of warm-up, measured once every request of the page before "
        "has been answered), with the bare page measured the same way between the pages. "
        "Latency here is mostly queueing: with 50 requests always in flight on 2 workers it is about "
        "50 ÷ req/s. Targets: ≥ 40% of the bare page's req/s, ≤ 20 SQL statements, no error. "
        f"**{_pages(len(capacity) - 3 - capacity_missed)} meet them, {capacity_missed} do not.**",
        "",
        *capacity,
        "",
    ]
    waits = results.get("waits") or []
    if waits:
        out += [
            "Waited before measuring, for the requests of the page before (a slow page leaves up to "
            f"{results['users']} of them queued): "
            + "; ".join(
                f"{w['page']} {w['seconds']:g} s"
                + ("" if w["drained"] else " (still queued: measured anyway)")
                for w in waits
            )
            + ".",
            "",
        ]
    if latency:
        out += [
            f"### Latency: a realistic mix of all the pages, {results['users']} users pausing {think} s "
            "between clicks",
            "",
            f"{results['mixed_s']:g} s, pages drawn by weight (reporters and specialists most). "
            f"Target: p95 under {TARGET_P95_MS} ms, no error. "
            f"**{_pages(len(latency) - 3 - latency_missed)} meet it, {latency_missed} do not.**",
            "",
            *latency,
            "",
        ]
    if results["skipped"] or plan["skipped"]:
        out.append("Not measured in this run (pages not on this branch yet, or without the expected form):")
        out.append("")
        out += [f"- {s['name']}: {s['reason']}" for s in plan["skipped"]]
        out += [f"- {name}: {reason}" for name, reason in results["skipped"].items()]
        out.append("")
    if results.get("login_failures"):
        out += [f"**{results['login_failures']} sign-ins failed** (see bench/.cache/gunicorn.log).", ""]
    out.append("### Exports")
    out.append("")
    if exports is None and args.only:
        out.append("Not run (`--only`).")
    elif exports is None:
        out.append("bench/export_bench.py is not on this branch yet: no export measurements in this run.")
    else:
        status = "" if exports["exit"] == 0 else f" — **FAILED (exit {exports['exit']})**"
        out += [
            f"`bench/export_bench.py`, {exports['seconds']:.0f} s{status}:",
            "",
            "```",
            exports["output"],
            "```",
        ]
    out += ["", END]
    return "\n".join(out)


def write_doc(section: str) -> None:
    text = DOC.read_text() if DOC.exists() else "# Performance\n"
    if START in text and END in text:
        before, rest = text.split(START, 1)
        after = rest.split(END, 1)[1]
        text = before + section + after
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    DOC.write_text(text)


# --- main ---------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=5099)
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--measure", type=float, default=6)
    parser.add_argument("--mixed", type=float, default=45)
    parser.add_argument("--bare-every", type=int, default=6)
    parser.add_argument("--export-timeout", type=int, default=180)
    parser.add_argument(
        "--api-rate-limit",
        type=int,
        default=1_000_000,
        help="the server's API_RATE_LIMIT for the run (requests per token a minute; app default 120)",
    )
    parser.add_argument(
        "--pg-url", default=os.environ.get("PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    )
    parser.add_argument(
        "--no-doc", action="store_true", help="print the table only; leave docs/PERFORMANCE.md alone"
    )
    parser.add_argument(
        "--only",
        default="",
        help="measure alone only the pages whose name contains one of these comma-separated words "
        "(e.g. API); the realistic mix keeps every page, the exports are left out, and the tables "
        "are printed only (docs/PERFORMANCE.md is written by full runs)",
    )
    args = parser.parse_args()
    if args.only:
        args.no_doc = True
    if sa.engine.make_url(args.pg_url).host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("The benchmark only runs against a database on 127.0.0.1.")

    started, started_at = time.perf_counter(), dt.datetime.now(dt.UTC)
    load_at_start = os.getloadavg()
    CACHE.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(ROOT / "bench"))
    url, db_info = ensure_database(args.pg_url, args.scale, args.seed)
    db_info["url"] = url

    from plan import build_plan, revoke_bench_tokens

    from mel_app import create_app
    from mel_app.config import DevelopmentConfig

    app = create_app(DevelopmentConfig, SQLALCHEMY_DATABASE_URI=url, BENCH=True)
    plan = build_plan(app, users=args.users, seed=args.seed)
    words = [w.strip().lower() for w in args.only.split(",") if w.strip()]
    for page in plan["pages"]:
        page["alone"] = not words or any(w in page["name"].lower() for w in words)
    alone = sum(page["alone"] for page in plan["pages"])
    if not alone:
        raise SystemExit(f"--only {args.only!r} names no page of bench/pages.py")
    with app.app_context():
        from mel_app.extensions import db

        db.engine.dispose()
    plan_file, results_file = CACHE / "plan.json", CACHE / "results.json"
    plan_file.write_text(json.dumps(plan))
    results_file.unlink(missing_ok=True)

    port = free_port(args.port)
    log(f"starting gunicorn ({args.workers} workers) on 127.0.0.1:{port}")
    server, pidfile = start_server(url, port, args.workers, args.api_rate_limit)
    try:
        run_driver(port, plan_file, results_file, args, alone)
        exports = None if args.only else run_export_bench(url, port, plan, args)
    finally:
        stop_server(server, pidfile)
        if plan["tokens"]:
            revoked = revoke_bench_tokens(app, list(plan["tokens"]))
            with app.app_context():
                db.engine.dispose()
            log(f"revoked the run's {revoked} access tokens")
    results = json.loads(results_file.read_text())
    section = report(
        results,
        plan,
        db_info,
        exports,
        args,
        started_at,
        time.perf_counter() - started,
        loads=(load_at_start, os.getloadavg()),
    )
    print("\n" + section.replace(START, "").replace(END, "").strip() + "\n")
    if not args.no_doc:
        write_doc(section)
        log(f"results written to {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
