"""Benchmark of the exports against PostgreSQL's own COPY, on a large dataset.

    .venv/bin/python bench/export_bench.py [--rows 1000000] [--database-url URL] [--repeat 1]
                                           [--formats csv,xlsx] [--json results.json] [--keep]

Without --database-url, a throw-away database is created on the local PostgreSQL server
(postgresql+psycopg://postgres@127.0.0.1:5432), migrated, filled with --rows approved indicator
values by bulk COPY, and dropped at the end (unless --keep). With --database-url, the database is used
as it is (it must hold data already; nothing is written to it).

Each export runs in a process of its own, interleaved with the others, so that:
- the throughput is indicator-value rows per second of the whole export (every table of it is written;
  the indicator values are nearly all of it), measured inside the process around the export only;
- the peak memory is the maximum resident set size of that process (os.wait4's rusage), startup
  included.
The reference is `COPY (SELECT …) TO STDOUT (FORMAT csv)` through psycopg of the same SELECT as the
Indicator values table. The XLSX export's yardstick is "raw-xlsx" (add it to --formats): the same rows
of the same SELECTs written by XlsxWriter in constant-memory mode with `write_row` and nothing else.
Targets: CSV throughput ≥ 50% of COPY's; XLSX export time ≤ 1.2 × raw-xlsx's (when measured);
peak memory < 150 MB.
Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
THROUGHPUT_TARGET = 0.5  # CSV rows/s ÷ COPY rows/s
XLSX_TARGET = 1.2  # XLSX export seconds ÷ raw XlsxWriter seconds
MEMORY_TARGET_MB = 150

# Shape of the generated dataset: rows = projects × periods × organisations × indicators.
PROJECTS = 20
ORGANISATIONS = 100
RESULTS_PER_PROJECT = 4
INDICATORS_PER_RESULT = 5


# --- dataset ------------------------------------------------------------------------------------


def libpq_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def create_database(server_url: str) -> str:
    import sqlalchemy as sa

    name = f"mel_bench_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine.dispose()
    return sa.engine.make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_database(server_url: str, url: str) -> None:
    import sqlalchemy as sa

    name = sa.engine.make_url(url).database
    engine = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    engine.dispose()


def migrate(url: str) -> None:
    from flask_migrate import upgrade

    from config import DevelopmentConfig
    from mel_app import create_app
    from mel_app.extensions import db

    app = create_app(DevelopmentConfig, SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        upgrade()
        db.engine.dispose()


def generate_dataset(url: str, rows: int) -> dict[str, int]:
    """Fill an empty, migrated database with `rows` approved indicator values (bulk COPY)."""
    import psycopg

    indicators = RESULTS_PER_PROJECT * INDICATORS_PER_RESULT
    periods = max(1, -(-rows // (PROJECTS * ORGANISATIONS * indicators)))
    now = datetime.now(UTC)
    groups = ["workers", "employers", "government"]
    countries = ["KE", "GH", "SN", "ZM", "FJ", "BB", "CI", "TG"]
    counts = {"periods": periods, "submissions": 0, "values": 0}
    with psycopg.connect(libpq_url(url)) as conn, conn.cursor() as cur:
        with cur.copy(
            'COPY organisation (id, name, acronym, "group", country, is_fictional, created_at, updated_at)'
            " FROM STDIN"
        ) as cp:
            for o in range(1, ORGANISATIONS + 1):
                cp.write_row(
                    (
                        o,
                        f"Bench organisation {o:03d}, «fictional»",
                        f"B{o}",
                        groups[o % 3],
                        countries[o % 8],
                        True,
                        now,
                        now,
                    )
                )
        cur.execute(
            'INSERT INTO "user" (id, email, full_name, organisation_id, is_admin, is_active,'
            " preferred_language, session_token, is_demo, created_at, updated_at)"
            " VALUES (1, 'bench@example.org', 'Bench Specialist', 1, false, true, 'en', 'x', false, %s, %s)",
            (now, now),
        )
        with cur.copy(
            "COPY project (id, reference, title, summary, donor, funding_modality, start_date, end_date,"
            " phase, framework_approved, framework_approved_at, created_at, updated_at) FROM STDIN"
        ) as cp:
            for p in range(1, PROJECTS + 1):
                cp.write_row(
                    (
                        p,
                        f"RAF/24/{p:02d}/BEN",
                        f"Bench project {p}",
                        "Generated for the export benchmark",
                        "Bench donor",
                        "XBDC",
                        date(2010, 1, 1),
                        date(2040, 12, 31),
                        "implementation",
                        True,
                        now,
                        now,
                        now,
                    )
                )
        with cur.copy("COPY project_country (project_id, country) FROM STDIN") as cp:
            for p in range(1, PROJECTS + 1):
                cp.write_row((p, countries[p % 8]))
        with cur.copy("COPY partner (project_id, organisation_id, created_at, updated_at) FROM STDIN") as cp:
            for p in range(1, PROJECTS + 1):
                for o in range(1, ORGANISATIONS + 1):
                    cp.write_row((p, o, now, now))
        result_id = indicator_id = 0
        indicator_ids: dict[int, list[int]] = {}
        with cur.copy(
            "COPY result (id, project_id, type, code, title, description, position, is_archived, created_at,"
            " updated_at) FROM STDIN"
        ) as cp:
            for p in range(1, PROJECTS + 1):
                for r in range(RESULTS_PER_PROJECT):
                    result_id += 1
                    cp.write_row(
                        (
                            result_id,
                            p,
                            "outcome" if r == 0 else "output",
                            str(r + 1),
                            f"Result {r + 1}",
                            "",
                            r,
                            False,
                            now,
                            now,
                        )
                    )
        with cur.copy(
            "COPY indicator (id, result_id, project_id, code, title, description, measure, unit, ascending,"
            " baseline_value, baseline_date, baseline_comment, target_value, target_date, target_comment,"
            " disaggregate_by_sex, means_of_verification, position, is_archived, created_at, updated_at,"
            " aggregation) FROM STDIN"
        ) as cp:
            result_id = 0
            for p in range(1, PROJECTS + 1):
                for r in range(RESULTS_PER_PROJECT):
                    result_id += 1
                    for i in range(INDICATORS_PER_RESULT):
                        indicator_id += 1
                        indicator_ids.setdefault(p, []).append(indicator_id)
                        cp.write_row(
                            (
                                indicator_id,
                                result_id,
                                p,
                                f"{r + 1}.{chr(97 + i)}",
                                f"Indicator {r + 1}.{i}",
                                "",
                                "number",
                                "people",
                                True,
                                0,
                                date(2010, 1, 1),
                                "",
                                1000,
                                date(2040, 12, 31),
                                "",
                                True,
                                "Registers",
                                i,
                                False,
                                now,
                                now,
                                "sum",
                            )
                        )
        period_ids: dict[int, list[tuple[int, date]]] = {}
        with cur.copy(
            "COPY reporting_period (id, project_id, label, start_date, end_date, due_date, created_at,"
            " updated_at) FROM STDIN"
        ) as cp:
            period_id = 0
            for p in range(1, PROJECTS + 1):
                for k in range(periods):
                    period_id += 1
                    year, half = 2010 + k // 2, k % 2
                    start = date(year, 1 + 6 * half, 1)
                    end = date(year, 6, 30) if half == 0 else date(year, 12, 31)
                    period_ids.setdefault(p, []).append((period_id, end))
                    cp.write_row(
                        (
                            period_id,
                            p,
                            f"{year} H{half + 1}",
                            start,
                            end,
                            date(year + 1, 1, 31) if half else date(year, 7, 31),
                            now,
                            now,
                        )
                    )
        narrative = json.dumps(
            {
                "achievements": "Campaigns reached workers, in three cities.",
                "challenges": 'Delays; "some" employers refused access.',
            }
        )
        submissions: list[tuple[int, int]] = []
        with cur.copy(
            "COPY submission (id, project_id, kind, organisation_id, period_id, author_id, status, version,"
            " narrative, submitted_at, submitted_by_id, approved_at, approved_by_id, last_edited_by_id,"
            " created_at, updated_at) FROM STDIN"
        ) as cp:
            sub_id = 0
            for p in range(1, PROJECTS + 1):
                for period_id, _end in period_ids[p]:
                    for o in range(1, ORGANISATIONS + 1):
                        sub_id += 1
                        submissions.append((sub_id, p))
                        cp.write_row(
                            (
                                sub_id,
                                p,
                                "progress_report",
                                o,
                                period_id,
                                1,
                                "approved",
                                3,
                                narrative,
                                now,
                                1,
                                now,
                                1,
                                1,
                                now,
                                now,
                            )
                        )
        counts["submissions"] = len(submissions)
        written = 0
        with cur.copy(
            "COPY indicator_value (submission_id, indicator_id, value, women, men, text_value, not_reported,"
            " comment, created_at, updated_at) FROM STDIN"
        ) as cp:
            for sub_id, p in submissions:
                for n, ind in enumerate(indicator_ids[p]):
                    if written >= rows:
                        break
                    women = (sub_id * 7 + n) % 500
                    men = (sub_id * 3 + n) % 400
                    comment = "From the register, checked" if n % 4 == 0 else ""
                    cp.write_row((sub_id, ind, women + men, women, men, "", False, comment, now, now))
                    written += 1
        counts["values"] = written
        for table in (
            "organisation",
            "user",
            "project",
            "result",
            "indicator",
            "reporting_period",
            "submission",
        ):
            # Fixed table names of this script, not input.
            sequence = f"pg_get_serial_sequence('\"{table}\"', 'id')"
            cur.execute(f'SELECT setval({sequence}, (SELECT max(id) FROM "{table}"))')  # noqa: S608
        conn.commit()
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return counts


# --- one measured run (in a process of its own) -------------------------------------------------


def _system_context(fmt):
    from mel_app.exports.scope import Reader, Scope
    from mel_app.exports.services import prepare

    return prepare(Scope(), Reader.system(), fmt)


def child(kind: str, url: str, out: str) -> None:
    from config import DevelopmentConfig
    from mel_app import create_app
    from mel_app.extensions import db

    app = create_app(DevelopmentConfig, SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        from flask_babel import force_locale

        from mel_app.exports.services import Format, generate
        from mel_app.exports.tables import TABLES_BY_NAME

        if kind == "copy":
            import psycopg
            from sqlalchemy.dialects import postgresql

            ctx = _system_context(Format.csv)
            stmt = TABLES_BY_NAME["indicator_values"].query(ctx)
            sql = str(stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
            started = time.perf_counter()
            with (
                psycopg.connect(libpq_url(url)) as conn,
                conn.cursor() as cur,
                open(out, "wb") as file,
                cur.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv, HEADER)") as copy,
            ):
                for block in copy:
                    file.write(block)
            seconds = time.perf_counter() - started
        elif kind == "raw-xlsx":
            started = time.perf_counter()
            raw_xlsx(db.engine, out)
            seconds = time.perf_counter() - started
        else:
            fmt = Format(kind)
            ctx = _system_context(fmt)
            started = time.perf_counter()
            with force_locale("en"), open(out, "wb") as file:
                for chunk in generate(db.engine, ctx, fmt):
                    file.write(chunk)
            seconds = time.perf_counter() - started
        db.engine.dispose()
    print(json.dumps({"seconds": seconds, "bytes": os.path.getsize(out)}))


def raw_xlsx(engine, out: str) -> None:
    """The yardstick of the XLSX export: the same rows of the same SELECTs, written by XlsxWriter in
    constant-memory mode with the least work a cell can take (`write_row` of the values as they come;
    the formats created once, the number formats on the columns), in the same read-only snapshot."""
    import xlsxwriter

    from mel_app.exports.services import Format, reading_snapshot
    from mel_app.exports.tables import TABLES, Kind

    ctx = _system_context(Format.xlsx)
    with tempfile.TemporaryDirectory(prefix="mel-bench-raw-") as tmpdir:
        book = xlsxwriter.Workbook(
            out,
            {"constant_memory": True, "tmpdir": tmpdir, "remove_timezone": True, "strings_to_urls": False},
        )
        header = book.add_format({"bold": True})
        formats = {
            Kind.date: book.add_format({"num_format": "yyyy-mm-dd"}),
            Kind.datetime: book.add_format({"num_format": 'yyyy-mm-dd hh:mm:ss "UTC"'}),
            Kind.ratio: book.add_format({"num_format": "0.0%"}),
            Kind.number: book.add_format({"num_format": "0.00"}),
        }
        with reading_snapshot(engine) as conn:
            for number, table in enumerate(TABLES):
                ws = book.add_worksheet(f"t{number}")
                for i, column in enumerate(table.columns):
                    if column.kind in formats:  # the same cells: dates and ratios formatted as such
                        ws.set_column(i, i, None, formats[column.kind])
                ws.write_row(0, 0, [c.key for c in table.columns], header)
                row = 0
                for batch in table.batches(conn, ctx):
                    for values in batch:
                        row += 1
                        ws.write_row(row, 0, values)
        book.close()


def run_measured(kind: str, url: str, tmpdir: str) -> dict:
    out = os.path.join(tmpdir, f"bench.{kind}")
    proc = subprocess.Popen(  # noqa: S603 - this interpreter running this script
        [sys.executable, __file__, "--child", kind, "--database-url", url, "--out", out],
        stdout=subprocess.PIPE,
        cwd=str(ROOT),
    )
    stdout = proc.stdout.read() if proc.stdout else b""
    _pid, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{kind} export failed (exit {proc.returncode})")
    result = json.loads(stdout.decode().strip().splitlines()[-1])
    result["peak_rss_mb"] = usage.ru_maxrss / 1024  # kilobytes on Linux
    os.unlink(out)
    return result


def count_values(url: str) -> int:
    import sqlalchemy as sa

    from config import DevelopmentConfig
    from mel_app import create_app
    from mel_app.exports.services import Format
    from mel_app.exports.tables import TABLES_BY_NAME
    from mel_app.extensions import db

    app = create_app(DevelopmentConfig, SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        ctx = _system_context(Format.csv)
        with db.engine.connect() as conn:
            n = TABLES_BY_NAME["indicator_values"].count(conn, ctx)
        db.engine.dispose()
    del sa
    return n


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        mem_kb = int(
            next(
                li for li in Path("/proc/meminfo").read_text().splitlines() if li.startswith("MemTotal")
            ).split()[1]
        )
        memory = f", {mem_kb / 1024 / 1024:.1f} GB RAM"
    except (OSError, StopIteration, ValueError):
        memory = ""
    system = f"{platform.system()} {platform.release()}"
    return f"{cpu}, {os.cpu_count()} CPUs{memory}; Python {platform.python_version()}; {system}"


def postgres_version(url: str) -> str:
    import psycopg

    with psycopg.connect(libpq_url(url)) as conn:
        return conn.execute("SHOW server_version").fetchone()[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="indicator values to generate")
    parser.add_argument("--database-url", help="an existing, filled database (else a throw-away one)")
    parser.add_argument("--server-url", default=os.environ.get("BENCH_PG_URL", DEFAULT_SERVER))
    parser.add_argument("--formats", default="csv,xlsx", help="exports to measure besides COPY")
    parser.add_argument("--repeat", type=int, default=1, help="interleaved rounds")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--keep", action="store_true", help="keep the generated database")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        child(args.child, args.database_url, args.out)
        return 0

    created = None
    url = args.database_url
    try:
        if url is None:
            print(f"Creating a throw-away database on {args.server_url.split('@')[-1]} ...", flush=True)
            url = created = create_database(args.server_url)
            migrate(url)
            started = time.perf_counter()
            counts = generate_dataset(url, args.rows)
            print(
                f"Generated {counts['values']:,} indicator values in {counts['submissions']:,}"
                f" approved reports ({time.perf_counter() - started:.1f} s).",
                flush=True,
            )
        rows = count_values(url)
        kinds = ["copy"] + [k for k in args.formats.split(",") if k]
        results: dict[str, list[dict]] = {k: [] for k in kinds}
        with tempfile.TemporaryDirectory(prefix="mel-bench-") as tmpdir:
            for round_ in range(args.repeat):
                for kind in kinds:
                    print(f"round {round_ + 1}: {kind} ...", end=" ", flush=True)
                    result = run_measured(kind, url, tmpdir)
                    results[kind].append(result)
                    print(f"{result['seconds']:.1f} s, {result['peak_rss_mb']:.0f} MB", flush=True)

        def best(kind: str) -> dict:
            return min(results[kind], key=lambda r: r["seconds"])

        copy_rate = rows / best("copy")["seconds"]
        report = {
            "machine": machine(),
            "postgresql": postgres_version(url),
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "rows": rows,
            "exports": {},
        }
        print()
        print(
            f"{'export':<9} {'rows':>11} {'seconds':>8} {'rows/s':>10} {'vs COPY':>8}"
            f" {'peak RSS':>9} {'file':>10}"
        )
        ok = True
        for kind in kinds:
            b = best(kind)
            rate = rows / b["seconds"]
            peak = max(r["peak_rss_mb"] for r in results[kind])
            report["exports"][kind] = {
                "seconds": round(b["seconds"], 2),
                "rows_per_second": round(rate),
                "ratio_to_copy": round(rate / copy_rate, 3),
                "peak_rss_mb": round(peak, 1),
                "bytes": b["bytes"],
            }
            print(
                f"{kind:<9} {rows:>11,} {b['seconds']:>8.1f} {rate:>10,.0f} {rate / copy_rate:>8.2f}"
                f" {peak:>6.0f} MB {b['bytes'] / 1e6:>7.1f} MB"
            )
            if kind != "copy" and peak >= MEMORY_TARGET_MB:
                ok = False
        if "csv" in results:
            ratio = report["exports"]["csv"]["ratio_to_copy"]
            verdict = "met" if ratio >= THROUGHPUT_TARGET else "MISSED"
            print(f"\nCSV export throughput = {ratio:.2f} × COPY's (target ≥ {THROUGHPUT_TARGET}): {verdict}")
            ok = ok and ratio >= THROUGHPUT_TARGET
        if "xlsx" in results and "raw-xlsx" in results:
            ratio = best("xlsx")["seconds"] / best("raw-xlsx")["seconds"]
            report["xlsx_time_to_raw"] = round(ratio, 3)
            verdict = "met" if ratio <= XLSX_TARGET else "MISSED"
            print(f"XLSX export time = {ratio:.2f} × raw XlsxWriter's (target ≤ {XLSX_TARGET}): {verdict}")
            ok = ok and ratio <= XLSX_TARGET
        peaks = ", ".join(f"{k} {report['exports'][k]['peak_rss_mb']:.0f} MB" for k in kinds if k != "copy")
        print(f"Peak memory: {peaks} (target < {MEMORY_TARGET_MB} MB): {'met' if ok else 'see above'}")
        print(f"Machine: {report['machine']}; PostgreSQL {report['postgresql']}")
        if args.json:
            Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
        return 0 if ok else 1
    finally:
        if created and not args.keep:
            drop_database(args.server_url, created)
        elif created:
            print(f"Kept the database: {created}")


if __name__ == "__main__":
    sys.exit(main())
