"""The activity simulation's other point movements: owner adjustments and redemptions (only when
the balance, tier, stock and limit allow them then; rejected and cancelled ones refunded), and
the top-ups that bring the totals to the plan."""

from __future__ import annotations

import heapq
from bisect import bisect

from bench.seed_program import DAY, EV_REDEEM, HOUR, TIER_NAMES, AdvocateState, at, at_or_none
from bench.seed_state import SimulationState

POSITIVE_ADJUSTMENTS = (
    "Event attendance: Acme Summit",
    "Customer advisory call (offline)",
    "Beta program feedback",
    "User group meetup host",
    "Points from the partner portal",
    "Welcome bonus",
    "Goodwill: delayed shipment",
    "Booth help at the roadshow",
    "Translated a help article",
    "Bug report that led to a fix",
)

NEGATIVE_ADJUSTMENTS = (
    "Correction: points awarded twice",
    "Correction: event not attended",
    "Correction: duplicate review",
)


class PointsActivity(SimulationState):
    """Simulation's adjustments and redemptions (mixed into bench.seed_activity.Simulation)."""

    def _adjust(self, a: AdvocateState, t: float) -> None:
        """An owner's adjustment (rewards.services.adjust_points): never below a zero balance."""
        rng = self.rng
        if rng.random() < 0.1 and a.balance >= 25:
            delta = -min(a.balance, rng.choice((25, 50, 100, 150, 250)))
            memo = rng.choice(NEGATIVE_ADJUSTMENTS)
        else:
            delta = rng.choice((25, 50, 50, 75, 100, 100, 150, 200, 250, 500))
            memo = rng.choice(POSITIVE_ADJUSTMENTS)
        self._entry(a.id, delta, "adjust", "adjustment", f"{rng.getrandbits(128):032x}", memo, t, self.staff.owner)
        self.adjustments += 1
        a.balance += delta
        if delta > 0:
            self._lifetime(a, t, delta)

    def _redeem(self, a: AdvocateState, t: float, tries: int) -> None:
        """rewards.services.redeem_reward at `t`; with nothing affordable, try again later."""
        rng = self.rng
        u = rng.uniform
        options = [
            r
            for r in self.rewards
            if r.available_from <= t < r.available_until
            and r.cost <= a.balance
            and a.rank >= r.min_rank
            and (r.stock is None or self.stock_held[r.id] < r.stock)
            and (r.limit is None or a.held.get(r.id, 0) < r.limit)
        ]
        if not options:
            later = t + u(20, 60) * DAY
            if tries < 8 and later < self.now:
                self._push(a, later, EV_REDEEM, tries + 1)
            return
        reward = rng.choices(options, [r.weight for r in options])[0]
        rid = self.rdid
        self.rdid += 1
        cost = reward.cost
        a.balance -= cost
        self._entry(a.id, -cost, "redeem", "redemption", rid, f"Redeemed: {reward.name}", t, None)
        manager = rng.choice(self.staff.managers)
        decided = decided_by = fulfilled = fulfilled_by = cancelled = reason = fulfil_note = refund = None
        if reward.requires_approval:
            status = "requested"
            if rng.random() < 0.05 and (moment := t + u(HOUR, 2 * DAY)) <= self.now:
                status, cancelled, refund = "cancelled", moment, (moment, "cancelled")
            elif (moment := t + u(4 * HOUR, 5 * DAY)) <= self.now:
                decided, decided_by = moment, manager
                if rng.random() < 0.08:
                    status, reason, refund = (
                        "rejected",
                        "We could not verify your shipping details.",
                        (moment, "declined"),
                    )
                else:
                    status = "approved"
        else:
            status, decided = "approved", t
        if status == "approved" and decided is not None and (moment := decided + u(0.5 * DAY, 21 * DAY)) <= self.now:
            if rng.random() < 0.02:
                status, reason, refund = "rejected", "We cannot ship this reward to your region.", (moment, "declined")
                decided, decided_by = moment, manager
            else:
                status, fulfilled, fulfilled_by = "fulfilled", moment, manager
                fulfil_note = f"Tracking 1Z{rng.getrandbits(40):010X}" if reward.cost < 5000 else None
        if refund is not None:
            moment, why = refund
            self._entry(a.id, cost, "refund", "redemption", rid, f"Refund: {reward.name} ({why})", moment, None)
            self._credit(a, moment, cost, False)
        else:
            self.stock_held[reward.id] += 1
            a.held[reward.id] = a.held.get(reward.id, 0) + 1
        updated = max(x for x in (t, decided, fulfilled, cancelled) if x is not None)
        note = rng.choice((None, None, None, "Size L, please", "Ship to the office"))
        client_key = f"{rng.getrandbits(64):016x}" if rng.random() < 0.5 else None
        self.redemptions.append(
            (
                rid,
                reward.id,
                a.id,
                cost,
                status,
                note,
                reason,
                fulfil_note,
                client_key,
                at(t),
                at(updated),
                at_or_none(decided),
                decided_by,
                at_or_none(fulfilled),
                fulfilled_by,
                at_or_none(cancelled),
            )
        )

    def _more_redemptions(self, missing: int) -> None:
        """Redemptions the light advocates at the end could not afford: the richest advocates
        redeem once more, after their last event (their final balance covers it)."""
        if missing <= 0:
            return
        people = self.people
        for i in sorted(range(len(people.ids)), key=lambda k: -self.balance[k]):
            if missing <= 0 or self.balance[i] <= 0:
                break
            a = AdvocateState(i, people.ids[i], people.groups[i], people.refs_ok[i], people.personal_caps[i])
            a.balance, a.lifetime, a.rank = self.balance[i], self.lifetime[i], self.rank[i]
            a.held = self.held_by.get(i, {})
            t = self.rng.uniform(max(self.last[i], people.joined[i]), self.now)
            before = self.rdid
            self._redeem(a, t, tries=99)
            while a.events:  # a refund, if it was declined
                moment, _, _, (delta, _) = heapq.heappop(a.events)
                a.balance += delta
                a.last = max(a.last, moment)
            if self.rdid > before:
                missing -= 1
                self.balance[i], self.last[i] = a.balance, max(t, a.last)

    def _top_up(self, missing: int) -> None:
        """Owner adjustments that land the ledger on the planned total: each dated after the
        advocate's last event, so nothing that happened earlier changes."""
        if missing <= 0:
            return
        rng = self.rng
        people = self.people
        cum: list[float] = []
        running = 0.0
        for w in self.weights:
            running += w
            cum.append(running)
        if running <= 0:
            return
        for _ in range(missing):
            i = min(len(cum) - 1, bisect(cum, rng.random() * running))
            begin = max(self.last[i], people.joined[i], self.history_start)
            t = rng.uniform(begin, self.now) if begin < self.now else self.now
            delta = rng.choice((25, 50, 100, 150, 250))
            self._entry(
                people.ids[i],
                delta,
                "adjust",
                "adjustment",
                f"{rng.getrandbits(128):032x}",
                rng.choice(POSITIVE_ADJUSTMENTS),
                t,
                self.staff.owner,
            )
            self.adjustments += 1
            self.last[i] = t
            self.lifetime[i] += delta
            rank = 2 if self.lifetime[i] >= self.gold else 1 if self.lifetime[i] >= self.silver else 0
            if rank > self.rank[i]:
                self.tier_changes.append((self.tcid, people.ids[i], TIER_NAMES[self.rank[i]], TIER_NAMES[rank], at(t)))
                self.tcid += 1
                self.rank[i] = rank
            if len(self.ledger) >= self.loader.batch:
                self.loader.flush()
