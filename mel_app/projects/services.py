"""Projects and their partners: creating, editing, listing, and the data of the project and
portfolio pages.

Services flush and never commit; the pages' loaders run a fixed number of queries whatever the
size of the project (every collection is fetched in one statement and grouped in Python).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, TypeVar

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from mel_app import audit, figures
from mel_app.exports.iati_codes import (
    CURRENCIES,
    ORGANISATION_TYPES,
    SECTORS,
    normalise_org_ref,
    org_ref_error,
)
from mel_app.extensions import db
from mel_app.kit.errors import DomainError
from mel_app.models import (
    Aggregation,
    Evaluation,
    FundingModality,
    Indicator,
    IndicatorValue,
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
    Result,
    Role,
    Status,
    Submission,
    SubmissionKind,
)
from mel_app.models.project import is_valid_reference
from mel_app.projects import grid as grid_mod
from mel_app.projects import ilo_terms
from mel_app.projects.countries import COUNTRY_CODES
from mel_app.projects.periods import project_periods
from mel_app.uniqueness import retry_on_duplicate

PHASE_ORDER = (Phase.design, Phase.implementation, Phase.closed)

# Any SELECT of projects, narrowed by the filters shared by the project list and the roll-up.
SelectT = TypeVar("SelectT", bound=sa.Select[Any])


class ProjectError(DomainError):
    """A change the project rules refuse; the message is for the user."""


# --- create and edit ---------------------------------------------------------------------------


@dataclass
class ProjectData:
    reference: str
    title: str
    funding_modality: FundingModality
    start_date: date
    end_date: date
    summary: str = ""
    donor: str = ""
    countries: list[str] = field(default_factory=list)
    phase: Phase = Phase.design
    # For the IATI file. Sector code → whole percentage; country → percentage, or none of them for
    # an even split; the planned budget and its currency; the donor's IATI identifier and type.
    sectors: dict[str, int] = field(default_factory=dict)
    country_shares: dict[str, int | None] = field(default_factory=dict)
    budget_amount: Decimal | None = None
    budget_currency: str | None = None
    donor_iati_ref: str | None = None
    donor_iati_type: str | None = None
    # Days before a report's due date its reporters are reminded ("14,3"); None: the default.
    report_reminder_days: str | None = None
    # The ILO's terms it serves (DWCP and P&B outcomes, SDG targets); None leaves them as they are.
    tags: ilo_terms.Tags | None = None


def normalise_reference(reference: str) -> str:
    return (reference or "").strip().upper()


def reference_error(reference: str, *, except_id: int | None = None) -> str | None:
    """Why an ILO reference cannot be used, or None."""
    reference = normalise_reference(reference)
    if not is_valid_reference(reference):
        return _(
            "An ILO reference is region or country / year / serial / donor, e.g. RAF/22/11/NOR or "
            "RAF/04/M55/NET: three letters, two digits, two or three digits (or a letter and two or "
            "three digits), three letters, separated by slashes."
        )
    query = sa.select(Project.id).where(Project.reference == reference)
    if except_id is not None:
        query = query.where(Project.id != except_id)
    if db.session.scalar(query.limit(1)) is not None:
        return _("Another project has the reference %(reference)s.", reference=reference)
    return None


def budget_error(amount: Decimal | None, currency: str | None) -> str | None:
    if amount is None and currency is None:
        return None
    if amount is None:
        return _("Give the budget amount, or choose no currency.")
    if currency is None:
        return _("Choose the currency of the budget.")
    if currency not in CURRENCIES:
        return _("Choose a currency from the list.")
    if amount <= 0:
        return _("A budget is more than zero.")
    if amount != amount.quantize(Decimal("0.01")) or amount >= Decimal("1e14"):
        return _("Give the budget in whole currency units or with cents, at most 14 digits.")
    return None


def sector_shares_error(shares: dict[str, int]) -> str | None:
    """Sectors are optional here (the IATI file asks for one); chosen ones add up to 100%."""
    if set(shares) - set(SECTORS):
        return _("Choose sectors from the list.")
    if any(not 1 <= share <= 100 for share in shares.values()):
        return _("A share is from %(min)s to %(max)s%%.", min=1, max=100)
    if shares and sum(shares.values()) != 100:
        return _(
            "The shares of the sectors add up to %(total)s%%; they must make 100%%.",
            total=sum(shares.values()),
        )
    return None


def country_shares_error(shares: dict[str, int | None]) -> str | None:
    """Every country has a share and together they make 100%, or none has one (an even split)."""
    given = [share for share in shares.values() if share is not None]
    if not given:
        return None
    if len(given) != len(shares):
        return _("Give every country a share, or leave them all empty for an even split.")
    if any(not 1 <= share <= 100 for share in given):
        return _("A share is from %(min)s to %(max)s%%.", min=1, max=100)
    if sum(given) != 100:
        return _("The shares of the countries add up to %(total)s%%; they must make 100%%.", total=sum(given))
    return None


def allowed_phases(current: Phase | None) -> list[Phase]:
    """A project moves forward only: design, then implementation, then closed."""
    if current is None:
        return list(PHASE_ORDER)
    return list(PHASE_ORDER[PHASE_ORDER.index(current) :])


def _check(data: ProjectData, *, project: Project | None) -> None:
    if message := reference_error(data.reference, except_id=project.id if project else None):
        raise ProjectError(message)
    if not data.title.strip():
        raise ProjectError(_("Give the project a title."))
    if data.start_date and data.end_date and data.end_date <= data.start_date:
        raise ProjectError(_("The project must end after it starts."))
    unknown = sorted(set(data.countries) - COUNTRY_CODES)
    if unknown:
        raise ProjectError(_("Unknown country codes: %(codes)s.", codes=", ".join(unknown)))
    if data.phase not in allowed_phases(project.phase if project else None):
        raise ProjectError(_("A project cannot go back to an earlier phase."))
    shares = data.country_shares if set(data.country_shares) == set(data.countries) else {}
    for message in (
        org_ref_error(data.donor_iati_ref),
        budget_error(data.budget_amount, data.budget_currency),
        sector_shares_error(data.sectors),
        country_shares_error(shares),
    ):
        if message:
            raise ProjectError(message)
    if data.donor_iati_type is not None and data.donor_iati_type not in ORGANISATION_TYPES:
        raise ProjectError(_("Choose an organisation type from the list."))
    if data.tags is not None and (message := ilo_terms.tags_error(data.tags)):
        raise ProjectError(message)


def _apply(project: Project, data: ProjectData) -> None:
    project.reference = normalise_reference(data.reference)
    project.title = data.title.strip()
    project.summary = data.summary.strip()
    project.donor = data.donor.strip()
    project.funding_modality = data.funding_modality
    project.start_date = data.start_date
    project.end_date = data.end_date
    project.phase = data.phase
    project.budget_amount = data.budget_amount
    project.budget_currency = data.budget_currency if data.budget_amount is not None else None
    project.donor_iati_ref = normalise_org_ref(data.donor_iati_ref)
    project.donor_iati_type = data.donor_iati_type or None
    project.report_reminder_days = data.report_reminder_days or None
    wanted = sorted(set(data.countries))
    if project.country_codes != wanted:
        keep = [c for c in project.countries if c.country in wanted]
        have = {c.country for c in keep}
        project.countries = keep + [ProjectCountry(country=c) for c in wanted if c not in have]
    # Shares typed for other countries than the chosen ones do not apply: an even split then.
    shares = data.country_shares if set(data.country_shares) == set(wanted) else {}
    for country in project.countries:
        share = shares.get(country.country)
        new = Decimal(share) if share is not None else None
        if country.percentage != new:
            country.percentage = new
    _apply_sectors(project, data.sectors)
    if data.tags is not None:
        ilo_terms.apply_tags(project, data.tags, ProjectTag)


def _apply_sectors(project: Project, sectors: dict[str, int]) -> None:
    """Change only the rows that differ, so the audit trail records what really changed."""
    by_code = {s.code: s for s in project.sectors}
    keep = []
    for code, share in sorted(sectors.items()):
        row = by_code.get(code)
        if row is None:
            row = ProjectSector(code=code, percentage=Decimal(share))
        elif row.percentage != Decimal(share):
            row.percentage = Decimal(share)
        keep.append(row)
    if [s.code for s in project.sectors] != [s.code for s in keep]:
        project.sectors = keep


@retry_on_duplicate
def create_project(data: ProjectData, *, actor: Any) -> Project:
    """Create a project; its creator becomes its specialist."""
    _check(data, project=None)
    project = Project()
    _apply(project, data)
    db.session.add(project)
    audit.record(db.session, "project.create", actor=actor, target=project)
    db.session.flush()
    membership = Membership(user_id=actor.id, project_id=project.id, role=Role.specialist)
    db.session.add(membership)
    audit.record(db.session, "membership.create", actor=actor, target=membership)
    db.session.flush()
    return project


def update_project(project: Project, data: ProjectData, *, actor: Any) -> None:
    _check(data, project=project)
    _apply(project, data)
    audit.record(db.session, "project.update", actor=actor, target=project)
    db.session.flush()


# --- partners ----------------------------------------------------------------------------------


def organisations_not_partners(
    project: Project, *, country: str | None = None, ids: Collection[int] | None = None
) -> list[Organisation]:
    """The organisations that could still become the project's partners, by name.

    Those of `country` when one is given; otherwise those of the project's own countries, the
    ILO's and those of no country (international ones). A portfolio holds thousands of
    organisations: listing them all made the page weigh hundreds of kilobytes on a phone, for
    choices that are nearly always wrong. `ids`: only these (to check a choice made on the page).
    """
    taken = sa.select(Partner.organisation_id).where(Partner.project_id == project.id)
    query = sa.select(Organisation).where(Organisation.id.not_in(taken)).order_by(Organisation.name)
    if ids is not None:
        query = query.where(Organisation.id.in_(ids))
    elif country:
        query = query.where(Organisation.country == country)
    else:
        query = query.where(
            sa.or_(
                Organisation.country.in_(project.country_codes),
                Organisation.country.is_(None),
                Organisation.group == OrgGroup.ilo,
            )
        )
    return list(db.session.scalars(query))


def project_partners(project: Project) -> list[Partner]:
    return list(
        db.session.scalars(
            sa.select(Partner)
            .join(Partner.organisation)
            .options(sa.orm.contains_eager(Partner.organisation))
            .where(Partner.project_id == project.id)
            .order_by(Organisation.name)
        )
    )


@retry_on_duplicate
def add_partner(project: Project, organisation: Organisation, *, actor: Any) -> Partner:
    exists = db.session.scalar(
        sa.select(Partner.id).where(
            Partner.project_id == project.id, Partner.organisation_id == organisation.id
        )
    )
    if exists is not None:
        raise ProjectError(_("%(org)s is a partner already.", org=organisation.name))
    partner = Partner(project_id=project.id, organisation_id=organisation.id)
    db.session.add(partner)
    audit.record(db.session, "partner.create", actor=actor, target=partner)
    db.session.flush()
    return partner


def remove_partner(partner: Partner, *, actor: Any) -> None:
    """Remove a partner that has not reported, has no reporters and is responsible for no indicator."""
    org = partner.organisation
    project_id = partner.project_id
    if db.session.scalar(
        sa.select(Submission.id)
        .where(Submission.project_id == project_id, Submission.organisation_id == org.id)
        .limit(1)
    ):
        raise ProjectError(_("%(org)s has submissions in this project: it stays a partner.", org=org.name))
    if db.session.scalar(
        sa.select(Membership.id)
        .where(Membership.project_id == project_id, Membership.organisation_id == org.id)
        .limit(1)
    ):
        raise ProjectError(
            _("People report for %(org)s in this project: remove their membership first.", org=org.name)
        )
    if db.session.scalar(
        sa.select(Indicator.id)
        .where(Indicator.project_id == project_id, Indicator.responsible_organisation_id == org.id)
        .limit(1)
    ):
        raise ProjectError(_("%(org)s is responsible for indicators: change them first.", org=org.name))
    audit.record(db.session, "partner.delete", actor=actor, target=partner)
    db.session.delete(partner)
    db.session.flush()


# --- list --------------------------------------------------------------------------------------


@dataclass
class ListFilters:
    q: str = ""
    country: str = ""
    phase: str = ""
    constituency: str = ""


def project_list_query(visible_ids: sa.Select, filters: ListFilters) -> sa.Select:
    """Projects among `visible_ids` matching the search and filters, in reference order."""
    query = (
        sa.select(Project)
        .where(Project.id.in_(visible_ids))
        .options(selectinload(Project.countries))
        .order_by(Project.reference)
    )
    if filters.q.strip():
        like = (
            "%"
            + filters.q.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            + "%"
        )
        query = query.where(
            sa.or_(
                sa.func.lower(Project.reference).like(like, escape="\\"),
                sa.func.lower(Project.title).like(like, escape="\\"),
                sa.func.lower(Project.donor).like(like, escape="\\"),
                sa.func.lower(Project.summary).like(like, escape="\\"),
            )
        )
    if filters.phase in Phase.__members__:
        query = query.where(Project.phase == Phase(filters.phase))
    return where_country_and_constituency(query, filters.country, filters.constituency)


def where_country_and_constituency(query: SelectT, country: str, constituency: str) -> SelectT:
    """`query` (of projects) narrowed to a country and to projects with a partner of a
    constituency; a value that is not a known country or constituency narrows nothing."""
    if country in COUNTRY_CODES:
        query = query.where(
            Project.id.in_(sa.select(ProjectCountry.project_id).where(ProjectCountry.country == country))
        )
    if constituency in OrgGroup.__members__:
        query = query.where(
            Project.id.in_(
                sa.select(Partner.project_id)
                .join(Organisation, Organisation.id == Partner.organisation_id)
                .where(Organisation.group == OrgGroup(constituency))
            )
        )
    return query


def roles_by_project(user: Any, project_ids: list[int]) -> dict[int, list[Role]]:
    if not project_ids or not getattr(user, "is_authenticated", False):
        return {}
    roles: dict[int, list[Role]] = defaultdict(list)
    for project_id, role in db.session.execute(
        sa.select(Membership.project_id, Membership.role)
        .where(Membership.user_id == user.id, Membership.project_id.in_(project_ids))
        .order_by(Membership.role)
    ):
        roles[project_id].append(role)
    return roles


# --- project page ------------------------------------------------------------------------------


@dataclass
class IndicatorRow:
    indicator: Indicator
    progress: figures.Progress | None = None


@dataclass
class ResultNode:
    result: Result
    indicators: list[IndicatorRow]
    children: list[ResultNode]
    depth: int = 0


# A ten-year project has twenty periods: its page shows each indicator's latest figures and the
# latest periods of the status grid, and links to the rest (the indicator's page, the full grid),
# so that its first visit stays under 60 KB however long the project runs.
RECENT_FIGURES = 2
RECENT_GRID_PERIODS = 4
GRID_PAGE_PERIODS = 12


@dataclass
class ProjectPage:
    project: Project
    partners: list[Partner]
    periods: list[ReportingPeriod]
    tree: list[ResultNode]
    grid: grid_mod.StatusGrid
    evaluations: list[Evaluation]
    grid_is_partial: bool
    # The grid's columns left out (older periods), and how many of their cells are overdue.
    grid_earlier_periods: int = 0
    grid_earlier_overdue: int = 0

    def walk(self) -> list[ResultNode]:
        return walk(self.tree)


def walk(tree: list[ResultNode]) -> list[ResultNode]:
    """The results in reading order (each followed by the results under it)."""
    out: list[ResultNode] = []
    stack = list(reversed(tree))
    while stack:
        node = stack.pop()
        out.append(node)
        stack.extend(reversed(node.children))
    return out


def build_tree(
    results: list[Result], indicators_by_result: dict[int, list[IndicatorRow]]
) -> list[ResultNode]:
    """Results as a tree (impact > outcome > output), siblings by position then code."""
    nodes = {r.id: ResultNode(r, indicators_by_result.get(r.id, []), []) for r in results}
    roots: list[ResultNode] = []
    for result in sorted(results, key=lambda r: (r.position, r.code, r.id)):
        node = nodes[result.id]
        parent = nodes.get(result.parent_id) if result.parent_id else None
        (parent.children if parent else roots).append(node)

    def set_depth(items: list[ResultNode], depth: int) -> None:
        for item in items:
            item.depth = depth
            set_depth(item.children, depth + 1)

    set_depth(roots, 0)
    return roots


def load_framework(
    project: Project, *, include_archived: bool = False
) -> tuple[list[Result], list[Indicator]]:
    """Every result (with its ILO tags) and indicator of the project in three queries."""
    results_q = sa.select(Result).where(Result.project_id == project.id).options(selectinload(Result.tags))
    indicators_q = (
        sa.select(Indicator)
        .where(Indicator.project_id == project.id)
        .options(selectinload(Indicator.responsible_organisation))
        .order_by(Indicator.position, Indicator.code, Indicator.id)
    )
    if not include_archived:
        results_q = results_q.where(Result.is_archived.is_(False))
        indicators_q = indicators_q.where(Indicator.is_archived.is_(False))
    results = list(db.session.scalars(results_q))
    indicators = list(db.session.scalars(indicators_q))
    return results, indicators


def framework_tree(project: Project, *, include_archived: bool = False) -> list[ResultNode]:
    """The framework without progress figures (editor, export), in three queries."""
    results, indicators = load_framework(project, include_archived=include_archived)
    by_result: dict[int, list[IndicatorRow]] = defaultdict(list)
    for indicator in indicators:
        by_result[indicator.result_id].append(IndicatorRow(indicator))
    return build_tree(results, by_result)


def _approved_values() -> sa.Select[Any]:
    """The approved progress-report values, with their period, organisation and its name."""
    return (
        sa.select(
            IndicatorValue.indicator_id,
            IndicatorValue.value,
            IndicatorValue.women,
            IndicatorValue.men,
            Submission.period_id,
            Submission.organisation_id,
            Organisation.name,
        )
        .join(Submission, Submission.id == IndicatorValue.submission_id)
        .join(Organisation, Organisation.id == Submission.organisation_id)
        .where(
            Submission.kind == SubmissionKind.progress_report,
            Submission.status == Status.approved,
            IndicatorValue.not_reported.is_(False),
        )
    )


def _progress_of(
    rows: Any, indicators: list[Indicator], periods: list[ReportingPeriod]
) -> dict[int, figures.Progress]:
    reported: dict[int, list[figures.Report]] = defaultdict(list)
    for indicator_id, value, women, men, period_id, organisation_id, name in rows:
        reported[indicator_id].append(figures.Report(period_id, organisation_id, value, women, men, name))
    by_project: dict[int, list[figures.Period]] = defaultdict(list)
    for p in periods:
        by_project[p.project_id].append(figures.Period(p.id, p.label, p.start_date, p.end_date))
    return {
        indicator.id: figures.progress(
            figures.Rule.of(indicator), reported.get(indicator.id, ()), by_project[indicator.project_id]
        )
        for indicator in indicators
    }


def indicator_progress(
    project_ids: list[int], indicators: list[Indicator], periods: list[ReportingPeriod]
) -> dict[int, figures.Progress]:
    """Each indicator's figures and progress from the approved reports, by `mel_app.figures`:
    one query for the values of these indicators only, whatever their number and the projects'."""
    query = _approved_values().where(
        Submission.project_id.in_(project_ids),
        IndicatorValue.indicator_id.in_([indicator.id for indicator in indicators]),
    )
    approved = db.session.execute(query.order_by(Organisation.name, Submission.organisation_id)).all()
    return _progress_of(approved, indicators, periods)


