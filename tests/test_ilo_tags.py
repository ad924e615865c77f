"""Projects and results tagged with the ILO's own terms: Decent Work Country Programme outcomes,
Programme and Budget outcomes and SDG targets. Entered on the project and result forms, shown on
the pages in every language, carried by the downloads, the framework spreadsheet and the API."""

from __future__ import annotations

import io
import re
from datetime import date

import openpyxl
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from mel_app.extensions import db
from mel_app.models import (
    AuditEvent,
    FundingModality,
    OrgGroup,
    Project,
    ProjectTag,
    Result,
    ResultTag,
    ResultType,
    Role,
    TagScheme,
    User,
)
from mel_app.projects import framework as fw
from mel_app.projects import ilo_terms, services
from tests.api.helpers import bearer, make_token
from tests.exports_world import download, read_csv_zip, read_xlsx
from tests.test_projects_import import confirm, upload


@pytest.fixture
def world(make):
    ilo = make.organisation("ILO", OrgGroup.ilo, country="CH")
    union = make.organisation("Union", OrgGroup.workers, country="KE")
    specialist = make.user("spec@example.org", organisation_id=ilo)
    reporter = make.user("rep@example.org", organisation_id=union)
    project = make.project("RAF/22/11/NOR", title="Workers rights in Africa", countries=("KE", "GH"))
    make.member(specialist, project, Role.specialist)
    make.member(reporter, project, Role.reporter, organisation_id=union)
    make.partner(project, union)
    outcome = make.result(project, "1", title="Stronger unions")
    make.indicator(outcome, "1.a", title="Members")
    return {"project": project, "outcome": outcome, "specialist": specialist, "reporter": reporter}


def _tags(app, model, **where) -> set[tuple[str, str]]:
    with app.app_context():
        rows = db.session.execute(sa.select(model.scheme, model.code).filter_by(**where)).all()
        return {(TagScheme(s).value, c) for s, c in rows}


def _stamp(page: str) -> str:
    return page.split('name="version" type="hidden" value="')[1].split('"')[0]


def _project_form(**kw):
    data = {
        "reference": "RAF/22/11/NOR",
        "title": "Workers rights in Africa",
        "funding_modality": "XBDC",
        "countries": ["KE", "GH"],
        "start_date": "2024-01-01",
        "end_date": "2027-12-31",
        "phase": "implementation",
    }
    data.update(kw)
    return data


def _checked(page: str, name: str, value: str) -> bool:
    tag = re.search(rf'<input[^>]*name="{name}"[^>]*value="{re.escape(value)}"[^>]*>', page)
    assert tag, f"no {name} checkbox for {value}"
    return "checked" in tag.group(0)


def _text_value(page: str, name: str) -> str:
    tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', page).group(0)
    return re.search(r'value="([^"]*)"', tag).group(1)


# --- the rules --------------------------------------------------------------------------------


def test_dwcp_codes_are_normalised_and_every_bad_one_is_named(app):
    with app.test_request_context():
        assert ilo_terms.dwcp_codes("ken101, Uga  102; KEN 101\nTZA-103") == ["KEN 101", "UGA 102", "TZA 103"]
        assert ilo_terms.dwcp_codes("KEN 101 UGA 102") == ["KEN 101", "UGA 102"]
        assert ilo_terms.dwcp_codes("  ") == []
        # The letters are a country's current ISO 3166 alpha-3 code.
        assert ilo_terms.normalise_dwcp("mmr101") == "MMR 101"
        assert ilo_terms.normalise_dwcp("BUR 101") is None and ilo_terms.normalise_dwcp("XYZ 101") is None
        with pytest.raises(ilo_terms.TagError) as refused:
            ilo_terms.dwcp_codes("KEN 101, KE 12, XYZ 101, KEN 1011")
        message = str(refused.value)
        assert "Not a DWCP outcome code: KE 12, XYZ 101, KEN 1011." in message
        assert "e.g. KEN 101" in message  # says what a good code looks like


