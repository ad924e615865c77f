"""Saving from a second tab on an outdated version never silently undoes the other tab's change."""

from __future__ import annotations

import html
import re

import pytest

from mel_app.extensions import db
from mel_app.models import Phase, Project, Submission
from tests.submissions_world import add_submission, build_world, post, report_payload, signed_in
from tests.test_submissions_forms import _design_payload, _items


@pytest.fixture
def world(make):
    return build_world(make)


def _value(page: str, name: str) -> str:
    """What the page's form holds for a field (textarea or input)."""
    found = re.search(rf'<textarea[^>]*name="{re.escape(name)}"[^>]*>(.*?)</textarea>', page, re.S)
    if found:
        return html.unescape(found.group(1)).lstrip("\r\n")
    found = re.search(rf'<input[^>]*name="{re.escape(name)}"[^>]*value="([^"]*)"', page)
    assert found, f"no field {name} on the page"
    return html.unescape(found.group(1))


def _open(browser, sub_id: int) -> dict[str, str]:
    page = browser.get(f"/submissions/{sub_id}").get_data(as_text=True)
    return {"version": _value(page, "version"), "base": _value(page, "base")}


def _narrative(app, sub_id: int) -> dict[str, str]:
    with app.app_context():
        return dict(db.session.get(Submission, sub_id).narrative)


def test_changes_to_different_fields_are_combined(app, login, world):
    sub_id = add_submission(app, world)
    tab1 = signed_in(app, login, world, "author")
    tab2 = signed_in(app, login, world, "author")
    shown1, shown2 = _open(tab1, sub_id), _open(tab2, sub_id)
    assert (
        post(
            tab1,
            f"/submissions/{sub_id}/save",
            report_payload(world, 1, achievements="From tab one.", base=shown1["base"]),
        ).status_code
        == 302
    )
    resp = post(
        tab2,
        f"/submissions/{sub_id}/save",
        report_payload(world, 1, challenges="From tab two.", base=shown2["base"]),
    )
    assert resp.status_code == 409
    page = resp.get_data(as_text=True)
    assert _value(page, "achievements") == "From tab one."
    assert _value(page, "challenges") == "From tab two."
    assert "choose:" not in page
    # Saving the form as shown keeps both.
    again = report_payload(
        world,
        int(_value(page, "version")),
        achievements="From tab one.",
        challenges="From tab two.",
        base=_value(page, "base"),
    )
    assert post(tab2, f"/submissions/{sub_id}/save", again).status_code == 302
    saved = _narrative(app, sub_id)
    assert saved["achievements"] == "From tab one." and saved["challenges"] == "From tab two."


def test_a_field_both_changed_keeps_the_saved_version_unless_the_user_chooses(app, login, world):
    sub_id = add_submission(app, world)
    tab1 = signed_in(app, login, world, "author")
    tab2 = signed_in(app, login, world, "author")
    shown1, shown2 = _open(tab1, sub_id), _open(tab2, sub_id)
    post(
        tab1,
        f"/submissions/{sub_id}/save",
        report_payload(world, 1, achievements="Theirs.", base=shown1["base"]),
    )
    resp = post(
        tab2,
        f"/submissions/{sub_id}/save",
        report_payload(world, 1, achievements="Mine.", base=shown2["base"]),
    )
    page = resp.get_data(as_text=True)
    assert resp.status_code == 409
    assert _value(page, "achievements") == "Theirs."
    assert 'name="choose:achievements"' in page and "Mine." in page
    version, base = int(_value(page, "version")), _value(page, "base")
    # Kept as it is: the other tab's text stays.
    keep = report_payload(
        world,
        version,
        achievements="Theirs.",
        base=base,
        **{"choose:achievements": "saved", "mine:achievements": "Mine."},
    )
    assert post(tab2, f"/submissions/{sub_id}/save", keep).status_code == 302
    assert _narrative(app, sub_id)["achievements"] == "Theirs."


