"""Test fixtures: a real database (SQLite or PostgreSQL), the app, clients and factories.

The suite runs against the database named by TEST_DATABASE_URL (SQLite by default). For
PostgreSQL a throw-away database is created for the run and dropped at the end; tables are
emptied between tests. On SQLite each test gets a new copy of a migrated file. The schema is
always built by the Alembic migrations, as in production. The `app` fixture is one app per worker,
built once: after each test its settings are put back and its database emptied.

The suite runs in parallel (pytest-xdist, `-n`): every worker is a session of its own, with its
own database (`mel_test_<run>_<worker>` on PostgreSQL, files in the worker's own temporary
folder on SQLite); servers started by tests listen on ports the system chooses (port 0).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from itsdangerous import URLSafeTimedSerializer

from config import TestingConfig
from mel_app import create_app
from mel_app.auth import throttle
from mel_app.extensions import db
from tests import snapshots
from tests.factories import Factory

IN_CI = os.environ.get("CI", "").lower() == "true"
BASE_URL = os.environ.get("TEST_DATABASE_URL", "sqlite")
# Where a failing browser test leaves a screenshot and the HTML of its pages (tests/e2e/conftest.py).
E2E_ARTIFACTS = Path(os.environ.get("E2E_ARTIFACTS", "test-artifacts/e2e")).resolve()


# Names this run's PostgreSQL databases, shared by the workers of one run (see pytest_configure).
RUN_ID = pytest.StashKey[str]()


def is_postgres() -> bool:
    return BASE_URL.startswith("postgresql")


def pytest_configure(config):
    workerinput = getattr(config, "workerinput", None)
    config.stash[RUN_ID] = workerinput["mel_run_id"] if workerinput else uuid.uuid4().hex[:10]


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    """pytest-xdist: hand the run's id to each worker it starts."""
    node.workerinput["mel_run_id"] = node.config.stash[RUN_ID]