def test_the_services_refuse_codes_off_the_lists_and_store_them_normalised(app, world):
    with app.test_request_context():
        actor = db.session.get(User, world["specialist"])
        result = db.session.get(Result, world["outcome"])
        data = fw.ResultData(type=ResultType.outcome, code="1", title="Stronger unions")
        for tags, words in [
            (ilo_terms.Tags(pb=["9"]), "Not a P&B outcome: 9."),
            (ilo_terms.Tags(sdg=["8.9"]), "Not an SDG target of the list: 8.9."),
            (ilo_terms.Tags(dwcp=["KENYA 1"]), "Not a DWCP outcome code: KENYA 1."),
        ]:
            data.tags = tags
            with pytest.raises(fw.FrameworkError, match=re.escape(words)):
                fw.update_result(result, data, actor=actor)
            db.session.rollback()
        project_data = services.ProjectData(
            reference="RAF/24/01/NOR",
            title="New",
            funding_modality=FundingModality.XBDC,
            start_date=date(2024, 1, 1),
            end_date=date(2025, 1, 1),
            tags=ilo_terms.Tags(sdg=["17.1"]),
        )
        with pytest.raises(services.ProjectError, match="Not an SDG target of the list: 17.1."):
            services.create_project(project_data, actor=actor)
        db.session.rollback()
        project_data.tags = ilo_terms.Tags(dwcp=["ken 101", "KEN101"], pb=["6", "1", "1"], sdg=["8.8"])
        project = services.create_project(project_data, actor=actor)
        db.session.commit()
        project_id = project.id
    assert _tags(app, ProjectTag, project_id=project_id) == {
        ("dwcp", "KEN 101"),
        ("pb", "1"),
        ("pb", "6"),
        ("sdg", "8.8"),
    }


def test_the_database_keeps_a_tag_once_per_owner(app, world):
    twice = [
        lambda: ProjectTag(project_id=world["project"], scheme=TagScheme.pb, code="1"),
        lambda: ResultTag(result_id=world["outcome"], scheme=TagScheme.sdg, code="8.8"),
    ]
    with app.app_context():
        for tag in twice:
            db.session.add(tag())
            db.session.commit()
            db.session.add(tag())
            with pytest.raises(IntegrityError):
                db.session.commit()
            db.session.rollback()


# --- the project form and page ----------------------------------------------------------------


def test_a_specialist_tags_a_project_and_sees_the_tags_on_its_page(app, client, login, post, world):
    login("spec@example.org")
    url = f"/projects/{world['project']}/edit"
    page = client.get(url).get_data(as_text=True)
    assert "<legend>ILO Programme and Budget outcomes</legend>" in page
    assert "Strong tripartite constituents and influential and inclusive social dialogue" in page
    assert "8.8 Labour rights and safe, secure working environments" in page
    data = _project_form(dwcp="ken101, GHA 102", pb_outcomes=["1", "6"], sdg_targets=["8.8", "5.5"])
    assert post(url, {**data, "version": _stamp(page)}).status_code == 302
    assert _tags(app, ProjectTag, project_id=world["project"]) == {
        ("dwcp", "KEN 101"),
        ("dwcp", "GHA 102"),
        ("pb", "1"),
        ("pb", "6"),
        ("sdg", "5.5"),
        ("sdg", "8.8"),
    }
    detail = client.get(f"/projects/{world['project']}").get_data(as_text=True)
    for words in (
        "DWCP GHA 102",
        "DWCP KEN 101",
        "P&amp;B outcome 1: Strong tripartite constituents",
        "P&amp;B outcome 6: Gender equality",
        "SDG 8.8 Labour rights and safe, secure working environments",
        "SDG 5.5 Women&#39;s full participation and leadership",
    ):
        assert words in detail
    # The edit page shows what is stored; removing one and adding another changes only those.
    page = client.get(url).get_data(as_text=True)
    assert _text_value(page, "dwcp") == "GHA 102, KEN 101"
    assert _checked(page, "pb_outcomes", "1") and not _checked(page, "pb_outcomes", "2")
    data = _project_form(dwcp="GHA 102, KEN 101", pb_outcomes=["1"], sdg_targets=["8.8", "8.7", "5.5"])
    assert post(url, {**data, "version": _stamp(page)}).status_code == 302
    assert ("pb", "6") not in _tags(app, ProjectTag, project_id=world["project"])
    with app.app_context():
        events = db.session.execute(
            sa.select(AuditEvent.action, AuditEvent.entity_id, AuditEvent.project_id).where(
                AuditEvent.entity_type == "project_tag"
            )
        ).all()
    p = world["project"]
    assert ("project_tag.delete", f"{p}:pb:6", p) in events
    assert ("project_tag.create", f"{p}:sdg:8.7", p) in events
    assert ("project_tag.delete", f"{p}:dwcp:KEN 101", p) not in events  # kept, not rewritten


