"""A submitted version reads in the order of the form: indicators as the framework lists them (not
as text, where 1.1.a comes before 1.a), narrative sections as the form asks them; and "Last saved"
names whoever last changed the words, at that time, not the reviewer's later return."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import sqlalchemy as sa

from mel_app.dates import format_datetime
from mel_app.extensions import db
from mel_app.models import Indicator, Measure, Result, ResultType, Status, Submission
from tests.submissions_world import add_submission, build_world, post, report_payload, signed_in, state


def _outputs_with_indicators(app, world) -> dict[str, int]:
    """Outputs 1.1 and 1.2 under outcome 1, each with one indicator: the framework reads 1.a … 1.d,
    then 1.1.a, then 1.2.a."""
    with app.app_context():
        outcome = db.session.get(Result, world.result)
        ids = {}
        for position, code in enumerate(("1.1", "1.2"), start=1):
            output = Result(
                project_id=world.project,
                parent=outcome,
                code=code,
                type=ResultType.output,
                title=f"Output {code}",
                position=position,
            )
            indicator = Indicator(
                result=output,
                project_id=world.project,
                code=f"{code}.a",
                title=f"Indicator {code}.a",
                measure=Measure.number,
                position=0,
            )
            db.session.add_all([output, indicator])
            db.session.flush()
            ids[indicator.code] = indicator.id
        db.session.commit()
    return ids


def _payload(world, sub_id, app, extra: dict[str, int], value: str, **narrative):
    fields = {f"ind_{ind}-value": value for ind in extra.values()}
    fields[f"ind_{world.indicators['1.a']}-value"] = ""
    fields[f"ind_{world.indicators['1.a']}-women"] = value
    fields[f"ind_{world.indicators['1.a']}-men"] = "1"
    return report_payload(world, state(app, sub_id)[1], **fields, **narrative)


def test_a_version_lists_indicators_and_sections_in_the_order_of_the_form(app, make, login):
    world = build_world(make)
    extra = _outputs_with_indicators(app, world)
    sub_id = add_submission(app, world, Status.draft)
    author = signed_in(app, login, world, "author")
    specialist = signed_in(app, login, world, "specialist")

    resp = post(author, f"/submissions/{sub_id}/save", _payload(world, sub_id, app, extra, "5"))
    assert resp.status_code == 302
    assert (
        post(author, f"/submissions/{sub_id}/submit", {"version": state(app, sub_id)[1]}).status_code == 302
    )
    resp = post(
        specialist, f"/submissions/{sub_id}/return", {"version": state(app, sub_id)[1], "comment": "More."}
    )
    assert resp.status_code == 302
    changed = _payload(
        world, sub_id, app, extra, "7", achievements="Ten new branches.", social_dialogue="Two councils met."
    )
    assert post(author, f"/submissions/{sub_id}/save", changed).status_code == 302
    assert (
        post(author, f"/submissions/{sub_id}/submit", {"version": state(app, sub_id)[1]}).status_code == 302
    )

    form_order = ["1.a", "1.b", "1.c", "1.d", "1.1.a", "1.2.a"]
    page = specialist.get(f"/submissions/{sub_id}/versions/2").get_data(as_text=True)
    table = re.search(r'aria-labelledby="indicators-heading">.*?<tbody>(.*?)</tbody>', page, re.S).group(1)
    assert re.findall(r"<th scope=\"row\"><strong>([^<]+)</strong>", table) == form_order

    sections = re.search(r'<section aria-labelledby="narrative-heading">(.*?)</section>', page, re.S).group(1)
    assert re.findall(r"<h3>([^<]+)</h3>", sections) == [
        "Achievements",
        "Challenges",
        "Lessons learned",
        "Next steps",
        "Gender equality and non-discrimination",
        "Social dialogue",
    ]

    for url in (f"/submissions/{sub_id}/versions/2", f"/submissions/{sub_id}"):
        changes = specialist.get(url).get_data(as_text=True)
        changes = re.search(r'<section id="changes".*?</section>', changes, re.S).group(0)
        codes = re.findall(r"(\d[\w.]*) — (?:Value|Women)", changes)
        assert list(dict.fromkeys(codes)) == ["1.a", "1.1.a", "1.2.a"], url
        headings = re.findall(r"Achievements|Social dialogue", changes)
        assert headings[:2] == ["Achievements", "Social dialogue"], url


def _last_saved(page: str) -> str:
    match = re.search(r"<dt>Last saved</dt><dd>(.*?)</dd>", page, re.S)
    assert match, "the page says who last saved"
    return match.group(1).strip()


def test_last_saved_names_who_changed_the_words_not_the_reviewers_return(app, make, login):
    world = build_world(make)
    sub_id = add_submission(app, world, Status.draft)
    colleague = signed_in(app, login, world, "colleague")
    author = signed_in(app, login, world, "author")
    specialist = signed_in(app, login, world, "specialist")

    resp = post(
        colleague, f"/submissions/{sub_id}/save", report_payload(world, 1, next_steps="Congress in May.")
    )
    assert resp.status_code == 302
    saved_at = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)
    with app.app_context():
        # The colleague's save happened weeks ago; everything after it is a transition.
        db.session.execute(
            sa.update(Submission)
            .where(Submission.id == sub_id)
            .values(updated_at=saved_at, last_edited_at=saved_at)
        )
        db.session.commit()
    assert (
        post(author, f"/submissions/{sub_id}/submit", {"version": state(app, sub_id)[1]}).status_code == 302
    )
    resp = post(
        specialist, f"/submissions/{sub_id}/return", {"version": state(app, sub_id)[1], "comment": "Add 1.b."}
    )
    assert resp.status_code == 302

    with app.test_request_context():
        expected = f"Joseph Otieno, {format_datetime(saved_at, 'short')}"
    with app.app_context():
        assert db.session.get(Submission, sub_id).last_edited_by.full_name == "Joseph Otieno"
    assert _last_saved(author.get(f"/submissions/{sub_id}").get_data(as_text=True)) == expected

    # Saving again credits the one who saved, now.
    resp = post(author, f"/submissions/{sub_id}/save", report_payload(world, state(app, sub_id)[1]))
    assert resp.status_code == 302
    assert not _last_saved(author.get(f"/submissions/{sub_id}").get_data(as_text=True)).startswith("Joseph")
