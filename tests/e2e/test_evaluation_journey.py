"""Journey 3 (DESIGN.md §1) on a desktop and on a phone: evaluators and constituents score an
evaluation; the evaluator opens the consolidated view (each criterion, each group side by side,
with a chart) and downloads it as CSV and as an XLSX workbook; the downloads are audited."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from mel_app import audit
from mel_app.evaluations import services
from mel_app.extensions import db
from mel_app.models import AuditEvent, Evaluation, User
from tests.e2e.steps import main_nav, sign_in, sign_out
from tests.evaluation_world import add_evaluation, build_world

# What each scorer gives (criterion code -> label of the point); every other criterion gets 4.
UNION_POINTS = {"REL": "6 — Highly satisfactory", "SDT": "6 — Highly satisfactory", "JTE": "Cannot assess"}
EVALUATOR_POINTS = {"REL": "5 — Satisfactory", "EFI": "3 — Moderately unsatisfactory"}
EMPLOYER_POINTS = {"REL": 3, "SDT": 3}  # scored through the service, without a browser
DEFAULT_POINT = "4 — Moderately satisfactory"


def criterion(page: Page, code: str):
    """The block of one criterion on the scorecard form (a fieldset named by its legend)."""
    return page.get_by_role("group", name=re.compile(rf"^{code} — "))


def cells(page: Page, code: str, group: str):
    """The statistics of one group for one criterion, as the table's cells."""
    block = page.get_by_role("rowgroup").filter(
        has=page.get_by_role("rowheader", name=re.compile(rf"^{code} — "))
    )
    row = block.get_by_role("row").filter(has=page.get_by_role("rowheader", name=group, exact=True))
    return row.get_by_role("cell")


def fill_scorecard(page: Page, codes, points, check, *, draft_first=False):
    """points: criterion code -> scale label to choose ("Cannot assess" included)."""
    for code in codes:
        block = criterion(page, code)
        block.get_by_label(points.get(code, DEFAULT_POINT), exact=True).check()
        block.get_by_label("Justification").fill(f"What we saw on {code}.")
        if draft_first and code == "COH":
            page.get_by_role("button", name="Save draft").click()
            expect(page.get_by_text("Draft saved.")).to_be_visible()
            check(page)
            # The draft came back: the answers so far are still there.
            expect(criterion(page, "REL").get_by_label("Justification")).to_have_value("What we saw on REL.")


def download_text(download) -> str:
    return Path(download.path()).read_text(encoding="utf-8-sig")


def check_the_workbook(path: str, codes) -> None:
    """The XLSX holds every table, and the scores as they were entered, group beside group."""
    book = openpyxl.load_workbook(io.BytesIO(Path(path).read_bytes()), read_only=True)
    assert book.sheetnames == [
        "About",
        "Projects",
        "Results framework",
        "Indicator values",
        "Progress vs target",
        "Actuals by period",
        "Narrative",
        "Design input",
        "Scores",
        "Score summary",
        "Recommendations",
        "Outcome statements",
        "Outcome substantiations",
    ]

    def rows(name):
        header, *body = book[name].iter_rows(values_only=True)
        return [dict(zip(header, values, strict=True)) for values in body]

    scores = {(r["scorer"], r["criterion_code"]): (r["point"], r["cannot_assess"]) for r in rows("Scores")}
    assert len(scores) == 3 * len(codes)
    expected = {
        "Una Union": {
            code: int(label[0]) if label[0].isdigit() else None for code, label in UNION_POINTS.items()
        },
        "Emil Employer": EMPLOYER_POINTS,
        "Eva Evaluator": {code: int(label[0]) for code, label in EVALUATOR_POINTS.items()},
    }
    for scorer, given in expected.items():
        for code in codes:
            point = given.get(code, 4)
            assert scores[(scorer, code)] == (point, point is None), (scorer, code)

    # Score summary: per criterion the 'all' row, then each constituency beside the others.
    summary = [r for r in rows("Score summary") if r["criterion_code"] == "REL"]
    assert [(r["constituency"], r["scores"], r["mean"], r["minimum"], r["maximum"]) for r in summary] == [
        ("all", 3, pytest.approx(14 / 3), 3, 6),
        ("workers", 1, 6, 6, 6),
        ("employers", 1, 3, 3, 3),
        ("independent", 1, 5, 5, 5),
    ]
    assert summary[0]["divergent"] is True and summary[0]["divergence"] == 3
    jte = {
        r["constituency"]: (r["scores"], r["cannot_assess"])
        for r in rows("Score summary")
        if r["criterion_code"] == "JTE"
    }
    assert jte["workers"] == (0, 1) and jte["all"] == (2, 1)


