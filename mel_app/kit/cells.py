"""Spreadsheet cells that cannot run as formulas (CSV injection), for every CSV and XLSX writer."""

from __future__ import annotations

from typing import Any

# First characters that make a spreadsheet read a cell as a formula (or hide what follows).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: Any) -> Any:
    """A text cell with a leading quote when it would start a formula; other values unchanged.

    The quote stays visible in the cell, so the text still reads the same once the cell is edited.
    """
    if isinstance(value, str) and value[:1] in FORMULA_TRIGGERS:
        return "'" + value
    return value


def csv_unsafe(text: str) -> str:
    """The text a `csv_safe` cell stood for (reading back a file we wrote)."""
    if len(text) > 1 and text[0] == "'" and text[1] in FORMULA_TRIGGERS:
        return text[1:]
    return text


def decode_csv_text(data: bytes) -> str | None:
    """The text of a CSV file, or None when it is neither UTF-8 nor Windows-1252.

    Spreadsheet programs in French and Spanish often save CSV in Windows-1252; UTF-8 is tried
    first (with or without the byte-order mark Excel writes), since Windows-1252 reads almost any
    bytes."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return None
