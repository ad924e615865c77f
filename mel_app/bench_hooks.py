"""Instruments for `make bench`, present only when the app runs with MEL_BENCH=1.

- every response says how many SQL statements it ran (`X-Query-Count`);
- a bare page renders a fixed template through the whole stack without touching the database,
  the ceiling the benchmark compares every real page with.

Neither exists in a normal run: the route is not even registered.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask, g, has_request_context, render_template

from mel_app.extensions import db

BARE_PATH = "/_bench/bare"
QUERY_COUNT_HEADER = "X-Query-Count"


def init_bench(app: Flask) -> None:
    with app.app_context():
        engine = db.engine

    @sa.event.listens_for(engine, "before_cursor_execute")
    def count_statement(conn, cursor, statement, parameters, context, executemany):
        if has_request_context():
            g.bench_query_count = g.get("bench_query_count", 0) + 1

    @app.after_request
    def report_query_count(response):
        response.headers[QUERY_COUNT_HEADER] = str(g.get("bench_query_count", 0))
        return response

    def bare():
        return render_template("bench/bare.html")

    bare.is_public = True
    app.add_url_rule(BARE_PATH, "bench.bare", bare)
