"""What users read for the states of the three machines, translated when rendered.

The workflow's refusals name the state a record is in; these labels live with the machines so
that the core never reads a feature's words. `mel_app.enum_labels` shows the same labels.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from mel_app.models import EvaluationStatus, ScorecardStatus, Status

STATUS: dict[Status, LazyString] = {
    Status.draft: _l("Draft"),
    Status.submitted: _l("Awaiting review"),
    Status.returned: _l("Returned for revision"),
    Status.approved: _l("Approved"),
    Status.withdrawn: _l("Withdrawn"),
}

SCORECARD_STATUS: dict[ScorecardStatus, LazyString] = {
    ScorecardStatus.draft: _l("Draft"),
    ScorecardStatus.submitted: _l("Submitted"),
}

EVALUATION_STATUS: dict[EvaluationStatus, LazyString] = {
    EvaluationStatus.open: _l("Open"),
    EvaluationStatus.closed: _l("Closed"),
}


def status_label(status: Status | str) -> str:
    """The status in the middle of a sentence ("… while it is awaiting review"): the label, in
    lower case, which reads right in English, French and Spanish."""
    value = Status(status)
    return str(STATUS.get(value, value)).lower()
