"""The demo program `make run` seeds: one user per role and ~30 advocates across tiers and groups,
with ledger history spread over the last months (so month and quarter boards are populated)."""

from __future__ import annotations

import datetime as dt
import random

from hub import services
from hub.db import utcnow
from hub.models import Role
from hub.providers import run_demo_seeders

ADVOCATES = [
    # name, email, company, industry, size, region, groups, lifetime points
    ("Ada Lovelace", "ada@example.com", "Analytical Engines", "Software", "201-1000", "EMEA", ["EMEA"], 1450),
    ("Grace Hopper", "grace@example.com", "Navy Systems", "Government", "5000+", "NA", ["Healthcare CIOs"], 5600),
    ("Alan Turing", "alan@example.com", "Bletchley Labs", "Security", "51-200", "EMEA", ["EMEA"], 820),
    ("Katherine Johnson", "katherine@example.com", "Langley Aero", "Aerospace", "1001-5000", "NA", [], 2300),
    ("Linus Torvalds", "linus@example.com", "Kernel Co", "Software", "1-50", "EMEA", ["EMEA"], 400),
    ("Margaret Hamilton", "margaret@example.com", "Apollo Guidance", "Aerospace", "201-1000", "NA", [], 3900),
    ("Tim Berners-Lee", "tim@example.com", "WebWorks", "Software", "51-200", "EMEA", ["EMEA"], 150),
    (
        "Radia Perlman",
        "radia@example.com",
        "Spanning Trees",
        "Networking",
        "1001-5000",
        "NA",
        ["Healthcare CIOs"],
        1120,
    ),
    ("Barbara Liskov", "barbara@example.com", "Substitution Inc", "Software", "201-1000", "NA", [], 60),
    ("Donald Knuth", "donald@example.com", "TAOCP Press", "Publishing", "1-50", "NA", [], 0),
    (
        "Frances Allen",
        "frances@example.com",
        "Optimizing Compilers",
        "Software",
        "5000+",
        "NA",
        ["Enterprise", "Beta testers"],
        7200,
    ),
    (
        "Edsger Dijkstra",
        "edsger@example.com",
        "Shortest Path BV",
        "Logistics",
        "201-1000",
        "EMEA",
        ["EMEA", "Enterprise"],
        5400,
    ),
    ("Hedy Lamarr", "hedy@example.com", "Frequency Hopping", "Telecom", "1001-5000", "EMEA", ["EMEA"], 980),
    ("John Backus", "john@example.com", "Formula Translators", "Finance", "5000+", "NA", ["Enterprise"], 2650),
    (
        "Sophie Wilson",
        "sophie@example.com",
        "Acorn Silicon",
        "Hardware",
        "201-1000",
        "EMEA",
        ["EMEA", "Beta testers"],
        1890,
    ),
    ("Ken Thompson", "ken@example.com", "Bell Systems", "Telecom", "5000+", "NA", ["Enterprise"], 5150),
    ("Dennis Ritchie", "dennis@example.com", "C Language Labs", "Software", "1001-5000", "NA", [], 3300),
    ("Jean Sammet", "jean@example.com", "Cobol Partners", "Finance", "1001-5000", "NA", ["Healthcare CIOs"], 700),
    ("Kristen Nygaard", "kristen@example.com", "Simula Oslo", "Education", "51-200", "EMEA", ["EMEA"], 530),
    ("Annie Easley", "annie@example.com", "Centaur Rockets", "Aerospace", "1001-5000", "NA", ["Beta testers"], 1250),
    ("Shafi Goldwasser", "shafi@example.com", "Zero Knowledge", "Security", "51-200", "NA", [], 6100),
    ("Vint Cerf", "vint@example.com", "TCP Interconnect", "Networking", "5000+", "NA", ["Enterprise"], 2050),
    ("Lynn Conway", "lynn@example.com", "VLSI Design", "Hardware", "201-1000", "NA", ["Beta testers"], 310),
    ("Niklaus Wirth", "niklaus@example.com", "Pascal Systems", "Education", "51-200", "EMEA", ["EMEA"], 1600),
    ("Adele Goldberg", "adele@example.com", "Smalltalk Studio", "Software", "51-200", "NA", [], 890),
    ("Leslie Lamport", "leslie@example.com", "Paxos Clocks", "Software", "201-1000", "NA", ["Enterprise"], 240),
    (
        "Evelyn Boyd",
        "evelyn@example.com",
        "Orbit Analytics",
        "Healthcare",
        "1001-5000",
        "NA",
        ["Healthcare CIOs"],
        1760,
    ),
    ("Carl Sassenrath", "carl@example.com", "Amiga Kernel", "Media", "1-50", "NA", [], 120),
    (
        "Mary Kenneth Keller",
        "mary@example.com",
        "Basic Health",
        "Healthcare",
        "201-1000",
        "NA",
        ["Healthcare CIOs"],
        430,
    ),
    ("Whitfield Diffie", "whitfield@example.com", "Key Exchange Ltd", "Security", "51-200", "EMEA", ["EMEA"], 50),
]
# Advocates who chose to stay off the leaderboard (shown as "Anonymous advocate").
PRIVATE = {"shafi@example.com", "ken@example.com"}
MEMOS = [
    "Review on G2 approved",
    "Reference call",
    "Webinar attended",
    "Community answer accepted",
    "Case study interview",
    "Referral became a customer",
    "Product feedback session",
]


def seed(password: str) -> str:
    """Create the demo program in the caller's transaction (the CLI commits once)."""
    from rewards.ledger import post_entry
    from rewards.models import EntryKind
    from rewards.services import adjust_points

    rng = random.Random(7)
    staff = [
        ("Olivia Owner", "owner@example.com", Role.OWNER),
        ("Manny Manager", "manager@example.com", Role.MANAGER),
        ("Sam Sales", "sales@example.com", Role.SALES),
    ]
    owner = None
    for name, email, role in staff:
        user = services.create_user(email, name, role, password)
        owner = owner or user
    now = utcnow()
    for name, email, company, industry, size, region, groups, points in ADVOCATES:
        profile = services.AdvocateProfile(
            email=email,
            name=name,
            company=company,
            industry=industry,
            company_size=size,
            region=region,
            groups=tuple(groups),
            title="Director of Engineering",
        )
        advocate = services.create_advocate(profile, None, password)
        advocate.joined_at = now - dt.timedelta(days=rng.randint(60, 400))
        advocate.consent_version = "2026-01"
        advocate.consented_at = advocate.joined_at
        remaining, n = points, 0
        while remaining > 0:
            chunk = min(remaining, rng.choice([50, 100, 150, 250, 500]))
            when = now - dt.timedelta(days=rng.randint(0, 200), hours=rng.randint(0, 23))
            post_entry(advocate.id, chunk, EntryKind.EARN, "demo", f"{advocate.id}-{n}", rng.choice(MEMOS), at=when)
            remaining -= chunk
            n += 1
        advocate.show_on_leaderboard = email not in PRIVATE
        advocate.last_activity_at = now - dt.timedelta(days=rng.randint(0, 30))
        if email == "ada@example.com":
            adjust_points(advocate.id, 25, "Welcome gift for joining the beta", owner.id)
    extra = run_demo_seeders()
    return f"Seeded 3 staff users and {len(ADVOCATES)} advocates{extra}. Password for all: {password}"
