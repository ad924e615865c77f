"""The benchmark's instruments exist only when the app runs with the bench flag."""

from __future__ import annotations

from config import TestingConfig
from mel_app import create_app
from mel_app.bench_hooks import BARE_PATH, QUERY_COUNT_HEADER


def test_without_the_flag_there_is_no_bare_page_and_no_query_header(app, client):
    assert "bench.bare" not in app.view_functions
    assert all(rule.rule != BARE_PATH for rule in app.url_map.iter_rules())
    assert QUERY_COUNT_HEADER not in client.get("/login").headers


def test_with_the_flag_the_bare_page_touches_no_database_and_pages_count_their_queries(app, make, login):
    bench = create_app(
        TestingConfig, SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"], BENCH=True
    )
    client = bench.test_client()
    bare = client.get(BARE_PATH)
    assert bare.status_code == 200 and bare.headers[QUERY_COUNT_HEADER] == "0"
    assert "<h1>Bare page</h1>" in bare.get_data(as_text=True)
    make.user("counted@example.org")
    login("counted@example.org", on=client)
    home = client.get("/")
    assert home.status_code == 200 and int(home.headers[QUERY_COUNT_HEADER]) >= 2
    with bench.app_context():
        from mel_app.extensions import db

        db.session.remove()
        db.engine.dispose()


def test_statements_on_an_engine_of_its_own_count_too_and_only_for_the_bench_app(app):
    """The throttle (sign-in, the API's rate limit) writes through an engine of its own on
    PostgreSQL: its statements are part of the request's count."""
    import sqlalchemy as sa
    from flask import g

    bench = create_app(
        TestingConfig, SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"], BENCH=True
    )
    other = sa.create_engine("sqlite://", poolclass=sa.pool.NullPool)
    with bench.test_request_context(), other.connect() as conn:
        conn.execute(sa.text("SELECT 1"))
        conn.execute(sa.text("SELECT 2"))
        assert g.bench_query_count == 2
    with app.test_request_context(), other.connect() as conn:
        conn.execute(sa.text("SELECT 1"))
        assert "bench_query_count" not in g
    other.dispose()
    with bench.app_context():
        from mel_app.extensions import db

        db.engine.dispose()