def pytest_sessionfinish(session):
    """In the process that started the workers: drop any database a worker could not drop itself.

    Each worker drops its own at its end; one that crashed or was killed leaves it behind.
    """
    if not is_postgres() or not session.config.pluginmanager.has_plugin("dsession"):
        return  # no workers were started: the `database` fixture dropped the only database
    prefix = f"mel_test_{session.config.stash[RUN_ID]}_"
    try:
        engine = sa.create_engine(_admin_url(), isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            names = conn.exec_driver_sql(
                "SELECT datname FROM pg_database WHERE starts_with(datname, %(prefix)s)", {"prefix": prefix}
            ).scalars()
            for name in list(names):
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        engine.dispose()
    except sa.exc.OperationalError:
        pass  # PostgreSQL is unreachable: the run said so already, and created nothing there


def _admin_url() -> str:
    return sa.engine.make_url(BASE_URL).render_as_string(hide_password=False)


def pytest_report_header(config):
    return f"mel_app test database: {'PostgreSQL' if is_postgres() else 'SQLite'} ({BASE_URL.split('@')[-1]})"


def _migrate(url: str) -> None:
    from flask_migrate import upgrade

    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        upgrade()
        db.engine.dispose()


# How many tests empty a PostgreSQL database between two VACUUMs of it (one costs about 0.2 s).
VACUUM_EVERY = 25


class Database:
    """One database for the run; `fresh()` gives each test an empty one."""

    def __init__(self, tmp: Path, name: str):
        self.tmp = tmp
        self.name = name
        self.admin_url: str | None = None
        self.url: str
        self.template: Path | None = None
        self.cleans = 0

    def setup(self) -> None:
        if is_postgres():
            admin = sa.engine.make_url(BASE_URL)
            name = self.name
            self.admin_url = _admin_url()
            engine = sa.create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
            try:
                with engine.connect() as conn:
                    conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
                    # A throw-away database need not wait for its WAL to reach the disk at each
                    # commit (the tests commit thousands of times); nothing else changes.
                    conn.exec_driver_sql(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
            except sa.exc.OperationalError as exc:
                message = f"PostgreSQL is not reachable at {admin.render_as_string()}: {exc.orig}"
                if IN_CI:
                    pytest.exit(message + " — CI=true requires it.", returncode=3)
                pytest.exit("\n\n*** SKIPPING THE POSTGRESQL RUN: " + message + " ***\n", returncode=0)
            finally:
                engine.dispose()
            self.url = admin.set(database=name).render_as_string(hide_password=False)
            _migrate(self.url)
        else:
            self.template = self.tmp / "template.sqlite"
            _migrate(f"sqlite:///{self.template}")

    def fresh(self) -> str:
        if is_postgres():
            return self.url
        path = self.tmp / f"t_{uuid.uuid4().hex[:12]}.sqlite"
        shutil.copyfile(self.template, path)
        return f"sqlite:///{path}"

    def shared_url(self) -> str:
        """The database of the app shared by the tests of this worker (see `_shared_app`)."""
        return self.url if is_postgres() else f"sqlite:///{self.tmp / 'shared.sqlite'}"

    def restore_shared(self) -> None:
        """Give the shared app an empty database: on SQLite a new copy of the migrated one (the
        previous test's was removed by `clean`); on PostgreSQL the tables were emptied then."""
        if not is_postgres():
            shutil.copyfile(self.template, self.tmp / "shared.sqlite")

    def clean(self, engine: sa.Engine, url: str) -> None:
        if is_postgres():
            # DELETE, not TRUNCATE: a test leaves a few rows, and TRUNCATE of every table (new
            # files for each table and index) took most of a second per test, DELETE milliseconds.
            # The sequences restart as TRUNCATE ... RESTART IDENTITY did. One round trip.
            tables = [t.name for t in db.metadata.sorted_tables if t.name != "alembic_version"]
            with engine.begin() as conn:
                # Bypasses the audit trail's append-only triggers (and the foreign keys' order)
                # for test clean-up only, in this transaction only.
                conn.exec_driver_sql(
                    "SET LOCAL session_replication_role = replica;"
                    + "".join(f'DELETE FROM "{t}";' for t in tables)
                    + "SELECT setval(c.oid, 1, false) FROM pg_class c"
                    " WHERE c.relkind = 'S' AND c.relnamespace = current_schema()::regnamespace;"
                )
            self.cleans += 1
            if self.cleans % VACUUM_EVERY == 0:
                # The deleted rows stay in the tables' files until a VACUUM; a server may run
                # without autovacuum (the test machines' do), and then every scan and index
                # lookup of a later test wades through thousands of them.
                with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    conn.exec_driver_sql("VACUUM")
        else:
            # Every pooled connection closed first (the app's and the sign-in throttle's own):
            # the next test's copy of the database must not be read through one of them.
            engine.dispose()
            throttle.dispose_engines(url)
            Path(sa.engine.make_url(url).database).unlink(missing_ok=True)

    def teardown(self) -> None:
        if is_postgres() and self.admin_url:
            engine = sa.create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
            with engine.connect() as conn:
                name = sa.engine.make_url(self.url).database
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            engine.dispose()


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    # Here rather than in tests/e2e/conftest.py: with parallel workers, the process that prints the
    # summary collects no test, so it never loads that folder's conftest.
    if E2E_ARTIFACTS.is_dir() and any(E2E_ARTIFACTS.iterdir()) and exitstatus != 0:
        terminalreporter.write_line(
            f"Browser-test failure evidence (screenshots and HTML of the open pages): {E2E_ARTIFACTS}",
            red=True,
            bold=True,
        )


# SQLite files of the run live in memory where the system offers it: each test copies a database
# and commits often, and on a disk every commit waits for the disk (tens of ms on a busy machine).
MEMORY_FS = Path("/dev/shm")


@pytest.fixture(scope="session")
def database(tmp_path_factory, pytestconfig) -> Iterator[Database]:
    workerinput = getattr(pytestconfig, "workerinput", None)
    worker = workerinput["workerid"] if workerinput else "main"
    name = f"mel_test_{pytestconfig.stash[RUN_ID]}_{worker}"
    in_memory = MEMORY_FS.is_dir() and os.access(MEMORY_FS, os.W_OK)
    folder = (
        Path(tempfile.mkdtemp(prefix=f"{name}_", dir=MEMORY_FS))
        if in_memory
        else tmp_path_factory.mktemp("db")
    )
    database = Database(folder, name)
    database.setup()
    yield database
    database.teardown()
    if in_memory:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def _shared_app(database):
    """The app the `app` fixture hands every test of this worker, built once.

    Building an app costs more than most tests (every URL rule compiled, the API's OpenAPI
    document assembled); what a test may change of it is put back after each test (its settings)
    or starts empty for each (its database)."""
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=database.shared_url())
    yield app
    with app.app_context():
        db.engine.dispose()
    throttle.dispose_engines(database.shared_url())


@pytest.fixture
def app(_shared_app, database):
    app = _shared_app
    settings = dict(app.config)
    database.restore_shared()
    yield app
    with app.app_context():
        db.session.remove()
        database.clean(db.engine, database.shared_url())
    app.config.clear()
    app.config.update(settings)


@contextmanager
def app_of_its_own(database: Database, config=TestingConfig, **overrides) -> Iterator:
    """An app on a database of its own (emptied, its connections closed, when done): for a test
    or module that needs other settings than the shared app's, or adds a route."""
    url = database.fresh()
    app = create_app(config, SQLALCHEMY_DATABASE_URI=url, **overrides)
    try:
        yield app
    finally:
        with app.app_context():
            db.session.remove()
            database.clean(db.engine, url)
            db.engine.dispose()
        throttle.dispose_engines(url)


@pytest.fixture
def own_app(database):
    """An app of the test's own, for a test that adds a route: the shared app has served requests,
    after which Flask refuses new routes."""
    with app_of_its_own(database) as app:
        yield app


@pytest.fixture
def ctx(app):
    """An application context for tests that call services directly."""
    with app.app_context():
        yield
        db.session.remove()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make(app) -> Factory:
    """Build domain objects: make.user(...), make.project(...) — see tests/factories.py."""
    return Factory(app)


def csrf_token(client) -> str:
    """A valid CSRF token for the client's session, as a form would carry it."""
    with client.session_transaction() as sess:
        raw = sess.setdefault("csrf_token", uuid.uuid4().hex)
    secret = client.application.config["SECRET_KEY"]
    return URLSafeTimedSerializer(secret, salt="wtf-csrf-token").dumps(raw)


@pytest.fixture
def demo(app, runner):
    """The demo's data, as `flask seed-demo` loads it: loaded by the command for this worker's
    first test that asks for it, a copy of its rows for the next ones (tests/snapshots.py)."""

    def load() -> None:
        result = runner.invoke(args=["seed-demo"])
        assert result.exit_code == 0, result.output

    snapshots.built_once(app, "demo", load)


@pytest.fixture
def login(client):
    """Sign a user in through the real login form: login(email) or login(user_id_or_email, password)."""
    from tests.factories import PASSWORD

    def _login(email: str, password: str = PASSWORD, *, on=None):
        target = on or client
        resp = target.post(
            "/login", data={"email": email, "password": password, "csrf_token": csrf_token(target)}
        )
        assert resp.status_code == 302, f"login failed for {email}: {resp.status_code}"
        return resp

    return _login


@pytest.fixture
def post(client):
    """POST with a valid CSRF token added."""

    def _post(url: str, data: dict | None = None, *, on=None, **kwargs):
        target = on or client
        return target.post(url, data={**(data or {}), "csrf_token": csrf_token(target)}, **kwargs)

    return _post


@contextmanager
def count_queries(app) -> Iterator[list[str]]:
    """Collect the SQL statements run inside the block."""
    statements: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)


@pytest.fixture
def queries(app):
    return lambda: count_queries(app)
