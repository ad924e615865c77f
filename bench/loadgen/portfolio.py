"""The synthetic portfolio: organisations, people, projects, reports and evaluations from one seeded RNG."""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bench.loadgen import names as words
from bench.loadgen.writer import BulkWriter, LoadError
from mel_app.audit import chain
from mel_app.exports.iati_codes import SECTORS
from mel_app.models import (
    DEFAULT_AGGREGATION,
    NARRATIVE_SECTIONS,
    Attachment,
    Comment,
    Criterion,
    DesignInputItem,
    Evaluation,
    Indicator,
    IndicatorValue,
    Measure,
    Membership,
    Organisation,
    Partner,
    Project,
    ProjectCountry,
    ProjectSector,
    Recommendation,
    ReportingPeriod,
    Result,
    Score,
    Scorecard,
    Submission,
    SubmissionVersion,
    User,
)

PER_SCALE = {"projects": 50, "organisations": 300, "users": 1000}
MINIMUM = {"projects": 1, "organisations": 30, "users": 80}
YEARS = 10


# The smallest valid PDF the app's sniffing accepts, as the evidence file of some reports.
EVIDENCE_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


def counts_for(scale: float) -> dict[str, int]:
    return {k: max(MINIMUM[k], round(v * scale)) for k, v in PER_SCALE.items()}


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower().replace(" ", "")


def _half(index: int) -> tuple[date, date, str]:
    """Half-year number `index` (year * 2 + 0 or 1) as (start, end, label)."""
    year, second = divmod(index, 2)
    if second:
        return date(year, 7, 1), date(year, 12, 31), f"{year} H2"
    return date(year, 1, 1), date(year, 6, 30), f"{year} H1"


def _at(day: date, rng: random.Random) -> datetime:
    return datetime(day.year, day.month, day.day, 7, 0, tzinfo=UTC) + timedelta(
        minutes=rng.randrange(11 * 60)
    )


@dataclass
class _Org:
    id: int
    group: str
    country: str
    name: str
    users: list[int] = field(default_factory=list)


@dataclass
class _ProjectWorld:
    id: int
    reference: str
    countries: list[str]
    specialists: list[int]
    evaluators: list[int]
    observers: list[int]
    reporters: dict[int, list[int]]  # organisation id -> reporter user ids
    first_half: int
    indicators: list[dict[str, Any]] = field(default_factory=list)
    result_ids: list[int] = field(default_factory=list)


