"""Demo data: four ACTRAV projects with frameworks, periods, reports and scorecards in every state.

Reports, design input, evaluations, scorecards and recommendations reach their states through the
same services as the pages, each step taken by the demo account whose step it is: their versions,
snapshots, audit events and notifications are what using the app produces (the steps are dated
when the demo is loaded). All organisations are fictional. Every account has the password
`demo-password-2026`. Loading is idempotent: a second run finds the demo administrator and adds nothing.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import sqlalchemy as sa

from mel_app import audit
from mel_app.auth.passwords import hash_password
from mel_app.evaluations import services as evaluations
from mel_app.evaluations.defaults import ensure_defaults
from mel_app.extensions import db
from mel_app.models import (
    DEFAULT_AGGREGATION,
    ActionStatus,
    Aggregation,
    ChangeStory,
    CriteriaSet,
    DesignItemKind,
    Disposition,
    Evaluation,
    EvaluationKind,
    FundingModality,
    IloRegion,
    Indicator,
    Measure,
    Membership,
    Organisation,
    OrgGroup,
    Partner,
    Phase,
    Project,
    ProjectCountry,
    ProjectSector,
    ProjectTag,
    ReportingPeriod,
    ResponseKind,
    Result,
    ResultTag,
    ResultType,
    Role,
    Scale,
    Status,
    StoryLevel,
    Submission,
    SubmissionKind,
    SubstantiationVerdict,
    TagScheme,
    User,
)
from mel_app.projects import outcomes, stories, substantiation
from mel_app.projects import rounds as selection_rounds
from mel_app.public import services as publishing
from mel_app.submissions import services as submissions
from mel_app.submissions.services import ItemInput, ValueInput

T = TypeVar("T")

# A documented demo credential, used by demo data only.
DEMO_PASSWORD = "demo-password-2026"  # noqa: S105  # nosec B105

DEMO_ACCOUNTS = [
    ("admin@example.org", "Amina Diallo", "ilo", "Administrator"),
    ("specialist@example.org", "Carlos Mendoza", "ilo", "ACTRAV specialist on every demo project"),
    (
        "union@example.org",
        "Grace Wanjiru",
        "union_ke",
        "Union representative, reporter on RAF/22/11/NOR and INT/24/07/SSC (design input)",
    ),
    (
        "employer@example.org",
        "Peter Otieno",
        "employers_ke",
        "Employers' representative, reporter on RAF/22/11/NOR and INT/24/07/SSC (design input)",
    ),
    ("evaluator@example.org", "Sofia Lindqvist", "evaluators", "Evaluator on every demo project"),
    ("observer@example.org", "Hanne Berg", "donor", "Observer on RAF/22/11/NOR"),
]

ORGANISATIONS = {
    "ilo": ("International Labour Office — ACTRAV (demo)", "ACTRAV", OrgGroup.ilo, "CH"),
    "union_ke": ("Fictional Central Organisation of Trade Unions, Kenya", "F-COTU", OrgGroup.workers, "KE"),
    "union_gh": ("Fictional Ghana Federation of Labour", "F-GFL", OrgGroup.workers, "GH"),
    "union_sn": (
        "Fictional Confédération nationale des travailleurs du Sénégal",
        "F-CNTS",
        OrgGroup.workers,
        "SN",
    ),
    "union_zm": ("Fictional Zambia Congress of Trade Unions", "F-ZCTU", OrgGroup.workers, "ZM"),
    "union_fj": ("Fictional Fiji Islands Council of Trade Unions", "F-FICTU", OrgGroup.workers, "FJ"),
    "union_bb": ("Fictional Barbados Workers' Union", "F-BWU", OrgGroup.workers, "BB"),
    "union_regional": (
        "Fictional African Regional Trade Union Federation",
        "F-ARTUF",
        OrgGroup.workers,
        "TG",
    ),
    "employers_ke": ("Fictional Federation of Kenya Employers", "F-FKE", OrgGroup.employers, "KE"),
    "employers_gh": ("Fictional Ghana Employers' Association", "F-GEA", OrgGroup.employers, "GH"),
    "employers_bb": ("Fictional Barbados Employers' Confederation", "F-BEC", OrgGroup.employers, "BB"),
    "gov_ke": (
        "Fictional Ministry of Labour and Social Protection, Kenya",
        "F-MLSP",
        OrgGroup.government,
        "KE",
    ),
    "donor": ("Fictional Norwegian Development Agency (demo)", "F-NDA", OrgGroup.donor, "NO"),
    "evaluators": ("Fictional Independent Evaluation Associates", "F-IEA", OrgGroup.other, "BE"),
}


@dataclass
class _World:
    orgs: dict[str, Organisation] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    projects: dict[str, Project] = field(default_factory=dict)
    periods: dict[str, list[ReportingPeriod]] = field(default_factory=dict)


def half_year(day: date) -> tuple[date, date, str]:
    if day.month <= 6:
        return date(day.year, 1, 1), date(day.year, 6, 30), f"{day.year} H1"
    return date(day.year, 7, 1), date(day.year, 12, 31), f"{day.year} H2"


def demo_loaded() -> bool:
    return db.session.scalar(sa.select(User.id).where(User.email == "admin@example.org")) is not None


def load_demo(today: date | None = None) -> bool:
    """Load the demo data unless it is there already. Returns True when something was added. Flushes."""
    if demo_loaded():
        return False
    today = today or datetime.now(UTC).date()
    criteria_set, scale = ensure_defaults()
    world = _World()
    _organisations(world)
    _users(world)
    _projects(world, today)
    db.session.flush()
    _reports(world, today)
    _evaluations(world, criteria_set, scale, today)
    _outcomes(world, today)
    _stories(world, today)
    _rounds(world, today)
    # RAF/23/05/FIN (approved reports, a closed evaluation with management responses) has a
    # public dashboard and is the activity of the public IATI file.
    _step(publishing.publish_project, world.projects["fin"], actor=world.users["specialist"])
    db.session.flush()
    return True


def _organisations(world: _World) -> None:
    for key, (name, acronym, group, country) in ORGANISATIONS.items():
        world.orgs[key] = Organisation(
            name=name, acronym=acronym, group=group, country=country, is_fictional=True
        )
        db.session.add(world.orgs[key])
    world.orgs["union_ke"].parent = world.orgs["union_regional"]
    # A federation of several countries' unions is a regional NGO in the IATI file, not a national one.
    world.orgs["union_regional"].iati_type = "23"


def _user(world: _World, email: str, name: str, org: str, *, admin: bool = False, lang: str = "en") -> User:
    user = User(
        email=email,
        full_name=name,
        organisation=world.orgs[org],
        password_hash=hash_password(DEMO_PASSWORD),
        is_admin=admin,
        preferred_language=lang,
        session_token=secrets.token_hex(16),
        is_demo=True,
    )
    db.session.add(user)
    world.users[email.split("@")[0]] = user
    return user


def _users(world: _World) -> None:
    for email, name, org, _description in DEMO_ACCOUNTS:
        _user(world, email, name, org, admin=email.startswith("admin@"))
    _user(world, "union.ghana@example.org", "Kwame Mensah", "union_gh")
    _user(world, "union.senegal@example.org", "Awa Ndiaye", "union_sn", lang="fr")
    _user(world, "union.zambia@example.org", "Mwila Banda", "union_zm")
    _user(world, "union.fiji@example.org", "Litia Vakaloloma", "union_fj")
    _user(world, "union.barbados@example.org", "Marcia Greenidge", "union_bb")
    _user(world, "employer.barbados@example.org", "Andrew Clarke", "employers_bb")
    _user(world, "government@example.org", "Joseph Kamau", "gov_ke")


def _framework(
    project: Project, spec: list[tuple], start: date, tags: dict[str, dict[str, list[str]]]
) -> None:
    """spec: (type, code, title, parent_code, [indicator tuples]); tags: result code → scheme → codes."""
    by_code: dict[str, Result] = {}
    for position, (rtype, code, title, parent_code, indicators) in enumerate(spec):
        result = Result(
            project=project,
            type=rtype,
            code=code,
            title=title,
            position=position,
            parent=by_code.get(parent_code),
            tags=[
                ResultTag(scheme=TagScheme(scheme), code=tag)
                for scheme, codes in tags.get(code, {}).items()
                for tag in codes
            ],
        )
        by_code[code] = result
        db.session.add(result)
        for ipos, (icode, ititle, measure, unit, baseline, target, sex, ascending) in enumerate(indicators):
            db.session.add(
                Indicator(
                    result=result,
                    project=project,
                    code=icode,
                    title=ititle,
                    measure=measure,
                    # Every demo partner reports the project-wide level as its own records show
                    # it, so the figures of a period are averaged, not added up (which would
                    # count the same members once per partner).
                    aggregation=(
                        Aggregation.mean if measure is Measure.number else DEFAULT_AGGREGATION[measure]
                    ),
                    unit=unit,
                    ascending=ascending,
                    baseline_value=None if baseline is None else Decimal(str(baseline)),
                    baseline_date=start if baseline is not None else None,
                    target_value=None if target is None else Decimal(str(target)),
                    target_date=project.end_date,
                    disaggregate_by_sex=sex,
                    means_of_verification="Union and employers' records; project monitoring reports",
                    position=ipos,
                )
            )


def _periods(project: Project, today: date) -> list[ReportingPeriod]:
    """Two closed half-years (the latter past its due date) and the one open now."""
    current_start, _end, _label = half_year(today)
    starts = []
    day = current_start
    for _ in range(3):
        starts.insert(0, day)
        day = half_year(day - timedelta(days=1))[0]
    periods = []
    for start in starts:
        start, end, label = half_year(start)
        period = ReportingPeriod(
            project=project, label=label, start_date=start, end_date=end, due_date=end + timedelta(days=31)
        )
        db.session.add(period)
        periods.append(period)
    return periods


N, P, YN, Q = Measure.number, Measure.percentage, Measure.yes_no, Measure.qualitative
OUTCOME, OUTPUT, IMPACT = ResultType.outcome, ResultType.output, ResultType.impact

PROJECTS = [
    dict(
        key="nor",
        reference="RAF/22/11/NOR",
        title="Promoting Workers Rights and Gender Equality at Work in Africa",
        summary="Strengthens trade unions in Kenya, Ghana and Senegal to organise women workers, negotiate "
        "gender-responsive collective agreements and use the ILO supervisory system.",
        donor="Norway",
        modality=FundingModality.XBDC,
        countries=["KE", "GH", "SN"],
        # For the IATI file: the work is weighted towards Kenya; OECD DAC purpose codes with shares.
        country_shares={"KE": 40, "GH": 30, "SN": 30},
        sectors={"16070": 60, "15170": 40},
        # The ILO's terms: country programme outcomes, P&B outcomes and SDG targets, on the project
        # and on some of its results.
        tags={"dwcp": ["KEN 101", "GHA 102", "SEN 101"], "pb": ["1", "6"], "sdg": ["5.5", "8.8"]},
        result_tags={
            "0": {"sdg": ["5.1", "8.8"]},
            "1": {"dwcp": ["KEN 101"], "pb": ["1", "6"], "sdg": ["5.5"]},
        },
        budget=(Decimal("4500000"), "USD"),
        donor_iati=("XM-DAC-8", "10"),
        start=date(2022, 7, 1),
        end=date(2027, 6, 30),
        phase=Phase.implementation,
        partners=["union_ke", "union_gh", "union_sn", "employers_ke", "gov_ke"],
        framework=[
            (
                IMPACT,
                "0",
                "Women and men workers in the three countries enjoy their rights at work",
                None,
                [],
            ),
            (
                OUTCOME,
                "1",
                "Trade unions organise and represent more women workers",
                "0",
                [
                    ("1.a", "Women members of partner unions", N, "members", 12000, 20000, True, True),
                    ("1.b", "Share of women in union leadership bodies", P, "%", 18, 35, False, True),
                ],
            ),
            (
                OUTPUT,
                "1.1",
                "Organising campaigns in the informal economy",
                "1",
                [
                    ("1.1.a", "Workers reached by organising campaigns", N, "workers", 0, 15000, True, True),
                ],
            ),
            (
                OUTPUT,
                "1.2",
                "Leadership training for women trade unionists",
                "1",
                [
                    ("1.2.a", "Women trained as union leaders", N, "people", 0, 600, True, True),
                ],
            ),
            (
                OUTCOME,
                "2",
                "Collective agreements address gender equality and harassment",
                "0",
                [
                    (
                        "2.a",
                        "Collective agreements with gender-equality clauses",
                        N,
                        "agreements",
                        4,
                        25,
                        False,
                        True,
                    ),
                    (
                        "2.b",
                        "Reported cases of workplace harassment left unresolved",
                        N,
                        "cases",
                        140,
                        40,
                        False,
                        False,
                    ),
                ],
            ),
            (
                OUTPUT,
                "2.1",
                "Model clauses on violence and harassment (C190) negotiated",
                "2",
                [
                    (
                        "2.1.a",
                        "National policy on violence and harassment adopted",
                        YN,
                        "",
                        0,
                        1,
                        False,
                        True,
                    ),
                    (
                        "2.1.b",
                        "How unions use the model clauses in bargaining",
                        Q,
                        "",
                        None,
                        None,
                        False,
                        True,
                    ),
                ],
            ),
        ],
    ),
    dict(
        key="fin",
        reference="RAF/23/05/FIN",
        title="Decent Work in Trade and Investment Agreements: Role and Actions of Trade Unions in Africa",
        summary="Builds trade unions' capacity to analyse and influence labour provisions in trade and "
        "investment agreements, funded by Finland through SASK.",
        donor="Finland (through SASK)",
        modality=FundingModality.XBDC,
        countries=["KE", "ZM", "GH"],
        sectors={"16070": 70, "15150": 30},
        tags={"dwcp": ["KEN 102", "ZMB 101"], "pb": ["1", "3"], "sdg": ["8.3", "8.8"]},
        result_tags={"1": {"pb": ["1"], "sdg": ["8.8"]}},
        budget=(Decimal("2100000"), "EUR"),
        donor_iati=("XM-DAC-18", "10"),
        start=date(2023, 1, 1),
        end=date(2026, 12, 31),
        phase=Phase.implementation,
        partners=["union_zm", "union_gh", "employers_gh", "union_ke"],
        framework=[
            (
                OUTCOME,
                "1",
                "Unions influence trade policy consultations",
                None,
                [
                    (
                        "1.a",
                        "Trade policy consultations with union submissions",
                        N,
                        "consultations",
                        2,
                        12,
                        False,
                        True,
                    ),
                    ("1.b", "Share of union proposals reflected in final texts", P, "%", 5, 30, False, True),
                ],
            ),
            (
                OUTPUT,
                "1.1",
                "Research on labour provisions in agreements",
                "1",
                [
                    ("1.1.a", "Union researchers trained", N, "people", 0, 80, True, True),
                ],
            ),
        ],
    ),
    dict(
        key="ssc",
        reference="INT/24/07/SSC",
        title="Interregional exchange on trade union engagement in UNSDCFs: a south-south cooperation "
        "initiative between small island states in Asia-Pacific and the Caribbean",
        summary="Peer exchange between trade unions of Pacific and Caribbean small island developing states "
        "on engaging in UN Sustainable Development Cooperation Frameworks.",
        donor="South-South and triangular cooperation fund",
        modality=FundingModality.RBTC,
        countries=["FJ", "WS", "BB", "JM"],
        sectors={"15150": 100},
        tags={"pb": ["1"], "sdg": ["8.8", "16.10"]},
        donor_iati=(None, "40"),
        start=date(2024, 1, 1),
        end=date(2027, 12, 31),
        phase=Phase.design,
        # The Kenyan partners join the peer exchange so that the union and employers' demo
        # accounts can try design input, which only a project in its design phase collects.
        partners=["union_fj", "union_bb", "employers_bb", "union_ke", "employers_ke"],
        framework=[
            (
                OUTCOME,
                "1",
                "Unions take part in UNSDCF design and review",
                None,
                [
                    ("1.a", "UNSDCF results groups with union participation", N, "groups", 1, 8, False, True),
                ],
            ),
            (
                OUTPUT,
                "1.1",
                "Peer exchanges between island unions",
                "1",
                [
                    ("1.1.a", "Union officers taking part in exchanges", N, "people", 0, 60, True, True),
                ],
            ),
        ],
    ),
    dict(
        key="rbsa",
        reference="GLO/24/51/RBS",
        title="Enhanced capacity of workers' organizations to promote inclusive and effective governance of "
        "work and policy coherence through an integrated approach",
        summary="RBSA dedicated programme supporting workers' organisations to engage in policy coherence "
        "for decent work at national and regional level.",
        donor="ILO Regular Budget Supplementary Account",
        modality=FundingModality.RBSA,
        countries=["KE", "SN", "FJ", "BB"],
        sectors={"16080": 60, "15150": 40},
        tags={"dwcp": ["KEN 101", "SEN 102"], "pb": ["1", "2"], "sdg": ["8.8", "10.4"]},
        result_tags={"1": {"dwcp": ["KEN 101"], "pb": ["1"], "sdg": ["10.4"]}},
        budget=(Decimal("850000"), "USD"),
        donor_iati=("XM-DAC-41302", "40"),
        start=date(2024, 7, 1),
        end=date(2027, 6, 30),
        phase=Phase.implementation,
        partners=["union_sn", "union_regional", "union_fj"],
        framework=[
            (
                OUTCOME,
                "1",
                "Workers' organisations shape national policy for decent work",
                None,
                [
                    ("1.a", "Policies reflecting union proposals", N, "policies", 0, 10, False, True),
                    ("1.b", "Tripartite social dialogue body meets regularly", YN, "", 0, 1, False, True),
                ],
            ),
            (
                OUTPUT,
                "1.1",
                "Policy analysis capacity of workers' organisations",
                "1",
                [
                    ("1.1.a", "Union staff trained in policy analysis", N, "people", 0, 120, True, True),
                ],
            ),
        ],
    ),
]


def _projects(world: _World, today: date) -> None:
    for spec in PROJECTS:
        project = Project(
            reference=spec["reference"],
            title=spec["title"],
            summary=spec["summary"],
            donor=spec["donor"],
            funding_modality=spec["modality"],
            start_date=spec["start"],
            end_date=spec["end"],
            phase=spec["phase"],
            framework_approved=spec["phase"] != Phase.design,
            framework_approved_at=datetime.combine(spec["start"], datetime.min.time(), UTC)
            if spec["phase"] != Phase.design
            else None,
        )
        shares = spec.get("country_shares", {})
        project.countries = [ProjectCountry(country=c, percentage=shares.get(c)) for c in spec["countries"]]
        project.sectors = [
            ProjectSector(code=code, percentage=share) for code, share in spec["sectors"].items()
        ]
        project.tags = [
            ProjectTag(scheme=TagScheme(scheme), code=code)
            for scheme, codes in spec.get("tags", {}).items()
            for code in codes
        ]
        project.budget_amount, project.budget_currency = spec.get("budget", (None, None))
        project.donor_iati_ref, project.donor_iati_type = spec["donor_iati"]
        db.session.add(project)
        world.projects[spec["key"]] = project
        for org in spec["partners"]:
            db.session.add(Partner(project=project, organisation=world.orgs[org]))
        _framework(project, spec["framework"], spec["start"], spec.get("result_tags", {}))
        world.periods[spec["key"]] = _periods(project, today)
        db.session.add(Membership(user=world.users["specialist"], project=project, role=Role.specialist))
        db.session.add(Membership(user=world.users["evaluator"], project=project, role=Role.evaluator))

    nor, fin, ssc, rbsa = (world.projects[k] for k in ("nor", "fin", "ssc", "rbsa"))
    u, o = world.users, world.orgs
    for user, project, org in [
        ("union", nor, "union_ke"),
        ("employer", nor, "employers_ke"),
        ("union.ghana", nor, "union_gh"),
        ("union.senegal", nor, "union_sn"),
        ("government", nor, "gov_ke"),
        ("union.zambia", fin, "union_zm"),
        ("union.ghana", fin, "union_gh"),
        ("union.fiji", ssc, "union_fj"),
        ("union.barbados", ssc, "union_bb"),
        ("employer.barbados", ssc, "employers_bb"),
        ("union", ssc, "union_ke"),
        ("employer", ssc, "employers_ke"),
        ("union.senegal", rbsa, "union_sn"),
        ("union.fiji", rbsa, "union_fj"),
    ]:
        db.session.add(Membership(user=u[user], project=project, role=Role.reporter, organisation=o[org]))
    db.session.add(Membership(user=u["observer"], project=nor, role=Role.observer))


NARRATIVE = {
    "achievements": "Organising campaigns reached market vendors and domestic workers in three cities. "
    "Two new women's committees were formed.",
    "challenges": "Delays in the release of funds; some employers refused access to workplaces.",
    "lessons_learned": "Campaigns run jointly with women's committees recruit more women members.",
    "next_steps": "Scale up the mentoring programme and prepare model clauses for bargaining rounds.",
    "gender_equality": "Women made up 58% of participants; childcare was offered at every training.",
    "social_dialogue": "The national tripartite council discussed the draft policy on harassment.",
}


def _step(service: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """A demo account's step through a service, as a page takes it; then its audit events are
    written, as the page's commit would write them."""
    result = service(*args, **kwargs)
    audit.write_pending(db.session())
    return result


