"""The demo program `make run` seeds: one user per role and ~30 advocates in groups; the other
packages' demo seeders add the rest (ledger history across tiers, rewards, challenges …)."""

from __future__ import annotations

import datetime as dt
import random

from hub import accounts, tier_totals
from hub.consent import record_acceptance
from hub.db import utcnow
from hub.hooks import hooks
from hub.models import Role

ADVOCATES = [
    # name, email, company, industry, size, region, groups
    ("Ada Lovelace", "ada@example.com", "Analytical Engines", "Software", "201-1000", "EMEA", ["EMEA"]),
    ("Grace Hopper", "grace@example.com", "Navy Systems", "Government", "5000+", "NA", ["Healthcare CIOs"]),
    ("Alan Turing", "alan@example.com", "Bletchley Labs", "Security", "51-200", "EMEA", ["EMEA"]),
    ("Katherine Johnson", "katherine@example.com", "Langley Aero", "Aerospace", "1001-5000", "NA", []),
    ("Linus Torvalds", "linus@example.com", "Kernel Co", "Software", "1-50", "EMEA", ["EMEA"]),
    ("Margaret Hamilton", "margaret@example.com", "Apollo Guidance", "Aerospace", "201-1000", "NA", []),
    ("Tim Berners-Lee", "tim@example.com", "WebWorks", "Software", "51-200", "EMEA", ["EMEA"]),
    ("Radia Perlman", "radia@example.com", "Spanning Trees", "Networking", "1001-5000", "NA", ["Healthcare CIOs"]),
    ("Barbara Liskov", "barbara@example.com", "Substitution Inc", "Software", "201-1000", "NA", []),
    ("Donald Knuth", "donald@example.com", "TAOCP Press", "Publishing", "1-50", "NA", []),
    (
        "Frances Allen",
        "frances@example.com",
        "Optimizing Compilers",
        "Software",
        "5000+",
        "NA",
        ["Enterprise", "Beta testers"],
    ),
    (
        "Edsger Dijkstra",
        "edsger@example.com",
        "Shortest Path BV",
        "Logistics",
        "201-1000",
        "EMEA",
        ["EMEA", "Enterprise"],
    ),
    ("Hedy Lamarr", "hedy@example.com", "Frequency Hopping", "Telecom", "1001-5000", "EMEA", ["EMEA"]),
    ("John Backus", "john@example.com", "Formula Translators", "Finance", "5000+", "NA", ["Enterprise"]),
    ("Sophie Wilson", "sophie@example.com", "Acorn Silicon", "Hardware", "201-1000", "EMEA", ["EMEA", "Beta testers"]),
    ("Ken Thompson", "ken@example.com", "Bell Systems", "Telecom", "5000+", "NA", ["Enterprise"]),
    ("Dennis Ritchie", "dennis@example.com", "C Language Labs", "Software", "1001-5000", "NA", []),
    ("Jean Sammet", "jean@example.com", "Cobol Partners", "Finance", "1001-5000", "NA", ["Healthcare CIOs"]),
    ("Kristen Nygaard", "kristen@example.com", "Simula Oslo", "Education", "51-200", "EMEA", ["EMEA"]),
    ("Annie Easley", "annie@example.com", "Centaur Rockets", "Aerospace", "1001-5000", "NA", ["Beta testers"]),
    ("Shafi Goldwasser", "shafi@example.com", "Zero Knowledge", "Security", "51-200", "NA", []),
    ("Vint Cerf", "vint@example.com", "TCP Interconnect", "Networking", "5000+", "NA", ["Enterprise"]),
    ("Lynn Conway", "lynn@example.com", "VLSI Design", "Hardware", "201-1000", "NA", ["Beta testers"]),
    ("Niklaus Wirth", "niklaus@example.com", "Pascal Systems", "Education", "51-200", "EMEA", ["EMEA"]),
    ("Adele Goldberg", "adele@example.com", "Smalltalk Studio", "Software", "51-200", "NA", []),
    ("Leslie Lamport", "leslie@example.com", "Paxos Clocks", "Software", "201-1000", "NA", ["Enterprise"]),
    ("Evelyn Boyd", "evelyn@example.com", "Orbit Analytics", "Healthcare", "1001-5000", "NA", ["Healthcare CIOs"]),
    ("Carl Sassenrath", "carl@example.com", "Amiga Kernel", "Media", "1-50", "NA", []),
    ("Mary Kenneth Keller", "mary@example.com", "Basic Health", "Healthcare", "201-1000", "NA", ["Healthcare CIOs"]),
    ("Whitfield Diffie", "whitfield@example.com", "Key Exchange Ltd", "Security", "51-200", "EMEA", ["EMEA"]),
]
# Job titles of the people who champion a product inside their company.
TITLES = [
    "Director of Engineering",
    "Head of Data",
    "VP Operations",
    "Analytics Lead",
    "CTO",
    "Product Manager",
    "IT Director",
    "Business Intelligence Manager",
    "Chief Information Officer",
    "Senior Data Analyst",
    "Head of Customer Success",
    "Platform Engineering Manager",
    "Finance Systems Lead",
]
# Where the demo advocates read their times (hub.timezones); a few have not chosen (UTC).
ZONES = {
    "EMEA": ["Europe/London", "Europe/Berlin", "Europe/Paris", "Europe/Amsterdam", None],
    "NA": ["America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", None],
}
# Advocates who chose to stay off the leaderboard (shown as "Anonymous advocate").
PRIVATE = {"shafi@example.com", "ken@example.com"}


def seed(password: str) -> str:
    """Create the demo program in the caller's transaction (the CLI commits once): hub's staff
    and advocates, then every package's demo seeder (points history, rewards, challenges …)."""
    rng = random.Random(7)
    staff = [
        ("Olivia Owner", "owner@example.com", Role.OWNER),
        ("Manny Manager", "manager@example.com", Role.MANAGER),
        ("Sam Sales", "sales@example.com", Role.SALES),
    ]
    for name, email, role in staff:
        accounts.create_user(email, name, role, password)
    now = utcnow()
    for n, (name, email, company, industry, size, region, groups) in enumerate(ADVOCATES):
        profile = accounts.AdvocateProfile(
            email=email,
            name=name,
            company=company,
            industry=industry,
            company_size=size,
            region=region,
            groups=tuple(groups),
            title=TITLES[n % len(TITLES)],
        )
        advocate = accounts.create_advocate(profile, None, password)
        tier_totals.move_join(advocate, now - dt.timedelta(days=rng.randint(60, 400)))
        record_acceptance(advocate, "2026-01", at=advocate.joined_at)
        advocate.show_on_leaderboard = email not in PRIVATE
        advocate.time_zone = ZONES[region][n % len(ZONES[region])]
        advocate.last_activity_at = now - dt.timedelta(days=rng.randint(0, 30))
    extra = hooks().run_demo_seeders()
    return f"Seeded 3 staff users and {len(ADVOCATES)} advocates{extra}. Password for all: {password}"
