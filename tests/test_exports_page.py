"""The Downloads page and the `flask export` command: counts, validation, audit trail."""

from __future__ import annotations

import io
import json
import zipfile

import openpyxl
import pytest
import sqlalchemy as sa
from lxml import etree

from mel_app.extensions import db
from mel_app.models import AuditEvent
from tests.conftest import csrf_token
from tests.exports_world import build_world, download, read_json


@pytest.fixture
def world(make):
    return build_world(make)


def _events(app) -> list[AuditEvent]:
    with app.app_context():
        events = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id)).all()
        db.session.expunge_all()
        return events


def test_the_page_counts_rows_for_the_chosen_scope_without_changing_anything(app, client, login, world):
    login(world.users["specialist"])
    before = len(_events(app))
    page = client.get("/downloads")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "RAF/22/11/NOR" in html and "RAF/23/05/FIN" in html
    assert (
        "Côte d’Ivoire (CI)" in html or "Côte d'Ivoire (CI)" in html
    )  # country names in the user's language
    assert "Include reports not yet approved" in html  # specialists may
    # Narrowed scope, every status: the counts change, and equal the rows of the file.
    query = {
        "projects": str(world["project"]),
        "all_statuses": "y",
        "constituencies": ["workers"],
        "period_from": "2026-01-01",
    }
    html = client.get("/downloads", query_string=query).get_data(as_text=True)
    assert len(_events(app)) == before  # a GET records nothing and changes nothing
    data = read_json(download(client, "json", **query)[1])
    for name, rows in data["tables"].items():
        assert f'data-table="{name}">{len(rows)}</td>' in html, name
    assert {r["period"] for r in data["tables"]["indicator_values"]} == {"2026 H1"}
    # The download form carries the counted scope.
    assert f'<input type="hidden" name="projects" value="{world["project"]}">' in html
    assert '<input type="hidden" name="period_from" value="2026-01-01">' in html


def test_an_invalid_scope_is_shown_again_with_its_error(client, login, world):
    login(world.users["evaluator"])
    resp = client.get("/downloads", query_string={"period_from": "2026-06-01", "period_to": "2026-01-01"})
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    assert "The end of the range is before its start." in html
    assert 'value="2026-06-01"' in html
    assert "3. Download" not in html


def test_a_download_is_audited_with_its_scope(app, client, login, world):
    login(world.users["evaluator"])
    resp, body = download(client, "csv", projects=str(world["project"]), countries=["CI"], bom="y")
    assert resp.status_code == 200
    assert resp.headers["Content-Disposition"].startswith('attachment; filename="mel-results-')
    assert resp.headers["Content-Disposition"].endswith('-csv.zip"')
    assert resp.mimetype == "application/zip"
    event = _events(app)[-1]
    assert event.action == "export.download"
    assert event.actor_id == world["user_evaluator"] and event.project_id == world["project"]
    assert event.after == {
        "format": "csv",
        "bom": True,
        "scope": {
            "projects": ["RAF/22/11/NOR"],
            "period_from": None,
            "period_to": None,
            "countries": ["CI"],
            "constituencies": [],
            "statuses": ["approved"],
        },
    }
    with zipfile.ZipFile(io.BytesIO(body)) as zf:
        about = json.loads(zf.read("about.json"))
        # Reports of organisations based in the chosen countries only.
        values = zf.read("indicator_values.csv").decode("utf-8-sig")
    assert about["audit_head_hash"] == event.hash
    assert "Kenya Union Centre" not in values


def test_a_download_needs_a_valid_csrf_token(app, client, login, world):
    login(world.users["evaluator"])
    before = len(_events(app))
    resp = client.post("/downloads", data={"format": "json"})
    assert resp.status_code == 400
    assert len(_events(app)) == before


def test_an_unknown_format_is_refused_with_the_form(app, client, login, world):
    login(world.users["evaluator"])
    before = len(_events(app))
    resp = client.post("/downloads", data={"format": "pdf", "csrf_token": csrf_token(client)})
    assert resp.status_code == 400
    assert "Not a valid choice" in resp.get_data(as_text=True)
    assert len(_events(app)) == before


def test_get_never_downloads(client, login, world):
    login(world.users["evaluator"])
    resp = client.get("/downloads", query_string={"format": "csv"})
    assert resp.status_code == 200 and resp.mimetype == "text/html"