def _act(service: Callable[..., T], thing: Any, actor: User | None, **given: Any) -> T:
    """A step on a submission, scorecard or evaluation, sent with the version the actor's page showed."""
    return _step(service, thing, actor=actor, expected_version=thing.version, **given)


def _values_for(project: Project, factor: float) -> dict[int, ValueInput]:
    """What a partner enters for every indicator of the project, `factor` of the way to the target."""
    values = {}
    for result in project.results:
        for indicator in result.indicators:
            entered = ValueInput(
                comment="From union membership registers" if indicator.code.endswith("a") else ""
            )
            if indicator.measure is Measure.qualitative:
                entered.text_value = "Model clauses were tabled in four bargaining rounds; two were adopted."
            elif indicator.measure is Measure.yes_no:
                entered.value = Decimal(1 if factor > 0.6 else 0)
            else:
                base = indicator.baseline_value or Decimal(0)
                target = indicator.target_value or Decimal(0)
                total = (base + (target - base) * Decimal(str(factor))).quantize(Decimal(1))
                entered.value = total
                if indicator.disaggregate_by_sex:
                    women = (total * Decimal("0.55")).quantize(Decimal(1))
                    entered.women, entered.men = women, total - women
            values[indicator.id] = entered
    return values


def _start(
    project: Project,
    author: User,
    org: Organisation,
    kind: SubmissionKind,
    period: ReportingPeriod | None = None,
) -> Submission:
    """The author starts their organisation's submission, as the page that starts one does."""
    sub, _created = _step(
        submissions.start_submission, project, actor=author, organisation_id=org.id, kind=kind, period=period
    )
    return sub


