"""A row removed from its parent's collection is deleted as an orphan: the trail records it.

Every audited model held in a `delete-orphan` collection is found from the mappers, so a new one
is covered (or the test asks for its rows); each is removed the three ways the ORM allows —
`remove()` from the collection, a new list without it, or clearing its own link to the parent —
and must leave the same `….delete` event as `session.delete()` does: the row as it was, who
removed it, its project, and a chain that verifies.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from mel_app import audit
from mel_app.audit.capture import UNCAPTURED
from mel_app.audit.chain import to_json_value
from mel_app.extensions import db
from mel_app.models import (
    Base,
    Organisation,
    OrgGroup,
    OutcomeContributor,
    OutcomeStatement,
    Project,
    ProjectCountry,
    ProjectSector,
    ProjectTag,
    Result,
    ResultTag,
    Role,
    RoundMember,
    SelectionRound,
    StoryDomain,
    StoryLevel,
    TagScheme,
    User,
)
from tests.audit_helpers import events


def orphan_collections() -> dict[str, Any]:
    """Every delete-orphan collection whose rows are audited, as 'Parent.key': relationship."""
    found = {}
    for mapper in Base.registry.mappers:
        for relationship in mapper.relationships:
            if relationship.cascade.delete_orphan and relationship.mapper.class_.__audited__:
                found[f"{mapper.class_.__name__}.{relationship.key}"] = relationship
    return found


# Two children for each collection; the first is removed, the second deleted by name.
CHILDREN: dict[str, Callable[[], list[Any]]] = {
    "Project.countries": lambda: [
        ProjectCountry(country="GH", percentage=Decimal("30")),
        ProjectCountry(country="KE", percentage=Decimal("70")),
    ],
    "Project.sectors": lambda: [
        ProjectSector(code="15170", percentage=Decimal("40")),
        ProjectSector(code="16020", percentage=Decimal("60")),
    ],
    "Project.tags": lambda: [
        ProjectTag(scheme=TagScheme.pb, code="2"),
        ProjectTag(scheme=TagScheme.sdg, code="8.5"),
    ],
    "Result.tags": lambda: [
        ResultTag(scheme=TagScheme.pb, code="3"),
        ResultTag(scheme=TagScheme.sdg, code="8.7"),
    ],
    "OutcomeStatement.contributors": lambda: [
        OutcomeContributor(organisation_id=_organisation(name)) for name in ("Union A", "Employers B")
    ],
    "SelectionRound.members": lambda: [
        RoundMember(user_id=_user(email), constituency=group)
        for email, group in (
            ("union@example.org", OrgGroup.workers),
            ("employer@example.org", OrgGroup.employers),
        )
    ],
}


def _user(email: str) -> int:
    return db.session.scalar(sa.select(User.id).where(User.email == email))


def _organisation(name: str) -> int:
    return db.session.scalar(sa.select(Organisation.id).where(Organisation.name == name))


HOW = ["remove", "new list", "unlink"]


def test_every_audited_orphan_collection_is_covered():
    assert set(orphan_collections()) == set(CHILDREN), "give the new collection's rows to CHILDREN"


@pytest.fixture
def world(make):
    specialist = make.user("spec@example.org", full_name="Sam Specialist")
    project = make.project("RAF/22/11/NOR", countries=())
    make.member(specialist, project, Role.specialist)
    result = make.result(project)
    for name, group in (("Union A", OrgGroup.workers), ("Employers B", OrgGroup.employers)):
        make.partner(project, make.organisation(name, group))
    outcome = make._save(
        OutcomeStatement(
            project_id=project, social_actor="A ministry", change="Consults", changed_on=date(2026, 1, 1)
        )
    )
    for email in ("union@example.org", "employer@example.org"):
        make.user(email)
    domain = make._save(StoryDomain(project_id=project, name="Organising"))
    selection = make._save(
        SelectionRound(level=StoryLevel.project, project_id=project, domain_id=domain, title="First round")
    )
    return {
        "specialist": specialist,
        "project": project,
        "result": result,
        "outcome": outcome,
        "round": selection,
    }


def _parent(name: str, world: dict) -> Any:
    if name.startswith("OutcomeStatement."):
        return db.session.get(OutcomeStatement, world["outcome"])
    if name.startswith("SelectionRound."):
        return db.session.get(SelectionRound, world["round"])
    if name.startswith("Result."):
        return db.session.get(Result, world["result"])
    return db.session.get(Project, world["project"])


def _row(obj: Any) -> dict[str, Any]:
    skipped = type(obj).__audit_exclude__ | UNCAPTURED
    return {
        a.key: to_json_value(getattr(obj, a.key))
        for a in sa.inspect(type(obj)).column_attrs
        if a.key not in skipped
    }


def _key(obj: Any) -> str:
    return ":".join(str(part) for part in sa.inspect(obj).identity)


@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize("name", sorted(CHILDREN))
def test_a_row_removed_from_its_collection_leaves_a_delete_event(app, world, name, how):
    relationship = orphan_collections()[name]
    key, back = relationship.key, relationship.back_populates
    with app.app_context():
        setattr(_parent(name, world), key, CHILDREN[name]())
        db.session.commit()
    with app.app_context():
        audit.set_actor(db.session(), audit.actor_of(db.session.get(User, world["specialist"])))
        parent = _parent(name, world)
        gone, other = getattr(parent, key)
        was, gone_identity = _row(gone), sa.inspect(gone).identity
        gone_key, other_key = _key(gone), _key(other)
        if how == "remove":
            getattr(parent, key).remove(gone)
        elif how == "new list":
            setattr(parent, key, [other])
        else:
            setattr(gone, back, None)
        db.session.commit()
    with app.app_context():
        audit.set_actor(db.session(), audit.actor_of(db.session.get(User, world["specialist"])))
        db.session.delete(getattr(_parent(name, world), key)[0])  # the other: deleted by name
        db.session.commit()
    with app.app_context():
        table = relationship.mapper.local_table.name
        assert db.session.get(relationship.mapper.class_, gone_identity) is None
        (removed,) = events(table, gone_key, f"{table}.delete")
        (deleted,) = events(table, other_key, f"{table}.delete")
        assert removed.before == was and removed.after is None
        assert removed.actor_id == world["specialist"] and removed.actor_name == "Sam Specialist"
        assert removed.project_id == world["project"]
        # Exactly what a deletion by name records.
        assert (removed.action, removed.project_id, removed.actor_id) == (
            deleted.action,
            deleted.project_id,
            deleted.actor_id,
        )
        assert set(removed.before) == set(deleted.before) and deleted.after is None
        assert [e.action for e in events(table, gone_key)] == [f"{table}.create", f"{table}.delete"]
        assert audit.chain.verify(db.session.connection()).ok


def test_a_row_changed_then_removed_in_one_save_is_recorded_deleted_with_its_stored_values(app, world):
    with app.app_context():
        project = db.session.get(Project, world["project"])
        project.countries = [
            ProjectCountry(country="GH"),
            ProjectCountry(country="KE", percentage=Decimal("70")),
        ]
        db.session.commit()
    with app.app_context():
        project = db.session.get(Project, world["project"])
        kenya = project.countries[1]
        kenya.percentage = Decimal("50")
        project.countries = [project.countries[0]]
        db.session.commit()
    with app.app_context():
        trail = events("project_country", f"{world['project']}:KE")
        assert [e.action for e in trail] == ["project_country.create", "project_country.delete"]
        assert Decimal(trail[1].before["percentage"]) == 70 and trail[1].project_id == world["project"]


def test_a_row_replaced_by_a_new_one_with_the_same_key_is_deleted_then_created(app, world):
    """The ORM turns the pair into one UPDATE of the row; the trail says what the service did, in
    an order that replays to the row in the database."""
    with app.app_context():
        project = db.session.get(Project, world["project"])
        project.sectors = [ProjectSector(code="16020", percentage=Decimal("100"))]
        db.session.commit()
    with app.app_context():
        project = db.session.get(Project, world["project"])
        project.sectors = [
            ProjectSector(code="16020", percentage=Decimal("60")),
            ProjectSector(code="15170", percentage=Decimal("40")),
        ]
        db.session.commit()
    with app.app_context():
        key = f"{world['project']}:16020"
        trail = events("project_sector", key)
        assert [e.action for e in trail] == [
            "project_sector.create",
            "project_sector.delete",
            "project_sector.create",
        ]
        assert Decimal(trail[1].before["percentage"]) == 100 and Decimal(trail[2].after["percentage"]) == 60
        assert db.session.get(ProjectSector, (world["project"], "16020")).percentage == 60


def test_saving_the_project_form_without_a_sector_shows_its_removal_in_the_history(
    app, client, login, post, world
):
    with app.app_context():
        project = db.session.get(Project, world["project"])
        project.countries = [ProjectCountry(country="KE")]
        project.sectors = [
            ProjectSector(code="16020", percentage=Decimal("60")),
            ProjectSector(code="15170", percentage=Decimal("40")),
        ]
        db.session.commit()
    login("spec@example.org")
    url = f"/projects/{world['project']}/edit"
    page = client.get(url).get_data(as_text=True)
    version = page.split('name="version" type="hidden" value="')[1].split('"')[0]
    data = {
        "reference": "RAF/22/11/NOR",
        "title": "Workers rights in Africa",
        "summary": "",
        "donor": "Norway",
        "funding_modality": "XBDC",
        "countries": ["KE"],
        "start_date": "2024-01-01",
        "end_date": "2027-12-31",
        "phase": "implementation",
        "sector_16020": "100",
        "version": version,
    }
    resp = post(url, data)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    with app.app_context():
        assert [s.code for s in db.session.get(Project, world["project"]).sectors] == ["16020"]
        (event,) = events("project_sector", f"{world['project']}:15170", "project_sector.delete")
        assert event.actor_id == world["specialist"] and event.project_id == world["project"]
        assert Decimal(event.before["percentage"]) == 40
        assert audit.chain.verify(db.session.connection()).ok
    history = client.get(f"/history/project/{world['project']}").get_data(as_text=True)
    assert "Sector removed" in history and "15170" in history
    assert "Sam Specialist" in history
