"""Declarative base, naming convention, shared column types and the domain's enumerations."""

from __future__ import annotations

import enum
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy import MetaData
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, registry
from sqlalchemy.types import TypeDecorator

# Stable constraint names, so Alembic can alter them on SQLite (batch mode) and PostgreSQL alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every database.

    SQLite has no time zones: values are stored naive in UTC and given their tzinfo back on load,
    so code never compares aware with naive datetimes.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware UTC datetimes")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime()},
    )

    # Models that set this to True get every change captured in the audit trail.
    __audited__ = False
    # Columns never copied into audit before/after values (secrets, large binaries).
    __audit_exclude__: frozenset[str] = frozenset()
    # Attribute path to the project an audited row belongs to (for the project's history).
    __audit_project__: str | None = "project_id"


def str_enum(enum_cls: type[enum.Enum], length: int = 20) -> sa.Enum:
    """A portable enum column: stored as its value in a VARCHAR with a CHECK constraint."""
    return sa.Enum(
        enum_cls,
        native_enum=False,
        length=length,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
        create_constraint=True,
        name=f"{enum_cls.__name__.lower()}",
    )


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Versioned:
    """The optimistic lock of a row people edit in forms (mel_app/locking.py): an edit counter.

    Every edit form carries the number it was loaded with; `locking.claim` moves it on with one
    conditional UPDATE, so of two people saving the same version exactly one succeeds.
    """

    version: Mapped[int] = mapped_column(default=1, server_default=sa.text("1"))

    # Columns whose change is bookkeeping, not an edit: they leave the version where it is.
    __version_ignores__: frozenset[str] = frozenset({"created_at", "updated_at"})


# The domain's enumerations. A member's value, the one stored, is its name: StrEnum gives each
# member listed by name the name in lower case, and these names are all lower case already.

# The constituency of an organisation: every consolidated figure can be broken down by it.
OrgGroup = enum.StrEnum("OrgGroup", ["workers", "employers", "government", "ilo", "donor", "other"])

Role = enum.StrEnum("Role", ["specialist", "reporter", "evaluator", "observer"])


class FundingModality(enum.StrEnum):
    XBDC = "XBDC"
    RBSA = "RBSA"
    RBTC = "RBTC"


Phase = enum.StrEnum("Phase", ["design", "implementation", "closed"])

ResultType = enum.StrEnum("ResultType", ["impact", "outcome", "output"])

# The ILO's own ways of reading its portfolio, tagged on projects and results: Decent Work Country
# Programme outcomes (e.g. KEN 101), Programme and Budget outcomes (1-8) and SDG targets (e.g. 8.8).
TagScheme = enum.StrEnum("TagScheme", ["dwcp", "pb", "sdg"])

Measure = enum.StrEnum("Measure", ["number", "percentage", "yes_no", "qualitative"])

# How an indicator's figure for a period is consolidated from the organisations' approved
# reports. The rules themselves are in `mel_app.figures`.
Aggregation = enum.StrEnum("Aggregation", ["sum", "mean", "responsible", "all_yes", "any_yes", "listed"])


# What each measure allows, the first being its default: counts of people or things are added up
# across organisations (each counts its own members), percentages are averaged, a yes/no fact is
# reached only when every reporting organisation confirms it, qualitative answers are listed.
AGGREGATIONS: dict[Measure, tuple[Aggregation, ...]] = {
    Measure.number: (Aggregation.sum, Aggregation.mean, Aggregation.responsible),
    Measure.percentage: (Aggregation.mean, Aggregation.responsible),
    Measure.yes_no: (Aggregation.all_yes, Aggregation.any_yes, Aggregation.responsible),
    Measure.qualitative: (Aggregation.listed,),
}
DEFAULT_AGGREGATION = {measure: methods[0] for measure, methods in AGGREGATIONS.items()}


SubmissionKind = enum.StrEnum("SubmissionKind", ["design_input", "progress_report"])

Status = enum.StrEnum("Status", ["draft", "submitted", "returned", "approved", "withdrawn"])

DesignItemKind = enum.StrEnum(
    "DesignItemKind", ["need", "proposed_outcome", "proposed_indicator", "risk", "comment"]
)

Disposition = enum.StrEnum("Disposition", ["incorporated", "partly", "not_incorporated"])

Visibility = enum.StrEnum("Visibility", ["shared", "internal"])

EvaluationKind = enum.StrEnum("EvaluationKind", ["mid_term", "final", "internal_review", "self_assessment"])

EvaluationStatus = enum.StrEnum("EvaluationStatus", ["open", "closed"])

ScorecardStatus = enum.StrEnum("ScorecardStatus", ["draft", "submitted"])

ResponseKind = enum.StrEnum("ResponseKind", ["accepted", "partially_accepted", "rejected"])

ActionStatus = enum.StrEnum("ActionStatus", ["not_started", "in_progress", "completed", "cancelled"])

# Whose view a scorecard gives: the constituencies, ILO staff, or an independent evaluator.
ScorerGroup = enum.StrEnum("ScorerGroup", ["workers", "employers", "government", "ilo", "independent"])