def _report(project, period, org, author, status, factor, *, reviewer=None, comment=None) -> Submission:
    """A progress report brought to `status` the way its author and reviewer would, page by page."""
    sub = _start(project, author, org, SubmissionKind.progress_report, period)
    narrative = {"achievements": NARRATIVE["achievements"]} if status is Status.draft else dict(NARRATIVE)
    _act(submissions.save_report, sub, author, narrative=narrative, values=_values_for(project, factor))
    if status is Status.draft:
        return sub
    if status is Status.withdrawn:
        # The organisation withdraws what it has not sent (a submitted report is the ILO's to return).
        _act(submissions.withdraw_submission, sub, author, reason="Sent through the federation instead.")
        return sub
    _act(submissions.submit_submission, sub, author)
    if status is Status.returned:
        comment = comment or "Please give the women/men split for indicator 1.1.a."
        _act(submissions.return_submission, sub, reviewer, comment=comment)
    elif status is Status.approved:
        _act(submissions.approve_submission, sub, reviewer)
    return sub


def _reports(world: _World, today: date) -> None:
    _progress_reports(world)
    _design_input(world)


def _progress_reports(world: _World) -> None:
    u, o = world.users, world.orgs
    spec = u["specialist"]
    nor, fin, rbsa = (world.projects[k] for k in ("nor", "fin", "rbsa"))
    old, past, current = world.periods["nor"]
    # RAF/22/11/NOR: approved history, one returned and one awaiting review in the past period,
    # one withdrawn, nothing from the government (overdue), a draft in the open period.
    for org, user, factor in [
        ("union_ke", "union", 0.35),
        ("employers_ke", "employer", 0.3),
        ("union_gh", "union.ghana", 0.3),
    ]:
        _report(nor, old, o[org], u[user], Status.approved, factor, reviewer=spec)
    _report(nor, past, o["union_ke"], u["union"], Status.returned, 0.5, reviewer=spec)
    _report(nor, past, o["employers_ke"], u["employer"], Status.submitted, 0.45)
    _report(nor, past, o["union_gh"], u["union.ghana"], Status.approved, 0.45, reviewer=spec)
    _report(nor, past, o["union_sn"], u["union.senegal"], Status.withdrawn, 0.4)
    _report(nor, current, o["union_ke"], u["union"], Status.draft, 0.6)

    f_old, f_past, _f_current = world.periods["fin"]
    _report(fin, f_old, o["union_zm"], u["union.zambia"], Status.approved, 0.4, reviewer=spec)
    _report(fin, f_past, o["union_zm"], u["union.zambia"], Status.submitted, 0.6)
    _report(fin, f_past, o["union_gh"], u["union.ghana"], Status.approved, 0.55, reviewer=spec)

    _r_old, r_past, _r_current = world.periods["rbsa"]
    _report(rbsa, r_past, o["union_sn"], u["union.senegal"], Status.submitted, 0.3)


