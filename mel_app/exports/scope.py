"""What an export holds: the scope a reader chose, narrowed to what they may see, as SQL clauses.

Every table of an export filters its rows with these clauses, so the permission rules are applied in
the queries themselves (never by loading rows and dropping some):

- projects: those the reader may export (`permissions.exportable_project_ids`): specialists,
  evaluators and observers of a project, administrators (read-only) and the command line. A reporter
  exports nothing: their role is to report for their own organisation, and an export of a project
  would carry the other organisations' reports out of the app;
- reports (indicator values, narrative, design input): approved only, unless the reader asked for
  every status *and* may review the project (specialists, administrators); even then drafts and
  withdrawn reports never leave the app — only what was sent to the ILO (submitted, returned,
  approved);
- evaluations: scores of submitted scorecards only; observers read closed evaluations only; a
  scorer who has not submitted their own scorecard of an evaluation sees nothing of it (the
  blind-scoring rule of `permissions.can_view_scorecard_contents`);
  scorer names only for evaluators and specialists of the project.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa

from mel_app import permissions
from mel_app.exports.sql import decimal_text, excel_date, excel_datetime, excel_number, flag_text, iso_utc
from mel_app.kit.cells import FORMULA_TRIGGERS, csv_safe
from mel_app.models import (
    Evaluation,
    EvaluationStatus,
    Organisation,
    OrgGroup,
    Project,
    ProjectCountry,
    ReportingPeriod,
    Scorecard,
    ScorecardStatus,
    ScorerGroup,
    Status,
    Submission,
)

APPROVED_STATUSES = (Status.approved,)
# "Every status" means everything sent to the ILO; drafts and withdrawn reports stay private.
ALL_STATUSES = (Status.submitted, Status.returned, Status.approved)

# Constituencies a reader may filter on: organisation groups and scorer groups share most values.
CONSTITUENCIES = ("workers", "employers", "government", "ilo", "donor", "other", "independent")


# The formula guard of every CSV and XLSX writer (mel_app/kit/cells.py), under its older name.
neutralise = csv_safe


@dataclass(frozen=True)
class Scope:
    """The filter a reader chose. Empty tuples mean "no restriction" (within what they may see)."""

    project_ids: tuple[int, ...] = ()
    period_from: date | None = None
    period_to: date | None = None
    countries: tuple[str, ...] = ()
    constituencies: tuple[str, ...] = ()
    all_statuses: bool = False


@dataclass(frozen=True)
class Reader:
    """Who the export is for: a user, or the command line (the system actor, everything)."""

    user: Any
    name: str

    @classmethod
    def of(cls, user: Any) -> Reader:
        return cls(user=user, name=user.display_name)

    @classmethod
    def system(cls) -> Reader:
        return cls(user=permissions.SYSTEM_READER, name="system")


@dataclass(frozen=True)
class ExportContext:
    """The scope and the reader turned into SQL clauses, built once before anything is read.

    Built while the reader's account is loaded: afterwards it holds only values and SQL constructs,
    so a streamed response can run it after the request's transaction has been committed.
    `spreadsheet` neutralises formula triggers in text columns (CSV and XLSX); `text_cells` has the
    database spell numbers, timestamps and flags as the CSV files write them (the tables that are
    not shaped in Python then need no per-row work at all); `excel_cells` has it give numbers,
    dates and timestamps as the numbers an XLSX cell holds (floats and spreadsheet day numbers), so
    the rows of those tables go to the XLSX writer as they come.
    """

    scope: Scope
    reader_name: str
    exportable: sa.Select | tuple[int, ...]
    unapproved_ok: sa.Select | tuple[int, ...]
    names_ok: sa.Select | tuple[int, ...]
    open_evaluations_ok: sa.Select | tuple[int, ...]
    hidden_evaluations: sa.Select
    spreadsheet: bool = False
    text_cells: bool = False
    excel_cells: bool = False
    is_system: bool = False
    # The change stories the reader may read (`permissions.readable_story_filter`): members of a
    # project read all its stories, everyone else only those told with consent to share them.
    stories: Any = None

    @classmethod
    def build(
        cls,
        scope: Scope,
        reader: Reader,
        *,
        spreadsheet: bool = False,
        text_cells: bool = False,
        excel_cells: bool = False,
    ) -> ExportContext:
        user = reader.user
        if user is permissions.SYSTEM_READER or permissions.is_admin(user):
            projects = {
                "exportable": permissions.exportable_project_ids(user),
                "unapproved_ok": permissions.unapproved_export_project_ids(user),
                "names_ok": permissions.scorer_names_project_ids(user),
                "open_evaluations_ok": permissions.open_evaluation_project_ids(user),
            }
        else:
            # A member's few projects as literal ids: behind a subquery the planner cannot tell
            # they are few, and counts a million values before keeping a project's hundred.
            projects = permissions.member_export_project_ids(user)
        return cls(
            scope=scope,
            reader_name=reader.name,
            **projects,
            hidden_evaluations=permissions.hidden_evaluation_ids(user),
            spreadsheet=spreadsheet,
            text_cells=text_cells,
            excel_cells=excel_cells,
            is_system=user is permissions.SYSTEM_READER,
            stories=permissions.readable_story_filter(user),
        )

    def may_name_scorers(self, conn: Any) -> bool:
        """Whether the reader may see who scored in at least one project."""
        if isinstance(self.names_ok, tuple):
            return bool(self.names_ok)
        return bool(conn.scalar(sa.select(sa.exists(self.names_ok))))

    # --- text ---------------------------------------------------------------------------------

    def text(self, column: Any) -> Any:
        """A free-text column, made inert for spreadsheets in SQL (at the database's speed)."""
        if not self.spreadsheet:
            return column
        return sa.case(
            (sa.func.substr(column, 1, 1).in_(FORMULA_TRIGGERS), sa.literal("'") + column),
            else_=column,
        )

    # --- other cells: typed, spelled as text for CSV (`text_cells`) or as XLSX numbers -------------

    def number(self, column: Any) -> Any:
        if self.excel_cells:
            return excel_number(column)
        return decimal_text(column) if self.text_cells else column

    def day(self, column: Any) -> Any:
        """A date: as the driver gives it (CSV writes it as ISO 8601), or a spreadsheet day number."""
        return excel_date(column) if self.excel_cells else column

    def when(self, column: Any) -> Any:
        if self.text_cells:
            return iso_utc(column)
        if self.excel_cells:
            return excel_datetime(column)
        # As the driver gives it (UTC: the export's connection is set to UTC), without the per-row
        # work of the models' timezone type. SQLite gives it naive, in UTC.
        return sa.type_coerce(column, sa.DateTime(timezone=True))

    def flag(self, column: Any) -> Any:
        return flag_text(column) if self.text_cells else column

    def py_text(self, value: str | None) -> str | None:
        """The same for text assembled in Python."""
        if value is None or not self.spreadsheet:
            return value
        return csv_safe(value)

    # --- clauses ------------------------------------------------------------------------------

    def projects(self, project_id: Any) -> sa.ColumnElement[bool]:
        """Projects in scope that the reader may export."""
        scope = self.scope
        clauses = [project_id.in_(self.exportable)]
        if scope.project_ids:
            clauses.append(project_id.in_(scope.project_ids))
        if scope.countries:
            clauses.append(
                project_id.in_(
                    sa.select(ProjectCountry.project_id).where(ProjectCountry.country.in_(scope.countries))
                )
            )
        return sa.and_(*clauses)

    def readable_stories(self, story: Any) -> sa.ColumnElement[bool]:
        """Change stories in scope that the reader may read (consented ones only, by default)."""
        readable = self.stories if self.stories is not None else story.share_consent.is_(True)
        clauses = [self.projects(story.project_id), readable]
        if self.scope.constituencies:
            groups = [g for g in self.scope.constituencies if g in OrgGroup.__members__]
            clauses.append(
                story.organisation_id.in_(sa.select(Organisation.id).where(Organisation.group.in_(groups)))
                if groups
                else sa.false()
            )
        return sa.and_(*clauses)

    def statuses(self) -> tuple[Status, ...]:
        return ALL_STATUSES if self.scope.all_statuses else APPROVED_STATUSES

    def submissions(self, sub: Any = Submission, org: Any = Organisation) -> sa.ColumnElement[bool]:
        """Reports in scope: projects, status (per project: who may read unapproved reports),
        organisations' countries and constituencies."""
        scope = self.scope
        if scope.all_statuses:
            status = sa.or_(
                sub.status == Status.approved,
                sa.and_(
                    sub.status.in_((Status.submitted, Status.returned)),
                    sub.project_id.in_(self.unapproved_ok),
                ),
            )
        else:
            status = sub.status == Status.approved
        clauses = [self.projects(sub.project_id), status]
        if scope.countries:
            clauses.append(org.country.in_(scope.countries))
        if scope.constituencies:
            groups = [g for g in scope.constituencies if g in OrgGroup.__members__]
            clauses.append(org.group.in_(groups) if groups else sa.false())
        return sa.and_(*clauses)

    def periods(self, period: Any = ReportingPeriod) -> sa.ColumnElement[bool]:
        """Reporting periods that overlap the chosen range."""
        clauses = []
        if self.scope.period_from:
            clauses.append(period.end_date >= self.scope.period_from)
        if self.scope.period_to:
            clauses.append(period.start_date <= self.scope.period_to)
        return sa.and_(sa.true(), *clauses)

    def evaluations(self, evaluation: Any = Evaluation) -> sa.ColumnElement[bool]:
        """Evaluations the reader may read the results of."""
        return sa.and_(
            self.projects(evaluation.project_id),
            sa.or_(
                evaluation.status == EvaluationStatus.closed,
                evaluation.project_id.in_(self.open_evaluations_ok),
            ),
            evaluation.id.not_in(self.hidden_evaluations),
        )

    def scorecards(self, card: Any = Scorecard) -> sa.ColumnElement[bool]:
        """Submitted scorecards of the chosen constituencies."""
        clauses = [card.status == ScorecardStatus.submitted]
        if self.scope.constituencies:
            groups = [g for g in self.scope.constituencies if g in ScorerGroup.__members__]
            clauses.append(card.group.in_(groups) if groups else sa.false())
        return sa.and_(*clauses)

    def scorer_name(self, name: Any, project_id: Any) -> Any:
        """The scorer's name where the reader may see it (evaluators, specialists), else empty."""
        return sa.case((project_id.in_(self.names_ok), self.text(name)), else_=sa.null())

    # --- description --------------------------------------------------------------------------

    def describe(self, connection: Any) -> dict[str, Any]:
        """The scope in words and values, for the audit trail and the About part of an export."""
        scope = self.scope
        if scope.project_ids:
            projects = list(
                connection.scalars(
                    sa.select(Project.reference)
                    .where(Project.id.in_(scope.project_ids))
                    .order_by(Project.reference)
                )
            )
        else:
            projects = ["*"]
        return {
            "projects": projects,
            "period_from": scope.period_from.isoformat() if scope.period_from else None,
            "period_to": scope.period_to.isoformat() if scope.period_to else None,
            "countries": list(scope.countries),
            "constituencies": list(scope.constituencies),
            "statuses": [s.value for s in self.statuses()],
        }
