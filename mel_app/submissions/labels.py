"""What users read for the submission workflow's codes, translated when rendered."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from mel_app.enum_labels import LABELS
from mel_app.models import DesignItemKind, Disposition, Measure, Status, SubmissionKind, Visibility
from mel_app.workflow import labels as state_labels

STATUS = LABELS[Status]
KIND = LABELS[SubmissionKind]
DESIGN_ITEM_KIND = LABELS[DesignItemKind]
DISPOSITION = LABELS[Disposition]
MEASURE = LABELS[Measure]
VISIBILITY = LABELS[Visibility]

SECTIONS = {
    "achievements": _l("Achievements"),
    "challenges": _l("Challenges"),
    "lessons_learned": _l("Lessons learned"),
    "next_steps": _l("Next steps"),
    "gender_equality": _l("Gender equality and non-discrimination"),
    "social_dialogue": _l("Social dialogue"),
}

SECTION_HINTS = {
    "achievements": _l("What did your organisation achieve in this period with the project's support?"),
    "challenges": _l("What got in the way, and how did you deal with it?"),
    "lessons_learned": _l("What would you do differently, or recommend to others?"),
    "next_steps": _l("What will you do in the next period?"),
    "gender_equality": _l("How did the work reach women and address discrimination?"),
    "social_dialogue": _l("What happened in bipartite or tripartite dialogue?"),
}

VALUE_FIELDS = {
    "value": _l("Value"),
    "women": _l("Women"),
    "men": _l("Men"),
    "text_value": _l("Answer"),
    "not_reported": _l("Not reported"),
    "comment": _l("Comment"),
}


# The status in the middle of a sentence; the workflow's refusals use it too.
status_label = state_labels.status_label


# What a comment may be about, besides the narrative sections.
COMMENT_TOPICS = {
    **SECTIONS,
    "indicators": _l("Indicators"),
    "items": _l("Design input items"),
    "evidence": _l("Evidence files"),
}
