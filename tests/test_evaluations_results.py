"""The consolidated view: statistics against hand-computed values, divergence, who sees what."""

from __future__ import annotations

import csv
import io
import re

import pytest

from mel_app.evaluations import services
from mel_app.extensions import db
from mel_app.models import AuditEvent, EvaluationStatus, ScorerGroup
from tests.evaluation_world import add_evaluation, add_scorecard, build_world


@pytest.fixture
def world(app, make):
    return build_world(app, make)


def fixed_scorecards(app, world, evaluation_id):
    """The fixed set of the hand computation below (REL and COH only; other criteria unscored).

    REL: workers 6, 5; employers 3 (a single scorer); independent 4; ILO cannot assess;
         government 1 but still a draft (left out).
    COH: workers 4, 5; employers 3; independent 4; ILO 4.
    """
    u = world.users
    add_scorecard(app, evaluation_id, u["union1"], ScorerGroup.workers, {"REL": 6, "COH": 4})
    add_scorecard(app, evaluation_id, u["union2"], ScorerGroup.workers, {"REL": 5, "COH": 5})
    add_scorecard(app, evaluation_id, u["employer"], ScorerGroup.employers, {"REL": 3, "COH": 3})
    add_scorecard(app, evaluation_id, u["evaluator"], ScorerGroup.independent, {"REL": 4, "COH": 4})
    add_scorecard(app, evaluation_id, u["specialist"], ScorerGroup.ilo, {"REL": None, "COH": 4})
    add_scorecard(
        app, evaluation_id, u["government"], ScorerGroup.government, {"REL": 1, "COH": 1}, submitted=False
    )


def test_statistics_match_the_hand_computed_values(app, world):
    evaluation_id = add_evaluation(app, world)
    fixed_scorecards(app, world, evaluation_id)
    with app.app_context():
        results = services.consolidated_results(
            services.load_evaluation(evaluation_id), with_individuals=False
        )
        rel = results.summary(world.criteria["REL"])
        coh = results.summary(world.criteria["COH"])

    # REL overall: points 6, 5, 3, 4 (an even count) and one "cannot assess"; the draft is left out.
    o = rel.overall
    assert (o.n, o.minimum, o.maximum, o.cannot_assess) == (4, 3, 6, 1)
    assert o.mean == pytest.approx(4.5)
    assert o.median == pytest.approx(4.5)  # (4 + 5) / 2
    assert o.stdev == pytest.approx((5 / 3) ** 0.5)  # squares of deviations 2.25+0.25+2.25+0.25 = 5, / 3
    workers = rel.groups[ScorerGroup.workers]
    assert (workers.n, workers.mean, workers.median, workers.minimum, workers.maximum) == (2, 5.5, 5.5, 5, 6)
    assert workers.stdev == pytest.approx(0.5**0.5)
    single = rel.groups[ScorerGroup.employers]  # one scorer: no spread
    assert (single.n, single.mean, single.median, single.stdev) == (1, 3.0, 3.0, None)
    ilo = rel.groups[ScorerGroup.ilo]  # only "cannot assess"
    assert (ilo.n, ilo.mean, ilo.cannot_assess) == (0, None, 1)
    assert ScorerGroup.government not in rel.groups
    # Workers 5.5 against employers 3: 2.5 points apart.
    assert rel.divergence == pytest.approx(2.5) and rel.is_divergent

    # COH overall: 4, 5, 3, 4, 4.
    assert (coh.overall.n, coh.overall.mean, coh.overall.median) == (5, 4.0, 4.0)
    assert coh.overall.stdev == pytest.approx(0.5**0.5)  # (0+1+1+0+0) / 4
    # Workers 4.5, employers 3, independent 4, ILO 4: 1.5 points at most.
    assert coh.divergence == pytest.approx(1.5) and not coh.is_divergent
    assert results.invited == {
        ScorerGroup.workers: 2,
        ScorerGroup.employers: 1,
        ScorerGroup.independent: 1,
        ScorerGroup.ilo: 1,
        ScorerGroup.government: 1,
    }
    assert results.submitted.get(ScorerGroup.government) is None
    assert results.groups == [
        ScorerGroup.workers,
        ScorerGroup.employers,
        ScorerGroup.ilo,
        ScorerGroup.independent,
    ]


def _row(html: str, criterion_code: str, label: str) -> list[str]:
    """The cells of one row of the statistics table (criterion tbody, group row header)."""
    body = re.search(rf'<tbody id="criterion-{criterion_code}"[^>]*>(.*?)</tbody>', html, re.S).group(1)
    for row in re.findall(r"<tr>(.*?)</tr>", body, re.S):
        if re.search(rf'<th scope="row"[^>]*>{re.escape(label)}</th>', row):
            return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
    raise AssertionError(f"no row {label} for {criterion_code}")


