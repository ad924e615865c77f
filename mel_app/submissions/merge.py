"""Saving on an outdated version (another tab or person saved in between) without losing anyone's words.

Every edit form carries `base`: a digest of each field as it was shown. When a save loses the
race, each field is merged three ways: changed only by the user, theirs is taken; changed only
by the other save, the other save's is kept; changed by both, the saved version stays in the
form unless the user chooses theirs ("choose:<key>" = "mine", with their text in "mine:<key>").
The merged form then carries the new version and the saved version's digests as its base, so
the next save stores exactly what the form shows.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from wtforms import (
    BooleanField,
    Field,
    FieldList,
    FileField,
    FormField,
    HiddenField,
    SelectField,
    SubmitField,
)

from mel_app.submissions.forms import NumberField, VersionField

# Fields that are no one's words: the token, the lock, the buttons, files and what is removed.
_SKIPPED = (SubmitField, FileField, VersionField)
_MAX_BASE = 200_000  # characters of a posted base read at most


@dataclass
class Clash:
    """A field both saves changed: the saved text (kept unless the user chooses theirs) and theirs."""

    key: str
    field_id: str
    label: str
    theirs: str
    mine: str
    mine_raw: str


def _leaves(form) -> list[tuple[str, Field]]:
    """(key, field) of every field holding the user's words, keyed so both forms match.

    Design input items are keyed by the item's id (positions move when items are added), new
    items by their position among the new ones.
    """
    out: list[tuple[str, Field]] = []
    for name, field in form._fields.items():
        if name in ("csrf_token", "base") or name.startswith("remove_") or isinstance(field, _SKIPPED):
            continue
        if isinstance(field, FormField):
            out.extend((f.name, f) for f in field.form if not isinstance(f, _SKIPPED))
        elif isinstance(field, FieldList):
            new = 0
            for entry in field.entries:
                sub = entry.form
                item_id = (sub.id.data or "").strip() if "id" in sub._fields else ""
                if item_id:
                    prefix = f"item:{item_id}"
                else:
                    prefix, new = f"new:{new}", new + 1
                for f in sub:
                    if isinstance(f, (HiddenField, *_SKIPPED)):
                        continue
                    out.append((f"{prefix}:{f.short_name}", f))
        else:
            out.append((name, field))
    return out


def norm(field: Field) -> str:
    """The field's value as compared: numbers by value, text without surrounding space."""
    if isinstance(field, BooleanField):
        return "1" if field.data else ""
    if isinstance(field, NumberField):
        return "" if field.data is None else format(Decimal(field.data).normalize(), "f")
    return str(field.data if field.data is not None else "").replace("\r\n", "\n").strip()


def shown(field: Field) -> str:
    """The value as the user reads it: a box ticked or not, a choice by its label."""
    if isinstance(field, BooleanField):
        return _("yes") if field.data else _("no")
    if isinstance(field, SelectField):
        chosen = [str(label) for _value, label, selected, *_rest in field.iter_choices() if selected]
        return chosen[0] if chosen else str(field.data or "")
    return norm(field)


def raw(field: Field) -> str | None:
    """The value to put back in the form (None: an unticked box)."""
    if isinstance(field, BooleanField):
        return "y" if field.data else None
    if isinstance(field, NumberField):
        return field._value()
    return "" if field.data is None else str(field.data)


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:16]


def base_of(form) -> str:
    """The `base` to give a form showing the saved content."""
    return json.dumps({key: digest(norm(f)) for key, f in _leaves(form)}, separators=(",", ":"))


def posted_base(form) -> dict[str, str]:
    text = (form.base.data or "")[:_MAX_BASE] if "base" in form._fields else ""
    try:
        data = json.loads(text) if text else {}
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def changed_fields(form) -> bool:
    """Whether the user changed any of their words since the form was shown (no base: assume so)."""
    base = posted_base(form)
    if not base:
        return True
    return any(base.get(key) != digest(norm(f)) for key, f in _leaves(form))


def apply_choices(form, posted) -> None:
    """Where the user chose their own version of a field in conflict, put it in the form.

    Only if the field is still as shown (the saved version): a field they edited themselves
    afterwards keeps what they typed.
    """
    base = posted_base(form)
    for key, field in _leaves(form):
        if posted.get(f"choose:{key}") != "mine" or f"mine:{key}" not in posted:
            continue
        if base.get(key) != digest(norm(field)):
            continue
        mine = posted.get(f"mine:{key}")
        field.raw_data = [mine]
        field.process_errors = []
        try:
            field.process_formdata([mine])
        except ValueError as exc:
            field.process_errors.append(str(exc))


def merge(saved_form, mine_form, label_of) -> tuple[list[tuple[str, str]], list[Clash]]:
    """Form data (name, value) of the merged form, built on `saved_form`, and the clashes.

    `saved_form` shows the saved content (unbound), `mine_form` is what the user posted.
    """
    base = posted_base(mine_form)
    mine = dict(_leaves(mine_form))
    data: list[tuple[str, str]] = []
    clashes: list[Clash] = []
    for key, theirs_field in _leaves(saved_form):
        value = raw(theirs_field)
        mine_field = mine.pop(key, None)
        if mine_field is not None:
            t, m = norm(theirs_field), norm(mine_field)
            if t != m:
                if base.get(key) == digest(m):
                    pass  # only the other save changed it: theirs stays
                elif base.get(key) == digest(t):
                    value = raw(mine_field)  # only the user changed it
                else:
                    mine_raw = raw(mine_field) or ""
                    label = label_of(key, theirs_field)
                    clashes.append(
                        Clash(key, theirs_field.id, label, shown(theirs_field), shown(mine_field), mine_raw)
                    )
        if value is not None:
            data.append((theirs_field.name, value))
    data.extend(_item_ids(saved_form))
    # Design input: items the other save removed that the user changed come back as new items.
    extra = [
        (key, f)
        for key, f in mine.items()
        if key.endswith(":text") and norm(f) and base.get(key) != digest(norm(f))
    ]
    if extra:
        _add_new_items(data, mine, extra)
    return data, clashes


def _item_ids(form) -> list[tuple[str, str]]:
    """The hidden ids of the design input items (the merged form must keep them)."""
    out = []
    for field in form._fields.values():
        if isinstance(field, FieldList):
            for entry in field.entries:
                if "id" in entry.form._fields and entry.form.id.data:
                    out.append((entry.form.id.name, str(entry.form.id.data)))
    return out


def _add_new_items(data, mine, extra) -> None:
    """The user's texts go after the saved items, each with its kind and link."""
    taken = {name.split("-")[1] for name, _v in data if name.startswith("items-")}
    position = len(taken)
    for key, text_field in extra:
        prefix = key.rsplit(":", 1)[0]
        for attr in ("kind", "link"):
            f = mine.get(f"{prefix}:{attr}")
            if f is not None and f.data:
                data.append((f"items-{position}-{attr}", str(f.data)))
        data.append((f"items-{position}-text", str(text_field.data)))
        position += 1


def as_formdata(pairs: list[tuple[str, Any]]):
    from werkzeug.datastructures import MultiDict

    return MultiDict(pairs)