@pytest.mark.parametrize("screen", ["desktop", "phone"], indirect=True)
def test_evaluators_and_constituents_score_and_the_evaluator_downloads_the_groups_side_by_side(
    journey, live_server, app, make
):
    world = build_world(app, make)
    codes = list(world.criteria)
    check = journey.check
    page = journey.open()

    # The specialist opens the evaluation and invites the evaluator, the union and the employers.
    sign_in(page, live_server, world.emails["specialist"], check=check)
    page.goto(f"{live_server}/projects/{world.project}/evaluations")
    check(page)
    page.get_by_role("link", name="Open an evaluation").click()
    expect(page.get_by_role("heading", name="Open an evaluation")).to_be_visible()
    check(page)
    page.get_by_label("Title").fill("Mid-term evaluation 2026")
    page.get_by_label("Kind").select_option(label="Mid-term evaluation")
    page.get_by_label("Eva Evaluator").check()
    page.get_by_label(re.compile("Fictional Union Centre")).check()
    page.get_by_label(re.compile("Fictional Employers Federation")).check()
    page.get_by_role("button", name="Open the evaluation").click()
    expect(page.get_by_text("The evaluation is open.")).to_be_visible()
    check(page)
    sign_out(page, check=check)

    # The union representative finds the scorecard in their tasks, saves a draft, then submits.
    sign_in(page, live_server, world.emails["union1"], check=check)
    page.get_by_role("link", name="Mid-term evaluation 2026").click()
    expect(page.get_by_role("heading", name="My scorecard")).to_be_visible()
    check(page)
    fill_scorecard(page, codes, UNION_POINTS, check, draft_first=True)
    page.get_by_role("button", name="Submit my scorecard").click()
    expect(page.get_by_text("Your scorecard is submitted.")).to_be_visible()
    check(page)
    # While the evaluation is open, constituents do not see the results.
    expect(page.get_by_text("The consolidated results will be shown here")).to_be_visible()
    sign_out(page, check=check)

    # The employers' representative scores too (through the same service the page uses).
    with app.app_context():
        audit.set_actor(db.session(), audit.SYSTEM_ACTOR)
        employer = db.session.get(User, world.users["employer"])
        evaluation_id = db.session.scalar(db.select(Evaluation.id))
        card = services.load_scorecard(evaluation_id, employer.id)
        answers = {
            cid: services.Answer(point=EMPLOYER_POINTS.get(code, 4), justification="Our members' view")
            for code, cid in world.criteria.items()
        }
        services.save_scorecard(
            card, actor=employer, expected_version=card.version, answers=answers, submit=True
        )
        db.session.commit()

    # The evaluator cannot see the results before scoring; then scores and opens them.
    sign_in(page, live_server, world.emails["evaluator"], check=check)
    page.goto(f"{live_server}/evaluations/{evaluation_id}/results")
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    check(page)
    main_nav(page).get_by_role("link", name="My tasks").click()
    check(page)
    page.get_by_role("link", name="Mid-term evaluation 2026").click()
    check(page)
    fill_scorecard(page, codes, EVALUATOR_POINTS, check)
    page.get_by_role("button", name="Submit my scorecard").click()
    expect(page.get_by_text("Your scorecard is submitted.")).to_be_visible()
    check(page)
    page.get_by_role("link", name="Consolidated results").click()
    expect(page.get_by_role("heading", name="Consolidated results")).to_be_visible()
    check(page)

    expect(page.get_by_role("img", name="Mean score of each group, per criterion")).to_be_visible()
    # Workers 6 against employers 3 on relevance and on social dialogue: flagged.
    divergent = page.get_by_role("region", name="Where the groups disagree").get_by_role("list")
    expect(divergent).to_contain_text("REL — Relevance")
    expect(divergent).to_contain_text("SDT — Social dialogue and tripartism")
    expect(divergent).not_to_contain_text("COH")
    expect(cells(page, "REL", "All groups")).to_have_text(["3", "4.67", "5.0", "1.53", "3", "6", "0"])
    expect(cells(page, "REL", "Workers")).to_have_text(["1", "6.00", "6.0", "–", "6", "6", "0"])
    expect(cells(page, "JTE", "Workers")).to_have_text(["0", "–", "–", "–", "–", "–", "1"])
    # Individual scores with names, for the evaluator.
    expect(
        page.get_by_role("region", name="Individual scores").get_by_role("rowheader", name="Una Union")
    ).to_be_visible()

    # The statistics as CSV, straight from the consolidated view.
    with page.expect_download() as csv_download:
        page.get_by_role("button", name="Statistics (CSV)").click()
    statistics = list(csv.DictReader(io.StringIO(download_text(csv_download.value))))
    # The same columns and values as the downloads page's score_summary.csv.
    rel = {r["constituency"]: round(float(r["mean"]), 4) for r in statistics if r["criterion_code"] == "REL"}
    assert rel == {"all": 4.6667, "workers": 6.0, "employers": 3.0, "independent": 5.0}

    # Every table as one XLSX workbook, from the downloads page.
    page.get_by_role("link", name="More downloads (XLSX, CSV, JSON, IATI)").click()
    expect(page.get_by_role("heading", name="Downloads", exact=True)).to_be_visible()
    check(page)
    page.get_by_role("button", name="Count rows").click()
    expect(page.get_by_role("heading", name="2. What the download will hold")).to_be_visible()
    check(page)
    expect(page.get_by_role("row", name=re.compile(r"^Scores ")).get_by_role("cell").first).to_have_text(
        str(3 * len(codes))
    )
    page.get_by_label("Excel workbook (XLSX): one sheet per table").check()
    with page.expect_download() as xlsx_download:
        page.get_by_role("button", name="Download", exact=True).click()
    assert xlsx_download.value.suggested_filename.endswith(".xlsx")
    check_the_workbook(xlsx_download.value.path(), codes)

    # Both downloads are in the audit trail, under the evaluator's name.
    with app.app_context():
        actions = db.session.scalars(
            sa.select(AuditEvent.action).where(AuditEvent.actor_id == world.users["evaluator"])
        ).all()
    assert "evaluation.download" in actions and "export.download" in actions
    sign_out(page, check=check)

    # The specialist closes the evaluation; the union representative then reads the results,
    # without anyone's name or individual score.
    sign_in(page, live_server, world.emails["specialist"], check=check)
    page.goto(f"{live_server}/evaluations/{evaluation_id}")
    check(page)
    page.get_by_role("link", name="Close the evaluation…").click()
    expect(page.get_by_role("heading", name=re.compile(r"^Close .*\?$"))).to_be_visible()
    check(page)
    page.get_by_role("button", name="Yes, close the evaluation").click()
    expect(page.get_by_text("The evaluation is closed: it takes no more scores.")).to_be_visible()
    check(page)
    sign_out(page, check=check)
    sign_in(page, live_server, world.emails["union1"], check=check)
    page.goto(f"{live_server}/evaluations/{evaluation_id}")
    check(page)
    page.get_by_role("link", name="Consolidated results").click()
    expect(page.get_by_role("heading", name="Consolidated results")).to_be_visible()
    check(page)
    expect(cells(page, "REL", "Employers")).to_have_text(["1", "3.00", "3.0", "–", "3", "3", "0"])
    expect(page.get_by_text("Eva Evaluator")).to_have_count(0)
    expect(page.get_by_role("heading", name="Individual scores")).to_have_count(0)


