"""Words the project pages (and the public project page) put next to figures and statuses."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import ngettext

from mel_app.enum_labels import LABELS
from mel_app.figures import Aggregation, Figure, NoShare
from mel_app.models import OrgGroup
from mel_app.projects.grid import CellStatus


def group_labels() -> dict[OrgGroup, str]:
    return {group: str(text) for group, text in LABELS[OrgGroup].items()}


def cell_labels() -> dict[CellStatus, str]:
    return {status: str(text) for status, text in LABELS[CellStatus].items()}


def figure_basis(figure: Figure) -> str:
    """How a period's figure was made, next to it on the page: "sum of 3 organisations' reports"."""
    n = figure.count
    if figure.value is None:
        if figure.method is Aggregation.responsible:
            return _("no figure: the responsible organisation has no approved value for this period")
        return _("no figure")
    if figure.method is Aggregation.responsible:
        return _("the responsible organisation's report")
    if figure.method is Aggregation.mean:
        return ngettext("mean of %(num)d organisation's report", "mean of %(num)d organisations' reports", n)
    if figure.method is Aggregation.all_yes:
        return ngettext(
            "yes only if all say yes: %(num)d organisation's report",
            "yes only if all say yes: %(num)d organisations' reports",
            n,
        )
    if figure.method is Aggregation.any_yes:
        return ngettext(
            "yes if any says yes: %(num)d organisation's report",
            "yes if any says yes: %(num)d organisations' reports",
            n,
        )
    return ngettext("sum of %(num)d organisation's report", "sum of %(num)d organisations' reports", n)


def no_share_labels() -> dict[NoShare, str]:
    return {
        NoShare.qualitative: _("Qualitative: see the reports"),
        NoShare.no_baseline: _("No baseline"),
        NoShare.no_target: _("No target"),
        NoShare.no_actual: _("No approved value yet"),
    }
