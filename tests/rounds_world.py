"""A world for selection rounds: two projects with stories of change, people of every constituency.

Stories and domains are made with the models (their own pages live elsewhere); rounds go through
the pages or the service, as a user would."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mel_app import audit
from mel_app.extensions import db
from mel_app.models import ChangeStory, OrgGroup, Role, StoryDomain


def domain(app, project_id: int, name: str, position: int = 0) -> int:
    with app.app_context():
        audit.set_actor(db.session(), audit.SYSTEM_ACTOR)
        row = StoryDomain(project_id=project_id, name=name, position=position)
        db.session.add(row)
        db.session.commit()
        return row.id


def story(app, project_id: int, domain_id: int, title: str, **kw: Any) -> int:
    with app.app_context():
        audit.set_actor(db.session(), audit.SYSTEM_ACTOR)
        row = ChangeStory(
            project_id=project_id,
            domain_id=domain_id,
            title=title,
            what_happened=kw.pop("what_happened", f"What happened: {title}."),
            who_involved=kw.pop("who_involved", "Members of the branch."),
            why_significant=kw.pop("why_significant", f"Why it matters: {title}."),
            **kw,
        )
        db.session.add(row)
        db.session.commit()
        return row.id


@dataclass
class RoundsWorld:
    ids: dict[str, int] = field(default_factory=dict)

    def __getattr__(self, name: str) -> int:
        try:
            return self.__dict__["ids"][name]
        except KeyError:
            raise AttributeError(name) from None


def build(app, make) -> RoundsWorld:
    """RAF/22/11/NOR in Kenya (workers, employers, ILO; government when asked), another project in
    Ghana, one in Brazil; stories in the domain Organising of the first."""
    w = RoundsWorld()
    ids = w.ids
    ids["project"] = make.project("RAF/22/11/NOR", title="Decent work in Kenya", countries=("KE",))
    ids["ghana"] = make.project("RAF/23/05/FIN", title="Organising in Ghana", countries=("GH",))
    ids["brazil"] = make.project("RLA/23/01/NOR", title="Organising in Brazil", countries=("BR",))
    ids["union"] = make.organisation("Union of Kenya", OrgGroup.workers)
    ids["employers"] = make.organisation("Employers of Kenya", OrgGroup.employers)
    ids["ilo"] = make.organisation("ILO ACTRAV", OrgGroup.ilo, country="CH")
    ids["union_gh"] = make.organisation("Union of Ghana", OrgGroup.workers, country="GH")
    ids["union_br"] = make.organisation("Union of Brazil", OrgGroup.workers, country="BR")
    people = {
        "worker": ("worker@example.org", "Amina Otieno", "union"),
        "employer": ("employer@example.org", "Peter Kariuki", "employers"),
        "spec": ("spec@example.org", "Sofia Specialist", "ilo"),
        "observer": ("observer@example.org", "Oscar Observer", None),
        "reporter2": ("reporter2@example.org", "Second Reporter", "union"),
        "outsider": ("outsider@example.org", "Olga Outsider", "union_gh"),
        "spec_gh": ("spec.gh@example.org", "Ghana Specialist", "ilo"),
        "spec_br": ("spec.br@example.org", "Brazil Specialist", "ilo"),
        "worker_br": ("worker.br@example.org", "Brazil Worker", "union_br"),
        "admin": ("admin@example.org", "Ada Admin", "ilo"),
    }
    for key, (email, name, org) in people.items():
        ids[key] = make.user(
            email, full_name=name, organisation_id=ids[org] if org else None, is_admin=key == "admin"
        )
    make.member(ids["worker"], ids["project"], Role.reporter, organisation_id=ids["union"])
    make.member(ids["reporter2"], ids["project"], Role.reporter, organisation_id=ids["union"])
    make.member(ids["employer"], ids["project"], Role.reporter, organisation_id=ids["employers"])
    make.member(ids["spec"], ids["project"], Role.specialist)
    make.member(ids["observer"], ids["project"], Role.observer)
    make.member(ids["spec_gh"], ids["ghana"], Role.specialist)
    make.member(ids["outsider"], ids["ghana"], Role.reporter, organisation_id=ids["union_gh"])
    make.member(ids["spec_br"], ids["brazil"], Role.specialist)
    make.member(ids["worker_br"], ids["brazil"], Role.reporter, organisation_id=ids["union_br"])
    ids["period"] = make.period(ids["project"], "2026 H1")
    ids["period2"] = make.period(ids["project"], "2026 H2")
    ids["other_period"] = make.period(ids["ghana"], "2026 H1")
    ids["organising"] = domain(app, ids["project"], "Organising")
    ids["bargaining"] = domain(app, ids["project"], "Collective bargaining", 1)
    ids["gh_organising"] = domain(app, ids["ghana"], "Organising")
    ids["br_organising"] = domain(app, ids["brazil"], "Organising")
    ids["mombasa"] = story(
        app,
        ids["project"],
        ids["organising"],
        "Domestic workers in Mombasa formed their first union branch",
        period_id=ids["period"],
        told_by_id=ids["worker"],
        organisation_id=ids["union"],
        share_consent=True,
    )
    ids["riders"] = story(
        app,
        ids["project"],
        ids["organising"],
        "Platform riders in Nairobi joined the transport workers' union",
        period_id=ids["period"],
        told_by_id=ids["spec"],
        share_consent=True,
    )
    ids["flowers"] = story(
        app,
        ids["project"],
        ids["organising"],
        "Night-shift workers won their grievance at the flower farm",
        period_id=ids["period"],
        told_by_id=ids["worker"],
        organisation_id=ids["union"],
        names_people=True,
        people_consent=True,
    )
    ids["later"] = story(
        app, ids["project"], ids["organising"], "A later story", period_id=ids["period2"], share_consent=True
    )
    ids["bargaining_story"] = story(
        app, ids["project"], ids["bargaining"], "A first agreement", share_consent=True
    )
    ids["ghana_story"] = story(
        app, ids["ghana"], ids["gh_organising"], "Market vendors in Accra organised", share_consent=True
    )
    ids["brazil_story"] = story(
        app,
        ids["brazil"],
        ids["br_organising"],
        "Delivery workers in São Paulo organised",
        share_consent=True,
    )
    return w
