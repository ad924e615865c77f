"""Saving from a second tab on an outdated version never silently undoes the other tab's change."""

from __future__ import annotations

import html
import re

import pytest

from mel_app.extensions import db
from mel_app.models import Submission
from tests.submissions_world import add_submission, build_world, post, report_payload, signed_in


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
