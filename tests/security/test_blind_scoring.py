"""Blind scoring, everywhere a score can appear.

The rule (docs/SECURITY.md): a scorecard's contents are read by its scorer, and by anyone else only
once the card is submitted and the reader may read the submitted scores of its evaluation — not
while their own card there is unsubmitted; administrators, evaluators and specialists of the
project; observers once it is closed. A draft is never read by anyone but its scorer,
administrators included.

The world is the whole matrix at once: evaluations open and closed, in which the viewers' own
scorecards are absent, drafts or submitted, beside another scorer's draft and another's submitted
card. Every justification carries a marker naming its evaluation, scorer and criterion; every
page, History tab, trail view (page and CSV, under each filter) and download (CSV, XLSX, JSON,
IATI) is read by every kind of viewer, and the markers found must be exactly those the rule (as
written out again here, independently of `mel_app.permissions`) and the surface allow. Points
leak without a justification in an update event, so the trail's score events and the downloads'
score rows are compared by number as well.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from urllib.parse import urlencode

import openpyxl
import pytest
import sqlalchemy as sa

from mel_app import audit
from mel_app.auth.sessions import start_session
from mel_app.evaluations import services
from mel_app.evaluations.defaults import ensure_defaults
from mel_app.evaluations.services import Answer
from mel_app.extensions import db
from mel_app.models import (
    AuditEvent,
    CriteriaSet,
    Criterion,
    Evaluation,
    EvaluationKind,
    EvaluationStatus,
    OrgGroup,
    Role,
    Score,
    Scorecard,
    ScorecardStatus,
    ScorerGroup,
    User,
)
from tests.conftest import app_of_its_own, csrf_token
from tests.factories import Factory

# The viewers, by the role that decides what they read; admin has no role in the project, the
# outsider is not a member of it.
VIEWERS = ("specialist", "evaluator", "observer", "reporter", "admin", "outsider")
# Those who can have a scorecard of their own (the observer and the administrator never score).
SCORING_VIEWERS = ("specialist", "evaluator", "reporter")
# The other scorers: one leaves a draft, one submits.
OTHERS = {"other_draft": ScorecardStatus.draft, "other_submitted": ScorecardStatus.submitted}
ROLES = {
    "specialist": Role.specialist,
    "evaluator": Role.evaluator,
    "observer": Role.observer,
    "reporter": Role.reporter,
    "other_draft": Role.evaluator,
    "other_submitted": Role.reporter,
}
GROUPS = {
    "specialist": ScorerGroup.ilo,
    "evaluator": ScorerGroup.independent,
    "reporter": ScorerGroup.workers,
    "other_draft": ScorerGroup.independent,
    "other_submitted": ScorerGroup.workers,
}
OWN_STATES = ("none", "draft", "submitted")
EVALUATION_STATES = (EvaluationStatus.open, EvaluationStatus.closed)
CRITERIA = ("K1", "K2")
MARKER = re.compile(r"blindmark(\d+)x([a-z_]+)x(K\d)y")


def marker(evaluation_index: int, scorer: str, code: str) -> str:
    return f"blindmark{evaluation_index}x{scorer}x{code}y"


@dataclass(frozen=True)
class Card:
    id: int
    index: int  # the evaluation's index in World.evaluations
    scorer: str
    submitted: bool
    score_ids: tuple[int, ...]


@dataclass
class World:
    project: int = 0
    users: dict[str, int] = field(default_factory=dict)
    # index -> (evaluation id, status, state of the viewers' own cards)
    evaluations: list[tuple[int, EvaluationStatus, str]] = field(default_factory=list)
    cards: list[Card] = field(default_factory=list)

    def cards_of(self, index: int) -> list[Card]:
        return [c for c in self.cards if c.index == index]


# --- the rule, written out from its statement ---------------------------------------------------


def allowed(world: World, viewer: str, card: Card) -> bool:
    if card.scorer == viewer:
        return True
    if not card.submitted:
        return False  # a draft: its scorer only, administrators included
    _id, status, own = world.evaluations[card.index]
    if viewer in SCORING_VIEWERS and own == "draft":
        return False  # anchored: their own card there is not submitted, open or closed
    if viewer in ("admin", "specialist", "evaluator"):
        return True
    return viewer == "observer" and status is EvaluationStatus.closed


def expected(world: World, viewer: str, cards, surface) -> set[tuple[int, str]]:
    """The (evaluation index, scorer) of the cards whose markers the surface must show."""
    return {(c.index, c.scorer) for c in cards if allowed(world, viewer, c) and surface(viewer, c)}


# Beyond the rule, what each surface is for.
def own_page(viewer, card):
    return card.scorer == viewer


def named_scores(viewer, card):
    """Pages and the CSV that give scores with the scorer's name: evaluators and specialists."""
    return viewer in ("specialist", "evaluator")


