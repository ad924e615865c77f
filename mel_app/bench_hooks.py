"""Instruments for `make bench`, present only when the app runs with MEL_BENCH=1.

- every response says how many SQL statements it ran (`X-Query-Count`), on any engine: the
  app's, and the one of its own that the throttle writes through (the sign-in throttle and the
  API's per-token rate limit count in the database on a connection outside the request's);
- a bare page renders a fixed template through the whole stack without touching the database,
  the ceiling the benchmark compares every real page with.

Neither exists in a normal run: the route is not even registered.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask, current_app, g, has_request_context, render_template

BARE_PATH = "/_bench/bare"
QUERY_COUNT_HEADER = "X-Query-Count"


def _count_statement(conn, cursor, statement, parameters, context, executemany) -> None:
    if has_request_context() and current_app.config.get("BENCH"):
        g.bench_query_count = g.get("bench_query_count", 0) + 1


def init_bench(app: Flask) -> None:
    # Every engine of the process, those made later included; registered once however many
    # apps are made, and counting only within a request of an app made with the flag.
    if not sa.event.contains(sa.engine.Engine, "before_cursor_execute", _count_statement):
        sa.event.listen(sa.engine.Engine, "before_cursor_execute", _count_statement)

    @app.after_request
    def report_query_count(response):
        response.headers[QUERY_COUNT_HEADER] = str(g.get("bench_query_count", 0))
        return response

    def bare():
        return render_template("bench/bare.html")

    bare.is_public = True
    app.add_url_rule(BARE_PATH, "bench.bare", bare)
