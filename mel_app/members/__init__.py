"""Who takes part in a project, in which role (and, for reporters, for which organisation)."""

from __future__ import annotations

from flask_babel import gettext as _

from mel_app.models import Role


def role_label(role: Role | str) -> str:
    labels = {
        Role.specialist: _("ACTRAV specialist"),
        Role.reporter: _("Reporter"),
        Role.evaluator: _("Evaluator"),
        Role.observer: _("Observer"),
    }
    return labels.get(Role(role), str(role))
