"""The shipped criteria set and scale: OECD DAC criteria plus the ILO cross-cutting policy drivers."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from mel_app.extensions import db
from mel_app.models import CriteriaSet, Criterion, Scale, ScalePoint

DEFAULT_SET_NAME = "OECD DAC criteria and ILO cross-cutting policy drivers"
DEFAULT_SCALE_NAME = "Six-point scale (highly satisfactory to highly unsatisfactory)"

DEFAULT_CRITERIA = [
    (
        "REL",
        "Relevance",
        "Is the intervention doing the right things? Does it respond to the needs and "
        "priorities of the constituents — workers' and employers' organisations and governments?",
    ),
    (
        "COH",
        "Coherence",
        "How well does the intervention fit with other interventions in the country, "
        "sector or institution, including the Decent Work Country Programme and the UNSDCF?",
    ),
    (
        "EFF",
        "Effectiveness",
        "Is the intervention achieving its objectives, including any differential results across groups?",
    ),
    (
        "EFI",
        "Efficiency",
        "How well are resources (funds, expertise, time) being used to deliver results "
        "in an economic and timely way?",
    ),
    (
        "IMP",
        "Impact",
        "What difference does the intervention make? What significant positive or negative, "
        "intended or unintended, higher-level effects has it generated?",
    ),
    (
        "SUS",
        "Sustainability",
        "Will the benefits last? Do the constituents have the capacity and ownership "
        "to keep them going after the project ends?",
    ),
    (
        "ILS",
        "International labour standards",
        "How far does the intervention promote the ratification and "
        "application of international labour standards?",
    ),
    (
        "SDT",
        "Social dialogue and tripartism",
        "How far does the intervention strengthen social dialogue "
        "and the participation of workers' and employers' organisations?",
    ),
    (
        "GEN",
        "Gender equality and non-discrimination",
        "How far does the intervention advance gender equality, disability inclusion and non-discrimination?",
    ),
    (
        "JTE",
        "Just transition to environmental sustainability",
        "How far does the intervention contribute "
        "to a just transition towards environmentally sustainable economies and societies?",
    ),
]

DEFAULT_POINTS = [
    (6, "Highly satisfactory"),
    (5, "Satisfactory"),
    (4, "Moderately satisfactory"),
    (3, "Moderately unsatisfactory"),
    (2, "Unsatisfactory"),
    (1, "Highly unsatisfactory"),
]

# Marked for translation extraction; the stored names stay in English (they are data).
_TRANSLATABLE = [_l(c[1]) for c in DEFAULT_CRITERIA] + [_l(p[1]) for p in DEFAULT_POINTS]


def ensure_defaults() -> tuple[CriteriaSet, Scale]:
    """Create the default criteria set and scale if they are missing (idempotent). Flushes."""
    criteria_set = db.session.scalar(sa.select(CriteriaSet).where(CriteriaSet.name == DEFAULT_SET_NAME))
    if criteria_set is None:
        criteria_set = CriteriaSet(
            name=DEFAULT_SET_NAME,
            description="The six OECD DAC evaluation criteria and the four ILO cross-cutting policy drivers.",
            is_default=True,
        )
        db.session.add(criteria_set)
        for position, (code, name, question) in enumerate(DEFAULT_CRITERIA):
            db.session.add(
                Criterion(
                    criteria_set=criteria_set,
                    code=code,
                    name=name,
                    guiding_question=question,
                    position=position,
                )
            )
    scale = db.session.scalar(sa.select(Scale).where(Scale.name == DEFAULT_SCALE_NAME))
    if scale is None:
        scale = Scale(name=DEFAULT_SCALE_NAME, is_default=True)
        db.session.add(scale)
        for value, label in DEFAULT_POINTS:
            db.session.add(ScalePoint(scale=scale, value=value, label=label))
    db.session.flush()
    return criteria_set, scale