def results_scores(viewer, card):
    return card.submitted and viewer in ("specialist", "evaluator")


def history(viewer, card):
    """A scorecard's History tab (and its scores'): its scorer, administrators, specialists."""
    return card.scorer == viewer or viewer in ("admin", "specialist")


def trail(viewer, card):
    return viewer in ("admin", "specialist")


def export(viewer, card):
    return card.submitted and viewer in ("admin", "specialist", "evaluator", "observer")


def never(viewer, card):
    return False


# --- the world ------------------------------------------------------------------------------------


def _answers(criteria: dict[str, int], index: int, scorer: str, point: int) -> dict[int, Answer]:
    return {
        cid: Answer(point=point, justification=f"Because {marker(index, scorer, code)} holds.")
        for code, cid in criteria.items()
    }


def _save(card_id: int, user_id: int, criteria, index: int, scorer: str, point: int, submit: bool) -> None:
    user = db.session.get(User, user_id)
    audit.set_actor(db.session(), audit.actor_of(user))
    card = db.session.get(Scorecard, card_id)
    services.save_scorecard(
        card,
        actor=user,
        expected_version=card.version,
        answers=_answers(criteria, index, scorer, point),
        submit=submit,
    )
    db.session.commit()


def build(app, make: Factory) -> World:
    w = World()
    union = make.organisation("Fictional Union Centre", group=OrgGroup.workers)
    ilo = make.organisation("ILO ACTRAV (blind)", group=OrgGroup.ilo, country="CH")
    donor = make.organisation("Fictional Donor Agency", group=OrgGroup.donor)
    w.project = make.project("RAF/26/01/BLD", title="Blind scoring")
    make.partner(w.project, union)
    orgs = {"specialist": ilo, "observer": donor, "admin": ilo}
    for key in (*VIEWERS, *OTHERS):
        w.users[key] = make.user(
            f"blind-{key}@example.org",
            organisation_id=orgs.get(key, union),
            full_name=f"Blind {key.replace('_', ' ').title()}",
            is_admin=key == "admin",
        )
        if key in ROLES:
            org = union if ROLES[key] is Role.reporter else None
            make.member(w.users[key], w.project, ROLES[key], organisation_id=org)
    with app.app_context():
        audit.set_actor(db.session(), audit.SYSTEM_ACTOR)
        _set, scale = ensure_defaults()
        criteria_set = CriteriaSet(name="Blind scoring criteria")
        db.session.add(criteria_set)
        db.session.flush()
        criteria = {}
        for position, code in enumerate(CRITERIA):
            criterion = Criterion(
                criteria_set_id=criteria_set.id, code=code, name=f"Criterion {code}", position=position
            )
            db.session.add(criterion)
            db.session.flush()
            criteria[code] = criterion.id
        scale_id, scale_points = scale.id, sorted(p.value for p in scale.points)
        db.session.commit()

        for status in EVALUATION_STATES:
            for own in OWN_STATES:
                index = len(w.evaluations)
                audit.set_actor(db.session(), audit.SYSTEM_ACTOR)
                evaluation = Evaluation(
                    project_id=w.project,
                    kind=EvaluationKind.mid_term,
                    title=f"Evaluation {index} ({status.value}, own cards {own})",
                    criteria_set_id=criteria_set.id,
                    scale_id=scale_id,
                    opened_by_id=w.users["specialist"],
                )
                db.session.add(evaluation)
                db.session.flush()
                states = dict(OTHERS)
                if own != "none":
                    states.update({v: ScorecardStatus(own) for v in SCORING_VIEWERS})
                card_ids = {}
                for scorer in states:
                    card = Scorecard(
                        evaluation_id=evaluation.id, scorer_id=w.users[scorer], group=GROUPS[scorer]
                    )
                    db.session.add(card)
                    db.session.flush()
                    card_ids[scorer] = card.id
                evaluation_id = evaluation.id
                db.session.commit()
                for n, (scorer, state) in enumerate(states.items()):
                    # A first draft, then a change of points only (an update event with no
                    # justification in it), submitted or left as a draft.
                    first, second = (
                        scale_points[n % len(scale_points)],
                        scale_points[(n + 1) % len(scale_points)],
                    )
                    _save(card_ids[scorer], w.users[scorer], criteria, index, scorer, first, False)
                    _save(
                        card_ids[scorer],
                        w.users[scorer],
                        criteria,
                        index,
                        scorer,
                        second,
                        state is ScorecardStatus.submitted,
                    )
                if status is EvaluationStatus.closed:
                    specialist = db.session.get(User, w.users["specialist"])
                    audit.set_actor(db.session(), audit.actor_of(specialist))
                    evaluation = db.session.get(Evaluation, evaluation_id)
                    services.close_evaluation(
                        evaluation, actor=specialist, expected_version=evaluation.version
                    )
                    db.session.commit()
                w.evaluations.append((evaluation_id, status, own))
                for scorer, state in states.items():
                    score_ids = tuple(
                        db.session.scalars(
                            sa.select(Score.id)
                            .where(Score.scorecard_id == card_ids[scorer])
                            .order_by(Score.id)
                        )
                    )
                    w.cards.append(
                        Card(card_ids[scorer], index, scorer, state is ScorecardStatus.submitted, score_ids)
                    )
        db.session.remove()
    return w


