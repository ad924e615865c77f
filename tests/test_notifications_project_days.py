"""A project's specialist chooses its report reminders' days on the project's form."""

from __future__ import annotations

from mel_app.extensions import db
from mel_app.models import Project
from tests.test_projects_pages import _form, world  # noqa: F401 - the fixture


def _edit(client, post, world, days):  # noqa: F811 - the fixture imported above
    page = client.get(f"/projects/{world.project}/edit").get_data(as_text=True)
    stamp = page.split('name="updated_at" type="hidden" value="')[1].split('"')[0]
    data = _form(
        reference="RAF/22/11/NOR", phase="implementation", updated_at=stamp, report_reminder_days=days
    )
    return post(f"/projects/{world.project}/edit", data)


def test_the_days_are_saved_in_order_and_bad_ones_refused_with_a_message(
    app, client, login, post, world  # noqa: F811 - the fixture imported above
):
    login("spec@example.org")
    assert _edit(client, post, world, " 3, 14 ").status_code == 302
    with app.app_context():
        assert db.session.get(Project, world.project).report_reminder_days == "14,3"
    refused = _edit(client, post, world, "two weeks")
    assert refused.status_code in (400, 422)
    assert "whole numbers of days from 1 to 365" in refused.get_data(as_text=True)
    assert "two weeks" in refused.get_data(as_text=True), "the input comes back"
    assert _edit(client, post, world, "").status_code == 302
    with app.app_context():
        assert db.session.get(Project, world.project).report_reminder_days is None, "empty: the default"
