"""The demo data loads once, and every demo account can sign in."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from mel_app.demo import DEMO_ACCOUNTS, DEMO_PASSWORD
from mel_app.extensions import db
from mel_app.models import AuditEvent, Evaluation, Project, Scorecard, Status, Submission, User


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


def _project_id(app, reference):
    with app.app_context():
        return db.session.scalar(sa.select(Project.id).where(Project.reference == reference))


@pytest.mark.parametrize("email", ["union@example.org", "employer@example.org"])
def test_union_and_employer_demo_accounts_can_give_design_input(app, demo, client, login, post, email):
    login(email, DEMO_PASSWORD)
    assert "INT/24/07/SSC" in client.get("/").get_data(as_text=True)
    project_id = _project_id(app, "INT/24/07/SSC")
    page = client.get(f"/projects/{project_id}").get_data(as_text=True)
    assert "Give design input" in page and f'action="/projects/{project_id}/design-input"' in page
    started = post(f"/projects/{project_id}/design-input")
    assert started.status_code == 302
    assert client.get(started.headers["Location"]).status_code == 200


def test_evaluator_demo_account_has_a_scorecard_to_fill(app, demo, client, login):
    login("evaluator@example.org", DEMO_PASSWORD)
    page = client.get("/").get_data(as_text=True)
    assert "Scorecards to fill" in page and "Mid-term review" in page and "GLO/24/51/RBS" in page
    with app.app_context():
        evaluation_id = db.session.scalar(
            sa.select(Evaluation.id).where(Evaluation.title == "Mid-term review")
        )
    assert client.get(f"/evaluations/{evaluation_id}/scorecard").status_code == 200


def test_favicon_is_linked_and_served(app, client, login):
    page = client.get("/login").get_data(as_text=True)
    assert 'rel="icon"' in page and "/static/favicon.svg?v=" in page
    answer = client.get("/favicon.ico")
    assert answer.status_code == 302 and "/static/favicon.svg" in answer.headers["Location"]
    with client.get(answer.headers["Location"]) as icon:
        assert icon.status_code == 200 and icon.mimetype == "image/svg+xml"


def test_the_demo_reaches_every_state_through_the_workflow_by_its_accounts(app, demo):
    """Demo data is what using the app produces: each submission's trail holds the steps that led
    to its state, each taken by a demo account, with a snapshot for every time it was sent."""
    expected = {
        Status.draft: ["submission.start", "submission.save"],
        Status.withdrawn: ["submission.start", "submission.save", "submission.withdraw"],
        Status.submitted: ["submission.start", "submission.save", "submission.submit"],
        Status.returned: ["submission.start", "submission.save", "submission.submit", "submission.return"],
        Status.approved: ["submission.start", "submission.save", "submission.submit", "submission.approve"],
    }
    with app.app_context():
        for sub in db.session.scalars(sa.select(Submission)):
            events = db.session.scalars(
                sa.select(AuditEvent)
                .where(AuditEvent.entity_type == "submission", AuditEvent.entity_id == str(sub.id))
                .order_by(AuditEvent.id)
            ).all()
            steps = [e.action for e in events if e.action != "submission.respond"]
            if sub.kind.value == "design_input" and sub.status is Status.draft:
                assert steps == ["submission.start"]  # started, nothing written yet
            else:
                assert steps == expected[sub.status], (sub.id, sub.status)
            assert all(e.actor_id is not None and e.actor_name != "system" for e in events)
            sent = steps.count("submission.submit")
            assert len(sub.versions) == sent and sub.submitted_at is not None or not sent
        for card in db.session.scalars(sa.select(Scorecard)):
            actions = {
                e.action: e.actor_id
                for e in db.session.scalars(
                    sa.select(AuditEvent).where(
                        AuditEvent.entity_type == "scorecard", AuditEvent.entity_id == str(card.id)
                    )
                )
            }
            if card.status.value == "submitted":
                assert actions.get("scorecard.submit") == card.scorer_id


def test_the_demo_has_a_public_dashboard_and_iati_file(app, demo, client):
    listing = client.get("/public/projects").get_data(as_text=True)
    assert "RAF/23/05/FIN" in listing and "RAF/22/11/NOR" not in listing
    page = client.get(f"/public/projects/{_project_id(app, 'RAF/23/05/FIN')}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Final independent evaluation" in html
    with app.app_context():
        for user in db.session.scalars(sa.select(User)):
            assert user.email not in html and user.full_name not in html
    feed = client.get("/public/iati/activities.xml")
    assert feed.status_code == 200 and b"RAF/23/05/FIN" in feed.get_data()


def test_the_demo_tells_stories_of_change_on_raf_22_11_nor(app, demo, client, login):
    from mel_app.models import ChangeStory, StoryDomain

    with app.app_context():
        project = db.session.scalar(sa.select(Project).where(Project.reference == "RAF/22/11/NOR"))
        domains = db.session.scalars(
            sa.select(StoryDomain.name)
            .where(StoryDomain.project_id == project.id)
            .order_by(StoryDomain.position)
        ).all()
        assert domains == ["Organising", "Collective bargaining", "Gender equality", "Social dialogue"]
        first_period = min(project.periods, key=lambda p: p.start_date).id
        told = {
            s.title: (s.domain.name, s.told_by.email, s.share_consent, s.names_people, s.period_id)
            for s in db.session.scalars(sa.select(ChangeStory).where(ChangeStory.project_id == project.id))
        }
    period_id = first_period
    assert told == {
        "Domestic workers in Mombasa formed their first union branch": (
            "Organising",
            "union@example.org",
            True,
            False,
            period_id,
        ),
        "Platform riders in Nairobi joined the transport workers' union": (
            "Organising",
            "specialist@example.org",
            True,
            False,
            period_id,
        ),
        "Night-shift workers won their grievance at the flower farm": (
            "Organising",
            "union@example.org",
            False,
            True,
            period_id,
        ),
        "A joint safety committee at the tea estates": (
            "Social dialogue",
            "employer@example.org",
            True,
            False,
            period_id,
        ),
    }
    # The administrator, no member of the project, reads the consented stories only.
    login("admin@example.org", DEMO_PASSWORD)
    page = client.get(f"/projects/{_project_id(app, 'RAF/22/11/NOR')}/stories").get_data(as_text=True)
    assert "A joint safety committee at the tea estates" in page
    assert "Night-shift workers" not in page

def test_the_demo_has_a_closed_project_round_and_an_open_regional_round(app, demo, client, login):
    from mel_app.models import ChangeStory, RoundStatus, SelectionRound, StoryLevel

    mombasa = "Domestic workers in Mombasa formed their first union branch"
    with app.app_context():
        rounds = {r.title: r for r in db.session.scalars(sa.select(SelectionRound))}
        project_round = rounds["Organising — first half-year"]
        assert project_round.status is RoundStatus.closed and project_round.chosen_story.title == mombasa
        proposed = sorted(p.story.title for p in project_round.proposals)
        assert proposed.count(mombasa) == 2 and len(proposed) == 3
        regional = next(r for r in rounds.values() if r.level is StoryLevel.regional)
        assert regional.status is RoundStatus.open
        assert [c.story.title for c in regional.candidates] == [mombasa]
        flowers = db.session.scalar(
            sa.select(ChangeStory).where(ChangeStory.title.like("Night-shift workers%"))
        )
        assert flowers.share_consent is False and flowers.names_people and flowers.people_consent
        project_round_id, regional_id = project_round.id, regional.id
    login("union.ghana@example.org", DEMO_PASSWORD)
    page = client.get(f"/rounds/{regional_id}").get_data(as_text=True)
    assert "forty-two of them elected a branch committee" in page and "Your proposal" in page
    assert client.get(f"/rounds/{project_round_id}").status_code == 404  # not in the project's round