@pytest.fixture(scope="module")
def blind(database):
    with app_of_its_own(database) as app:
        yield _signed_in_viewers(app)


def _signed_in_viewers(app):
    world = build(app, Factory(app))
    clients = {}
    with app.app_context():
        for viewer in VIEWERS:
            token = start_session(
                db.session.get(User, world.users[viewer]), remote_addr=None, user_agent="blind"
            )
            db.session.commit()
            client = app.test_client()
            with client.session_transaction() as sess:
                sess["_user_id"] = token
            clients[viewer] = client
        db.session.remove()
    return app, world, clients


# --- reading what a viewer gets -------------------------------------------------------------------


def found(text: str, world: World, cards=None) -> set[tuple[int, str]]:
    markers = {(int(m.group(1)), m.group(2)) for m in MARKER.finditer(text)}
    if cards is not None:
        keys = {(c.index, c.scorer) for c in cards}
        markers &= keys
    return markers


def _get(client, url: str) -> str:
    resp = client.get(url)
    assert resp.status_code < 500, f"{url}: {resp.status_code}"
    return resp.get_data(as_text=True) if resp.status_code == 200 else ""


def _post(client, url: str, data: dict) -> tuple[int, bytes]:
    with client.post(url, data={**data, "csrf_token": csrf_token(client)}) as resp:
        body = resp.get_data()
    assert resp.status_code < 500, f"{url}: {resp.status_code}"
    return resp.status_code, body if resp.status_code == 200 else b""


def _trail_pages(client, query: str) -> tuple[str, set[int]]:
    """Every page of the trail under a filter: their text, and the events listed."""
    texts, events = [], set()
    url = f"/audit?{query}"
    for _page in range(100):
        text = _get(client, url)
        texts.append(text)
        events |= {int(n) for n in re.findall(r'id="event-(\d+)"', text)}
        older = re.search(r'href="([^"]+)" rel="next"', text)
        if not older:
            break
        url = html.unescape(older.group(1))
    return "\n".join(texts), events


