"""Two people saving the same record: exactly one save wins, the other is told and keeps their input.

For every record edited in a form (projects, results, indicators, reporting periods, accounts,
organisations, criteria sets, scales, recommendations and their management responses): a form
loaded before someone else saved is refused with a message naming who changed it and when, the
typed input comes back, the database keeps the other person's save; two saves of the same loaded
version at the same moment (threads, on SQLite and PostgreSQL) let exactly one through.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import pytest
import sqlalchemy as sa

from mel_app.extensions import db
from mel_app.models import (
    AuditEvent,
    CriteriaSet,
    Criterion,
    EvaluationStatus,
    Indicator,
    Organisation,
    OrgGroup,
    OutcomeStatement,
    Project,
    Recommendation,
    ReportingPeriod,
    Result,
    Role,
    Scale,
    ScalePoint,
    User,
)
from tests import concurrency
from tests.evaluation_world import add_evaluation, build_world

CONFLICT = re.compile(r"changed this at .+, after you opened it\. Nothing of yours was lost")


@dataclass
class Edit:
    """One edit form: where it is, who may use it, what each of two people types, what is stored."""

    url: str
    editors: tuple[str, str]  # emails of two people allowed to make this edit
    names: tuple[str, str]
    data: Callable[[int], dict]  # the form person i sends
    shown: Callable[[int], str]  # what of it must come back on the page
    stored: Callable[[], object]  # the value in the database that tells whose save it is
    value: Callable[[int], object]  # what `stored` returns after person i's save
    model: type
    record_id: int


def _project_world(make):
    union = make.organisation("Kenya Union", OrgGroup.workers)
    other = make.organisation("Kenya Employers", OrgGroup.employers)
    third = make.organisation("Ghana Union", OrgGroup.workers, country="GH")
    project = make.project("RAF/22/11/NOR")
    specialists = [
        make.user("amina@example.org", full_name="Amina Odhiambo"),
        make.user("juan@example.org", full_name="Juan Pérez"),
    ]
    for specialist in specialists:
        make.member(specialist, project, Role.specialist)
    make.partner(project, union)
    make.user("admin1@example.org", full_name="Awa Diallo", is_admin=True)
    make.user("admin2@example.org", full_name="Kofi Mensah", is_admin=True)
    reporter = make.user("rep@example.org", organisation_id=union)
    outcome = make.result(project, "1", title="Stronger unions")
    indicator = make.indicator(outcome, "1.a", title="Members", baseline_value=10, target_value=20)
    period = make.period(project, "2025 H1", date(2025, 1, 1), date(2025, 6, 30), date(2025, 7, 31))
    statement = make._save(
        OutcomeStatement(
            project_id=project, social_actor="The ministry", change="Consults", changed_on=date(2025, 3, 1)
        )
    )
    return dict(
        statement=statement,
        project=project,
        outcome=outcome,
        indicator=indicator,
        period=period,
        reporter=reporter,
        orgs=(union, other, third),
    )


def _column(app, model, record_id, name):
    def read():
        with app.app_context():
            return getattr(db.session.get(model, record_id), name)

    return read


SPECIALISTS = (("amina@example.org", "juan@example.org"), ("Amina Odhiambo", "Juan Pérez"))
ADMINS = (("admin1@example.org", "admin2@example.org"), ("Awa Diallo", "Kofi Mensah"))
TITLES = ("Text typed by the first", "Text typed by the second")


def _text_edit(app, url, model, record_id, column, data, people=SPECIALISTS) -> Edit:
    return Edit(
        url=url,
        editors=people[0],
        names=people[1],
        data=lambda i: {**data, column: TITLES[i]},
        shown=lambda i: TITLES[i],
        stored=_column(app, model, record_id, column),
        value=lambda i: TITLES[i],
        model=model,
        record_id=record_id,
    )


def _edit(app, world, kind: str) -> Edit:
    p = world["project"]
    if kind == "project":
        data = {
            "reference": "RAF/22/11/NOR",
            "summary": "Unions and trade.",
            "donor": "Finland",
            "funding_modality": "XBDC",
            "countries": ["KE"],
            "start_date": "2024-01-01",
            "end_date": "2027-12-31",
            "phase": "implementation",
        }
        return _text_edit(app, f"/projects/{p}/edit", Project, p, "title", data)
    if kind == "result":
        data = {"type": "outcome", "code": "1", "parent_id": ""}
        url = f"/projects/{p}/framework/results/{world['outcome']}/edit"
        return _text_edit(app, url, Result, world["outcome"], "title", data)
    if kind == "indicator":
        data = {
            "code": "1.a",
            "measure": "number",
            "unit": "members",
            "ascending": "y",
            "baseline_value": "10",
            "baseline_date": "2024-01-01",
            "target_value": "20",
            "target_date": "2027-12-31",
            "means_of_verification": "Membership registers",
            "responsible_organisation_id": "",
        }
        url = f"/projects/{p}/framework/indicators/{world['indicator']}/edit"
        return _text_edit(app, url, Indicator, world["indicator"], "title", data)
    if kind == "period":
        data = {"start_date": "2025-01-01", "end_date": "2025-06-30", "due_date": "2025-07-31"}
        url = f"/projects/{p}/periods/{world['period']}/edit"
        return _text_edit(app, url, ReportingPeriod, world["period"], "label", data)
    if kind == "outcome":
        data = {"change": "It consults the unions.", "when": "2025-03-01", "result_id": ""}
        url = f"/projects/{p}/outcomes/{world['statement']}/edit"
        return _text_edit(app, url, OutcomeStatement, world["statement"], "social_actor", data)
    if kind == "organisation":
        org = world["orgs"][1]
        data = {
            "acronym": "",
            "group": "employers",
            "country": "KE",
            "parent_id": "",
            "iati_ref": "",
            "iati_type": "",
        }
        return _text_edit(app, f"/admin/organisations/{org}/edit", Organisation, org, "name", data, ADMINS)
    assert kind == "user"
    chosen = world["orgs"][1:]  # each administrator moves the reporter to another organisation
    return Edit(
        url=f"/admin/users/{world['reporter']}",
        editors=ADMINS[0],
        names=ADMINS[1],
        data=lambda i: {"organisation_id": str(chosen[i])},
        shown=lambda i: f'<option selected value="{chosen[i]}">',
        stored=_column(app, User, world["reporter"], "organisation_id"),
        value=lambda i: chosen[i],
        model=User,
        record_id=world["reporter"],
    )


def _evaluation_edit(app, make, kind: str) -> Edit:
    world = build_world(app, make)
    admin = ((world.emails["admin"],) * 2, ("Ada Admin",) * 2)
    with app.app_context():
        if kind == "criteria_set":
            record = CriteriaSet(name="Short set", criteria=[Criterion(code="A", name="Alpha", position=1)])
        elif kind == "scale":
            labels = ("Poor", "Fair", "Good", "Very good")
            record = Scale(
                name="Four points", points=[ScalePoint(value=i + 1, label=x) for i, x in enumerate(labels)]
            )
        else:
            evaluation_id = add_evaluation(app, world, status=EvaluationStatus.closed)
            record = Recommendation(
                evaluation_id=evaluation_id,
                text="Hand the network over.",
                created_by_id=world.users["evaluator"],
            )
        db.session.add(record)
        db.session.commit()
        record_id = record.id
        criterion_id = record.criteria[0].id if kind == "criteria_set" else None
    if kind == "criteria_set":
        data = {
            "description": "",
            "criteria-0-id": str(criterion_id),
            "criteria-0-code": "A",
            "criteria-0-name": "Alpha",
            "criteria-0-position": "1",
        }
        return _text_edit(
            app, f"/admin/criteria-sets/{record_id}", CriteriaSet, record_id, "name", data, admin
        )
    if kind == "scale":
        data = {f"points-{i}-label": x for i, x in enumerate(("Poor", "Fair", "Good", "Very good"))}
        return _text_edit(app, f"/admin/scales/{record_id}", Scale, record_id, "name", data, admin)
    if kind == "recommendation":
        evaluator = ((world.emails["evaluator"],) * 2, ("Eva Evaluator",) * 2)
        url = f"/recommendations/{record_id}/edit"
        return _text_edit(app, url, Recommendation, record_id, "text", {"addressed_to": "ILO"}, evaluator)
    assert kind == "response"
    specialist = ((world.emails["specialist"],) * 2, ("Carla Specialist",) * 2)
    data = {"response": "partially_accepted", "due_date": "2027-06-30", "action_status": "in_progress"}
    url = f"/recommendations/{record_id}/response"
    return _text_edit(app, url, Recommendation, record_id, "planned_action", data, specialist)


EVALUATION_KINDS = ["criteria_set", "scale", "recommendation", "response"]
KINDS = ["project", "result", "indicator", "period", "outcome", "organisation", "user", *EVALUATION_KINDS]


def _make_edit(app, make, kind: str) -> Edit:
    if kind in EVALUATION_KINDS:
        return _evaluation_edit(app, make, kind)
    return _edit(app, _project_world(make), kind)


def _version_on(page: str) -> str:
    return re.search(r'name="version" type="hidden" value="(\d+)"', page).group(1)


def _version_in_db(app, edit: Edit) -> int:
    with app.app_context():
        return db.session.get(edit.model, edit.record_id).version


@pytest.mark.parametrize("kind", KINDS)
def test_a_form_loaded_before_someone_else_saved_is_refused_and_keeps_the_input(app, make, login, post, kind):
    edit = _make_edit(app, make, kind)
    first, second = app.test_client(), app.test_client()
    login(edit.editors[0], on=first)
    login(edit.editors[1], on=second)
    loaded = _version_on(first.get(edit.url).get_data(as_text=True))
    assert _version_on(second.get(edit.url).get_data(as_text=True)) == loaded

    assert post(edit.url, {**edit.data(0), "version": loaded}, on=first).status_code == 302
    stale = post(edit.url, {**edit.data(1), "version": loaded}, on=second)

    assert stale.status_code == 409
    page = stale.get_data(as_text=True)
    assert CONFLICT.search(page), "told that someone changed it meanwhile"
    assert f"{edit.names[0]} changed this at" in page, "and who"
    assert edit.shown(1) in page, "the second person's input comes back"
    assert _version_on(page) == str(int(loaded) + 1), "saving again is made against what is stored now"
    assert edit.stored() == edit.value(0), "the first person's save is kept"
    assert _version_in_db(app, edit) == int(loaded) + 1, "one save, one version"

    # Having checked, the second person saves again on purpose: now it goes through.
    assert post(edit.url, {**edit.data(1), "version": _version_on(page)}, on=second).status_code == 302
    assert edit.stored() == edit.value(1)


@pytest.mark.parametrize("kind", KINDS)
def test_a_save_without_the_version_it_was_loaded_with_overwrites_nothing(app, make, login, post, kind):
    edit = _make_edit(app, make, kind)
    login(edit.editors[0])
    before = edit.stored()
    resp = post(edit.url, edit.data(0))
    assert resp.status_code == 409
    assert edit.shown(0) in resp.get_data(as_text=True)
    assert edit.stored() == before


@pytest.mark.parametrize("kind", KINDS)
def test_two_saves_of_the_same_version_at_once_exactly_one_wins(app, make, login, kind):
    edit = _make_edit(app, make, kind)
    browsers = concurrency.browsers(app, login, edit.editors)
    loaded = _version_on(browsers[0][0].get(edit.url).get_data(as_text=True))

    def save(i, client, token):
        return client.post(edit.url, data={**edit.data(i), "version": loaded, "csrf_token": token})

    results = concurrency.all_at_once(browsers, save)

    codes = [code for code, _page in results]
    assert sorted(codes) == [302, 409], codes
    winner, loser = codes.index(302), codes.index(409)
    assert edit.stored() == edit.value(winner), "the winner's save is stored, whole"
    assert _version_in_db(app, edit) == int(loaded) + 1
    page = results[loser][1]
    assert CONFLICT.search(page) and f"{edit.names[winner]} changed this at" in page
    assert edit.shown(loser) in page, "the loser's input comes back"
    with app.app_context():
        changes = db.session.scalars(
            sa.select(AuditEvent).where(
                AuditEvent.entity_type == edit.model.__tablename__,
                AuditEvent.entity_id == str(edit.record_id),
                AuditEvent.actor_id.is_not(None),
            )
        ).all()
        assert len(changes) == 1, "one change in the audit trail: the winner's"
        assert "version" not in (changes[0].after or {}), "the edit counter is not a change people read"


def test_a_change_made_without_the_form_makes_open_forms_stale_too(app, client, make, login, post):
    world = _project_world(make)
    edit = _edit(app, world, "indicator")
    login(edit.editors[0])
    loaded = _version_on(client.get(edit.url).get_data(as_text=True))
    with app.app_context():  # a change from elsewhere: an import, a move, a script
        db.session.get(Indicator, world["indicator"]).unit = "paying members"
        db.session.commit()
    resp = post(edit.url, {**edit.data(0), "version": loaded})
    assert resp.status_code == 409 and edit.shown(0) in resp.get_data(as_text=True)
    with app.app_context():
        indicator = db.session.get(Indicator, world["indicator"])
        assert indicator.unit == "paying members" and indicator.title == "Members"


def test_an_account_signing_in_leaves_the_administrators_form_valid_a_deactivation_does_not(
    app, client, make, login, post
):
    world = _project_world(make)
    edit = _edit(app, world, "user")
    login(edit.editors[0])
    loaded = _version_on(client.get(edit.url).get_data(as_text=True))
    login("rep@example.org", on=app.test_client())  # the person signs in meanwhile: no edit
    assert post(edit.url, {**edit.data(0), "version": loaded}).status_code == 302

    loaded = _version_on(client.get(edit.url).get_data(as_text=True))
    other = app.test_client()
    login(edit.editors[1], on=other)
    assert post(f"/admin/users/{world['reporter']}/deactivate", {"reason": ""}, on=other).status_code == 302
    resp = post(edit.url, {**edit.data(1), "version": loaded})
    assert resp.status_code == 409
    assert f"{edit.names[1]} changed this at" in resp.get_data(as_text=True)
    assert edit.stored() == edit.value(0)