def test_choosing_my_version_saves_it(app, login, world):
    sub_id = add_submission(app, world)
    tab1 = signed_in(app, login, world, "author")
    tab2 = signed_in(app, login, world, "author")
    shown1, shown2 = _open(tab1, sub_id), _open(tab2, sub_id)
    post(
        tab1,
        f"/submissions/{sub_id}/save",
        report_payload(world, 1, achievements="Theirs.", base=shown1["base"]),
    )
    page = post(
        tab2,
        f"/submissions/{sub_id}/save",
        report_payload(world, 1, achievements="Mine.", base=shown2["base"]),
    ).get_data(as_text=True)
    version, base = int(_value(page, "version")), _value(page, "base")
    choose = report_payload(
        world,
        version,
        achievements="Theirs.",
        base=base,
        **{"choose:achievements": "mine", "mine:achievements": "Mine."},
    )
    assert post(tab2, f"/submissions/{sub_id}/save", choose).status_code == 302
    assert _narrative(app, sub_id)["achievements"] == "Mine."


def test_design_input_from_two_tabs_keeps_one_tabs_edit_and_the_others_new_item(app, make, login):
    world = build_world(make)
    with app.app_context():
        db.session.get(Project, world.project).phase = Phase.design
        db.session.commit()
    tab1 = signed_in(app, login, world, "author")
    resp = post(tab1, f"/projects/{world.project}/design-input")
    sub_id = int(resp.location.rsplit("/", 1)[1])
    post(tab1, f"/submissions/{sub_id}/save", _design_payload(1, [{"kind": "need", "text": "Training"}]))
    (item_id, *_rest) = _items(app, sub_id)[0]
    tab2 = signed_in(app, login, world, "author")
    shown1, shown2 = _open(tab1, sub_id), _open(tab2, sub_id)
    edited = _design_payload(2, [{"id": str(item_id), "kind": "need", "text": "Training for organisers"}])
    assert post(tab1, f"/submissions/{sub_id}/save", {**edited, "base": shown1["base"]}).status_code == 302
    added = _design_payload(
        2,
        [
            {"id": str(item_id), "kind": "need", "text": "Training"},
            {"kind": "risk", "text": "Employers may not attend", "link": ""},
        ],
    )
    resp = post(tab2, f"/submissions/{sub_id}/save", {**added, "base": shown2["base"]})
    assert resp.status_code == 409
    page = resp.get_data(as_text=True)
    assert _value(page, "items-0-text") == "Training for organisers"
    assert _value(page, "items-1-text") == "Employers may not attend"
    assert "choose:" not in page


def test_a_comment_sent_beside_the_form_saves_its_changes_too(app, login, world):
    sub_id = add_submission(app, world)
    author = signed_in(app, login, world, "author")
    shown = _open(author, sub_id)
    page = author.get(f"/submissions/{sub_id}").get_data(as_text=True)
    assert 'form="edit"' in page and 'formaction="/submissions/' in page
    data = report_payload(world, 1, achievements="Typed before commenting.", base=shown["base"])
    data.pop("save")
    data.update(body="Is this the right section?", section="", visibility="shared")
    resp = post(author, f"/submissions/{sub_id}/comments", data)
    assert resp.status_code == 302
    assert _narrative(app, sub_id)["achievements"] == "Typed before commenting."


def test_a_comment_typed_but_not_sent_stays_in_its_box_after_saving(app, login, world):
    sub_id = add_submission(app, world)
    author = signed_in(app, login, world, "author")
    shown = _open(author, sub_id)
    data = report_payload(world, 1, base=shown["base"], body="Half-written question", visibility="shared")
    resp = post(author, f"/submissions/{sub_id}/save", data)
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    assert _value(page, "body") == "Half-written question"
    assert "Your comment is not sent yet" in page


def test_a_choice_both_changed_is_shown_by_its_label(app, login, world):
    sub_id = add_submission(app, world)
    yes_no = f"ind_{world.indicators['1.c']}-value"
    tab1 = signed_in(app, login, world, "author")
    tab2 = signed_in(app, login, world, "author")
    shown1, shown2 = _open(tab1, sub_id), _open(tab2, sub_id)
    post(tab1, f"/submissions/{sub_id}/save", report_payload(world, 1, base=shown1["base"], **{yes_no: "0"}))
    resp = post(
        tab2, f"/submissions/{sub_id}/save", report_payload(world, 1, base=shown2["base"], **{yes_no: ""})
    )
    conflict = re.search(r'<section class="conflict".*?</section>', resp.get_data(as_text=True), re.S).group(
        0
    )
    texts = [t.strip() for t in re.findall(r'<div class="prose">(.*?)</div>', conflict, re.S)]
    assert texts == ["no", "— choose —"], "the saved choice, then the user's, by their labels"
