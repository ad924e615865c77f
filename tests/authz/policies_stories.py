"""Policies of change stories (Most Significant Change) and of a project's domains of change.

Every member of a project (and every administrator) opens its Stories tab; the list and the pages
show only the stories the reader may read (`permissions.can_read_story`): the world's story is told
with consent to share it, so administrators read it too. Its reporters, specialists and
evaluators tell stories (observers and administrators 403); only the storyteller changes a story;
only the project's specialists manage its domains of change.
"""

import hashlib

from mel_app.models import ChangeStory, StoryDomain, StoryEvidence
from tests.authz.policies_projects import READERS
from tests.authz.policy import Route, project

TELLERS = {"reporter_same_org": 200, "reporter_other_org": 200, "specialist": 200, "evaluator": 200}


def tellers(status):
    return project(**{kind: status for kind in TELLERS})


def editors(status):
    return project(specialist=status)


def _story(w):
    return {"story_id": w.story}


def _domain(w):
    return {"domain_id": w.story_domain}


POLICIES = {
    "projects.stories_list": Route(get=project(**READERS)),
    "projects.story": Route(get=project(**READERS), args=_story),
    # The evidence file: whoever reads the story (a download, recorded in the trail).
    "projects.story_evidence": Route(get=project(**READERS), args=_story),
    "projects.new_story": Route(get=tellers(200), post=tellers(422)),
    # Only the storyteller (the reporter of the world's organisation); other readers 403.
    "projects.edit_story": Route(
        get=project(reporter_same_org=200), post=project(reporter_same_org=422), args=_story
    ),
    "projects.domains": Route(get=editors(200), post=editors(422)),
    # The project has domains already: refused with a message, back to the page.
    "projects.add_suggested_domains": Route(post=editors(302)),
    "projects.edit_domain": Route(get=editors(200), post=editors(422), args=_domain),
    "projects.move_domain": Route(post=editors(302), args=_domain),
    # The domain a story uses is kept: refused with a message, back to the page.
    "projects.remove_domain": Route(post=editors(302), args=_domain),
}


def extend_world(world, make):
    from mel_app.extensions import db

    session = db.session
    domain = StoryDomain(project_id=world.project, name="Organising", position=0)
    session.add(domain)
    session.flush()
    world.ids["story_domain"] = domain.id
    story = ChangeStory(
        project_id=world.project,
        domain_id=domain.id,
        period_id=world.period,
        title="A union branch for domestic workers",
        what_happened="Domestic workers formed their first branch.",
        who_involved="Domestic workers and the union's organisers.",
        why_significant="They now bargain with one voice.",
        told_by_id=world.user_reporter_same_org,
        organisation_id=world.org,
        share_consent=True,
    )
    session.add(story)
    session.flush()
    world.ids["story"] = story.id
    data = b"%PDF-1.4 story evidence"
    session.add(
        StoryEvidence(
            story_id=story.id,
            filename="minutes.pdf",
            media_type="application/pdf",
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            data=data,
            uploaded_by_id=world.user_reporter_same_org,
        )
    )
    session.flush()
