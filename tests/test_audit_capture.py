"""Nothing escapes the trail: conditional UPDATEs, expired rows, savepoints, notes after a flush."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
import sqlalchemy as sa

from mel_app import audit
from mel_app.extensions import db
from mel_app.models import (
    AuditEvent,
    IndicatorValue,
    Organisation,
    Role,
    Status,
    Submission,
    utcnow,
)
from tests.audit_helpers import event_count, events
from tests.conftest import is_postgres


@pytest.fixture
def report(make):
    """A draft progress report with one indicator value; returns the ids."""
    org = make.organisation("Fictional Union of Kenya")
    author = make.user("rep@example.org", organisation_id=org, full_name="Grace W")
    specialist = make.user("spec@example.org", full_name="Sam Specialist")
    project = make.project("RAF/22/11/NOR")
    make.member(author, project, Role.reporter, organisation_id=org)
    make.member(specialist, project, Role.specialist)
    period = make.period(project)
    indicator = make.indicator(make.result(project))
    sub = make.submission(project, org, author, period_id=period)
    with make.app.app_context():
        db.session.add(IndicatorValue(submission_id=sub, indicator_id=indicator, value=Decimal("3")))
        db.session.commit()
    return {"org": org, "author": author, "specialist": specialist, "project": project, "sub": sub}


def _transition(sub_id: int, expected: Status, new: Status, version: int) -> int:
    """The workflow's way: one conditional UPDATE; returns how many rows it changed."""
    result = db.session.execute(
        sa.update(Submission)
        .where(Submission.id == sub_id, Submission.status == expected, Submission.version == version)
        .values(status=new, version=Submission.version + 1, submitted_at=utcnow())
    )
    return result.rowcount


def test_a_conditional_update_is_captured_and_named_by_a_note_recorded_after_it(app, report):
    with app.app_context():
        assert _transition(report["sub"], Status.draft, Status.submitted, 1) == 1
        audit.record(db.session, "submission.submit", target=db.session.get(Submission, report["sub"]))
        db.session.commit()
        (event,) = events("submission", report["sub"], "submission.submit")
        assert event.before["status"] == "draft" and event.after["status"] == "submitted"
        assert "version" not in event.after, "the edit counter is bookkeeping, not a change to read"
        assert event.project_id == report["project"]
        assert events("submission", report["sub"], "submission.update") == [], "one event, not two"


def test_the_loser_of_a_race_changes_nothing_and_records_nothing(app, report):
    with app.app_context():
        assert _transition(report["sub"], Status.draft, Status.submitted, 1) == 1
        db.session.commit()
        before = event_count()
        assert _transition(report["sub"], Status.draft, Status.submitted, 1) == 0
        db.session.commit()
        assert event_count() == before


def test_a_bulk_update_of_child_rows_knows_their_project(app, report):
    with app.app_context():
        db.session.execute(
            sa.update(IndicatorValue).where(IndicatorValue.submission_id == report["sub"]).values(comment="x")
        )
        db.session.commit()
        (event,) = events("indicator_value", action_prefix="indicator_value.update")
        assert event.after["comment"] == "x" and event.project_id == report["project"]


def test_a_bulk_delete_keeps_the_deleted_rows_last_values(app, report):
    with app.app_context():
        db.session.execute(sa.delete(IndicatorValue).where(IndicatorValue.submission_id == report["sub"]))
        db.session.commit()
        (event,) = events("indicator_value", action_prefix="indicator_value.delete")
        assert event.before["value"] == "3" and event.after is None
        assert event.project_id == report["project"]


def test_changing_an_expired_row_records_its_true_old_value(app, report):
    with app.app_context():
        org = db.session.get(Organisation, report["org"])
        db.session.commit()  # expires everything: the old name is no longer in memory
        org.name = "Renamed Union"
        db.session.commit()
        event = events("organisation", report["org"])[-1]
        assert event.before["name"] == "Fictional Union of Kenya"
        assert event.after["name"] == "Renamed Union"


def test_deleting_an_expired_row_keeps_all_its_values(app, report):
    with app.app_context():
        value = db.session.scalar(sa.select(IndicatorValue))
        db.session.commit()
        db.session.delete(value)
        db.session.commit()
        event = events("indicator_value")[-1]
        assert event.action == "indicator_value.delete"
        assert event.before["value"] == "3" and event.before["submission_id"] == report["sub"]
        assert event.project_id == report["project"]


def test_a_value_computed_by_the_database_is_recorded(app, report):
    with app.app_context():
        org = db.session.get(Organisation, report["org"])
        name = org.name
        org.name = Organisation.name + " Federation"
        db.session.commit()
        event = events("organisation", report["org"])[-1]
        assert event.before["name"] == name and event.after["name"] == f"{name} Federation"


def test_a_rolled_back_savepoint_takes_only_its_own_events(app, report):
    with app.app_context():
        before = event_count()
        org = db.session.get(Organisation, report["org"])
        org.acronym = "KEPT"
        db.session.flush()
        savepoint = db.session.begin_nested()
        db.session.add(Organisation(name="Fictional Union of Kenya", group="workers"))  # duplicate name
        with pytest.raises(sa.exc.IntegrityError):
            db.session.flush()
        savepoint.rollback()
        with db.session.begin_nested():
            audit.record(db.session, "organisation.note_in_savepoint", target=org)
            db.session.add(Organisation(name="Second Union", group="workers"))
        db.session.commit()
        names = [e.action for e in events()[before:]]
        assert names == ["organisation.note_in_savepoint", "organisation.create"]
        assert audit.chain.verify(db.session.connection()).ok