def test_a_refused_project_form_keeps_what_was_typed_and_saves_nothing(app, client, login, post, world):
    login("spec@example.org")
    url = f"/projects/{world['project']}/edit"
    page = client.get(url).get_data(as_text=True)
    data = _project_form(dwcp="KEN 101, K3N 1", pb_outcomes=["3"], sdg_targets=["4.4"], version=_stamp(page))
    resp = post(url, data)
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert "Not a DWCP outcome code: K3N 1." in page
    assert _text_value(page, "dwcp") == "KEN 101, K3N 1"
    assert _checked(page, "pb_outcomes", "3") and _checked(page, "sdg_targets", "4.4")
    assert _tags(app, ProjectTag, project_id=world["project"]) == set()
    # A code off the list, posted by hand, is refused too.
    resp = post(url, {**data, "dwcp": "", "pb_outcomes": ["9"]})
    assert resp.status_code == 422 and "Choose from the list." in resp.get_data(as_text=True)
    assert _tags(app, ProjectTag, project_id=world["project"]) == set()


def test_a_project_edit_conflict_keeps_the_tags_typed(app, client, login, post, world):
    login("spec@example.org")
    url = f"/projects/{world['project']}/edit"
    stamp = _stamp(client.get(url).get_data(as_text=True))
    assert post(url, {**_project_form(pb_outcomes=["1"]), "version": stamp}).status_code == 302
    resp = post(url, {**_project_form(dwcp="SEN 101", sdg_targets=["8.7"]), "version": stamp})
    assert resp.status_code == 409
    page = resp.get_data(as_text=True)
    assert _text_value(page, "dwcp") == "SEN 101" and _checked(page, "sdg_targets", "8.7")
    assert _tags(app, ProjectTag, project_id=world["project"]) == {("pb", "1")}


# --- the result form and the framework page ---------------------------------------------------


def test_results_are_tagged_and_shown_in_the_framework_in_every_language(app, client, login, post, world):
    login("spec@example.org")
    p = world["project"]
    resp = post(
        f"/projects/{p}/framework/results/new",
        {
            "type": "output",
            "code": "1.1",
            "title": "Training",
            "parent_id": str(world["outcome"]),
            "dwcp": "ken 101",
            "pb_outcomes": ["1"],
            "sdg_targets": ["8.8"],
        },
    )
    assert resp.status_code == 302
    with app.app_context():
        output = db.session.scalar(sa.select(Result.id).where(Result.code == "1.1"))
    assert _tags(app, ResultTag, result_id=output) == {("dwcp", "KEN 101"), ("pb", "1"), ("sdg", "8.8")}
    page = client.get(f"/projects/{p}/framework").get_data(as_text=True)
    section = page.split(f'id="result-{output}"')[1]
    assert (
        "DWCP KEN 101" in section and "SDG 8.8 Labour rights and safe, secure working environments" in section
    )
    with app.app_context():
        db.session.get(User, world["specialist"]).preferred_language = "fr"
        db.session.commit()
    page = client.get(f"/projects/{p}/framework").get_data(as_text=True)
    assert "ODD 8.8 Droits des travailleurs et sécurité sur le lieu de travail" in page
    assert "Résultat P&amp;B 1 : Des mandants tripartites forts" in page
    for lang, words in (("es", "Metas de los ODS"), ("pt", "Metas dos ODS")):
        with app.app_context():
            db.session.get(User, world["specialist"]).preferred_language = lang
            db.session.commit()
        form = client.get(f"/projects/{p}/framework/results/{output}/edit").get_data(as_text=True)
        assert f"<legend>{words}</legend>" in form