def _xlsx_text(body: bytes) -> str:
    book = openpyxl.load_workbook(io.BytesIO(body), read_only=True)
    try:
        return "\n".join(
            " ".join(str(v) for v in row if v is not None)
            for ws in book.worksheets
            for row in ws.iter_rows(values_only=True)
        )
    finally:
        book.close()


def _zip_text(body: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(body)) as zf:
        return "\n".join(zf.read(name).decode("utf-8-sig") for name in zf.namelist())


class Findings:
    def __init__(self, world: World):
        self.world = world
        self.problems: list[str] = []

    def check(self, where: str, viewer: str, text: str, cards, surface) -> None:
        want = expected(self.world, viewer, cards, surface)
        got = found(text, self.world, cards)
        if got != want:
            self.problems.append(
                f"{viewer} on {where}: shown {sorted(got - want)} it may not read, "
                f"missing {sorted(want - got)}"
            )

    def same(self, where: str, viewer: str, got: set, want: set) -> None:
        if got != want:
            self.problems.append(
                f"{viewer} on {where}: extra {sorted(got - want)}, missing {sorted(want - got)}"
            )


def _score_events(app) -> dict[int, int]:
    """Event id -> score id, for every event of a score."""
    with app.app_context():
        rows = db.session.execute(
            sa.select(AuditEvent.id, AuditEvent.entity_id).where(AuditEvent.entity_type == "score")
        ).all()
        db.session.remove()
    return {event_id: int(entity_id) for event_id, entity_id in rows}


# --- the matrix -----------------------------------------------------------------------------------


@pytest.mark.parametrize("viewer", VIEWERS)
def test_pages_and_history_show_scores_exactly_where_the_rule_allows(blind, viewer):
    app, world, clients = blind
    client = clients[viewer]
    findings = Findings(world)
    for index, (evaluation_id, _status, _own) in enumerate(world.evaluations):
        cards = world.cards_of(index)
        base = f"/evaluations/{evaluation_id}"
        findings.check(f"evaluation {index} page", viewer, _get(client, base), cards, never)
        findings.check(
            f"evaluation {index} own scorecard", viewer, _get(client, f"{base}/scorecard"), cards, own_page
        )
        # The results page lists each readable card's points in a row linked to the card.
        text = _get(client, f"{base}/results")
        findings.check(f"evaluation {index} results", viewer, text, cards, never)
        rows = {int(n) for n in re.findall(rf"/evaluations/{evaluation_id}/scorecards/(\d+)", text)}
        want = {c.id for c in cards if allowed(world, viewer, c) and results_scores(viewer, c)}
        findings.same(f"evaluation {index} results rows", viewer, rows, want)
        _code, body = _post(client, f"{base}/results/download", {"what": "scores"})
        findings.check(
            f"evaluation {index} scores CSV", viewer, body.decode("utf-8-sig"), cards, results_scores
        )
        _code, body = _post(client, f"{base}/results/download", {"what": "summary"})
        findings.check(f"evaluation {index} summary CSV", viewer, body.decode("utf-8-sig"), cards, never)
        findings.check(
            f"evaluation {index} history",
            viewer,
            _get(client, f"/history/evaluation/{evaluation_id}"),
            cards,
            never,
        )
        for card in cards:
            if card.scorer != viewer:
                text = _get(client, f"{base}/scorecards/{card.id}")
                findings.check(f"{card.scorer}'s card {index} page", viewer, text, [card], named_scores)
            text = _get(client, f"/history/scorecard/{card.id}")
            findings.check(f"{card.scorer}'s card {index} history", viewer, text, [card], history)
            for score_id in card.score_ids:
                text = _get(client, f"/history/score/{score_id}")
                findings.check(f"{card.scorer}'s score {score_id} history", viewer, text, [card], history)
    findings.check(
        "project history", viewer, _get(client, f"/history/project/{world.project}"), world.cards, never
    )
    for scorer, user_id in world.users.items():
        text = _get(client, f"/history/user/{user_id}")
        findings.check(f"{scorer}'s account history", viewer, text, world.cards, never)
    assert not findings.problems, "\n".join(findings.problems)