def test_an_administrator_copies_the_scale_in_use_and_adapts_the_copy(
    page, live_server, app, make, axe_check
):
    world = build_world(app, make)
    add_evaluation(app, world)
    sign_in(page, live_server, world.emails["admin"])
    main_nav(page).get_by_role("link", name="Criteria and scales").click()
    expect(page.get_by_role("heading", name="Criteria sets")).to_be_visible()
    axe_check(page)
    page.get_by_role("link", name="Scales", exact=True).click()
    page.get_by_role("link", name=re.compile("^Six-point scale")).click()
    expect(page.get_by_text("it cannot be changed")).to_be_visible()
    page.get_by_role("button", name="Copy this scale").click()
    expect(page.get_by_text("Copied. You can now change the copy.")).to_be_visible()
    page.get_by_label("Name", exact=True).fill("Four-point scale")
    labels = ["Not achieved", "Partly achieved", "Largely achieved", "Fully achieved", "", ""]
    for i, label in enumerate(labels, start=1):
        page.get_by_role("group", name=f"Point {i}", exact=True).get_by_label("Label").fill(label)
    page.get_by_role("group", name="Point 4", exact=True).get_by_label("Rubric").fill(
        "Every target met or exceeded"
    )
    axe_check(page)
    page.get_by_role("button", name="Save the scale").click()
    expect(page.get_by_text("Scale saved.")).to_be_visible()
    expect(page.get_by_role("group", name="Point 4", exact=True).get_by_label("Rubric")).to_have_value(
        "Every target met or exceeded"
    )
    expect(page.get_by_role("group", name="Point 5", exact=True).get_by_label("Label")).to_have_value("")
