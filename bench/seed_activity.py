"""Each advocate's history, replayed in time order by the rules the services apply.

For every advocate the simulation draws a timeline of events — challenge submissions, referrals,
reference calls, redemptions, owner adjustments — and replays it chronologically with a heap, so
each decision sees the advocate as they were at that instant:

- a completion is only created where submit_completion would allow it: the challenge's window,
  targeting (groups; tier from lifetime points at that time), one undecided completion per
  (challenge, advocate), max_per_advocate, cooldown, max_total (approved + in flight) and the
  caps policy (rolling windows over the asks still active then — a rejected completion releases
  its ask); verification follows the type's verifier (link checks, graded quizzes, manual review,
  community, CRM, sales feedback), and a decision later than now leaves it in flight;
- an approval writes the `earn` entry approve_completion writes (("completion", id), memo
  "<title> approved", created when decided), which reaches the balance at that moment;
- redemptions only happen when the balance then covers the price, the tier allows it, stock and
  the per-advocate limit remain; rejected and cancelled ones are refunded;
- referrals (flagged when self/existing-user/already-referred), their `referral` completion,
  the CRM outcome (opportunity → approval; won → the ("referral_won", id) bonus); reference
  requests with their assignment (declined, pending, accepted, completed with feedback and the
  `reference_call` completion claimed at the time of the ask), and tier changes as they happen.

Asks are written for ask completions and reference assignments of the last 365 days (every cap
reads only that window). Per-advocate quotas are handed out in proportion to a heavy-tailed
activity weight, adjusting as the run goes so the totals land on the plan.
"""

from __future__ import annotations

import datetime as dt
import heapq
import random

import click

from bench.seed_challenges import ChallengeSpec
from bench.seed_completions import CompletionActivity
from bench.seed_people import (
    People,
)
from bench.seed_points import PointsActivity
from bench.seed_program import (
    DAY,
    EV_ADJUST,
    EV_COMPLETE,
    EV_CREDIT,
    EV_REDEEM,
    EV_REFCALL,
    EV_REFERRAL,
    HISTORY_DAYS,
    HOUR,
    TIER_NAMES,
    YEAR,
    AdvocateState,
    Staff,
    at,
)
from bench.seed_references import ReferenceActivity
from bench.seed_rewards import RewardSpec


def _alloc(rng: random.Random, remaining: float, weight: float, weight_left: float) -> int:
    if remaining <= 0 or weight_left <= 0:
        return 0
    x = remaining * min(1.0, weight / weight_left)
    n = int(x)
    return n + (1 if rng.random() < x - n else 0)


