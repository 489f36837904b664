"""The seeded challenge catalog.

Challenges cover every type in `challenges.verifiers.TYPES` with the type's effort, verification
and evidence, a lifecycle that matches their status (drafts never published; closed and archived
ones published first; some published ones upcoming or past their end date), and the window in
which advocates could submit — which is what the activity simulation samples."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from bench.seed_program import DAY, HISTORY_DAYS, INF, TIER_RANK, Staff, at, ts

# type: (catalog share %, points range, max_per_advocate choices, cooldown-day choices, popularity)
TYPE_MIX: dict[str, tuple[float, tuple[int, int], tuple[int, ...], tuple[int, ...], float]] = {
    "review": (10, (100, 300), (1, 1, 1, 1, 2), (0,), 1.0),
    "social_share": (14, (25, 100), (1, 3, 5, 10), (0, 7, 14, 30), 2.0),
    "community_answer": (6, (50, 100), (5, 10, 20, 50), (0,), 1.5),
    "quiz": (10, (20, 60), (1,), (0,), 1.2),
    "survey": (8, (20, 50), (1,), (0,), 1.2),
    "referral": (4, (200, 500), (10, 20, 50), (0,), 0.0),  # only through referrals
    "reference_call": (3, (300, 600), (10, 20, 50), (0,), 0.0),  # only through reference requests
    "webinar": (12, (100, 200), (1, 1, 2, 3), (30,), 0.6),
    "case_study": (5, (1000, 2500), (1,), (0,), 0.15),
    "speaking": (5, (1500, 3000), (1, 2), (180,), 0.1),
    "advisory_board": (4, (800, 1500), (1, 2, 4), (90,), 0.15),
    "custom": (19, (25, 300), (1, 1, 2, 3, 5), (0, 0, 30), 0.8),
}


TITLES = {
    "review": (
        "Review us on G2",
        "Review us on Capterra",
        "Review us on TrustRadius",
        "Rate us on Gartner Peer Insights",
    ),
    "social_share": (
        "Share our launch post",
        "Share the customer story",
        "Post about the new dashboard",
        "Share our benchmark report",
    ),
    "community_answer": ("Answer a community question", "Help a peer in the forum", "Answer an integration question"),
    "quiz": ("Product knowledge quiz", "Dashboards quiz", "Security basics quiz", "Release notes quiz"),
    "survey": ("Tell us how you use Acme", "Roadmap survey", "Onboarding survey", "Support experience survey"),
    "referral": ("Refer a peer", "Refer a colleague in finance", "Refer a friend at another company"),
    "reference_call": ("Take a reference call", "Talk to a prospect in your industry"),
    "webinar": (
        "Join the spring webinar",
        "Attend the analytics masterclass",
        "Join the roadmap live session",
        "Attend office hours",
    ),
    "case_study": ("Be our next case study", "Co-write a customer story", "Star in a video testimonial"),
    "speaking": ("Speak at Acme Summit", "Present at a user group", "Join a panel at the roadshow"),
    "advisory_board": ("Join the customer advisory board", "Join the product council session"),
    "custom": (
        "Send us a photo of your team",
        "Record a 30-second tip",
        "Nominate a colleague",
        "Test a beta feature",
        "Write a how-to for the knowledge base",
    ),
}


EDITIONS = (
    "",
    "Q1",
    "Q2",
    "Q3",
    "Q4",
    "spring",
    "summer",
    "autumn",
    "winter",
    "EMEA",
    "APAC",
    "NA",
    "launch week",
    "2.0 release",
    "healthcare",
    "finance",
    "retail",
    "partners",
)


REVIEW_SITES = ("g2.com", "capterra.com", "trustradius.com", "gartner.com")


SOCIAL_SITES = ("linkedin.com", "x.com", "mastodon.social")


QUIZ = {
    "questions": [
        {
            "prompt": "Which report shows influenced pipeline?",
            "options": ["Attribution", "Audit log", "Badges"],
            "answer": 0,
        },
        {
            "prompt": "How many reference calls does the default policy allow per 30 days?",
            "options": ["1", "3", "5"],
            "answer": 0,
        },
        {"prompt": "Where do you set tier thresholds?", "options": ["Settings", "Profile", "Leaderboard"], "answer": 0},
    ],
    "pass_mark": 2,
}


SURVEY = {
    "questions": [
        {"prompt": "What do you use us for most?", "options": [], "answer": None},
        {"prompt": "How likely are you to recommend us?", "options": ["0–6", "7–8", "9–10"], "answer": None},
    ],
    "pass_mark": None,
}


@dataclass(slots=True)
class ChallengeSpec:
    """A challenge as the simulation needs it; times are POSIX seconds."""

    id: int
    type: str
    title: str
    points: int
    bonus: int
    effort: str
    verification: str
    ask_kind: str | None
    start: float  # submissions possible in [start, end)
    end: float
    max_per: int
    cooldown: float
    max_total: int | None
    tiers: frozenset[int] | None  # tier ranks it targets; None = all
    groups: frozenset[int] | None  # group ids it targets; None = all
    weight: float
    marker: str | None
    domain: str | None
    quiz: dict | None
    is_open: bool  # published and in date now


def _type_counts(n: int) -> dict[str, int]:
    shares = {t: mix[0] for t, mix in TYPE_MIX.items()}
    minimum = 1 if n >= len(shares) else 0
    counts = {t: minimum for t in shares}
    rest = n - minimum * len(shares)
    total = sum(shares.values())
    exact = {t: rest * s / total for t, s in shares.items()}
    for t in shares:
        counts[t] += int(exact[t])
    left = n - sum(counts.values())
    for t in sorted(shares, key=lambda t: exact[t] - int(exact[t]), reverse=True)[:left]:
        counts[t] += 1
    return counts


def _round(points: float) -> int:
    step = 25 if points >= 500 else 5
    return max(step, int(round(points / step) * step))


def seed_challenges(
    loader, ids, rng: random.Random, n: int, now: dt.datetime, group_ids: list[int], staff: Staff
) -> list[ChallengeSpec]:
    """`n` challenges: ~10% draft, ~33% published (most of them open now), the rest closed or
    archived; the first challenge of each type is an evergreen open one."""
    from challenges.verifiers import TYPES, ask_kind_for

    rows = loader.rows("challenges")
    links = loader.rows("challenge_groups")
    now_s = ts(now)
    specs: list[ChallengeSpec] = []
    order = [t for t, count in _type_counts(n).items() for _ in range(count)]
    first_of_type: set[str] = set()
    rng.shuffle(order)
    cid = ids.take("challenges", len(order))
    for ctype in order:
        _share, (low, high), per_choices, cooldowns, popularity = TYPE_MIX[ctype]
        spec_type = TYPES[ctype]
        effort = spec_type.effort.value
        if ctype == "custom":
            effort = rng.choices(("low", "medium", "high"), (80, 15, 5))[0]
        kind = ask_kind_for(ctype, effort)
        ask_kind = kind.value if kind is not None else None
        evergreen = ctype not in first_of_type  # the type's first challenge: always open
        first_of_type.add(ctype)
        title = TITLES[ctype][0] if evergreen else rng.choice(TITLES[ctype])
        edition = rng.choice(EDITIONS)
        if edition and not evergreen:
            title = f"{title} ({edition})"
        points = _round(rng.uniform(low, high))
        bonus = _round(rng.uniform(500, 2000)) if ctype == "referral" else 0
        max_per = rng.choice(per_choices)
        cooldown_days = rng.choice(cooldowns) if max_per > 1 else 0
        max_total = None
        if ctype in ("speaking", "case_study", "advisory_board") and rng.random() < 0.6:
            max_total = rng.randint(5, 60)
        elif ctype in ("webinar", "custom") and rng.random() < 0.15:
            max_total = rng.randint(200, 2000)
        tiers: list[str] = []
        if (effort == "high" and rng.random() < 0.35) or rng.random() < 0.03:
            tiers = rng.choice((["silver", "gold"], ["gold"]))
        groups = rng.sample(group_ids, k=rng.choice((1, 1, 2))) if group_ids and rng.random() < 0.1 else []
        domain = marker = None
        if ctype == "review":
            domain, marker = rng.choice(REVIEW_SITES), "Acme Analytics"
        elif ctype == "social_share":
            domain, marker = rng.choice(SOCIAL_SITES), "acme.example/launch"
        quiz = QUIZ if ctype == "quiz" else SURVEY if ctype == "survey" else None

        if evergreen:
            tiers, groups, max_total = [], [], None
            status = "published"
        else:
            status = rng.choices(("draft", "published", "closed", "archived"), (10, 33, 37, 20))[0]
        created, published, starts, ends, closed, archived = _lifecycle(rng, status, evergreen, now_s)
        start = max(x for x in (published, starts) if x is not None) if published is not None else INF
        end = min(x for x in (ends, closed, archived, now_s + 10 * 365 * DAY) if x is not None)
        is_open = status == "published" and (starts is None or starts <= now_s) and (ends is None or now_s < ends)
        if is_open:
            end = INF  # still open: no end within the simulated history
        updated = max(x for x in (created, published, closed, archived) if x is not None)
        cb = rng.choice([staff.owner, *staff.managers])
        description = f"{spec_type.how_to}\n\n**{points:,} points.** " + (
            "A few minutes of your time." if effort == "low" else "Thank you for your time."
        )
        rows.append(
            (
                cid,
                title,
                ctype,
                description,
                points,
                bonus,
                None,
                effort,
                spec_type.verification,
                list(spec_type.evidence),
                [domain] if domain else [],
                marker,
                quiz,
                cooldown_days,
                max_per,
                max_total,
                _dt(starts),
                _dt(ends),
                tiers,
                status,
                cb,
                at(created),
                at(updated),
                _dt(published),
                _dt(closed),
                _dt(archived),
            )
        )
        for gid in groups:
            links.append((cid, gid))
        specs.append(
            ChallengeSpec(
                id=cid,
                type=ctype,
                title=title,
                points=points,
                bonus=bonus,
                effort=effort,
                verification=spec_type.verification,
                ask_kind=ask_kind,
                start=start,
                end=end,
                max_per=max_per,
                cooldown=cooldown_days * DAY,
                max_total=max_total,
                tiers=frozenset(TIER_RANK[t] for t in tiers) if tiers else None,
                groups=frozenset(groups) if groups else None,
                weight=popularity * rng.lognormvariate(0, 0.6),
                marker=marker,
                domain=domain,
                quiz=quiz,
                is_open=is_open,
            )
        )
        cid += 1
    return specs


CHALLENGE_COLUMNS = (
    "id",
    "title",
    "type",
    "description",
    "points",
    "bonus_points",
    "question_id",
    "effort",
    "verification",
    "evidence",
    "allowed_domains",
    "marker",
    "quiz",
    "cooldown_days",
    "max_per_advocate",
    "max_total",
    "starts_at",
    "ends_at",
    "target_tiers",
    "status",
    "created_by_id",
    "created_at",
    "updated_at",
    "published_at",
    "closed_at",
    "archived_at",
)


def _dt(seconds: float | None) -> dt.datetime | None:
    return None if seconds is None else at(seconds)


def _lifecycle(rng: random.Random, status: str, evergreen: bool, now: float):
    """created, published, starts, ends, closed, archived (POSIX seconds or None) for a status."""
    u = rng.uniform
    starts = ends = closed = archived = published = None
    if evergreen:
        created = now - u(600, HISTORY_DAYS) * DAY
        return created, created + u(0, 5) * DAY, None, None, None, None
    if status == "draft":
        created = now - u(1, 120) * DAY
        if rng.random() < 0.3:
            starts = now + u(5, 60) * DAY
        return created, None, starts, None, None, None
    if status == "published":
        kind = rng.choices(("open", "upcoming", "expired"), (85, 5, 10))[0]
        if kind == "upcoming":
            created = now - u(1, 30) * DAY
            published = min(created + u(0, 1) * DAY, now - 600)
            starts = now + u(2, 30) * DAY
            ends = starts + u(14, 90) * DAY if rng.random() < 0.6 else None
            return created, published, starts, ends, None, None
        created = now - u(2 if kind == "open" else 60, HISTORY_DAYS) * DAY
        published = min(created + u(0, 10) * DAY, now - DAY)
        if rng.random() < 0.5:
            starts = min(published + u(0, 3) * DAY, now - 3600)
        begin = starts or published
        if kind == "open":
            ends = now + u(3, 120) * DAY if rng.random() < 0.4 else None
        else:
            ends = begin + u(14, 180) * DAY
            if ends >= now:
                ends = max(begin + DAY, now - u(1, 30) * DAY)
        return created, published, starts, ends, None, None
    created = now - u(60 if status == "closed" else 120, HISTORY_DAYS) * DAY
    if status == "archived" and rng.random() < 0.15:  # archived straight from draft
        return created, None, None, None, None, min(created + u(1, 30) * DAY, now - DAY)
    published = min(created + u(0, 10) * DAY, now - 40 * DAY)
    if rng.random() < 0.3:
        starts = published + u(0, 3) * DAY
    if rng.random() < 0.4:
        ends = (starts or published) + u(14, 180) * DAY
    if status == "closed" or rng.random() < 0.7:
        closed = min(published + u(14, 365) * DAY, now - 2 * DAY)
    if status == "archived":
        archived = min((closed or published + u(14, 300) * DAY) + u(1, 60) * DAY, now - DAY)
        if closed is not None and closed > archived:
            closed = archived
    if ends is not None and ends > now:
        ends = None
    return created, published, starts, ends, closed, archived