def test_a_result_edit_keeps_what_was_typed_on_an_error_and_a_conflict(app, client, login, post, world):
    login("spec@example.org")
    p, outcome = world["project"], world["outcome"]
    url = f"/projects/{p}/framework/results/{outcome}/edit"
    page = client.get(url).get_data(as_text=True)
    stamp = _stamp(page)
    base = {"type": "outcome", "code": "1", "title": "Stronger unions", "parent_id": ""}
    resp = post(url, {**base, "dwcp": "UGA 9", "sdg_targets": ["1.3"], "version": stamp})
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert "Not a DWCP outcome code: UGA 9." in page and _text_value(page, "dwcp") == "UGA 9"
    assert _checked(page, "sdg_targets", "1.3")
    assert post(url, {**base, "pb_outcomes": ["8"], "version": stamp}).status_code == 302
    resp = post(url, {**base, "dwcp": "UGA 101", "pb_outcomes": ["7"], "version": stamp})
    assert resp.status_code == 409
    page = resp.get_data(as_text=True)
    assert _text_value(page, "dwcp") == "UGA 101" and _checked(page, "pb_outcomes", "7")
    assert not _checked(page, "pb_outcomes", "8")
    assert _tags(app, ResultTag, result_id=outcome) == {("pb", "8")}
    with app.app_context():
        actions = set(
            db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.entity_type == "result_tag"))
        )
    assert actions == {"result_tag.create"}
    # Deleting a result takes its tags with it.
    outcome_two = None
    with app.app_context():
        db.session.add(
            Result(
                project_id=p,
                code="2",
                type=ResultType.outcome,
                title="Other",
                tags=[ResultTag(scheme=TagScheme.sdg, code="8.7")],
            )
        )
        db.session.commit()
        outcome_two = db.session.scalar(sa.select(Result.id).where(Result.code == "2"))
    assert post(f"/projects/{p}/framework/result/{outcome_two}/delete").status_code in (200, 302)
    assert _tags(app, ResultTag, result_id=outcome_two) == set()


# --- out: downloads, the framework spreadsheet, the API ---------------------------------------


def _tag_world(app, world):
    with app.app_context():
        project = db.session.get(Project, world["project"])
        project.tags = [
            ProjectTag(scheme=TagScheme.dwcp, code="KEN 101"),
            ProjectTag(scheme=TagScheme.pb, code="1"),
            ProjectTag(scheme=TagScheme.sdg, code="8.8"),
            ProjectTag(scheme=TagScheme.sdg, code="10.4"),
        ]
        result = db.session.get(Result, world["outcome"])
        result.tags = [
            ResultTag(scheme=TagScheme.dwcp, code="KEN 102"),
            ResultTag(scheme=TagScheme.pb, code="6"),
            ResultTag(scheme=TagScheme.sdg, code="5.5"),
        ]
        db.session.commit()


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_downloads_carry_the_tags_and_the_iati_file_does_not(app, client, login, world, fmt):
    _tag_world(app, world)
    login("spec@example.org")
    resp, body = download(client, fmt)
    assert resp.status_code == 200, body[:300]
    if fmt == "csv":
        tables = read_csv_zip(body)
        projects, framework = tables["projects"], tables["results_framework"]
    else:
        book = read_xlsx(body)
        projects, framework = book["Projects"], book["Results framework"]
    (project,) = projects
    assert (project["dwcp_outcomes"], project["pb_outcomes"], project["sdg_targets"]) == (
        "KEN 101",
        "1",
        "8.8, 10.4",
    )
    (row,) = framework
    assert (row["dwcp_outcomes"], row["pb_outcomes"], row["sdg_targets"]) == ("KEN 102", "6", "5.5")
    resp, body = download(client, "iati")
    assert resp.status_code == 200 and b"<iati-activities" in body
    assert b"KEN 101" not in body and b"KEN 102" not in body