def latest_progress(
    project_ids: list[int], indicators: list[Indicator], periods: list[ReportingPeriod]
) -> dict[int, figures.Progress]:
    """Each indicator's latest figure and progress, as `indicator_progress` gives them, reading
    only the values of the period that figure comes from (one query): pages that show the latest
    figure of many indicators (the portfolio, its roll-up) need not read every period's values.

    The period is the latest (in `mel_app.figures`' order of periods) whose values give a figure by
    the indicator's rule: one value at least, the responsible organisation's for the "responsible"
    rule; none for qualitative indicators or listed answers, which have no figure. The `figures`
    of each progress hold that period's figure alone.
    """
    # Each indicator's latest period with a value that gives a figure, found by walking the
    # periods of its project from the latest and stopping at the first that has one (a few index
    # probes per indicator), where ranking every value of the projects read and sorted them all.
    gives_figure = (
        sa.select(sa.literal(1))
        .select_from(Submission)
        .join(IndicatorValue, IndicatorValue.submission_id == Submission.id)
        .where(
            Submission.period_id == ReportingPeriod.id,
            IndicatorValue.indicator_id == Indicator.id,
            Submission.kind == SubmissionKind.progress_report,
            Submission.status == Status.approved,
            IndicatorValue.not_reported.is_(False),
            IndicatorValue.value.is_not(None),
            sa.or_(
                Indicator.aggregation != Aggregation.responsible,
                Submission.organisation_id == Indicator.responsible_organisation_id,
            ),
        )
        .correlate(ReportingPeriod, Indicator)
    )
    latest_period = (
        sa.select(ReportingPeriod.id)
        .where(ReportingPeriod.project_id == Indicator.project_id, gives_figure.exists())
        .order_by(
            ReportingPeriod.start_date.desc(), ReportingPeriod.end_date.desc(), ReportingPeriod.id.desc()
        )
        .limit(1)
        .correlate(Indicator)
        .scalar_subquery()
    )
    # Materialised (PostgreSQL, SQLite 3.35+): inlined, SQLite runs the search once per value
    # read and PostgreSQL, unable to tell how few rows it gives, joins the organisations row by
    # row for the final order.
    latest = (
        sa.select(Indicator.id.label("indicator_id"), latest_period.label("period_id"))
        .where(
            Indicator.project_id.in_(project_ids),
            Indicator.measure != Measure.qualitative,
            Indicator.aggregation != Aggregation.listed,
        )
        .cte("latest")
        .prefix_with("MATERIALIZED")
    )
    rows = db.session.execute(
        _approved_values()
        .join(
            latest,
            sa.and_(
                latest.c.indicator_id == IndicatorValue.indicator_id,
                latest.c.period_id == Submission.period_id,
            ),
        )
        .order_by(Organisation.name, Submission.organisation_id)
    ).all()
    return _progress_of(rows, indicators, periods)