def test_the_page_shows_the_numbers_the_flag_and_the_chart(app, client, login, world):
    evaluation_id = add_evaluation(app, world)
    fixed_scorecards(app, world, evaluation_id)
    login(world.emails["specialist"])
    resp = client.get(f"/evaluations/{evaluation_id}/results")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    # n, mean, median, sd, min, max, cannot assess
    assert _row(html, "REL", "All groups") == ["4", "4.50", "4.5", "1.29", "3", "6", "1"]
    assert _row(html, "REL", "Workers") == ["2", "5.50", "5.5", "0.71", "5", "6", "0"]
    assert _row(html, "REL", "Employers") == ["1", "3.00", "3.0", "–", "3", "3", "0"]
    assert _row(html, "REL", "ILO") == ["0", "–", "–", "–", "–", "–", "1"]
    assert _row(html, "COH", "All groups") == ["5", "4.00", "4.0", "0.71", "3", "5", "0"]
    assert re.search(r'<tbody id="criterion-REL" class="is-divergent">', html)
    assert '<tbody id="criterion-COH">' in html
    assert "2.5 points between groups" in html
    # The chart: one bar per group with a score, inline SVG without inline styles or scripts.
    svg = re.search(r"<svg.*?</svg>", html, re.S).group(0)
    assert 'role="img"' in svg and not re.search(r"\sstyle=", svg) and "<script" not in svg
    assert svg.count("<rect") == 3 + 4  # REL: workers, employers, independent; COH: four groups
    # The individual scores with names, for a specialist who is not anchored (scored already).
    assert "Una Union" in html and "Individual scores" in html


def test_figures_are_in_the_users_language(app, client, login, world, post):
    evaluation_id = add_evaluation(app, world)
    fixed_scorecards(app, world, evaluation_id)
    with app.app_context():
        from mel_app.models import User

        db.session.get(User, world.users["evaluator"]).preferred_language = "fr"
        db.session.commit()
    login(world.emails["evaluator"])
    html = client.get(f"/evaluations/{evaluation_id}/results").get_data(as_text=True)
    assert '<html lang="fr">' in html
    assert _row(html, "REL", "Tous les groupes")[1] in ("4,50",), "French words and French decimals"


@pytest.mark.parametrize(
    ("who", "status", "expected"),
    [
        ("specialist", EvaluationStatus.open, 200),
        ("evaluator", EvaluationStatus.open, 200),
        ("admin", EvaluationStatus.open, 200),
        ("union1", EvaluationStatus.open, 403),
        ("employer", EvaluationStatus.open, 403),
        ("observer", EvaluationStatus.open, 403),
        ("outsider", EvaluationStatus.open, 404),
        ("union1", EvaluationStatus.closed, 200),
        ("observer", EvaluationStatus.closed, 200),
        ("outsider", EvaluationStatus.closed, 404),
    ],
)
def test_who_sees_the_consolidated_view(app, client, login, world, who, status, expected):
    evaluation_id = add_evaluation(app, world, status=status)
    fixed_scorecards(app, world, evaluation_id)
    login(world.emails[who])
    resp = client.get(f"/evaluations/{evaluation_id}/results")
    assert resp.status_code == expected
    if expected == 200:
        html = resp.get_data(as_text=True)
        names_visible = who in ("specialist", "evaluator")
        assert ("Ugo Union" in html) is names_visible
        assert ("Individual scores" in html) is names_visible


def test_constituents_never_see_names_even_after_closing(app, client, login, world, post):
    evaluation_id = add_evaluation(app, world, status=EvaluationStatus.closed)
    fixed_scorecards(app, world, evaluation_id)
    login(world.emails["union1"])
    html = client.get(f"/evaluations/{evaluation_id}/results").get_data(as_text=True)
    assert "Emil Employer" not in html and "Reason for REL" not in html
    card_ids = re.findall(
        r"/scorecards/(\d+)", client.get(f"/evaluations/{evaluation_id}").get_data(as_text=True)
    )
    assert card_ids == []
    with app.app_context():
        from mel_app.models import Scorecard

        other = db.session.scalar(
            db.select(Scorecard.id).where(Scorecard.scorer_id == world.users["employer"])
        )
    assert client.get(f"/evaluations/{evaluation_id}/scorecards/{other}").status_code == 403
    resp = post(f"/evaluations/{evaluation_id}/results/download", {"what": "scores"})
    assert resp.status_code == 403
    with post(f"/evaluations/{evaluation_id}/results/download", {"what": "summary"}) as resp:
        assert resp.status_code == 200
        assert "Emil" not in resp.get_data(as_text=True)


