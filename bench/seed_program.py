"""The seeded program's frame: its timeline (seconds since the epoch, the history window, the
kinds of event), the tiers' order, the staff users who decide, assign and file requests, and
the state the activity simulation keeps per advocate."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

HOUR = 3600.0
DAY = 86_400.0
QUARTER = 90 * DAY
YEAR = 365 * DAY
# The kinds of event in an advocate's timeline (bench.seed_activity replays them in time order).
EV_CREDIT, EV_COMPLETE, EV_REFERRAL, EV_REFCALL, EV_ADJUST, EV_REDEEM = range(6)


INF = float("inf")


HISTORY_DAYS = 760


TIER_RANK = {"bronze": 0, "silver": 1, "gold": 2}


TIER_NAMES = ("bronze", "silver", "gold")


@dataclass
class Staff:
    owner: int
    managers: list[int]
    sales: list[tuple[int, str]]


def ts(value: dt.datetime) -> float:
    return value.timestamp()


def at(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


def at_or_none(seconds: float | None) -> dt.datetime | None:
    return None if seconds is None else at(seconds)


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


class AdvocateState:
    """One advocate as the activity simulation sees them at the current instant of their timeline."""

    __slots__ = (
        "asks",
        "balance",
        "events",
        "groups",
        "held",
        "i",
        "id",
        "last",
        "lifetime",
        "per_ch",
        "personal",
        "rank",
        "refs_ok",
        "seq",
    )

    def __init__(self, i: int, advocate_id: int, groups: frozenset[int], refs_ok: bool, personal: int | None):
        self.i, self.id, self.groups, self.refs_ok, self.personal = i, advocate_id, groups, refs_ok, personal
        self.balance = self.lifetime = self.rank = 0
        self.per_ch: dict[int, list[float]] = {}  # challenge id → [counting, last counting submit, busy until]
        self.asks: list[tuple[float, str, float]] = []  # (asked, kind, released)
        self.held: dict[int, int] = {}
        self.events: list[tuple] = []
        self.seq = 0
        self.last = 0.0
