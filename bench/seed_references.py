"""The activity simulation's referrals and reference requests: flags, the `referral` completion
and CRM outcome, requests with their assignment, feedback and the `reference_call` completion."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from bench.seed_completions import REASONS
from bench.seed_people import (
    FIRST_NAMES,
    INDUSTRIES,
    JOB_TITLES,
    LAST_NAMES,
    REGIONS,
    SIZES,
    slug,
)
from bench.seed_program import DAY, HISTORY_DAYS, HOUR, INF, AdvocateState, at, at_or_none
from bench.seed_state import SimulationState

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


class ReferenceActivity(SimulationState):
    """Simulation's referrals and reference calls (mixed into bench.seed_activity.Simulation)."""

    def _person(self) -> tuple[str, str, str]:
        rng = self.rng
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        return first, last, rng.choice(self.people.prospects)

    def _referral(self, a: AdvocateState, t: float) -> None:
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
        row: dict[str, Any] = dict(
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
                at_or_none(row["reviewed"]),
                row["challenge"],
                row["completion"],
                row["reason"],
                row["points"],
                row["bonus"],
                at(t),
                at_or_none(row["opp"]),
                at_or_none(row["won"]),
            )
        )

    def _refcall(self, a: AdvocateState, t: float) -> None:
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
        responded: float | None
        responded = t + u(HOUR, 3 * DAY)
        request_advocate: int | None
        matched: float | None
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
                    assert spec is not None, "only a challenge found can accept the call"
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
                    at_or_none(assignment_released),
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
                at_or_none(matched),
                at_or_none(accepted),
                at_or_none(completed),
                at_or_none(unfilled),
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
        self.assignments.append((assignment_id, request_id, a.id, manager, asg_status, at(t), at_or_none(responded)))

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
                    at_or_none(unfilled),
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