def test_a_scorer_sees_nobody_elses_scores_before_submitting(app, client, login, post, world):
    """The evaluator has a draft: no results, no other scorecard, no download — until they submit."""
    evaluation_id = add_evaluation(app, world)
    u = world.users
    union_card = add_scorecard(
        app, evaluation_id, u["union1"], ScorerGroup.workers, {"REL": 6}, all_criteria=True
    )
    add_scorecard(app, evaluation_id, u["evaluator"], ScorerGroup.independent, {"REL": 2}, submitted=False)
    login(world.emails["evaluator"])

    assert client.get(f"/evaluations/{evaluation_id}/results").status_code == 403
    assert client.get(f"/evaluations/{evaluation_id}/scorecards/{union_card}").status_code == 403
    for what in ("summary", "scores"):
        resp = post(f"/evaluations/{evaluation_id}/results/download", {"what": what})
        assert resp.status_code == 403
        assert "Reason for REL" not in resp.get_data(as_text=True)
    detail = client.get(f"/evaluations/{evaluation_id}").get_data(as_text=True)
    assert f"/scorecards/{union_card}" not in detail
    assert "once you have submitted your own scorecard" in detail
    own = client.get(f"/evaluations/{evaluation_id}/scorecard").get_data(as_text=True)
    assert "Reason for REL" in own  # their own draft only
    assert own.count("Reason for REL") == 1

    # Submitting their own scorecard opens the results to them.
    form = {"version": "1", "submit_card": "Submit my scorecard"}
    for code, criterion_id in world.criteria.items():
        form[f"point_{criterion_id}"] = "3"
        form[f"justification_{criterion_id}"] = f"My view on {code}"
    assert post(f"/evaluations/{evaluation_id}/scorecard", form).status_code == 302
    assert client.get(f"/evaluations/{evaluation_id}/results").status_code == 200
    assert client.get(f"/evaluations/{evaluation_id}/scorecards/{union_card}").status_code == 200
    with post(f"/evaluations/{evaluation_id}/results/download", {"what": "scores"}) as resp:
        assert resp.status_code == 200
        rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff"))))
    assert {r["scorer"] for r in rows} == {"Una Union", "Eva Evaluator"}
    with app.app_context():
        event = db.session.scalar(
            db.select(AuditEvent)
            .where(AuditEvent.action == "evaluation.download")
            .order_by(AuditEvent.id.desc())
        )
        assert event.actor_id == u["evaluator"] and event.after["content"] == "individual scores"


def test_the_summary_download_has_the_same_numbers(app, client, login, post, world):
    evaluation_id = add_evaluation(app, world)
    fixed_scorecards(app, world, evaluation_id)
    login(world.emails["specialist"])
    with post(f"/evaluations/{evaluation_id}/results/download", {"what": "summary"}) as resp:
        assert resp.status_code == 200 and resp.mimetype == "text/csv"
        rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff"))))
    overall = next(r for r in rows if r["criterion_code"] == "REL" and r["constituency"] == "all")
    assert (overall["scores"], overall["mean"], overall["median"]) == ("4", "4.5", "4.5")
    assert round(float(overall["stdev"]), 3) == 1.291
    assert overall["cannot_assess"] == "1" and overall["divergent"] == "true"
    employers = next(r for r in rows if r["criterion_code"] == "REL" and r["constituency"] == "employers")
    assert (employers["scores"], employers["stdev"]) == ("1", "")


def test_the_consolidated_view_runs_a_fixed_number_of_queries(app, client, login, make, queries, world):
    small = add_evaluation(app, world, title="Small")
    fixed_scorecards(app, world, small)
    large = add_evaluation(app, world, title="Large")
    fixed_scorecards(app, world, large)
    for i in range(12):
        user = make.user(full_name=f"Extra {i}")
        make.member(user, world.project, "reporter", organisation_id=world.orgs["union"])
        add_scorecard(app, large, user, ScorerGroup.workers, {"REL": 1 + i % 6}, all_criteria=True)
    login(world.emails["specialist"])
    counts = []
    for evaluation_id in (small, large):
        with queries() as statements:
            resp = client.get(f"/evaluations/{evaluation_id}/results")
            assert resp.status_code == 200
        counts.append(len(statements))
    assert counts[0] == counts[1], counts
    assert counts[0] <= 12, counts
