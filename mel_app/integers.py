"""Whole numbers from addresses, query strings and forms, bounded before they reach the database.

Identifiers, versions, page numbers and counts are PostgreSQL `integer` columns (at most
2**31-1). A larger number typed into a URL or a form is none of ours, and left alone it would
fail in the database, not in validation: SQLite's driver raises OverflowError beyond 2**63-1 and
PostgreSQL answers "bigint out of range". Every such number is therefore read here, in one place:

- `<int:…>` in a route (`BoundedIntegerConverter`, installed as the app's `int` converter): a
  larger number matches no route, so the answer is the usual 404;
- a query parameter (`arg_int`): out of range or not a number reads as the parameter's default;
- a form field (`BoundedIntegerField`): out of range or not a number is the field's usual
  "Not a valid integer value." next to it, with the rest of the form kept;
- anything else a view or form turns into a number (`to_int`).
"""

from __future__ import annotations

import re
from typing import Any, TypeVar

from flask import request
from werkzeug.routing import IntegerConverter
from wtforms import IntegerField

MAX_INT = 2**31 - 1

# ASCII digits only, at most ten of them: `str.isdigit()` also takes "²" or "٣", which int()
# then refuses or reads as a digit nobody typed.
_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]{1,10}")

D = TypeVar("D", int, None)


def to_int(value: Any, default: D = None, *, minimum: int = 0, maximum: int = MAX_INT) -> int | D:
    """`value` (text or a number) as an int between `minimum` and `maximum`, else `default`."""
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        number = value
    else:
        text = value.strip() if isinstance(value, str) else ""
        if not _WHOLE_NUMBER.fullmatch(text):
            return default
        number = int(text)
    return number if minimum <= number <= maximum else default


def arg_int(name: str, default: D = None, *, minimum: int = 0, maximum: int = MAX_INT) -> int | D:
    """The query parameter `name` as a bounded int, or `default` when absent, junk or out of range."""
    return to_int(request.args.get(name), default, minimum=minimum, maximum=maximum)


class BoundedIntegerConverter(IntegerConverter):
    """The app's `<int:…>`: never matches a number beyond MAX_INT (nor a negative one)."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(map, *args, **kwargs)
        if self.max is None or self.max > MAX_INT:
            self.max = MAX_INT


class BoundedIntegerField(IntegerField):
    """An IntegerField that takes only whole numbers between `minimum` and `maximum`."""

    def __init__(self, *args: Any, minimum: int = 0, maximum: int = MAX_INT, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.minimum, self.maximum = minimum, maximum

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist:
            return
        number = to_int(valuelist[0], minimum=self.minimum, maximum=self.maximum)
        if number is None:
            self.data = None
            raise ValueError(self.gettext("Not a valid integer value."))
        self.data = number

    def _value(self) -> str:
        # The number itself once it is valid, so that a view may set it again (the stored version
        # after a conflict); what was typed only while it is not a number.
        return str(self.data) if self.data is not None else super()._value()
