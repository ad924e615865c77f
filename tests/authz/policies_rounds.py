"""Policies of selection rounds of change stories.

A project's round is seen by its members (here the reporters of both organisations, the specialist
and the evaluator), the project's specialists and administrators; anyone else gets 404. Only a
member proposes; only the project's specialists open, close, invite and remove. Rounds above the
projects are opened by administrators.
"""

from mel_app.extensions import db
from mel_app.models import (
    ChangeStory,
    OrgGroup,
    RoundCandidate,
    RoundMember,
    SelectionRound,
    StoryDomain,
    StoryLevel,
)
from tests.authz.policy import Route, admin_only, project, signed_in

READERS = {
    "reporter_same_org": 200,
    "reporter_other_org": 200,
    "specialist": 200,
    "evaluator": 200,
    "observer": 200,
    "admin": 200,
}
# Who sees the round: its members and administrators (non-members of the project: 404).
SEE = {"reporter_same_org": 200, "reporter_other_org": 200, "specialist": 200, "evaluator": 200, "admin": 200}


def _round(w):
    return {"round_id": w.selection_round}


def _seen_by(status, **per_kind):
    """Those who see the round get `status` unless given; others of the project 404 too."""
    seen = {kind: status for kind in SEE}
    seen.update(per_kind)
    return project(observer=404, **seen)


POLICIES = {
    "projects.project_rounds": Route(get=project(**READERS)),
    "projects.new_round": Route(get=project(specialist=200), post=project(specialist=422)),
    "projects.rounds_index": Route(get=signed_in(200)),
    "admin.new_higher_round": Route(get=admin_only(200), post=admin_only(422)),
    "projects.selection_round": Route(get=_seen_by(200), args=_round),
    # A member with nothing chosen: 422; whoever sees it without being a member: 403.
    "projects.propose": Route(post=_seen_by(422, admin=403), args=_round),
    "projects.close_round": Route(post=_seen_by(403, specialist=422), args=_round),
    "projects.round_members": Route(
        get=_seen_by(403, specialist=200), post=_seen_by(403, specialist=422), args=_round
    ),
    "projects.remove_round_member": Route(
        post=_seen_by(403, specialist=302),
        args=lambda w: {"round_id": w.selection_round, "user_id": w.user_evaluator},
    ),
}


def extend_world(world, make):
    session = db.session
    # A domain of its own: the stories' policies give the project "Organising" and a story that no
    # round reads (its storyteller may still change it).
    domain = StoryDomain(project_id=world.project, name="Social dialogue", position=1)
    session.add(domain)
    session.flush()
    story = ChangeStory(
        project_id=world.project,
        domain_id=domain.id,
        title="A first union branch",
        what_happened="Domestic workers formed a branch.",
        why_significant="They were never organised before.",
        told_by_id=world.user_reporter_same_org,
        organisation_id=world.org,
        share_consent=True,
    )
    session.add(story)
    session.flush()
    selection_round = SelectionRound(
        level=StoryLevel.project,
        project_id=world.project,
        domain_id=domain.id,
        title="Organising round",
        opened_by_id=world.user_specialist,
    )
    selection_round.members = [
        RoundMember(user_id=world.user_reporter_same_org, constituency=OrgGroup.workers),
        RoundMember(user_id=world.user_reporter_other_org, constituency=OrgGroup.employers),
        RoundMember(user_id=world.user_specialist, constituency=OrgGroup.ilo),
        RoundMember(user_id=world.user_evaluator, constituency=OrgGroup.other),
    ]
    session.add(selection_round)
    session.flush()
    session.add(RoundCandidate(round_id=selection_round.id, story_id=story.id, level=StoryLevel.project))
    session.flush()
    world.ids["selection_round"] = selection_round.id
    world.ids["round_story"] = story.id
