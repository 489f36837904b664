"""Fixtures for reward and redemption tests: catalog items created through the real service."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.support.rewards import check_rewards_invariants, new_reward


@pytest.fixture()
def make_reward(ctx) -> Callable[..., int]:
    return new_reward


@pytest.fixture()
def rewards_invariants() -> Callable[[], None]:
    return check_rewards_invariants
