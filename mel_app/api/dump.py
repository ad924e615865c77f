"""Building what a schema dumps from the rows the services return."""

from __future__ import annotations

from typing import Any


def attributes(obj: Any, *names: str) -> dict[str, Any]:
    """The named attributes of `obj` under their own names: the parts a schema serves as they are."""
    return {name: getattr(obj, name) for name in names}