class Simulation(CompletionActivity, PointsActivity, ReferenceActivity):
    """Replays every seeded advocate's history; rows go to the loader's buffers as they are made."""

    def __init__(
        self,
        plan,
        rng: random.Random,
        loader,
        ids,
        now: dt.datetime,
        people: People,
        staff: Staff,
        challenges: list[ChallengeSpec],
        rewards: list[RewardSpec],
        tag: str,
    ) -> None:
        from hub.settings import get_setting

        self.plan, self.rng, self.loader, self.ids, self.people, self.staff = plan, rng, loader, ids, people, staff
        self.tag = tag
        self.now = now.timestamp()
        self.history_start = self.now - HISTORY_DAYS * DAY
        self.origin = self.history_start - DAY
        self.ask_cutoff = self.now - YEAR
        thresholds = get_setting("tier_thresholds")
        self.silver, self.gold = int(thresholds["silver"]), int(thresholds["gold"])
        policy = get_setting("caps_policy")

        def limit(key: str) -> int | None:
            value = policy.get(key)
            return value if isinstance(value, int) and not isinstance(value, bool) else None

        self.kind_rules = {
            "reference_call": (limit("reference_calls_per_30_days"), 30 * DAY),
            "medium": (limit("medium_asks_per_60_days"), 60 * DAY),
            "high": (limit("high_asks_per_90_days"), 90 * DAY),
        }
        self.annual = limit("asks_per_365_days")
        self.specs = challenges
        self.referral_specs = sorted((c for c in challenges if c.type == "referral"), key=lambda c: c.id)
        self.refcall_specs = sorted((c for c in challenges if c.type == "reference_call"), key=lambda c: c.id)
        self.case_studies = [c.title for c in challenges if c.type == "case_study"][:5]
        self.rewards = rewards
        self.taken = {c.id: 0 for c in challenges}
        self.stock_held = {r.id: 0 for r in rewards}
        self._build_day_pools()

        self.completions = loader.rows("completions")
        self.ledger = loader.rows("ledger_entries")
        self.asks = loader.rows("asks")
        self.redemptions = loader.rows("redemptions")
        self.referrals = loader.rows("referrals")
        self.requests = loader.rows("reference_requests")
        self.assignments = loader.rows("reference_assignments")
        self.tier_changes = loader.rows("tier_changes")
        self.cid = ids.peek("completions")
        self.lid = ids.peek("ledger_entries")
        self.aid = ids.peek("asks")
        self.rdid = ids.peek("redemptions")
        self.rfid = ids.peek("referrals")
        self.rqid = ids.peek("reference_requests")
        self.asgid = ids.peek("reference_assignments")
        self.tcid = ids.peek("tier_changes")
        self.first = {
            name: getattr(self, attr)
            for name, attr in (
                ("completions", "cid"),
                ("ledger_entries", "lid"),
                ("asks", "aid"),
                ("redemptions", "rdid"),
                ("referrals", "rfid"),
                ("reference_requests", "rqid"),
                ("reference_assignments", "asgid"),
                ("tier_changes", "tcid"),
            )
        }
        self.adjustments = 0
        self.claimed_keys: list[str] = []
        # For the CRM phase: referrals that became opportunities, reference requests linked to deals.
        self.crm_referrals: list[tuple] = []
        self.crm_requests: list[tuple] = []
        n = len(people.ids)
        self.lifetime = [0] * n
        self.balance = [0] * n
        self.held_by: dict[int, dict[int, int]] = {}
        self.rank = [0] * n
        self.last = [0.0] * n

    # --- set-up -----------------------------------------------------------------------------

    def _build_day_pools(self) -> None:
        """Per day of history: the challenges one can submit to directly, with cumulative weights."""
        days = HISTORY_DAYS + 2
        pools: list[tuple[list[ChallengeSpec], list[float]]] = [([], []) for _ in range(days)]
        for spec in self.specs:
            if spec.weight <= 0 or spec.start >= self.now:
                continue
            first = max(0, int((spec.start - self.origin) // DAY))
            last = min(days - 1, int((min(spec.end, self.now) - self.origin) // DAY))
            for d in range(first, last + 1):
                members, cum = pools[d]
                members.append(spec)
                cum.append((cum[-1] if cum else 0.0) + spec.weight)
        self.pools = pools

    # --- the run ----------------------------------------------------------------------------

    def run(self) -> dict[str, int]:
        plan, rng, people = self.plan, self.rng, self.people
        n = len(people.ids)
        full = self.now - self.history_start
        self.weights = [
            min(rng.paretovariate(1.2), 150.0) * max(0.0, self.now - max(j, self.history_start)) / full
            for j in people.joined
        ]
        weight_left = sum(self.weights) or 1.0
        refcall_target = round(plan.reference_requests * 0.8)
        static_filler = max(
            0,
            plan.ledger
            - round(plan.completions * 0.87)
            - round(plan.redemptions * 1.06)
            - round(plan.referrals * 0.06),
        )
        with click.progressbar(length=n, label="advocate activity".ljust(22), show_pos=True) as bar:
            # The busiest advocates go first: what they cannot take (limits, caps) is handed on to
            # lighter ones, who have room for it.
            order = sorted(range(n), key=lambda k: -self.weights[k])
            for step, i in enumerate(order):
                w = self.weights[i]
                referrals_left = plan.referrals - self.count("referrals")
                refcalls_left = refcall_target - self.count("reference_requests")
                # Referrals and reference calls bring their own completions (about 3 in 4 of them).
                upcoming = 0.75 * (max(0, referrals_left) + max(0, refcalls_left))
                generic = _alloc(rng, plan.completions - self.count("completions") - upcoming, w, weight_left)
                referrals = _alloc(rng, referrals_left, w, weight_left)
                refcalls = _alloc(rng, refcalls_left, w, weight_left)
                redeem = _alloc(rng, plan.redemptions - self.count("redemptions"), w, weight_left)
                made = self.count("completions")
                if made > 0.02 * plan.completions:  # entries per completion so far, times the plan
                    projected = (self.count("ledger_entries") - self.adjustments) / made * plan.completions
                    filler = 0.97 * max(0.0, plan.ledger - projected)
                else:
                    filler = 0.97 * static_filler
                adjust = _alloc(rng, filler - self.adjustments, w, weight_left)
                self._advocate(i, generic, referrals, refcalls, adjust, redeem)
                weight_left -= w
                self.loader.maybe_flush()
                if step % 500 == 499:
                    bar.update(500)
            bar.update(n % 500)
        self._more_redemptions(plan.redemptions - self.count("redemptions"))
        self._top_up(plan.ledger - self.count("ledger_entries"))
        self._unassigned_requests(plan.reference_requests - self.count("reference_requests"))
        self.loader.flush()
        counts = {name: self.count(name) for name in self.first}
        for name in self.first:
            self.ids.set(name, self.first[name] + counts[name])
        return counts | {"adjustments": self.adjustments}

    def count(self, name: str) -> int:
        attr = {
            "completions": "cid",
            "ledger_entries": "lid",
            "asks": "aid",
            "redemptions": "rdid",
            "referrals": "rfid",
            "reference_requests": "rqid",
            "reference_assignments": "asgid",
            "tier_changes": "tcid",
        }[name]
        return getattr(self, attr) - self.first[name]

    # --- one advocate -----------------------------------------------------------------------

    def _advocate(self, i: int, generic: int, referrals: int, refcalls: int, adjust: int, redeem: int) -> None:
        p = self.people
        start = max(p.joined[i], self.history_start)
        span = self.now - start
        if span < HOUR:
            return
        a = AdvocateState(i, p.ids[i], p.groups[i], p.refs_ok[i], p.personal_caps[i])
        random = self.rng.random
        events = a.events
        seq = 0
        # Activity picks up over time (density rises towards now); redemptions come later still.
        for kind, count, skew in (
            (EV_COMPLETE, generic, 0.8),
            (EV_REFERRAL, referrals, 0.8),
            (EV_REFCALL, refcalls, 0.8),
            (EV_ADJUST, adjust, 0.9),
            (EV_REDEEM, redeem, 0.5),
        ):
            for _ in range(count):
                events.append((start + span * random() ** skew, seq, kind, 0))
                seq += 1
        a.seq = seq
        heapq.heapify(events)
        pop = heapq.heappop
        while events:
            t, _, kind, data = pop(events)
            if kind == EV_CREDIT:
                delta, lifetime = data
                a.balance += delta
                if lifetime:
                    self._lifetime(a, t, delta)
            elif kind == EV_COMPLETE:
                self._complete(a, t)
            elif kind == EV_ADJUST:
                self._adjust(a, t)
            elif kind == EV_REDEEM:
                self._redeem(a, t, data)
            elif kind == EV_REFERRAL:
                self._referral(a, t)
            else:
                self._refcall(a, t)
            if t > a.last:
                a.last = t
        self.lifetime[i], self.rank[i], self.last[i], self.balance[i] = a.lifetime, a.rank, a.last, a.balance
        if a.held:
            self.held_by[i] = a.held

    def _push(self, a: AdvocateState, t: float, kind: int, data) -> None:
        heapq.heappush(a.events, (t, a.seq, kind, data))
        a.seq += 1

    def _credit(self, a: AdvocateState, t: float, delta: int, lifetime: bool) -> None:
        self._push(a, t, EV_CREDIT, (delta, lifetime))

    def _lifetime(self, a: AdvocateState, t: float, points: int) -> None:
        a.lifetime += points
        rank = 2 if a.lifetime >= self.gold else 1 if a.lifetime >= self.silver else 0
        if rank > a.rank:
            self.tier_changes.append((self.tcid, a.id, TIER_NAMES[a.rank], TIER_NAMES[rank], at(t)))
            self.tcid += 1
            a.rank = rank

    def _entry(
        self,
        advocate_id: int,
        delta: int,
        kind: str,
        source_type: str,
        source_id,
        memo: str,
        t: float,
        actor: int | None,
    ) -> None:
        self.ledger.append((self.lid, advocate_id, delta, kind, source_type, str(source_id), memo[:255], at(t), actor))
        self.lid += 1

    # --- the rules ----------------------------------------------------------------------------

    # --- after every advocate ---------------------------------------------------------------
