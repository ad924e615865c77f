"""Beside `make bench`: the reminders of the scale-10 portfolio, delivered to a local SMTP sink.

    .venv/bin/python bench/notify_bench.py [--pg-url URL] [--scale 10] [--seed 1] [--no-doc]

Builds (once, then reuses) the portfolio in a PostgreSQL database of its own,
`mel_bench_notify_s<scale>_seed<seed>`, so that the page benchmark's database is left alone. It
runs the daily reminders (`flask notifications-remind`) on the days around the most common due
date, then delivers the outbox with `flask notifications-drain` to an SMTP server on 127.0.0.1
that accepts and counts (aiosmtpd), three times: a quarter, half and all of the messages, to show
that the worker's memory does not grow with their number. Each command runs in a process of its
own; its peak memory is its maximum resident set size (`os.wait4`). The outbox and notifications
are emptied at the end. The table goes into docs/PERFORMANCE.md. Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa
from aiosmtpd.controller import Controller

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import run as page_bench  # noqa: E402 - bench/run.py: the portfolio's database

ROOT = HERE.parent
VENV_BIN = Path(sys.executable).parent
DOC = ROOT / "docs" / "PERFORMANCE.md"
START, END = "<!-- notify-bench:start -->", "<!-- notify-bench:end -->"


class CountingSink:
    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.count += 1
        return "250 Message accepted"


def timed(args: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Run `flask <args>`; seconds, peak RSS in MB, and its output."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [str(VENV_BIN / "flask"), *args], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    output = process.stdout.read().decode()
    _pid, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise SystemExit(f"flask {' '.join(args)} failed:\n{output}")
    return seconds, usage.ru_maxrss / 1024, output.strip()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--scale", type=float, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-doc", action="store_true")
    args = parser.parse_args()
    page_bench.CACHE.mkdir(parents=True, exist_ok=True)
    page_bench.database_name = lambda scale, seed: f"mel_bench_notify_s{scale:g}_seed{seed}".replace(".", "_")
    url, _info = page_bench.ensure_database(args.pg_url, args.scale, args.seed)
    engine = sa.create_engine(url)

    def empty() -> None:
        with engine.begin() as conn:
            conn.exec_driver_sql("DELETE FROM outbox_message; DELETE FROM notification")

    empty()
    with engine.connect() as conn:
        # The latest of the most common due dates that is not past the portfolio's "today".
        due = conn.scalar(
            sa.text(
                "SELECT due_date FROM reporting_period rp JOIN project p ON p.id = rp.project_id"
                " WHERE p.phase <> 'closed' AND due_date <= CURRENT_DATE"
                " GROUP BY due_date ORDER BY count(*) DESC, due_date DESC LIMIT 1"
            )
        )
    # A week of daily runs from the portfolio's most common due date: every report reminder of the
    # week (14 and 3 days before, the day) and every overdue report once (weekly while overdue).
    days = [due + dt.timedelta(days=n) for n in range(7)]
    controller = Controller(sink := CountingSink(), hostname="127.0.0.1", port=page_bench.free_port(2525))
    controller.start()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "MEL_CONFIG": "development",
        "FLASK_APP": "mel_app",
        "NOTIFY_QUEUE": "",
        "PUBLIC_BASE_URL": "https://mel.example.org",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(controller.port),
    }
    try:
        reminders = []
        for day in days:
            seconds, rss, output = timed(["notifications-remind", "--today", day.isoformat()], env)
            reminders.append((day, seconds, rss, output))
            page_bench.log(f"reminders of {day}: {output} in {seconds:.1f} s, peak {rss:.0f} MB")
        with engine.connect() as conn:
            ids = list(conn.scalars(sa.text("SELECT id FROM outbox_message ORDER BY id")))
        total = len(ids)
        if not total:
            raise SystemExit("no reminders were generated: nothing to deliver")
        deliveries = []
        for fraction in (0.25, 0.5, 1.0):
            cutoff = ids[max(int(total * fraction) - 1, 0)]
            with engine.begin() as conn:
                conn.execute(sa.text("UPDATE outbox_message SET status = 'failed'"))
                conn.execute(
                    sa.text(
                        "UPDATE outbox_message SET status = 'queued', attempts = 0, next_attempt_at = now(),"
                        " claimed_by = NULL, claimed_until = NULL, sent_at = NULL WHERE id <= :cutoff"
                    ),
                    {"cutoff": cutoff},
                )
            before = sink.count
            _total_seconds, rss, output = timed(["notifications-drain"], env)
            sent = sink.count - before
            seconds = float(output.rsplit(" in ", 1)[1].split()[0])  # the drain itself, without start-up
            deliveries.append((sent, seconds, rss))
            page_bench.log(
                f"delivered {sent} messages in {seconds:.1f} s ({sent / seconds:.0f}/s), peak {rss:.0f} MB"
            )
    finally:
        controller.stop()
        empty()
        engine.dispose()
    section = report(args, url, reminders, deliveries, total)
    print(section)
    if not args.no_doc:
        write_doc(section)


def report(args, url, reminders, deliveries, total) -> str:
    name = sa.engine.make_url(url).database
    lines = [
        START,
        "## Notifications: reminders of the scale-10 portfolio",
        "",
        f"**What is measured** (`bench/notify_bench.py`): the daily reminders of the scale-{args.scale:g}"
        f" portfolio (database `{name}`, built by `seed-load`) on seven days from its most common due"
        " date, each run by `flask notifications-remind`;"
        " then the outbox delivered by `flask notifications-drain` (batches of 50, one SMTP connection"
        " a batch, each message marked sent in its own transaction) to an SMTP server on 127.0.0.1 that"
        " accepts and counts, for a quarter, half and all of the messages. The reminders' time includes"
        " the process's start-up; the delivery's is the drain itself; peak memory is the process's"
        " maximum resident set size (`os.wait4`), start-up included.",
        "",
        f"**Machine**: {platform.machine()}, {os.cpu_count()} CPUs shared with other work; Python"
        f" {platform.python_version()}. **Date**: {dt.date.today().isoformat()}.",
        "",
        "| reminders of | queued | seconds | peak RSS |",
        "|---|---|---:|---:|",
    ]
    for day, seconds, rss, output in reminders:
        lines.append(f"| {day.isoformat()} | {output} | {seconds:.1f} | {rss:.0f} MB |")
    lines += ["", "| messages delivered | seconds | messages/s | peak RSS |", "|---:|---:|---:|---:|"]
    for sent, seconds, rss in deliveries:
        lines.append(f"| {sent:,} | {seconds:.1f} | {sent / seconds:,.0f} | {rss:.0f} MB |")
    lines += [
        "",
        f"{total:,} messages in all. The worker's memory is flat in the number of messages: it holds"
        " one batch at a time. Throughput is bound by one durable commit a message (marked sent"
        " right after the server's 250, so that a killed worker repeats at most the message in"
        " flight) and the SMTP round trips of each message; more workers deliver in parallel.",
        END,
    ]
    return "\n".join(lines)


def write_doc(section: str) -> None:
    text = DOC.read_text()
    if START in text and END in text:
        before, rest = text.split(START, 1)
        text = before + section + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    DOC.write_text(text)


if __name__ == "__main__":
    main()
