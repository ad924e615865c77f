"""The results framework editor: results and indicators, reorder, archive, delete, approval."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from mel_app.extensions import db
from mel_app.models import (
    Aggregation,
    AuditEvent,
    Indicator,
    IndicatorValue,
    Measure,
    OrgGroup,
    Project,
    Result,
    ResultType,
    Role,
    Status,
)
from tests.audit_helpers import changed


@pytest.fixture
def fw(make):
    """A project with a specialist, a reporter, an outcome with one output and two indicators."""
    union = make.organisation("Union", OrgGroup.workers)
    project = make.project("RAF/22/11/NOR")
    specialist = make.user("spec@example.org")
    reporter = make.user("rep@example.org", organisation_id=union)
    make.member(specialist, project, Role.specialist)
    make.member(reporter, project, Role.reporter, organisation_id=union)
    make.partner(project, union)
    outcome = make.result(project, "1", title="Stronger unions")
    output = make.result(project, "1.1", type=ResultType.output, parent_id=outcome, title="Training")
    first = make.indicator(outcome, "1.a", title="Members", baseline_value=10, target_value=20, position=0)
    second = make.indicator(outcome, "1.b", title="Women leaders", position=1)
    period = make.period(project)
    return dict(
        project=project,
        specialist=specialist,
        reporter=reporter,
        union=union,
        outcome=outcome,
        output=output,
        first=first,
        second=second,
        period=period,
    )


def _approve(app, project_id):
    with app.app_context():
        from mel_app.models import utcnow

        project = db.session.get(Project, project_id)
        project.framework_approved, project.framework_approved_at = True, utcnow()
        db.session.commit()


def _indicator_form(**kw):
    data = {
        "code": "1.c",
        "title": "Collective agreements",
        "measure": "number",
        "unit": "agreements",
        "ascending": "y",
        "baseline_value": "4",
        "baseline_date": "2024-01-01",
        "target_value": "25",
        "target_date": "2027-12-31",
        "means_of_verification": "Registry of agreements",
        "responsible_organisation_id": "",
    }
    data.update(kw)
    return data


def _events(app, action):
    with app.app_context():
        query = sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        return list(db.session.scalars(query))


def test_specialist_adds_results_and_indicators_with_every_field(app, client, login, post, fw):
    login("spec@example.org")
    p = fw["project"]
    resp = post(
        f"/projects/{p}/framework/results/new",
        {"type": "output", "code": "1.2", "title": "Bargaining", "parent_id": str(fw["outcome"])},
    )
    assert resp.status_code == 302
    with app.app_context():
        output = db.session.scalar(sa.select(Result).where(Result.code == "1.2"))
        assert output.parent_id == fw["outcome"] and output.type is ResultType.output
        output_id = output.id
    resp = post(
        f"/projects/{p}/framework/results/{output_id}/indicators/new",
        _indicator_form(
            code="1.2.a",
            ascending="",
            disaggregate_by_sex="y",
            baseline_value="1 200.5",
            responsible_organisation_id=str(fw["union"]),
            baseline_comment="From the 2023 survey",
            target_comment="Mid-term review",
        ),
    )
    assert resp.status_code == 302
    with app.app_context():
        ind = db.session.scalar(sa.select(Indicator).where(Indicator.code == "1.2.a"))
        assert ind.baseline_value == Decimal("1200.5")
        assert ind.target_value == 25 and ind.unit == "agreements" and not ind.ascending
        assert ind.disaggregate_by_sex and ind.responsible_organisation_id == fw["union"]
        assert ind.baseline_date == date(2024, 1, 1) and ind.target_date == date(2027, 12, 31)
        assert ind.baseline_comment == "From the 2023 survey" and ind.target_comment == "Mid-term review"
        assert ind.means_of_verification == "Registry of agreements" and ind.project_id == p
    assert _events(app, "indicator.create") and _events(app, "result.create")
    page = client.get(f"/projects/{p}/framework").get_data(as_text=True)
    assert "Bargaining" in page and "1,200.5" in page


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"measure": "percentage", "target_value": "120"}, "between 0 and 100"),
        ({"measure": "yes_no", "target_value": "maybe"}, "Answer yes or no"),
        ({"measure": "qualitative", "target_value": "3"}, "no number"),
        ({"baseline_value": "1.200"}, "could mean 1,200 or 1.2"),
        ({"baseline_value": "lots"}, "Enter a number"),
        ({"target_date": "2023-01-01"}, "cannot be before the baseline date"),
        ({"code": "1 c"}, "Use letters, digits"),
        ({"code": "1.a"}, "Another indicator of this result has the code 1.a"),
        (
            {"measure": "yes_no", "target_value": "yes", "baseline_value": "no", "disaggregate_by_sex": "y"},
            "Only numbers",
        ),
    ],
)
def test_invalid_indicators_are_refused_with_the_input_kept(app, client, login, post, fw, changes, message):
    login("spec@example.org")
    resp = post(
        f"/projects/{fw['project']}/framework/results/{fw['outcome']}/indicators/new",
        _indicator_form(**changes),
    )
    assert resp.status_code in (409, 422)
    page = resp.get_data(as_text=True)
    assert message in page
    assert "Registry of agreements" in page
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Indicator)) == 2


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"measure": "percentage", "target_value": "30", "aggregation": "sum"}, "does not fit the measure"),
        (
            {"measure": "yes_no", "target_value": "yes", "baseline_value": "no", "aggregation": "mean"},
            "does not fit",
        ),
        ({"aggregation": "responsible"}, "Choose the responsible organisation whose report gives the figure"),
    ],
)
def test_an_aggregation_that_does_not_fit_is_refused_with_the_input_kept(
    app, client, login, post, fw, changes, message
):
    login("spec@example.org")
    resp = post(
        f"/projects/{fw['project']}/framework/results/{fw['outcome']}/indicators/new",
        _indicator_form(**changes),
    )
    assert resp.status_code in (409, 422)
    page = resp.get_data(as_text=True)
    assert message in page and "Registry of agreements" in page
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Indicator)) == 2


def test_the_aggregation_is_chosen_in_the_editor_or_the_measure_gives_it(app, client, login, post, fw):
    login("spec@example.org")
    url = f"/projects/{fw['project']}/framework/results/{fw['outcome']}/indicators/new"
    chosen = _indicator_form(
        code="1.c", aggregation="responsible", responsible_organisation_id=str(fw["union"])
    )
    assert post(url, chosen).status_code == 302
    share = _indicator_form(code="1.d", measure="percentage", baseline_value="10", target_value="30")
    assert post(url, share).status_code == 302
    fact = _indicator_form(code="1.e", measure="yes_no", baseline_value="no", target_value="yes", unit="")
    assert post(url, fact).status_code == 302
    with app.app_context():
        methods = dict(db.session.execute(sa.select(Indicator.code, Indicator.aggregation)).all())
    assert methods == {
        "1.a": Aggregation.sum,
        "1.b": Aggregation.sum,
        "1.c": Aggregation.responsible,
        "1.d": Aggregation.mean,
        "1.e": Aggregation.all_yes,
    }
    page = client.get(f"/projects/{fw['project']}/framework").get_data(as_text=True)
    assert (
        "The responsible organisation&#39;s value" in page or "The responsible organisation's value" in page
    )
    edit = client.get(f"/projects/{fw['project']}/framework/indicators/{fw['first']}/edit")
    assert edit.status_code == 200 and '<option selected value="sum">' in edit.get_data(as_text=True)


def test_yes_no_values_are_stored_as_one_and_zero(app, client, login, post, fw):
    login("spec@example.org")
    form = _indicator_form(measure="yes_no", baseline_value="no", target_value="yes", unit="")
    assert (
        post(f"/projects/{fw['project']}/framework/results/{fw['outcome']}/indicators/new", form).status_code
        == 302
    )
    with app.app_context():
        ind = db.session.scalar(sa.select(Indicator).where(Indicator.code == "1.c"))
        assert (ind.baseline_value, ind.target_value) == (0, 1)


def test_an_output_needs_an_outcome(app, client, login, post, fw):
    login("spec@example.org")
    resp = post(
        f"/projects/{fw['project']}/framework/results/new", {"type": "output", "code": "9", "title": "Lost"}
    )
    assert resp.status_code == 409
    assert "An output belongs to an outcome" in resp.get_data(as_text=True)


def test_editing_a_result_and_an_indicator(app, client, login, post, fw):
    login("spec@example.org")
    p = fw["project"]
    page = client.get(f"/projects/{p}/framework/indicators/{fw['first']}/edit").get_data(as_text=True)
    assert 'value="10"' in page and 'value="20"' in page, "values show as typed, without trailing zeros"
    stamp = page.split('name="version" type="hidden" value="')[1].split('"')[0]
    resp = post(
        f"/projects/{p}/framework/indicators/{fw['first']}/edit",
        _indicator_form(code="1.a", title="Members (all)", target_value="30", version=stamp),
    )
    assert resp.status_code == 302
    stale = post(
        f"/projects/{p}/framework/indicators/{fw['first']}/edit",
        _indicator_form(code="1.a", title="Someone else", version=stamp),
    )
    assert stale.status_code == 409 and "Someone else" in stale.get_data(as_text=True)
    page = client.get(f"/projects/{p}/framework/results/{fw['outcome']}/edit").get_data(as_text=True)
    stamp = page.split('name="version" type="hidden" value="')[1].split('"')[0]
    resp = post(
        f"/projects/{p}/framework/results/{fw['outcome']}/edit",
        {"type": "outcome", "code": "1", "title": "Much stronger unions", "parent_id": "", "version": stamp},
    )
    assert resp.status_code == 302
    with app.app_context():
        assert db.session.get(Indicator, fw["first"]).title == "Members (all)"
        assert db.session.get(Indicator, fw["first"]).target_value == 30
        assert db.session.get(Result, fw["outcome"]).title == "Much stronger unions"
    # An outcome with outputs under it cannot become an output.
    page = client.get(f"/projects/{p}/framework/results/{fw['outcome']}/edit").get_data(as_text=True)
    stamp = page.split('name="version" type="hidden" value="')[1].split('"')[0]
    resp = post(
        f"/projects/{p}/framework/results/{fw['outcome']}/edit",
        {"type": "impact", "code": "1", "title": "Impact now", "parent_id": "", "version": stamp},
    )
    assert resp.status_code == 409 and "its level cannot change" in resp.get_data(as_text=True)


def test_reordering_indicators_and_results(app, client, login, post, fw):
    login("spec@example.org")
    p = fw["project"]
    assert post(f"/projects/{p}/framework/indicator/{fw['second']}/up").status_code == 302
    with app.app_context():
        codes = [
            i.code
            for i in db.session.scalars(
                sa.select(Indicator).where(Indicator.result_id == fw["outcome"]).order_by(Indicator.position)
            )
        ]
        assert codes == ["1.b", "1.a"]
    second_outcome = post(
        f"/projects/{p}/framework/results/new", {"type": "outcome", "code": "2", "title": "Second"}
    )
    assert second_outcome.status_code == 302
    with app.app_context():
        two = db.session.scalar(sa.select(Result.id).where(Result.code == "2"))
    assert post(f"/projects/{p}/framework/result/{two}/up").status_code == 302
    page = client.get(f"/projects/{p}").get_data(as_text=True)
    assert page.index("Second") < page.index("Stronger unions"), "the project page follows the new order"


def test_an_indicator_with_reported_values_cannot_be_deleted_but_can_be_archived(
    app, make, client, login, post, fw
):
    sub = make.submission(
        fw["project"], fw["union"], fw["reporter"], period_id=fw["period"], status=Status.draft
    )
    with app.app_context():
        db.session.add(IndicatorValue(submission_id=sub, indicator_id=fw["first"], value=Decimal(12)))
        db.session.commit()
    login("spec@example.org")
    p = fw["project"]
    confirm = client.get(f"/projects/{p}/framework/indicator/{fw['first']}/delete").get_data(as_text=True)
    assert "cannot be deleted" in confirm
    resp = post(f"/projects/{p}/framework/indicator/{fw['first']}/delete")
    assert resp.status_code == 409
    assert "Archive it instead" in resp.get_data(as_text=True)
    row = f'<tr id="indicator-{fw["first"]}">'
    assert row in client.get(f"/projects/{p}").get_data(as_text=True)
    assert post(f"/projects/{p}/framework/indicator/{fw['first']}/archive").status_code == 302
    with app.app_context():
        indicator = db.session.get(Indicator, fw["first"])
        assert indicator is not None and indicator.is_archived
    page = client.get(f"/projects/{p}").get_data(as_text=True)
    assert row not in page and "Members</figcaption>" not in page, (
        "archived indicators leave the project page"
    )
    assert post(f"/projects/{p}/framework/indicator/{fw['first']}/restore").status_code == 302
    # An indicator nobody reported against can be deleted.
    assert post(f"/projects/{p}/framework/indicator/{fw['second']}/delete").status_code == 302
    with app.app_context():
        assert db.session.get(Indicator, fw["second"]) is None
        assert not db.session.get(Indicator, fw["first"]).is_archived


def test_archiving_a_result_archives_what_is_under_it(app, client, login, post, fw):
    login("spec@example.org")
    p = fw["project"]
    assert post(f"/projects/{p}/framework/result/{fw['outcome']}/archive").status_code == 302
    with app.app_context():
        assert db.session.get(Result, fw["output"]).is_archived
        assert all(i.is_archived for i in db.session.scalars(sa.select(Indicator)))
    resp = post(f"/projects/{p}/framework/result/{fw['output']}/restore")
    assert resp.status_code == 409 and "Restore 1, the result above this one, first" in resp.get_data(
        as_text=True
    )
    assert post(f"/projects/{p}/framework/result/{fw['outcome']}/delete").status_code == 409


def test_after_approval_every_change_needs_a_reason_kept_in_the_audit_trail(app, client, login, post, fw):
    login("spec@example.org")
    p = fw["project"]
    assert post(f"/projects/{p}/framework/approve", {"confirmed": "yes"}).status_code == 302
    with app.app_context():
        assert db.session.get(Project, p).framework_approved
    assert _events(app, "project.approve_framework")
    framework_page = client.get(f"/projects/{p}/framework").get_data(as_text=True)
    assert f'href="/projects/{p}/framework/indicator/{fw["first"]}/archive"' in framework_page, (
        "actions now go through a page that asks why"
    )
    assert "Reason for the change" in client.get(
        f"/projects/{p}/framework/indicator/{fw['first']}/archive"
    ).get_data(as_text=True)

    for url, data in [
        (f"/projects/{p}/framework/indicator/{fw['first']}/archive", {}),
        (f"/projects/{p}/framework/indicator/{fw['second']}/down", {}),
        (f"/projects/{p}/framework/results/new", {"type": "outcome", "code": "2", "title": "New"}),
        (f"/projects/{p}/framework/results/{fw['outcome']}/indicators/new", _indicator_form()),
        (
            f"/projects/{p}/framework/results/{fw['outcome']}/edit",
            {"type": "outcome", "code": "1", "title": "X"},
        ),
        (f"/projects/{p}/framework/indicators/{fw['first']}/edit", _indicator_form(code="1.a")),
    ]:
        resp = post(url, data)
        assert resp.status_code == 422, url
        assert "say why it changes" in resp.get_data(as_text=True)
    with app.app_context():
        assert not db.session.get(Indicator, fw["first"]).is_archived
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Result)) == 2

    reason = "Donor asked to drop this indicator at the steering committee"
    assert (
        post(f"/projects/{p}/framework/indicator/{fw['first']}/archive", {"reason": reason}).status_code
        == 302
    )
    (event,) = _events(app, "indicator.archive")
    assert (
        event.reason == reason
        and event.entity_id == str(fw["first"])
        and changed(event.after) == {"is_archived": True}
    )
    resp = post(
        f"/projects/{p}/framework/results/{fw['outcome']}/indicators/new",
        _indicator_form(reason="New donor KPI"),
    )
    assert resp.status_code == 302
    assert [e.reason for e in _events(app, "indicator.create") if e.actor_id] == ["New donor KPI"]


def test_who_may_change_the_framework(app, client, login, post, fw):
    login("rep@example.org")
    p = fw["project"]
    assert post(f"/projects/{p}/framework/indicator/{fw['first']}/archive").status_code == 403
    assert post(f"/projects/{p}/framework/approve", {"confirmed": "yes"}).status_code == 403
    assert client.get(f"/projects/{p}/framework/results/new").status_code == 403
    with app.app_context():
        assert not db.session.get(Indicator, fw["first"]).is_archived


def test_items_of_another_project_are_not_found(app, make, client, login, post, fw):
    other = make.project("RAF/23/05/FIN")
    foreign = make.result(other, "1")
    foreign_indicator = make.indicator(foreign, "1.a")
    login("spec@example.org")
    p = fw["project"]
    assert client.get(f"/projects/{p}/framework/results/{foreign}/edit").status_code == 404
    assert post(f"/projects/{p}/framework/indicator/{foreign_indicator}/archive").status_code == 404
    assert client.get(f"/projects/{p}/framework/indicator/{fw['first']}/explode").status_code == 404


def test_approving_an_empty_framework_is_refused(app, make, client, login, post):
    project = make.project("RAF/23/05/FIN")
    user = make.user("lonely@example.org")
    make.member(user, project, Role.specialist)
    login("lonely@example.org")
    resp = post(f"/projects/{project}/framework/approve", {"confirmed": "yes"})
    assert resp.status_code == 409 and "at least one indicator" in resp.get_data(as_text=True)


def test_a_percentage_indicator_refuses_a_value_the_database_would_refuse(app, client, login, post, fw):
    login("spec@example.org")
    resp = post(
        f"/projects/{fw['project']}/framework/results/{fw['outcome']}/indicators/new",
        _indicator_form(measure="percentage", baseline_value="-1", target_value="50"),
    )
    assert resp.status_code == 422
    assert "between 0 and 100" in resp.get_data(as_text=True)
    assert Measure.percentage
