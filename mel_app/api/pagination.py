"""Cursor pagination: keyset over (sort key, id), with an opaque cursor.

A page is the rows after the cursor's (key, id) in that order, so rows added meanwhile never
shift a later page (no repeats, no gaps among the rows that were there). The cursor is
URL-safe base64 of a JSON pair; it is opaque to clients, and one that does not decode is a 400.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import abort


def encode(key: Any, row_id: int) -> str:
    if isinstance(key, datetime):
        key = {"t": key.isoformat()}
    raw = json.dumps([key, row_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str) -> tuple[Any, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key, row_id = json.loads(raw)
        if isinstance(key, dict):
            key = datetime.fromisoformat(key["t"])
        if not isinstance(row_id, int) or isinstance(row_id, bool) or not isinstance(key, str | datetime):
            raise ValueError
    except (ValueError, TypeError, KeyError, binascii.Error, UnicodeDecodeError):
        abort(400, description="The cursor is not one this API gave.")
    return key, row_id


def page(
    session, query: sa.Select, *, key_column, id_column, key_of, limit: int, cursor: str | None
) -> tuple[list[Any], str | None]:
    """One page of `query` ordered by (key_column, id_column) and the cursor of the next one."""
    if cursor:
        key, row_id = decode(cursor)
        query = query.where(sa.or_(key_column > key, sa.and_(key_column == key, id_column > row_id)))
    rows = list(session.scalars(query.order_by(key_column, id_column).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode(key_of(rows[-1]), rows[-1].id) if more and rows else None
    return rows, next_cursor
