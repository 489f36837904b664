"""The demo program `make run` seeds: one user per role and a dozen advocates with history."""

from __future__ import annotations

import datetime as dt
import random

from hub import services
from hub.db import utcnow
from hub.models import Role
from hub.providers import run_demo_seeders

ADVOCATES = [
    ("Ada Lovelace", "ada@example.com", "Analytical Engines", "Software", "201-1000", "EMEA", ["EMEA"], 1450),
    ("Grace Hopper", "grace@example.com", "Navy Systems", "Government", "5000+", "NA", ["Healthcare CIOs"], 5600),
    ("Alan Turing", "alan@example.com", "Bletchley Labs", "Security", "51-200", "EMEA", ["EMEA"], 820),
    ("Katherine Johnson", "katherine@example.com", "Langley Aero", "Aerospace", "1001-5000", "NA", [], 2300),
    ("Linus Torvalds", "linus@example.com", "Kernel Co", "Software", "1-50", "EMEA", ["EMEA"], 400),
    ("Margaret Hamilton", "margaret@example.com", "Apollo Guidance", "Aerospace", "201-1000", "NA", [], 3900),
    ("Tim Berners-Lee", "tim@example.com", "WebWorks", "Software", "51-200", "EMEA", ["EMEA"], 150),
    ("Radia Perlman", "radia@example.com", "Spanning Trees", "Networking", "1001-5000", "NA",
     ["Healthcare CIOs"], 1120),
    ("Barbara Liskov", "barbara@example.com", "Substitution Inc", "Software", "201-1000", "NA", [], 60),
    ("Donald Knuth", "donald@example.com", "TAOCP Press", "Publishing", "1-50", "NA", [], 0),
]


def seed(password: str) -> str:
    from rewards.ledger import post_entry
    from rewards.models import EntryKind

    rng = random.Random(7)
    staff = [
        ("Olivia Owner", "owner@example.com", Role.OWNER),
        ("Manny Manager", "manager@example.com", Role.MANAGER),
        ("Sam Sales", "sales@example.com", Role.SALES),
    ]
    for name, email, role in staff:
        services.create_user(email, name, role, password)
    now = utcnow()
    for name, email, company, industry, size, region, groups, points in ADVOCATES:
        profile = services.AdvocateProfile(
            email=email, name=name, company=company, industry=industry, company_size=size,
            region=region, groups=tuple(groups), title="Director of Engineering",
        )
        advocate = services.create_advocate(profile, None, password)
        advocate.joined_at = now - dt.timedelta(days=rng.randint(60, 400))
        advocate.consent_version = "2026-01"
        advocate.consented_at = advocate.joined_at
        remaining, n = points, 0
        while remaining > 0:
            chunk = min(remaining, rng.choice([50, 100, 150, 250, 500]))
            when = now - dt.timedelta(days=rng.randint(0, 200), hours=rng.randint(0, 23))
            post_entry(advocate.id, chunk, EntryKind.EARN, "demo", f"{advocate.id}-{n}",
                       rng.choice(["Review on G2 approved", "Reference call", "Webinar attended",
                                   "Community answer accepted", "Case study interview"]), at=when)
            remaining -= chunk
            n += 1
        advocate.last_activity_at = now - dt.timedelta(days=rng.randint(0, 30))
    extra = run_demo_seeders()
    return f"Seeded 3 staff users and {len(ADVOCATES)} advocates{extra}. Password for all: {password}"
