"""The demo data loads once, and every demo account can sign in."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from mel_app.demo import DEMO_ACCOUNTS, DEMO_PASSWORD
from mel_app.extensions import db
from mel_app.models import AuditEvent, Evaluation, Project, Scorecard, Status, Submission, User


@pytest.fixture
def demo(app, runner):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    return result


def _counts():
    return {
        m.__name__: db.session.scalar(sa.select(sa.func.count()).select_from(m))
        for m in (User, Project, Submission, Scorecard, AuditEvent)
    }


def test_seed_demo_twice_adds_nothing(app, demo, runner):
    with app.app_context():
        first = _counts()
    again = runner.invoke(args=["seed-demo"])
    assert again.exit_code == 0 and "nothing added" in again.output
    with app.app_context():
        assert _counts() == first


def test_demo_has_every_state_and_an_intact_trail(app, demo, runner):
    with app.app_context():
        states = set(db.session.scalars(sa.select(Submission.status).distinct()))
        assert states == set(Status)
        assert db.session.scalar(sa.select(sa.func.count(Project.id))) == 4
        assert {e.status.value for e in db.session.scalars(sa.select(Evaluation))} == {"open", "closed"}
        assert db.session.scalar(sa.select(User).where(User.email == "admin@example.org")).is_admin
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0


@pytest.mark.parametrize("email", [account[0] for account in DEMO_ACCOUNTS])
def test_every_demo_account_signs_in(app, demo, client, login, email):
    login(email, DEMO_PASSWORD)
    assert client.get("/").status_code == 200


def test_demo_accounts_see_only_their_projects(app, demo, client, login):
    login("union@example.org", DEMO_PASSWORD)
    page = client.get("/").get_data(as_text=True)
    assert "RAF/22/11/NOR" in page and "RAF/23/05/FIN" not in page