# The Fiji union's design input and the ILO's response to each point: (kind, text, disposition, reason).
DESIGN_ITEMS = [
    (
        DesignItemKind.need,
        "Training for union officers on how UNSDCF results groups work.",
        Disposition.incorporated,
        "Included as output 1.1.",
    ),
    (
        DesignItemKind.proposed_indicator,
        "Number of union submissions to UNSDCF annual reviews.",
        Disposition.partly,
        "Kept as a means of verification of indicator 1.a rather than an indicator.",
    ),
    (
        DesignItemKind.risk,
        "Governments may not invite unions to results groups.",
        Disposition.not_incorporated,
        "Outside the project's control; raised with the UN Resident Coordinator.",
    ),
]


def _design_input(world: _World) -> None:
    """Design input on the project in its design phase, with the ILO's responses."""
    u, o = world.users, world.orgs
    spec, fiji, ssc = u["specialist"], u["union.fiji"], world.projects["ssc"]
    design = _start(ssc, fiji, o["union_fj"], SubmissionKind.design_input)
    _act(
        submissions.save_design_input,
        design,
        fiji,
        items=[
            ItemInput(id=None, kind=kind, text=text) for kind, text, _disposition, _reason in DESIGN_ITEMS
        ],
    )
    _act(submissions.submit_submission, design, fiji)
    _act(
        submissions.record_responses,
        design,
        spec,
        responses={
            item.id: (disposition, reason)
            for item, (_kind, _text, disposition, reason) in zip(
                design.design_items, DESIGN_ITEMS, strict=True
            )
        },
    )
    _act(submissions.approve_submission, design, spec)
    # Barbados has started its design input and not sent it yet.
    _start(ssc, u["union.barbados"], o["union_bb"], SubmissionKind.design_input)