# --- command line -----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["xlsx", "csv", "json", "iati"])
def test_the_command_line_exports_everything_as_the_system_actor(app, runner, world, tmp_path, fmt):
    out = tmp_path / f"results.{fmt}"
    result = runner.invoke(args=["export", "--format", fmt, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Wrote" in result.output and out.exists() and not (tmp_path / f"results.{fmt}.part").exists()
    event = _events(app)[-1]
    assert event.action == "export.download" and event.actor_name == "system" and event.actor_id is None
    assert event.after["scope"]["projects"] == ["*"] and event.after["format"] == fmt
    body = out.read_bytes()
    if fmt == "xlsx":
        book = openpyxl.load_workbook(io.BytesIO(body), read_only=True)
        refs = {row[1] for row in book["Projects"].iter_rows(min_row=2, values_only=True)}
        scorers = {row[10] for row in book["Scores"].iter_rows(min_row=2, values_only=True)}
        book.close()
    elif fmt == "csv":
        with zipfile.ZipFile(io.BytesIO(body)) as zf:
            lines = zf.read("projects.csv").decode().splitlines()[1:]
            refs = {line.split(",")[1] for line in lines}
            scorers = set(zf.read("scores.csv").decode().split(","))
    elif fmt == "json":
        data = json.loads(body)
        refs = {r["reference"] for r in data["tables"]["projects"]}
        scorers = {r["scorer"] for r in data["tables"]["scores"]}
    else:
        root = etree.fromstring(body)
        refs = {o.get("ref") for o in root.iter("other-identifier")}
        scorers = {"Eva Evaluator"}  # IATI carries no scores
    assert refs == {"RAF/22/11/NOR", "RAF/23/05/FIN"}
    assert "Eva Evaluator" in scorers


def test_the_command_line_scope_options(app, runner, world, tmp_path):
    out = tmp_path / "one.json"
    args = ["export", "--format", "json", "--out", str(out), "--project", "RAF/22/11/NOR"]
    args += ["--from", "2026-01-01", "--to", "2026-06-30", "--all-statuses", "--constituency", "workers"]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_bytes())
    assert {r["reference"] for r in data["tables"]["projects"]} == {"RAF/22/11/NOR"}
    assert {(r["period"], r["status"]) for r in data["tables"]["indicator_values"]} == {
        ("2026 H1", "submitted")
    }
    assert data["about"]["scope"] == {
        "projects": ["RAF/22/11/NOR"],
        "period_from": "2026-01-01",
        "period_to": "2026-06-30",
        "countries": [],
        "constituencies": ["workers"],
        "statuses": ["submitted", "returned", "approved"],
    }
    assert _events(app)[-1].after["scope"] == data["about"]["scope"]


def test_the_command_line_refuses_what_it_cannot_do(app, runner, world, tmp_path):
    before = len(_events(app))
    out = tmp_path / "x.json"
    result = runner.invoke(
        args=["export", "--format", "json", "--out", str(out), "--project", "XXX/00/00/XXX"]
    )
    assert result.exit_code != 0 and "No project with the reference XXX/00/00/XXX" in result.output
    result = runner.invoke(args=["export", "--format", "iati", "--out", str(out), "--country", "ZZ"])
    assert result.exit_code != 0 and "at least one project" in result.output
    result = runner.invoke(
        args=["export", "--format", "csv", "--out", str(out), "--from", "2026-02-01", "--to", "2026-01-01"]
    )
    assert result.exit_code != 0
    assert not out.exists()
    assert len(_events(app)) == before


def test_an_iati_download_without_projects_is_refused(app, client, login, world):
    login(world.users["specialist"])
    before = len(_events(app))
    # A project in Ghana, and Côte d'Ivoire only: nothing is left to publish.
    resp, body = download(client, "iati", projects=str(world["other_project"]), countries=["CI"])
    assert resp.status_code == 422
    assert "An IATI file needs at least one project" in body.decode()
    assert len(_events(app)) == before
    # Countries that are not the user's projects' are not even a choice.
    login_as_evaluator = world.users["evaluator"]
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    login(login_as_evaluator)
    resp, _ = download(client, "iati", countries=["GH"])
    assert resp.status_code == 400


def test_the_page_runs_the_same_number_of_queries_whatever_the_data(app, client, login, world, make, queries):
    login(world.users["specialist"])
    with queries() as before:
        assert client.get("/downloads").status_code == 200
    # More projects, organisations and reports: the page still counts with one query per table.
    for n in range(3):
        project = make.project(f"RAF/30/{n + 10}/NOR", countries=("SN", "TG"))
        make.member(world["user_specialist"], project, "specialist")
        make.partner(project, make.organisation(f"Extra union {n}"))
    with queries() as after:
        assert client.get("/downloads").status_code == 200
    assert len(after) == len(before)
