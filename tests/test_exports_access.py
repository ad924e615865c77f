"""Only what the reader may see goes into an export: the page's rules, applied in the queries."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from mel_app.extensions import db
from mel_app.models import AuditEvent
from tests.exports_world import build_world, download, read_json


@pytest.fixture
def world(make):
    return build_world(make)


def _json(client, **scope) -> dict:
    resp, body = download(client, "json", **scope)
    assert resp.status_code == 200, body[:300]
    return read_json(body)


def _events(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count(AuditEvent.id)))


@pytest.mark.parametrize(
    ("who", "page"),
    [
        ("specialist", 200),
        ("evaluator", 200),
        ("observer", 200),
        ("admin", 200),
        ("reporter", 403),
        ("nobody", 403),
    ],
)
def test_who_may_open_the_downloads_page(client, login, world, who, page):
    login(world.users[who])
    assert client.get("/downloads").status_code == page
    home = client.get("/").get_data(as_text=True)
    assert ('href="/downloads"' in home) == (page == 200)


@pytest.mark.parametrize("who", ["reporter", "nobody"])
def test_reporters_and_strangers_cannot_download(app, client, login, world, who):
    login(world.users[who])
    before = _events(app)
    resp, _body = download(client, "csv")
    assert resp.status_code == 403
    assert _events(app) == before


def test_signed_out_visitors_are_sent_to_sign_in(client, world):
    assert client.get("/downloads").status_code == 302
    resp, _ = download(client, "json")
    assert resp.status_code == 302 and "/login" in resp.location


@pytest.mark.parametrize("fmt", ["xlsx", "csv", "json", "iati"])
def test_an_export_never_holds_a_project_the_user_is_not_a_member_of(client, login, world, fmt):
    login(world.users["evaluator"])  # evaluator of RAF/22/11/NOR only
    resp, body = download(client, fmt)
    assert resp.status_code == 200
    if fmt in ("xlsx", "csv"):
        import io
        import zipfile

        with zipfile.ZipFile(io.BytesIO(body)) as zf:
            body = b"".join(zf.read(name) for name in zf.namelist())
    assert b"RAF/22/11/NOR" in body
    for secret in (b"RAF/23/05/FIN", b"secret of another project", b"Other indicator", b"Ghana Union"):
        assert secret not in body


def test_a_project_id_the_user_may_not_see_is_refused(app, client, login, world):
    login(world.users["evaluator"])
    before = _events(app)
    resp, _body = download(client, "json", projects=str(world["other_project"]))
    assert resp.status_code == 400
    assert _events(app) == before


def test_the_other_evaluator_sees_only_their_project(client, login, world):
    login(world.users["other_evaluator"])
    data = _json(client)
    assert {r["reference"] for r in data["tables"]["projects"]} == {"RAF/23/05/FIN"}
    assert {r["value"] for r in data["tables"]["indicator_values"]} == {777}
    assert data["tables"]["scores"] == [] and data["tables"]["design_input"] == []


def test_evaluators_and_observers_get_approved_reports_only_even_when_asking_for_more(client, login, world):
    for who in ("evaluator", "observer"):
        login(world.users[who])
        data = _json(client, all_statuses="y")
        assert {r["status"] for r in data["tables"]["indicator_values"]} == {"approved"}
        assert {r["status"] for r in data["tables"]["narrative"]} == {"approved"}
        assert data["about"]["scope"]["statuses"] == ["approved"]
        client.post("/logout", data={"csrf_token": _token(client)})


def _token(client) -> str:
    from tests.conftest import csrf_token

    return csrf_token(client)


def test_scorer_names_only_for_evaluators_and_specialists(client, login, world):
    login(world.users["evaluator"])
    named = _json(client)["tables"]["scores"]
    assert {"Eva Evaluator", "Rose Reporter", "Carla Specialist"} <= {r["scorer"] for r in named}
    client.post("/logout", data={"csrf_token": _token(client)})

    login(world.users["observer"])
    data = _json(client)
    scores = data["tables"]["scores"]
    assert scores and {r["scorer"] for r in scores} == {None}
    assert data["about"]["scorer_names"] is False
    client.post("/logout", data={"csrf_token": _token(client)})

    login(world.users["admin"])  # reads everything, but is neither evaluator nor specialist
    scores = _json(client)["tables"]["scores"]
    assert scores and {r["scorer"] for r in scores} == {None}


def test_observers_read_closed_evaluations_only(client, login, world):
    login(world.users["observer"])
    data = _json(client)
    evaluations = {r["evaluation_id"] for r in data["tables"]["scores"]}
    assert evaluations == {world["evaluation_closed"]}
    assert {r["evaluation_id"] for r in data["tables"]["score_summary"]} == {world["evaluation_closed"]}


def test_a_scorer_sees_nothing_of_an_open_evaluation_before_submitting(client, login, world):
    # The specialist's scorecard of the open evaluation is a draft: nothing of it is exported to them.
    login(world.users["specialist"])
    data = _json(client)
    for table in ("scores", "score_summary"):
        assert world["evaluation_open"] not in {r["evaluation_id"] for r in data["tables"][table]}
    assert world["evaluation_closed"] in {r["evaluation_id"] for r in data["tables"]["scores"]}
    client.post("/logout", data={"csrf_token": _token(client)})
    # The evaluator has submitted theirs: they see the open evaluation's submitted scores.
    login(world.users["evaluator"])
    data = _json(client)
    open_scores = [r for r in data["tables"]["scores"] if r["evaluation_id"] == world["evaluation_open"]]
    assert [r["scorer"] for r in open_scores] == ["Eva Evaluator"]


def test_the_counts_on_the_page_follow_the_same_rules(client, login, world):
    login(world.users["observer"])
    page = client.get("/downloads").get_data(as_text=True)
    data = _json(client)
    for name, rows in data["tables"].items():
        assert f'data-table="{name}">{len(rows)}</td>' in page, name
    assert "Include reports not yet approved" not in page  # not offered to observers