TRAIL_FILTERS = {
    "the whole trail": {},
    "kind of record: score": {"entity_type": "score"},
    "kind of record: scorecard": {"entity_type": "scorecard"},
    "the project": {"project": "{project}"},
    "another scorer's actions": {"actor": "#{other_submitted}"},
    "actions on scores": {"action": "score"},
}


@pytest.mark.parametrize("viewer", VIEWERS)
def test_the_trail_and_its_csv_show_scores_exactly_where_the_rule_allows(blind, viewer):
    app, world, clients = blind
    client = clients[viewer]
    findings = Findings(world)
    score_events = _score_events(app)
    card_of_score = {s: c for c in world.cards for s in c.score_ids}
    readable_scores = {
        s for c in world.cards if allowed(world, viewer, c) and trail(viewer, c) for s in c.score_ids
    }
    names = {"project": world.project, "other_submitted": world.users["other_submitted"]}
    for label, raw in TRAIL_FILTERS.items():
        filters = {k: v.format(**names) for k, v in raw.items()}
        query = urlencode(filters)
        text, events = _trail_pages(client, query)
        # The filters narrow what is compared: the actor filter keeps that scorer's cards only.
        cards = world.cards
        if "actor" in filters:
            cards = [c for c in world.cards if c.scorer == "other_submitted"]
        if filters.get("entity_type") == "scorecard":
            cards = []
        findings.check(f"trail page ({label})", viewer, text, cards, trail if cards else never)
        shown = {score_events[e] for e in events if e in score_events}
        wanted = {s for s in readable_scores if card_of_score[s] in cards}
        findings.same(f"trail page score events ({label})", viewer, shown, wanted)

        code, body = _post(client, "/audit/download", filters)
        rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig")))) if code == 200 else []
        csv_text = "\n".join(f"{r.get('before', '')} {r.get('after', '')}" for r in rows)
        findings.check(f"trail CSV ({label})", viewer, csv_text, cards, trail if cards else never)
        shown = {int(r["entity_id"]) for r in rows if r.get("entity_type") == "score"}
        findings.same(f"trail CSV score events ({label})", viewer, shown, wanted)
    assert not findings.problems, "\n".join(findings.problems)


@pytest.mark.parametrize("viewer", VIEWERS)
def test_downloads_hold_scores_exactly_where_the_rule_allows(blind, viewer):
    app, world, clients = blind
    client = clients[viewer]
    findings = Findings(world)
    readers = {c.id for c in world.cards if allowed(world, viewer, c) and export(viewer, c)}
    for fmt in ("json", "xlsx", "csv", "iati"):
        code, body = _post(client, "/downloads", {"format": fmt})
        if fmt == "json":
            text = body.decode("utf-8") if code == 200 else ""
            scores = json.loads(text)["tables"]["scores"] if text else []
            findings.same("JSON download score rows", viewer, {r["scorecard_id"] for r in scores}, readers)
        elif fmt == "xlsx":
            text = _xlsx_text(body) if code == 200 else ""
        elif fmt == "csv":
            text = _zip_text(body) if code == 200 else ""
        else:
            text = body.decode("utf-8") if code == 200 else ""
        findings.check(f"{fmt} download", viewer, text, world.cards, never if fmt == "iati" else export)
    assert not findings.problems, "\n".join(findings.problems)


