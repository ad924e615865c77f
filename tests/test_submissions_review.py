"""Review: the queue, comments (shared and ILO-internal), return/approve/reopen, versions and the
diff between them, conflicts between people acting at once, autosave, and "my tasks"."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from mel_app.extensions import db
from mel_app.models import Comment, ReportingPeriod, Status, Submission, SubmissionKind, utcnow
from mel_app.permissions import visible_submission_filter
from mel_app.submissions.diff import compare, text_diff
from tests.submissions_world import (
    add_period,
    add_submission,
    build_world,
    events,
    post,
    report_payload,
    signed_in,
    state,
)


def _section(page: str, section_id: str) -> str:
    match = re.search(rf'<section id="{section_id}".*?</section>', page, re.S)
    return match.group(0) if match else ""


def test_text_diff_marks_words_deleted_and_inserted():
    segments = text_diff("Two committees were formed.", "Three committees were formed in Kisumu.")
    assert [(s.op, s.text) for s in segments] == [
        ("delete", "Two"),
        ("insert", "Three"),
        ("equal", " committees were formed"),
        ("insert", " in Kisumu"),
        ("equal", "."),
    ]


def test_compare_lists_changed_fields_only():
    old = {
        "narrative": {"achievements": "A", "challenges": "B"},
        "values": {"1": {"indicator": "1.a", "value": "30"}},
    }
    new = {
        "narrative": {"achievements": "A", "challenges": "C"},
        "values": {"1": {"indicator": "1.a", "value": "31"}},
    }
    groups = compare(old, new)
    assert [(g.heading, [c.label for c in g.changes]) for g in groups] == [
        ("Narrative", ["Challenges"]),
        ("Indicators", ["1.a — Value"]),
    ]
    assert (groups[1].changes[0].old, groups[1].changes[0].new) == ("30", "31")


def test_journey_return_revise_resubmit_see_what_changed_and_approve(app, make, login):
    world = build_world(make)
    sub_id = add_submission(app, world, Status.draft)
    author = signed_in(app, login, world, "author")
    specialist = signed_in(app, login, world, "specialist")
    assert post(author, f"/submissions/{sub_id}/submit", {"version": "1"}).status_code == 302

    queue = specialist.get("/review").get_data(as_text=True)
    assert f"/submissions/{sub_id}" in queue and "1 submission waits for review." in queue
    page = specialist.get(f"/submissions/{sub_id}").get_data(as_text=True)
    assert "first submitted version" in page
    assert "Return for revision" in page and "Approve" in page

    resp = post(specialist, f"/submissions/{sub_id}/return", {"version": "2", "comment": "  "})
    assert resp.status_code == 422
    assert "Say what needs to change" in resp.get_data(as_text=True)
    assert state(app, sub_id) == (Status.submitted, 2)

    resp = post(
        specialist, f"/submissions/{sub_id}/return", {"version": "2", "comment": "Add the Kisumu figures."}
    )
    assert resp.status_code == 302
    assert state(app, sub_id) == (Status.returned, 3)
    returned = events(app, sub_id)[-1]
    assert (returned.action, returned.actor_name, returned.reason) == (
        "submission.return",
        "Carlos Mendoza",
        "Add the Kisumu figures.",
    )
    assert (returned.before["status"], returned.after["status"]) == ("submitted", "returned")

    page = author.get(f"/submissions/{sub_id}").get_data(as_text=True)
    assert "Returned for revision" in page and "Add the Kisumu figures." in page
    assert 'name="achievements"' in page, "the organisation holds the pen again"
    ind = world.indicators["1.a"]
    data = report_payload(
        world,
        3,
        achievements="Three new women's committees were formed, one in Kisumu.",
        **{f"ind_{ind}-value": "34", f"ind_{ind}-women": "20", f"ind_{ind}-men": "14"},
    )
    assert post(author, f"/submissions/{sub_id}/save", data).status_code == 302
    assert post(author, f"/submissions/{sub_id}/submit", {"version": "4"}).status_code == 302

    page = specialist.get(f"/submissions/{sub_id}").get_data(as_text=True)
    changes = _section(page, "changes")
    assert "What changed since version 1" in changes
    assert "<del>Two</del><ins>Three</ins>" in changes
    assert "<ins>, one in Kisumu</ins>" in changes
    assert "1.a — Women" in changes and "<del>18</del> → <ins>20</ins>" in changes
    assert "Challenges" not in changes, "unchanged sections are not listed"

    assert post(specialist, f"/submissions/{sub_id}/approve", {"version": "5"}).status_code == 302
    assert state(app, sub_id) == (Status.approved, 6)
    # Approved: nobody edits it any more.
    page = author.get(f"/submissions/{sub_id}").get_data(as_text=True)
    assert 'name="achievements"' not in page
    assert post(author, f"/submissions/{sub_id}/save", report_payload(world, 6)).status_code == 409
    assert post(specialist, f"/submissions/{sub_id}/save", report_payload(world, 6)).status_code == 403
    assert state(app, sub_id) == (Status.approved, 6)


def test_internal_comments_are_never_shown_to_the_organisation(app, make, login):
    world = build_world(make)
    sub_id = add_submission(app, world, Status.approved)
    specialist = signed_in(app, login, world, "specialist")
    author = signed_in(app, login, world, "author")
    url = f"/submissions/{sub_id}/comments"
    assert (
        post(
            specialist, url, {"body": "Shared remark", "visibility": "shared", "section": "challenges"}
        ).status_code
        == 302
    )
    assert (
        post(
            specialist, url, {"body": "Secret: the union is under pressure", "visibility": "internal"}
        ).status_code
        == 302
    )
    assert post(author, url, {"body": "Thanks, noted", "visibility": "shared"}).status_code == 302
    resp = post(author, url, {"body": "Trying to post internally", "visibility": "internal"})
    assert resp.status_code == 422, "constituents cannot write ILO-internal comments"

    specialist_page = specialist.get(f"/submissions/{sub_id}").get_data(as_text=True)
    assert "Secret: the union is under pressure" in specialist_page and "ILO internal" in specialist_page
    assert "about Challenges" in specialist_page
    for who in ("author", "colleague"):
        page = signed_in(app, login, world, who).get(f"/submissions/{sub_id}").get_data(as_text=True)
        assert "Shared remark" in page and "Thanks, noted" in page
        assert "Secret" not in page and "ILO internal" not in page
    for who in ("evaluator", "observer"):
        page = signed_in(app, login, world, who).get(f"/submissions/{sub_id}").get_data(as_text=True)
        assert "Shared remark" not in page and "Secret" not in page, "the conversation is not theirs to read"
    admin_page = signed_in(app, login, world, "admin").get(f"/submissions/{sub_id}").get_data(as_text=True)
    assert "Secret" in admin_page and 'name="body"' not in admin_page, "administrators read, never write"
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Comment.id))) == 3


def test_reopen_needs_a_reason_and_gives_the_report_back(app, make, login):
    world = build_world(make)
    sub_id = add_submission(app, world, Status.approved)
    specialist = signed_in(app, login, world, "specialist")
    resp = post(specialist, f"/submissions/{sub_id}/reopen", {"version": "1", "reason": ""})
    assert resp.status_code == 422 and "Give the reason for reopening it." in resp.get_data(as_text=True)
    resp = post(
        specialist, f"/submissions/{sub_id}/reopen", {"version": "1", "reason": "Double counting in 1.a"}
    )
    assert resp.status_code == 302
    assert state(app, sub_id) == (Status.returned, 2)
    event = events(app, sub_id)[-1]
    assert (event.action, event.reason) == ("submission.reopen", "Double counting in 1.a")
    with app.app_context():
        sub = db.session.get(Submission, sub_id)
        assert sub.approved_by_id is None and sub.returned_by_id == world.users["specialist"]
    page = signed_in(app, login, world, "author").get(f"/submissions/{sub_id}").get_data(as_text=True)
    assert "Double counting in 1.a" in page and 'name="achievements"' in page


def test_withdraw_records_the_reason(app, make, login):
    world = build_world(make)
    sub_id = add_submission(app, world, Status.draft)
    author = signed_in(app, login, world, "author")
    assert (
        post(
            author,
            f"/submissions/{sub_id}/withdraw",
            {"version": "1", "reason": "Duplicate", "confirmed": "yes"},
        ).status_code
        == 302
    )
    assert state(app, sub_id)[0] is Status.withdrawn
    assert events(app, sub_id)[-1].reason == "Duplicate"


# ---------------------------------------------------------------------------------------------
# People acting at the same time (sequentially here; with real threads in the concurrency tests)


def test_the_second_of_two_reviewers_is_told_who_acted_first_and_keeps_their_comment(app, make, login):
    world = build_world(make)
    sub_id = add_submission(app, world, Status.submitted)
    first = signed_in(app, login, world, "specialist")
    second = signed_in(app, login, world, "specialist2")
    page = second.get(f"/submissions/{sub_id}").get_data(as_text=True)
    assert 'name="version" type="hidden" value="1"' in page or 'value="1"' in page
    assert post(first, f"/submissions/{sub_id}/approve", {"version": "1"}).status_code == 302
    resp = post(
        second, f"/submissions/{sub_id}/return", {"version": "1", "comment": "Figures for 1.a are off."}
    )
    assert resp.status_code == 409
    page = resp.get_data(as_text=True)
    assert re.search(r"Already approved by Carlos Mendoza at \d", page)
    assert "Figures for 1.a are off." in page, "the losing reviewer's comment is shown back to them"
    assert state(app, sub_id) == (Status.approved, 2)
    assert [e.action for e in events(app, sub_id)][-1:] == ["submission.approve"]


def test_a_second_editor_is_refused_with_both_texts_shown_and_may_save_again(app, make, login):
    world = build_world(make)
    sub_id = add_submission(app, world, Status.draft)
    author = signed_in(app, login, world, "author")
    colleague = signed_in(app, login, world, "colleague")
    mine = report_payload(world, 1, challenges="Funds arrived late, in March.")
    theirs = report_payload(world, 1, challenges="Funds arrived late; transport costs rose.")
    assert post(colleague, f"/submissions/{sub_id}/save", theirs).status_code == 302
    resp = post(author, f"/submissions/{sub_id}/save", mine)
    assert resp.status_code == 409
    page = resp.get_data(as_text=True)
    assert "Someone else saved first" in page
    assert re.search(r"Saved by Joseph Otieno at \d", page)
    conflict = re.search(r'<section class="conflict".*?</section>', page, re.S).group(0)
    assert "Funds arrived late; transport costs rose." in conflict, "their text"
    assert "Funds arrived late, in March." in conflict, "your text"
    assert "Achievements" not in conflict, "identical sections are not repeated"
    # Both changed it: the saved text stays in the form unless the author chooses theirs.
    assert re.search(
        r'<textarea[^>]*name="challenges"[^>]*>\s*Funds arrived late; transport costs rose.</textarea>', page
    )
    assert 'name="choose:challenges" value="mine"' in conflict
    assert 'name="version" type="hidden" value="2"' in page or re.search(
        r'name="version"[^>]*value="2"', page
    )
    with app.app_context():
        assert (
            db.session.get(Submission, sub_id).narrative["challenges"]
            == "Funds arrived late; transport costs rose."
        )
    # Having seen both, the author saves again, on purpose.
    mine["version"] = "2"
    assert post(author, f"/submissions/{sub_id}/save", mine).status_code == 302
    assert state(app, sub_id) == (Status.draft, 3)


def test_an_editor_whose_report_was_submitted_meanwhile_gets_their_text_back(app, make, login):
    world = build_world(make)
    sub_id = add_submission(app, world, Status.draft)
    author = signed_in(app, login, world, "author")
    colleague = signed_in(app, login, world, "colleague")
    assert post(colleague, f"/submissions/{sub_id}/submit", {"version": "1"}).status_code == 302
    resp = post(author, f"/submissions/{sub_id}/save", report_payload(world, 1, next_steps="My unsaved plan"))
    assert resp.status_code == 409
    page = resp.get_data(as_text=True)
    assert "Your text was not saved" in page and "My unsaved plan" in page
    assert re.search(r"Already submitted by Joseph Otieno at \d", page)


def test_autosave_saves_with_the_version_and_refuses_a_stale_one(app, make, login):
    world = build_world(make)
    sub_id = add_submission(app, world, Status.draft)
    author = signed_in(app, login, world, "author")
    resp = post(author, f"/submissions/{sub_id}/autosave", report_payload(world, 1, achievements="Autosaved"))
    assert resp.status_code == 200 and resp.json["ok"] and resp.json["version"] == 2
    assert events(app, sub_id)[-1].action == "submission.save"
    resp = post(author, f"/submissions/{sub_id}/autosave", report_payload(world, 1, achievements="Stale"))
    assert resp.status_code == 409 and resp.json["conflict"]
    assert "Saved by Grace Wanjiru" in resp.json["message"]
    ind = world.indicators["1.b"]
    resp = post(
        author, f"/submissions/{sub_id}/autosave", report_payload(world, 2, **{f"ind_{ind}-value": "300"})
    )
    assert resp.status_code == 422 and not resp.json["ok"]
    specialist = signed_in(app, login, world, "specialist")
    assert post(specialist, f"/submissions/{sub_id}/autosave", report_payload(world, 2)).status_code == 403
    with app.app_context():
        assert db.session.get(Submission, sub_id).narrative["achievements"] == "Autosaved"


def test_the_form_loads_the_autosave_script_deferred_and_works_without_it(app, make, login):
    world = build_world(make)
    sub_id = add_submission(app, world, Status.draft)
    page = signed_in(app, login, world, "author").get(f"/submissions/{sub_id}").get_data(as_text=True)
    assert re.search(r'<script src="/static/js/autosave\.js\?v=[0-9a-f]+" defer></script>', page)
    assert "<script>" not in page, "no inline script (strict CSP)"
    assert 'data-autosave-url="/submissions/' in page and 'data-autosave-seconds="30"' in page
    assert 'enctype="multipart/form-data"' in page


# ---------------------------------------------------------------------------------------------
# Versions


def test_anyone_who_may_see_the_submission_reads_every_version(app, make, login):
    world = build_world(make)
    sub_id = add_submission(app, world, Status.draft)
    author = signed_in(app, login, world, "author")
    specialist = signed_in(app, login, world, "specialist")
    post(author, f"/submissions/{sub_id}/submit", {"version": "1"})
    post(specialist, f"/submissions/{sub_id}/return", {"version": "2", "comment": "More detail"})
    post(
        author, f"/submissions/{sub_id}/save", report_payload(world, 3, lessons_learned="Listen to members.")
    )
    post(author, f"/submissions/{sub_id}/submit", {"version": "4"})
    post(specialist, f"/submissions/{sub_id}/approve", {"version": "5"})
    for who in ("author", "specialist", "observer", "evaluator", "admin"):
        client = author if who == "author" else signed_in(app, login, world, who)
        first = client.get(f"/submissions/{sub_id}/versions/1")
        second = client.get(f"/submissions/{sub_id}/versions/2")
        assert (first.status_code, second.status_code) == (200, 200), who
        assert "Joint campaigns recruit more women." in first.get_data(as_text=True)
        assert "<ins>Listen</ins>" in second.get_data(
            as_text=True
        ) or "Listen to members." in second.get_data(as_text=True)
    assert author.get(f"/submissions/{sub_id}/versions/3").status_code == 404
    for who in ("other_org", "outsider"):
        assert signed_in(app, login, world, who).get(f"/submissions/{sub_id}/versions/1").status_code == 404


# ---------------------------------------------------------------------------------------------
# Review queue


def _queue_world(app, make, login, n_extra=0):
    world = build_world(make)
    ids = {}
    ids["old"] = add_submission(app, world, Status.submitted)
    with app.app_context():
        db.session.get(Submission, ids["old"]).submitted_at = utcnow() - timedelta(days=40)
        db.session.commit()
    ids["employers"] = add_submission(
        app, world, Status.submitted, organisation=world.employers, author="other_org"
    )
    ids["design"] = add_submission(app, world, Status.submitted, kind=SubmissionKind.design_input)
    ids["draft"] = add_submission(app, world, Status.draft, period=add_period(app, world, "2026 H2"))
    for n in range(n_extra):
        add_submission(app, world, Status.submitted, period=add_period(app, world, f"X{n}"))
    return world, ids


def _queue_ids(page: str) -> set[int]:
    table = page.split("<tbody>")[1].split("</tbody>")[0] if "<tbody>" in page else ""
    return {int(i) for i in re.findall(r'href="/submissions/(\d+)"', table)}


def test_the_review_queue_filters_by_project_kind_organisation_period_and_age(app, make, login):
    world, ids = _queue_world(app, make, login)
    specialist = signed_in(app, login, world, "specialist")
    awaiting = {ids["old"], ids["employers"], ids["design"]}
    assert _queue_ids(specialist.get("/review").get_data(as_text=True)) == awaiting
    assert _queue_ids(specialist.get(f"/review?project={world.project}").get_data(as_text=True)) == awaiting
    assert _queue_ids(specialist.get("/review?kind=design_input").get_data(as_text=True)) == {ids["design"]}
    assert _queue_ids(specialist.get(f"/review?organisation={world.employers}").get_data(as_text=True)) == {
        ids["employers"]
    }
    assert _queue_ids(specialist.get("/review?period=2026+H1").get_data(as_text=True)) == {
        ids["old"],
        ids["employers"],
    }
    assert _queue_ids(specialist.get("/review?age=30").get_data(as_text=True)) == {ids["old"]}
    # Unknown or foreign filter values are ignored rather than trusted.
    assert (
        _queue_ids(specialist.get(f"/review?project={world.other_project}").get_data(as_text=True))
        == awaiting
    )
    outsider = signed_in(app, login, world, "outsider")
    assert _queue_ids(outsider.get("/review").get_data(as_text=True)) == set(), "other projects' specialists"


@pytest.mark.parametrize("who", ["author", "observer", "evaluator", "admin"])
def test_the_review_queue_is_for_specialists(app, make, login, who):
    world = build_world(make)
    client = signed_in(app, login, world, who)
    assert client.get("/review").status_code == 403
    assert 'href="/review"' not in client.get("/").get_data(as_text=True), "no link to what they cannot use"


def test_the_review_queue_and_home_page_queries_do_not_grow_with_the_data(app, make, login, queries):
    world, _ids = _queue_world(app, make, login, n_extra=1)
    specialist = signed_in(app, login, world, "specialist")
    author = signed_in(app, login, world, "author")
    specialist.get("/review")
    with queries() as few:
        specialist.get("/review")
        specialist.get("/")
        author.get("/")
    for n in range(2, 8):
        add_submission(app, world, Status.submitted, period=add_period(app, world, f"Y{n}"))
    with queries() as many:
        page = specialist.get("/review").get_data(as_text=True)
        specialist.get("/")
        author.get("/")
    assert len(_queue_ids(page)) == 10
    assert len(many) == len(few)


def test_the_review_queue_is_paginated(app, make, login):
    world = build_world(make)
    app.config["PAGE_SIZE"] = 2
    for n in range(5):
        add_submission(app, world, Status.submitted, period=add_period(app, world, f"Z{n}"))
    specialist = signed_in(app, login, world, "specialist")
    first = specialist.get("/review").get_data(as_text=True)
    third = specialist.get("/review?page=3").get_data(as_text=True)
    assert len(_queue_ids(first)) == 2 and len(_queue_ids(third)) == 1
    assert "Page 1 of 3" in first and 'rel="next"' in first


def test_lists_are_filtered_in_sql_by_who_may_see_what(app, make, login):
    world = build_world(make)
    draft = add_submission(app, world, Status.draft)
    approved = add_submission(app, world, Status.approved, period=add_period(app, world, "A"))
    employers = add_submission(app, world, Status.draft, organisation=world.employers, author="other_org")
    expected = {
        "author": {draft, approved},
        "other_org": {employers},
        "specialist": {draft, approved, employers},
        "observer": {approved},
        "evaluator": {approved},
        "outsider": set(),
        "admin": {draft, approved, employers},
    }
    with app.app_context():
        from mel_app.models import User

        for who, ids in expected.items():
            with app.test_request_context():
                user = db.session.get(User, world.users[who])
                found = set(
                    db.session.scalars(sa.select(Submission.id).where(visible_submission_filter(user)))
                )
            assert found == ids, who


# ---------------------------------------------------------------------------------------------
# My tasks


def test_my_tasks_shows_reports_due_overdue_and_returned_and_what_awaits_review(app, make, login):
    today = date.today()
    world = build_world(make, today=today)
    with app.app_context():
        period = db.session.get(ReportingPeriod, world.period)
        period.end_date, period.due_date = today - timedelta(days=1), today + timedelta(days=10)
        db.session.add(
            ReportingPeriod(
                project_id=world.project,
                label="2025 H2",
                start_date=today - timedelta(days=400),
                end_date=today - timedelta(days=220),
                due_date=today - timedelta(days=190),
            )
        )
        db.session.add(
            ReportingPeriod(
                project_id=world.project,
                label="2099 H1",
                start_date=today + timedelta(days=400),
                end_date=today + timedelta(days=500),
                due_date=today + timedelta(days=530),
            )
        )
        db.session.commit()
    returned = add_submission(app, world, Status.returned, period=add_period(app, world, "2024 H1"))
    awaiting = add_submission(app, world, Status.submitted, organisation=world.employers, author="other_org")

    page = signed_in(app, login, world, "author").get("/").get_data(as_text=True)
    tasks = page.split('id="tasks-submissions-heading"')[1].split("</section>")[0]
    assert "Returned to you for revision" in tasks and f"/submissions/{returned}" in tasks
    assert "Overdue reports" in tasks and "progress report 2025 H2" in tasks
    assert "Reports due" in tasks and "progress report 2026 H1" in tasks
    assert "2099 H1" not in tasks, "a period that has not started is not due yet"
    assert f'action="/projects/{world.project}/periods/{world.period}/report"' in tasks
    assert f"/submissions/{awaiting}" not in tasks, "another organisation's report is not the author's task"

    other = signed_in(app, login, world, "other_org").get("/").get_data(as_text=True)
    assert "progress report 2025 H2" in other, "the employers have not reported for it either"
    assert "progress report 2026 H1" not in other, "their 2026 H1 report is submitted: nothing to do"

    spec = signed_in(app, login, world, "specialist").get("/").get_data(as_text=True)
    assert "Awaiting your review" in spec and f"/submissions/{awaiting}" in spec
    assert "See the 1 submission awaiting review" in spec


def test_starting_from_my_tasks_opens_the_report(app, make, login):
    world = build_world(make)
    author = signed_in(app, login, world, "author")
    page = author.get("/").get_data(as_text=True)
    action = re.search(r'action="(/projects/\d+/periods/\d+/report)"', page).group(1)
    resp = post(author, action)
    assert resp.status_code == 302
    form = author.get(resp.location).get_data(as_text=True)
    assert 'name="achievements"' in form
    assert "continue the draft" in author.get("/").get_data(as_text=True)


def test_the_submission_page_queries_do_not_grow_with_comments_versions_and_values(app, make, login, queries):
    world = build_world(make)
    sub_id = add_submission(app, world, Status.draft)
    author = signed_in(app, login, world, "author")
    specialist = signed_in(app, login, world, "specialist")

    def round_trip(n):
        post(author, f"/submissions/{sub_id}/submit", {"version": state(app, sub_id)[1]})
        for i in range(n):
            post(
                specialist, f"/submissions/{sub_id}/comments", {"body": f"Note {i}", "visibility": "internal"}
            )
        post(
            specialist, f"/submissions/{sub_id}/return", {"version": state(app, sub_id)[1], "comment": "More"}
        )

    round_trip(1)
    with queries() as few:
        specialist.get(f"/submissions/{sub_id}")
        author.get(f"/submissions/{sub_id}")
    round_trip(5)
    round_trip(5)
    with queries() as many:
        specialist.get(f"/submissions/{sub_id}")
        author.get(f"/submissions/{sub_id}")
    assert len(many) == len(few)
