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
