"""The seeded program's fixed parts: staff users, the challenge catalog and the reward catalog.

Challenges cover every type in `challenges.verifiers.TYPES` with the type's effort, verification
and evidence, a lifecycle that matches their status (drafts never published; closed and archived
ones published first; some published ones upcoming or past their end date), and the window in
which advocates could submit — which is what the activity simulation samples.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

DAY = 86_400.0
INF = float("inf")
HISTORY_DAYS = 760

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
TIER_RANK = {"bronze": 0, "silver": 1, "gold": 2}
TIER_NAMES = ("bronze", "silver", "gold")

REWARDS = (
    # name, kind, points, stock, min tier, per-advocate limit, requires approval
    ("Acme sticker pack", "swag", 150, None, "bronze", 3, False),
    ("Acme mug", "swag", 400, None, "bronze", 2, False),
    ("Acme T-shirt", "swag", 600, 5000, "bronze", 2, False),
    ("Acme hoodie", "swag", 1500, 2000, "bronze", 1, False),
    ("Wireless charger", "swag", 1800, 1500, "bronze", 1, False),
    ("Noise-cancelling headphones", "swag", 9000, 300, "gold", 1, True),
    ("Backpack", "swag", 2500, 1200, "silver", 1, False),
    ("Water bottle", "swag", 350, None, "bronze", 3, False),
    ("$10 coffee card", "gift_card", 1000, None, "bronze", None, False),
    ("$25 Amazon gift card", "gift_card", 2500, None, "bronze", None, True),
    ("$50 Amazon gift card", "gift_card", 5000, None, "silver", None, True),
    ("$100 Visa gift card", "gift_card", 10000, 800, "gold", 4, True),
    ("$25 bookstore card", "gift_card", 2500, None, "bronze", None, False),
    ("Donate $10 to Code.org", "donation", 1000, None, "bronze", None, False),
    ("Donate $25 to Girls Who Code", "donation", 2500, None, "bronze", None, False),
    ("Plant 10 trees", "donation", 800, None, "bronze", None, False),
    ("Donate $50 to Doctors Without Borders", "donation", 5000, None, "silver", None, False),
    ("Acme Summit ticket", "experience", 12000, 150, "gold", 1, True),
    ("Dinner with the product team", "experience", 8000, 40, "gold", 1, True),
    ("Executive briefing seat", "experience", 6000, 60, "silver", 1, True),
    ("Certification exam voucher", "experience", 4000, 500, "silver", 1, True),
    ("Early access to the beta", "access", 500, None, "bronze", 1, False),
    ("Roadmap preview session", "access", 1200, 400, "silver", 1, False),
    ("Private Slack channel with engineers", "access", 2000, None, "silver", 1, False),
    ("Office hours with the CTO", "access", 3000, 100, "gold", 1, True),
    ("Premium support upgrade (1 month)", "access", 3500, None, "silver", 2, True),
    ("Conference travel stipend", "experience", 20000, 25, "gold", 1, True),
    ("Limited-edition jacket", "swag", 4500, 250, "silver", 1, False),
    ("Training course seat", "access", 7000, 200, "silver", 1, True),
    ("Retired: 2024 summit tote", "swag", 300, 600, "bronze", 1, False),
)


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


@dataclass(slots=True)
class RewardSpec:
    id: int
    name: str
    cost: int
    stock: int | None
    min_rank: int
    limit: int | None
    requires_approval: bool
    available_from: float
    available_until: float
    weight: float


@dataclass
class Staff:
    owner: int
    managers: list[int]
    sales: list[tuple[int, str]]


def ts(value: dt.datetime) -> float:
    return value.timestamp()


def at(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


def seed_staff(loader, ids, rng: random.Random, tag: str, now: dt.datetime, hash_: str) -> Staff:
    """One owner, six managers and forty sales users (they decide, assign and file requests)."""
    users = loader.rows("users")
    first = ids.take("users", 47)
    roles = ["owner"] + ["manager"] * 6 + ["sales"] * 40
    names = []
    for i, role in enumerate(roles):
        name = f"Bench {role.title()} {i}"
        names.append(name)
        users.append(
            (
                first + i,
                f"bench{tag}-{role}{i}@example.com",
                name,
                role,
                hash_,
                True,
                now - dt.timedelta(days=HISTORY_DAYS + rng.randint(1, 60)),
                None,
            )
        )
    return Staff(first, list(range(first + 1, first + 7)), [(first + i, names[i]) for i in range(7, 47)])


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
        ask_kind = ask_kind_for(ctype, effort)
        ask_kind = ask_kind.value if ask_kind is not None else None
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


REWARD_COLUMNS = (
    "id",
    "name",
    "description",
    "description_html",
    "kind",
    "points_cost",
    "stock_total",
    "stock_remaining",
    "min_tier",
    "per_advocate_limit",
    "requires_approval",
    "is_active",
    "image_name",
    "created_at",
    "updated_at",
    "created_by_id",
)


def seed_rewards(loader, ids, rng: random.Random, n: int, now: dt.datetime, staff: Staff) -> list[RewardSpec]:
    """`n` catalog items (cycling through REWARDS); stock_remaining is set once redemptions exist."""
    from hub.markup import render_markdown

    rows = loader.rows("rewards")
    specs: list[RewardSpec] = []
    now_s = ts(now)
    rid = ids.take("rewards", n)
    for i in range(n):
        name, kind, cost, stock, tier, limit, approval = REWARDS[i % len(REWARDS)]
        if i >= len(REWARDS):
            name = f"{name} #{i // len(REWARDS) + 1}"
        retired = name.startswith("Retired")
        created = now_s - rng.uniform(30, HISTORY_DAYS) * DAY
        until = now_s - rng.uniform(30, 200) * DAY if retired else INF
        description = f"**{name}**. Redeem for {cost:,} points." + (" Ships worldwide." if kind == "swag" else "")
        rows.append(
            (
                rid + i,
                name,
                description,
                render_markdown(description),
                kind,
                cost,
                stock,
                stock,
                tier,
                limit,
                approval,
                not retired,
                None,
                at(created),
                at(min(until, now_s)),
                staff.owner,
            )
        )
        specs.append(
            RewardSpec(
                rid + i,
                name,
                cost,
                stock,
                TIER_RANK[tier],
                limit,
                approval,
                created,
                until,
                weight=3000 / cost * rng.uniform(0.5, 1.5),
            )
        )
    return specs
