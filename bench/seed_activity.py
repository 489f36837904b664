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
from bisect import bisect
from decimal import Decimal

import click

from bench.seed_catalog import DAY, HISTORY_DAYS, INF, TIER_NAMES, ChallengeSpec, RewardSpec, Staff, at
from bench.seed_people import (
    FIRST_NAMES,
    INDUSTRIES,
    JOB_TITLES,
    LAST_NAMES,
    REGIONS,
    SIZES,
    People,
    slug,
)

YEAR = 365 * DAY
QUARTER = 90 * DAY
HOUR = 3600.0
EV_CREDIT, EV_COMPLETE, EV_REFERRAL, EV_REFCALL, EV_ADJUST, EV_REDEEM = range(6)

COMPLETION_COLUMNS = (
    "id",
    "challenge_id",
    "advocate_id",
    "status",
    "evidence_url",
    "evidence_text",
    "answers",
    "points_offered",
    "points_awarded",
    "reason",
    "verification_note",
    "fetched_excerpt",
    "verification_attempts",
    "source_key",
    "submitted_at",
    "verifying_started_at",
    "decided_at",
    "decided_by_id",
    "is_auto_approved",
)
LEDGER_COLUMNS = (
    "id",
    "advocate_id",
    "delta",
    "kind",
    "source_type",
    "source_id",
    "memo",
    "created_at",
    "created_by_id",
)
ASK_COLUMNS = ("id", "advocate_id", "kind", "source_type", "source_id", "asked_at", "cancelled_at")
REDEMPTION_COLUMNS = (
    "id",
    "reward_id",
    "advocate_id",
    "points",
    "status",
    "note",
    "reason",
    "fulfil_note",
    "client_key",
    "created_at",
    "updated_at",
    "decided_at",
    "decided_by_id",
    "fulfilled_at",
    "fulfilled_by_id",
    "cancelled_at",
)
REFERRAL_COLUMNS = (
    "id",
    "advocate_id",
    "name",
    "email",
    "email_key",
    "claimed_email_key",
    "company",
    "title",
    "notes",
    "consent",
    "status",
    "flag_reason",
    "flag_reviewed_at",
    "challenge_id",
    "completion_id",
    "no_points_reason",
    "points",
    "bonus_points",
    "created_at",
    "opportunity_at",
    "won_at",
)
REQUEST_COLUMNS = (
    "id",
    "requested_by_id",
    "prospect_company",
    "industry",
    "company_size",
    "region",
    "use_case",
    "stage",
    "deal_amount",
    "currency",
    "needed_by",
    "format",
    "topics",
    "opportunity_external_id",
    "status",
    "advocate_id",
    "created_at",
    "matched_at",
    "accepted_at",
    "completed_at",
    "unfilled_at",
    "unfilled_note",
    "alternatives",
    "feedback_rating",
    "feedback_notes",
    "feedback_helped",
    "feedback_by_id",
    "completion_id",
    "points_note",
)
ASSIGNMENT_COLUMNS = ("id", "request_id", "advocate_id", "assigned_by_id", "status", "asked_at", "responded_at")
TIER_CHANGE_COLUMNS = ("id", "advocate_id", "from_tier", "to_tier", "changed_at")

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
MANUAL_TEXT = {
    "webinar": "Joined the session and asked about exports.",
    "case_study": "Happy to share how we rolled out dashboards to 400 users.",
    "speaking": "Spoke at the regional user group about our analytics journey.",
    "advisory_board": "Joined the quarterly board meeting on the roadmap.",
    "custom": "Done — details in the shared folder.",
}
REJECT_REASONS = (
    "We could not find your session in the attendance list.",
    "The link does not show your review.",
    "Please add a few details about what you did.",
    "This was already counted under another challenge.",
)
USE_CASES = (
    "Usage analytics",
    "Compliance reporting",
    "Executive dashboards",
    "Data connectors",
    "Forecasting",
    "Customer health scoring",
    "Embedded analytics",
)
TOPICS = ("rollout", "support", "security review", "pricing", "integrations", "change management", "ROI")
FEEDBACK = (
    "Great call, very candid.",
    "Helped the champion make the case.",
    "Prospect asked about pricing.",
    None,
    None,
)
CAP_REASON = "A cap protecting this advocate has been reached."
REASONS = {
    "closed": "This challenge is not open for submissions.",
    "untargeted": "Challenge not found.",
    "already": "You have already sent this in; it is being checked.",
    "limit": "You have completed this challenge as many times as it allows.",
    "full": "All places for this challenge have been taken.",
    "cap": CAP_REASON,
}