def reporting_day() -> date:
    """The day reports are judged due or overdue on, for every reader alike: UTC's."""
    return datetime.now(UTC).date()


def build_status_grid(
    project: Project,
    partners: list[Partner],
    periods: list[ReportingPeriod],
    *,
    today: date,
    reporter_organisation_ids: set[int] | None,
) -> grid_mod.StatusGrid:
    """The project's reporting status grid from its `partners` and `periods`: one query for its
    reports, whatever the number of partners and periods.

    `reporter_organisation_ids` limits it to those organisations (a reporter sees only their own
    organisation's row); None shows every reporting partner.
    """
    submissions = db.session.execute(
        sa.select(Submission.id, Submission.organisation_id, Submission.period_id, Submission.status).where(
            Submission.project_id == project.id, Submission.kind == SubmissionKind.progress_report
        )
    ).all()
    organisations = [
        grid_mod.GridOrganisation(p.organisation.id, p.organisation.name, p.organisation.group)
        for p in partners
        if reporter_organisation_ids is None or p.organisation_id in reporter_organisation_ids
    ]
    return grid_mod.build_grid(
        organisations,
        [grid_mod.GridPeriod(p.id, p.label, p.due_date) for p in periods],
        [grid_mod.GridSubmission(s.id, s.organisation_id, s.period_id, s.status) for s in submissions],
        today,
    )