def test_a_rolled_back_transaction_leaves_no_event_even_after_a_bulk_update(app, report):
    with app.app_context():
        before = event_count()
        _transition(report["sub"], Status.draft, Status.submitted, 1)
        db.session.rollback()
        db.session.commit()
        assert event_count() == before


def test_an_insert_statement_into_an_audited_table_is_refused(app):
    with app.app_context(), pytest.raises(audit.AuditCaptureError, match="session instead"):
        db.session.execute(sa.insert(Organisation).values(name="Sneaky", group="workers"))


def test_statements_on_tables_outside_the_trail_run_untouched(app, report):
    from mel_app.models import UserSession

    with app.app_context():
        before = event_count()
        db.session.execute(sa.update(UserSession).values(remote_addr="127.0.0.1"))
        db.session.commit()
        assert event_count() == before


def test_events_of_one_commit_share_its_time_and_timestamps_never_go_back(app, report):
    with app.app_context():
        org = db.session.get(Organisation, report["org"])
        org.acronym = "A"
        db.session.flush()
        org.acronym = "B"
        db.session.commit()
        first, second = events("organisation", report["org"])[-2:]
        assert first.occurred_at == second.occurred_at
        times = db.session.scalars(sa.select(AuditEvent.occurred_at).order_by(AuditEvent.id)).all()
        assert times == sorted(times)


@pytest.mark.skipif(not is_postgres(), reason="row locks and the advisory lock are PostgreSQL's")
def test_the_chain_lock_never_deadlocks_with_row_locks(app, make):
    """Two requests each change a row, then want the other's: one waits, both commit.

    Were the chain's lock taken at the first flush (and held to the commit), the second request
    would wait for it while holding its row lock, and PostgreSQL would abort one of them.
    """
    a, b = make.organisation("Union A"), make.organisation("Union B")
    first_flushed, second_flushed = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def first():
        try:
            with app.app_context():
                db.session.execute(sa.text("SET lock_timeout = '5s'"))
                db.session.get(Organisation, a).acronym = "A1"
                db.session.flush()
                first_flushed.set()
                assert second_flushed.wait(5)
                db.session.get(Organisation, b).acronym = "B1"  # waits for the second's row lock
                db.session.commit()
        except BaseException as exc:  # reported to the test below
            errors.append(exc)

    def second():
        try:
            with app.app_context():
                db.session.execute(sa.text("SET lock_timeout = '5s'"))
                assert first_flushed.wait(5)
                db.session.get(Organisation, b).acronym = "B2"
                db.session.flush()
                second_flushed.set()
                threading.Event().wait(0.3)  # let the first block on our row
                db.session.commit()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert not errors, errors
    with app.app_context():
        assert db.session.get(Organisation, b).acronym == "B1"
        assert audit.chain.verify(db.session.connection()).ok


def test_a_new_child_row_knows_its_project_from_its_foreign_key(app, report):
    with app.app_context():
        comment = events("indicator_value", action_prefix="indicator_value.create")[0]
        assert comment.project_id == report["project"]


def test_a_bulk_update_by_primary_key_and_one_returning_rows_are_captured(app, report, make):
    other = make.organisation("Second Union")
    with app.app_context():
        db.session.execute(
            sa.update(Organisation),
            [{"id": report["org"], "acronym": "ONE"}, {"id": other, "acronym": "TWO"}],
        )
        (returned,) = db.session.execute(
            sa.update(Submission)
            .where(Submission.id == report["sub"])
            .values(narrative={"x": "y"})
            .returning(Submission.id)
        ).all()
        assert returned.id == report["sub"]
        db.session.commit()
        assert events("organisation", report["org"])[-1].after["acronym"] == "ONE"
        assert events("organisation", other)[-1].after["acronym"] == "TWO"
        assert events("submission", report["sub"])[-1].after["narrative"] == {"x": "y"}


@pytest.mark.parametrize("sync", ["auto", "evaluate", "fetch", False])
def test_statements_keep_working_whatever_their_session_synchronisation(app, report, sync):
    from mel_app.models import ProjectCountry

    with app.app_context():
        org = db.session.get(Organisation, report["org"])
        options = {"synchronize_session": sync}
        nothing = sa.update(Organisation).where(Organisation.name == "nobody").values(acronym="Q")
        assert db.session.execute(nothing.execution_options(**options)).rowcount == 0
        one = sa.update(Organisation).where(Organisation.id == org.id).values(acronym=f"Q{sync}")
        assert db.session.execute(one.execution_options(**options)).rowcount == 1
        composite = sa.update(ProjectCountry).where(ProjectCountry.country == "ZZ").values(country="ZY")
        assert db.session.execute(composite.execution_options(**options)).rowcount == 0
        db.session.commit()
        assert events("organisation", report["org"])[-1].after["acronym"] == f"Q{sync}"
