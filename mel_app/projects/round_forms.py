"""The forms of selection rounds: open one, propose a story, invite members, record the choice."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, StringField, SubmitField, TextAreaField, ValidationError
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from mel_app.enum_labels import label
from mel_app.integers import to_int
from mel_app.kit.web import choices
from mel_app.locking import VersionField
from mel_app.models import IloRegion, StoryLevel
from mel_app.projects import rounds
from mel_app.projects.forms import CheckboxesField, optional_int


def _member_choices(invitees: list[rounds.Invitee]) -> list[tuple[str, str]]:
    def text(i: rounds.Invitee) -> str:
        where = f", {i.organisation.label}" if i.organisation else ""
        return f"{i.user.display_name}{where} ({label(i.constituency)})"

    return [(str(i.user.id), text(i)) for i in invitees]


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class _MembersMixin:
    members = CheckboxesField(_l("Members invited"), validators=[Optional()])

    def fill_members(self, invitees: list[rounds.Invitee]) -> None:
        self.members.choices = _member_choices(invitees)  # type: ignore[attr-defined]

    def member_ids(self) -> list[int]:
        found = (to_int(v) for v in self.members.data or [])  # type: ignore[attr-defined]
        return [n for n in found if n is not None]


class ProjectRoundForm(_MembersMixin, FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=rounds.TITLE_MAX)])
    domain_id = SelectField(_l("Domain of change"), coerce=optional_int)
    period_id = SelectField(_l("Reporting period"), coerce=optional_int, validators=[Optional()])
    submit = SubmitField(_l("Open the round"))

    def fill_choices(self, domains: Any, periods: Any, invitees: list[rounds.Invitee]) -> None:
        self.domain_id.choices = choices(((d.id, d.name) for d in domains), blank=str(_l("Choose a domain")))
        self.period_id.choices = choices(((p.id, p.label) for p in periods), blank=str(_l("Every period")))
        self.fill_members(invitees)

    def validate_domain_id(self, field: Any) -> None:
        if field.data is None:
            raise ValidationError(_l("Choose one of the project's domains of change."))

    def spec(self) -> rounds.RoundSpec:
        return rounds.RoundSpec(
            title=self.title.data or "",
            member_ids=self.member_ids(),
            domain_id=self.domain_id.data,
            period_id=self.period_id.data,
        )


class HigherRoundForm(_MembersMixin, FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=rounds.TITLE_MAX)])
    level = SelectField(_l("Level"), validators=[InputRequired()])
    region = SelectField(_l("Region (for a regional round)"), validators=[Optional()])
    submit = SubmitField(_l("Open the round"))

    def fill_choices(self, invitees: list[rounds.Invitee]) -> None:
        self.level.choices = choices((lv.value, label(lv)) for lv in (StoryLevel.regional, StoryLevel.actrav))
        self.region.choices = choices(((r.value, label(r)) for r in IloRegion), blank=str(_l("No region")))
        self.fill_members(invitees)

    def chosen_level(self) -> StoryLevel | None:
        try:
            return StoryLevel(self.level.data)
        except ValueError:
            return None

    def spec(self) -> rounds.RoundSpec:
        try:
            region = IloRegion(self.region.data) if self.region.data else None
        except ValueError:
            region = None
        return rounds.RoundSpec(title=self.title.data or "", member_ids=self.member_ids(), region=region)


class InviteForm(_MembersMixin, FlaskForm):
    submit = SubmitField(_l("Invite"))


class ProposalForm(FlaskForm):
    story_id = RadioField(
        _l("The most significant change"),
        validators=[InputRequired(message=_l("Choose one of the stories the round reads."))],
    )
    reason = TextAreaField(
        _l("Why it is the most significant"),
        validators=[
            DataRequired(message=_l("Say why this change is the most significant.")),
            Length(max=rounds.TEXT_MAX),
        ],
        render_kw={"rows": 4},
    )
    submit = SubmitField(_l("Propose this story"))

    def fill_choices(self, stories: list[rounds.StoryRead]) -> None:
        self.story_id.choices = [(str(s.story.id), s.story.title) for s in stories if s.readable]

    def chosen(self) -> int | None:
        return _int_or_none(self.story_id.data)


class CloseForm(FlaskForm):
    discussion = TextAreaField(
        _l("The discussion"), validators=[Optional(), Length(max=rounds.TEXT_MAX)], render_kw={"rows": 5}
    )
    chosen_story_id = RadioField(
        _l("The story chosen"),
        validators=[InputRequired(message=_l("Choose one of the stories the round reads."))],
    )
    choice_reason = TextAreaField(
        _l("The reasons for the choice"),
        validators=[
            DataRequired(message=_l("Give the reasons for the choice.")),
            Length(max=rounds.TEXT_MAX),
        ],
        render_kw={"rows": 4},
    )
    version = VersionField()
    submit = SubmitField(_l("Close the round with this choice"))

    def fill_choices(self, stories: list[rounds.StoryRead]) -> None:
        self.chosen_story_id.choices = [(str(s.story.id), s.story.title) for s in stories if s.readable]

    def choice(self) -> rounds.Choice:
        return rounds.Choice(
            story_id=_int_or_none(self.chosen_story_id.data),
            reason=self.choice_reason.data or "",
            discussion=self.discussion.data or "",
        )