def load_project_page(
    project: Project, *, today: date, reporter_organisation_ids: set[int] | None
) -> ProjectPage:
    """Everything the project page shows, in a fixed number of queries.

    `reporter_organisation_ids` limits the status grid to those organisations (a reporter sees
    only their own organisation's row); None shows every reporting partner.
    """
    partners = project_partners(project)
    periods = project_periods(project)
    results, indicators = load_framework(project)

    found = indicator_progress([project.id], indicators, periods)
    by_result: dict[int, list[IndicatorRow]] = defaultdict(list)
    for indicator in indicators:
        by_result[indicator.result_id].append(IndicatorRow(indicator, found[indicator.id]))

    status_grid = build_status_grid(
        project, partners, periods, today=today, reporter_organisation_ids=reporter_organisation_ids
    )
    earlier = max(0, len(periods) - RECENT_GRID_PERIODS)
    evaluations = list(
        db.session.scalars(
            sa.select(Evaluation)
            .where(Evaluation.project_id == project.id)
            .order_by(Evaluation.opened_at.desc(), Evaluation.id.desc())
        )
    )
    return ProjectPage(
        project=project,
        partners=partners,
        periods=periods,
        tree=build_tree(results, by_result),
        grid=status_grid.window(earlier, len(periods)),
        evaluations=evaluations,
        grid_is_partial=reporter_organisation_ids is not None,
        grid_earlier_periods=earlier,
        grid_earlier_overdue=status_grid.window(0, earlier).overdue_count,
    )


