"""The progress report and design input forms: every validation rule, errors next to their field,
what the user typed kept, completeness checked on submit, and starting a report."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
import sqlalchemy as sa

from mel_app.extensions import db
from mel_app.models import (
    DesignInputItem,
    Disposition,
    Indicator,
    IndicatorValue,
    Phase,
    Project,
    Status,
    Submission,
    SubmissionKind,
)
from tests.error_pages import error_summary, title
from tests.submissions_world import (
    NARRATIVE,
    add_period,
    add_submission,
    build_world,
    events,
    post,
    report_payload,
    signed_in,
    state,
)


def _values(app, sub_id):
    with app.app_context():
        rows = db.session.scalars(
            sa.select(IndicatorValue).where(IndicatorValue.submission_id == sub_id)
        ).all()
        return {
            r.indicator.code: (r.value, r.women, r.men, r.text_value, r.not_reported, r.comment) for r in rows
        }


def _field_error(page: str, field_id: str) -> str:
    match = re.search(rf'<p class="error" id="{re.escape(field_id)}-error">(.*?)</p>', page, re.S)
    return match.group(1) if match else ""


@pytest.fixture
def draft(app, make, login):
    world = build_world(make)
    sub_id = add_submission(app, world, Status.draft, complete=False)
    author = signed_in(app, login, world, "author")
    return world, sub_id, author


def _save(author, world, sub_id, **overrides):
    return post(
        author,
        f"/submissions/{sub_id}/save",
        report_payload(world, state(author.application, sub_id)[1], **overrides),
    )


# Each rule: the fields to change, the field whose error shows, and (part of) the message.
RULES = [
    ("percentage above 100", "1.b", {"value": "101"}, "value", "A percentage is between 0 and 100."),
    ("negative percentage", "1.b", {"value": "-1"}, "value", "A percentage is between 0 and 100."),
    ("yes/no other than yes or no", "1.c", {"value": "2"}, "value", "Not a valid choice"),
    ("women + men differ from the total", "1.a", {"value": "30", "women": "10", "men": "5"}, "value",
     "Women (10) and men (5) add up to 15, not 30."),
    ("negative number of women", "1.a", {"women": "-3", "value": "", "men": "5"}, "women",
     "Cannot be negative."),
    ("not a number", "1.a", {"value": "thirty"}, "value", "Enter a number, like 12,345.5 or 12.5."),
    ("more than four decimals", "1.a", {"value": "1.23456", "women": "", "men": ""}, "value",
     "Use at most four decimal places."),
    ("not reported but a value given", "1.b", {"value": "20", "not_reported": "y", "comment": "No survey"},
     "not_reported", "Leave the value empty when you mark the indicator as not reported."),
    ("not reported without a reason", "1.b", {"value": "", "not_reported": "y", "comment": ""}, "comment",
     "Say why this indicator is not reported."),
]  # fmt: skip


@pytest.mark.parametrize(
    ("rule", "code", "fields", "error_field", "message"), RULES, ids=[r[0] for r in RULES]
)
def test_indicator_values_are_validated_against_their_measure(
    app, draft, rule, code, fields, error_field, message
):
    world, sub_id, author = draft
    ind = world.indicators[code]
    before = state(app, sub_id)
    overrides = {f"ind_{ind}-{name}": value for name, value in fields.items()}
    resp = _save(author, world, sub_id, achievements="My words, typed before the mistake", **overrides)
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert message in _field_error(page, f"ind_{ind}-{error_field}"), f"the error shows next to {error_field}"
    assert f"#ind_{ind}-{error_field}" in page.split("There is a problem")[1].split("</ul>")[0], (
        "linked from the summary"
    )
    assert "My words, typed before the mistake" in page, "what the user typed stays in the form"
    for name, value in fields.items():
        if value and name != "not_reported" and code != "1.c":  # a select cannot show "2"
            assert f'value="{value}"' in page or f"{value}</textarea>" in page, f"{name} keeps {value!r}"
    assert state(app, sub_id) == before, "nothing saved"


def test_a_narrative_section_has_a_length_limit(app, draft):
    world, sub_id, author = draft
    resp = _save(author, world, sub_id, challenges="x" * 20_001)
    assert resp.status_code == 422
    assert "20000" in _field_error(resp.get_data(as_text=True), "challenges")


def test_valid_values_are_saved_in_the_forms_people_type_them(app, draft):
    world, sub_id, author = draft
    ids = world.indicators
    resp = _save(
        author,
        world,
        sub_id,
        **{
            f"ind_{ids['1.a']}-value": "",  # the total follows from women and men
            f"ind_{ids['1.a']}-women": "1 204",
            f"ind_{ids['1.a']}-men": "12.5",
            f"ind_{ids['1.b']}-value": "100",
            f"ind_{ids['1.c']}-value": "0",
            f"ind_{ids['1.d']}-text_value": "  A story.  ",
        },
    )
    assert resp.status_code == 302
    values = _values(app, sub_id)
    assert values["1.a"][:3] == (Decimal("1216.5"), Decimal("1204"), Decimal("12.5"))
    assert values["1.b"][0] == Decimal(100)
    assert values["1.c"][0] == Decimal(0)
    assert values["1.d"][3] == "A story."
    page = author.get(f"/submissions/{sub_id}").get_data(as_text=True)
    assert 'value="1,216.5"' in page and 'value="12.5"' in page, "shown back as stored, the user's way"


def test_not_reported_with_a_reason_is_saved_and_counts_as_answered(app, draft):
    world, sub_id, author = draft
    ind = world.indicators["1.b"]
    resp = _save(
        author,
        world,
        sub_id,
        **{
            f"ind_{ind}-value": "",
            f"ind_{ind}-not_reported": "y",
            f"ind_{ind}-comment": "No survey this year",
        },
    )
    assert resp.status_code == 302
    assert _values(app, sub_id)["1.b"][4:] == (True, "No survey this year")
    confirm = author.get(f"/submissions/{sub_id}/submit").get_data(as_text=True)
    assert "1.b" not in confirm, "a reasoned 'not reported' is an answer"
    assert (
        post(author, f"/submissions/{sub_id}/submit", {"version": state(app, sub_id)[1]}).status_code == 302
    )


def test_save_draft_records_who_changed_what(app, draft):
    world, sub_id, author = draft
    assert _save(author, world, sub_id).status_code == 302
    saved = events(app, sub_id)[-1]
    assert saved.action == "submission.save"
    assert saved.actor_name == "Grace Wanjiru"
    assert saved.before["narrative"].get("achievements", "") == "", "a new draft has no narrative yet"
    assert saved.after["narrative"]["achievements"] == NARRATIVE["achievements"]
    assert "version" not in saved.after, "the edit counter is bookkeeping, not a change to read"


def test_submit_checks_completeness_and_lists_what_is_missing(app, draft):
    world, sub_id, author = draft
    ids = world.indicators
    _save(author, world, sub_id, challenges="", **{f"ind_{ids['1.c']}-value": ""})
    confirm = author.get(f"/submissions/{sub_id}/submit")
    page = confirm.get_data(as_text=True)
    assert "It cannot be submitted yet: complete what is listed at the top of this page" in page
    summary = error_summary(page)
    assert summary is not None and summary.heading == "There is a problem", "what is missing, at the top"
    assert f"/submissions/{sub_id}#challenges" in [href for href, _text in summary.links]
    assert title(page).startswith("Error: ")
    assert "“Challenges” is empty." in page
    assert "Indicator 1.c has no value" in page
    assert f"#indicator-{ids['1.c']}" in page and "#challenges" in page, "each problem links to its field"
    assert "Submit for review</button>" not in page and 'value="Submit for review"' not in page
    resp = post(author, f"/submissions/{sub_id}/submit", {"version": state(app, sub_id)[1]})
    assert resp.status_code == 422
    assert state(app, sub_id)[0] is Status.draft


def test_save_and_submit_leads_to_a_confirmation_and_submitting_keeps_a_version(app, draft):
    world, sub_id, author = draft
    resp = _save(author, world, sub_id, save=None, submit="Save and submit for review…")
    assert resp.status_code == 302 and resp.location.endswith(f"/submissions/{sub_id}/submit")
    confirm = author.get(resp.location).get_data(as_text=True)
    assert "Submit now?" in confirm
    version = state(app, sub_id)[1]
    assert post(author, f"/submissions/{sub_id}/submit", {"version": version}).status_code == 302
    assert state(app, sub_id) == (Status.submitted, version + 1)
    page = author.get(f"/submissions/{sub_id}").get_data(as_text=True)
    assert "Version 1" in page and "first submitted version" in page
    assert 'name="achievements"' not in page, "nobody edits a submitted report"


def test_archived_indicators_are_neither_shown_nor_required(app, draft):
    world, sub_id, author = draft
    with app.app_context():
        db.session.get(Indicator, world.indicators["1.d"]).is_archived = True
        db.session.commit()
    page = author.get(f"/submissions/{sub_id}").get_data(as_text=True)
    assert f"ind_{world.indicators['1.d']}-" not in page
    assert _save(author, world, sub_id).status_code == 302
    assert "Indicator 1.d" not in author.get(f"/submissions/{sub_id}/submit").get_data(as_text=True)


# ---------------------------------------------------------------------------------------------
# Starting a report


def test_start_report_opens_the_organisations_report_creating_it_once(app, make, login):
    world = build_world(make)
    author = signed_in(app, login, world, "author")
    url = f"/projects/{world.project}/periods/{world.period}/report"
    first = post(author, url)
    assert first.status_code == 302
    colleague = signed_in(app, login, world, "colleague")
    second = post(colleague, url)
    assert second.location == first.location, "the colleague opens the same report"
    with app.app_context():
        subs = db.session.scalars(sa.select(Submission)).all()
        assert [(s.organisation_id, s.period_id, s.status, s.kind) for s in subs] == [
            (world.union, world.period, Status.draft, SubmissionKind.progress_report)
        ]
    assert [e.action for e in events(app, subs[0].id)] == ["submission.start"]


@pytest.mark.parametrize(("who", "status"), [("specialist", 403), ("observer", 403), ("outsider", 404)])
def test_only_reporters_start_reports(app, make, login, who, status):
    world = build_world(make)
    client = signed_in(app, login, world, who)
    assert post(client, f"/projects/{world.project}/periods/{world.period}/report").status_code == status


def test_a_period_of_another_project_is_not_found(app, make, login):
    world = build_world(make)
    author = signed_in(app, login, world, "author")
    assert post(author, f"/projects/{world.other_project}/periods/{world.period}/report").status_code == 404


def test_a_withdrawn_report_does_not_block_a_new_one(app, make, login):
    world = build_world(make)
    old = add_submission(app, world, Status.withdrawn)
    author = signed_in(app, login, world, "author")
    resp = post(author, f"/projects/{world.project}/periods/{world.period}/report")
    assert resp.status_code == 302 and not resp.location.endswith(f"/submissions/{old}")


# ---------------------------------------------------------------------------------------------
# Design input


def _design_payload(version, items):
    data = {"version": str(version), "save": "Save draft"}
    for n, item in enumerate(items):
        for key, value in item.items():
            data[f"items-{n}-{key}"] = value
    return data


@pytest.fixture
def design(app, make, login):
    world = build_world(make)
    with app.app_context():
        db.session.get(Project, world.project).phase = Phase.design
        db.session.commit()
    author = signed_in(app, login, world, "author")
    resp = post(author, f"/projects/{world.project}/design-input")
    assert resp.status_code == 302
    sub_id = int(resp.location.rsplit("/", 1)[1])
    return world, sub_id, author


def _items(app, sub_id):
    with app.app_context():
        rows = db.session.scalars(
            sa.select(DesignInputItem)
            .where(DesignInputItem.submission_id == sub_id)
            .order_by(DesignInputItem.position)
        ).all()
        return [(r.id, r.kind.value, r.text, r.result_id, r.indicator_id, r.disposition) for r in rows]


def test_design_input_items_are_added_linked_changed_and_removed(app, design):
    world, sub_id, author = design
    page = author.get(f"/submissions/{sub_id}").get_data(as_text=True)
    assert page.count('name="items-') >= 3 * 4, "three empty items to fill"
    ind = world.indicators["1.a"]
    resp = post(
        author,
        f"/submissions/{sub_id}/save",
        _design_payload(
            1,
            [
                {"kind": "need", "text": "Training for women organisers", "link": ""},
                {
                    "kind": "proposed_indicator",
                    "text": "Count women shop stewards",
                    "link": f"indicator:{ind}",
                },
                {"kind": "risk", "text": "", "link": ""},  # an empty item is ignored
            ],
        ),
    )
    assert resp.status_code == 302
    items = _items(app, sub_id)
    assert [(k, t, i) for _id, k, t, _r, i, _d in items] == [
        ("need", "Training for women organisers", None),
        ("proposed_indicator", "Count women shop stewards", ind),
    ]
    first, second = items[0][0], items[1][0]
    resp = post(
        author,
        f"/submissions/{sub_id}/save",
        _design_payload(
            2,
            [
                {"id": str(first), "kind": "need", "text": "Training for women and young organisers"},
                {"id": str(second), "kind": "proposed_indicator", "text": "x", "remove": "y"},
                {
                    "kind": "risk",
                    "text": "Employers may not release workers",
                    "link": f"result:{world.result}",
                },
            ],
        ),
    )
    assert resp.status_code == 302
    assert [(k, t, r) for _id, k, t, r, _i, _d in _items(app, sub_id)] == [
        ("need", "Training for women and young organisers", None),
        ("risk", "Employers may not release workers", world.result),
    ]


def test_an_existing_item_emptied_is_an_error_and_a_foreign_link_is_refused(app, design):
    world, sub_id, author = design
    post(author, f"/submissions/{sub_id}/save", _design_payload(1, [{"kind": "need", "text": "Training"}]))
    item_id = _items(app, sub_id)[0][0]
    resp = post(
        author,
        f"/submissions/{sub_id}/save",
        _design_payload(2, [{"id": str(item_id), "kind": "need", "text": ""}]),
    )
    assert resp.status_code == 422
    assert "tick “Remove this item”" in _field_error(resp.get_data(as_text=True), "items-0-text")
    resp = post(
        author,
        f"/submissions/{sub_id}/save",
        _design_payload(2, [{"kind": "need", "text": "Other", "link": "indicator:999999"}]),
    )
    assert resp.status_code == 422
    assert "Not a valid choice" in _field_error(resp.get_data(as_text=True), "items-0-link")


def test_design_input_needs_the_design_phase_to_start(app, make, login):
    world = build_world(make)  # in implementation
    author = signed_in(app, login, world, "author")
    assert post(author, f"/projects/{world.project}/design-input").status_code == 403
    assert "Give design input" not in author.get(f"/projects/{world.project}").get_data(as_text=True)


@pytest.mark.parametrize(("who", "offered"), [("author", True), ("other_org", True), ("specialist", False)])
def test_the_project_page_offers_design_input_to_its_reporters(app, make, login, who, offered):
    world = build_world(make)
    with app.app_context():
        db.session.get(Project, world.project).phase = Phase.design
        db.session.commit()
    person = signed_in(app, login, world, who)
    page = person.get(f"/projects/{world.project}").get_data(as_text=True)
    assert ("Give design input" in page) is offered
    assert (f'action="/projects/{world.project}/design-input"' in page) is offered


def test_specialist_responds_to_each_item_and_the_organisation_sees_the_responses(app, design, login):
    world, sub_id, author = design
    post(
        author,
        f"/submissions/{sub_id}/save",
        _design_payload(1, [{"kind": "need", "text": "Training"}, {"kind": "risk", "text": "Elections"}]),
    )
    assert post(author, f"/submissions/{sub_id}/submit", {"version": "2"}).status_code == 302
    first, second = (i[0] for i in _items(app, sub_id))
    specialist = signed_in(app, login, world, "specialist")
    form = specialist.get(f"/submissions/{sub_id}").get_data(as_text=True)
    assert f'name="responses-1-item_id" type="hidden" value="{second}"' in form, "one response per item"
    assert re.search(r'id="responses-version" name="version" type="hidden" value="3"', form)

    def respond(rows, version):
        data = {"version": str(version), "save_responses": "Save responses"}
        for n, (item_id, disposition, reason) in enumerate(rows):
            data.update(
                {f"responses-{n}-item_id": str(item_id), f"responses-{n}-disposition": disposition,
                 f"responses-{n}-reason": reason}
            )  # fmt: skip
        return post(specialist, f"/submissions/{sub_id}/responses", data)

    resp = respond([(first, "incorporated", ""), (second, "", "Because")], 3)
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert "Give the reason for this response." in _field_error(page, "responses-0-reason")
    assert "Choose a response, or clear the reason." in _field_error(page, "responses-1-disposition")

    assert respond([(first, "incorporated", "Output 1.1")], 3).status_code == 302
    resp = post(specialist, f"/submissions/{sub_id}/approve", {"version": "4"})
    assert resp.status_code == 422, "every item needs a response before approval"
    assert "Record the ILO&#39;s response to every item" in resp.get_data(as_text=True)

    assert respond([(second, "not_incorporated", "Outside the project's control")], 4).status_code == 302
    assert post(specialist, f"/submissions/{sub_id}/approve", {"version": "5"}).status_code == 302
    assert [i[5] for i in _items(app, sub_id)] == [Disposition.incorporated, Disposition.not_incorporated]
    page = author.get(f"/submissions/{sub_id}").get_data(as_text=True)
    assert "Incorporated" in page and "Output 1.1" in page
    assert "Not incorporated" in page and "Outside the project&#39;s control" in page
    assert "submission.respond" in [e.action for e in events(app, sub_id)]


def test_a_reopened_design_input_can_be_revised_after_the_design_phase(app, design, login):
    world, sub_id, author = design
    post(author, f"/submissions/{sub_id}/save", _design_payload(1, [{"kind": "need", "text": "Training"}]))
    post(author, f"/submissions/{sub_id}/submit", {"version": "2"})
    item = _items(app, sub_id)[0][0]
    specialist = signed_in(app, login, world, "specialist")
    post(
        specialist,
        f"/submissions/{sub_id}/responses",
        {"version": "3", "responses-0-item_id": str(item), "responses-0-disposition": "partly",
         "responses-0-reason": "As output 1.1"},
    )  # fmt: skip
    assert post(specialist, f"/submissions/{sub_id}/approve", {"version": "4"}).status_code == 302
    with app.app_context():
        db.session.get(Project, world.project).phase = Phase.implementation
        db.session.commit()
    assert (
        post(specialist, f"/submissions/{sub_id}/reopen", {"version": "5", "reason": "New donor"}).status_code
        == 302
    )
    assert post(author, f"/projects/{world.project}/design-input").location.endswith(f"/submissions/{sub_id}")
    resp = post(
        author,
        f"/submissions/{sub_id}/save",
        _design_payload(6, [{"id": str(item), "kind": "need", "text": "More"}]),
    )
    assert resp.status_code == 302


def test_a_second_period_gets_its_own_report(app, make, login):
    world = build_world(make)
    second = add_period(app, world, "2026 H2")
    author = signed_in(app, login, world, "author")
    a = post(author, f"/projects/{world.project}/periods/{world.period}/report").location
    b = post(author, f"/projects/{world.project}/periods/{second}/report").location
    assert a != b
