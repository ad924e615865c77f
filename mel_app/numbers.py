"""Numbers as people type them in their language, and back.

The rules (docs/DESIGN.md, "Numbers as people type them"):

- the decimal mark is the user's language's: a point in English, a comma in French, Spanish and
  Portuguese;
- thousands may be grouped with a space (any kind: plain, no-break, narrow no-break, thin) in
  every language, with a comma in English and with a point in French, Spanish and Portuguese;
  groups after the first have exactly three digits;
- a string whose only mark is the decimal mark followed by exactly three digits, after one to
  three digits (`1,234` or `16,000` in French, `16.000` in English), reads as a number with
  decimals in this language and as thousands in the others: it is refused with both ways to type
  it, never guessed;
- anything else that is not a number written this way (`12,5` in English, `1,234.5` in French) is
  refused with an example written the user's way.

`format_number` writes a number so that `parse_number` in the same language reads it back as the
same number, and never as a string that would be refused as ambiguous.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from babel import Locale
from babel.numbers import format_decimal, get_decimal_symbol, get_group_symbol
from flask_babel import get_locale
from flask_babel import gettext as _

from mel_app.kit.errors import DomainError

SPACES = frozenset({" ", "\u00a0", "\u202f", "\u2009"})
MINUS_SIGNS = frozenset({"-", "\u2212"})
_DIGITS = re.compile(r"[0-9]+")
READING_PATTERN = "#,##0.####"  # grouped thousands, at most four decimals (the column's scale)
# The amount columns are NUMERIC(18, 4): fourteen digits before the decimal point, four after.
STORABLE_LIMIT = Decimal("1e14")
STORABLE_PLACES = Decimal("0.0001")
PLAIN_PATTERN = "0.####"  # no grouping: for files a spreadsheet reads back


_QUANTUM = Decimal("0.0001")  # READING_PATTERN's four decimals


@functools.cache
def _marks(tag: str) -> tuple[str, str]:
    """The group and decimal symbols of a language, looked up once."""
    loc = Locale.parse(tag)
    return get_group_symbol(loc), get_decimal_symbol(loc)


def reading(value: Decimal, locale: Locale | str | None = None) -> str:
    """`format_decimal(value, READING_PATTERN)`: the same text, without the work Babel repeats on
    every call (parsing the pattern, looking the symbols up). A project page shows a thousand
    numbers; this was half of its time. A test compares both on many numbers in every language."""
    group, decimal = _marks(str(_locale(locale)))
    rounded = abs(value).normalize().quantize(_QUANTUM)
    whole, _mark, fraction = f"{rounded:f}".partition(".")
    head, groups = whole, []
    while len(head) > 3:
        groups.append(head[-3:])
        head = head[:-3]
    text = group.join([head, *reversed(groups)])
    fraction = fraction.rstrip("0")
    if fraction:
        text += decimal + fraction
    return "-" + text if value.is_signed() else text


class NumberError(DomainError, ValueError):
    """The text is not a number written the user's way; the message says how to write it."""

    http_status = 422


@dataclass(frozen=True)
class Convention:
    """How numbers are written in one language."""

    decimal: str
    groups: frozenset[str]


def _locale(locale: Locale | str | None) -> Locale:
    if locale is None:
        locale = get_locale() or Locale.parse("en")
    return Locale.parse(locale) if isinstance(locale, str) else locale


def convention(locale: Locale | str | None = None) -> Convention:
    loc = _locale(locale)
    decimal = get_decimal_symbol(loc)
    group = get_group_symbol(loc)
    groups = {" "}  # a space never marks decimals, in any language
    groups.add(" " if group in SPACES else group)
    if decimal == ",":
        groups.add(".")  # 16.000 is sixteen thousand wherever the decimal mark is a comma
    return Convention(decimal=decimal, groups=frozenset(groups))


def _normalise(text: str) -> str:
    return "".join(" " if ch in SPACES else ch for ch in text.strip())


