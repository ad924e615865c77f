"""Migrations are the only way the schema changes: they run both ways and match the models."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from config import TestingConfig
from mel_app import create_app
from mel_app.extensions import db
from tests.conftest import BASE_URL, is_postgres


@pytest.fixture
def empty_database_url(tmp_path):
    if not is_postgres():
        yield f"sqlite:///{tmp_path / 'empty.sqlite'}"
        return
    admin_url = sa.engine.make_url(BASE_URL)
    name = f"mel_mig_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    yield admin_url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def _include(obj, name, type_, reflected, compare_to):
    return not (type_ == "table" and name == "alembic_version")


def test_upgrade_downgrade_upgrade_and_no_drift(empty_database_url):
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=empty_database_url)
    with app.app_context():
        upgrade()
        downgrade(revision="base")
        tables = sa.inspect(db.engine).get_table_names()
        assert set(tables) <= {"alembic_version"}, f"downgrade left tables behind: {tables}"
        upgrade()
        with db.engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "include_object": _include, "render_as_batch": True}
            )
            diff = compare_metadata(context, db.metadata)
        assert diff == [], f"models and migrations drift apart: {diff}"
        db.engine.dispose()


def test_migrations_create_the_audit_triggers(empty_database_url):
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=empty_database_url)
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                names = set(
                    conn.scalars(
                        sa.text(
                            "SELECT tgname FROM pg_trigger"
                            " WHERE tgrelid = 'audit_event'::regclass AND NOT tgisinternal"
                        )
                    )
                )
                assert names == {"audit_event_append_only", "audit_event_no_truncate"}
            else:
                names = set(
                    conn.scalars(
                        sa.text(
                            "SELECT name FROM sqlite_master"
                            " WHERE type = 'trigger' AND tbl_name = 'audit_event'"
                        )
                    )
                )
                assert names == {"audit_event_no_update", "audit_event_no_delete"}
        db.engine.dispose()


def test_existing_indicators_get_the_aggregation_of_their_measure(empty_database_url):
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=empty_database_url)
    with app.app_context():
        upgrade(revision="d45d992b5d44")  # before indicators had an aggregation method
        now = "2026-01-01 00:00:00"
        with db.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO project (id, reference, title, summary, donor, funding_modality, phase,"
                    " framework_approved, created_at, updated_at) VALUES (1, 'RAF/22/11/NOR', 'P', '', '',"
                    " 'XBDC', 'implementation', false, :now, :now)"
                ),
                {"now": now},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO result (id, project_id, type, code, title, description, position,"
                    " is_archived, created_at, updated_at) VALUES (1, 1, 'outcome', '1', 'R', '', 0, false,"
                    " :now, :now)"
                ),
                {"now": now},
            )
            for number, measure in enumerate(("number", "percentage", "yes_no", "qualitative"), start=1):
                conn.execute(
                    sa.text(
                        "INSERT INTO indicator (id, result_id, project_id, code, title, description, measure,"
                        " unit, ascending, baseline_comment, target_comment, disaggregate_by_sex,"
                        " means_of_verification, position, is_archived, created_at, updated_at)"
                        " VALUES (:id, 1, 1, :code, 'I', '', :measure, '', true, '', '', false, '', 0, false,"
                        " :now, :now)"
                    ),
                    {"id": number, "code": f"1.{number}", "measure": measure, "now": now},
                )
        upgrade()
        with db.engine.connect() as conn:
            methods = dict(conn.execute(sa.text("SELECT measure, aggregation FROM indicator")).all())
        assert methods == {
            "number": "sum",
            "percentage": "mean",
            "yes_no": "all_yes",
            "qualitative": "listed",
        }
        db.engine.dispose()
