"""Each export format, opened and checked value by value against the database."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from mel_app.evaluations import stats
from mel_app.extensions import db
from mel_app.models import (
    AuditEvent,
    Criterion,
    IndicatorValue,
    Organisation,
    ReportingPeriod,
    Score,
    Scorecard,
    ScorecardStatus,
    Status,
    Submission,
)
from tests.exports_world import (
    FORMULA_COMMENT,
    NON_ASCII_ORG,
    TRICKY_COMMENT,
    build_world,
    download,
    read_csv_zip,
    read_json,
    read_xlsx,
)

SHEETS = {
    "projects": "Projects",
    "results_framework": "Results framework",
    "indicator_values": "Indicator values",
    "progress_vs_target": "Progress vs target",
    "narrative": "Narrative",
    "design_input": "Design input",
    "scores": "Scores",
    "score_summary": "Score summary",
    "recommendations": "Recommendations",
    "outcome_statements": "Outcome statements",
    "outcome_substantiations": "Outcome substantiations",
}


@pytest.fixture
def world(make):
    return build_world(make)


def _tables(client, fmt: str, **scope) -> dict[str, list[dict]]:
    """Download and read a format into {table name: rows as dicts}, plus "about"."""
    resp, body = download(client, fmt, **scope)
    assert resp.status_code == 200, body[:500]
    if fmt == "xlsx":
        book = read_xlsx(body)
        tables = {name: book[title] for name, title in SHEETS.items()}
        tables["about"] = book["About"]
        return tables
    if fmt == "csv":
        return read_csv_zip(body, bom=bool(scope.get("bom")))
    data = read_json(body)
    return {**data["tables"], "about": data["about"]}


def _dec(value) -> Decimal | None:
    if value in (None, ""):
        return None
    return Decimal(str(value))


def _db_values(app, project_id: int, statuses) -> dict[int, dict]:
    with app.app_context():
        rows = db.session.execute(
            sa.select(IndicatorValue, Organisation.name, ReportingPeriod.label, Submission.status)
            .join(Submission, Submission.id == IndicatorValue.submission_id)
            .join(Organisation, Organisation.id == Submission.organisation_id)
            .join(ReportingPeriod, ReportingPeriod.id == Submission.period_id)
            .where(Submission.project_id == project_id, Submission.status.in_(statuses))
        ).all()
        return {
            v.id: {
                "value": v.value,
                "women": v.women,
                "men": v.men,
                "comment": v.comment,
                "text_value": v.text_value,
                "not_reported": v.not_reported,
                "organisation": org,
                "period": label,
                "status": status.value,
            }
            for v, org, label, status in rows
        }


@pytest.mark.parametrize("fmt", ["xlsx", "csv", "json"])
def test_indicator_values_equal_the_database(app, client, login, world, fmt):
    login(world.users["evaluator"])
    tables = _tables(client, fmt)
    expected = _db_values(app, world["project"], [Status.approved])
    rows = {int(r["value_id"]): r for r in tables["indicator_values"]}
    assert set(rows) == set(expected)
    spreadsheet = fmt in ("xlsx", "csv")
    for value_id, want in expected.items():
        got = rows[value_id]
        assert _dec(got["value"]) == want["value"]
        assert _dec(got["women"]) == want["women"]
        assert _dec(got["men"]) == want["men"]
        assert got["organisation"] == want["organisation"]
        assert got["period"] == want["period"]
        assert got["status"] == "approved"
        assert (got["text_value"] or "") == want["text_value"]
        not_reported = got["not_reported"]
        assert (not_reported in (True, "true")) == want["not_reported"]
        comment = got["comment"] or ""
        if spreadsheet and want["comment"][:1] in ("=", "@"):
            assert comment == "'" + want["comment"]
        else:
            assert comment == want["comment"]
    # The hard cases survive every format intact.
    comments = {r["comment"] for r in tables["indicator_values"]}
    assert TRICKY_COMMENT in comments
    assert NON_ASCII_ORG in {r["organisation"] for r in tables["indicator_values"]}


@pytest.mark.parametrize("fmt", ["xlsx", "csv", "json"])
def test_every_table_is_there_with_its_typed_values(client, login, world, fmt):
    login(world.users["evaluator"])
    t = _tables(client, fmt)
    assert [r["reference"] for r in t["projects"]] == ["RAF/22/11/NOR"]
    project = t["projects"][0]
    assert project["countries"] == "CI, KE" and NON_ASCII_ORG in project["partners"]
    assert str(project["start_date"])[:10] == "2024-01-01"

    framework = {(r["result_code"], r["indicator_code"]) for r in t["results_framework"]}
    assert framework == {
        ("0", "0.a"),
        ("1", "1.a"),
        ("1", "1.b"),
        ("1.1", "1.1.a"),
        ("2", None if fmt != "csv" else ""),
    }

    narrative = t["narrative"]
    assert len(narrative) == 2  # the two approved progress reports
    ci = next(r for r in narrative if r["organisation"] == NON_ASCII_ORG)
    assert ci["achievements"] == "Réunions tenues à Abidjan, avec «succès»."
    # A narrative starting with "-" is a formula trigger in spreadsheets.
    assert ci["challenges"] == ("'" if fmt != "json" else "") + "-5 members left, +3 joined"

    (item,) = t["design_input"]
    assert item["disposition"] == "partly" and item["indicator_code"] == "1.a"
    assert item["organisation"] == NON_ASCII_ORG

    (rec,) = t["recommendations"]
    assert rec["text"] == "Train more women organisers" and str(rec["due_date"])[:10] == "2026-12-31"
    assert int(rec["number"]) == 1

    # Numbers are numbers and dates are dates where the format has types.
    value = next(
        r
        for r in t["indicator_values"]
        if r["indicator_code"] == "1.a" and r["organisation"] == NON_ASCII_ORG
    )
    if fmt == "xlsx":
        assert isinstance(value["value"], int | float) and value["period_start"].year == 2025
        assert value["not_reported"] is False
    elif fmt == "json":
        assert value["value"] == 150 and value["period_start"] == "2025-07-01"
        assert value["approved_at"] == "2026-01-20T09:30:00Z"
    else:
        assert value["value"] == "150" and value["period_start"] == "2025-07-01"
        # Spelled by the database (indicator values) or by Python (narrative): the same text.
        assert value["approved_at"] == "2026-01-20T09:30:00Z" and value["not_reported"] == "false"
        report = next(r for r in t["narrative"] if r["submission_id"] == value["submission_id"])
        assert report["approved_at"] == value["approved_at"]
        share = next(r for r in t["indicator_values"] if r["indicator_code"] == "1.b" and r["value"] != "30")
        assert share["value"] == "40.5"
        framework = next(r for r in t["results_framework"] if r["indicator_code"] == "1.a")
        assert (framework["baseline_value"], framework["ascending"]) == ("100", "true")


@pytest.mark.parametrize("fmt", ["xlsx", "csv", "json"])
def test_progress_vs_target_aggregates_the_latest_period(client, login, world, fmt):
    login(world.users["evaluator"])
    rows = {r["indicator_code"]: r for r in _tables(client, fmt)["progress_vs_target"]}
    members = rows["1.a"]
    # Approved reports only: 2025 H2, union 150 (90 women) + employers 50 (20 women).
    assert members["latest_period"] == "2025 H2"
    assert _dec(members["latest_actual"]) == 200
    assert _dec(members["latest_women"]) == 110 and _dec(members["latest_men"]) == 90
    assert int(members["reports"]) == 2
    assert _dec(members["progress_share"]) == Decimal("0.5")  # (200 - 100) / (300 - 100)
    share = rows["1.b"]
    assert _dec(share["latest_actual"]) == Decimal("35.25")  # mean of 40.5 and 30
    assert _dec(share["progress_share"]) == Decimal("0.7625")
    assert _dec(rows["1.1.a"]["latest_actual"]) == 1  # the employers' "not reported" is no answer
    assert int(rows["1.1.a"]["reports"]) == 1
    story = rows["0.a"]
    assert int(story["reports"]) == 1 and _dec(story["latest_actual"]) is None


def test_specialists_may_include_reports_not_yet_approved(client, login, world):
    login(world.users["specialist"])
    t = _tables(client, "json", all_statuses="y")
    statuses = {r["status"] for r in t["indicator_values"] if r["project_reference"] == "RAF/22/11/NOR"}
    assert statuses == {"approved", "submitted", "returned"}
    values = {r["value"] for r in t["indicator_values"]}
    assert 999 not in values and 888 not in values  # drafts and withdrawn reports never leave
    members = next(
        r
        for r in t["progress_vs_target"]
        if r["project_reference"] == "RAF/22/11/NOR" and r["indicator_code"] == "1.a"
    )
    assert members["latest_period"] == "2026 H1" and members["latest_actual"] == 270
    assert t["about"]["scope"]["statuses"] == ["submitted", "returned", "approved"]


@pytest.mark.parametrize("fmt", ["xlsx", "csv", "json"])
def test_score_summary_equals_the_consolidated_statistics(app, client, login, world, fmt):
    login(world.users["evaluator"])
    t = _tables(client, fmt)
    with app.app_context():
        rows = db.session.execute(
            sa.select(Criterion.code, Scorecard.group, Score.point, Score.cannot_assess)
            .join(Scorecard, Scorecard.id == Score.scorecard_id)
            .join(Criterion, Criterion.id == Score.criterion_id)
            .where(
                Scorecard.evaluation_id == world["evaluation_closed"],
                Scorecard.status == ScorecardStatus.submitted,
            )
        ).all()
    expected = stats.consolidate(
        (code, group.value, None if ca else point) for code, group, point, ca in rows
    )
    summary = [r for r in t["score_summary"] if int(r["evaluation_id"]) == world["evaluation_closed"]]
    assert len(summary) == sum(1 + len(s.groups) for s in expected.values())
    for row in summary:
        criterion = expected[row["criterion_code"]]
        want = criterion.overall if row["constituency"] == "all" else criterion.groups[row["constituency"]]
        assert int(row["scores"]) == want.n and int(row["cannot_assess"]) == want.cannot_assess
        for key, value in (("mean", want.mean), ("median", want.median), ("stdev", want.stdev)):
            got = row[key]
            if value is None:
                assert got in (None, "")
            else:
                assert float(got) == pytest.approx(value, abs=1e-12)
        assert (int(row["minimum"]) if row["minimum"] not in (None, "") else None) == want.minimum
        if row["constituency"] == "all":
            assert float(row["divergence"]) == pytest.approx(criterion.divergence)
            assert row["divergent"] in (criterion.is_divergent, str(criterion.is_divergent).lower())
    # The draft scorecard (all sixes) is in none of it.
    assert "Emil Employer" not in {r["scorer"] for r in t["scores"]}


def test_formula_triggers_are_neutralised_in_csv_and_xlsx_only(client, login, world):
    login(world.users["evaluator"])
    comments = {}
    for fmt in ("csv", "xlsx", "json"):
        comments[fmt] = {r["comment"] for r in _tables(client, fmt)["indicator_values"]}
    for fmt in ("csv", "xlsx"):
        assert "'" + FORMULA_COMMENT in comments[fmt] and FORMULA_COMMENT not in comments[fmt]
        assert "'@SUM(A1:A9)" in comments[fmt]
        assert TRICKY_COMMENT in comments[fmt]  # ordinary text is left alone
    # JSON is for scripts: the exact text.
    assert FORMULA_COMMENT in comments["json"] and "@SUM(A1:A9)" in comments["json"]


def test_formula_neutralisation_covers_every_trigger(app):
    from mel_app.exports.scope import neutralise

    for text in ["=1+1", "+1", "-1", "@x", "\tx", "\rx"]:
        assert neutralise(text) == "'" + text
    for text in ["", "plain", "1-2", "a=b", "'quoted"]:
        assert neutralise(text) == text


def test_csv_files_are_utf8_with_a_bom_on_request(client, login, world):
    login(world.users["evaluator"])
    plain = _tables(client, "csv")
    with_bom = _tables(client, "csv", bom="y")  # read_csv_zip checks the first bytes of every file
    assert plain["indicator_values"] == with_bom["indicator_values"]
    assert NON_ASCII_ORG in {r["organisation"] for r in with_bom["indicator_values"]}


@pytest.mark.parametrize("fmt", ["xlsx", "csv", "json"])
def test_the_about_part_traces_the_file_to_the_audit_trail(app, client, login, world, fmt):
    login(world.users["evaluator"])
    t = _tables(client, fmt, constituencies="workers")
    with app.app_context():
        event = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).one()
        assert event.action == "export.download" and event.actor_name == "Eva Evaluator"
        assert event.after["format"] == fmt
        assert event.after["scope"]["constituencies"] == ["workers"]
    if fmt == "xlsx":
        about = dict((row[0], row[1]) for row in t["about"] if row[0])
        assert about["audit_head_hash"] == event.hash and about["generated_by"] == "Eva Evaluator"
        assert about["app_version"] == "0.1.0" and about["scope_constituencies"] == "workers"
        assert about["rows_indicator_values"] == len(t["indicator_values"])
        columns = {row[1] for row in t["about"] if row[1]}
        assert {"value_id", "progress_share", "justification"} <= columns  # the data dictionary
    else:
        about = t["about"]
        assert about["audit_head_hash"] == event.hash and about["audit_head_event_id"] == event.id
        assert about["scope"]["constituencies"] == ["workers"]
        assert about["rows"]["indicator_values"] == len(t["indicator_values"])
        dictionary = {table["name"]: table for table in about["tables"]}
        assert [c["name"] for c in dictionary["indicator_values"]["columns"]][:2] == [
            "value_id",
            "submission_id",
        ]
    # Workers only: the employers' report and scorecards are out.
    assert {r["constituency"] for r in t["indicator_values"]} == {"workers"}
    assert {r["constituency"] for r in t["scores"]} == {"workers"}


def test_xlsx_sheets_have_frozen_headers_typed_columns_and_widths(client, login, world):
    import io

    import openpyxl

    login(world.users["evaluator"])
    _resp, body = download(client, "xlsx")
    book = openpyxl.load_workbook(io.BytesIO(body))
    assert book.sheetnames[0] == "About"
    ws = book["Indicator values"]
    assert ws.freeze_panes == "A2"
    header = [c.value for c in ws[1]]
    value_col = header.index("value") + 1
    assert ws.cell(2, value_col).data_type == "n"
    start_col = header.index("period_start") + 1
    assert ws.cell(2, start_col).is_date and ws.cell(2, start_col).number_format == "yyyy-mm-dd"
    comment_col = openpyxl.utils.get_column_letter(header.index("comment") + 1)
    assert ws.column_dimensions[comment_col].width >= 50
    assert ws.auto_filter.ref.startswith("A1:")
    share = book["Progress vs target"]
    share_header = [c.value for c in share[1]]
    column = share_header.index("progress_share") + 1
    shares = [
        share.cell(r, column) for r in range(2, share.max_row + 1) if share.cell(r, column).value is not None
    ]
    assert shares and all(cell.number_format == "0.0%" for cell in shares)
    book.close()


def test_period_range_filters_progress_reports(client, login, world):
    login(world.users["specialist"])
    t = _tables(client, "json", all_statuses="y", period_from="2026-01-01")
    assert {r["period"] for r in t["indicator_values"]} == {"2026 H1"}
    assert {r["period"] for r in t["narrative"]} == {"2026 H1"}
    t = _tables(client, "json", period_to="2025-12-31")
    assert {r["period"] for r in t["indicator_values"]} == {"2025 H2"}


def test_small_batches_give_the_same_file(client, login, world, monkeypatch):
    """Rows are streamed in batches; groups (an indicator, an evaluation) may span two batches."""
    from mel_app.exports import tables

    login(world.users["specialist"])
    whole = _tables(client, "json", all_statuses="y")
    monkeypatch.setattr(tables, "BATCH_SIZE", 2)
    small = _tables(client, "json", all_statuses="y")
    assert small.pop("about")["rows"] == whole.pop("about")["rows"]
    assert small == whole


def test_a_table_longer_than_a_worksheet_continues_on_the_next(client, login, world, monkeypatch):
    from mel_app.exports import writers

    login(world.users["evaluator"])
    expected = len(_tables(client, "json")["indicator_values"])
    monkeypatch.setattr(writers, "XLSX_MAX_ROWS", 4)  # a header and three rows per sheet
    _resp, body = download(client, "xlsx")
    book = read_xlsx(body)
    parts = [name for name in book if name.startswith("Indicator values")]
    assert parts[:2] == ["Indicator values", "Indicator values (2)"]
    assert all(len(book[name]) <= 3 for name in parts)
    assert sum(len(book[name]) for name in parts) == expected


def test_a_text_longer_than_an_xlsx_cell_is_cut_and_the_row_still_complete(app, client, login, world):
    """A spreadsheet cell holds at most 32,767 characters: the text is cut with an ellipsis, made
    inert all the same, and the cells after it in the row are still written."""
    long_comment = "=" + "x" * 40_000
    with app.app_context():
        value = db.session.scalars(
            sa.select(IndicatorValue).where(IndicatorValue.comment == "@SUM(A1:A9)")
        ).one()
        value.comment = long_comment
        db.session.commit()
    login(world.users["evaluator"])
    json_rows = {r["value_id"]: r for r in _tables(client, "json")["indicator_values"]}
    xlsx_rows = {r["value_id"]: r for r in _tables(client, "xlsx")["indicator_values"]}
    cut = [r for r in xlsx_rows.values() if (r["comment"] or "").startswith("'=x")]
    assert len(cut) == 1
    (row,) = cut
    assert len(row["comment"]) == 32_767 and row["comment"].endswith("…")
    assert row["comment"][:-1] == ("'" + long_comment)[:32_766]
    original = json_rows[row["value_id"]]
    assert original["comment"] == long_comment
    for key in ("organisation", "status", "approved_by"):  # columns after the comment's, and one before
        assert row[key] == original[key] and row[key]
    assert row["approved_at"] is not None