def _score(evaluation: Evaluation, scorer: User, points: list[int | None], *, submit: bool) -> None:
    """The scorer fills in their scorecard (a point, or None for "cannot assess", per criterion in
    order) and saves it as a draft or submits it."""
    card = evaluations.load_scorecard(evaluation.id, scorer.id)
    answers = {
        criterion.id: evaluations.Answer(
            point=point,
            cannot_assess=point is None,
            justification="Based on the approved progress reports and our own records."
            if point is not None
            else "We did not take part in this part of the project.",
        )
        for criterion, point in zip(evaluation.criteria_set.criteria, points, strict=False)
    }
    _act(evaluations.save_scorecard, card, scorer, answers=answers, submit=submit)


def _evaluations(world: _World, criteria_set: CriteriaSet, scale: Scale, today: date) -> None:
    u = world.users
    spec = u["specialist"]

    def open_evaluation(
        key: str, kind: EvaluationKind, title: str, days_to_deadline: int, organisations: list[str]
    ) -> Evaluation:
        """The specialist opens an evaluation of the project, scored by the demo's evaluator,
        the organisations named and the specialist."""
        return _step(
            evaluations.open_evaluation,
            world.projects[key],
            actor=spec,
            kind=kind,
            title=title,
            criteria_set=criteria_set,
            scale=scale,
            deadline=today + timedelta(days=days_to_deadline),
            evaluator_ids=[u["evaluator"].id],
            organisation_ids=[world.orgs[org].id for org in organisations],
            ilo_staff_ids=[spec.id],
        )

    mid = open_evaluation(
        "nor", EvaluationKind.mid_term, "Mid-term evaluation 2026", 30, ["union_ke", "employers_ke"]
    )
    _score(mid, u["evaluator"], [5, 4, 4, 3, 4, 3, 5, 5, 4, 3], submit=True)
    _score(mid, u["union"], [6, 5, 3, 2, 4, None, 5, 3, 5, 4], submit=True)
    _score(mid, u["employer"], [4, 4, 5, 5], submit=False)
    _score(mid, spec, [5, 5, 4, 4, 4, 4, 5, 4, 4, 3], submit=True)

    final = open_evaluation("fin", EvaluationKind.final, "Final independent evaluation", -20, ["union_zm"])
    _score(final, u["evaluator"], [5, 4, 4, 4, 3, 3, 4, 5, 4, 2], submit=True)
    _score(final, u["union.zambia"], [6, 5, 5, 3, 4, 4, 5, 6, 4, 3], submit=True)
    _score(final, spec, [5, 5, 4, 4, 4, 3, 4, 5, 3, 3], submit=True)
    _act(evaluations.close_evaluation, final, spec)
    _recommendations(world, final, today)

    # An evaluation just opened, so that the evaluator has a scorecard still to fill in My tasks
    # (their scorecard of the mid-term evaluation is submitted already).
    open_evaluation("rbsa", EvaluationKind.mid_term, "Mid-term review", 45, [])


