"""SQL that spells values as the text formats write them, so CSV rows need no work in Python.

Each construct compiles to the database's own functions (PostgreSQL, SQLite) and gives the same text
as the Python spelling in `writers` (`decimal_text`, `iso_datetime`, true/false).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class decimal_text(FunctionElement):  # noqa: N801 - SQL function style
    """A NUMERIC as text without trailing zeros: 150.0000 → '150', 0.5000 → '0.5'."""

    type = sa.String()
    inherit_cache = True
    name = "decimal_text"


class iso_utc(FunctionElement):  # noqa: N801
    """A timestamp as ISO 8601 in UTC: '2026-01-20T09:30:00Z'."""

    type = sa.String()
    inherit_cache = True
    name = "iso_utc"


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
