"""What changed between two submitted versions, field by field, with text differences marked.

Works on the JSON snapshots of `snapshot.build_snapshot`, so any two versions can be compared
long after the live rows have changed. The word-level diff is computed here (difflib) and
rendered by the templates as <del>/<ins>, escaped like any other text.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext as _

from mel_app.integers import to_int
from mel_app.models import NARRATIVE_SECTIONS, Measure
from mel_app.submissions import labels

_TOKEN = re.compile(r"\s+|\w+|[^\w\s]", re.UNICODE)


@dataclass
class Segment:
    op: str  # "equal", "insert" or "delete"
    text: str


@dataclass
class Change:
    label: str
    old: str | None
    new: str | None
    segments: list[Segment] | None = None  # set for running text

    @property
    def is_text(self) -> bool:
        return self.segments is not None


@dataclass
class Group:
    heading: str
    changes: list[Change] = field(default_factory=list)


def text_diff(old: str, new: str) -> list[Segment]:
    """Word-level differences: runs of equal, deleted and inserted text."""
    a, b = _TOKEN.findall(old or ""), _TOKEN.findall(new or "")
    segments: list[Segment] = []

    def add(op: str, tokens: list[str]) -> None:
        text = "".join(tokens)
        if not text:
            return
        if segments and segments[-1].op == op:
            segments[-1].text += text
        else:
            segments.append(Segment(op, text))

    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            add("equal", a[i1:i2])
        else:
            add("delete", a[i1:i2])
            add("insert", b[j1:j2])
    return segments


def format_value(value: Any, measure: str | None) -> str:
    """A stored indicator value as a reader expects it: 12, 45 %, yes / no."""
    if value is None or value == "":
        return ""
    if measure == Measure.yes_no.value:
        try:
            return _("yes") if Decimal(str(value)) == 1 else _("no")
        except InvalidOperation:
            return str(value)
    text = str(value)
    try:
        number = Decimal(text).normalize()
        text = format(number, "f")
    except InvalidOperation:
        pass
    return f"{text} %" if measure == Measure.percentage.value else text


def _natural(code: str) -> tuple[tuple[int, Any], ...]:
    """1.a before 1.1.a before 1.2.a before 1.10.a: numbers compared as numbers."""
    parts = re.findall(r"[0-9]+|[^0-9.]+", code)
    return tuple((1, part) if (number := to_int(part)) is None else (0, number) for part in parts)


def indicator_order(indicators: Iterable[Any]) -> dict[str, int]:
    """Snapshot keys (indicator ids) ranked as the report form lists the indicators."""
    return {str(indicator.id): rank for rank, indicator in enumerate(indicators)}


def ordered_values(values: Mapping[str, Any], order: Mapping[str, int]) -> list[str]:
    """The keys of a snapshot's values in the form's order; indicators no longer in the framework
    come after, by code."""
    return sorted(
        values,
        key=lambda k: (order.get(k, len(order)), _natural((values.get(k) or {}).get("indicator") or ""), k),
    )


def narrative_keys(narrative: Mapping[str, Any]) -> list[str]:
    """The sections of a narrative in the form's order (snapshots keep them sorted by name)."""
    return [k for k in NARRATIVE_SECTIONS if k in narrative] + sorted(
        set(narrative) - set(NARRATIVE_SECTIONS)
    )


def _narrative(old: dict, new: dict) -> Group:
    group = Group(_("Narrative"))
    sections = list(NARRATIVE_SECTIONS) + sorted((set(old) | set(new)) - set(NARRATIVE_SECTIONS))
    for key in sections:
        before, after = old.get(key) or "", new.get(key) or ""
        if before != after:
            label = str(labels.SECTIONS.get(key, key))
            group.changes.append(Change(label, before, after, text_diff(before, after)))
    return group


def _values(old: dict, new: dict, order: Mapping[str, int]) -> Group:
    group = Group(_("Indicators"))
    ids = ordered_values({**old, **new}, order)
    for key in ids:
        before, after = old.get(key) or {}, new.get(key) or {}
        code = after.get("indicator") or before.get("indicator") or key
        measure = after.get("measure") or before.get("measure")
        for name in ("value", "women", "men", "text_value", "not_reported", "comment"):
            a, b = before.get(name), after.get(name)
            if (a or None) == (b or None):
                continue
            label = f"{code} — {labels.VALUE_FIELDS[name]}"
            if name in ("text_value", "comment"):
                group.changes.append(Change(label, a or "", b or "", text_diff(a or "", b or "")))
            elif name == "not_reported":
                group.changes.append(Change(label, _("yes") if a else _("no"), _("yes") if b else _("no")))
            else:
                measure_for = None if name in ("women", "men") else measure
                group.changes.append(
                    Change(label, format_value(a, measure_for), format_value(b, measure_for))
                )
    return group


def _by_id(rows: list) -> dict[Any, Any]:
    return {row["id"]: row for row in rows}


def _items(old: list, new: list) -> Group:
    group = Group(_("Design input items"))
    before, after = _by_id(old), _by_id(new)
    for item in new:
        previous = before.get(item["id"])
        kind = str(labels.DESIGN_ITEM_KIND.get(item["kind"], item["kind"]))
        if previous is None:
            group.changes.append(
                Change(_("New item (%(kind)s)", kind=kind), "", item["text"], text_diff("", item["text"]))
            )
            continue
        if previous["text"] != item["text"]:
            group.changes.append(
                Change(
                    _("Item (%(kind)s)", kind=kind),
                    previous["text"],
                    item["text"],
                    text_diff(previous["text"], item["text"]),
                )
            )
        if previous["kind"] != item["kind"]:
            old_kind = str(labels.DESIGN_ITEM_KIND.get(previous["kind"], previous["kind"]))
            group.changes.append(Change(_("Kind of item"), old_kind, kind))
        if (previous.get("result_id"), previous.get("indicator_id")) != (
            item.get("result_id"),
            item.get("indicator_id"),
        ):
            group.changes.append(
                Change(_("Relates to (framework)"), previous.get("link") or "", item.get("link") or "")
            )
    for item in old:
        if item["id"] not in after:
            kind = str(labels.DESIGN_ITEM_KIND.get(item["kind"], item["kind"]))
            group.changes.append(
                Change(_("Removed item (%(kind)s)", kind=kind), item["text"], "", text_diff(item["text"], ""))
            )
    return group


def _attachments(old: list, new: list) -> Group:
    group = Group(_("Evidence files"))
    before, after = _by_id(old), _by_id(new)
    for a in new:
        if a["id"] not in before:
            group.changes.append(Change(_("File added"), "", a["filename"]))
    for a in old:
        if a["id"] not in after:
            group.changes.append(Change(_("File removed"), a["filename"], ""))
    return group


def compare(
    old: dict[str, Any] | None, new: dict[str, Any], order: Mapping[str, int] | None = None
) -> list[Group]:
    """The groups of changes from `old` to `new` (a snapshot each); empty groups are left out.
    `order` ranks the indicators as the form does (`indicator_order`)."""
    old = old or {}
    groups = [
        _narrative(old.get("narrative") or {}, new.get("narrative") or {}),
        _values(old.get("values") or {}, new.get("values") or {}, order or {}),
        _items(old.get("design_items") or [], new.get("design_items") or []),
        _attachments(old.get("attachments") or [], new.get("attachments") or []),
    ]
    return [g for g in groups if g.changes]