# The closed evaluation's recommendations and the management response to each:
# (text, addressed to, response, action status, planned action, days until it is due).
RECOMMENDATIONS = [
    (
        "Institutionalise the trade policy research network within the regional trade union organisation.",
        "ILO ACTRAV and partner unions",
        ResponseKind.accepted,
        ActionStatus.in_progress,
        "Hand over the network to the regional federation.",
        120,
    ),
    (
        "Extend the project to two more countries in a second phase.",
        "ILO",
        ResponseKind.partially_accepted,
        ActionStatus.not_started,
        "Include one more country subject to donor funding.",
        365,
    ),
]


def _outcomes(world: _World, today: date) -> None:
    """The specialist's outcome statements on RAF/22/11/NOR: one matching a result of its
    framework, one the project did not plan, one for the worse."""
    project, orgs = world.projects["nor"], world.orgs
    result = next(r for r in project.results if r.code == "1")
    month = today.replace(day=1)
    statements = [
        outcomes.OutcomeSpec(
            social_actor="The national textile workers' union of Kenya (fictional)",
            change="Its executive board reserved a third of its seats for women and elected four women.",
            changed_on=month - timedelta(days=200),
            place="Nairobi, Kenya",
            significance="Women workers now take part in the union's decisions on bargaining priorities.",
            contribution="The project's leadership training and mentoring for women union members.",
            result_id=result.id,
            organisation_ids=[orgs["union_ke"].id],
        ),
        outcomes.OutcomeSpec(
            social_actor="The Ministry of Labour and Social Protection, Kenya (fictional)",
            change="It invited the unions and employers to draft the regulations on harassment together.",
            changed_on=month - timedelta(days=90),
            month_only=True,
            place="Kenya",
            significance="A first tripartite drafting of labour regulations in the sector.",
            contribution="The project's joint workshops on the Violence and Harassment Convention (C190).",
            unexpected=True,
            organisation_ids=[orgs["union_ke"].id, orgs["employers_ke"].id, orgs["gov_ke"].id],
        ),
        outcomes.OutcomeSpec(
            social_actor="Two garment factories in Accra (fictional)",
            change="They stopped giving union organisers access to their canteens.",
            changed_on=month - timedelta(days=40),
            place="Accra, Ghana",
            significance="Organising campaigns lost their main place to meet workers.",
            contribution="The campaigns' visibility may have alarmed the management.",
            unexpected=True,
            negative=True,
            organisation_ids=[orgs["union_gh"].id],
        ),
    ]
    specialist = world.users["specialist"]
    recorded = [_step(outcomes.record_outcome, project, spec, actor=specialist) for spec in statements]
    _substantiations(recorded, specialist)


