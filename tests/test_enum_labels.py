"""Enumeration labels come from one place, templates cannot be handed two meanings of one name, and
the consolidated evaluation results name every group that scored — on the page and in both CSVs."""

from __future__ import annotations

import csv
import enum
import io
import re
from collections import Counter

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_babel import force_locale

from config import TestingConfig
from mel_app import create_app, models
from mel_app.enum_labels import LABELS, label
from mel_app.extensions import db
from mel_app.models import EvaluationStatus, ScorerGroup, User
from tests.conftest import csrf_token
from tests.evaluation_world import add_evaluation, build_world
from tests.exports_world import download, read_csv_zip
from tests.test_evaluations_results import fixed_scorecards

MODEL_ENUMS = sorted(
    {obj for obj in vars(models).values() if isinstance(obj, type) and issubclass(obj, enum.Enum)},
    key=lambda cls: cls.__name__,
)


@pytest.mark.parametrize("enum_cls", sorted(set(MODEL_ENUMS) | set(LABELS), key=lambda c: c.__name__))
def test_every_member_of_every_enumeration_has_a_label(app, enum_cls):
    assert enum_cls in LABELS, f"{enum_cls.__name__} has no labels"
    missing = [m for m in enum_cls if m not in LABELS[enum_cls]]
    assert not missing, f"{enum_cls.__name__} members without a label: {missing}"
    with app.test_request_context():
        for member in enum_cls:
            assert label(member).strip(), f"{enum_cls.__name__}.{member.name} has an empty label"
            assert label(member.value, enum_cls.__name__) == label(member), "stored text reads the same"


def test_no_two_context_processors_or_template_globals_share_a_name(monkeypatch):
    """A name given twice to templates is decided by registration order: one page then reads the
    other feature's meaning of it (as the independent evaluators' group once went blank)."""
    registered: list[str] = []
    original = Flask.add_template_global

    def recording(self, f, name=None):
        registered.append(name or f.__name__)
        return original(self, f, name=name)

    monkeypatch.setattr(Flask, "add_template_global", recording)
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI="sqlite://")
    twice = sorted(name for name, n in Counter(registered).items() if n > 1)
    assert not twice, f"template globals registered twice: {twice}"
    with app.test_request_context("/"):
        keys: Counter[str] = Counter()
        for processor in app.template_context_processors[None]:
            keys.update(processor().keys())
    twice = sorted(name for name, n in keys.items() if n > 1)
    assert not twice, f"names given by two context processors: {twice}"
    shadowed = sorted(set(keys) & set(registered))
    assert not shadowed, f"context processors shadow the app's template globals: {shadowed}"
    assert "label" in app.jinja_env.filters


# --- the consolidated results ------------------------------------------------------------------


@pytest.fixture
def scored(app, make):
    world = build_world(app, make)
    evaluation_id = add_evaluation(app, world, status=EvaluationStatus.closed)
    fixed_scorecards(app, world, evaluation_id)
    return world, evaluation_id


def _section(html: str, heading_id: str) -> str:
    match = re.search(rf'<section aria-labelledby="{heading_id}">(.*?)</section>', html, re.S)
    assert match, heading_id
    return match.group(1)


def _cells(row: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]


def test_the_consolidated_results_name_every_group_that_scored(app, client, login, scored):
    world, evaluation_id = scored
    login(world.emails["specialist"])
    html = client.get(f"/evaluations/{evaluation_id}/results").get_data(as_text=True)

    who = [
        _cells(row) for row in re.findall(r"<tr>(.*?)</tr>", _section(html, "participation-heading"), re.S)
    ]
    assert ["Independent evaluators", "1", "1"] in who, who
    assert ["Workers", "2", "2"] in who and ["Government", "1", "0"] in who

    rel = re.search(r'<tbody id="criterion-REL"[^>]*>(.*?)</tbody>', html, re.S).group(1)
    groups = [_cells(row)[-8] for row in re.findall(r"<tr>(.*?)</tr>", rel, re.S)]
    assert groups == ["All groups", "Workers", "Employers", "ILO", "Independent evaluators"]

    individual = _section(html, "individual-heading")
    eva = next(row for row in re.findall(r"<tr>(.*?)</tr>", individual, re.S) if "Eva Evaluator" in row)
    assert _cells(eva)[1] == "Independent evaluators", "the scorer's group is named, not blank"


def test_the_consolidated_results_name_groups_in_the_users_language(app, client, login, scored):
    world, evaluation_id = scored
    with app.app_context():
        db.session.execute(
            sa.update(User).where(User.email == world.emails["specialist"]).values(preferred_language="fr")
        )
        db.session.commit()
    login(world.emails["specialist"])
    html = client.get(f"/evaluations/{evaluation_id}/results").get_data(as_text=True)
    with app.test_request_context(), force_locale("fr"):
        independent = label(ScorerGroup.independent)
    assert independent != "Independent evaluators"
    assert f'<th scope="row">{independent}</th>' in _section(html, "participation-heading")


def _consolidated_csv(client, evaluation_id: int) -> tuple[list[str], list[dict[str, str]]]:
    resp = client.post(
        f"/evaluations/{evaluation_id}/results/download",
        data={"what": "summary", "csrf_token": csrf_token(client)},
    )
    assert resp.status_code == 200
    reader = csv.DictReader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff"), newline=""))
    return list(reader.fieldnames or []), list(reader)


def test_both_csv_files_of_the_statistics_have_one_layout_and_the_same_values(app, client, login, scored):
    world, evaluation_id = scored
    login(world.emails["specialist"])
    header, rows = _consolidated_csv(client, evaluation_id)
    resp, body = download(client, "csv")
    assert resp.status_code == 200
    exported = read_csv_zip(body)["score_summary"]
    assert header == list(exported[0].keys()), "one column layout"
    assert rows == [r for r in exported if r["evaluation_id"] == str(evaluation_id)], "the same values"
    rel = {r["constituency"]: r for r in rows if r["criterion_code"] == "REL"}
    assert list(rel) == ["all", "workers", "employers", "ilo", "independent"]
    assert (rel["independent"]["scores"], rel["independent"]["mean"]) == ("1", "4.0")
