"""Journey 3 (DESIGN.md §1), up to the consolidated view: evaluators and constituents score an
evaluation; the evaluator opens the consolidated view, each criterion and group side by side."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from mel_app import audit
from mel_app.evaluations import services
from mel_app.extensions import db
from mel_app.models import Evaluation, User
from tests.evaluation_world import add_evaluation, build_world
from tests.factories import PASSWORD


def sign_in(page, base, email):
    page.goto(base + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="My tasks")).to_be_visible()


def sign_out(page):
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You have signed out.")).to_be_visible()


def cells(page, code, group):
    """The statistics of one group for one criterion, as table cells."""
    row = page.locator(f"#criterion-{code} tr").filter(has=page.locator("th[scope=row]", has_text=group))
    return row.locator("td")


def fill_scorecard(page, criteria, points, *, draft_first=False):
    """points: criterion code -> scale label to choose ("Cannot assess" included)."""
    for code, criterion_id in criteria.items():
        block = page.locator(f"#criterion-{criterion_id}")
        label = points.get(code, "4 — Moderately satisfactory")
        block.get_by_label(label, exact=True).check()
        block.get_by_label("Justification").fill(f"What we saw on {code}.")
        if draft_first and code == "COH":
            page.get_by_role("button", name="Save draft").click()
            expect(page.get_by_text("Draft saved.")).to_be_visible()
            # The draft came back: the answers so far are still there.
            expect(page.locator(f"#criterion-{criteria['REL']}").get_by_label("Justification")).to_have_value(
                "What we saw on REL."
            )


def test_evaluators_and_constituents_score_and_the_evaluator_sees_the_groups_side_by_side(
    page, live_server, app, make, axe_check
):
    world = build_world(app, make)
    criteria = world.criteria

    # The specialist opens the evaluation and invites the evaluator, the union and the employers.
    sign_in(page, live_server, world.emails["specialist"])
    page.goto(f"{live_server}/projects/{world.project}/evaluations")
    page.get_by_role("link", name="Open an evaluation").click()
    page.get_by_label("Title").fill("Mid-term evaluation 2026")
    page.get_by_label("Kind").select_option(label="Mid-term evaluation")
    page.get_by_label("Eva Evaluator").check()
    page.get_by_label(re.compile("Fictional Union Centre")).check()
    page.get_by_label(re.compile("Fictional Employers Federation")).check()
    axe_check(page)
    page.get_by_role("button", name="Open the evaluation").click()
    expect(page.get_by_text("The evaluation is open.")).to_be_visible()
    sign_out(page)

    # The union representative finds the scorecard in their tasks, saves a draft, then submits.
    sign_in(page, live_server, world.emails["union1"])
    page.get_by_role("link", name="Mid-term evaluation 2026").click()
    expect(page.get_by_role("heading", name="My scorecard")).to_be_visible()
    axe_check(page)
    fill_scorecard(
        page,
        criteria,
        {"REL": "6 — Highly satisfactory", "SDT": "6 — Highly satisfactory", "JTE": "Cannot assess"},
        draft_first=True,
    )
    page.get_by_role("button", name="Submit my scorecard").click()
    expect(page.get_by_text("Your scorecard is submitted.")).to_be_visible()
    # While the evaluation is open, constituents do not see the results.
    expect(page.get_by_text("The consolidated results will be shown here")).to_be_visible()
    sign_out(page)

    # The employers' representative scores too (through the same service the page uses).
    with app.app_context():
        audit.set_actor(db.session(), audit.SYSTEM_ACTOR)
        employer = db.session.get(User, world.users["employer"])
        evaluation_id = db.session.scalar(db.select(Evaluation.id))
        card = services.load_scorecard(evaluation_id, employer.id)
        answers = {
            cid: services.Answer(point=3 if code in ("REL", "SDT") else 4, justification="Our members' view")
            for code, cid in criteria.items()
        }
        services.save_scorecard(
            card, actor=employer, expected_version=card.version, answers=answers, submit=True
        )
        db.session.commit()

    # The evaluator cannot see the results before scoring; then scores and opens them.
    sign_in(page, live_server, world.emails["evaluator"])
    page.goto(f"{live_server}/evaluations/{evaluation_id}/results")
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    page.goto(f"{live_server}/")
    page.get_by_role("link", name="Mid-term evaluation 2026").click()
    fill_scorecard(page, criteria, {"REL": "5 — Satisfactory", "EFI": "3 — Moderately unsatisfactory"})
    page.get_by_role("button", name="Submit my scorecard").click()
    expect(page.get_by_text("Your scorecard is submitted.")).to_be_visible()
    page.get_by_role("link", name="Consolidated results").click()

    expect(page.get_by_role("heading", name="Consolidated results")).to_be_visible()
    chart = page.get_by_role("img", name="Mean score of each group, per criterion")
    expect(chart).to_be_visible()
    # Workers 6 against employers 3 on relevance and on social dialogue: flagged.
    divergent = page.locator("ul.divergent")
    expect(divergent).to_contain_text("REL — Relevance")
    expect(divergent).to_contain_text("SDT — Social dialogue and tripartism")
    expect(divergent).not_to_contain_text("COH")
    expect(cells(page, "REL", "All groups")).to_have_text(["3", "4.67", "5.0", "1.53", "3", "6", "0"])
    expect(cells(page, "REL", "Workers")).to_have_text(["1", "6.00", "6.0", "–", "6", "6", "0"])
    expect(cells(page, "JTE", "Workers")).to_have_text(["0", "–", "–", "–", "–", "–", "1"])
    # Individual scores with names, for the evaluator.
    expect(page.get_by_role("table").filter(has_text="Una Union")).to_be_visible()
    axe_check(page)
    sign_out(page)

    # The specialist closes the evaluation; the union representative then reads the results,
    # without anyone's name or individual score.
    sign_in(page, live_server, world.emails["specialist"])
    page.goto(f"{live_server}/evaluations/{evaluation_id}")
    page.get_by_role("button", name="Close the evaluation").click()
    expect(page.get_by_text("The evaluation is closed: it takes no more scores.")).to_be_visible()
    sign_out(page)
    sign_in(page, live_server, world.emails["union1"])
    page.goto(f"{live_server}/evaluations/{evaluation_id}")
    page.get_by_role("link", name="Consolidated results").click()
    expect(cells(page, "REL", "Employers")).to_have_text(["1", "3.00", "3.0", "–", "3", "3", "0"])
    expect(page.get_by_text("Eva Evaluator")).to_have_count(0)
    expect(page.get_by_role("heading", name="Individual scores")).to_have_count(0)


def test_an_administrator_copies_the_scale_in_use_and_adapts_the_copy(
    page, live_server, app, make, axe_check
):
    world = build_world(app, make)
    add_evaluation(app, world)
    sign_in(page, live_server, world.emails["admin"])
    page.get_by_role("link", name="Criteria and scales").click()
    expect(page.get_by_role("heading", name="Criteria sets")).to_be_visible()
    axe_check(page)
    page.get_by_role("link", name="Scales", exact=True).click()
    page.get_by_role("link", name=re.compile("^Six-point scale")).click()
    expect(page.get_by_text("it cannot be changed")).to_be_visible()
    page.get_by_role("button", name="Copy this scale").click()
    expect(page.get_by_text("Copied. You can now change the copy.")).to_be_visible()
    page.get_by_label("Name", exact=True).fill("Four-point scale")
    labels = ["Not achieved", "Partly achieved", "Largely achieved", "Fully achieved", "", ""]
    for i, label in enumerate(labels):
        page.locator(f"#points-{i}-label").fill(label)
    page.locator("#points-3-rubric").fill("Every target met or exceeded")
    axe_check(page)
    page.get_by_role("button", name="Save the scale").click()
    expect(page.get_by_text("Scale saved.")).to_be_visible()
    expect(page.locator("#points-3-rubric")).to_have_value("Every target met or exceeded")
    expect(page.locator("#points-4-label")).to_have_value("")