# Who is asked to substantiate each statement, and their answer (None: not answered yet).
SUBSTANTIATIONS = [
    (
        "Grace Wanjiru (fictional), labour researcher, University of Nairobi",
        "grace.wanjiru@example.org",
        "en",
        SubstantiationVerdict.fully,
        "I attended the union's congress: the four women were elected and now sit on the board.",
    ),
    (
        "Jean-Baptiste Otieno (fictional), labour inspector",
        "jb.otieno@example.org",
        "fr",
        SubstantiationVerdict.partly,
        "The ministry invited both sides, but the employers' association joined only for the last draft.",
    ),
    ("Kofi Boateng (fictional), journalist, Accra", "kofi.boateng@example.org", "en", None, ""),
]


def _substantiations(recorded: list[Any], specialist: User) -> None:
    """One statement substantiated fully, one partly, one request still waiting for its answer."""
    for statement, (name, email, language, verdict, comment) in zip(recorded, SUBSTANTIATIONS, strict=True):
        _asked, token = _step(
            substantiation.request_substantiation,
            statement,
            name=name,
            email=email,
            language=language,
            message="You followed this change closely: do you agree with how we describe it?",
            actor=specialist,
        )
        if verdict is not None:
            _step(substantiation.answer, token, verdict, comment)


# The domains of change of RAF/22/11/NOR, and its stories of change (title, domain, storyteller,
# what happened, who was involved, why it matters, names people, share consent). The titles are
# looked up by the demo's selection round.
STORY_DOMAINS = ("Organising", "Collective bargaining", "Gender equality", "Social dialogue")
STORIES = [
    (
        "Domestic workers in Mombasa formed their first union branch",
        "Organising",
        "union",
        "Domestic workers in Nyali and Bamburi met every Sunday for six months with the union's "
        "organisers. In March, forty-two of them elected a branch committee and registered as "
        "members. It is the first branch of domestic workers on the coast.",
        "Domestic workers of Nyali and Bamburi, the union's women organisers, a local church that "
        "lent its hall.",
        "Domestic workers work alone, behind closed doors. Now they have a committee that speaks "
        "for them, and employers know that a worker who is dismissed without notice has somewhere "
        "to turn.",
        False,
        True,
    ),
    (
        "Platform riders in Nairobi joined the transport workers' union",
        "Organising",
        "specialist",
        "Motorcycle delivery riders working through two apps had no union. After the project's "
        "workshops on organising in the platform economy, the transport workers' union opened its "
        "membership to them, and more than three hundred riders joined within two months.",
        "Delivery riders of two platforms, the transport workers' union, the project's trainers.",
        "It shows that workers whom the law calls self-employed can organise in an existing union, "
        "and it gives the riders a voice in the talks on the new rules for platform work.",
        False,
        True,
    ),
    (
        "Night-shift workers won their grievance at the flower farm",
        "Organising",
        "union",
        "Twelve women on the night shift at a flower farm near Naivasha were paid no night "
        "allowance. With the shop steward Mary Achieng, they filed a grievance under the new "
        "procedure, and the farm paid the allowance with six months of arrears.",
        "The twelve night-shift workers, the shop steward Mary Achieng, the farm's human resources manager.",
        "The workers saw that the grievance procedure works. Others on the farm asked to join the "
        "union the following week.",
        True,
        False,
    ),
    (
        "A joint safety committee at the tea estates",
        "Social dialogue",
        "employer",
        "Management and the union at three tea estates in Kericho set up a joint occupational "
        "safety and health committee. It meets every month, inspects the factories and the "
        "fields, and has already replaced the worn-out protective equipment of the pluckers.",
        "The estates' managers, the union's shop stewards, the county labour officer.",
        "For employers, safety had been a matter for management alone. Deciding it together has "
        "reduced accidents and built the trust needed for the next wage negotiations.",
        False,
        True,
    ),
]


