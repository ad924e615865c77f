"""A results framework to and from a spreadsheet: template, export, import with preview."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa
from openpyxl import Workbook, load_workbook

from mel_app.extensions import db
from mel_app.models import (
    Aggregation,
    AuditEvent,
    FrameworkImport,
    Indicator,
    Measure,
    OrgGroup,
    Project,
    Result,
    Role,
    User,
    utcnow,
)
from tests.conftest import csrf_token

HEADER = [
    "level",
    "code",
    "parent",
    "title",
    "measure",
    "unit",
    "ascending",
    "baseline_value",
    "baseline_date",
    "target_value",
    "disaggregate_by_sex",
    "responsible_organisation",
]
GOOD_ROWS = [
    ["impact", "0", "", "Decent work for all", "", "", "", "", "", "", "", ""],
    ["outcome", "1", "0", "Stronger unions", "", "", "", "", "", "", "", ""],
    [
        "indicator",
        "1.a",
        "1",
        "Women members",
        "number",
        "members",
        "yes",
        12000,
        date(2024, 1, 1),
        20000,
        "yes",
        "KU",
    ],
    ["indicator", "1.b", "1", "Informal workers unprotected", "percentage", "%", "no", 60, "", 45, "", ""],
    ["output", "1.1", "1", "Organisers trained", "", "", "", "", "", "", "", ""],
    ["indicator", "1.1.a", "1.1", "Policy adopted", "yes/no", "", "", "no", "", "yes", "", ""],
    ["indicator", "1.1.b", "1.1", "How members judge it", "qualitative", "", "", "", "", "", "", ""],
]


def xlsx(rows, header=HEADER, title_row=False) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "framework"
    if title_row:
        sheet.append(["My logframe"])
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def csv_bytes(rows, header=HEADER, delimiter=",", encoding="utf-8") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow(header)
    for row in rows:
        writer.writerow([v.isoformat() if isinstance(v, date) else v for v in row])
    return out.getvalue().encode(encoding)


@pytest.fixture
def proj(app, make):
    union = make.organisation("Kenya Union", OrgGroup.workers)
    with app.app_context():
        from mel_app.models import Organisation

        db.session.get(Organisation, union).acronym = "KU"
        db.session.commit()
    project = make.project("RAF/22/11/NOR")
    spec = make.user("spec@example.org")
    other_spec = make.user("spec2@example.org")
    make.member(spec, project, Role.specialist)
    make.member(other_spec, project, Role.specialist)
    make.partner(project, union)
    return dict(project=project, union=union)


def upload(client, project_id, data: bytes, filename: str):
    return client.post(
        f"/projects/{project_id}/framework/import",
        data={"csrf_token": csrf_token(client), "file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )


def counts(app):
    with app.app_context():
        return (
            db.session.scalar(sa.select(sa.func.count()).select_from(Result)),
            db.session.scalar(sa.select(sa.func.count()).select_from(Indicator)),
            db.session.scalar(sa.select(sa.func.count()).select_from(FrameworkImport)),
        )


def confirm(client, post, preview_url, **extra):
    page = client.get(preview_url).get_data(as_text=True)
    fingerprint = page.split('name="fingerprint" type="hidden" value="')[1].split('"')[0]
    return post(preview_url, {"fingerprint": fingerprint, **extra})


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_a_valid_import_shows_a_preview_then_creates_the_framework(app, client, login, post, proj, fmt):
    login("spec@example.org")
    data = xlsx(GOOD_ROWS) if fmt == "xlsx" else csv_bytes(GOOD_ROWS)
    resp = upload(client, proj["project"], data, f"logframe.{fmt}")
    assert resp.status_code == 302, resp.get_data(as_text=True)
    preview_url = resp.location
    preview = client.get(preview_url)
    assert preview.status_code == 200
    page = preview.get_data(as_text=True)
    assert "7 new, 0 changed, 0 unchanged" in page
    assert "Women members" in page and "Informal workers unprotected" in page
    assert counts(app)[:2] == (0, 0), "the preview changes nothing"

    resp = confirm(client, post, preview_url)
    assert resp.status_code == 302
    assert counts(app) == (3, 4, 0), "applied, and the staged upload is gone"
    with app.app_context():
        members = db.session.scalar(sa.select(Indicator).where(Indicator.code == "1.a"))
        assert members.baseline_value == 12000 and members.target_value == 20000
        assert members.baseline_date == date(2024, 1, 1) and members.disaggregate_by_sex
        assert members.responsible_organisation_id == proj["union"] and members.unit == "members"
        informal = db.session.scalar(sa.select(Indicator).where(Indicator.code == "1.b"))
        assert informal.measure is Measure.percentage and not informal.ascending
        policy = db.session.scalar(sa.select(Indicator).where(Indicator.code == "1.1.a"))
        assert (policy.baseline_value, policy.target_value) == (0, 1)
        output = db.session.scalar(sa.select(Result).where(Result.code == "1.1"))
        assert output.parent.code == "1" and output.parent.parent.code == "0"
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "framework.import"))
        assert event.after["created"] == 7 and event.project_id == proj["project"]
    assert client.get(preview_url).status_code == 404, "an applied upload cannot be applied twice"


def test_an_import_with_errors_in_several_rows_lists_them_all_and_changes_nothing(app, client, login, proj):
    login("spec@example.org")
    rows = [
        ["outcome", "1", "", "Stronger unions", "", "", "", "", "", "", "", ""],
        ["outcom", "2", "", "Typo in level", "", "", "", "", "", "", "", ""],
        ["indicator", "1.a", "1", "Share", "percentage", "", "", 18, "", 135, "", ""],
        ["indicator", "1.b", "9", "Orphan", "number", "", "maybe", "lots", "31/12/2024", "", "", "Nobody"],
        ["output", "1.1", "", "Output without outcome", "", "", "", "", "", "", "", ""],
        ["indicator", "1.a", "1", "Duplicate", "number", "", "", "", "", "", "", ""],
        ["indicator", "", "1", "", "", "", "", "", "", "", "", ""],
        ["outcome", "3", "", "An outcome with a measure", "number", "", "", "", "", "", "", ""],
    ]
    resp = upload(client, proj["project"], xlsx(rows, title_row=True), "logframe.xlsx")
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    table = page.split('class="import-errors"')[1].split("</table>")[0]
    found = [
        tuple(cell.split(">", 1)[1].split("<")[0].strip() for cell in tr.split("<td")[1:])
        for tr in table.split("<tr>")[2:]
    ]
    rows_with_errors = {int(r) for r, _c, _m in found}
    # A title row sits above the header: data rows start at row 3.
    assert rows_with_errors == {4, 5, 6, 7, 8, 9, 10}
    expected = [
        ("4", "A (level)", "Write impact, outcome, output or indicator."),
        ("5", "J (target_value)", "A percentage is between 0 and 100."),
        ("6", "C (parent)", "No result has the code 9."),
        ("6", "G (ascending)", "Answer yes or no."),
        ("6", "H (baseline_value)", "Enter a number, like 12,345.5 or 12.5."),
        ("6", "I (baseline_date)", "Write the date as YYYY-MM-DD, e.g. 2024-01-31."),
        ("6", "L (responsible_organisation)", "Nobody is not a partner of this project."),
        ("7", "C (parent)", "An output belongs to an outcome: choose its outcome."),
        ("8", "B (code)", "Indicator 1.a of result 1 is also on row 5."),
        ("9", "B (code)", "Give a code, e.g. 1 or 1.2."),
        ("9", "D (title)", "Give a title."),
        ("10", "E (measure)", "This column is for indicator rows: leave it empty on a result row."),
    ]
    for item in expected:
        assert item in found, f"{item} missing from {found}"
    assert "Nothing was imported" in page
    assert counts(app) == (0, 0, 0)


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (b"", "empty.xlsx", "The file is empty."),
        (b"", "empty.csv", "The file is empty."),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200), "photo.png", "This is not a spreadsheet"),
        (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\x00", "report.pdf", "This is not a spreadsheet"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), "old.xls", "old Excel (.xls)"),
        (b"PK\x03\x04 not really a zip", "broken.xlsx", "could not be read as an Excel workbook"),
        (b"just some words\nand more", "notes.txt", "No header row found"),
        (b"level,code,title\n", "header-only.csv", "no rows under its header"),
    ],
)
def test_unreadable_files_are_refused_without_a_500_and_change_nothing(
    app, client, login, proj, data, filename, message
):
    login("spec@example.org")
    resp = upload(client, proj["project"], data, filename)
    assert resp.status_code == 422
    assert message in resp.get_data(as_text=True)
    assert counts(app) == (0, 0, 0)


def test_files_over_the_size_limit_are_refused_before_parsing(app):
    # Checked on the reader itself: the test client spools large uploads to files it never closes.
    from mel_app.projects import import_export as ie

    with app.test_request_context(), pytest.raises(ie.ImportFileError, match="larger than 2 MB"):
        ie.read_table("huge.csv", b"level;code;title\n" + b"x" * ie.MAX_BYTES)


def test_too_many_rows_are_refused(app):
    from mel_app.projects import import_export as ie

    rows = [["outcome", str(n), "", f"Result {n}"] for n in range(ie.MAX_ROWS + 1)]
    with app.test_request_context(), pytest.raises(ie.ImportFileError, match="more than 2000 rows"):
        ie.read_table("big.csv", csv_bytes(rows, header=HEADER[:4]))


def test_an_empty_xlsx_workbook_is_refused(app, client, login, proj):
    login("spec@example.org")
    out = io.BytesIO()
    Workbook().save(out)
    resp = upload(client, proj["project"], out.getvalue(), "empty.xlsx")
    assert resp.status_code == 422 and "No header row found" in resp.get_data(as_text=True)


def test_missing_and_unknown_columns_are_errors(app, client, login, proj):
    login("spec@example.org")
    resp = upload(
        client, proj["project"], csv_bytes([["outcome", "1"]], header=["level", "cod", "titel"]), "x.csv"
    )
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert "B (cod)" in page and "Unknown column" in page and "This column is missing" in page


def test_a_no_file_post_is_a_400(client, login, post, proj):
    login("spec@example.org")
    assert post(f"/projects/{proj['project']}/framework/import").status_code == 400


def test_semicolon_csv_from_a_french_excel_in_windows_1252(app, client, login, post, proj):
    with app.app_context():
        db.session.execute(
            sa.update(User).where(User.email == "spec@example.org").values(preferred_language="fr")
        )
        db.session.commit()
    login("spec@example.org")
    rows = [["outcome", "1", "", "Organisations de travailleurs renforcées", "", "", "", "", "", "", "", ""]]
    rows.append(["indicator", "1.a", "1", "Femmes membres", "number", "", "", "12,5", "", "20", "", ""])
    resp = upload(client, proj["project"], csv_bytes(rows, delimiter=";", encoding="cp1252"), "cadre.csv")
    assert resp.status_code == 302
    assert confirm(client, post, resp.location).status_code == 302
    with app.app_context():
        assert db.session.scalar(sa.select(Result.title)) == "Organisations de travailleurs renforcées"
        assert db.session.scalar(sa.select(Indicator.baseline_value)) == Decimal("12.5")


def test_export_then_reimport_changes_nothing_and_an_edited_export_updates(
    app, make, client, login, post, proj
):
    outcome = make.result(proj["project"], "1", title="=HYPERLINK(evil)")
    make.indicator(outcome, "1.a", title="Members", baseline_value=10, target_value=20, unit="members")
    make.indicator(outcome, "1.b", title="Policy", measure=Measure.yes_no, baseline_value=0, target_value=1)
    login("spec@example.org")
    with client.get(f"/projects/{proj['project']}/framework/export.csv") as resp:
        assert resp.status_code == 200 and resp.mimetype == "text/csv"
        assert "RAF-22-11-NOR-framework.csv" in resp.headers["Content-Disposition"]
        exported = resp.data
    text = exported.decode("utf-8-sig")
    assert "'=HYPERLINK(evil)" in text, "a formula is written as text"
    resp = upload(client, proj["project"], exported, "export.csv")
    assert resp.status_code == 302
    page = client.get(resp.location).get_data(as_text=True)
    assert "0 new, 0 changed, 3 unchanged" in page and "nothing to import" in page

    edited = text.replace("Members", "Members (all unions)").encode("utf-8")
    resp = upload(client, proj["project"], edited, "export.csv")
    page = client.get(resp.location).get_data(as_text=True)
    assert "0 new, 1 changed, 2 unchanged" in page and "Members (all unions)" in page
    assert confirm(client, post, resp.location).status_code == 302
    with app.app_context():
        assert (
            db.session.scalar(sa.select(Indicator.title).where(Indicator.code == "1.a"))
            == "Members (all unions)"
        )
        assert db.session.scalar(sa.select(Result.title)) == "=HYPERLINK(evil)"

    with client.get(f"/projects/{proj['project']}/framework/export.xlsx") as resp:
        assert resp.status_code == 200
        workbook = load_workbook(io.BytesIO(resp.data), read_only=True)
        rows = list(workbook["framework"].iter_rows(values_only=True))
        workbook.close()
    assert rows[0][:4] == ("level", "code", "parent", "title")
    assert rows[2][:4] == ("indicator", "1.a", "1", "Members (all unions)")


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_the_documented_template_can_be_downloaded_and_imported_as_is(app, client, login, post, proj, fmt):
    login("spec@example.org")
    with client.get(f"/projects/framework-template.{fmt}") as resp:
        assert resp.status_code == 200
        data = resp.data
    if fmt == "xlsx":
        workbook = load_workbook(io.BytesIO(data), read_only=True)
        assert workbook.sheetnames == ["framework", "instructions"]
        notes = [row[0] for row in workbook["instructions"].iter_rows(values_only=True) if row[0]]
        workbook.close()
        assert {"level", "code", "parent", "measure", "responsible_organisation"} <= set(notes)
    resp = upload(client, proj["project"], data, f"template.{fmt}")
    assert resp.status_code == 302
    assert "8 new" in client.get(resp.location).get_data(as_text=True)


def test_the_import_is_checked_again_when_confirmed(app, make, client, login, post, proj):
    login("spec@example.org")
    resp = upload(client, proj["project"], csv_bytes(GOOD_ROWS), "x.csv")
    preview_url = resp.location
    page = client.get(preview_url).get_data(as_text=True)
    fingerprint = page.split('name="fingerprint" type="hidden" value="')[1].split('"')[0]
    # Meanwhile someone adds outcome 1 with another title.
    make.result(proj["project"], "1", title="Added meanwhile")
    resp = post(preview_url, {"fingerprint": fingerprint})
    assert resp.status_code == 409
    assert "The framework changed since you uploaded the file" in resp.get_data(as_text=True)
    assert counts(app)[:2] == (1, 0)
    # The page shows the new plan; confirming it applies it.
    assert confirm(client, post, preview_url).status_code == 302
    assert counts(app)[:2] == (3, 4)


def test_only_the_uploader_confirms_and_stale_uploads_expire(app, client, login, post, proj):
    login("spec@example.org")
    preview_url = upload(client, proj["project"], csv_bytes(GOOD_ROWS), "x.csv").location
    post("/logout")
    login("spec2@example.org")
    assert client.get(preview_url).status_code == 404
    assert post(preview_url, {"fingerprint": "x"}).status_code == 404
    with app.app_context():
        staged = db.session.scalar(sa.select(FrameworkImport))
        staged.created_at = utcnow().replace(year=2000)
        db.session.commit()
    post("/logout")
    login("spec@example.org")
    assert client.get(preview_url).status_code == 404
    assert counts(app)[:2] == (0, 0)


def test_an_approved_framework_imports_only_with_a_reason(app, client, login, post, proj):
    with app.app_context():
        project = db.session.get(Project, proj["project"])
        project.framework_approved, project.framework_approved_at = True, utcnow()
        db.session.commit()
    login("spec@example.org")
    preview_url = upload(client, proj["project"], csv_bytes(GOOD_ROWS), "x.csv").location
    resp = confirm(client, post, preview_url)
    assert resp.status_code == 422 and "say why it changes" in resp.get_data(as_text=True)
    assert counts(app)[:2] == (0, 0)
    assert confirm(client, post, preview_url, reason="Revised logframe agreed in May").status_code == 302
    with app.app_context():
        reasons = set(
            db.session.scalars(sa.select(AuditEvent.reason).where(AuditEvent.action.like("%.import")))
        )
        assert reasons == {"Revised logframe agreed in May"}


def test_an_update_may_not_change_the_measure_of_an_indicator_with_values(app, make, client, login, proj):
    from mel_app.models import IndicatorValue, Status

    outcome = make.result(proj["project"], "1", title="Stronger unions")
    indicator = make.indicator(outcome, "1.a", title="Members")
    author = make.user("rep@example.org", organisation_id=proj["union"])
    period = make.period(proj["project"])
    sub = make.submission(proj["project"], proj["union"], author, period_id=period, status=Status.draft)
    with app.app_context():
        db.session.add(IndicatorValue(submission_id=sub, indicator_id=indicator, value=Decimal(3)))
        db.session.commit()
    login("spec@example.org")
    rows = [
        ["outcome", "1", "", "Stronger unions", "", "", "", "", "", "", "", ""],
        ["indicator", "1.a", "1", "Members", "percentage", "", "", "", "", "", "", ""],
    ]
    resp = upload(client, proj["project"], csv_bytes(rows), "x.csv")
    assert resp.status_code == 422
    assert "its measure cannot change" in resp.get_data(as_text=True)


def test_reporters_cannot_import_but_may_export(app, make, client, login, proj):
    reporter = make.user("rep@example.org", organisation_id=proj["union"])
    make.member(reporter, proj["project"], Role.reporter, organisation_id=proj["union"])
    login("rep@example.org")
    assert upload(client, proj["project"], csv_bytes(GOOD_ROWS), "x.csv").status_code == 403
    with client.get(f"/projects/{proj['project']}/framework/export.xlsx") as resp:
        assert resp.status_code == 200
    outsider = make.user("out@example.org")
    assert outsider
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    login("out@example.org")
    with client.get(f"/projects/{proj['project']}/framework/export.csv") as resp:
        assert resp.status_code == 404


def test_columns_left_out_of_the_file_keep_the_frameworks_values(app, make, client, login, post, proj):
    outcome = make.result(proj["project"], "1", title="Stronger unions", description="Kept")
    make.indicator(
        outcome,
        "1.a",
        title="Members",
        unit="members",
        baseline_value=10,
        target_value=20,
        means_of_verification="Registers",
        responsible_organisation_id=proj["union"],
    )
    login("spec@example.org")
    header = ["level", "code", "parent", "title", "measure", "target_value"]
    rows = [["outcome", "1", "", "Stronger unions"], ["indicator", "1.a", "1", "Members", "number", "30"]]
    resp = upload(client, proj["project"], csv_bytes(rows, header=header), "partial.csv")
    assert resp.status_code == 302
    page = client.get(resp.location).get_data(as_text=True)
    assert "0 new, 1 changed, 1 unchanged" in page
    assert confirm(client, post, resp.location).status_code == 302
    with app.app_context():
        indicator = db.session.scalar(sa.select(Indicator))
        assert indicator.target_value == 30
        assert (indicator.unit, indicator.baseline_value, indicator.means_of_verification) == (
            "members",
            10,
            "Registers",
        )
        assert indicator.responsible_organisation_id == proj["union"]
        assert db.session.scalar(sa.select(Result.description)) == "Kept"


def test_the_aggregation_is_imported_exported_and_checked_against_the_measure(app, client, login, post, proj):
    login("spec@example.org")
    header = [*HEADER, "aggregation"]
    rows = [
        ["outcome", "1", "", "Stronger unions", "", "", "", "", "", "", "", "", ""],
        ["indicator", "1.a", "1", "Members", "number", "members", "", 10, "", 20, "", "KU", "responsible"],
        ["indicator", "1.b", "1", "Share", "percentage", "%", "", 10, "", 20, "", "", ""],
        ["indicator", "1.c", "1", "Policy", "yes/no", "", "", "no", "", "yes", "", "", "any yes"],
        ["indicator", "1.d", "1", "Trained", "number", "people", "", 0, "", 50, "", "", "Average"],
    ]
    bad = [
        rows[0],
        ["indicator", "1.a", "1", "Share", "percentage", "%", "", 10, "", 20, "", "", "sum"],
        ["indicator", "1.b", "1", "Members", "number", "", "", 10, "", 20, "", "", "responsible"],
        ["indicator", "1.c", "1", "Members", "number", "", "", 10, "", 20, "", "", "median"],
    ]
    resp = upload(client, proj["project"], csv_bytes(bad, header=header), "bad.csv")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422, page[:300]
    assert "does not fit the measure" in page
    assert "Choose the responsible organisation whose report gives the figure" in page
    assert "Write sum, mean, responsible, all yes, any yes or listed." in page
    assert counts(app)[:2] == (0, 0)

    resp = upload(client, proj["project"], csv_bytes(rows, header=header), "good.csv")
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    assert confirm(client, post, resp.location).status_code == 302
    with app.app_context():
        methods = dict(db.session.execute(sa.select(Indicator.code, Indicator.aggregation)).all())
    assert methods == {
        "1.a": Aggregation.responsible,
        "1.b": Aggregation.mean,
        "1.c": Aggregation.any_yes,
        "1.d": Aggregation.mean,
    }
    with client.get(f"/projects/{proj['project']}/framework/export.csv") as resp:
        exported = list(csv.DictReader(io.StringIO(resp.data.decode("utf-8-sig"))))
    assert {r["code"]: r["aggregation"] for r in exported if r["level"] == "indicator"} == {
        "1.a": "responsible",
        "1.b": "mean",
        "1.c": "any yes",
        "1.d": "mean",
    }
