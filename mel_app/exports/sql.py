"""SQL that spells values as the text formats write them, so CSV rows need no work in Python.

Each construct compiles to the database's own functions (PostgreSQL, SQLite) and gives the same text
as the Python spelling in `writers` (`decimal_text`, `iso_datetime`, true/false).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class _Function(FunctionElement[Any]):
    """A function of one argument that each database spells its own way (the `@compiles` below).

    A subclass names its `result` type; it is named after the class. SQLAlchemy caches a construct's
    SQL only when the class itself (not a base) says `inherit_cache`, so each subclass gets it here.
    """

    def __init_subclass__(cls, *, result: sa.types.TypeEngine[Any], **kw: Any) -> None:
        super().__init_subclass__(**kw)
        cls.type = result
        cls.inherit_cache = True
        cls.name = cls.__name__


class decimal_text(_Function, result=sa.String()):  # noqa: N801 - SQL function style
    """A NUMERIC as text without trailing zeros: 150.0000 → '150', 0.5000 → '0.5'."""


class iso_utc(_Function, result=sa.String()):  # noqa: N801
    """A timestamp as ISO 8601 in UTC: '2026-01-20T09:30:00Z'."""


def _argument(element: FunctionElement, compiler: Any, **kw: Any) -> str:
    (argument,) = element.clauses.clauses
    return compiler.process(argument, **kw)


@compiles(decimal_text)
def _decimal_text_default(element, compiler, **kw):
    return f"CAST(trim_scale({_argument(element, compiler, **kw)}) AS TEXT)"


@compiles(decimal_text, "sqlite")
def _decimal_text_sqlite(element, compiler, **kw):
    value = _argument(element, compiler, **kw)
    return f"CASE WHEN {value} IS NULL THEN NULL ELSE rtrim(rtrim(printf('%.4f', {value}), '0'), '.') END"


@compiles(iso_utc)
def _iso_utc_default(element, compiler, **kw):
    value = _argument(element, compiler, **kw)
    return f"to_char({value} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"


@compiles(iso_utc, "sqlite")
def _iso_utc_sqlite(element, compiler, **kw):
    # SQLite keeps timestamps as naive UTC text.
    return f"strftime('%Y-%m-%dT%H:%M:%SZ', {_argument(element, compiler, **kw)})"


def flag_text(column: Any) -> Any:
    """A boolean as 'true' or 'false' (NULL stays NULL)."""
    return sa.case((column.is_(True), "true"), (column.is_(False), "false"), else_=sa.null())


# --- spreadsheet serial numbers (XLSX) -------------------------------------------------------------
#
# A spreadsheet stores a date as the number of days since 1899-12-30 (1900-01-01 is day 1; day 60 is
# the 29 February 1900 that never was, so days before 1 March 1900 count one less), and a time of
# day as the fraction of the day. Spelled by the database, a date or timestamp arrives as the number
# the cell holds, as XlsxWriter would have computed it from a Python date.


class excel_date(_Function, result=sa.Integer()):  # noqa: N801
    """A DATE as a spreadsheet's day number: 2026-01-20 → 46042."""


class excel_datetime(_Function, result=sa.Float()):  # noqa: N801
    """A UTC timestamp as a spreadsheet's day number and fraction: 2026-01-20 12:00 UTC → 46042.5."""


def _before_march_1900(days: str) -> str:
    return f"CASE WHEN {days} < 61 THEN {days} - 1 ELSE {days} END"


@compiles(excel_date)
def _excel_date_default(element, compiler, **kw):
    return _before_march_1900(f"({_argument(element, compiler, **kw)} - DATE '1899-12-30')")


@compiles(excel_date, "sqlite")
def _excel_date_sqlite(element, compiler, **kw):
    days = f"CAST(julianday({_argument(element, compiler, **kw)}) - 2415018.5 AS INTEGER)"
    return _before_march_1900(days)


@compiles(excel_datetime)
def _excel_datetime_default(element, compiler, **kw):
    utc = f"({_argument(element, compiler, **kw)} AT TIME ZONE 'UTC')"
    days = f"(CAST({utc} AS DATE) - DATE '1899-12-30')"
    seconds = f"CAST(EXTRACT(EPOCH FROM CAST({utc} AS TIME)) AS DOUBLE PRECISION)"
    return _before_march_1900(f"({days} + {seconds} / 86400.0)")


@compiles(excel_datetime, "sqlite")
def _excel_datetime_sqlite(element, compiler, **kw):
    # SQLite keeps timestamps as naive UTC text; julianday() counts in milliseconds.
    return _before_march_1900(f"(julianday({_argument(element, compiler, **kw)}) - 2415018.5)")


def excel_number(column: Any) -> Any:
    """A NUMERIC as a float, the number a spreadsheet cell holds."""
    return sa.cast(column, sa.Float())
