"""Two tabs (or two colleagues) saving the same draft, with evidence files.

The save that loses on its text is shown both versions with the user's own text in the form, its
new files are added rather than lost, and the page never breaks because the other save changed
the list of files (or a specialist the list of indicators) the form was made for.
"""

from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa

from mel_app import audit
from mel_app.extensions import db
from mel_app.models import Attachment, Indicator, Measure, Status, SubmissionKind
from tests.concurrency import all_at_once
from tests.conftest import csrf_token, is_postgres
from tests.submissions_world import add_submission, build_world, post, report_payload, signed_in, state


def files_of(app, sub_id) -> list[str]:
    with app.app_context():
        return list(
            db.session.scalars(
                sa.select(Attachment.filename)
                .where(Attachment.submission_id == sub_id, Attachment.is_deleted.is_(False))
                .order_by(Attachment.id)
            )
        )


def save_with_files(client, world, sub_id, version, files, **fields):
    data = report_payload(world, version, **fields)
    data["evidence"] = [(io.BytesIO(content), name) for name, content in files]
    return post(client, f"/submissions/{sub_id}/save", data, content_type="multipart/form-data")


@pytest.fixture
def draft(app, make, login):
    world = build_world(make)
    sub_id = add_submission(app, world, Status.draft)
    author = signed_in(app, login, world, "author")
    # One file already there, so that the form carries a "remove" box for it.
    resp = save_with_files(author, world, sub_id, 1, [("agenda.txt", b"Agenda of the meeting\n")])
    assert resp.status_code == 302
    return world, sub_id, author


def test_the_tab_that_saves_second_keeps_its_text_and_its_file_and_the_page_renders(app, draft):
    world, sub_id, author = draft
    _status, seen = state(app, sub_id)  # both tabs opened the draft at this version
    with app.app_context():
        agenda = db.session.scalar(sa.select(Attachment.id).where(Attachment.filename == "agenda.txt"))
    first = save_with_files(
        author, world, sub_id, seen, [("minutes.txt", b"Minutes\n")], achievements="Text of tab one"
    )
    assert first.status_code == 302
    second = save_with_files(
        author,
        world,
        sub_id,
        seen,
        [("photo-list.csv", b"name,place\nA,B\n")],
        achievements="Text of tab two",
        **{f"remove_{agenda}": "y"},
    )
    assert second.status_code == 409
    page = second.get_data(as_text=True)
    assert "Someone else saved first" in page
    assert "Text of tab one" in page and "Text of tab two" in page
    assert "Your new files were added to the report: photo-list.csv." in page
    # Every file there is now has its box, the one ticked in tab two still ticked.
    assert files_of(app, sub_id) == ["agenda.txt", "minutes.txt", "photo-list.csv"]
    for name in files_of(app, sub_id):
        assert f"Remove {name}" in page
    ticked = re.search(r'<input[^>]*name="remove_(\d+)"[^>]*>', page)
    assert ticked and "checked" in ticked.group(0), "the box ticked in tab two is still ticked"
    # The form carries the version after the files were added: saving again goes through.
    version = int(page.split('name="version" type="hidden" value="')[1].split('"')[0])
    assert version == state(app, sub_id)[1]
    again = save_with_files(author, world, sub_id, version, [], achievements="Text of tab two")
    assert again.status_code == 302
    with app.app_context():
        from mel_app.models import Submission

        assert db.session.get(Submission, sub_id).narrative["achievements"] == "Text of tab two"


def test_a_conflict_after_a_specialist_added_an_indicator_still_shows_the_form(app, draft):
    world, sub_id, author = draft
    _status, seen = state(app, sub_id)
    assert save_with_files(author, world, sub_id, seen, [], achievements="Tab one").status_code == 302
    with app.app_context():
        audit.set_actor(db.session(), audit.SYSTEM_ACTOR)
        indicator = Indicator(
            result_id=world.result,
            project_id=world.project,
            code="1.z",
            title="Agreements signed",
            measure=Measure.number,
            position=9,
        )
        db.session.add(indicator)
        db.session.commit()
    resp = save_with_files(
        author, world, sub_id, seen, [("late.txt", b"Late notes\n")], achievements="Tab two"
    )
    assert resp.status_code == 409
    page = resp.get_data(as_text=True)
    assert "Tab two" in page and "Agreements signed" in page
    assert "late.txt" in files_of(app, sub_id)


def test_files_are_named_to_attach_again_when_the_draft_was_submitted_meanwhile(app, draft):
    world, sub_id, author = draft
    _status, seen = state(app, sub_id)
    confirm = post(author, f"/submissions/{sub_id}/submit", {"version": str(seen)})
    assert confirm.status_code == 302, confirm.get_data(as_text=True)[:2000]
    resp = save_with_files(
        author, world, sub_id, seen, [("budget.csv", b"line,amount\nA,1\n")], achievements="Unsent words"
    )
    assert resp.status_code == 409
    page = resp.get_data(as_text=True)
    assert "Unsent words" in page
    assert "Your files were not saved: budget.csv. Attach them again." in page
    assert files_of(app, sub_id) == ["agenda.txt"]


def test_design_input_saved_from_two_tabs_with_a_file_keeps_both(app, make, login):
    world = build_world(make)
    sub_id = add_submission(app, world, Status.draft, kind=SubmissionKind.design_input)
    author = signed_in(app, login, world, "author")

    def save(text, files):
        data = {
            "version": "1",
            "items-0-id": "",
            "items-0-kind": "need",
            "items-0-text": text,
            "items-0-link": "",
            "save": "Save draft",
            "evidence": [(io.BytesIO(content), name) for name, content in files],
        }
        return post(author, f"/submissions/{sub_id}/save", data, content_type="multipart/form-data")

    assert save("Training for organisers", [("needs.txt", b"Needs\n")]).status_code == 302
    resp = save("Childcare at meetings", [("survey.txt", b"Survey\n")])
    assert resp.status_code == 409
    page = resp.get_data(as_text=True)
    assert "Childcare at meetings" in page and "Training for organisers" in page
    assert files_of(app, sub_id) == ["needs.txt", "survey.txt"]
    assert "Remove needs.txt" in page and "Remove survey.txt" in page


THREADS = 20


@pytest.mark.postgres_only
@pytest.mark.skipif(not is_postgres(), reason="needs PostgreSQL: SQLite lets one writer in at a time")
def test_twenty_concurrent_saves_with_files_none_fails_and_every_file_is_kept(app, make, login):
    world = build_world(make)
    sub_id = add_submission(app, world, Status.draft)
    clients = []
    for n in range(THREADS):
        client = signed_in(app, login, world, "author" if n % 2 == 0 else "colleague")
        clients.append((client, csrf_token(client)))

    def save(i, client, token):
        data = report_payload(world, 1, achievements=f"Text of editor {i}")
        data["csrf_token"] = token
        data["evidence"] = [(io.BytesIO(f"Notes of editor {i}\n".encode()), f"notes-{i}.txt")]
        return client.post(f"/submissions/{sub_id}/save", data=data, content_type="multipart/form-data")

    results = all_at_once(clients, save)
    codes = [code for code, _page in results]
    assert sorted(codes) == [302] + [409] * (THREADS - 1), sorted(codes)
    for i, (code, page) in enumerate(results):
        if code == 409:
            assert f"Text of editor {i}" in page, "each refused editor gets their own text back"
            assert f"Your new files were added to the report: notes-{i}.txt." in page
    assert sorted(files_of(app, sub_id)) == sorted(f"notes-{i}.txt" for i in range(THREADS))