class Portfolio:
    """Builds the synthetic portfolio through a BulkWriter; every choice comes from one seeded RNG."""

    def __init__(self, writer: BulkWriter, *, scale: float, seed: int, as_of: date, password_hash: str):
        self.w = writer
        self.rng = random.Random(seed)
        self.seed = seed
        self.scale = scale
        self.as_of = as_of
        self.now = datetime(as_of.year, as_of.month, as_of.day, 6, 0, tzinfo=UTC)
        self.current_half = as_of.year * 2 + (0 if as_of.month <= 6 else 1)
        self.password_hash = password_hash
        self.counts = counts_for(scale)
        self.orgs: list[_Org] = []
        self.org_by_id: dict[int, _Org] = {}
        self.user_lang: dict[int, str] = {}
        self.taken_names: set[str] = set()
        self.taken_references: set[str] = set()
        self.criteria: list[int] = []
        self.criteria_set_id = 0
        self.scale_id = 0
        self.points: list[int] = []

    # Helpers ---------------------------------------------------------------------------------

    def _clamp(self, moment: datetime) -> datetime:
        return min(moment, self.now - timedelta(minutes=5))

    def _unique(self, name: str, taken: set[str]) -> str:
        candidate, n = name, 2
        while candidate in taken:
            candidate, n = f"{name} ({n})", n + 1
        taken.add(candidate)
        return candidate

    def _stamps(self, moment: datetime) -> dict[str, datetime]:
        return {"created_at": moment, "updated_at": moment}

    def load(self, connection: Connection) -> None:
        self.taken_names = set(connection.scalars(sa.select(Organisation.name)))
        self.taken_references = set(connection.scalars(sa.select(Project.reference)))
        self._defaults(connection)
        self._organisations()
        self._users()
        pools = self._pools()
        for index in range(self.counts["projects"]):
            self._project(index, pools)
        self.w.finish()

    def _defaults(self, connection: Connection) -> None:
        from mel_app.evaluations.defaults import DEFAULT_SCALE_NAME, DEFAULT_SET_NAME
        from mel_app.models import CriteriaSet, Scale, ScalePoint

        self.criteria_set_id = connection.scalar(
            sa.select(CriteriaSet.id).where(CriteriaSet.name == DEFAULT_SET_NAME)
        )
        self.scale_id = connection.scalar(sa.select(Scale.id).where(Scale.name == DEFAULT_SCALE_NAME))
        self.criteria = list(
            connection.scalars(
                sa.select(Criterion.id)
                .where(Criterion.criteria_set_id == self.criteria_set_id)
                .order_by(Criterion.position)
            )
        )
        self.points = sorted(
            connection.scalars(sa.select(ScalePoint.value).where(ScalePoint.scale_id == self.scale_id))
        )

    # Organisations and users -------------------------------------------------------------------

    def _org(self, name: str, acronym: str, group: str, country: str, parent_id: int | None = None) -> _Org:
        org_id = self.w.next_id(Organisation)
        name = self._unique(name, self.taken_names)
        moment = self.now - timedelta(days=YEARS * 365 + self.rng.randrange(200))
        self.w.add(
            Organisation,
            {
                "id": org_id,
                "name": name,
                "acronym": acronym[:40],
                "group": group,
                "country": country,
                "parent_id": parent_id,
                "is_fictional": True,
                **self._stamps(moment),
            },
            None,
        )
        org = _Org(org_id, group, country, name)
        self.orgs.append(org)
        self.org_by_id[org_id] = org
        return org

    @staticmethod
    def _acronym(name: str) -> str:
        return "".join(w[0] for w in name.replace(",", "").split() if w[0].isupper())

    def _organisations(self) -> None:
        total = self.counts["organisations"]
        rng = self.rng
        countries = words.COUNTRIES
        # The ILO and those around it: a fixed small share; the rest are constituents.
        n_ilo = max(2, round(total * 0.03))
        n_donor = max(2, round(total * 0.04))
        n_other = max(2, round(total * 0.03))
        n_constituents = total - n_ilo - n_donor - n_other
        n_employers = max(2, round(n_constituents * 0.17))
        n_government = max(2, round(n_constituents * 0.13))
        n_workers = n_constituents - n_employers - n_government

        self._org("ILO Bureau for Workers' Activities (ACTRAV)", "ACTRAV", "ilo", "CH")
        self._org("ILO Evaluation Office", "EVAL", "ilo", "CH")
        regions = list(words.REGIONS.items())
        for i in range(n_ilo - 2):
            code, region = regions[i % len(regions)]
            country = next(c for c in countries if c[3] == code)
            self._org(f"ILO Decent Work Team for {region}", "DWT", "ilo", country[0])
        for i in range(n_donor):
            _code, name, country = words.DONORS[i % len(words.DONORS)]
            self._org(f"Development cooperation agency of {name}", "DCA", "donor", country)
        for i in range(n_other):
            country = countries[rng.randrange(len(countries))]
            base = words.OTHER_ORGANISATIONS[i % len(words.OTHER_ORGANISATIONS)]
            self._org(f"{base}, {country[1]}", self._acronym(base), "other", country[0])

        # Workers: regional federations, then a national centre per country, then sector unions
        # affiliated to their national centre.
        federations = {}
        for code, region in regions[: max(1, min(len(regions), n_workers // 20))]:
            name = f"Regional Trade Union Federation of {region}"
            federations[code] = self._org(
                name, self._acronym(name), "workers", next(c for c in countries if c[3] == code)[0]
            )
        centres: dict[str, _Org] = {}
        made = len(federations)
        for country, cname, _lang, region in countries:
            if made >= n_workers * 0.4:
                break
            base = words.NATIONAL_CENTRES[rng.randrange(len(words.NATIONAL_CENTRES))]
            parent = federations.get(region)
            centres[country] = self._org(
                f"{base} of {cname}", self._acronym(base), "workers", country, parent.id if parent else None
            )
            made += 1
        centre_list = list(centres.values())
        while made < n_workers:
            centre = centre_list[rng.randrange(len(centre_list))]
            sector = words.SECTORS[rng.randrange(len(words.SECTORS))]
            cname = next(c[1] for c in countries if c[0] == centre.country)
            name = f"{sector} Workers' Union of {cname}"
            self._org(name, self._acronym(name), "workers", centre.country, centre.id)
            made += 1
        for i in range(n_employers):
            country = countries[i % len(countries)]
            base = words.EMPLOYERS[rng.randrange(len(words.EMPLOYERS))]
            self._org(f"{base} of {country[1]}", self._acronym(base), "employers", country[0])
        for i in range(n_government):
            country = countries[i % len(countries)]
            base = words.MINISTRIES[rng.randrange(len(words.MINISTRIES))]
            self._org(f"{base}, {country[1]}", self._acronym(base), "government", country[0])

    def _users(self) -> None:
        total = self.counts["users"]
        rng = self.rng
        lang_of = {c[0]: c[2] for c in words.COUNTRIES}
        # Weights: ILO staff and evaluators are few organisations with many people.
        weights = {
            "ilo": 12.0,
            "other": 5.0,
            "donor": 2.0,
            "workers": 1.0,
            "employers": 0.8,
            "government": 0.8,
        }
        orgs = self.orgs
        cumulative, running = [], 0.0
        for org in orgs:
            running += weights[org.group]
            cumulative.append(running)
        # Every organisation gets at least one person, the rest are drawn by weight.
        assignment = [org for org in orgs][: min(total, len(orgs))]
        while len(assignment) < total:
            assignment.append(orgs[_bisect(cumulative, rng.random() * running)])
        admins = 0
        for org in assignment:
            user_id = self.w.next_id(User)
            lang = lang_of.get(org.country, "en")
            first = rng.choice(words.FIRST_NAMES[lang])
            last = rng.choice(words.LAST_NAMES[lang])
            is_admin = (
                org.group == "ilo"
                and admins < max(1, round(total * 0.005))
                and (not admins or rng.random() < 0.3)
            )
            admins += is_admin
            moment = self.now - timedelta(days=rng.randrange(30, YEARS * 365))
            self.w.add(
                User,
                {
                    "id": user_id,
                    "email": f"{_ascii(first)}.{_ascii(last)}.{user_id}@example.org",
                    "full_name": f"{first} {last}",
                    "organisation_id": org.id,
                    "password_hash": self.password_hash,
                    "is_admin": is_admin,
                    "is_active": rng.random() > 0.02 or is_admin,
                    "preferred_language": lang,
                    "last_login_at": self._clamp(moment + timedelta(days=rng.randrange(1, 400))),
                    "session_token": f"{rng.getrandbits(128):032x}",
                    "is_demo": True,
                    **self._stamps(moment),
                },
                None,
            )
            org.users.append(user_id)
            self.user_lang[user_id] = lang
        if not admins:
            raise LoadError("no administrator was drawn; use a larger scale")

    def _pools(self) -> dict[str, list]:
        by_group: dict[str, list[_Org]] = {}
        for org in self.orgs:
            by_group.setdefault(org.group, []).append(org)
        people = {g: [u for o in orgs for u in o.users] for g, orgs in by_group.items()}
        return {
            "constituents": [
                o for o in self.orgs if o.group in ("workers", "employers", "government") and o.users
            ],
            "specialists": people["ilo"],
            "evaluators": people["other"] + people["ilo"][: max(1, len(people["ilo"]) // 5)],
            "observers": people["donor"],
        }

    # Projects ------------------------------------------------------------------------------------

    def _project(self, index: int, pools: dict[str, list]) -> None:
        rng, w = self.rng, self.w
        c = self.current_half
        roll = rng.random()
        if roll < 0.10:
            phase, first, last = "design", c + 1, c + 1 + rng.randrange(6, 9)
        elif roll < 0.30:
            first = c - 19 + rng.randrange(0, 5)
            phase, last = "closed", min(c - 2, first + 10 + rng.randrange(0, 5))
        else:
            first = c - 19 + rng.randrange(0, 14)
            phase, last = "implementation", c + 1 + rng.randrange(0, 6)
        start, end = _half(first)[0], _half(last)[1]
        period_halves = [] if phase == "design" else list(range(first, min(last, c) + 1))

        constituents = pools["constituents"]
        region_code = rng.choice(list(words.REGIONS))
        in_region = [x for x in words.COUNTRIES if x[3] == region_code]
        countries = sorted({x[0] for x in rng.sample(in_region, min(len(in_region), rng.randint(1, 4)))})
        local = [o for o in constituents if o.country in countries]
        partner_count = min(len(constituents), rng.randint(8, 13))
        partners = rng.sample(local, min(len(local), partner_count))
        chosen = {o.id for o in partners}
        others = [o for o in constituents if o.id not in chosen]
        partners += rng.sample(others, min(len(others), partner_count - len(partners)))

        donor_code, donor_name, _ = rng.choice(words.DONORS)
        modality = rng.choices(["XBDC", "RBSA", "RBTC"], weights=[70, 20, 10])[0]
        if modality == "RBSA":
            donor_code, donor_name = "RBS", "ILO Regular Budget Supplementary Account"
        elif modality == "RBTC":
            donor_code, donor_name = "RBT", "ILO Regular Budget Technical Cooperation"
        prefix = region_code if len(countries) > 1 else rng.choice([region_code, "INT"])
        serial = w.ids[Project] + 1
        serial_code = f"{chr(ord('L') + serial // 1000)}{serial % 1000:03d}"
        reference = f"{prefix}/{start.year % 100:02d}/{serial_code}/{donor_code}"
        if reference in self.taken_references:
            raise LoadError(f"project reference {reference} exists already")
        self.taken_references.add(reference)
        theme = rng.choice(words.THEMES)
        place = (
            words.REGIONS[region_code]
            if len(countries) > 1
            else next(x[1] for x in words.COUNTRIES if x[0] == countries[0])
        )
        project_id = w.next_id(Project)
        publishing = self._publishing(project_id, donor_code, modality, len(countries))
        created = self._clamp(_at(start - timedelta(days=120), rng))
        approved_at = None if phase == "design" else self._clamp(_at(start + timedelta(days=45), rng))
        w.add(
            Project,
            {
                "id": project_id,
                "reference": reference,
                "title": f"{theme} in {place}",
                "summary": f"{theme}: support to workers' organisations in {place}, with employers' "
                f"organisations and governments, funded by {donor_name}.",
                "donor": donor_name,
                "funding_modality": modality,
                "start_date": start,
                "end_date": end,
                "phase": phase,
                "framework_approved": approved_at is not None,
                "framework_approved_at": approved_at,
                "budget_amount": publishing["budget_amount"],
                "budget_currency": publishing["budget_currency"],
                "donor_iati_ref": publishing["donor_iati_ref"],
                "donor_iati_type": publishing["donor_iati_type"],
                **self._stamps(created),
            },
            project_id,
        )
        for country, share in zip(countries, publishing["country_shares"], strict=True):
            w.add(
                ProjectCountry,
                {"project_id": project_id, "country": country, "percentage": share},
                project_id,
            )
        for code, share in publishing["sectors"]:
            w.add(ProjectSector, {"project_id": project_id, "code": code, "percentage": share}, project_id)
        for org in partners:
            w.add(
                Partner,
                {
                    "id": w.next_id(Partner),
                    "project_id": project_id,
                    "organisation_id": org.id,
                    **self._stamps(created),
                },
                project_id,
            )

        world = _ProjectWorld(project_id, reference, countries, [], [], [], {}, first)
        members: set[tuple[int, str]] = set()

        def member(user_id: int, role: str, org_id: int | None = None) -> None:
            if (user_id, role) in members:
                return
            members.add((user_id, role))
            w.add(
                Membership,
                {
                    "id": w.next_id(Membership),
                    "user_id": user_id,
                    "project_id": project_id,
                    "role": role,
                    "organisation_id": org_id,
                    **self._stamps(created),
                },
                project_id,
            )

        for user_id in rng.sample(pools["specialists"], min(len(pools["specialists"]), rng.randint(1, 3))):
            member(user_id, "specialist")
            world.specialists.append(user_id)
        for user_id in rng.sample(pools["evaluators"], min(len(pools["evaluators"]), rng.randint(1, 2))):
            member(user_id, "evaluator")
            world.evaluators.append(user_id)
        for user_id in rng.sample(pools["observers"], min(len(pools["observers"]), rng.randint(1, 2))):
            member(user_id, "observer")
            world.observers.append(user_id)
        for org in partners:
            reporters = rng.sample(org.users, min(len(org.users), rng.choice([1, 1, 2])))
            for user_id in reporters:
                member(user_id, "reporter", org.id)
            world.reporters[org.id] = reporters

        self._framework(world, start, end, created)
        self._design_inputs(world, partners, phase, created, theme, place)
        periods = self._periods(world, period_halves, created)
        for half, period_id in periods:
            for org in partners:
                self._progress_report(world, org, half, period_id, place)
        self._evaluations(world, first, min(last, c), phase)

    def _publishing(
        self, project_id: int, donor_code: str, modality: str, n_countries: int
    ) -> dict[str, Any]:
        """What the IATI file needs: sectors with shares, country shares, budget, the donor's type.

        Drawn from a generator of its own, so adding these left every other row as it was.
        """
        rng = random.Random(f"{self.seed}-iati-{project_id}")
        codes = rng.sample(list(SECTORS), rng.randint(1, 3))
        cuts = sorted(rng.sample(range(5, 100, 5), len(codes) - 1))
        shares = [Decimal(b - a) for a, b in zip([0, *cuts], [*cuts, 100], strict=True)]
        # Half the multi-country projects say how the work is shared; the others are split evenly.
        country_shares: list[Decimal | None] = [None] * n_countries
        if n_countries > 1 and rng.random() < 0.5:
            country_shares = [Decimal(100 // n_countries)] * n_countries
            country_shares[0] += 100 - sum(country_shares)
        budgeted = rng.random() < 0.85
        ilo_funded = modality != "XBDC"
        return {
            "sectors": list(zip(codes, shares, strict=True)),
            "country_shares": country_shares,
            "budget_amount": Decimal(rng.randrange(300, 12_000) * 1_000) if budgeted else None,
            "budget_currency": rng.choice(["USD", "USD", "EUR", "CHF"]) if budgeted else None,
            # The ILO's own funds: the ILO is the funder; a donor country's agency is a government.
            "donor_iati_ref": "XM-DAC-41302" if ilo_funded else None,
            "donor_iati_type": "40" if ilo_funded or donor_code == "EUR" else "10",
        }

    def _framework(self, world: _ProjectWorld, start: date, end: date, created: datetime) -> None:
        rng, w = self.rng, self.w
        impact_id = w.next_id(Result)
        w.add(
            Result,
            {
                "id": impact_id,
                "project_id": world.id,
                "type": "impact",
                "code": "0",
                "title": "Women and men workers enjoy their rights at work",
                "description": "",
                "parent_id": None,
                "position": 0,
                "is_archived": False,
                **self._stamps(created),
            },
            world.id,
        )
        world.result_ids.append(impact_id)
        outcomes = rng.sample(words.OUTCOMES, rng.randint(2, 3))
        position = 1
        for o_index, (title, indicators) in enumerate(outcomes, start=1):
            outcome_id = w.next_id(Result)
            w.add(
                Result,
                {
                    "id": outcome_id,
                    "project_id": world.id,
                    "type": "outcome",
                    "code": str(o_index),
                    "title": title,
                    "parent_id": impact_id,
                    "position": position,
                    **self._stamps(created),
                },
                world.id,
            )
            position += 1
            world.result_ids.append(outcome_id)
            for i_index, (ititle, measure, unit, by_sex, ascending) in enumerate(indicators):
                self._indicator(
                    world,
                    outcome_id,
                    f"{o_index}.{chr(97 + i_index)}",
                    ititle,
                    measure,
                    unit,
                    by_sex,
                    ascending,
                    i_index,
                    start,
                    end,
                    created,
                )
            for p_index, (otitle, ititle, unit, by_sex) in enumerate(
                rng.sample(words.OUTPUTS, rng.randint(1, 2)), start=1
            ):
                output_id = w.next_id(Result)
                code = f"{o_index}.{p_index}"
                w.add(
                    Result,
                    {
                        "id": output_id,
                        "project_id": world.id,
                        "type": "output",
                        "code": code,
                        "title": otitle,
                        "parent_id": outcome_id,
                        "position": position,
                        **self._stamps(created),
                    },
                    world.id,
                )
                position += 1
                world.result_ids.append(output_id)
                for k in range(rng.randint(1, 2)):
                    self._indicator(
                        world,
                        output_id,
                        f"{code}.{chr(97 + k)}",
                        ititle if k == 0 else f"{ititle} (women)",
                        "number",
                        unit,
                        by_sex and k == 0,
                        True,
                        k,
                        start,
                        end,
                        created,
                    )

    def _indicator(
        self, world, result_id, code, title, measure, unit, by_sex, ascending, position, start, end, created
    ):
        rng = self.rng
        if measure == "number":
            baseline = Decimal(rng.randrange(0, 400) * 10) if rng.random() < 0.8 else Decimal(0)
            target = (
                baseline + Decimal(rng.randrange(5, 200) * 10)
                if ascending
                else Decimal(rng.randrange(0, int(baseline) // 2 + 1))
            )
            if not ascending and baseline == 0:
                baseline, target = Decimal(150), Decimal(40)
        elif measure == "percentage":
            baseline = Decimal(rng.randrange(5, 40))
            target = min(Decimal(100), baseline + Decimal(rng.randrange(5, 40)))
        elif measure == "yes_no":
            baseline, target = Decimal(0), Decimal(1)
        else:
            baseline = target = None
        indicator_id = self.w.next_id(Indicator)
        self.w.add(
            Indicator,
            {
                "id": indicator_id,
                "result_id": result_id,
                "project_id": world.id,
                "code": code,
                "title": title,
                "measure": measure,
                "aggregation": DEFAULT_AGGREGATION[Measure(measure)].value,
                "unit": unit,
                "ascending": ascending,
                "baseline_value": baseline,
                "baseline_date": start if baseline is not None else None,
                "target_value": target,
                "target_date": end if target is not None else None,
                "disaggregate_by_sex": by_sex,
                "means_of_verification": "Union and employers' records; project monitoring reports",
                "responsible_organisation_id": None,
                "position": position,
                **self._stamps(created),
            },
            world.id,
        )
        world.indicators.append(
            {
                "id": indicator_id,
                "code": code,
                "measure": measure,
                "baseline": baseline,
                "target": target,
                "by_sex": by_sex,
            }
        )

    def _periods(self, world: _ProjectWorld, halves: list[int], created: datetime) -> list[tuple[int, int]]:
        periods = []
        for half in halves:
            start, end, label = _half(half)
            period_id = self.w.next_id(ReportingPeriod)
            self.w.add(
                ReportingPeriod,
                {
                    "id": period_id,
                    "project_id": world.id,
                    "label": label,
                    "start_date": start,
                    "end_date": end,
                    "due_date": end + timedelta(days=31),
                    **self._stamps(min(created, self._clamp(_at(start, self.rng)))),
                },
                world.id,
            )
            periods.append((half, period_id))
        return periods

    # Submissions ---------------------------------------------------------------------------------

    def _status_plan(self, half: int) -> tuple[str | None, list[str]]:
        """The final status and the history of transitions for a report of half-year `half`."""
        rng, age = self.rng, self.current_half - half
        if age == 0:
            choices = [(None, 30), ("draft", 50), ("submitted", 15), ("returned", 5)]
        elif age == 1:
            choices = [
                (None, 8),
                ("draft", 10),
                ("submitted", 30),
                ("returned", 12),
                ("approved", 38),
                ("withdrawn", 2),
            ]
        else:
            choices = [
                (None, 3),
                ("approved", 91),
                ("submitted", 2),
                ("returned", 2),
                ("withdrawn", 1),
                ("draft", 1),
            ]
        status = rng.choices([c[0] for c in choices], weights=[c[1] for c in choices])[0]
        again = rng.random() < 0.3
        history = {
            None: [],
            "draft": [],
            "submitted": ["submit", "return", "submit"] if again else ["submit"],
            "returned": ["submit", "return", "submit", "return"]
            if rng.random() < 0.1
            else ["submit", "return"],
            "approved": ["submit", "return", "submit", "approve"] if again else ["submit", "approve"],
            "withdrawn": ["submit", "return", "withdraw"] if again else ["withdraw"],
        }[status]
        return status, history

    def _values(self, world: _ProjectWorld, submission_id: int, half: int, fill: float, moment: datetime):
        """Indicator value rows for one report (not yet written) and their snapshot entries."""
        rng = self.rng
        rows, snapshot = [], {}
        progress = min(1.0, max(0.05, (half - world.first_half + 1) / 12))
        for ind in world.indicators:
            if rng.random() > fill:
                continue
            value = women = men = None
            text, not_reported, comment = "", False, ""
            measure = ind["measure"]
            if rng.random() < 0.03:
                not_reported, comment = True, "Data not yet available from the branches."
            elif measure == "number":
                base, target = ind["baseline"], ind["target"]
                share = Decimal(str(round(progress * rng.uniform(0.02, 0.12), 4)))
                value = Decimal(int(abs(target - base) * share) + rng.randrange(0, 5))
                if ind["by_sex"]:
                    women = Decimal(int(value * Decimal(str(round(rng.uniform(0.3, 0.6), 2)))))
                    men = value - women
            elif measure == "percentage":
                value = Decimal(str(round(rng.uniform(float(ind["baseline"]), float(ind["target"])), 1)))
            elif measure == "yes_no":
                value = Decimal(1 if rng.random() < progress else 0)
            else:
                text = "Unions cite the supervisory bodies' comments in their submissions to the ministry."
            rows.append(
                {
                    "id": self.w.next_id(IndicatorValue),
                    "submission_id": submission_id,
                    "indicator_id": ind["id"],
                    "value": value,
                    "women": women,
                    "men": men,
                    "text_value": text,
                    "not_reported": not_reported,
                    "comment": comment,
                    **self._stamps(moment),
                }
            )
            snapshot[str(ind["id"])] = {
                "indicator": ind["code"],
                "value": chain.to_json_value(value),
                "women": chain.to_json_value(women),
                "men": chain.to_json_value(men),
                "text_value": text,
                "not_reported": not_reported,
                "comment": comment,
            }
        return rows, dict(sorted(snapshot.items(), key=lambda kv: int(kv[0])))

    def _narrative(self, org: _Org, place: str, fill: float) -> dict[str, str]:
        rng = self.rng
        narrative = {}
        for section in NARRATIVE_SECTIONS:
            if rng.random() > fill:
                continue
            sentences = rng.sample(
                words.NARRATIVE[section], min(len(words.NARRATIVE[section]), rng.randint(1, 2))
            )
            narrative[section] = " ".join(
                s.format(org=org.name, place=place, n=rng.randint(2, 40), pct=rng.randint(25, 60))
                for s in sentences
            )
        return narrative

    def _progress_report(
        self,
        world: _ProjectWorld,
        org: _Org,
        half: int,
        period_id: int,
        place: str,
        plan: tuple[str | None, list[str]] | None = None,
    ) -> None:
        status, history = plan or self._status_plan(half)
        if status is None:
            return  # not started: overdue once the due date has passed
        rng, w = self.rng, self.w
        author = rng.choice(world.reporters[org.id])
        reviewer = rng.choice(world.specialists)
        start, end, _label = _half(half)
        day = end - timedelta(days=rng.randrange(5, 25))
        if day >= self.as_of:  # the open period: started some time since it began
            day = start + timedelta(days=rng.randrange(max(1, (self.as_of - start).days)))
        moment = created = self._clamp(_at(day, rng))
        submission_id = w.next_id(Submission)
        fill = 1.0 if history else rng.uniform(0.3, 1.0)
        narrative = self._narrative(org, place, fill)
        value_rows, values_snapshot = self._values(world, submission_id, half, fill, created)
        attachments = []
        if history and rng.random() < 0.1:
            attachments.append(
                {
                    "id": w.next_id(Attachment),
                    "submission_id": submission_id,
                    "filename": f"attendance-{_half(half)[2].replace(' ', '-').lower()}.pdf",
                    "media_type": "application/pdf",
                    "size": len(EVIDENCE_PDF),
                    "sha256": _EVIDENCE_SHA256,
                    "data": EVIDENCE_PDF,
                    "uploaded_by_id": author,
                    "created_at": created,
                    "is_deleted": False,
                }
            )
        content = {
            "narrative": dict(sorted(narrative.items())),
            "values": values_snapshot,
            "design_items": [],
            "attachments": [
                {"id": a["id"], "filename": a["filename"], "sha256": a["sha256"], "size": a["size"]}
                for a in attachments
            ],
        }
        fields = {
            "submitted_at": None,
            "submitted_by_id": None,
            "approved_at": None,
            "approved_by_id": None,
            "returned_at": None,
            "returned_by_id": None,
        }
        versions, comments = [], []
        version = 1 + rng.randrange(0, 3)  # saves of the draft
        for step in history:
            moment = self._clamp(moment + timedelta(days=rng.randint(1, 12), minutes=rng.randrange(600)))
            version += 1
            if step == "submit":
                fields["submitted_at"], fields["submitted_by_id"] = moment, author
                snapshot = (
                    content
                    if len(versions) + 1 == history.count("submit")
                    else {
                        **content,
                        "narrative": {k: v for k, v in content["narrative"].items() if k != "challenges"},
                    }
                )
                versions.append(
                    {
                        "id": w.next_id(SubmissionVersion),
                        "submission_id": submission_id,
                        "number": len(versions) + 1,
                        "content": snapshot,
                        "submitted_by_id": author,
                        "submitted_at": moment,
                    }
                )
            elif step == "return":
                fields["returned_at"], fields["returned_by_id"] = moment, reviewer
                comments.append(
                    self._comment(
                        submission_id,
                        reviewer,
                        rng.choice(words.RETURN_REASONS),
                        moment,
                        "shared",
                        rng.choice([None, "achievements", "challenges"]),
                    )
                )
                if rng.random() < 0.5:
                    reply_at = self._clamp(moment + timedelta(hours=rng.randint(2, 72)))
                    comments.append(
                        self._comment(
                            submission_id,
                            author,
                            "Thank you, we have added what was missing.",
                            reply_at,
                            "shared",
                            None,
                        )
                    )
            elif step == "approve":
                fields["approved_at"], fields["approved_by_id"] = moment, reviewer
                if rng.random() < 0.2:
                    comments.append(
                        self._comment(
                            submission_id,
                            reviewer,
                            "Approved. Thank you for the clear report.",
                            moment,
                            "shared",
                            None,
                        )
                    )
        if status == "submitted" and rng.random() < 0.2:
            comments.append(
                self._comment(
                    submission_id,
                    reviewer,
                    "Check the membership figures against last year's census.",
                    self._clamp(moment + timedelta(hours=3)),
                    "internal",
                    None,
                )
            )
        w.add(
            Submission,
            {
                "id": submission_id,
                "project_id": world.id,
                "kind": "progress_report",
                "organisation_id": org.id,
                "period_id": period_id,
                "author_id": author,
                "status": status,
                "version": version,
                "narrative": narrative,
                **fields,
                "last_edited_by_id": author,
                # The words last changed when they were last submitted (or saved, for a draft).
                "last_edited_at": fields.get("submitted_at") or moment,
                "created_at": created,
                "updated_at": moment,
            },
            world.id,
        )
        for row in versions:
            w.add(SubmissionVersion, row, world.id)
        for row in value_rows:
            w.add(IndicatorValue, row, world.id)
        for row in attachments:
            w.add(Attachment, row, world.id)
        for row in comments:
            w.add(Comment, row, world.id)
        if status == "withdrawn" and half < self.current_half and rng.random() < 0.7:
            # Started again after the withdrawal: the live report of that period.
            again = ("approved", ["submit", "approve"]) if rng.random() < 0.8 else ("draft", [])
            self._progress_report(world, org, half, period_id, place, plan=again)

    def _comment(self, submission_id, author_id, body, moment, visibility, section) -> dict[str, Any]:
        return {
            "id": self.w.next_id(Comment),
            "submission_id": submission_id,
            "author_id": author_id,
            "body": body,
            "section": section,
            "visibility": visibility,
            "created_at": moment,
        }

    def _design_inputs(
        self,
        world: _ProjectWorld,
        partners: list[_Org],
        phase: str,
        created: datetime,
        theme: str,
        place: str,
    ) -> None:
        rng, w = self.rng, self.w
        for org in partners:
            if phase == "design":
                status = rng.choices(["draft", "submitted", "approved"], weights=[40, 35, 25])[0]
            elif rng.random() < 0.85:
                status = "approved"
            else:
                continue
            author = rng.choice(world.reporters[org.id])
            reviewer = rng.choice(world.specialists)
            submission_id = w.next_id(Submission)
            moment = self._clamp(created + timedelta(days=rng.randint(5, 40)))
            items = []
            for position, kind in enumerate(rng.sample(list(words.DESIGN_ITEMS), rng.randint(3, 5))):
                items.append(
                    {
                        "id": w.next_id(DesignInputItem),
                        "submission_id": submission_id,
                        "position": position,
                        "kind": kind,
                        "text": words.DESIGN_ITEMS[kind].format(theme=theme.lower(), place=place),
                        "result_id": rng.choice(world.result_ids) if rng.random() < 0.4 else None,
                        "indicator_id": None,
                        "disposition": None,
                        "response_reason": "",
                        "responded_by_id": None,
                        "responded_at": None,
                        **self._stamps(moment),
                    }
                )
            fields = {
                "submitted_at": None,
                "submitted_by_id": None,
                "approved_at": None,
                "approved_by_id": None,
                "returned_at": None,
                "returned_by_id": None,
            }
            versions, version = [], 1
            if status in ("submitted", "approved"):
                submitted = self._clamp(moment + timedelta(days=rng.randint(1, 10)))
                fields["submitted_at"], fields["submitted_by_id"], version = submitted, author, 2
                snapshot = {
                    "narrative": {},
                    "values": {},
                    "design_items": [
                        {
                            "id": i["id"],
                            "kind": i["kind"],
                            "text": i["text"],
                            "result_id": i["result_id"],
                            "indicator_id": None,
                        }
                        for i in items
                    ],
                    "attachments": [],
                }
                versions.append(
                    {
                        "id": w.next_id(SubmissionVersion),
                        "submission_id": submission_id,
                        "number": 1,
                        "content": snapshot,
                        "submitted_by_id": author,
                        "submitted_at": submitted,
                    }
                )
                moment = submitted
            if status == "approved":
                approved = self._clamp(moment + timedelta(days=rng.randint(3, 20)))
                fields["approved_at"], fields["approved_by_id"], version = approved, reviewer, 3
                for item in items:
                    disposition = rng.choices(
                        ["incorporated", "partly", "not_incorporated"], weights=[50, 30, 20]
                    )[0]
                    item.update(
                        disposition=disposition,
                        response_reason=words.DISPOSITION_REASONS[disposition],
                        responded_by_id=reviewer,
                        responded_at=approved,
                        updated_at=approved,
                    )
                moment = approved
            w.add(
                Submission,
                {
                    "id": submission_id,
                    "project_id": world.id,
                    "kind": "design_input",
                    "organisation_id": org.id,
                    "period_id": None,
                    "author_id": author,
                    "status": status,
                    "version": version,
                    "narrative": {},
                    **fields,
                    "last_edited_by_id": author,
                    "last_edited_at": fields.get("submitted_at") or moment,
                    "created_at": created,
                    "updated_at": moment,
                },
                world.id,
            )
            for row in versions:
                w.add(SubmissionVersion, row, world.id)
            for row in items:
                w.add(DesignInputItem, row, world.id)

    # Evaluations ---------------------------------------------------------------------------------

    def _evaluations(self, world: _ProjectWorld, first: int, last: int, phase: str) -> None:
        if phase == "design":
            return
        rng, w = self.rng, self.w
        plan: list[tuple[int, str, str]] = []
        for half in range(first + 1, last + 1, 2):
            plan.append((half, "self_assessment", f"Annual self-assessment {_half(half)[0].year}"))
            if rng.random() < 0.6:
                plan.append((half, "internal_review", f"Internal review {_half(half)[0].year}"))
        plan.append(((first + last) // 2, "mid_term", "Independent mid-term evaluation"))
        if phase == "closed":
            plan.append((last, "final", "Final independent evaluation"))
        scorers = list(
            {
                user_id: group
                for user_id, group in [
                    (u, self.org_by_id[o].group) for o, us in world.reporters.items() for u in us
                ]
                + [(u, "ilo") for u in world.specialists]
                + [(u, "independent") for u in world.evaluators]
            }.items()
        )
        for half, kind, title in plan:
            opened = self._clamp(_at(_half(half)[1] - timedelta(days=rng.randrange(0, 60)), rng))
            closed = opened + timedelta(days=rng.randint(30, 80))
            is_closed = closed < self.now
            evaluation_id = w.next_id(Evaluation)
            opener = rng.choice(world.specialists)
            w.add(
                Evaluation,
                {
                    "id": evaluation_id,
                    "project_id": world.id,
                    "kind": kind,
                    "title": title,
                    "criteria_set_id": self.criteria_set_id,
                    "scale_id": self.scale_id,
                    "status": "closed" if is_closed else "open",
                    "deadline": (opened + timedelta(days=45)).date(),
                    "version": 2 if is_closed else 1,
                    "opened_by_id": opener,
                    "opened_at": opened,
                    "closed_by_id": opener if is_closed else None,
                    "closed_at": closed if is_closed else None,
                    **self._stamps(opened),
                },
                world.id,
            )
            chosen = rng.sample(scorers, min(len(scorers), rng.choice([1, 2, 2, 3])))
            bias = {
                g: rng.uniform(-1, 1) for g in ("independent", "ilo", "workers", "employers", "government")
            }
            for user_id, group in chosen:
                submitted = is_closed or rng.random() < 0.5
                card_id = w.next_id(Scorecard)
                when = self._clamp(opened + timedelta(days=rng.randint(1, 29)))
                w.add(
                    Scorecard,
                    {
                        "id": card_id,
                        "evaluation_id": evaluation_id,
                        "scorer_id": user_id,
                        "group": group,
                        "status": "submitted" if submitted else "draft",
                        "version": 2 if submitted else 1,
                        "submitted_at": when if submitted else None,
                        **self._stamps(when),
                    },
                    world.id,
                )
                criteria = (
                    self.criteria if submitted else self.criteria[: rng.randrange(0, len(self.criteria) + 1)]
                )
                for criterion_id in criteria:
                    cannot = rng.random() < 0.05
                    point = (
                        None
                        if cannot
                        else max(
                            self.points[0], min(self.points[-1], round(4.2 + bias[group] + rng.gauss(0, 0.9)))
                        )
                    )
                    w.add(
                        Score,
                        {
                            "id": w.next_id(Score),
                            "scorecard_id": card_id,
                            "criterion_id": criterion_id,
                            "point": point,
                            "cannot_assess": cannot,
                            "justification": "We did not take part in this part of the project."
                            if cannot
                            else rng.choice(words.JUSTIFICATIONS),
                            "evidence": [{"type": "indicator", "id": rng.choice(world.indicators)["id"]}]
                            if world.indicators and rng.random() < 0.2
                            else [],
                            **self._stamps(when),
                        },
                        world.id,
                    )
            if is_closed and kind != "self_assessment":
                author = rng.choice(world.evaluators)
                for position in range(rng.randint(2, 4)):
                    responded = rng.random() < 0.85
                    w.add(
                        Recommendation,
                        {
                            "id": w.next_id(Recommendation),
                            "evaluation_id": evaluation_id,
                            "position": position,
                            "text": rng.choice(words.RECOMMENDATIONS),
                            "addressed_to": rng.choice(
                                [
                                    "ILO ACTRAV",
                                    "ILO and partner unions",
                                    "Employers' and workers' organisations",
                                ]
                            ),
                            "created_by_id": author,
                            "response": rng.choice(["accepted", "partially_accepted", "rejected"])
                            if responded
                            else None,
                            "planned_action": "Discuss with the partners at the next steering committee."
                            if responded
                            else "",
                            "due_date": (closed + timedelta(days=rng.randint(60, 365))).date()
                            if responded
                            else None,
                            "action_status": rng.choice(
                                ["not_started", "in_progress", "completed", "cancelled"]
                            )
                            if responded
                            else None,
                            "responded_by_id": opener if responded else None,
                            "responded_at": self._clamp(closed + timedelta(days=rng.randint(5, 40)))
                            if responded
                            else None,
                            **self._stamps(closed),
                        },
                        world.id,
                    )


def _bisect(cumulative: list[float], x: float) -> int:
    lo, hi = 0, len(cumulative) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if cumulative[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


def _sha256(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


_EVIDENCE_SHA256 = _sha256(EVIDENCE_PDF)