@dataclass
class IndicatorPage:
    indicator: Indicator
    progress: figures.Progress


def load_indicator_page(project: Project, indicator_id: int) -> IndicatorPage | None:
    """One indicator of the project with every period's figure and the approved value of each
    organisation behind it (the project page shows the latest figures only); None when the
    project has no such indicator."""
    indicator = db.session.scalar(
        sa.select(Indicator)
        .where(Indicator.id == indicator_id, Indicator.project_id == project.id)
        .options(selectinload(Indicator.result), selectinload(Indicator.responsible_organisation))
    )
    if indicator is None:
        return None
    found = indicator_progress([project.id], [indicator], project_periods(project))
    return IndicatorPage(indicator, found[indicator.id])


@dataclass
class GridPage:
    grid: grid_mod.StatusGrid
    page: int
    pages: int
    is_partial: bool


def load_status_grid_page(
    project: Project, *, today: date, reporter_organisation_ids: set[int] | None, page: int
) -> GridPage:
    """The status grid, GRID_PAGE_PERIODS periods a page, page 1 the latest (a page beyond the
    last shows the last)."""
    periods = project_periods(project)
    full = build_status_grid(
        project,
        project_partners(project),
        periods,
        today=today,
        reporter_organisation_ids=reporter_organisation_ids,
    )
    pages = max(1, -(-len(periods) // GRID_PAGE_PERIODS))
    page = min(max(page, 1), pages)
    stop = len(periods) - (page - 1) * GRID_PAGE_PERIODS
    return GridPage(
        full.window(max(0, stop - GRID_PAGE_PERIODS), stop),
        page,
        pages,
        reporter_organisation_ids is not None,
    )


def reporter_organisations(user: Any, project: Project) -> set[int]:
    return set(
        db.session.scalars(
            sa.select(Membership.organisation_id).where(
                Membership.user_id == user.id,
                Membership.project_id == project.id,
                Membership.role == Role.reporter,
            )
        )
    )


def status_grid_organisations(user: Any, project: Project) -> set[int] | None:
    """Whose rows of the project's status grid the user sees: every reporting partner's (None)
    for those who may see all report statuses, else those of the organisations they report for."""
    from mel_app.permissions import can_view_all_report_statuses

    if can_view_all_report_statuses(user, project):
        return None
    return reporter_organisations(user, project)


def openable_submission_ids(user: Any, project: Project) -> set[int]:
    """The project's reports the user may open, so that the status grid links only to those (an
    observer sees every cell's status but opens approved reports only)."""
    from mel_app.permissions import visible_submission_filter

    return set(
        db.session.scalars(
            sa.select(Submission.id).where(
                Submission.project_id == project.id, visible_submission_filter(user)
            )
        )
    )


# --- portfolio ---------------------------------------------------------------------------------


@dataclass
class PortfolioRow:
    project: Project
    next_due: date | None
    overdue: int
    awaiting_review: int
    latest_evaluation: Evaluation | None
    # The indicators in use, in framework order, with their figures and progress.
    indicators: list[tuple[Indicator, figures.Progress]] = field(default_factory=list)

    @property
    def at_target(self) -> int:
        return sum(1 for _indicator, progress in self.indicators if progress.achieved)


def overdue_counts(project_ids: list[int], today: date) -> dict[int, int]:
    """Per project: reporting partners × periods past due without a submitted or approved report.

    The same rule as `grid.cell_status` (a test checks both agree), counted in the database as
    the cells past due minus the reports delivered for them: a project has at most one live
    report per period and organisation (a unique index says so), so the difference is the
    number of cells without one. Two plain counts, each read through an index, where "cells
    without a report" made PostgreSQL scan every delivered report of the portfolio.
    """
    if not project_ids:
        return {}

    def reporting_cells(select: sa.Select) -> sa.Select:
        return (
            select.join(Partner, Partner.project_id == ReportingPeriod.project_id)
            .join(Organisation, Organisation.id == Partner.organisation_id)
            .where(
                ReportingPeriod.project_id.in_(project_ids),
                ReportingPeriod.due_date < today,
                Organisation.group.not_in(list(grid_mod.NON_REPORTING_GROUPS)),
            )
            .group_by(ReportingPeriod.project_id)
        )

    cells = reporting_cells(
        sa.select(ReportingPeriod.project_id, sa.func.count().label("n")).select_from(ReportingPeriod)
    )
    delivered = reporting_cells(
        sa.select(ReportingPeriod.project_id, (-sa.func.count()).label("n"))
        .select_from(Submission)
        .join(ReportingPeriod, ReportingPeriod.id == Submission.period_id)
        .where(
            Submission.project_id.in_(project_ids),
            Submission.kind == SubmissionKind.progress_report,
            Submission.status.in_(list(grid_mod.DELIVERED)),
        )
    ).where(Partner.organisation_id == Submission.organisation_id)
    both = sa.union_all(cells, delivered).subquery()
    rows = db.session.execute(
        sa.select(both.c.project_id, sa.func.sum(both.c.n)).group_by(both.c.project_id)
    ).all()
    return {project_id: int(count) for project_id, count in rows if count}


def portfolio_query(project_ids: sa.Select[tuple[int]]) -> sa.Select[tuple[Project]]:
    """The portfolio page's projects, by reference, with their countries."""
    return (
        sa.select(Project)
        .where(Project.id.in_(project_ids))
        .options(selectinload(Project.countries))
        .order_by(Project.reference)
    )


def portfolio_rows(projects: list[Project], today: date) -> list[PortfolioRow]:
    """The portfolio's figures for a page of projects, in seven queries whatever their number."""
    ids = [p.id for p in projects]
    if not ids:
        return []
    next_due = _next_due_dates(ids, today)
    awaiting = dict(
        db.session.execute(
            sa.select(Submission.project_id, sa.func.count())
            .where(Submission.project_id.in_(ids), Submission.status == Status.submitted)
            .group_by(Submission.project_id)
        ).all()
    )
    latest = _latest_evaluations(ids)
    overdue = overdue_counts(ids, today)
    by_project = _indicators_with_progress(ids)
    return [
        PortfolioRow(
            project=p,
            next_due=next_due.get(p.id),
            overdue=overdue.get(p.id, 0),
            awaiting_review=awaiting.get(p.id, 0),
            latest_evaluation=latest.get(p.id),
            indicators=by_project.get(p.id, []),
        )
        for p in projects
    ]


def _next_due_dates(ids: list[int], today: date) -> dict[int, date]:
    """Each project's next due date from today on (none when no period is due any more)."""
    return dict(
        db.session.execute(
            sa.select(ReportingPeriod.project_id, sa.func.min(ReportingPeriod.due_date))
            .where(ReportingPeriod.project_id.in_(ids), ReportingPeriod.due_date >= today)
            .group_by(ReportingPeriod.project_id)
        ).all()
    )


def _latest_evaluations(ids: list[int]) -> dict[int, Evaluation]:
    """Each project's most recently opened evaluation, in one query."""
    ranked = (
        sa.select(
            Evaluation.id,
            sa.func.row_number()
            .over(
                partition_by=Evaluation.project_id,
                order_by=(Evaluation.opened_at.desc(), Evaluation.id.desc()),
            )
            .label("rank"),
        )
        .where(Evaluation.project_id.in_(ids))
        .subquery()
    )
    return {
        e.project_id: e
        for e in db.session.scalars(
            sa.select(Evaluation).join(ranked, ranked.c.id == Evaluation.id).where(ranked.c.rank == 1)
        )
    }


def _indicators_with_progress(ids: list[int]) -> dict[int, list[tuple[Indicator, figures.Progress]]]:
    """Each project's live indicators, in framework order, with their progress."""
    indicators = list(
        db.session.scalars(
            sa.select(Indicator)
            .join(Result, Result.id == Indicator.result_id)
            .where(Indicator.project_id.in_(ids), ~Indicator.is_archived, ~Result.is_archived)
            .order_by(Indicator.project_id, Result.position, Result.code, Indicator.position, Indicator.code)
        )
    )
    periods = list(db.session.scalars(sa.select(ReportingPeriod).where(ReportingPeriod.project_id.in_(ids))))
    found = latest_progress(ids, indicators, periods)
    by_project: dict[int, list[tuple[Indicator, figures.Progress]]] = defaultdict(list)
    for indicator in indicators:
        by_project[indicator.project_id].append((indicator, found[indicator.id]))
    return by_project