def _stories(world: _World, today: date) -> None:
    """The domains of change of RAF/22/11/NOR and stories told in its first reporting period."""
    project, users = world.projects["nor"], world.users
    domains = {
        name: _step(stories.add_domain, project, name, actor=users["specialist"]) for name in STORY_DOMAINS
    }
    period = world.periods["nor"][0]
    for title, domain, teller, what, who, why, names_people, share in STORIES:
        spec = stories.StorySpec(
            title=title,
            what_happened=what,
            who_involved=who,
            why_significant=why,
            domain_id=domains[domain].id,
            period_id=period.id,
            names_people=names_people,
            people_consent=names_people,
            share_consent=share,
        )
        _step(stories.tell_story, project, spec, actor=users[teller])


def _recommendations(world: _World, evaluation: Evaluation, today: date) -> None:
    """The evaluator's recommendations, each with the specialist's management response."""
    for text, addressed_to, response, status, action, days in RECOMMENDATIONS:
        recommendation = _step(
            evaluations.add_recommendation,
            evaluation,
            actor=world.users["evaluator"],
            text=text,
            addressed_to=addressed_to,
        )
        _step(
            evaluations.respond_to_recommendation,
            recommendation,
            actor=world.users["specialist"],
            response=response,
            planned_action=action,
            due_date=today + timedelta(days=days),
            action_status=status,
        )


# The stories of change the demo's selection rounds read (told by `_stories`).
MOMBASA = "Domestic workers in Mombasa formed their first union branch"
RIDERS = "Platform riders in Nairobi joined the transport workers' union"


def _round_stories(world: _World) -> tuple[ChangeStory, ChangeStory]:
    project = world.projects["nor"]
    found = {
        story.title: story
        for story in db.session.scalars(
            sa.select(ChangeStory).where(
                ChangeStory.project_id == project.id, ChangeStory.title.in_([MOMBASA, RIDERS])
            )
        )
    }
    return found[MOMBASA], found[RIDERS]


def _rounds(world: _World, today: date) -> None:
    """A closed project-level round on RAF/22/11/NOR that chose the Mombasa story, and the open
    regional round for Africa that reads it."""
    mombasa, riders = _round_stories(world)
    project, u = world.projects["nor"], world.users
    specialist = u["specialist"]
    period = world.periods["nor"][0]
    domain_id = mombasa.domain_id
    # The project has a government member: the government takes part too.
    members = [u["union"], u["employer"], specialist, u["government"]]
    selection_round = _step(
        selection_rounds.open_project_round,
        project,
        selection_rounds.RoundSpec(
            title="Organising — first half-year",
            domain_id=domain_id,
            period_id=period.id,
            member_ids=[m.id for m in members],
        ),
        actor=specialist,
    )
    for member, story, reason in [
        (
            u["union"],
            mombasa,
            "Domestic workers are the hardest to organise: they work alone, in private homes.",
        ),
        (
            u["employer"],
            riders,
            "Platform work is growing fastest; organising it shows the way for the whole sector.",
        ),
        (
            specialist,
            mombasa,
            "A first branch of domestic workers changes who the union speaks for, and can be repeated.",
        ),
    ]:
        _step(selection_rounds.propose, selection_round, story.id, reason, actor=member)
    _step(
        selection_rounds.close,
        selection_round,
        selection_rounds.Choice(
            story_id=mombasa.id,
            reason="The change reaches women workers no union reached before, and other branches can "
            "follow the same steps.",
            discussion="The members read the three stories aloud. The employers' representative argued "
            "for the riders' story; the others for the Mombasa branch, as domestic workers have no "
            "other voice. The riders' story is kept for the next round on new forms of work.",
        ),
        selection_round.version,
        actor=specialist,
    )
    _step(
        selection_rounds.open_higher_round,
        StoryLevel.regional,
        selection_rounds.RoundSpec(
            title="Africa — stories of organising",
            region=IloRegion.africa,
            member_ids=[u[k].id for k in ("union.ghana", "employer", "specialist", "admin")],
        ),
        actor=u["admin"],
    )
