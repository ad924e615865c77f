"""Back up, restore into a fresh database, and find the same rows, migration head and audit chain."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from config import TestingConfig
from mel_app import create_app
from mel_app.extensions import db
from tests.conftest import BASE_URL, is_postgres

TABLES = ("user", "project", "submission", "indicator_value", "scorecard", "score", "audit_event")


@pytest.fixture
def fresh_url(tmp_path):
    if not is_postgres():
        yield f"sqlite:///{tmp_path / 'restored.sqlite'}"
        return
    admin_url = sa.engine.make_url(BASE_URL)
    name = f"mel_restore_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    yield admin_url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def _snapshot(app) -> dict:
    with app.app_context():
        counts = {t: db.session.scalar(sa.text(f'SELECT count(*) FROM "{t}"')) for t in TABLES}  # noqa: S608
        counts["alembic"] = db.session.scalar(sa.text("SELECT version_num FROM alembic_version"))
        db.session.remove()
        db.engine.dispose()
    return counts


def test_backup_and_restore_round_trip(app, runner, fresh_url, tmp_path):
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    before = _snapshot(app)
    path = tmp_path / "mel.backup"
    result = runner.invoke(args=["backup", str(path)])
    assert result.exit_code == 0, result.output
    assert path.stat().st_size > 0

    restored = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=fresh_url)
    restore = restored.test_cli_runner().invoke(args=["restore", str(path)])
    assert restore.exit_code == 0, restore.output
    assert _snapshot(restored) == before
    verify = restored.test_cli_runner().invoke(args=["audit", "verify"])
    assert verify.exit_code == 0 and "intact" in verify.output
    with restored.app_context():
        db.engine.dispose()


def test_restore_refuses_a_database_that_is_not_empty(app, runner, tmp_path):
    path = tmp_path / "mel.backup"
    assert runner.invoke(args=["backup", str(path)]).exit_code == 0
    result = runner.invoke(args=["restore", str(path)])
    assert result.exit_code != 0
    assert "not empty" in result.output


def test_backup_never_overwrites_a_file(app, runner, tmp_path):
    path = tmp_path / "exists.backup"
    path.write_text("keep me")
    result = runner.invoke(args=["backup", str(path)])
    assert result.exit_code != 0 and path.read_text() == "keep me"
