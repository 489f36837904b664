"""The seeded advocates (users, profiles, group memberships) and the name pools shared by the seeder.

Advocate companies come from a pool of 20,000 customer names; CRM prospects come from a disjoint
pool, so an opportunity matches advocates' companies (a `same_account` touch) only when the
seeder means it to.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from dataclasses import dataclass

import click

CONSENT_VERSION = "2026-01"
BENCH_PASSWORD_HASH = "!bench-no-login"  # noqa: S105 - not a hash: bench advocates use API tokens
GROUPS = ("EMEA", "Healthcare CIOs", "Product Council", "APAC Champions", "Startups", "Enterprise", "Beta testers")
INDUSTRIES = ("Software", "Healthcare", "Finance", "Retail", "Manufacturing", "Education", "Government", "Media")
SIZES = ("1-50", "51-200", "201-1000", "1001-5000", "5000+")
REGIONS = ("NA", "EMEA", "APAC", "LATAM")
JOB_TITLES = (
    "Director of Engineering",
    "VP Analytics",
    "Head of Data",
    "BI Lead",
    "CTO",
    "Data Engineer",
    "Product Manager",
    "Operations Manager",
    "CFO",
    "Analytics Manager",
    "IT Director",
)
FIRST_NAMES = (
    "Ada",
    "Grace",
    "Alan",
    "Katherine",
    "Linus",
    "Margaret",
    "Tim",
    "Radia",
    "Barbara",
    "Donald",
    "Frances",
    "Edsger",
    "Hedy",
    "John",
    "Sophie",
    "Ken",
    "Dennis",
    "Jean",
    "Kristen",
    "Annie",
    "Shafi",
    "Vint",
    "Lynn",
    "Niklaus",
    "Adele",
    "Leslie",
    "Evelyn",
    "Carl",
    "Mary",
    "Whitfield",
    "Priya",
    "Wei",
    "Amara",
    "Diego",
    "Fatima",
    "Hiroshi",
    "Ingrid",
    "Kwame",
    "Lucia",
    "Mateo",
    "Nadia",
    "Omar",
    "Sofia",
    "Tariq",
    "Yuki",
    "Zara",
)
LAST_NAMES = (
    "Lovelace",
    "Hopper",
    "Turing",
    "Johnson",
    "Torvalds",
    "Hamilton",
    "Perlman",
    "Liskov",
    "Knuth",
    "Allen",
    "Dijkstra",
    "Lamarr",
    "Backus",
    "Wilson",
    "Thompson",
    "Ritchie",
    "Sammet",
    "Nygaard",
    "Easley",
    "Goldwasser",
    "Cerf",
    "Conway",
    "Wirth",
    "Goldberg",
    "Lamport",
    "Boyd",
    "Keller",
    "Diffie",
    "Patel",
    "Chen",
    "Okafor",
    "Garcia",
    "Haddad",
    "Tanaka",
    "Larsen",
    "Mensah",
    "Rossi",
    "Silva",
    "Novak",
    "Farouk",
    "Kowalski",
    "Nakamura",
    "Osei",
    "Moreau",
)
_PREFIX = (
    "Blue",
    "North",
    "Silver",
    "Bright",
    "Iron",
    "Green",
    "Summit",
    "Clear",
    "Rapid",
    "Golden",
    "Red",
    "Open",
    "True",
    "Swift",
    "Stone",
    "Cedar",
    "Maple",
    "Harbor",
    "Pioneer",
    "Atlas",
    "Nova",
    "Crest",
    "Prime",
    "Polar",
    "Sun",
    "River",
    "Echo",
    "Vertex",
    "Lumen",
    "Oak",
    "Pine",
    "Falcon",
    "Granite",
    "Quantum",
    "Beacon",
    "Orbit",
    "Metro",
    "Apex",
    "Delta",
    "Coral",
)
_CORE = (
    "peak",
    "field",
    "bridge",
    "wave",
    "line",
    "point",
    "gate",
    "works",
    "path",
    "stack",
    "forge",
    "leaf",
    "rock",
    "light",
    "view",
    "side",
    "ridge",
    "core",
    "mark",
    "port",
    "shore",
    "grid",
    "stream",
    "wing",
    "spring",
)
_CUSTOMER = (
    "Analytics",
    "Systems",
    "Health",
    "Labs",
    "Logistics",
    "Capital",
    "Retail",
    "Foods",
    "Energy",
    "Media",
    "Software",
    "Networks",
    "Robotics",
    "Insurance",
    "Bank",
    "Motors",
    "Pharma",
    "Studios",
    "Partners",
    "Group",
)
_PROSPECT = ("Inc", "Corp", "Holdings", "Technologies", "Industries", "Co", "Solutions", "International")
CUSTOMERS = tuple(f"{p}{c} {s}" for s in _CUSTOMER for p in _PREFIX for c in _CORE)  # 20,000
PROSPECTS = tuple(f"{p}{c} {s}" for s in _PROSPECT for p in _PREFIX for c in _CORE)  # 8,000, none a customer


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


@dataclass
class People:
    """The seeded advocates, indexed 0..n-1 (ids are consecutive from `first`)."""

    first: int
    ids: list[int]
    emails: list[str]
    joined: list[float]
    groups: list[frozenset[int]]
    refs_ok: list[bool]
    personal_caps: list[int | None]
    companies: list[str]
    industries: list[str]
    sizes: list[str]
    regions: list[str]
    prospects: tuple[str, ...] = PROSPECTS

    @property
    def last(self) -> int:
        return self.first + len(self.ids) - 1


USER_COLUMNS = ("id", "email", "name", "role", "password_hash", "is_active_user", "created_at", "last_login_at")
ADVOCATE_COLUMNS = (
    "id",
    "user_id",
    "title",
    "company",
    "industry",
    "company_size",
    "region",
    "tier",
    "tier_changed_at",
    "balance",
    "lifetime_points",
    "show_on_leaderboard",
    "available_for_references",
    "max_asks_per_quarter",
    "preferences",
    "consent_version",
    "consented_at",
    "joined_at",
    "last_activity_at",
    "is_erased",
)


def ensure_groups(now: dt.datetime) -> list[int]:
    """The usual groups (created when missing); returns every group id."""
    from sqlalchemy import insert, select

    from hub.extensions import db
    from hub.models import Group

    existing = set(db.session.scalars(select(Group.name)))
    missing = [{"name": g, "created_at": now} for g in GROUPS if g not in existing]
    if missing:
        db.session.execute(insert(Group), missing)
    return list(db.session.scalars(select(Group.id).order_by(Group.id)))


def seed_people(
    count: int, rng: random.Random, loader, ids, now: dt.datetime, tag: str, group_ids: list[int]
) -> People:
    """`count` advocates, each with a user, a company from CUSTOMERS and 0–2 groups."""
    users = loader.rows("users")
    advocates = loader.rows("advocates")
    memberships = loader.rows("advocate_groups")
    first_user = ids.take("users", count)
    first = ids.take("advocates", count)
    people = People(first, [], [], [], [], [], [], [], [], [], [])
    with click.progressbar(length=count, label="advocates".ljust(22), show_pos=True) as bar:
        for i in range(count):
            _advocate(i, rng, now, tag, first_user, first, group_ids, users, advocates, memberships, people)
            if i % 5000 == 4999:
                loader.maybe_flush()
                bar.update(5000)
        bar.update(count % 5000)
    return people


def _advocate(
    i: int,
    rng: random.Random,
    now: dt.datetime,
    tag: str,
    first_user: int,
    first: int,
    group_ids: list[int],
    users: list,
    advocates: list,
    memberships: list,
    people: People,
) -> None:
    joined = now - dt.timedelta(days=rng.randint(1, 1500), seconds=rng.randint(0, 86_399))
    email = f"bench{tag}-{i}@example.com"
    company = rng.choice(CUSTOMERS)
    industry, size, region = rng.choice(INDUSTRIES), rng.choice(SIZES), rng.choice(REGIONS)
    refs_ok = rng.random() > 0.2
    personal = rng.choice((1, 2, 3)) if rng.random() < 0.03 else None  # their own max_asks_per_quarter
    groups = frozenset(rng.sample(group_ids, k=min(len(group_ids), rng.choice((0, 1, 1, 2)))))
    users.append(
        (
            first_user + i,
            email,
            f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
            "advocate",
            BENCH_PASSWORD_HASH,
            True,
            joined,
            None,
        )
    )
    advocates.append(
        (
            first + i,
            first_user + i,
            rng.choice(JOB_TITLES),
            company,
            industry,
            size,
            region,
            "bronze",
            None,
            0,
            0,
            rng.random() > 0.1,
            refs_ok,
            personal,
            {},
            CONSENT_VERSION,
            joined,
            joined,
            joined,
            False,
        )
    )
    for gid in sorted(groups):
        memberships.append((first + i, gid))
    people.ids.append(first + i)
    people.emails.append(email)
    people.joined.append(joined.timestamp())
    people.groups.append(groups)
    people.refs_ok.append(refs_ok)
    people.personal_caps.append(personal)
    people.companies.append(company)
    people.industries.append(industry)
    people.sizes.append(size)
    people.regions.append(region)