class _Advocate:
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


def _alloc(rng: random.Random, remaining: float, weight: float, weight_left: float) -> int:
    if remaining <= 0 or weight_left <= 0:
        return 0
    x = remaining * min(1.0, weight / weight_left)
    n = int(x)
    return n + (1 if rng.random() < x - n else 0)


def _opt(seconds: float | None) -> dt.datetime | None:
    return None if seconds is None else at(seconds)


class Simulation:
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
        a = _Advocate(i, p.ids[i], p.groups[i], p.refs_ok[i], p.personal_caps[i])
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

    def _push(self, a: _Advocate, t: float, kind: int, data) -> None:
        heapq.heappush(a.events, (t, a.seq, kind, data))
        a.seq += 1

    def _credit(self, a: _Advocate, t: float, delta: int, lifetime: bool) -> None:
        self._push(a, t, EV_CREDIT, (delta, lifetime))

    def _lifetime(self, a: _Advocate, t: float, points: int) -> None:
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

    def _caps_ok(self, a: _Advocate, kind: str, t: float) -> bool:
        """caps.check_ask at `t`: asks still active then, in each rule's rolling window."""
        limit, window = self.kind_rules[kind]
        same = year = quarter = 0
        for asked, k, released in a.asks:
            if released <= t:
                continue
            age = t - asked
            if age < YEAR:
                year += 1
                if age < QUARTER:
                    quarter += 1
                if k == kind and age < window:
                    same += 1
        if limit is not None and same >= limit:
            return False
        if self.annual is not None and year >= self.annual:
            return False
        return a.personal is None or quarter < a.personal

    def _refusal(self, a: _Advocate, spec: ChallengeSpec, t: float) -> str | None:
        """Why submit_completion would refuse this at `t` (None: it would accept)."""
        if not spec.start <= t < spec.end:
            return "closed"
        if (spec.groups is not None and not spec.groups & a.groups) or (
            spec.tiers is not None and a.rank not in spec.tiers
        ):
            return "untargeted"
        state = a.per_ch.get(spec.id)
        if state is not None:
            if state[2] > t:
                return "already"
            if state[0] >= spec.max_per or (spec.cooldown and state[1] + spec.cooldown > t):
                return "limit"
        if spec.max_total is not None and self.taken[spec.id] >= spec.max_total:
            return "full"
        if spec.ask_kind is not None and not self._caps_ok(a, spec.ask_kind, t):
            return "cap"
        return None

    def _record(
        self,
        a: _Advocate,
        spec: ChallengeSpec,
        t: float,
        status: str,
        decided: float | None,
        actor: int | None = None,
        auto: bool = False,
        url: str | None = None,
        text: str | None = None,
        answers: list | None = None,
        reason: str | None = None,
        note: str | None = None,
        excerpt: str | None = None,
        attempts: int = 0,
        source_key: str | None = None,
        verifying: float | None = None,
        claim_ask: bool = True,
    ) -> int:
        """Write one completion (and its earn entry and ask); returns its id."""
        cid = self.cid
        self.cid += 1
        approved = status == "approved"
        self.completions.append(
            (
                cid,
                spec.id,
                a.id,
                status,
                url,
                text,
                answers,
                spec.points,
                spec.points if approved else None,
                reason,
                note,
                excerpt,
                attempts,
                source_key,
                at(t),
                _opt(verifying),
                _opt(decided),
                actor,
                auto,
            )
        )
        if approved:
            self._entry(a.id, spec.points, "earn", "completion", cid, f"{spec.title} approved", decided, actor)
            self._credit(a, decided, spec.points, True)
        state = a.per_ch.get(spec.id)
        if state is None:
            state = a.per_ch[spec.id] = [0, -INF, -INF]
        if status != "rejected":
            state[0] += 1
            state[1] = t
            self.taken[spec.id] += 1
        state[2] = decided if decided is not None else INF
        if claim_ask and spec.ask_kind is not None:
            released = decided if status == "rejected" else None
            a.asks.append((t, spec.ask_kind, released if released is not None else INF))
            if t > self.ask_cutoff:
                self.asks.append((self.aid, a.id, spec.ask_kind, "completion", str(cid), at(t), _opt(released)))
                self.aid += 1
        return cid

    def _review_delay(self) -> float:
        r = self.rng.random()
        u = self.rng.uniform
        return u(HOUR, 3 * DAY) if r < 0.7 else u(3 * DAY, 14 * DAY) if r < 0.95 else u(14 * DAY, 60 * DAY)

    def _complete(self, a: _Advocate, t: float) -> None:
        """A submission to a challenge open at `t` (self-service types and community answers)."""
        members, cum = self.pools[int((t - self.origin) // DAY)]
        if not members:
            return
        random, u = self.rng.random, self.rng.uniform
        total = cum[-1]
        for _ in range(6):
            spec = members[bisect(cum, random() * total)]
            if self._refusal(a, spec, t) is None:
                break
        else:
            return
        manager = self.staff.managers[int(random() * len(self.staff.managers))]
        v = spec.verification
        url = text = answers = reason = note = excerpt = verifying = None
        actor = None
        auto = False
        attempts = 0
        if v == "community":
            status, decided, auto = "approved", t, True
            text = "Answer to “How do I schedule a dashboard export?”: accepted."
        elif v == "auto":
            attempts, verifying = 1, t + u(1, 20)
            decided = verifying + u(1, 30)
            if spec.type == "quiz":
                right = 3 if random() < 0.75 else 2 if random() < 0.6 else 1
                answers = [0, 0, 0] if right == 3 else [0, 0, 1] if right == 2 else [1, 0, 1]
                passed = right >= 2
                status, auto = ("approved", True) if passed else ("rejected", False)
                note = f"{right} of 3 answers right." if passed else None
                reason = None if passed else f"{right} of 3 answers were right; 2 are needed. Have another go!"
            else:
                answers = ["Dashboards for the leadership team", int(random() * 3)]
                status, auto, note = "approved", True, "Every question answered."
        elif v == "url_check":
            attempts, verifying = (1 if random() < 0.9 else 2), t + u(1, 30)
            url = (
                f"https://www.{spec.domain}/products/acme-analytics/reviews/{self.cid}"
                if spec.type == "review"
                else f"https://{spec.domain}/posts/acme-{self.cid}"
            )
            excerpt = f"… we rolled out {spec.marker} to the whole team last spring …"
            if random() < 0.65:
                status, decided, auto = "approved", verifying + u(1, 20), True
                note = f"Found “{spec.marker}” on the page."
            else:
                note = f"“{spec.marker}” was not found on the page."
                decided, actor = t + self._review_delay(), manager
                status = "approved" if random() < 0.85 else "rejected"
        else:
            note, attempts = "Waiting for a manager to review.", 0
            text = MANUAL_TEXT.get(spec.type, MANUAL_TEXT["custom"])
            decided, actor = t + self._review_delay(), manager
            status = "approved" if random() < 0.9 else "rejected"
        if status == "rejected" and reason is None:
            reason = REJECT_REASONS[int(random() * len(REJECT_REASONS))]
        if decided > self.now:  # not decided yet: in flight
            if verifying is not None and verifying > self.now:
                status = "submitted"
            elif v == "auto" or (v == "url_check" and auto):
                status = "verifying"
            else:
                status = "pending_review"
            decided = actor = reason = None
            auto = False
            if status != "pending_review":  # the verifier has not said anything yet
                note = excerpt = None
            if status == "submitted":
                verifying, attempts = None, 0
        self._record(
            a,
            spec,
            t,
            status,
            decided,
            actor,
            auto,
            url,
            text,
            answers,
            reason,
            note,
            excerpt,
            attempts,
            verifying=verifying,
        )

    def _adjust(self, a: _Advocate, t: float) -> None:
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

    def _redeem(self, a: _Advocate, t: float, tries: int) -> None:
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
        if status == "approved" and (moment := decided + u(0.5 * DAY, 21 * DAY)) <= self.now:
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
                _opt(decided),
                decided_by,
                _opt(fulfilled),
                fulfilled_by,
                _opt(cancelled),
            )
        )

    def _person(self) -> tuple[str, str, str]:
        rng = self.rng
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        return first, last, rng.choice(self.people.prospects)

    def _referral(self, a: _Advocate, t: float) -> None:
        """referrals.submit_referral at `t`, and what the CRM later said about the lead."""
        rng = self.rng
        u = rng.uniform
        rid = self.rfid
        self.rfid += 1
        first, last, company = self._person()
        p = self.people
        r = rng.random()
        flag = None
        if r < 0.015:
            flag, email = "self_referral", p.emails[a.i]
        elif r < 0.04:
            flag, email = "existing_user", p.emails[rng.randrange(len(p.emails))]
        elif r < 0.08 and self.claimed_keys:
            flag = "already_referred"
            local, _, domain = rng.choice(self.claimed_keys).partition("@")
            email = f"{local}+{rng.choice(('work', 'crm', 'new'))}@{domain}"
        else:
            email = f"{first.lower()}.{last.lower()}{rid}@{slug(company)}.example"
        local, _, domain = email.partition("@")
        key = f"{local.split('+', 1)[0]}@{domain}"
        row = dict(
            status="submitted",
            flag=flag,
            reviewed=None,
            challenge=None,
            completion=None,
            reason=None,
            points=0,
            bonus=0,
            opp=None,
            won=None,
        )
        if flag is not None:
            row["status"] = "flagged"
            if rng.random() < 0.6 and (moment := t + u(DAY, 14 * DAY)) <= self.now:
                row["reviewed"] = moment
        else:
            self.claimed_keys.append(key)
            opp = won = lost = None
            if rng.random() < 0.6 and (moment := t + u(3 * DAY, 60 * DAY)) <= self.now:
                opp = moment
                outcome = rng.random()
                close = opp + u(20 * DAY, 200 * DAY)
                if close <= self.now and outcome < 0.35:
                    won = close
                elif close <= self.now and outcome < 0.7:
                    lost = close
            row.update(status="won" if won else "opportunity" if opp else "submitted", opp=opp, won=won)
            offer = next(
                (
                    c
                    for c in self.referral_specs
                    if c.start <= t < c.end
                    and (c.groups is None or c.groups & a.groups)
                    and (c.tiers is None or a.rank in c.tiers)
                ),
                None,
            )
            if offer is None:
                row["reason"] = "No referral challenge is open to you right now."
            else:
                row.update(challenge=offer.id, points=offer.points, bonus=offer.bonus)
                refusal = self._refusal(a, offer, t)
                if refusal is not None:
                    row["reason"] = REASONS[refusal]
                else:
                    text = f"Referred {first} {last} ({company}, {email})"
                    if opp is not None:
                        status, decided, actor = "approved", opp, None
                    elif self.now - t > 120 * DAY and rng.random() < 0.7:
                        status, decided, actor = "rejected", t + u(90 * DAY, 120 * DAY), rng.choice(self.staff.managers)
                    else:
                        status, decided, actor = "submitted", None, None
                    row["completion"] = self._record(
                        a,
                        offer,
                        t,
                        status,
                        decided,
                        actor,
                        auto=status == "approved",
                        text=text,
                        reason="No opportunity came from this referral." if status == "rejected" else None,
                        source_key=f"referral-{rid}",
                    )
                    if won is not None and status == "approved" and offer.bonus > 0:
                        self._entry(
                            a.id,
                            offer.bonus,
                            "bonus",
                            "referral_won",
                            rid,
                            f"Your referral of {first} {last} closed won",
                            won,
                            None,
                        )
                        self._credit(a, won, offer.bonus, True)
            if opp is not None:
                self.crm_referrals.append((rid, company, email, opp, won, lost))
        self.referrals.append(
            (
                rid,
                a.id,
                f"{first} {last}",
                email,
                key,
                key if flag is None else None,
                company,
                rng.choice(JOB_TITLES),
                rng.choice(
                    (None, "Evaluating analytics tools this quarter.", "Met at the user group; asked for an intro.")
                ),
                True,
                row["status"],
                flag,
                _opt(row["reviewed"]),
                row["challenge"],
                row["completion"],
                row["reason"],
                row["points"],
                row["bonus"],
                at(t),
                _opt(row["opp"]),
                _opt(row["won"]),
            )
        )

    def _refcall(self, a: _Advocate, t: float) -> None:
        """A manager asks this advocate for a reference call at `t` (services.assign): the ask is
        claimed then; the advocate declines or accepts; sales confirms the call; the
        `reference_call` completion is created at the time of the ask and approved then."""
        if not a.refs_ok or not self._caps_ok(a, "reference_call", t):
            return
        rng = self.rng
        u = rng.uniform
        p = self.people
        request_id, assignment_id = self.rqid, self.asgid
        self.rqid += 1
        self.asgid += 1
        created = max(t - u(0.5 * DAY, 7 * DAY), self.history_start)
        sales_id, sales_name = rng.choice(self.staff.sales)
        manager = rng.choice(self.staff.managers)
        prospect = rng.choice(p.prospects)
        industry = p.industries[a.i] if rng.random() < 0.75 else rng.choice(INDUSTRIES)
        size = p.sizes[a.i] if rng.random() < 0.6 else rng.choice(SIZES)
        deal = Decimal(int(rng.lognormvariate(10.4, 0.8)) // 100 * 100 + 1000)
        responded = t + u(HOUR, 3 * DAY)
        status, asg_status, request_advocate, matched = "matched", "asked", a.id, t
        accepted = completed = unfilled = completion_id = note = feedback = None
        released: float | None = None
        if responded > self.now:
            responded = None
        elif rng.random() < 0.18:  # declined: the ask is released and the request reopens
            asg_status, request_advocate, matched, released = "declined", None, None, responded
            status = "open"
            if self.now - responded > 21 * DAY:
                status, unfilled = "unfilled", min(responded + u(DAY, 7 * DAY), self.now)
        else:
            asg_status, status, accepted = "accepted", "accepted", responded
            done = accepted + u(2 * DAY, 20 * DAY)
            if done <= self.now:
                asg_status, status, completed = "completed", "completed", done
                rating = rng.choice((3, 4, 4, 5, 5, 5))
                helped = rng.random() < 0.7
                feedback = (rating, rng.choice(FEEDBACK), helped)
                spec = next(
                    (
                        c
                        for c in self.refcall_specs
                        if c.start <= t < c.end
                        and (c.groups is None or c.groups & a.groups)
                        and (c.tiers is None or a.rank in c.tiers)
                    ),
                    None,
                )
                refusal = "none" if spec is None else self._refusal(a, spec, t)
                if refusal is None:
                    summary = (
                        f"Reference call with {prospect} confirmed by {sales_name}"
                        f" (rating {rating}/5{', it helped' if helped else ''})."
                    )
                    completion_id = self._record(
                        a,
                        spec,
                        t,
                        "approved",
                        completed,
                        None,
                        True,
                        text=summary,
                        source_key=f"reference-request-{request_id}",
                        claim_ask=False,
                    )
                    if t > self.ask_cutoff:
                        self.asks.append(
                            (self.aid, a.id, "reference_call", "completion", str(completion_id), at(t), None)
                        )
                        self.aid += 1
                else:
                    note = (
                        "No reference call challenge was open to this advocate when they were asked."
                        if refusal == "none"
                        else REASONS[refusal]
                    )
                    released = completed  # the assignment's ask was released and nothing took it over
        a.asks.append((t, "reference_call", released if released is not None else INF))
        if t > self.ask_cutoff:
            assignment_released = responded if asg_status == "declined" else completed
            self.asks.append(
                (
                    self.aid,
                    a.id,
                    "reference_call",
                    "reference_assignment",
                    str(assignment_id),
                    at(t),
                    _opt(assignment_released),
                )
            )
            self.aid += 1
        external_id = None
        if (accepted is not None and rng.random() < 0.65) or rng.random() < 0.1:
            if rng.random() < 0.5:
                external_id = f"BENCH-{self.tag}-RQ{request_id}"
            self.crm_requests.append((request_id, prospect, created, accepted, deal, external_id))
        alternatives = (
            [
                {"kind": "case_study", "title": title, "url": None, "company": None, "industry": None}
                for title in self.case_studies[:2]
            ]
            if unfilled
            else []
        )
        self.requests.append(
            (
                request_id,
                sales_id,
                prospect,
                industry,
                size,
                p.regions[a.i],
                rng.choice(USE_CASES),
                rng.choice(("evaluation", "poc", "negotiation")),
                deal,
                "USD",
                (at(created) + dt.timedelta(days=rng.randint(5, 30))).date(),
                rng.choice(("phone", "video", "email")),
                rng.sample(TOPICS, k=rng.randint(0, 3)),
                external_id,
                status,
                request_advocate,
                at(created),
                _opt(matched),
                _opt(accepted),
                _opt(completed),
                _opt(unfilled),
                "No available advocate in time." if unfilled else None,
                alternatives,
                feedback[0] if feedback else None,
                feedback[1] if feedback else None,
                feedback[2] if feedback else None,
                sales_id if feedback else None,
                completion_id,
                note,
            )
        )
        self.assignments.append((assignment_id, request_id, a.id, manager, asg_status, at(t), _opt(responded)))

    # --- after every advocate ---------------------------------------------------------------

    def _more_redemptions(self, missing: int) -> None:
        """Redemptions the light advocates at the end could not afford: the richest advocates
        redeem once more, after their last event (their final balance covers it)."""
        if missing <= 0:
            return
        people = self.people
        for i in sorted(range(len(people.ids)), key=lambda k: -self.balance[k]):
            if missing <= 0 or self.balance[i] <= 0:
                break
            a = _Advocate(i, people.ids[i], people.groups[i], people.refs_ok[i], people.personal_caps[i])
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

    def _unassigned_requests(self, missing: int) -> None:
        """Requests no advocate was asked for: still open (recent) or marked unfilled."""
        rng = self.rng
        for _ in range(max(0, missing)):
            request_id = self.rqid
            self.rqid += 1
            created = self.now - rng.uniform(0, HISTORY_DAYS) ** 1.2 / HISTORY_DAYS**0.2 * DAY
            sales_id, _ = rng.choice(self.staff.sales)
            unfilled = None
            if self.now - created > 30 * DAY:
                unfilled = created + rng.uniform(3 * DAY, 25 * DAY)
            alternatives = (
                [
                    {"kind": "case_study", "title": title, "url": None, "company": None, "industry": None}
                    for title in self.case_studies[:2]
                ]
                if unfilled
                else []
            )
            self.requests.append(
                (
                    request_id,
                    sales_id,
                    rng.choice(self.people.prospects),
                    rng.choice(INDUSTRIES),
                    rng.choice(SIZES),
                    rng.choice(REGIONS),
                    rng.choice(USE_CASES),
                    rng.choice(("evaluation", "poc", "negotiation")),
                    Decimal(int(rng.lognormvariate(10.4, 0.8)) // 100 * 100 + 1000),
                    "USD",
                    (at(created) + dt.timedelta(days=rng.randint(5, 30))).date(),
                    rng.choice(("phone", "video", "email")),
                    rng.sample(TOPICS, k=rng.randint(0, 3)),
                    None,
                    "unfilled" if unfilled else "open",
                    None,
                    at(created),
                    None,
                    None,
                    None,
                    _opt(unfilled),
                    "No available advocate in time." if unfilled else None,
                    alternatives,
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                )
            )
            if len(self.requests) >= self.loader.batch:
                self.loader.flush()