def _ambiguous(whole: str, fraction: str, conv: Convention) -> bool:
    """`1,234` (French) or `1.234` (English): decimals here, thousands in another language."""
    return (
        conv.decimal in ",."
        and len(fraction) == 3
        and 1 <= len(whole) <= 3
        and whole.isdigit()
        and not whole.startswith("0")
    )


def _examples(loc: Locale) -> dict[str, str]:
    return {
        "example": format_decimal(Decimal("12345.5"), READING_PATTERN, locale=loc),
        "small": format_decimal(Decimal("12.5"), READING_PATTERN, locale=loc),
    }


def _not_a_number(loc: Locale) -> NumberError:
    return NumberError(_("Enter a number, like %(example)s or %(small)s.", **_examples(loc)))


def parse_number(text: str, locale: Locale | str | None = None) -> Decimal | None:
    """The number `text` means in the user's language; None when empty. Raises NumberError."""
    loc = _locale(locale)
    conv = convention(loc)
    raw = _normalise(text)
    if raw == "":
        return None
    body, negative = raw, False
    if body[0] in MINUS_SIGNS or body[0] == "+":
        negative, body = body[0] in MINUS_SIGNS, body[1:]
    whole, mark, fraction = body.partition(conv.decimal)
    if mark and not _DIGITS.fullmatch(fraction):
        raise _not_a_number(loc)
    if whole == "" and mark:
        whole = "0"  # ",5" or ".5": a bare decimal part
    used = {ch for ch in whole if not ch.isdigit()}
    if not used:
        if not _DIGITS.fullmatch(whole):
            raise _not_a_number(loc)
        if mark and _ambiguous(whole, fraction, conv):
            raise _ambiguous_error(raw, whole, fraction, loc)
    else:
        if len(used) > 1 or not used <= conv.groups:
            raise _not_a_number(loc)
        parts = whole.split(used.pop())
        # 0,500 is not five hundred: a leading group never starts with a zero
        if not (1 <= len(parts[0]) <= 3 and all(len(p) == 3 for p in parts[1:])) or parts[0][:1] == "0":
            raise _not_a_number(loc)
        if not all(_DIGITS.fullmatch(p) for p in parts):
            raise _not_a_number(loc)
        whole = "".join(parts)
    try:
        number = Decimal(f"{'-' if negative else ''}{whole}.{fraction or '0'}")
    except InvalidOperation:  # pragma: no cover - the text is digits only by now
        raise _not_a_number(loc) from None
    return number


def unstorable(number: Decimal) -> str | None:
    """Why `number` does not fit an amount column (NUMERIC(18, 4)), or None when it fits.

    Asked of a number however it arrived: typed in a form, or sent as a decimal string to the API.
    """
    if abs(number) >= STORABLE_LIMIT:
        return str(_("This number is too large."))
    if number != number.quantize(STORABLE_PLACES):
        return str(_("Use at most four decimal places."))
    return None


def _ambiguous_error(raw: str, whole: str, fraction: str, loc: Locale) -> NumberError:
    thousands = Decimal(whole + fraction)
    decimals = Decimal(f"{whole}.{fraction}")
    return NumberError(
        _(
            "“%(typed)s” could mean %(thousands)s or %(decimals)s: type %(thousands)s or %(decimals)s, "
            "whichever you mean.",
            typed=raw,
            thousands=format_number(thousands, loc),
            decimals=format_number(decimals, loc),
        )
    )


def format_number(value: Any, locale: Locale | str | None = None, *, grouped: bool = True) -> str:
    """`value` written the user's way, such that `parse_number` reads back exactly this value."""
    if value is None:
        return ""
    loc = _locale(locale)
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    text = format_decimal(number, READING_PATTERN if grouped else PLAIN_PATTERN, locale=loc)
    conv = convention(loc)
    unsigned = text.lstrip("".join(MINUS_SIGNS) + "+")
    whole, mark, fraction = unsigned.partition(conv.decimal)
    if mark and _ambiguous(whole, fraction, conv):
        text += "0"  # 1.2340, not 1.234: the same number, and it cannot be read as thousands
    return text
