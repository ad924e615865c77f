"""What the draft-writing endpoints (mel_app/api/drafts.py) take and return.

A change to a draft is a partial one (PATCH): what it leaves out stays as it is. Decimals are
sent as the API serves them, as strings ("1200.5"). The length limits are the pages' own
(mel_app/submissions/services.py); what a value must be for its indicator is checked by the
service, after these schemas have read the request.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from flask_smorest.fields import Upload
from marshmallow import Schema, ValidationError, fields, validate

from mel_app.api.schemas import AttachmentMeta, Problem, SubmissionDetail
from mel_app.models import DesignItemKind
from mel_app.numbers import unstorable
from mel_app.submissions.services import NARRATIVE_MAX, TEXT_MAX

# Plain digits with a point: what the API serves, never a number written in a language's way.
_DECIMAL = r"-?[0-9]{1,30}(?:\.[0-9]{1,30})?"
_ID = validate.Range(min=1, max=2**31 - 1)
# More rows than any framework or design input has: a bound on the work one request asks for.
MAX_ROWS = 500


class DecimalString(fields.Field):
    """A decimal number as a string ("1200.5", "-3", "0.25"), or null; within what the amount
    columns keep (fourteen digits before the point, four after)."""

    def __init__(self, **kwargs: Any) -> None:
        metadata = {
            "type": "string",
            "pattern": f"^{_DECIMAL}$",
            "description": 'A decimal as a string, like "1200.5"; null to clear it.',
        }
        super().__init__(allow_none=True, metadata=metadata, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Decimal:
        if not isinstance(value, str) or not re.fullmatch(_DECIMAL, value):
            raise ValidationError('Send the number as a decimal string, like "1200.5".')
        number = Decimal(value)
        refusal = unstorable(number)
        if refusal is not None:
            raise ValidationError(refusal)
        return number

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else str(value)


def _text(limit: int, description: str) -> fields.String:
    return fields.String(validate=validate.Length(max=limit), metadata={"description": description})


class NarrativePatch(Schema):
    """The sections to change; each replaces the section's text ("" empties it)."""

    achievements = _text(NARRATIVE_MAX, "Achievements.")
    challenges = _text(NARRATIVE_MAX, "Challenges.")
    lessons_learned = _text(NARRATIVE_MAX, "Lessons learned.")
    next_steps = _text(NARRATIVE_MAX, "Next steps.")
    gender_equality = _text(NARRATIVE_MAX, "Gender equality and non-discrimination.")
    social_dialogue = _text(NARRATIVE_MAX, "Social dialogue.")


class ValuePatch(Schema):
    """The answer to one indicator; the parts left out keep what is saved."""

    indicator_id = fields.Integer(required=True, validate=_ID)
    value = DecimalString()
    women = DecimalString()
    men = DecimalString()
    text_value = _text(TEXT_MAX, "The answer to a qualitative indicator.")
    not_reported = fields.Boolean(
        metadata={"description": "Not reported this period (say why in `comment`)."}
    )
    comment = _text(TEXT_MAX, "A comment; the reason when not reported.")


class ItemPatch(Schema):
    """An item of design input: with `id`, a change to that item; without, a new one."""

    id = fields.Integer(validate=_ID, metadata={"description": "Absent for a new item."})
    kind = fields.String(
        validate=validate.OneOf([k.value for k in DesignItemKind]),
        metadata={"description": "A new item's kind is `need` unless given."},
    )
    text = _text(TEXT_MAX, "The organisation's input.")
    result_id = fields.Integer(
        allow_none=True, validate=_ID, metadata={"description": "A result it is about."}
    )
    indicator_id = fields.Integer(
        allow_none=True, validate=_ID, metadata={"description": "Or an indicator it is about."}
    )
    remove = fields.Boolean(metadata={"description": "True to remove this (existing) item."})


class DraftPatch(Schema):
    """A change to a draft: narrative and values for a progress report, design_items for design input."""

    narrative = fields.Nested(NarrativePatch)
    values = fields.List(fields.Nested(ValuePatch), validate=validate.Length(max=MAX_ROWS))
    design_items = fields.List(fields.Nested(ItemPatch), validate=validate.Length(max=MAX_ROWS))


class DraftItem(Schema):
    id = fields.Integer()
    position = fields.Integer()
    kind = fields.String()
    text = fields.String()
    result_id = fields.Integer(allow_none=True)
    indicator_id = fields.Integer(allow_none=True)


class Draft(SubmissionDetail):
    """A report or design input as GET /submissions/{id} shows it, with design input's items."""

    design_items = fields.List(fields.Nested(DraftItem), metadata={"description": "Design input only."})


class EvidenceFiles(Schema):
    file = fields.List(
        Upload(),
        required=True,
        validate=validate.Length(min=1),
        metadata={"description": "One or more files (the part repeated), as in one save of the page."},
    )


class AttachmentList(Schema):
    items = fields.List(fields.Nested(AttachmentMeta))


class ExistsProblem(Problem):
    """The organisation's report (or design input) exists already: here it is."""

    submission_id = fields.Integer()
    submission_url = fields.String()