def test_the_framework_spreadsheet_keeps_the_tags_through_export_and_import(app, client, login, post, world):
    _tag_world(app, world)
    login("spec@example.org")
    p = world["project"]
    with client.get(f"/projects/{p}/framework/export.csv") as resp:
        exported = resp.data
    text = exported.decode("utf-8-sig")
    assert "dwcp_outcomes,pb_outcomes,sdg_targets" in text.splitlines()[0]
    assert "KEN 102,6,5.5" in text
    with client.get(f"/projects/{p}/framework/export.xlsx") as resp:
        sheet = openpyxl.load_workbook(io.BytesIO(resp.data))["framework"]
        rows = list(sheet.iter_rows(values_only=True))
    header = list(rows[0])
    assert rows[1][header.index("sdg_targets")] == "5.5"
    # The tags are lost from the framework; importing the export brings them back as they were.
    with app.app_context():
        db.session.get(Result, world["outcome"]).tags = []
        db.session.commit()
    resp = upload(client, p, exported, "export.csv")
    assert resp.status_code == 302
    preview = client.get(resp.location).get_data(as_text=True)
    assert "<code>sdg_targets</code>" in preview
    assert confirm(client, post, resp.location).status_code == 302
    assert _tags(app, ResultTag, result_id=world["outcome"]) == {
        ("dwcp", "KEN 102"),
        ("pb", "6"),
        ("sdg", "5.5"),
    }
    # Exported again, the file is the same; imported again, nothing changes.
    with client.get(f"/projects/{p}/framework/export.csv") as resp:
        assert resp.data == exported
    resp = upload(client, p, exported, "export.csv")
    assert "0 new, 0 changed, 2 unchanged" in client.get(resp.location).get_data(as_text=True)


def test_the_framework_import_names_the_refused_codes_by_row_and_column(app, client, login, world):
    login("spec@example.org")
    csv_text = (
        "level,code,parent,title,dwcp_outcomes,pb_outcomes,sdg_targets,measure\n"
        "outcome,1,,Stronger unions,KE 1,9,8.9,\n"
        "indicator,1.a,1,Members,,1,,number\n"
        'outcome,2,,Social dialogue,sen101,"1, 2","8.8, 16.10",\n'
    )
    resp = upload(client, world["project"], csv_text.encode(), "tags.csv")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "Not a DWCP outcome code: KE 1." in page
    assert "Not a P&amp;B outcome: 9." in page
    assert "Not an SDG target of the list: 8.9." in page
    assert "This column is for result rows: leave it empty on an indicator row." in page
    assert _tags(app, ResultTag, result_id=world["outcome"]) == set()


def test_the_api_gives_the_tags_of_projects_and_results(app, client, world):
    _tag_world(app, world)
    secret = make_token(app, world["specialist"])
    project = client.get(f"/api/v1/projects/{world['project']}", headers=bearer(secret)).json
    assert project["tags"] == [
        {"scheme": "dwcp", "code": "KEN 101"},
        {"scheme": "pb", "code": "1"},
        {"scheme": "sdg", "code": "8.8"},
        {"scheme": "sdg", "code": "10.4"},
    ]
    listed = client.get("/api/v1/projects", headers=bearer(secret)).json["items"]
    assert listed[0]["tags"] == project["tags"]
    framework = client.get(f"/api/v1/projects/{world['project']}/framework", headers=bearer(secret)).json
    (result,) = framework["results"]
    assert result["tags"] == [
        {"scheme": "dwcp", "code": "KEN 102"},
        {"scheme": "pb", "code": "6"},
        {"scheme": "sdg", "code": "5.5"},
    ]
    assert result["indicators"][0]["code"] == "1.a"
