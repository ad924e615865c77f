"""An administrator reads the audit trail, filters it, downloads it, and opens a record's history."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from playwright.sync_api import expect

from mel_app import audit
from mel_app.extensions import db
from mel_app.models import Organisation, Role
from tests.e2e.steps import main_nav, sign_in


def test_an_administrator_filters_downloads_and_follows_the_trail(page, live_server, app, make, axe_check):
    org = make.organisation("Fictional Central Organisation of Trade Unions")
    make.user("admin@example.org", full_name="Amina Diallo", is_admin=True)
    rep = make.user("rep@example.org", organisation_id=org, full_name="Grace Wanjiru")
    make.member(rep, make.project("RAF/22/11/NOR"), Role.reporter, organisation_id=org)
    with app.app_context():
        audit.set_actor(db.session(), audit.Actor(None, "Amina Diallo"))
        db.session.get(Organisation, org).acronym = "F-COTU"
        audit.record(
            db.session, "organisation.rename", target=db.session.get(Organisation, org), reason="agreed"
        )
        db.session.commit()

    sign_in(page, live_server, "admin@example.org")
    main_nav(page).get_by_role("link", name="Audit trail").click()
    expect(page.get_by_role("heading", name="Audit trail")).to_be_visible()
    axe_check(page)

    # Folded away until needed; a <summary> has no ARIA role to find it by.
    page.locator("summary", has_text="Filters").click()
    page.get_by_label("Action").fill("organisation")
    page.get_by_role("button", name="Filter").click()
    events = page.get_by_role("region", name="Events")
    expect(events.get_by_text("Reason: agreed")).to_be_visible()
    expect(events.get_by_role("link", name=re.compile("^Project membership"))).to_have_count(0)

    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download these events as CSV").click()
    text = Path(download_info.value.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {r["action"] for r in rows} == {"organisation.create", "organisation.rename"}

    page.get_by_role("link", name="Organisation Fictional Central Organisation of Trade Unions").first.click()
    expect(page.get_by_role("heading", name="History: Organisation Fictional Central")).to_be_visible()
    expect(page.get_by_text("F-COTU").first).to_be_visible()
    axe_check(page)
