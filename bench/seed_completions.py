"""The activity simulation's challenge completions: the submission rules (window, targeting,
limits, caps) decided at that instant, the verification and review that follow, the `earn`
entry and asks an approval writes."""

from __future__ import annotations

from bisect import bisect

from bench.seed_challenges import ChallengeSpec
from bench.seed_program import DAY, HOUR, INF, QUARTER, YEAR, AdvocateState, at, at_or_none
from bench.seed_state import SimulationState

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

CAP_REASON = "A cap protecting this advocate has been reached."

REASONS = {
    "closed": "This challenge is not open for submissions.",
    "untargeted": "Challenge not found.",
    "already": "You have already sent this in; it is being checked.",
    "limit": "You have completed this challenge as many times as it allows.",
    "full": "All places for this challenge have been taken.",
    "cap": CAP_REASON,
}


class CompletionActivity(SimulationState):
    """Simulation's completions (mixed into bench.seed_activity.Simulation)."""

    def _caps_ok(self, a: AdvocateState, kind: str, t: float) -> bool:
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

    def _refusal(self, a: AdvocateState, spec: ChallengeSpec, t: float) -> str | None:
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
        a: AdvocateState,
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
                at_or_none(verifying),
                at_or_none(decided),
                actor,
                auto,
            )
        )
        if approved:
            assert decided is not None, "an approved completion has its decision time"
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
                self.asks.append((self.aid, a.id, spec.ask_kind, "completion", str(cid), at(t), at_or_none(released)))
                self.aid += 1
        return cid

    def _review_delay(self) -> float:
        r = self.rng.random()
        u = self.rng.uniform
        return u(HOUR, 3 * DAY) if r < 0.7 else u(3 * DAY, 14 * DAY) if r < 0.95 else u(14 * DAY, 60 * DAY)

    def _complete(self, a: AdvocateState, t: float) -> None:
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
        answers: list[int | str] | None
        decided: float | None
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
                reason = None if passed else f"{right} of 3 answers were right; 2 are needed."
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
