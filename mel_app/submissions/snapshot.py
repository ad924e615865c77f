"""The immutable content of a submission at the moment it is submitted (SubmissionVersion.content)."""

from __future__ import annotations

from typing import Any

from mel_app.audit.chain import to_json_value
from mel_app.models import Submission


def build_snapshot(sub: Submission) -> dict[str, Any]:
    """Everything a reviewer compares between versions, keyed by stable identifiers."""
    return {
        "narrative": {k: v for k, v in sorted((sub.narrative or {}).items())},
        "values": {
            str(v.indicator_id): {
                "indicator": v.indicator.code if v.indicator else None,
                "title": v.indicator.title if v.indicator else None,
                "measure": v.indicator.measure.value if v.indicator else None,
                "value": to_json_value(v.value),
                "women": to_json_value(v.women),
                "men": to_json_value(v.men),
                "text_value": v.text_value,
                "not_reported": v.not_reported,
                "comment": v.comment,
            }
            for v in sorted(sub.values, key=lambda v: v.indicator_id)
        },
        "design_items": [
            {
                "id": item.id,
                "kind": item.kind.value,
                "text": item.text,
                "result_id": item.result_id,
                "indicator_id": item.indicator_id,
                "link": _link_code(item),
            }
            for item in sub.design_items
        ],
        "attachments": [
            {"id": a.id, "filename": a.filename, "sha256": a.sha256, "size": a.size}
            for a in sub.attachments
            if not a.is_deleted
        ],
    }


def _link_code(item) -> str | None:
    """The code of the framework element an item points at (kept, in case the element changes)."""
    if item.indicator is not None:
        return item.indicator.code
    if item.result is not None:
        return item.result.code
    return None
