"""What the activity simulation's mixins share: the attributes bench.seed_activity.Simulation sets
in its constructor and the helpers one mixin calls on another, declared once so each mixin
(completions, points, references) is checked against them."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bench.seed import SeedPlan
    from bench.seed_challenges import ChallengeSpec
    from bench.seed_load import Ids, Loader
    from bench.seed_people import People
    from bench.seed_program import AdvocateState, Staff
    from bench.seed_rewards import RewardSpec


class SimulationState:
    """Declarations only: Simulation.__init__ assigns every attribute below."""

    plan: SeedPlan
    rng: random.Random
    loader: Loader
    ids: Ids
    people: People
    staff: Staff
    tag: str
    # Times are POSIX seconds (floats).
    now: float
    history_start: float
    origin: float
    ask_cutoff: float
    silver: int
    gold: int
    # Ask kind -> (limit or None, window in seconds).
    kind_rules: dict[str, tuple[int | None, float]]
    annual: int | None
    specs: list[ChallengeSpec]
    referral_specs: list[ChallengeSpec]
    refcall_specs: list[ChallengeSpec]
    case_studies: list[str]
    rewards: list[RewardSpec]
    taken: dict[int, int]
    stock_held: dict[int, int]
    # Per day of history: the challenges open then, with cumulative weights.
    pools: list[tuple[list[ChallengeSpec], list[float]]]
    weights: list[float]
    # The loader's row buffers, one per table.
    completions: list[tuple]
    ledger: list[tuple]
    asks: list[tuple]
    redemptions: list[tuple]
    referrals: list[tuple]
    requests: list[tuple]
    assignments: list[tuple]
    tier_changes: list[tuple]
    # The next id of each table.
    cid: int
    lid: int
    aid: int
    rdid: int
    rfid: int
    rqid: int
    asgid: int
    tcid: int
    first: dict[str, int]
    adjustments: int
    claimed_keys: list[str]
    crm_referrals: list[tuple]
    crm_requests: list[tuple]
    # Per advocate (by index in People.ids): points, tier rank, last activity, rewards held.
    lifetime: list[int]
    balance: list[int]
    held_by: dict[int, dict[int, int]]
    rank: list[int]
    last: list[float]

    if TYPE_CHECKING:
        # Simulation's own helpers.
        def _push(self, a: AdvocateState, t: float, kind: int, data: object) -> None: ...
        def _credit(self, a: AdvocateState, t: float, delta: int, lifetime: bool) -> None: ...
        def _lifetime(self, a: AdvocateState, t: float, points: int) -> None: ...
        def _entry(
            self,
            advocate_id: int,
            delta: int,
            kind: str,
            source_type: str,
            source_id: object,
            memo: str,
            t: float,
            actor: int | None,
        ) -> None: ...

        # CompletionActivity's, used by the other mixins.
        def _caps_ok(self, a: AdvocateState, kind: str, t: float) -> bool: ...
        def _refusal(self, a: AdvocateState, spec: ChallengeSpec, t: float) -> str | None: ...
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
        ) -> int: ...