def test_the_rule_in_python_and_in_sql_agree_with_its_statement(blind):
    """`can_view_scorecard_contents` (objects), `visible_scorecard_filter` (SQL) and
    `visible_audit_event_filter` (the trail) give, for every viewer and card, what the rule says."""
    from mel_app.permissions import (
        can_view_history,
        can_view_scorecard_contents,
        visible_audit_event_filter,
        visible_scorecard_filter,
    )

    app, world, _clients = blind
    problems = []
    with app.app_context():
        for viewer in (*VIEWERS, *OTHERS):
            user = db.session.get(User, world.users[viewer])
            in_sql = set(db.session.scalars(sa.select(Scorecard.id).where(visible_scorecard_filter(user))))
            events = set(
                db.session.scalars(
                    sa.select(AuditEvent.entity_id).where(
                        AuditEvent.entity_type == "score", visible_audit_event_filter(user)
                    )
                )
            )
            with app.test_request_context():
                for card in world.cards:
                    want = allowed(world, viewer, card)
                    obj = db.session.get(Scorecard, card.id)
                    got = {
                        "predicate": can_view_scorecard_contents(user, obj),
                        "SQL filter": card.id in in_sql,
                        "trail filter": {str(s) for s in card.score_ids} <= events,
                        "score history": all(
                            can_view_history(user, db.session.get(Score, s)) for s in card.score_ids
                        ),
                    }
                    wants = {name: want for name in got}
                    wants["score history"] = want and history(viewer, card)
                    for name, value in got.items():
                        if value != wants[name]:
                            problems.append(
                                f"{viewer}, {card.scorer}'s card {card.index}: {name} says {value}"
                            )
                    if not want and {str(s) for s in card.score_ids} & events:
                        problems.append(
                            f"{viewer}, {card.scorer}'s card {card.index}: trail filter lets a score through"
                        )
        db.session.remove()
    assert not problems, "\n".join(problems)


def test_every_cell_of_the_matrix_is_in_the_world(blind):
    """Viewer role × own card state × other card state × evaluation state: all present."""
    _app, world, _clients = blind
    cells = defaultdict(set)
    for card in world.cards:
        _id, status, own = world.evaluations[card.index]
        if card.scorer in OTHERS:
            cells[(status, own)].add(card.submitted)
    assert {k: v for k, v in cells.items()} == {
        (status, own): {False, True} for status in EVALUATION_STATES for own in OWN_STATES
    }


def test_a_deleted_draft_score_stays_out_of_its_history(blind):
    """The History tab of a record that no longer exists reads the trail alone: the rule still
    applies there (a draft's deleted score is its scorer's, not the specialist's or the
    administrator's). A scorecard of its own in a new evaluation, so the matrix stays as it is."""
    app, world, clients = blind
    with app.app_context():
        scorer = db.session.get(User, world.users["other_draft"])
        audit.set_actor(db.session(), audit.SYSTEM_ACTOR)
        first = db.session.get(Evaluation, world.evaluations[0][0])
        evaluation = Evaluation(
            project_id=world.project,
            kind=EvaluationKind.final,
            title="Evaluation with a deleted score",
            criteria_set_id=first.criteria_set_id,
            scale_id=first.scale_id,
            opened_by_id=world.users["specialist"],
        )
        db.session.add(evaluation)
        db.session.flush()
        card = Scorecard(evaluation_id=evaluation.id, scorer_id=scorer.id, group=GROUPS["other_draft"])
        db.session.add(card)
        db.session.commit()
        card_id = card.id
        criterion_id = first.criteria_set.criteria[0].id
        audit.set_actor(db.session(), audit.actor_of(scorer))
        services.save_scorecard(
            db.session.get(Scorecard, card_id),
            actor=scorer,
            expected_version=1,
            answers={criterion_id: Answer(point=3, justification="deletedmarkzz")},
            submit=False,
        )
        db.session.commit()
        score = db.session.scalar(sa.select(Score).where(Score.scorecard_id == card_id))
        score_id = score.id
        db.session.delete(score)
        db.session.commit()
        db.session.remove()
    for who in ("specialist", "admin"):
        for url in (f"/history/score/{score_id}", f"/history/scorecard/{card_id}"):
            resp = clients[who].get(url)
            assert resp.status_code in (200, 404), url
            assert "deletedmarkzz" not in resp.get_data(as_text=True), f"{who} reads {url}"
